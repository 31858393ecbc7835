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
	$(PY) -m uvicorn backend.main:app --host $(HOST) --port $(PORT)

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

## bench: print the speed figures beside their baselines
bench: install-dev
	$(PY) -m bench.momentum_bench

.PHONY: help install install-dev run migrate refresh test test-unit test-integration bench
