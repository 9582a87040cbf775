"""Real parts for the ingest tests: a Tansu (Kafka protocol) broker, topics, warehouses, the
BigQuery stand-in (bqemulator), and fakesnow's server standing in for Snowflake (reached by the
real connector over HTTP)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest

from ingest.testing import tansu
from ingest.writers import Writer, open_writer
from tests.ingest.bigquery_support import BIGQUERY_EMULATOR_PYTHON, BIGQUERY_LAUNCHER, BIGQUERY_PROJECT, REPO
from tests.ingest.outage import ThrowawayPostgres
from tests.ingest.support import free_port, settings, wait_for

# A password distinctive enough that finding it in any output means it leaked.
SNOWFLAKE_PASSWORD = "pw-Zq7-never-printed"

TOPIC_PARTITIONS = 3


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """A Tansu broker on a free port with in-memory storage, for the whole session."""
    with tansu.broker() as running:
        yield running.address


@pytest.fixture
def topic(broker: str) -> str:
    """A new topic with a few partitions (unique per test: groups and offsets never leak)."""
    name = f"events-{uuid.uuid4().hex[:10]}"
    tansu.create_topic(broker, name, TOPIC_PARTITIONS)
    return name


@pytest.fixture(scope="session")
def snowflake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """fakesnow's server (Snowflake's HTTP protocol over DuckDB) on a free port, for the session:
    ``host:port``. Its staged files go under a temporary directory (TMPDIR), its log beside them."""
    workdir = tmp_path_factory.mktemp("fakesnow")
    port = free_port()
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
            cwd=workdir,
            env={**os.environ, "TMPDIR": str(workdir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"fakesnow exited with {process.returncode}: see {workdir}/server.log")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(up, timeout=60, what="the fakesnow server")
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)  # fakesnow's CLI stops its server on SIGINT
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def snowflake_url(snowflake_server: str) -> str:
    """A Snowflake URL for a database of its own on the stand-in (fakesnow creates a database
    when a session first names it; Snowflake would need it to exist, as the stack makes sure)."""
    host, port = snowflake_server.split(":")
    database = f"TEST_{uuid.uuid4().hex[:12].upper()}"
    return (
        f"snowflake://ingest:{SNOWFLAKE_PASSWORD}@stand-in/{database}/ANALYTICS"
        f"?warehouse=INGEST_WH&role=INGEST_WRITER&host={host}&port={port}&protocol=http"
    )


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=["postgres", "duckdb"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each warehouse in turn: a fresh Postgres database, then a DuckDB file."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


def _provisioned(url: str) -> Iterator[Writer]:
    opened = open_writer(settings(WAREHOUSE_DATABASE_URL=url))
    opened.provision()
    yield opened
    opened.close()


@pytest.fixture
def writer(warehouse_url: str) -> Iterator[Writer]:
    """A provisioned writer for each warehouse."""
    yield from _provisioned(warehouse_url)


@pytest.fixture
def pg_writer(pg_url: str) -> Iterator[Writer]:
    """A provisioned Postgres writer on a fresh database."""
    yield from _provisioned(pg_url)


@pytest.fixture(scope="session")
def outage_cluster() -> Iterator[ThrowawayPostgres]:
    """A Postgres cluster of the session's own, which outage tests stop and start."""
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """bqemulator (in-memory) on free ports for the whole session: its ``http://host:port``."""
    if not BIGQUERY_EMULATOR_PYTHON.exists():
        # `make test` has made it already; a bare pytest run makes it here, the same way, once.
        subprocess.run(["make", "-C", str(REPO), ".venv-bqemulator/.installed"], check=True)
    rest, grpc = free_port(), free_port()
    log = tmp_path_factory.mktemp("bqemulator") / "emulator.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(BIGQUERY_EMULATOR_PYTHON),
                str(BIGQUERY_LAUNCHER),
                "--rest-port",
                str(rest),
                "--grpc-port",
                str(grpc),
                "--project",
                BIGQUERY_PROJECT,
                "--log-level",
                "warning",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )
    endpoint = f"http://127.0.0.1:{rest}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"bqemulator exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urlopen(f"{endpoint}/bigquery/v2/projects/{BIGQUERY_PROJECT}/datasets", timeout=2):
                return True
        except OSError:
            return False

    try:
        wait_for(up, timeout=120, what="bqemulator")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def bq_url(bigquery_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh dataset name on the stand-in (created by provisioning), with the emulator host set."""
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", bigquery_emulator)
    return f"bigquery://{BIGQUERY_PROJECT}/t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def bq_writer(bq_url: str) -> Iterator[Writer]:
    """A provisioned BigQuery writer on a fresh dataset of the stand-in."""
    yield from _provisioned(bq_url)
