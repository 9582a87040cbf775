"""Helpers for the BigQuery tests: where the stand-in lives, and reading tables back from it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from ingest.config import bigquery_url
from schema import EVENT_TABLES, TableSpec
from schema.dialects import BIGQUERY as dialect

REPO = Path(__file__).resolve().parents[2]
# The stand-in runs from its own virtualenv (made by `make install`), through a test-only launcher.
BIGQUERY_EMULATOR_PYTHON = REPO / ".venv-bqemulator" / "bin" / "python"
BIGQUERY_LAUNCHER = REPO / "tests" / "bqemulator" / "launch.py"
BIGQUERY_PROJECT = "ingest-test"


def client(endpoint: str | None = None) -> bigquery.Client:
    """A client of the stand-in, independent of the writer under test."""
    return bigquery.Client(
        project=BIGQUERY_PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint or os.environ["BIGQUERY_EMULATOR_HOST"]),
    )


def dataset_of(url: str) -> str:
    dataset = bigquery_url(url)[1]
    assert dataset is not None
    return dataset


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the stand-in; ``{dataset}`` in it is the URL's dataset."""
    with client() as bq:
        return [tuple(row.values()) for row in bq.query(sql.format(dataset=dataset_of(url))).result()]


def rows(url: str, spec: TableSpec, columns: str = "count(*)") -> list[tuple[Any, ...]]:
    return query(url, f"SELECT {columns} FROM {dialect.qualified(spec.name, dataset_of(url))}")


def count(url: str, spec: TableSpec) -> int:
    return int(rows(url, spec)[0][0])


def event_ids(url: str) -> list[str]:
    """Every stored event_id of every event table, duplicates kept."""
    return [str(event_id) for spec in EVENT_TABLES.values() for (event_id,) in rows(url, spec, "event_id")]


def staging_tables(url: str) -> list[str]:
    with client() as bq:
        return [table.table_id for table in bq.list_tables(dataset_of(url)) if table.table_id.startswith("_")]
