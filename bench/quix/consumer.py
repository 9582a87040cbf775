"""Quix Streams' side of bench (b): the bench's topic into Postgres, one ``PostgreSQLSink`` per family.

Run only by ``bench/bench_kafka.py`` (through ``bench/_quix.py``) with ``.venv-quix/bin/python``:
quixstreams pins another confluent-kafka than the project, so it has its own virtualenv
(``bench/quix/requirements.txt``, made by ``make bench``) and this script cannot import the
project. The parent sends the settings as one JSON line on stdin (never on the command line, so a
database password would not show in ``ps``)::

    {"broker": "...", "topic": "...", "group": "...", "consumer": {"session.timeout.ms": 6000},
     "total": 200000, "schema": "public",
     "tables": {"<category>": {"name": "<table>", "key": ["event_id"]}, ...},
     "postgres": {"host": "...", "port": 5432, "dbname": "...", "user": "...", "password": "..."}}

Table names and keys come from the project's schema module, in the parent. Each event is routed by
its ``category`` to its family's sink, which inserts on conflict do nothing on the key (Quix makes it
the table's primary key). Quix validates nothing and keeps no dead letters: whatever JSON arrives
is written as it is.

Handshake, one JSON object per stdout line: ``{"ready": ...}`` once imported and built; then a line
on stdin starts the run (so the parent's CPU meter leaves out the interpreter's start-up). Once
``total`` rows are committed the application stops and prints ``Timeline.report()``
(``time.monotonic()``, one clock for all processes on Linux), then waits for stdin to close, so
that the parent can read this process's CPU time while it is still alive.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import quixstreams
from quixstreams import Application
from quixstreams.sinks.community.postgresql import PostgreSQLSink


class Timeline:
    """When rows were committed: each sink's ``write`` returns once its transaction is committed.

    Quix commits per checkpoint (every 5 s by default): each sink writes one batch per partition,
    one after the other, then the offsets are committed. The rate counts from the end of the first
    checkpoint, its rows left out, as the bench counts ours from its first committed batch: the
    first checkpoint's processing happened before the window, so its writes must too. The first
    checkpoint ends at the write before a (sink, partition) writes a second time.
    """

    def __init__(self, total: int, stop: Callable[[], None]) -> None:
        self.total = total
        self.stop = stop
        self.written = 0
        self.go = 0.0
        self.first_write: tuple[float, int] | None = None
        self.first_checkpoint: tuple[float, int] | None = None
        self.last = 0.0
        self._seen: set[tuple[str, int]] = set()

    def timed(self, write: Callable[[Any], None], sink: str) -> Callable[[Any], None]:
        def timed_write(batch: Any) -> None:
            write(batch)
            now = time.monotonic()
            if self.first_checkpoint is None:
                if (sink, batch.partition) in self._seen:
                    self.first_checkpoint = (self.last, self.written)
                self._seen.add((sink, batch.partition))
            self.first_write = self.first_write or (now, batch.size)
            self.last = now
            self.written += batch.size
            if self.written >= self.total:
                self.stop()  # the loop ends after this checkpoint is committed

        return timed_write

    def report(self) -> dict[str, Any]:
        """Times from ``time.monotonic()``; with one checkpoint only, the window starts at ``go``."""
        first, first_rows = self.first_checkpoint or (self.go, 0)
        return {
            "version": quixstreams.__version__,
            "written": self.written,
            "go": self.go,
            "first_write": self.first_write,
            "first": first,
            "first_rows": first_rows,
            "last": self.last,
        }


def main() -> None:
    settings = json.loads(sys.stdin.readline())
    with tempfile.TemporaryDirectory() as state_dir:
        app = Application(
            broker_address=settings["broker"],
            consumer_group=settings["group"],
            auto_offset_reset="earliest",
            consumer_extra_config=settings["consumer"],
            state_dir=state_dir,
            loglevel="WARNING",
        )
        timeline = Timeline(settings["total"], app.stop)
        events = app.dataframe(app.topic(settings["topic"], value_deserializer="json"))
        for category, table in settings["tables"].items():
            sink = PostgreSQLSink(
                **settings["postgres"],
                table_name=table["name"],
                schema_name=settings["schema"],
                primary_key_columns=table["key"],
                on_conflict_do_nothing=True,
            )
            sink.write = timeline.timed(sink.write, table["name"])
            events[events["category"] == category].sink(sink)
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.readline()
        timeline.go = time.monotonic()
        app.run()
        print(json.dumps(timeline.report()), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
