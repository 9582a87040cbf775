"""The Snowflake writer vs. the fastest raw connector load into the same stand-in.

STAND-IN FIGURES: everything runs against fakesnow's server (Snowflake's HTTP protocol on DuckDB)
on this machine, through the real connector. They compare designs on one engine; they say
nothing about Snowflake's own speed, where each statement is a cloud-services round trip and the
COPY and MERGEs run on a warehouse that bills at least 60 s per resume.

- baseline: the same rows pre-encoded as the writer stages them (gzip NDJSON), one PUT + COPY per
  batch into a one-VARIANT-column table: no projection, no dedupe. fakesnow has no COPY
  transforms, MATCH_BY_COLUMN_NAME or ``write_pandas``; ``executemany`` runs row by row (measured
  on a slice, for scale).
- the writer through the sink: raw bytes -> validated rows -> PUT, COPY, MERGE per table.
- the same events again (every one a duplicate): what a redelivery costs.
- the latency of one 500-event batch through the writer, and the size the gzip file saves.

Run: ``.venv/bin/python bench/bench_snowflake.py [EVENTS]``.
"""

from __future__ import annotations

import gzip
import io
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import snowflake.connector
from _ingest import Batch, line, make_events, prebuilt, through_sink

from ingest.runtime import tune_for_throughput
from ingest.testing import fakesnow
from ingest.writers.snowflake import GZIP_LEVEL, SnowflakeWriter
from ingest.writers.snowflake_staging import encoder
from schema import EVENT_TABLES

BATCH = 5000


@contextmanager
def server() -> Iterator[str]:
    """fakesnow's server on a free port; its staged files in a temporary directory."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-fakesnow-") as workdir,
        fakesnow.server(Path(workdir)) as port,
    ):
        yield f"127.0.0.1:{port}"


def _args(address: str, database: str) -> dict[str, Any]:
    host, port = address.split(":")
    return {
        "user": "bench",
        "password": "bench",
        "account": "stand-in",
        "database": database,
        "schema": "ANALYTICS",
        "host": host,
        "port": int(port),
        "protocol": "http",
    }


def fresh_writer(address: str) -> SnowflakeWriter:
    host, port = address.split(":")
    database = f"BENCH_{uuid.uuid4().hex[:10].upper()}"
    url = f"snowflake://bench:bench@stand-in/{database}/ANALYTICS?host={host}&port={port}&protocol=http"
    writer = SnowflakeWriter(url, "ANALYTICS")
    writer.provision()
    return writer


def staged(grouped: Batch) -> bytes:
    return b"".join(encoder(spec)(row) for spec, rows in grouped.items() for row in rows)


def baseline(address: str, batches: list[Batch]) -> float:
    """Pre-encoded gzip NDJSON, one PUT + COPY per batch into a VARIANT table."""
    files = [gzip.compress(staged(grouped), GZIP_LEVEL) for grouped in batches]
    conn = snowflake.connector.connect(**_args(address, f"RAW_{uuid.uuid4().hex[:10].upper()}"))
    with conn.cursor() as cursor:
        cursor.execute('CREATE TABLE "RAW" ("V" VARIANT)')
        cursor.execute('CREATE STAGE "RAW_STAGE"')
        started = time.perf_counter()
        for index, data in enumerate(files):
            folder = f'@"RAW_STAGE"/{index}/'
            cursor.execute(
                f"PUT file://batch.ndjson.gz {folder} AUTO_COMPRESS = FALSE", file_stream=io.BytesIO(data)
            )
            cursor.execute(f'COPY INTO "RAW" FROM {folder} FILE_FORMAT = (TYPE = JSON) PURGE = TRUE')
        elapsed = time.perf_counter() - started
        cursor.execute('SELECT COUNT(*) FROM "RAW"')
        loaded = cursor.fetchone()
    conn.close()
    assert loaded is not None
    return int(loaded[0]) / elapsed


def executemany(address: str, grouped: Batch, rows: int = 300) -> float:
    """``executemany`` of one table's rows (fakesnow binds them one statement per row)."""
    spec, table_rows = next(iter(grouped.items()))
    sample = [tuple(str(v) if v is not None else None for v in row) for row in table_rows[:rows]]
    conn = snowflake.connector.connect(**_args(address, f"MANY_{uuid.uuid4().hex[:10].upper()}"))
    with conn.cursor() as cursor:
        columns = ", ".join(f'"C{i}" VARCHAR' for i in range(len(spec.columns)))
        cursor.execute(f'CREATE TABLE "MANY" ({columns})')
        placeholders = ", ".join("%s" for _ in spec.columns)
        started = time.perf_counter()
        cursor.executemany(f'INSERT INTO "MANY" VALUES ({placeholders})', sample)
        elapsed = time.perf_counter() - started
    conn.close()
    return len(sample) / elapsed


def stored(address: str, writer: SnowflakeWriter) -> int:
    conn = snowflake.connector.connect(**_args(address, writer.target.database))
    total = 0
    with conn.cursor() as cursor:
        for spec in EVENT_TABLES.values():
            cursor.execute(f'SELECT COUNT(*) FROM "ANALYTICS"."{spec.name.upper()}"')
            row = cursor.fetchone()
            total += int(row[0]) if row else 0
    conn.close()
    return total


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bodies = make_events(count)
    tune_for_throughput()
    size = sum(map(len, bodies)) / count
    print(f"Snowflake writer on fakesnow's server (STAND-IN figures), {count:,} events, {size:.0f} B each")
    print(f"batches of {BATCH}; other work on this 2-core machine moves these figures: run twice")
    batches = prebuilt(bodies, BATCH)
    raw_size = len(staged(batches[0]))
    packed = len(gzip.compress(staged(batches[0]), GZIP_LEVEL))
    print(
        f"staged file of one batch: {raw_size / 1e6:.2f} MB NDJSON, "
        f"{packed / 1e6:.2f} MB gzip ({raw_size / packed:.1f}x)"
    )
    with server() as address:
        base = baseline(address, batches)
        print(line("baseline: pre-built gzip NDJSON, PUT + COPY into a VARIANT table", base, "rows/s"))
        print(
            line(
                "executemany INSERT, 300 rows (row by row on fakesnow)",
                executemany(address, batches[0]),
                "rows/s",
                base,
            )
        )

        writer = fresh_writer(address)
        ours = through_sink(writer, bodies, BATCH)
        print(
            line(
                f"writer via sink: validate + PUT + COPY + MERGE ({stored(address, writer):,} rows)",
                ours,
                "events/s",
                base,
            )
        )
        again = through_sink(writer, bodies, BATCH)
        print(
            line(
                f"the same events again, all duplicates ({stored(address, writer):,} rows)",
                again,
                "events/s",
                base,
            )
        )
        writer.close()

        small = fresh_writer(address)
        latencies: list[float] = []
        for seed in range(5):
            batch = prebuilt(make_events(500, seed=seed + 11), BATCH)[0]
            started = time.perf_counter()
            small.write(batch)
            latencies.append(time.perf_counter() - started)
        small.close()
        print(
            f"one 500-event batch through the writer: median {statistics.median(latencies) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms (5 batches)"
        )


if __name__ == "__main__":
    main()
