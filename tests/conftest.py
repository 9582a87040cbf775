"""Fixtures shared by every test package: a fresh database on the real local Postgres, and a
fakesnow server standing in for Snowflake."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ingest.testing.ports import free_port
from ingest.testing.postgres import fresh_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty database on the local server; dropped (with its connections) afterwards."""
    with fresh_database("test") as url:
        yield url


@pytest.fixture(scope="session")
def fakesnow_port() -> Iterator[int]:
    """fakesnow's HTTP server (Snowflake's SQL on DuckDB; no Snowflake runs here), for the session.

    A real ``snowflake.connector`` reaches it with ``host=127.0.0.1, port=…, protocol=http``."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the fakesnow server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)
