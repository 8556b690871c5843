# `make run` and `make test` each set up .venv (once; again when pyproject.toml or
# constraints.txt change) with the pinned stack, then run the study or the tests.
# Extra flags for the study: make run ARGS="--name second --trials 48" (the space is the default,
# resnext, so that ARGS=--resume continues a study made with an earlier version of it)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test clean-venv

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt --upgrade pip
	$(BIN)/pip install -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/python -m search.run $(ARGS)

test: setup
	$(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)
