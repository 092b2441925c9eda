# Two commands for a fresh machine: `make run` (load the reference data and serve it) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
MARKETWIRE_HOME ?= $(CURDIR)/.marketwire
PORT ?= 8000

$(BIN)/.installed: pyproject.toml tests/plugin/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[serve,test]"
	$(BIN)/pip install -q -e tests/plugin  # the test plugin (entry point marketwire.plugins): tests/e2e/test_plugin.py
	touch $@

install: $(BIN)/.installed

run: $(BIN)/.installed
	MW=$(BIN)/marketwire MARKETWIRE_HOME=$(MARKETWIRE_HOME) MARKETWIRE_DATA=$(DATA) bash tools/load_reference.sh
	@echo "The CLI is $(CURDIR)/$(BIN)/marketwire: put it on PATH with  export PATH=\"$(CURDIR)/$(BIN):\$$PATH\""
	@echo "Run from this folder (or below), it reads the lake served here: $(MARKETWIRE_HOME)"
	$(BIN)/marketwire --home $(MARKETWIRE_HOME) serve --port $(PORT)

test: $(BIN)/.installed
	MARKETWIRE_DATA=$(DATA) PYTHONFAULTHANDLER=1 $(BIN)/python -m pytest -q

.PHONY: install run test
