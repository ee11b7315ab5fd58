# Two commands: `make run` brings the product up, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

# `make lint`: ruff (lint and format, pyproject.toml), the import contract (.importlinter) and no
# model change without its migration; `make test` runs it before the suite.
# `make run`: gunicorn (config/gunicorn.py: a process per core, 4 threads each) serving the collected
# static files through WhiteNoise as in production, a Celery worker and beat. `make dev`: the same with
# the web server restarting on code changes.
.PHONY: run dev serve-check prod-rehearsal test lint bench simulate loadtest faults backup-check upgrade-check prepare install install-dev translations messages screenshots persona-screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(VENV)/.installed-load: requirements-load.txt $(VENV)/.installed-dev
	$(BIN)/pip install -q -r requirements-load.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

translations: install
	$(BIN)/python manage.py compile_translations

prepare: install translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo --size small --if-empty

run: prepare
	@echo ""
	@echo "  CRM is starting at http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password crm-demo): admin, director, manager1, manager2, rep1, rep2, rep3, rep4, marketing"
	@echo "  API docs: http://$(HOST):$(PORT)/api/docs/   Stop with Ctrl-C."
	@echo ""
	CRM_WEB_PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

dev: prepare
	@echo ""
	@echo "  CRM (reloading on code changes) at http://$(HOST):$(PORT)/   Stop with Ctrl-C."
	@echo ""
	CRM_WEB_PORT=$(PORT) WEB_RELOAD=1 WEB_WORKERS=1 WHITENOISE_AUTOREFRESH=1 $(BIN)/honcho -f Procfile.dev start

# 240 parallel coupon claims from 32 clients against the server `make run` started (HOST, PORT):
# every one answered (no reset connection), and the figures reconcile.
serve-check: install-dev
	$(BIN)/python -m bench.serve_check --url http://$(HOST):$(PORT)

# nginx, two gunicorns, PgBouncer, a PostgreSQL primary and streaming replica, Redis, two workers and
# one beat, all private under a temp dir; a load test through nginx and a failover drill (docs/deployment.md).
prod-rehearsal: install-dev translations
	$(BIN)/python -m bench.rehearsal

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

# The suite runs in one process per core (at most four), each file whole in one of them, each process
# on a test database and a Redis database of its own; TEST_JOBS=0 runs it in this process.
TEST_JOBS ?= auto
test: lint translations
	$(BIN)/pytest $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --maxprocesses 4 --dist loadfile --no-loadscope-reorder)

bench: install-dev translations
	$(BIN)/python -m bench

# A month of operation on a database of its own: DAYS=45 SEED=1 START=<today>; KEEP_GOING=1 checks every day.
DAYS ?= 45
SEED ?= 1
simulate: install-dev translations
	$(BIN)/python -m bench.simulation --days $(DAYS) --seed $(SEED) $(if $(START),--start $(START)) \
		$(if $(KEEP_GOING),--keep-going)

# Load through gunicorn + locust; DATABASE_URL must name a copy of the large demo set (it is written to).
loadtest: $(VENV)/.installed-load translations
	$(BIN)/python -m bench.loadtest

# Faults against private PostgreSQL and Redis instances it starts itself: Redis stopped, a worker
# killed mid-batch, two beats, PostgreSQL restarted under load.
faults: install-dev translations
	$(BIN)/python -m bench.faults

# Backup round trip (pg_dump, restore into a scratch database, compare) of DATABASE_URL, read only.
backup-check: install
	$(BIN)/python -m bench.backup

# Upgrade rehearsal: copy DATABASE_URL, migrate back to an earlier release, time migrating forward.
upgrade-check: install
	$(BIN)/python -m bench.upgrade

# Refresh the translation catalogue after changing strings (needs GNU gettext).
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=static
	$(BIN)/python manage.py makemessages -d djangojs -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=static/vendor

screenshots: install-dev translations
	$(BIN)/python docs/screenshots.py --prepare

# Each persona's day in Chromium, with a screenshot of every page at 1366x768 and 390x844.
persona-screenshots: install-dev translations
	$(BIN)/pytest crm/tests/persona_days field/tests/test_browser_phone.py --persona-shots -q

clean:
	rm -rf $(VENV) var
