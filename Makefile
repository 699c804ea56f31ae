# support-chatbot: the two commands a newcomer needs are `make local` and `make test`.
# Every target sets itself up on a fresh machine (Python venv, npm packages, the site build).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
KNOWLEDGE_DIR ?= knowledge

.PHONY: local test lint typecheck unit site bench clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

local: $(VENV)/.installed site ## run the whole chatbot on this machine (http://$(HOST):$(PORT))
	$(PY) -m local --host $(HOST) --port $(PORT) --knowledge-dir $(KNOWLEDGE_DIR)

test: $(VENV)/.installed site lint typecheck ## lint, type-check and run every test (offline)
	@# pytest exits 5 when it collected nothing: a suite that ran no test has failed.
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$status

lint: $(VENV)/.installed ## ruff (lint, format) and import-linter (the layering rules in .importlinter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=.:functions/shared $(VENV)/bin/lint-imports --no-cache

typecheck: $(VENV)/.installed ## mypy over the program, the functions, the local stack and the tests
	$(VENV)/bin/mypy __main__.py components contracts bot functions local bench scripts tests

site: site/dist/.built ## build the chat page (Tailwind + esbuild, content-hashed)

bench: $(VENV)/.installed site ## benchmarks: page weight, handler latency, local-stack throughput
	$(PY) -m bench

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

site/node_modules/.installed: site/package.json site/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20+ (e.g. apt-get install nodejs npm)"; exit 1; }
	cd site && npm ci --no-audit --no-fund --loglevel=error
	touch $@

site/dist/.built: site/node_modules/.installed $(shell find site/src site/build.mjs site/index.html site/jsconfig.json site/config.example.js -type f 2>/dev/null)
	cd site && npm run --silent build
	touch $@

clean: ## remove the venv, npm packages and build output
	rm -rf $(VENV) site/node_modules site/dist .pytest_cache .mypy_cache .ruff_cache
