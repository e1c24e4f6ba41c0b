# salesaudit: two commands do everything on a fresh machine with Python 3.11.
#   make demo   create .venv, install, run the notebook suite on data_samples/, print the report path
#   make test   ruff, then the full test suite: pytest (library, doctests) and nbval (notebooks)
#   make app    serve notebook 05 (incentive schemes) as a Voila app on 127.0.0.1, code hidden
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv data-samples docs clean bench app

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# reinstall when the dependency list changes (dev: tests; lab: JupyterLab; app: Voila for `make app`)
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,lab,app,pdf,pull]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/salesaudit run --config params/clients/demo.yaml --out reports/demo

test: $(STAMP)
	$(VENV)/bin/ruff check lib tests bench
	$(PY) -m pytest tests lib/salesaudit notebooks --doctest-modules \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# the owner's app: notebook 05 with its controls, served by Voila (code hidden) on localhost
APP_PORT ?= 8866
app: $(STAMP)
	@echo "Incentive schemes app: http://127.0.0.1:$(APP_PORT)/  (Ctrl+C stops it)"
	$(VENV)/bin/voila notebooks/05_incentives.ipynb --no-browser --Voila.ip=127.0.0.1 --port=$(APP_PORT)

# benchmarks print figures beside a reference engine; they assert no speed
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,lab,app,pdf,pull,bench]'
	$(PY) bench/bench_scale.py
	$(PY) bench/bench_funnel_stalls.py --deals 1000000 --repeat 3
	$(PY) bench/bench_dask.py
	$(PY) bench/bench_run.py
	$(PY) bench/bench_sim.py

# regenerate the committed sample department (deterministic: same seed, same bytes)
data-samples: $(STAMP)
	$(PY) -m salesaudit.synth --seed 20261031 --out data_samples

# regenerate docs/data_model.md, docs/parameters.md and docs/incentives.md from the code
docs: $(STAMP)
	$(PY) -m salesaudit.data.model > docs/data_model.md
	$(PY) -m salesaudit.data.params > docs/parameters.md
	$(PY) -m salesaudit.incentives > docs/incentives.md
	$(PY) -c 'import salesaudit; print(salesaudit.api_markdown(), end="")' > docs/api.md

clean:
	rm -rf reports .pytest_cache
