# crsurvey set-up. Finds a Python >= 3.12 itself (scripts/find-python.sh) and fails loudly otherwise.
PY := $(shell scripts/find-python.sh)
VENV := .venv
BIN := $(VENV)/bin
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export RAY_AUTH_MODE ?= disabled

.PHONY: install demo test test-all bench clean

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

## Quick start 2: install, then the test suite (slow tests excluded).
test: install
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: install
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) .numba_cache
