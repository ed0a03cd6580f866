# ticket-classifier — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[train,dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its pinned dependencies

run: $(STAMP) ## Serve the API on the embedded SQLite store with the shipped model
	$(BIN)/ticket-classifier serve --host $(HOST) --port $(PORT) --dev-keys

test: $(STAMP) ## Lint and type-check, then run the whole test suite (data contract included)
	$(BIN)/ruff check classifier training tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP) ## Lint, check formatting and types
	$(BIN)/ruff check classifier training tests bench
	$(BIN)/ruff format --check classifier training tests bench
	$(BIN)/mypy

train: $(STAMP) ## Retrain the shipped model in models/ from data/tickets.jsonl
	$(BIN)/ticket-classifier train

evaluate: $(STAMP) ## Print the quality figures of the shipped model on the test split
	$(BIN)/ticket-classifier evaluate

datasheet: $(STAMP) ## Regenerate the distribution tables in data/README.md
	$(BIN)/python -m training.datasheet --write

bench: $(STAMP) ## Run the benchmarks (prints figures)
	$(BIN)/python bench/bench_predict.py
	$(BIN)/python bench/bench_worst_case.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_train.py

lock: ## Re-resolve requirements.lock from pyproject.toml (needs the network)
	rm -rf /tmp/tc-lock && $(PYTHON) -m venv /tmp/tc-lock
	/tmp/tc-lock/bin/pip install --quiet --disable-pip-version-check '.[train,dev]'
	/tmp/tc-lock/bin/pip freeze --exclude ticket-classifier > requirements.lock

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info

.PHONY: help install run test lint train evaluate datasheet bench lock clean
