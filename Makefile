# acu_meta: two commands on a fresh machine.
#   make reproduce   create .venv if missing, install, rebuild every report
#   make test        same bootstrap, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: reproduce test lint check-data clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/acu-meta reproduce --out .

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests

check-data: $(STAMP)
	$(BIN)/acu-meta check-data

clean-venv:
	rm -rf $(VENV)
