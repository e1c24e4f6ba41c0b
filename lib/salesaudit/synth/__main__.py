"""``python -m salesaudit.synth --seed 20261031 --out data_samples``: write the demo department."""
from . import main

raise SystemExit(main())
