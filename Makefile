# The commands the README tells people to run. Everything installs itself.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8501

export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
# A run without a Prefect server starts a temporary one; on a busy 2-core machine it can take
# longer than Prefect's 20 s default to answer.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

.PHONY: demo test lint bench install clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## demo: generate the sample workspace, load it into data/demo.duckdb, open the dashboard
demo: $(STAMP)
	$(BIN)/asyncpulse demo --port $(PORT)

## test: the whole suite (unit, real data when ../shared/data exists, Prefect, browser)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## screenshots: refresh docs/screenshots from the browser test
screenshots: $(STAMP)
	ASYNCPULSE_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_dashboard.py tests/test_digest.py -m browser -q

lint: $(STAMP)
	$(BIN)/ruff check pipelines transforms dashboard tests benchmarks
	$(BIN)/mypy

## bench: generate 1M messages and measure ingest/build against the floors
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache data/*.duckdb* data/demo benchmarks/data
