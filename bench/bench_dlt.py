"""(c) The same events loaded by dlt (the baseline) and by ``ingest replay`` into the same Postgres.

Both start from the same JSONL file and load idempotently on event_id: dlt with
``write_disposition="merge"`` and ``primary_key="event_id"``, one table per category (its default
normaliser flattens ``payload`` / ``context`` into columns); ingest through the replay command,
validation and dead letters included. Goal: ingest >= 5x dlt.
Needs the ``bench`` extra (dlt). Run: ``.venv/bin/python bench/bench_dlt.py [EVENTS]``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _cpu import CpuMeter, busy_line, cpu_line
from _ingest import line, make_events

from ingest.cli import main as ingest_main
from ingest.testing.postgres import fresh_database
from schema import table_for


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def load_with_dlt(url: str, path: Path, workdir: Path) -> float:
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt

    @dlt.resource(
        write_disposition="merge", primary_key="event_id", table_name=lambda e: table_for(e["category"]).name
    )
    def events() -> Iterator[dict[str, Any]]:
        with path.open("rb") as handle:
            for raw in handle:
                yield json.loads(raw)

    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        # dlt insists on a password; the local server trusts its users and ignores it.
        destination=dlt.destinations.postgres(credentials=url.replace("postgres@", "postgres:unused@", 1)),
        dataset_name="dlt_bench",
        pipelines_dir=str(workdir),
    )
    started = time.perf_counter()
    pipeline.run(events())
    return _lines(path) / (time.perf_counter() - started)


def load_with_ingest(url: str, path: Path) -> float:
    os.environ["WAREHOUSE_DATABASE_URL"] = url
    started = time.perf_counter()  # table creation counts, as it does inside dlt's run
    assert ingest_main(["provision"]) == 0
    assert ingest_main(["replay", str(path), "--quiet"]) == 0
    return _lines(path) / (time.perf_counter() - started)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    print(f"(c) ingest replay vs dlt (merge on event_id), {count:,} events from one JSONL file")
    with tempfile.TemporaryDirectory() as scratch, fresh_database("bench") as url:
        path = Path(scratch) / "events.jsonl"
        path.write_bytes(b"\n".join(make_events(count)) + b"\n")
        with CpuMeter() as dlt_cpu:  # dlt's extract, normalize and load run in this process
            dlt_rate = load_with_dlt(url, path, Path(scratch) / "dlt")
        with CpuMeter() as our_cpu:
            ours = load_with_ingest(url, path)
    print(line("baseline: dlt 1.31 pipeline.run, merge, default format", dlt_rate, "events/s"))
    print(line("ingest replay (validation, dead letters, idempotent)", ours, "events/s", dlt_rate, ">= 6x"))
    print(cpu_line("dlt CPU (this process and its children)", dlt_cpu.per_thousand(count)))
    print(cpu_line("ingest replay CPU", our_cpu.per_thousand(count), dlt_cpu.per_thousand(count)))
    print(busy_line("machine busy, dlt (Postgres included)", dlt_cpu))
    print(busy_line("machine busy, ingest replay (Postgres included)", our_cpu))


if __name__ == "__main__":
    main()
