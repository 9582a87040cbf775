"""The memory bus's spool: append + fsync per request, against the embedded DuckDB as the spool.

A 202 on the memory bus waits for the request's items to be durable, so the spool's append is on
every request's path. Two designs were open: an append-only file with fsync (``ingest.spool``),
or a table in an embedded DuckDB file committed per request. Both take the same requests (100
events each, the bytes as posted) and make them durable before returning; the figure is requests
and events per second, and the ratio of the file spool to DuckDB. Run:
``.venv/bin/python bench/bench_spool.py [REQUESTS]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb
from _ingest import make_events

from ingest.spool import Spool

PER_REQUEST = 100


def file_spool(directory: Path, requests: list[list[bytes]]) -> float:
    spool = Spool(directory / "spool", max_bytes=1 << 34)
    started = time.perf_counter()
    for items in requests:
        spool.append(items)
    elapsed = time.perf_counter() - started
    spool.close()
    return len(requests) / elapsed


def duckdb_spool(directory: Path, requests: list[list[bytes]]) -> float:
    conn = duckdb.connect(str(directory / "spool.duckdb"))
    conn.execute("CREATE TABLE spool (seq BIGINT, body BLOB)")
    sequence = 0
    started = time.perf_counter()
    for items in requests:
        conn.begin()
        conn.executemany(
            "INSERT INTO spool VALUES (?, ?)", [(sequence + i, item) for i, item in enumerate(items)]
        )
        conn.commit()
        sequence += len(items)
    elapsed = time.perf_counter() - started
    conn.close()
    return len(requests) / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    bodies = make_events(count * PER_REQUEST)
    requests = [bodies[i : i + PER_REQUEST] for i in range(0, len(bodies), PER_REQUEST)]
    with tempfile.TemporaryDirectory(dir=".") as first, tempfile.TemporaryDirectory(dir=".") as second:
        baseline = duckdb_spool(Path(first), requests)
        ours = file_spool(Path(second), requests)
    print(f"spool: {count} requests of {PER_REQUEST} events, durable before each return")
    for label, rate in (
        ("baseline: DuckDB table, a commit per request", baseline),
        ("ours: file + fsync", ours),
    ):
        print(f"{label:48} {rate:8,.0f} requests/s {rate * PER_REQUEST:10,.0f} events/s")
    print(f"ratio ours / baseline: {ours / baseline:.2f}x")


if __name__ == "__main__":
    main()
