# The targets a newcomer guesses. Each one creates .venv and installs the project first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test test-slow unit integration e2e load chaos lint format bench verify clean console browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the whole platform and its console on embedded PostgreSQL + broker (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS)
run: $(STAMP) console
	$(BIN)/zhengfeng up

## demo: a county's scenario through the running platform's APIs (start it with make run first)
demo: $(STAMP)
	$(BIN)/zhengfeng demo

## test: the suite but its slow part (unit, integration, end-to-end, the console in a real browser); under 20 minutes
test: $(STAMP) browser console
	$(BIN)/python -m pytest -q -m "not slow"

## test-slow: the slow part (Schemathesis on all four services, the steady-rate load run); CI runs it after `make test`
test-slow: $(STAMP) browser console
	$(BIN)/python -m pytest -q -m slow

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

e2e: $(STAMP) browser console
	$(BIN)/python -m pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs zhengfeng console

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## load: LOAD_RATE transfers/s for LOAD_SECONDS through the four services; counts must match
load: $(STAMP)
	LOAD_RATE=$${LOAD_RATE:-50} LOAD_SECONDS=$${LOAD_SECONDS:-60} $(BIN)/python -m pytest -q -s tests/e2e/test_load.py

## chaos: only the fault tests (broker restart, killed consumer, dropped DB connections, database restart, poison message); make test runs them too
chaos: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e/test_faults.py tests/e2e/test_database_restart.py

## bench: prints throughput figures and ceilings (store, relay, end to end, restart → caught up over 100 000 events, the console's page speed and server time at 10 000 clues and 10 000 cases); asserts nothing
bench: $(STAMP) browser console
	$(BIN)/python -m bench
	$(BIN)/python -m bench.e2e
	$(BIN)/python -m bench.restart
	$(BIN)/python -m bench.console_pages
	$(BIN)/python -m bench.console_server

## console: the console's front end (console/web), built with npm from the committed lock file
WEB := console/web
console: $(WEB)/dist/index.html

$(WEB)/dist/index.html: $(WEB)/package-lock.json $(WEB)/index.html $(WEB)/vite.config.js $(shell find $(WEB)/src -type f)
	cd $(WEB) && npm ci --no-audit --no-fund && npm run build

## browser: Debian's Chromium (and CJK fonts) for the browser tests, installed when missing
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
browser:
	test -x $(CHROMIUM) -a -f $(CJK_FONT) || apt-get install -y chromium fonts-noto-cjk \
	  || (apt-get update && apt-get install -y chromium fonts-noto-cjk)

verify: $(STAMP)
	$(BIN)/zhengfeng verify

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache $(WEB)/node_modules $(WEB)/dist
