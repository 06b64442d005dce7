# The two commands of the README: `make demo` and `make test`.
# Each creates .venv if it is missing and installs digitzoo into it first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.digitzoo-installed

.PHONY: demo test clean-venv

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(INSTALLED)
	$(BIN)/digitzoo compare tiny mlp overfit cnn

test: $(INSTALLED)
	$(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)
