"""Kafka (a real Tansu broker) into Postgres: end to end, crash recovery, rebalances, HTTP producing."""

from __future__ import annotations

import json
import os
import signal
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from starlette.testclient import TestClient

from ingest.bus import kafka as kafka_bus
from ingest.bus.kafka import KafkaBus
from ingest.http import create_app
from ingest.service import Service
from ingest.writers import open_writer
from schema import DEAD_LETTER_TABLE, EVENT_TABLES
from tests.ingest.conftest import TOPIC_PARTITIONS
from tests.ingest.restart import Progress, kill_mid_stream_then_restart
from tests.ingest.support import count, encode, event, events, free_port, rows, settings, wait_for

SESSION_TIMEOUT_MS = 6000
INVALID = [b"not json", encode(event(schema_version="1")), b'{"category": "x"}']
# The rule each invalid input is dead-lettered with (docs/contract.md), in INVALID's order.
INVALID_RULES = ["json_invalid", "int_type", "unknown_category"]


def kafka_env(broker: str, topic: str, pg_url: str, group: str) -> dict[str, str]:
    return {
        "EVENT_BUS_DRIVER": "kafka",
        "EVENT_BUS_KAFKA_TOPIC": topic,
        "KAFKA_BROKERS": broker,
        "EVENT_BUS_KAFKA_GROUP": group,
        "EVENT_BUS_KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
        "WAREHOUSE_DATABASE_URL": pg_url,
    }


def assert_dead_letters_are_the_invalid_inputs(pg_url: str) -> None:
    """Exactly the invalid inputs, each with its rule: a redelivered or duplicate valid event is
    skipped by the key, never dead-lettered."""
    stored = rows(pg_url, DEAD_LETTER_TABLE, "raw_body, error_rule")
    assert sorted((bytes(body), rule) for body, rule in stored) == sorted(
        zip(INVALID, INVALID_RULES, strict=True)
    )


def provisioned(pg_url: str) -> None:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url))
    writer.provision()
    writer.close()


def produce(broker: str, topic: str, bodies: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": broker, "acks": "all", "enable.idempotence": True})
    for body in bodies:
        producer.produce(topic, body)
        producer.poll(0)
    assert producer.flush(30) == 0


def event_rows(pg_url: str) -> int:
    return sum(count(pg_url, spec) for spec in EVENT_TABLES.values())


def committed_total(broker: str, topic: str, group: str) -> int:
    """Sum of the group's committed offsets: with one offset per message, how many are acknowledged."""
    consumer = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(TOPIC_PARTITIONS)], timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def owned(running: Service) -> frozenset[int]:
    assert isinstance(running.bus, KafkaBus)
    return running.bus.assigned


def service(broker: str, topic: str, pg_url: str, group: str, **overrides: Any) -> Service:
    env = kafka_env(broker, topic, pg_url, group)
    env.update({key: str(value) for key, value in overrides.items()})
    return Service(settings(**env))


def test_kafka_to_postgres_end_to_end(broker: str, topic: str, pg_url: str) -> None:
    provisioned(pg_url)
    valid = [encode(body) for body in events(3000)]
    produce(broker, topic, valid[:1500] + INVALID + valid[1500:] + valid[:100])  # with redeliveries
    group = f"g-{uuid.uuid4().hex[:8]}"
    running = service(broker, topic, pg_url, group)
    running.start()
    try:
        wait_for(lambda: event_rows(pg_url) == 3000, timeout=60, what="3000 events in Postgres")
        wait_for(lambda: count(pg_url, DEAD_LETTER_TABLE) == 3, timeout=10, what="3 dead letters")
    finally:
        running.stop()
    assert_dead_letters_are_the_invalid_inputs(pg_url)
    origins = sorted(origin for (origin,) in rows(pg_url, DEAD_LETTER_TABLE, "origin"))
    assert all(origin.startswith(f"kafka:{topic}/") for origin in origins)
    assert committed_total(broker, topic, group) == 3000 + 3 + 100


def test_sigkill_mid_stream_then_restart_lands_every_event_exactly_once(
    broker: str, topic: str, pg_url: str
) -> None:
    provisioned(pg_url)
    total = 30_000
    valid = [encode(body) for body in events(total)]
    produce(broker, topic, valid[:10_000] + INVALID + valid[10_000:])
    group = f"g-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **kafka_env(broker, topic, pg_url, group),
        "EVENT_SINK_BATCH_SIZE": "100",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "20",
        "INGEST_PORT": str(free_port()),
    }
    progress = Progress(
        rows=lambda: event_rows(pg_url),
        dead_letters=lambda: count(pg_url, DEAD_LETTER_TABLE),
        committed=lambda: committed_total(broker, topic, group),
    )
    second = kill_mid_stream_then_restart(
        env,
        progress,
        kill_after_rows=1000,
        events=total,
        dead_letters=len(INVALID),
        first_timeout=60,
        finish_timeout=120,
    )
    # Exactly the produced events: none lost, none invented (the primary key rules out doubles).
    stored = {
        str(event_id) for spec in EVENT_TABLES.values() for (event_id,) in rows(pg_url, spec, "event_id")
    }
    assert stored == {json.loads(raw)["event_id"] for raw in valid}
    assert_dead_letters_are_the_invalid_inputs(pg_url)
    # uvicorn re-raises the signal after its graceful shutdown, so the status is "terminated".
    assert second.returncode in (0, -signal.SIGTERM)


def test_rebalances_lose_nothing_and_commit_every_offset(broker: str, topic: str, pg_url: str) -> None:
    provisioned(pg_url)
    group = f"g-{uuid.uuid4().hex[:8]}"
    batches = [[encode(body) for body in events(4000)] for _ in range(3)]
    first = service(broker, topic, pg_url, group, EVENT_SINK_BATCH_SIZE=200)
    second = service(broker, topic, pg_url, group, EVENT_SINK_BATCH_SIZE=200)
    first.start()
    try:
        produce(broker, topic, batches[0])
        wait_for(lambda: event_rows(pg_url) >= 500, timeout=60, what="the first member to consume")
        second.start()  # joins: the partitions are rebalanced across both members
        produce(broker, topic, batches[1] + INVALID)
        wait_for(lambda: event_rows(pg_url) == 8000, timeout=90, what="8000 events with two members")
        # Tansu wedges a group when a member leaves in the middle of a join: let the join finish.
        wait_for(
            lambda: bool(owned(first) and owned(second)), timeout=30, what="both members to own partitions"
        )
        first.stop()  # leaves: its partitions move to the second member
        produce(broker, topic, batches[2])
        wait_for(lambda: event_rows(pg_url) == 12_000, timeout=90, what="12000 events after a member left")
    finally:
        second.stop()
        if first._pump is not None:
            first.stop()
    assert_dead_letters_are_the_invalid_inputs(pg_url)
    assert committed_total(broker, topic, group) == 12_000 + len(INVALID)


def test_http_with_the_kafka_driver_answers_after_the_broker_has_the_events(
    broker: str, topic: str, pg_url: str
) -> None:
    provisioned(pg_url)
    group = f"g-{uuid.uuid4().hex[:8]}"
    # A flush interval far beyond the test: the rejected item's dead letter must be committed
    # because the 202 waited for it, not because a batch happened to be sealed meanwhile.
    running = service(broker, topic, pg_url, group, EVENT_SINK_FLUSH_INTERVAL_MS=600_000)
    bodies = events(50)
    with TestClient(create_app(running)) as client:
        response = client.post("/v1/events", content=encode([*bodies, {"category": "nope"}]))
        assert response.status_code == 202
        assert count(pg_url, DEAD_LETTER_TABLE) == 1  # durable before the 202, not after
        assert response.json()["accepted"] == 50
        assert [item["index"] for item in response.json()["rejected"]] == [50]
        assert client.get("/readyz").status_code == 200
        # The valid events wait in an open batch for that interval: seal it as the pump polls.
        wait_for(
            lambda: running.sink.flush(timeout=5) and event_rows(pg_url) == 50,
            timeout=60,
            what="HTTP events via Kafka in Postgres",
        )
    [(origin,)] = rows(pg_url, DEAD_LETTER_TABLE, "origin")
    assert origin == "http"
    assert committed_total(broker, topic, group) == 50  # only the valid events went to the topic


def test_http_answers_503_when_the_broker_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    provisioned(pg_url)
    monkeypatch.setattr(kafka_bus, "PUBLISH_TIMEOUT_MS", 1000)
    running = service(f"127.0.0.1:{free_port()}", "nowhere", pg_url, "g-unreachable")
    with TestClient(create_app(running)) as client:
        ready = client.get("/readyz")
        response = client.post("/v1/events", content=encode(events(3)))
    assert ready.status_code == 503 and ready.json()["checks"]["warehouse"] == "ok"
    assert ready.json()["checks"]["bus"] != "ok"
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "did not take" in response.json()["error"]
    assert event_rows(pg_url) == 0
