"""(e) Pub/Sub -> Postgres with one service: events/s and CPU per 1,000 events. A STAND-IN FIGURE.

Google's Pub/Sub emulator stands in for Pub/Sub: a single JVM on this machine, sharing its two
cores with Postgres and this process, so the figures say how the driver compares with a plain
subscriber on the same emulator, not what Pub/Sub itself sustains. Both consumers pull the same
events (one subscription each, filled by one publish) and run in this process, one after the other:

- the ingest service with the pubsub driver (streaming pull, flow control from the sink's bound,
  acknowledgements after the warehouse commit);
- the baseline, a hand-written google-cloud-pubsub subscriber: its callback collects messages, the
  main thread decodes a batch of up to 5,000, writes it with the same idempotent writes (COPY into
  a temp table + INSERT ... ON CONFLICT DO NOTHING), then acks each message; in turn.

Events/s are measured from the first committed row to the last; CPU seconds per 1,000 events are
this process's (all threads, in ms) from subscribing to the last row; the emulator's and Postgres's CPU
are not included. Run: ``.venv/bin/python bench/bench_pubsub.py [EVENTS]``.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from _cpu import own_cpu_seconds
from _ingest import line, make_events

from ingest.config import load_settings
from ingest.runtime import tune_for_throughput
from ingest.service import Service
from ingest.testing.postgres import fresh_database
from ingest.testing.pubsub_emulator import create_subscription, create_topic, emulator, publish
from ingest.writers.base import Row
from ingest.writers.postgres import PostgresWriter
from schema import EVENT_TABLES, TableSpec, event_row, parse_event
from schema.dialects import POSTGRES as dialect

PROJECT = "bench-project"
BATCH = 5000


def truncate(url: str) -> None:
    with psycopg.connect(url) as conn:
        for spec in EVENT_TABLES.values():
            conn.execute(f"TRUNCATE {dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE)}".encode())


def service_run(topic: str, subscription: str, url: str, total: int) -> tuple[float, float]:
    """Events/s and CPU seconds per 1,000 events of the ingest service."""
    running = Service(
        load_settings(
            EVENT_BUS_DRIVER="pubsub",
            EVENT_BUS_PUBSUB_TOPIC=topic,
            EVENT_BUS_PUBSUB_SUBSCRIPTION=subscription,
            PUBSUB_PROJECT_ID=PROJECT,
            WAREHOUSE_DATABASE_URL=url,
            EVENT_SINK_BATCH_SIZE=BATCH,
        )
    )
    cpu = own_cpu_seconds()
    running.start()
    first = None
    while (written := running.metrics.total("ingest_rows_written")) < total:
        if first is None and written:
            first = (time.perf_counter(), written)
        time.sleep(0.005)
    finished = time.perf_counter()
    cpu = own_cpu_seconds() - cpu
    running.stop()
    assert first is not None
    return (total - first[1]) / (finished - first[0]), cpu / total * 1000


def baseline_run(subscription: str, url: str, total: int) -> tuple[float, float]:
    """The hand-written subscriber: collect, decode a batch, write it, ack it; in turn."""
    import google.cloud.pubsub_v1 as pubsub_v1

    arrived: list[Any] = []
    ready = threading.Condition()

    def collect(message: Any) -> None:
        with ready:
            arrived.append(message)
            ready.notify()

    writer = PostgresWriter(url, dialect.DEFAULT_NAMESPACE)
    writer._safe_batches = 1 << 30  # the COPY -> temp + ON CONFLICT path only
    subscriber: Any = pubsub_v1.SubscriberClient()
    cpu = own_cpu_seconds()
    future = subscriber.subscribe(
        f"projects/{PROJECT}/subscriptions/{subscription}",
        collect,
        flow_control=pubsub_v1.types.FlowControl(max_messages=4 * BATCH),
    )
    done = 0
    first = None
    while done < total:
        with ready:
            if not arrived:
                ready.wait(0.5)
            taken, arrived[:] = arrived[:BATCH], arrived[BATCH:]
        if not taken:
            continue
        first = first or (time.perf_counter(), done)
        now = datetime.now(UTC)
        grouped: dict[TableSpec, list[Row]] = {}
        for message in taken:
            event = parse_event(message.data)
            grouped.setdefault(EVENT_TABLES[event.category], []).append(event_row(event, now))
        writer.write(grouped)
        for message in taken:
            message.ack()
        done += len(taken)
    finished = time.perf_counter()
    cpu = own_cpu_seconds() - cpu
    future.cancel()
    future.result(timeout=30)
    subscriber.close()
    writer.close()
    assert first is not None
    return (total - first[1]) / (finished - first[0]), cpu / total * 1000


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    tune_for_throughput()
    bodies = make_events(total)
    print(f"(e) Pub/Sub -> Postgres, one consumer, {total:,} events of ~{len(bodies[0])} B")
    print("    STAND-IN FIGURE: Google's Pub/Sub emulator (one JVM on this 2-core machine), not Pub/Sub")
    with emulator() as _, fresh_database("bench") as url:
        PostgresWriter(url, dialect.DEFAULT_NAMESPACE).provision()
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        create_topic(PROJECT, topic)
        create_subscription(PROJECT, topic, f"{topic}-ingest")
        create_subscription(PROJECT, topic, f"{topic}-baseline")
        started = time.perf_counter()
        publish(PROJECT, topic, bodies)
        published = total / (time.perf_counter() - started)
        base, base_cpu = baseline_run(f"{topic}-baseline", url, total)
        truncate(url)
        ours, ours_cpu = service_run(topic, f"{topic}-ingest", url, total)
    print(line("publish to the emulator (for reference)", published, "events/s"))
    print(line("baseline: hand-written subscriber, decode then write", base, "events/s"))
    print(line("ingest service, pubsub driver, one consumer", ours, "events/s", base))
    base_ms, ours_ms = base_cpu * 1000, ours_cpu * 1000
    print(line("  CPU of this process per 1,000 events, baseline", base_ms, "ms"))
    print(line("  CPU of this process per 1,000 events, ingest service", ours_ms, "ms", base_ms))


if __name__ == "__main__":
    main()
