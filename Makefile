# salesaudit: two commands do everything on a fresh machine with Python 3.11.
#   make demo   create .venv, install, run the notebook suite on data_samples/, print the report path
#   make test   the full test suite: pytest (library, doctests) and nbval (notebooks)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv data-samples docs clean bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# reinstall when the dependency list changes
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/salesaudit run --config params/clients/demo.yaml --out reports/demo

test: $(STAMP)
	$(PY) -m pytest tests lib/salesaudit notebooks --doctest-modules \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# benchmarks print figures beside a reference engine; they assert no speed
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) bench/bench_funnel_stalls.py --deals 1000000

# regenerate the committed sample department (deterministic: same seed, same bytes)
data-samples: $(STAMP)
	$(PY) -m salesaudit.synth --seed 20261031 --out data_samples

# regenerate docs/data_model.md and docs/parameters.md from the code
docs: $(STAMP)
	$(PY) -m salesaudit.model > docs/data_model.md
	$(PY) -m salesaudit.params > docs/parameters.md

clean:
	rm -rf reports .pytest_cache
