# Quickstart: `make run` (installs, provisions, migrates, starts every Procfile process)
#             `make test` (installs and runs the whole suite)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000

.PHONY: install provision migrate run test lint bench clean check-python

check-python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is required"'

install: check-python $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Creates the local database and both roles when Postgres runs on localhost
# (trust auth) and DATABASE_URL is not set; a no-op otherwise.
provision: install
	$(PY) scripts/provision_db.py

migrate: provision
	$(PY) manage.py migrate --noinput

run: migrate
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://localhost:$(PORT)} $(PY) manage.py bootstrap_demo
	PORT=$(PORT) PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://localhost:$(PORT)} $(PY) scripts/run.py

test: provision
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

bench: migrate
	$(PY) bench/outgoing.py
	$(PY) bench/incoming.py

clean:
	rm -rf $(VENV) var .pytest_cache
