"""(a) The sink into Postgres vs. a raw psycopg COPY -> temp table + INSERT ... ON CONFLICT loader.

The baseline gets the rows pre-built (no JSON parsing, no validation) and loads them in batches
in one thread, as a hand-written loader would. The sink starts from raw bytes: it validates,
builds the rows, dedups and writes them through its writer thread. Goal: the sink at >= 1.0x the
baseline. Run: ``.venv/bin/python bench/bench_sink.py [EVENTS]``.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from _cpu import CpuMeter, busy_line, cpu_line
from _ingest import line, make_events
from psycopg import sql
from psycopg.types.json import set_json_dumps

from ingest.decoding import worker_count
from ingest.messages import Message
from ingest.runtime import tune_for_throughput
from ingest.sink import Sink
from ingest.testing.postgres import fresh_database
from ingest.writers.postgres import PostgresWriter
from schema import EVENT_TABLES, TableSpec, event_row, parse_event
from schema.dialects import POSTGRES as dialect

BATCH = 5000


def truncate(url: str) -> None:
    with psycopg.connect(url) as conn:
        for spec in EVENT_TABLES.values():
            conn.execute(f"TRUNCATE {dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE)}".encode())


def baseline(url: str, bodies: list[bytes], meter: CpuMeter) -> float:
    """Pre-built rows, COPY BINARY into a temp table, INSERT ... ON CONFLICT DO NOTHING, per batch."""
    now = datetime.now(UTC)
    batches: list[dict[TableSpec, list[tuple[Any, ...]]]] = []
    for start in range(0, len(bodies), BATCH):
        grouped: dict[TableSpec, list[tuple[Any, ...]]] = {}
        for body in bodies[start : start + BATCH]:
            event = parse_event(body)
            grouped.setdefault(EVENT_TABLES[event.category], []).append(event_row(event, now))
        batches.append(grouped)
    with psycopg.connect(url) as conn:
        set_json_dumps(lambda value: value, context=conn)
        oids = {}
        for spec in EVENT_TABLES.values():
            target = sql.SQL(dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE))
            conn.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                    sql.Identifier(f"tmp_{spec.name}"), target
                )
            )
            names = [dialect.TYPES[column.type] for column in spec.columns]
            oids[spec.name] = [conn.execute("SELECT %s::regtype::oid", (n,)).fetchone()[0] for n in names]  # type: ignore[index]
        conn.commit()
        with meter:
            started = time.perf_counter()
            for grouped in batches:
                with conn.transaction(), conn.cursor() as cursor:
                    for spec, rows in grouped.items():
                        temp = sql.Identifier(f"tmp_{spec.name}")
                        with cursor.copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(temp)) as copy:
                            copy.set_types(oids[spec.name])
                            for row in rows:
                                copy.write_row(row)
                        target = sql.SQL(dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE))
                        insert = "INSERT INTO {} SELECT * FROM {} ON CONFLICT (event_id) DO NOTHING"
                        cursor.execute(sql.SQL(insert).format(target, temp))
            elapsed = time.perf_counter() - started
        return len(bodies) / elapsed


def sink(url: str, bodies: list[bytes], meter: CpuMeter, workers: int) -> float:
    writer = PostgresWriter(url, dialect.DEFAULT_NAMESPACE)
    messages = [Message(body, f"bench:{index}") for index, body in enumerate(bodies)]
    # Started before the clock: its decode workers take about a second to import the schema, a
    # cost of starting the service, not of writing these events.
    running = Sink(
        writer, batch_size=BATCH, flush_interval_s=0.5, max_buffer_bytes=64 << 20, decode_workers=workers
    ).start()
    running.decoder.start(wait=True)
    with meter:
        started = time.perf_counter()
        for start in range(0, len(messages), BATCH):
            running.add(messages[start : start + BATCH])
        running.close()
        elapsed = time.perf_counter() - started
    writer.close()
    assert running.metrics.total("ingest_rows_written") == len(bodies)
    return len(bodies) / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    bodies = make_events(count)
    tune_for_throughput()  # what the service does at start; the baseline runs with it too
    size = sum(map(len, bodies)) / count
    print(f"(a) sink vs raw COPY->temp+ON CONFLICT, {count:,} events, {size:.0f} B each")
    with fresh_database("bench") as url:
        PostgresWriter(url, dialect.DEFAULT_NAMESPACE).provision()
        base_cpu, our_cpu = CpuMeter(), CpuMeter()
        base = baseline(url, bodies, base_cpu)
        truncate(url)
        workers = worker_count(int(sys.argv[2]) if len(sys.argv) > 2 else None)
        ours = sink(url, bodies, our_cpu, workers)
    print(line("baseline: pre-built rows, COPY->temp + ON CONFLICT", base, "rows/s"))
    print(line("sink: raw bytes -> validated rows -> Postgres", ours, "events/s", base, ">= 1.0x"))
    print(cpu_line("baseline CPU (this process; rows pre-built outside)", base_cpu.per_thousand(count)))
    base_per_1k = base_cpu.per_thousand(count)
    print(cpu_line("sink CPU (this process, all threads)", our_cpu.per_thousand(count), base_per_1k))
    print(busy_line("machine busy during the baseline (Postgres included)", base_cpu))
    print(busy_line("machine busy during the sink (Postgres included)", our_cpu))


if __name__ == "__main__":
    main()
