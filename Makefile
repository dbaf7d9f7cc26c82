# vpsim: `make run` sets everything up and runs the default scenario; `make test` runs the tests.
# Python 3.12+ is required (Mesa 3.4+); `.python-version` makes pyenv's python3 resolve to 3.12.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test test-slow benchmark clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 12) else f"vpsim needs Python >= 3.12 but $(PYTHON) is {v.major}.{v.minor}: install 3.12 (e.g. pyenv install 3.12) or run make PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

run: setup  ## the default scenario (city, baseline); extra Hydra overrides: make run ARGS="seed=3"
	$(BIN)/vpsim $(ARGS)

test: setup  ## the default test suite (slow calibration tests excluded)
	$(BIN)/python -m pytest $(ARGS)

test-slow: setup  ## replicate-based calibration checks (minutes)
	$(BIN)/python -m pytest -m slow $(ARGS)

benchmark: setup
	$(BIN)/python experiments/benchmark.py $(ARGS)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
