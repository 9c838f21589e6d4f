# Two commands do everything on a fresh machine:
#   make run    set up .venv and run the default experiment
#   make test   set up .venv and run lint, format check and the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean dashboard

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (found " + sys.version.split()[0] + "); install it, or run: make PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

run: $(VENV)/.installed
	$(PY) -m experiments.run $(ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache

HOST ?= 127.0.0.1
PORT ?= 8765
# Offline by default: Solara's usage tracking (Mixpanel) and its start-up check of
# PyPI for a newer version are off. Turn them on with TELEMETRY=on / CHECK_VERSION=on.
TELEMETRY ?= off
CHECK_VERSION ?= off
dashboard: $(VENV)/.installed
	SOLARA_TELEMETRY_MIXPANEL_ENABLE=$(if $(filter on,$(TELEMETRY)),True,False) \
	$(VENV)/bin/solara run experiments/dashboard.py --host $(HOST) --port $(PORT) --production \
	$(if $(filter on,$(CHECK_VERSION)),--check-version,--no-check-version)
