# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .pathprover/demo

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,aws,local]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	PATHPROVER_WAREHOUSE=$(DEMO_DIR)/warehouse ./scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check lambdas tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python scripts/bench_brain.py
	$(BIN)/python scripts/bench_loadgen.py

clean:
	rm -rf $(VENV) .pathprover .mypy_cache .pytest_cache .ruff_cache
