"""(b) Kafka -> Postgres end to end with one consumer: events/s, and produce -> committed-row latency.

Throughput: the topic is filled first, then each contender consumes all of it with a fresh
consumer group from the earliest offset; the rate is measured from the first committed row to the
last (group join time excluded, it is printed separately). Two baselines, same run, same events,
same Tansu:

- a minimal hand-written consumer, in this process: batches of 5,000, validation, COPY -> temp +
  ON CONFLICT, offsets committed after the transaction, decoding and writing in turn. Goal >= 2.0x.
- Quix Streams 3.28 (``bench/quix/consumer.py``, a subprocess in its own virtualenv ``.venv-quix``
  since it pins another confluent-kafka): an ``Application`` routing each event by ``category`` to
  one ``PostgreSQLSink`` per family table, ``on_conflict_do_nothing=True`` with the table's key
  (``event_id``) as primary key, the same session timeout as the others, Quix's defaults otherwise
  (a checkpoint every 5 s). Quix does no
  validation and keeps no dead letters: it writes whatever JSON arrives. Its sink creates and
  alters its own tables, so they live in a database of their own (``bench/_quix.py``). Quix
  commits per checkpoint, so its rate counts from the end of the first checkpoint (its rows left
  out) to the last committed row. Goal >= 3x Quix.

CPU seconds per 1,000 events: this process and Tansu for ours and the hand-written consumer, the
Quix process (after its imports) and Tansu for Quix; group join included, Postgres's backends not.

Latency: events are produced at a steady rate while the service runs; the time from handing an
event to the producer to the commit of the batch holding its row (the batcher's ``written``),
after one second of warm-up traffic at the same rate.

Run: ``make bench`` (makes ``.venv-quix``), or once it exists
``.venv/bin/python bench/bench_kafka.py [EVENTS] [RATE]`` (without ``.venv-quix`` Quix is skipped).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from _cpu import CpuMeter, MachineMeter, busy_line, cpu_line
from _ingest import line, make_events, produce
from _quix import QuixRun, available, quix_throughput
from confluent_kafka import Consumer, Producer

from ingest.batcher import Batch
from ingest.config import load_settings
from ingest.runtime import tune_for_throughput
from ingest.service import Service
from ingest.testing import tansu
from ingest.testing.postgres import fresh_database
from ingest.testing.tansu import create_topic
from ingest.writers.base import Row
from ingest.writers.postgres import PostgresWriter
from schema import EVENT_TABLES, TableSpec, event_row, parse_event
from schema.dialects import POSTGRES as dialect

PARTITIONS = 3
BATCH = 5000
# Every consumer here, Quix's too: Tansu holds a fresh group's join for about half of it
# (Quix's default, librdkafka's 45 s, made its join take ~23 s).
SESSION_TIMEOUT_MS = 6000


def truncate(url: str) -> None:
    with psycopg.connect(url) as conn:
        for spec in EVENT_TABLES.values():
            conn.execute(f"TRUNCATE {dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE)}".encode())


def settings(broker: str, topic: str, url: str, **extra: Any) -> Any:
    return load_settings(
        EVENT_BUS_DRIVER="kafka",
        EVENT_BUS_KAFKA_TOPIC=topic,
        KAFKA_BROKERS=broker,
        EVENT_BUS_KAFKA_GROUP=f"bench-{uuid.uuid4().hex[:8]}",
        EVENT_BUS_KAFKA_SESSION_TIMEOUT_MS=SESSION_TIMEOUT_MS,
        WAREHOUSE_DATABASE_URL=url,
        **extra,
    )


def service_throughput(
    broker: str, topic: str, url: str, total: int, meter: CpuMeter, window: MachineMeter
) -> tuple[float, float]:
    """The service (its decode workers included, ``INGEST_DECODE_WORKERS`` as configured); CPU is
    metered from the end of ``Service.start``, after the workers' start-up (imports, ~1 s each);
    ``window`` (how busy the machine is) from the first committed row to the last."""
    running = Service(settings(broker, topic, url, EVENT_SINK_BATCH_SIZE=BATCH))
    started = time.perf_counter()
    running.start()
    running.sink.decoder.start(wait=True)
    first = None
    with meter:
        while (written := running.metrics.total("ingest_rows_written")) < total:
            if first is None and written:
                first = (time.perf_counter(), written)
                window.__enter__()
            time.sleep(0.005)
        finished = time.perf_counter()
        window.__exit__(None, None, None)
        running.stop()
    if first is None:  # a small run landed in one batch: count from the start, join included
        first = (started, 0)
    return (total - first[1]) / (finished - first[0]), first[0] - started


def baseline_throughput(broker: str, topic: str, url: str, total: int, window: MachineMeter) -> float:
    """The hand-written consumer: decode a batch, then write it, then commit offsets; in turn."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": f"baseline-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
        }
    )
    consumer.subscribe([topic])
    writer = PostgresWriter(url, dialect.DEFAULT_NAMESPACE)
    writer._safe_batches = 1 << 30  # the COPY -> temp + ON CONFLICT path only, as the baseline writes
    done = 0
    first = None
    while done < total:
        records = consumer.consume(num_messages=BATCH, timeout=0.5)
        if not records:
            continue
        if first is None:
            first = (time.perf_counter(), done)
            window.__enter__()
        now = datetime.now(UTC)
        grouped: dict[TableSpec, list[Row]] = {}
        for record in records:
            event = parse_event(record.value() or b"")
            grouped.setdefault(EVENT_TABLES[event.category], []).append(event_row(event, now))
        writer.write(grouped)
        consumer.commit(asynchronous=False)
        done += len(records)
    rate = (total - first[1]) / (time.perf_counter() - first[0]) if first else 0.0
    window.__exit__(None, None, None)
    consumer.close()
    writer.close()
    return rate


def latency(broker: str, url: str, rate: int, seconds: float) -> tuple[float, float, float]:
    """p50, p99 and max seconds from produce() to the commit of the row, at ``rate`` events/s."""
    topic = f"latency-{uuid.uuid4().hex[:8]}"
    create_topic(broker, topic, PARTITIONS)
    running = Service(settings(broker, topic, url, EVENT_SINK_FLUSH_INTERVAL_MS=100))
    committed: dict[Any, float] = {}
    written = running.sink.batcher.written

    def timed_written(batch: Batch) -> None:
        """The batcher hears of each batch right after its transaction commits."""
        now = time.perf_counter()
        for entries in batch.entries.values():
            for key in entries:
                committed[uuid.UUID(bytes=key)] = now
        written(batch)

    running.sink.batcher.written = timed_written  # type: ignore[method-assign]
    running.start()
    producer = Producer(
        {"bootstrap.servers": broker, "acks": "all", "enable.idempotence": True, "linger.ms": 5}
    )
    sent: dict[Any, float] = {}
    per_tick = max(1, rate // 100)  # a burst every 10 ms

    def paced(bodies: list[bytes], ids: list[Any]) -> None:
        started = time.perf_counter()
        for index in range(0, len(bodies), per_tick):
            target = started + index / rate
            while (now := time.perf_counter()) < target:
                time.sleep(min(0.001, target - now))
            for body, event_id in zip(
                bodies[index : index + per_tick], ids[index : index + per_tick], strict=True
            ):
                sent[event_id] = time.perf_counter()
                producer.produce(topic, body)
            producer.poll(0)
        producer.flush(30)

    def wait_committed(ids: list[Any]) -> None:
        deadline = time.perf_counter() + 60
        while any(event_id not in committed for event_id in ids) and time.perf_counter() < deadline:
            time.sleep(0.05)

    # Warm-up, not measured: the group join, then one second at the rate (on Tansu the first
    # second after an idle spell runs up to ~600 ms behind while fetches ramp up).
    warmup = make_events(rate, seed=99)
    warmup_ids = [parse_event(body).event_id for body in warmup]
    paced(warmup[:10], warmup_ids[:10])
    wait_committed(warmup_ids[:10])
    paced(warmup[10:], warmup_ids[10:])
    bodies = make_events(int(rate * seconds), seed=11)
    ids = [parse_event(body).event_id for body in bodies]
    # The bench shares the process with the service: collect its own set-up garbage now, or a
    # full collection of it lands inside the measured window and stalls every thread.
    gc.collect()
    gc.freeze()
    paced(bodies, ids)
    wait_committed(ids)
    running.stop()
    delays = sorted(committed[event_id] - sent[event_id] for event_id in ids if event_id in committed)
    assert len(delays) == len(ids), f"{len(ids) - len(delays)} events never committed"
    p50 = statistics.median(delays)
    p99 = delays[int(len(delays) * 0.99) - 1]
    return p50, p99, delays[-1]


def print_quix(quix: QuixRun | None, ours: float, our_per_1k: float) -> None:
    if quix is None:
        print("Quix Streams: skipped, no .venv-quix (`make bench` makes it)")
        return
    label = f"Quix Streams {quix.version}, PostgreSQLSink per family table"
    print(line(label, quix.rate, "events/s"))
    print(line("  (group join and first checkpoint, not counted)", quix.join, "s"))
    print(line("  (counted from its first committed row instead)", quix.rate_from_first_row, "events/s"))
    print(line("ingest service vs Quix Streams", ours, "events/s", quix.rate, ">= 3x Quix"))
    print(cpu_line("Quix CPU (its process + Tansu)", quix.cpu_per_1k))
    print(cpu_line("service CPU vs Quix's", our_per_1k, quix.cpu_per_1k))


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    tune_for_throughput()
    bodies = make_events(total)
    print(f"(b) Kafka (Tansu) -> Postgres, one consumer, {total:,} events of ~{len(bodies[0])} B")
    with tansu.broker() as running, fresh_database("bench") as url:
        broker = running.address
        PostgresWriter(url, dialect.DEFAULT_NAMESPACE).provision()
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        create_topic(broker, topic, PARTITIONS)
        produced = produce(broker, topic, bodies)
        # CPU of this process and of Tansu, group join included, Postgres's backends not.
        base_busy, our_busy = MachineMeter(), MachineMeter()
        with CpuMeter(running.pid) as base_cpu:
            base = baseline_throughput(broker, topic, url, total, base_busy)
        truncate(url)
        our_cpu = CpuMeter(running.pid)
        ours, join = service_throughput(broker, topic, url, total, our_cpu, our_busy)
        truncate(url)
        quix = quix_throughput(broker, topic, total, running.pid, SESSION_TIMEOUT_MS) if available() else None
        p50, p99, worst = latency(broker, url, rate, 5.0)
    base_per_1k, our_per_1k = base_cpu.per_thousand(total), our_cpu.per_thousand(total)
    print(line("produce, acks=all (for reference)", produced, "events/s"))
    print(line("baseline: hand-written consumer, decode then write", base, "events/s"))
    print(line("ingest service, kafka driver, one consumer", ours, "events/s", base, ">= 2.0x"))
    print(line("  (group join before the first row, not counted)", join, "s"))
    print(cpu_line("baseline CPU (this process + Tansu)", base_per_1k))
    print(cpu_line("service CPU (this process, its decode workers + Tansu)", our_per_1k, base_per_1k))
    print(busy_line("machine busy, baseline, first row to last (all processes)", base_busy))
    print(busy_line("machine busy, service, first row to last (all processes)", our_busy))
    print_quix(quix, ours, our_per_1k)
    print(f"latency produce -> committed row at {rate:,} events/s (flush interval 100 ms, steady state):")
    print(line("  p50", p50 * 1000, "ms"))
    print(line("  p99", p99 * 1000, "ms"))
    print(line("  max", worst * 1000, "ms"))


if __name__ == "__main__":
    main()
