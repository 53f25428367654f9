# Two commands matter: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck format check install migrate worker console console-check replica-start replica-stop replica-status bench clean

$(STAMP): requirements/base.txt requirements/production.txt requirements/dev.txt
	@PYTHON=$(PYTHON) scripts/system-packages run
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

install: $(STAMP)

## Run the whole platform on embedded defaults: web, Celery worker + beat, the simulators.
run: $(STAMP)
	@scripts/run-embedded

## Run the test suite (MariaDB + Redis when they answer; SQLite with a notice otherwise).
test: $(STAMP)
	@scripts/system-packages test
	@scripts/run-tests

## Build the web console (frontend/dist) now, stale or not.
console: $(STAMP)
	scripts/build-console --force

## The web console's own checks: types, lint, format, unit tests.
console-check: $(STAMP)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent gen \
	  && npx tsc --noEmit && npx eslint . && npx prettier --check . && npx vitest run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck
	scripts/check-migrations
	$(BIN)/python manage.py check
	scripts/check-deploy

migrate: $(STAMP)
	$(BIN)/python manage.py migrate

worker: $(STAMP)
	$(BIN)/celery -A config worker --loglevel=INFO

bench: $(STAMP)
	bench/run

replica-start:
	scripts/mariadb-replica start

replica-stop:
	scripts/mariadb-replica stop

replica-status:
	scripts/mariadb-replica status

clean:
	rm -rf var/test .pytest_cache .ruff_cache
