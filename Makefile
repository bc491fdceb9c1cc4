PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: lab test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[lab,test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Open the lab on the quickstart notebook.
# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

LAB_ARGS ?=

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/00_quickstart.ipynb

## Run the whole test suite (creates or updates .venv first).
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || echo "NOTE: no chromium on PATH: the browser tests (tests/test_browser.py) will be skipped; apt-get install -y chromium (or .ci/run) enables them."
	$(BIN)/python -m pytest -n 2 qlab tests README.md

## Run the benchmarks side by side with the peers (installs the bench extra).
bench: $(STAMP)
	$(BIN)/python -m pip install -e ".[bench]"
	$(BIN)/python benchmarks/dm_layers.py
	$(BIN)/python benchmarks/qdmi_jobs.py

clean:
	rm -rf $(VENV) build *.egg-info
