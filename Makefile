# Quickstart: `make run` (installs, provisions, migrates, starts every Procfile process)
#             `make test` (installs and runs the whole suite)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000

.PHONY: install lock provision migrate run test lint bench bench-logs clean check-python browser

check-python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is required"'

install: check-python $(VENV)/.installed

# Reproducible: every package at the version and hash recorded in requirements-dev.lock
# (runtime + dev tools; the Docker image takes requirements.lock, runtime only), then
# the project itself. `make lock` refreshes both after a change to pyproject.toml.
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv>=0.9,<1'
	$(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --universal \
	  --python-version 3.11 --quiet -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 --quiet -o requirements-dev.lock

# Creates the local database and both roles when Postgres runs on localhost
# (trust auth) and DATABASE_URL is not set; a no-op otherwise.
provision: install
	$(PY) scripts/provision_db.py

migrate: provision
	$(PY) manage.py migrate --noinput

run: migrate
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://localhost:$(PORT)} $(PY) manage.py bootstrap_demo
	PORT=$(PORT) PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://localhost:$(PORT)} $(PY) scripts/run.py

# The browser tests drive Debian's chromium (Playwright's own browser download
# is not used); installed here when missing (needs root, as on our machines).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  || echo "WARNING: could not install chromium: tests/integrations/test_pages_browser.py will fail"; }

# Four pytest-xdist workers, one test module each at a time (--dist loadfile): each worker has
# its own test database and Redis database (architect_studio/settings/test.py). On this 2-core
# machine, on one slow day: 4 workers 608 s and 735 s, 2 workers 751 s (the tests wait on
# servers, workers and browsers as much as they compute; 4 workers cost more CPU). 2026-12-03,
# after the template database, DELETE cleanup, WhiteNoise and bytecode changes: 475 s (fresh clone).
TEST_WORKERS ?= 4
# Bytecode caches on: where PYTHONDONTWRITEBYTECODE is set (our machines set it), every worker,
# and every worker, server and probe process the tests start, would compile the project and
# pytest would re-rewrite every test module's asserts (17 s of CPU per worker's collection,
# 7.6 s with the caches). The project is compiled once up front; __pycache__ is ignored by git.
test: export PYTHONDONTWRITEBYTECODE :=
test: provision browser
	$(PY) -m compileall -q -j 0 architect_studio core entities integrations tenancy webhooks tests
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check .

bench: migrate
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing Debian's wrk for bench/incoming.py"; \
	  (apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)) >/dev/null 2>&1 \
	  || echo "WARNING: could not install wrk: bench/incoming.py will fail"; }
	$(PY) bench/outgoing.py
	$(PY) bench/incoming.py
	$(PY) bench/sync.py
# Seeds 10M log rows in a database of its own (~10 minutes, ~7 GB while it runs).
bench-logs: migrate
	$(PY) bench/logs.py --rows 10000000

clean:
	rm -rf $(VENV) var .pytest_cache
