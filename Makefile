# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-slow lint frontend bench-engine bench-timers bench-portal bench-inbox bench-employees clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# DEMO_MAILBOX=1: the local demo shows file-stored mail at /demo/mailbox (never on by default).
run: install
	DEMO_MAILBOX=1 $(VENV)/bin/backoffice run

# ruff, then the layer contracts of pyproject.toml (imports only go down: backoffice > web > tasks > forms > engine).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo

# The test files run side by side in TEST_WORKERS pytest-xdist processes; a file stays in one process, which
# shares its running product between the file's tests (tests/conftest.py). Files are handed out in collection
# order, the longest first (LONG_FILES in tests/conftest.py). The slowest tests print at the end.
TEST_WORKERS ?= 4
PYTEST_PARALLEL := $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30

# Everything but the tests marked slow (the few that take minutes each); CI runs these too (`make test-slow`).
# PYTHONDONTWRITEBYTECODE is cleared for the run: with it set (some shells and containers do), pytest rewrites
# and compiles every test module again in every xdist worker at every run, about 5 s of CPU per worker; without
# it, each keeps the rewritten modules in __pycache__ (git-ignored) from the first run on.
test: install lint
	PYTHONDONTWRITEBYTECODE= $(PYTEST_PARALLEL) -m "not slow"

# One at a time: each slow test loads both cores itself, and the 10,000-timer test calibrates its margin
# on the machine's speed, which tests beside it would change under its feet.
test-slow: install
	$(VENV)/bin/pytest --durations=30 -m slow

bench-engine: install
	$(PY) benchmarks/engine.py --instances 2000 --workers 2

bench-timers: install
	$(PY) benchmarks/timers.py

bench-portal: install
	$(PY) benchmarks/portal.py

bench-inbox: install
	nice -n 10 $(PY) benchmarks/inbox.py

bench-employees: install
	$(PY) benchmarks/employees.py

# The studio's viewers (bpmn-js, dmn-js) bundled into web/static/studio; the output is committed so
# `make run` needs no Node. Needs node and npm; versions come from frontend/package-lock.json.
frontend:
	cd frontend && npm ci --no-audit --no-fund --ignore-scripts && node build.mjs

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
