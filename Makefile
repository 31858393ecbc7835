# AlphaVelocity — every target runs inside ./.venv, created on first use.
# `make help` lists the targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONPATH := $(CURDIR)

.DEFAULT_GOAL := help

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  /' | column -t -s ':'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

## install: create .venv and install the runtime dependencies
install: $(VENV)/.runtime-installed

## install-dev: install runtime, test and lint dependencies
install-dev: $(VENV)/.dev-installed

## run: serve the API on http://$(HOST):$(PORT) (docs at /docs)
run: install
	$(PY) -m uvicorn backend.main:create_app --factory --host $(HOST) --port $(PORT) --no-proxy-headers

## migrate: apply the database migrations (idempotent)
migrate: install
	$(PY) simple_db_migration.py

## refresh: pull new bars from the configured provider into the store
refresh: install
	$(PY) -m backend.cli refresh

## test: run the whole test suite (unit, api, database, integration)
test: install-dev
	$(PY) -m pytest

## test-unit: run the unit tests only
test-unit: install-dev
	$(PY) -m pytest -m unit

## test-integration: run the integration tests (PostgreSQL and Redis)
test-integration: install-dev
	$(PY) -m pytest -m integration

## test-e2e: run the dashboard's browser tests (Chromium at /usr/bin/chromium; apt-get install chromium)
test-e2e: install-dev
	$(PY) -m pytest -m e2e

## bench: print the speed figures beside their baselines
bench: install-dev
	$(PY) -m bench.momentum_bench
	$(PY) -m bench.api_latency_bench
	$(PY) -m bench.on_demand_bench
	$(PY) -m bench.research_bench
	$(PY) -m bench.strategy_bench
	$(PY) -m bench.incremental_bench
	$(PY) -m bench.options_bench
	$(PY) -m bench.http_bench

## bench-scale: bulk import rate (SQLite, PostgreSQL) at SCALE_SECURITIES x SCALE_YEARS (quick run SCALE_SECURITIES=200 SCALE_YEARS=5)
SCALE_SECURITIES ?= 5000
SCALE_YEARS ?= 25
bench-scale: install-dev
	$(PY) -m bench.scale_bench --securities $(SCALE_SECURITIES) --years $(SCALE_YEARS)

## bench-incremental: incremental scoring beside the full rebuild at SCALE_SECURITIES x SCALE_YEARS
bench-incremental: install-dev
	$(PY) -m bench.incremental_bench --securities $(SCALE_SECURITIES) --years $(SCALE_YEARS)

## fuzz: schemathesis (--checks all, every phase) against a local server, as a user and as admin
fuzz: install-ci
	$(PY) scripts/fuzz_api.py

## research: compare the momentum models on the shipped sample; rewrites README's table and chart
research: install
	$(PY) -m backend.cli research

## openapi: rewrite docs/openapi.json from the app (commit it with any intended API change)
openapi: install
	$(PY) scripts/openapi_snapshot.py

## replicas: N (default 3) replicas on a new PostgreSQL database + Redis behind nginx on REPLICAS_PORT; Ctrl-C stops
N ?= 3
REPLICAS_PORT ?= 8080
REPLICAS_PG_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5432/postgres
REPLICAS_REDIS_URL ?= redis://127.0.0.1:6379/1
export REPLICAS_PG_URL REPLICAS_REDIS_URL
replicas: install
	$(PY) -m scripts.replicas up --replicas $(N) --port $(REPLICAS_PORT)

## replicas-down: stop what `make replicas` started; drop its database and Redis keys
replicas-down: install
	$(PY) -m scripts.replicas down

## replicas-drill: load through nginx, SIGKILL and restart one of N replicas, print the figures (DRILL_SECONDS)
DRILL_SECONDS ?= 120
replicas-drill: install
	$(PY) -m scripts.replicas drill --replicas $(N) --duration $(DRILL_SECONDS)

.PHONY: help install install-dev run migrate refresh test test-unit test-integration test-e2e bench bench-scale bench-incremental fuzz research openapi replicas replicas-down replicas-drill

# ---- pipeline: quality gates, containers, deployment (docs/pipeline.md) ------------------------
COV_MIN ?= 85
COV_CRITICAL ?= 95
CRITICAL_PATHS := backend/momentum/model.py,backend/momentum/engine.py,backend/portfolios/ledger.py
BASE_URL ?= http://$(HOST):$(PORT)
COMPOSE ?= $(shell bash -c 'source scripts/_lib.sh && compose_cmd' 2>/dev/null)
need-compose = @test -n "$(COMPOSE)" || { echo "no compose command found: install docker compose or docker-compose (or set COMPOSE)"; exit 1; }
need-image = @test -n "$(IMAGE)" || { echo "IMAGE is required, for example IMAGE=docker.io/you/alphavelocity@sha256..."; exit 2; }

$(VENV)/.ci-installed: requirements.txt requirements-dev.txt requirements-ci.txt | $(PY)
	$(PIP) install --quiet -r requirements-ci.txt
	@touch $@ $(VENV)/.dev-installed $(VENV)/.runtime-installed

## install-ci: install-dev plus the pipeline linters and pre-commit (requirements-ci.txt)
install-ci: $(VENV)/.ci-installed

## setup: first set-up - install-ci, .env from .env.example (an existing .env is kept), git hooks
setup: install-ci
	@if [ -f .env ]; then echo ".env exists: left as it is"; \
	else cp .env.example .env && echo "created .env from .env.example - replace its example secrets"; fi
	@if [ -d .git ]; then $(VENV)/bin/pre-commit install; fi

## format: rewrite the code with black and isort
format: install-dev
	$(VENV)/bin/black .
	$(VENV)/bin/isort .

## format-check: black --check and isort --check-only (changes nothing)
format-check: install-dev
	$(VENV)/bin/black --check .
	$(VENV)/bin/isort --check-only .

## lint: flake8, mypy and the import rules of docs/architecture.md (import-linter)
lint: install-dev
	$(VENV)/bin/flake8
	$(VENV)/bin/mypy backend simple_db_migration.py
	$(VENV)/bin/lint-imports

## test-cov: the whole suite with coverage (HTML report in htmlcov/), fails under COV_MIN percent
test-cov: install-ci
	$(PY) -m pytest --cov --cov-report=term --cov-report=html --cov-report=xml --cov-fail-under=$(COV_MIN)
	@echo "critical paths (momentum engine, portfolio ledger) must reach $(COV_CRITICAL)%:"
	$(PY) -m coverage report --include='$(CRITICAL_PATHS)' --fail-under=$(COV_CRITICAL)

## security: bandit (fails on medium or high findings) and the dependency audit with safety
security: install-dev
	$(VENV)/bin/bandit -q -r backend simple_db_migration.py --severity-level medium
	scripts/dependency_audit.sh

## pre-commit: every pre-commit hook on every file (what the git hook runs on a commit's files)
pre-commit: install-ci
	$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

## ci: every check in the order CI runs them - format-check, lint, pre-commit, security, test-cov
ci:
	@start=$$(date +%s); \
	for target in format-check lint pre-commit security test-cov; do \
		echo "== make $$target"; $(MAKE) --no-print-directory $$target || exit 1; \
	done; \
	echo "make ci: every check passed in $$(( $$(date +%s) - start ))s"

## api-test: test_all_endpoints.sh against BASE_URL (starts a server there if none answers)
api-test: install
	scripts/api_test.sh $(BASE_URL)

## docker-up: build and start postgres, redis, the app and nginx (on NGINX_PORT) with compose
docker-up:
	$(need-compose)
	$(COMPOSE) up -d --build

## docker-down: stop and remove the compose containers (the database volume is kept)
docker-down:
	$(need-compose)
	$(COMPOSE) down

## docker-logs: follow the compose logs
docker-logs:
	$(need-compose)
	$(COMPOSE) logs -f --tail=200

## docker-clean: remove the compose containers, volumes (the database) and locally built images
docker-clean:
	$(need-compose)
	$(COMPOSE) down -v --remove-orphans --rmi local

## container-test: build the image, check it gets healthy and scores AAPL (needs Docker or Podman)
container-test:
	scripts/container_test.sh

## deploy-drill: deploy A, B, C, D and roll back on this machine (Podman, debootstrap, registry, sshd; root)
deploy-drill: install
	PYTHON=$(PY) scripts/deploy_drill.sh

## rollback: roll back ENV (staging or production) over SSH; RESTORE_DB=1 restores its backup too
rollback:
	@case "$(ENV)" in staging) host="$(STAGING_HOST)"; user="$(STAGING_USER)" ;; \
	production) host="$(PRODUCTION_HOST)"; user="$(PRODUCTION_USER)" ;; \
	*) echo "ENV=staging or ENV=production is required"; exit 2 ;; esac; \
	DEPLOY_HOST="$$host" DEPLOY_USER="$$user" scripts/remote_deploy.sh rollback $(if $(filter 1,$(RESTORE_DB)),--restore-db,)

## deploy-staging: deploy IMAGE to STAGING_HOST as STAGING_USER over SSH
deploy-staging:
	$(need-image)
	DEPLOY_HOST="$(STAGING_HOST)" DEPLOY_USER="$(STAGING_USER)" scripts/remote_deploy.sh deploy "$(IMAGE)"

## deploy-prod: deploy IMAGE to PRODUCTION_HOST over SSH, once you have typed yes
deploy-prod:
	$(need-image)
	@read -r -p "Deploy $(IMAGE) to PRODUCTION ($(PRODUCTION_HOST))? Type yes to go on: " answer; \
	if [ "$$answer" != yes ]; then echo "aborted: nothing was deployed"; exit 1; fi
	DEPLOY_HOST="$(PRODUCTION_HOST)" DEPLOY_USER="$(PRODUCTION_USER)" scripts/remote_deploy.sh deploy "$(IMAGE)"

.PHONY: install-ci setup format format-check lint pre-commit test-cov security ci api-test \
	docker-up docker-down docker-logs docker-clean container-test deploy-drill rollback \
	deploy-staging deploy-prod
