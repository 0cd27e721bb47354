# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INFRA_STAMP := $(VENV)/.installed-infra
DEMO_DIR ?= .pathprover/demo

.PHONY: demo test lint typecheck unit browser bench synth clean

# The runtime, the local runtime (moto) and the test tools.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,aws,local]'
	touch $(STAMP)

# The CDK app and its checks (aws-cdk-lib is large: only the tests and synth need it).
$(INFRA_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,aws,local,infra]'
	touch $(INFRA_STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	PATHPROVER_WAREHOUSE=$(DEMO_DIR)/warehouse ./scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check lambdas tests scripts infra
	$(BIN)/ruff format --check lambdas tests scripts infra

typecheck: $(INFRA_STAMP)
	$(BIN)/mypy
	$(BIN)/mypy infra

unit: $(INFRA_STAMP) browser
	$(BIN)/pytest -n 2 --dist loadgroup -m 'not exclusive'
	$(BIN)/pytest -m exclusive

# The HTML report's test opens the page in a real headless browser: Debian's chromium, installed when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (for tests/e2e/test_report_html.py)"; \
	  $(SUDO) apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	  --no-install-recommends chromium >/dev/null; }

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python scripts/bench_imports.py
	$(BIN)/python scripts/bench_brain.py
	$(BIN)/python scripts/bench_loadgen.py
	$(BIN)/python scripts/bench_strategy.py

synth: $(INFRA_STAMP)
	npx -y aws-cdk@2 synth MlccCiHarnessStack -c CreatePathProver=true -c PathProverSchedule="rate(1 day)" --no-notices -q

clean:
	rm -rf $(VENV) .pathprover .mypy_cache .pytest_cache .ruff_cache cdk.out
