# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint frontend bench-engine bench-timers bench-portal bench-inbox bench-employees clean

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

test: install lint
	$(VENV)/bin/pytest

# Everything but the tests marked slow (see tests/conftest.py), for the edit-test loop; CI runs `make test`.
test-fast: install lint
	$(VENV)/bin/pytest -m "not slow"

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
