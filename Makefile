# Set-up, tests and the end-to-end demo. Everything installs into .venv/ in the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: setup test demo lint bench clean setup-hopsworks test-hopsworks

setup: $(STAMP)

# The Binance simulator (sim/) is a development tool of its own, installed beside the package.
$(STAMP): pyproject.toml sim/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[train,app,lambda,dev]" -e ./sim
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	touch $(STAMP)

# The whole suite in .venv on two workers, then the Hopsworks adapter's suite in its own venv.
test: setup
	$(BIN)/python -m pytest -n 2
	$(MAKE) --no-print-directory test-hopsworks

# The Hopsworks SDK lives in its own venv (hopsworks[python] brings hops-deltalake, which shares
# the deltalake module folder); train and app are there so every command runs on the adapter.
HW_BIN := .venv-hopsworks/bin
setup-hopsworks: .venv-hopsworks/.installed

.venv-hopsworks/.installed: pyproject.toml sim/pyproject.toml
	test -x $(HW_BIN)/python || $(PYTHON) -m venv .venv-hopsworks
	$(HW_BIN)/pip install --quiet --upgrade pip
	$(HW_BIN)/pip install --quiet -e ".[hopsworks,train,app,lambda,dev]" -e ./sim
	touch $@

# The store/registry contract suite on the Hopsworks adapter, its own tests and, with
# HOPSWORKS_API_KEY set, the live ones (skipped otherwise).
test-hopsworks: setup-hopsworks
	$(HW_BIN)/python -m pytest tests/feature_store -k hopsworks

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

demo: setup
	bash scripts/demo.sh

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .candlecast .pytest_cache .ruff_cache
