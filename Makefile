# Liebian: `make run` starts the demo, `make test` runs every check. Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
# The machine's PostgreSQL, used as a second server for the test suite when it answers.
SYSTEM_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: setup browser run test lint format clean bench bench-flashsale bench-nearby bench-analytics bench-imm

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

# The browser journeys drive Debian's Chromium (never a browser Playwright would download at run time).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser journeys"; \
		apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo -n apt-get install -y -q chromium >/dev/null; \
	else echo "no /usr/bin/chromium and no way to install it: the browser journeys will be skipped"; fi

test: lint browser
	$(BIN)/python -m pytest -q
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		echo "== again on the machine's PostgreSQL ($(SYSTEM_PG)) =="; \
		LIEBIAN_TEST_DATABASE_URL=$(SYSTEM_PG) $(BIN)/python -m pytest -q -p no:randomly; \
	else echo "no PostgreSQL on 127.0.0.1:5432: the embedded server was the only one tested"; fi

# Benchmarks against their floor (DESIGN.md §6): a scratch database on BENCH_DATABASE_URL's server.
# e.g. make bench BENCH_ARGS="--workers 1 --seconds 30"
BENCH_DATABASE_URL ?= $(SYSTEM_PG)
BENCH_ARGS ?=

bench: setup
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
