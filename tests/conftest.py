"""Fixtures shared by every test package: a fresh database on the real local Postgres, and a
fakesnow server standing in for Snowflake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest.testing import fakesnow
from ingest.testing.postgres import fresh_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty database on the local server; dropped (with its connections) afterwards."""
    with fresh_database("test") as url:
        yield url


@pytest.fixture(scope="session")
def fakesnow_port() -> Iterator[int]:
    """fakesnow's HTTP server (Snowflake's SQL on DuckDB; no Snowflake runs here), for the session."""
    with fakesnow.server() as port:
        yield port
