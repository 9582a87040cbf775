"""(f) ``ingest replay`` of one JSONL file into the embedded DuckDB vs. the same replay into Postgres.

The embedded default must not be the slow path: goal DuckDB >= 1.0x Postgres, same file, same run.
Each replay is its own ``python -m ingest.cli replay FILE --quiet`` process, as a user runs it
(interpreter start and imports included, tables provisioned beforehand by ``ingest provision``,
not timed). Per side: events/s, CPU seconds per 1,000 events (its rusage when it is reaped,
``os.wait4``: all its threads and its decode workers, which it reaps) and the peak of the summed
RSS of the process and its decode workers (``_memory.TreePeak``, sampled every 50 ms).
Postgres's server backends are not counted (the server is shared); DuckDB works inside the
process, so its side carries its engine's CPU too.

Then the streaming check of goal (d): ``ingest replay`` into Postgres of a ~200 MB file that this
benchmark generates into a temporary directory; its peak RSS against the 250 MB goal (the file must
be streamed, never held).

Run: ``.venv/bin/python bench/bench_replay_duckdb.py [EVENTS] [LARGE_FILE_MB]`` (defaults 50,000 and
200; a small LARGE_FILE_MB makes a quick smoke run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from _cpu import cpu_line
from _ingest import iter_events, line
from _memory import TreePeak

from ingest.testing.postgres import fresh_database
from schema import EVENT_TABLES
from schema.dialects import DUCKDB, POSTGRES

RSS_GOAL_MB = 250


@dataclass(frozen=True)
class Replay:
    """What one replay process did: events/s, CPU s per 1,000 events, peak RSS in MB (the process
    and its workers, summed; at least the process's own peak)."""

    rate: float
    cpu_per_1k: float
    peak_mb: float


def write_file(path: Path, count: int, seed: int) -> int:
    """``count`` events as JSONL, written as they are made; returns the file's size in bytes."""
    with path.open("wb") as handle:
        for body in iter_events(count, seed):
            handle.write(body + b"\n")
    return path.stat().st_size


def replay(path: Path, url: str, events: int) -> Replay:
    env = {**os.environ, "WAREHOUSE_DATABASE_URL": url}
    command = [sys.executable, "-m", "ingest.cli"]
    subprocess.run([*command, "provision"], env=env, check=True, capture_output=True)
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "replay", str(path), "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would fold in the earlier children).
        with TreePeak(process.pid) as peak:
            _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"ingest replay exited {process.returncode}: {errors.read()[-2000:]!r}")
    stored = stored_rows(url)
    if stored != events:
        raise RuntimeError(f"ingest replay stored {stored} rows of {events} events")
    cpu = usage.ru_utime + usage.ru_stime
    return Replay(events / elapsed, cpu * 1000 / events, max(peak.rss_mb, usage.ru_maxrss / 1024))


def stored_rows(url: str) -> int:
    """Rows in the event tables at ``url``: a replay that dropped events is not a fast replay."""
    total = 0
    if url.startswith("duckdb://"):
        with duckdb.connect(url.removeprefix("duckdb://")) as conn:
            for spec in EVENT_TABLES.values():
                table = DUCKDB.qualified(spec.name, DUCKDB.DEFAULT_NAMESPACE)
                total += int((conn.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,))[0])
        return total
    with psycopg.connect(url) as conn:
        for spec in EVENT_TABLES.values():
            table = POSTGRES.qualified(spec.name, POSTGRES.DEFAULT_NAMESPACE)
            total += int((conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone() or (0,))[0])
    return total


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    large_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as scratch:
        path = Path(scratch) / "events.jsonl"
        size = write_file(path, count, seed=7)
        print(
            f"(f) ingest replay into DuckDB vs Postgres, {count:,} events, one {size / 1e6:.1f} MB JSONL file"
        )
        with fresh_database("bench") as url:
            pg = replay(path, url, count)
        duck = replay(path, f"duckdb:///{Path(scratch) / 'warehouse.duckdb'}", count)
        print(line("baseline: ingest replay into Postgres", pg.rate, "events/s"))
        print(
            line(
                "ingest replay into DuckDB (the embedded default)", duck.rate, "events/s", pg.rate, ">= 1.0x"
            )
        )
        print(cpu_line("Postgres replay CPU (the replay process)", pg.cpu_per_1k))
        print(
            cpu_line(
                "DuckDB replay CPU (the replay process, engine included)", duck.cpu_per_1k, pg.cpu_per_1k
            )
        )
        print(line("Postgres replay peak RSS (process + workers)", pg.peak_mb, "MB"))
        print(line("DuckDB replay peak RSS (process + workers)", duck.peak_mb, "MB", pg.peak_mb))
        path.unlink()

        # The large file: as many events as make LARGE_FILE_MB at the average line size seen above.
        large_count = max(1, int(large_mb * 1e6 / (size / count)))
        large = Path(scratch) / "large.jsonl"
        large_size = write_file(large, large_count, seed=13)
        print(f"(d) ingest replay into Postgres of a {large_size / 1e6:.0f} MB file ({large_count:,} events)")
        with fresh_database("bench") as url:
            big = replay(large, url, large_count)
        print(line("ingest replay into Postgres, large file", big.rate, "events/s"))
        print(cpu_line("  CPU (the replay process)", big.cpu_per_1k))
        print(
            line(
                "  peak RSS (replay process + workers)",
                big.peak_mb,
                "MB",
                goal=f"<= {RSS_GOAL_MB} MB",
            )
        )


if __name__ == "__main__":
    main()
