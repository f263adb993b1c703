# The two commands the README promises: `make demo` and `make test`.
# Both do their own set-up, so they work on a fresh machine.
# `make demo DURATION=10m` runs unattended and ends by itself; PORT_BASE=N moves its ports.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

DURATION  ?=
PORT_BASE ?=
# pytest-xdist workers for `make test`; tests sharing a costly fixture stay on one
# worker (tests/conftest.py). TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2

.PHONY: demo run test lint setup system-deps bench check schema

demo: setup system-deps
	$(BIN)/vigil demo $(if $(DURATION),--duration $(DURATION)) $(if $(PORT_BASE),--port-base $(PORT_BASE))

run: setup
	$(BIN)/vigil generate

check: setup
	$(BIN)/vigil check

schema: setup
	$(BIN)/vigil schema

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: setup
	$(BIN)/ruff check .

bench: setup system-deps
	$(BIN)/python bench/generator_bench.py

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

system-deps:
	bash .ci/system-deps
