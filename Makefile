# deskhand — `make run` serves the demo on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch goes in first, alone, so the constraints below keep pip from pulling a CUDA build.
# On a machine without a local CPU wheel: make run TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=
TORCH_INDEX := $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL),)
# Test processes side by side (pytest-xdist): most tests wait on servers and subprocesses,
# so four keep two cores busy. make test TEST_WORKERS=0 runs them in this process, in order.
TEST_WORKERS ?= 4

.PHONY: run test lint format install clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "deskhand needs Python 3.11 or newer: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/deskhand ingest agent/demo/kb --tenant demo
	DESKHAND_DEMO_SHOP=$${DESKHAND_DEMO_SHOP:-true} DESKHAND_LOG_JSON=$${DESKHAND_LOG_JSON:-false} $(BIN)/deskhand serve

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .deskhand .pytest_cache .mypy_cache .ruff_cache
