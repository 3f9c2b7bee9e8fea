# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The exact versions every run of this repository installs (tests, demo, bench); the package's own
# dependencies stay ranges. `make lock` refreshes it on purpose; commit the result on its own.
LOCK   := requirements/dev.lock
UV     := uv==0.13.9
# `make test-latest`: the newest releases the ranges allow, in a venv of its own, to see drift first
LATEST := .venv-latest

.PHONY: demo test test-latest check lint imports typecheck bench screenshots lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint $(LOCK) -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sessiontui --demo

# two workers (pytest-xdist); a module's tests stay together (tests/conftest.py's groups), and
# the modules marked `alone` run after them with nothing beside
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not alone"
	$(BIN)/python -m pytest -m alone

test-latest:
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	$(LATEST)/bin/python -m pip freeze --exclude-editable > $(LATEST)/versions.txt
	$(LATEST)/bin/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

imports: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint imports typecheck test

bench: $(STAMP)
	$(BIN)/python -m bench

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--upgrade --quiet --output-file $(LOCK)
	git --no-pager diff --stat -- $(LOCK)

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache .mypy_cache .ruff_cache
