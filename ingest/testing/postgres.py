"""Throwaway databases on the local Postgres server, for the tests and the benchmarks.

Every caller gets a database of its own with a unique name, so runs in parallel never see each
other's tables; it is dropped afterwards with its connections (``WITH (FORCE)``), even when the
caller failed. The server is the shared one at ``TEST_POSTGRES_URL`` (trust auth): never stopped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    """The URL of database ``name`` on the server of ``ADMIN_URL``."""
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new, empty database named ``<prefix>_<12 hex>``; yields its URL, drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
