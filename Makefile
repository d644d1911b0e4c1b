# crsurvey set-up. Finds a Python >= 3.12 itself (scripts/find-python.sh) and fails loudly otherwise.
PY := $(shell scripts/find-python.sh)
VENV := .venv
BIN := $(VENV)/bin
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export RAY_AUTH_MODE ?= disabled

.PHONY: install demo test test-fast test-all bench clean

$(BIN)/python:
	@test -n "$(PY)" || (echo "crsurvey: no Python >= 3.12 found" >&2; exit 1)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"

## Quick start 1: install, then a real small survey end to end on an embedded local Ray.
demo: install
	$(BIN)/crsurvey run examples/quick.toml --out results/quick --overwrite
	$(BIN)/crsurvey status results/quick
	$(BIN)/crsurvey plot results/quick

## Quick start 2: install, then the whole test suite: the fast tests and the slow physics checks, including
## the quick H22 reproduce (~5 min on 2 cores). CI runs this.
test: install
	$(BIN)/python -m pytest -q -m "slow or not slow"

## The fast tests only (slow ones excluded, ~1.5 min): the edit-test loop.
test-fast: install
	$(BIN)/python -m pytest -q

test-all: test

bench: install
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) .numba_cache
