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
	$(BIN)/python -m pip install --quiet -e '.[test,export,ray]'
	touch $@

demo: $(INSTALLED)
	$(BIN)/digitzoo compare tiny mlp overfit cnn

test: $(INSTALLED)
	$(BIN)/python -m pytest

# The quick loop between edits: every test but the slow ones (training, servers, the browser).
.PHONY: quick
quick: $(INSTALLED)
	$(BIN)/python -m pytest -m "not slow" -q

clean-venv:
	rm -rf $(VENV)

# The speed benchmark (benchmarks/speed.py): every row but cnn-best, about half an hour.
# `make bench BENCH_ARGS="--only mlp,overhead --repeat 5"` passes options; `make bench-best`
# runs the cnn-best row alone (three seeds, about ten minutes each).
.PHONY: bench bench-best
BENCH_ARGS ?=

bench: $(INSTALLED)
	$(BIN)/python benchmarks/speed.py $(BENCH_ARGS)

bench-best: $(INSTALLED)
	$(BIN)/python benchmarks/speed.py --only cnn-best $(BENCH_ARGS)

# The README's figures, made by digitzoo itself (the demo models are trained first if not cached).
.PHONY: figures
figures: $(INSTALLED)
	$(BIN)/digitzoo compare tiny mlp overfit cnn --plot assets/curves.png
	$(BIN)/digitzoo show 0 --svg assets/show-0.svg
	$(BIN)/digitzoo show -o assets/digits-sample.png
	$(BIN)/digitzoo report cnn -o assets/report-cnn -q
	$(BIN)/python tools/make_screenshot.py --out assets/web

# The pretrained weights shipped in digitzoo/weights/ and their manifest (cnn-best trains ~12 minutes).
.PHONY: weights
weights: $(INSTALLED)
	$(BIN)/python tools/make_weights.py

# Each built-in recipe over seeds 0-4 (cnn-best 0-2) into digitzoo/measured.json, the figures that
# `digitzoo models` and the README state: about an hour on 2 cores, cached runs reused.
# `make measure MEASURE_ARGS="cnn --seeds 0-4"` measures some models.
.PHONY: measure
MEASURE_ARGS ?=

measure: $(INSTALLED)
	$(BIN)/python tools/measure_recipes.py $(MEASURE_ARGS)

# The command reference in docs/commands.md, rendered from the CLI's own --help
# (tests/library/test_docs.py fails when it is stale; `python tools/cli_reference.py --check` says so too).
.PHONY: docs
docs: $(INSTALLED)
	$(BIN)/python tools/cli_reference.py
