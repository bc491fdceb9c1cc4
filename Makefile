PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
LAB_STAMP := $(VENV)/.installed-lab-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)

.PHONY: lab test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# The lab needs only the lab extra; the test suite needs both (so it also satisfies the lab).
$(LAB_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[lab]"
	rm -f $(VENV)/.installed-lab-*
	touch $(LAB_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[lab,test]"
	rm -f $(VENV)/.installed-*
	touch $(TEST_STAMP) $(LAB_STAMP)

## Open the lab on the quickstart notebook.
# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

LAB_ARGS ?=

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/00_quickstart.ipynb

## Run the whole test suite (creates or updates .venv first).
test: $(TEST_STAMP)
	@command -v chromium >/dev/null 2>&1 || echo "NOTE: no chromium on PATH: the browser tests (tests/test_browser.py) will be skipped; apt-get install -y chromium (or .ci/run) enables them."
	$(BIN)/python -m pytest -n 2 qlab tests README.md

## Run the benchmarks side by side with the peers (installs the bench extra).
bench: $(TEST_STAMP)
	$(BIN)/python -m pip install -e ".[bench]"
	$(BIN)/python benchmarks/dm_layers.py
	$(BIN)/python benchmarks/qdmi_jobs.py
	$(BIN)/python benchmarks/sampling.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/chain_gates.py
	$(BIN)/python benchmarks/qpu_remote.py

clean:
	rm -rf $(VENV) build *.egg-info
