# vpsim: `make run` sets everything up and runs the default scenario; `make test` runs the tests;
# `make app` serves the educators' page on http://127.0.0.1:8765.
# Python 3.12+ is required (Mesa 3.4+); `.python-version` makes pyenv's python3 resolve to 3.12.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ASSETS_STAMP := $(VENV)/.app-assets-stamp

.PHONY: setup app-assets run app test lint test-slow benchmark update-baseline clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 12) else f"vpsim needs Python >= 3.12 but $(PYTHON) is {v.major}.{v.minor}: install 3.12 (e.g. pyenv install 3.12) or run make PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,viz,analysis]"
	@touch $(STAMP)

# Solara's front-end files from the npm registry, so the app's page loads without internet.
$(ASSETS_STAMP): $(STAMP)
	@command -v npm >/dev/null || { echo "make: npm is needed to fetch the app's front-end files (Debian: apt-get install npm)" >&2; exit 1; }
	$(BIN)/python -m sim.app.assets
	@touch $(ASSETS_STAMP)

app-assets: $(ASSETS_STAMP)

setup: $(STAMP) $(ASSETS_STAMP)

# The simulator itself needs no npm: only the app (and its tests) need the front-end files.
run: $(STAMP)  ## the default scenario (city, baseline); extra Hydra overrides: make run ARGS="seed=3"
	$(BIN)/vpsim $(ARGS)

app: setup  ## the educators' page; extra options: make app ARGS="--port 8800"
	$(BIN)/vpsim-app $(ARGS)

test: setup lint  ## the default test suite (slow calibration tests excluded), after the lint
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)  ## ruff: pyflakes, pycodestyle, import order (configured in pyproject.toml)
	$(BIN)/ruff check .

test-slow: setup  ## replicate-based calibration checks (minutes)
	$(BIN)/python -m pytest -m slow $(ARGS)

benchmark: $(STAMP)
	$(BIN)/python experiments/benchmark.py $(ARGS)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache

update-baseline: $(STAMP)  ## after an intended change of results: rewrite tests/baseline/*.json
	$(BIN)/python tests/test_baseline.py --update
