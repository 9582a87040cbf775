"""Bench (b)'s Quix Streams comparison, the parent's side: run ``bench/quix/consumer.py`` and time it.

Quix Streams (``quixstreams[postgresql]`` 3.28, the Python stream library people pick for Kafka ->
Postgres) pins another confluent-kafka than the project, so it lives in ``.venv-quix`` (made by
``make bench`` from ``bench/quix/requirements.txt``) and runs as a subprocess. It writes into a
database of its own: its ``PostgreSQLSink`` creates and alters the tables it writes (a ``timestamp``
column, a text or JSONB column per JSON field), which must not fight the project's tables of the
same names. A schema of its own in the bench's database is not enough: 3.28's sink looks up a
table's primary key by constraint name across all schemas, finds ``<table>_pkey`` twice and refuses
to write (``PostgresSQLSinkInvalidPK``).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psycopg
from _cpu import CpuMeter
from psycopg.conninfo import conninfo_to_dict

from ingest.testing.postgres import fresh_database
from schema import EVENT_TABLES
from schema.dialects import POSTGRES as dialect

QUIX_PYTHON = Path(__file__).resolve().parents[1] / ".venv-quix" / "bin" / "python"
CONSUMER = Path(__file__).resolve().parent / "quix" / "consumer.py"
QUIX_SCHEMA = "public"  # in its own database
DEADLINE_S = 900  # a stuck consumer is killed: the bench must end


@dataclass(frozen=True)
class QuixRun:
    version: str
    rate: float  # events/s, end of the first checkpoint to the last committed row
    join: float  # seconds from the start of the run to the end of the first checkpoint
    rate_from_first_row: float  # events/s, first committed row (a checkpoint's first write) to the last
    cpu_per_1k: float  # CPU seconds per 1,000 events: the consumer process + Tansu


def available() -> bool:
    return QUIX_PYTHON.exists()


def _expect(child: subprocess.Popen[str], key: str, errors: IO[bytes]) -> dict[str, Any]:
    """The consumer's next JSON line holding ``key``; its stderr if it ended first."""
    assert child.stdout is not None
    for text in child.stdout:
        if text.startswith("{") and key in (message := json.loads(text)):
            return message  # type: ignore[no-any-return]
    errors.seek(0)  # not reaped yet: a CpuMeter around this call still reads its /proc entry
    tail = errors.read().decode(errors="replace")[-3000:]
    raise RuntimeError(f"the Quix consumer ended before {key!r}:\n{tail}")


def quix_throughput(broker: str, topic: str, total: int, tansu_pid: int, session_timeout_ms: int) -> QuixRun:
    """Consume ``topic`` (``total`` events) with a fresh group into a database of its own."""
    with fresh_database("quix") as url:
        return _run(broker, topic, url, total, tansu_pid, session_timeout_ms)


def _run(broker: str, topic: str, url: str, total: int, tansu_pid: int, session_timeout_ms: int) -> QuixRun:
    settings = {
        "broker": broker,
        "topic": topic,
        "group": f"quix-{uuid.uuid4().hex[:8]}",
        "consumer": {"session.timeout.ms": session_timeout_ms},
        "total": total,
        "schema": QUIX_SCHEMA,
        "tables": {
            str(category): {"name": spec.name, "key": list(spec.primary_key)}
            for category, spec in EVENT_TABLES.items()
        },
        "postgres": {  # PostgreSQLSink takes these five, a password even when it is empty
            "password": "",
            **{
                key: value
                for key, value in conninfo_to_dict(url).items()
                if key in ("host", "port", "dbname", "user", "password")
            },
        },
    }
    command = [str(QUIX_PYTHON), str(CONSUMER)]
    pipe = subprocess.PIPE
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=errors, text=True) as child,
    ):
        assert child.stdin is not None
        watchdog = threading.Timer(DEADLINE_S, child.kill)
        watchdog.start()
        try:
            child.stdin.write(json.dumps(settings) + "\n")
            child.stdin.flush()
            _expect(child, "ready", errors)
            # The consumer and Tansu, group join included, interpreter start-up and imports not.
            with CpuMeter(tansu_pid, child.pid, own=False) as cpu:
                child.stdin.write("go\n")
                child.stdin.flush()
                report = _expect(child, "last", errors)
            child.stdin.close()
            child.wait()
        finally:
            watchdog.cancel()
    landed = _count_rows(url)
    if landed != total:
        raise RuntimeError(f"Quix Streams committed {landed} rows in {QUIX_SCHEMA}, expected {total}")
    first_row, first_rows = report["first_write"]
    return QuixRun(
        version=report["version"],
        rate=_rate(total - report["first_rows"], report["last"] - report["first"]),
        join=report["first"] - report["go"],
        rate_from_first_row=_rate(total - first_rows, report["last"] - first_row),
        cpu_per_1k=cpu.per_thousand(total),
    )


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else 0.0


def _count_rows(url: str) -> int:
    landed = 0
    with psycopg.connect(url) as conn:
        for spec in EVENT_TABLES.values():
            table = dialect.qualified(spec.name, QUIX_SCHEMA)
            landed += conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()[0]  # type: ignore[index]
    return landed
