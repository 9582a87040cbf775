# Two commands matter: `make run` and `make test`. Both create .venv and install everything first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# dbt (the check of the generated dbt sources) gets its own environment: dbt-core 1.11 pins
# pathspec<0.13 and mypy needs pathspec>=1.0. The tests look for it at .venv/dbt/bin/dbt.
DBT_VENV := $(VENV)/dbt
# The BigQuery stand-in (bqemulator) pins libraries the project pins differently: its own venv.
BQ_VENV := .venv-bqemulator
# Quix Streams, bench (b)'s second baseline, pins another confluent-kafka: its own venv, made by
# `make bench` only (not install/test).
QUIX_VENV := .venv-quix

.PHONY: install run test lint typecheck unit bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[infra,bigquery,pubsub,snowflake,dev]'
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DBT_VENV)/bin/python -m pip install --quiet -e '.[dbt]'
	touch $@

$(BQ_VENV)/.installed: tests/bqemulator/requirements.txt
	$(PYTHON) -m venv $(BQ_VENV)
	$(BQ_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BQ_VENV)/bin/python -m pip install --quiet -r tests/bqemulator/requirements.txt
	touch $@

$(QUIX_VENV)/.installed: bench/quix/requirements.txt
	$(PYTHON) -m venv $(QUIX_VENV)
	$(QUIX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(QUIX_VENV)/bin/python -m pip install --quiet -r bench/quix/requirements.txt
	touch $@

install: $(VENV)/.installed $(BQ_VENV)/.installed

# The ingest service on the embedded default: memory bus + DuckDB in data/warehouse.duckdb.
run: install
	$(VENV)/bin/ingest serve

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install
	$(PY) -m mypy

unit: install
	$(PY) -m pytest

test: lint typecheck unit

$(VENV)/.bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

# Benchmarks are not tests: each prints its figures and the ratio to a baseline of the same run.
bench: $(VENV)/.bench $(BQ_VENV)/.installed $(QUIX_VENV)/.installed
	$(PY) bench/bench_render.py
	$(PY) bench/bench_sink.py
	$(PY) bench/bench_kafka.py
	$(PY) bench/bench_dlt.py
	$(PY) bench/bench_replay_duckdb.py
	$(PY) bench/bench_rss.py
	$(PY) bench/bench_bigquery.py
	$(PY) bench/bench_pubsub.py
	$(PY) bench/bench_snowflake.py

clean:
	rm -rf $(VENV) $(BQ_VENV) $(QUIX_VENV) .pytest_cache .mypy_cache .ruff_cache
