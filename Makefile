# Liebian: `make run` starts the demo, `make test` runs every check. Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
# The machine's PostgreSQL, used as a second server for the test suite when it answers.
SYSTEM_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: setup browser screenshots run test lint format clean bench bench-tools bench-visits bench-flashsale bench-nearby bench-analytics bench-imm

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/liebian serve --demo --access-log

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser journeys drive Debian's Chromium (never a browser Playwright would download at run time);
# the CJK font makes Chinese pages render as text, not boxes, in screenshots.
BROWSER_PACKAGES = chromium fonts-noto-cjk
browser:
	@if [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/opentype/noto ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's $(BROWSER_PACKAGES) for the browser journeys"; \
		apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo -n apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null; \
	else echo "no /usr/bin/chromium and no way to install it: the browser journeys will be skipped"; fi

# README screenshots (docs/screenshots/): a throwaway demo server photographed by Chromium.
screenshots: setup browser
	$(BIN)/python scripts/screenshots.py

test: lint browser
	$(BIN)/python -m pytest -q
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		echo "== again on the machine's PostgreSQL ($(SYSTEM_PG)) =="; \
		LIEBIAN_TEST_DATABASE_URL=$(SYSTEM_PG) $(BIN)/python -m pytest -q -p no:randomly; \
	else echo "no PostgreSQL on 127.0.0.1:5432: the embedded server was the only one tested"; fi

# Benchmarks against their floor (DESIGN.md §6, bench/README.md): scratch databases on BENCH_DATABASE_URL's server.
# make bench: every scenario of `liebian bench all`, one table; e.g. make bench BENCH_ARGS="--repeat 5 --json"
BENCH_DATABASE_URL ?= $(SYSTEM_PG)
BENCH_ARGS ?=

bench: setup bench-tools
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/liebian bench all $(BENCH_ARGS)

# The floors' and load generators' tools, from Debian when missing and root: pgbench, redis-server and
# redis-benchmark, wrk (the visits scenario's C load generator). Without one, its figure is skipped or left out.
bench-tools:
	@missing=""; \
	command -v pgbench >/dev/null 2>&1 || missing="$$missing postgresql-client"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v redis-benchmark >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's$$missing for the benchmarks"; \
		apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null); \
	else echo "missing$$missing and no way to install them: those figures will be skipped"; fi

# Share visits through HTTP against pgbench, on its own (the visits scenario runs it too).
bench-visits: setup bench-tools
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/visits.py $(BENCH_ARGS)

# A hot flash-sale slot on both paths (PostgreSQL alone, then Redis) against pgbench and redis-benchmark.
bench-flashsale: setup
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/flashsale.py $(BENCH_ARGS)

# Nearby stores among 1,000,000 (the earthdistance index against a sequential scan).
bench-nearby: setup
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/nearby.py $(BENCH_ARGS)

# Fission analytics over a synthetic 10M-event log (and a shop's log read from PostgreSQL).
bench-analytics: setup
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/analytics.py $(BENCH_ARGS)

# IMM on NetHEPT against the paper's figures (../shared/data), and on a 1M-node / 10M-arc graph.
bench-imm: setup
	$(BIN)/python bench/imm.py $(BENCH_ARGS)

format: setup
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
