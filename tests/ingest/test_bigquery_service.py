"""The ingest service writing BigQuery (bqemulator): HTTP on the memory bus, Pub/Sub (Google's
emulator) end to end, and Kafka (Tansu) with the service killed by SIGKILL mid-stream and restarted."""

from __future__ import annotations

import json
import os
import uuid

from starlette.testclient import TestClient

from ingest.http import create_app
from ingest.service import Service
from ingest.testing.pubsub_emulator import publish
from schema import DEAD_LETTER_TABLE, EVENT_TABLES
from tests.ingest import test_pubsub
from tests.ingest.bigquery_support import count, event_ids, rows
from tests.ingest.restart import Progress, kill_mid_stream_then_restart
from tests.ingest.support import encode, events, free_port, settings, wait_for
from tests.ingest.test_kafka import INVALID, committed_total, kafka_env, produce, provisioned
from tests.ingest.test_pubsub import INVALID as PUBSUB_INVALID
from tests.ingest.test_pubsub import PROJECT, Names, ids_of, pubsub_env

# The Pub/Sub tests' fixtures: Google's emulator for the session, a topic + ingest subscription.
emulator = test_pubsub.emulator
bus = test_pubsub.bus


def event_rows(url: str) -> int:
    return sum(count(url, spec) for spec in EVENT_TABLES.values())


def test_http_on_the_memory_bus_lands_events_and_dead_letters_in_bigquery(bq_url: str) -> None:
    provisioned(bq_url)
    bodies = events(60)
    not_utf8 = b'{"category": "order.lifecycle", "name": "\xff"}'
    running = Service(settings(WAREHOUSE_DATABASE_URL=bq_url))
    with TestClient(create_app(running)) as client:
        assert client.get("/readyz").json()["checks"]["warehouse"] == "ok"
        response = client.post("/v1/events", content=encode([*bodies, *bodies[:10]]))
        assert response.status_code == 202 and response.json()["accepted"] == 70
        assert client.post("/v1/events", content=not_utf8).json()["accepted"] == 0
        wait_for(lambda: event_rows(bq_url) == 60, timeout=120, what="60 events in BigQuery")
        wait_for(lambda: count(bq_url, DEAD_LETTER_TABLE) == 1, timeout=60, what="the dead letter")
    assert sorted(event_ids(bq_url)) == sorted(body["event_id"] for body in bodies)
    [(raw, origin)] = rows(bq_url, DEAD_LETTER_TABLE, "raw_body, origin")
    assert (bytes(raw), origin) == (not_utf8, "http")


def test_kafka_to_bigquery_sigkill_mid_stream_then_restart_lands_every_event_exactly_once(
    broker: str, topic: str, bq_url: str, bigquery_emulator: str
) -> None:
    provisioned(bq_url)
    total = 6000
    valid = [encode(body) for body in events(total)]
    produce(broker, topic, valid[:2000] + INVALID + valid[2000:])
    group = f"g-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **kafka_env(broker, topic, bq_url, group),
        "BIGQUERY_EMULATOR_HOST": bigquery_emulator,
        "EVENT_SINK_BATCH_SIZE": "400",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "50",
        "INGEST_PORT": str(free_port()),
    }
    progress = Progress(
        rows=lambda: event_rows(bq_url),
        dead_letters=lambda: count(bq_url, DEAD_LETTER_TABLE),
        committed=lambda: committed_total(broker, topic, group),
    )
    kill_mid_stream_then_restart(
        env,
        progress,
        kill_after_rows=400,
        events=total,
        dead_letters=len(INVALID),
        first_timeout=120,
        finish_timeout=300,
    )
    # Nothing lost, nothing twice: BigQuery has no primary key, so duplicates would be stored rows.
    assert sorted(event_ids(bq_url)) == sorted(json.loads(raw)["event_id"] for raw in valid)
    assert sorted(bytes(raw) for (raw,) in rows(bq_url, DEAD_LETTER_TABLE, "raw_body")) == sorted(INVALID)


def test_pubsub_to_bigquery_end_to_end_with_poison_and_redelivered_messages(bus: Names, bq_url: str) -> None:
    provisioned(bq_url)
    valid = [encode(body) for body in events(1500)]
    bodies = PUBSUB_INVALID[:2] + valid[:700] + PUBSUB_INVALID[2:] + valid[700:] + valid[:100]
    message_ids = publish(PROJECT, bus.topic, bodies)
    running = Service(settings(**pubsub_env(bus, bq_url), EVENT_SINK_BATCH_SIZE=500))
    running.start()
    try:
        wait_for(lambda: event_rows(bq_url) >= 1500, timeout=180, what="1500 events in BigQuery")
        wait_for(
            lambda: count(bq_url, DEAD_LETTER_TABLE) >= len(PUBSUB_INVALID), timeout=60, what="dead letters"
        )
        assert running.readiness() == {"warehouse": "ok", "bus": "ok", "pump": "ok"}
    finally:
        running.stop()
    assert sorted(event_ids(bq_url)) == sorted(ids_of(valid))
    stored = rows(bq_url, DEAD_LETTER_TABLE, "raw_body, origin")
    assert sorted(bytes(raw) for raw, _ in stored) == sorted(PUBSUB_INVALID)
    poison = [message_ids[0], message_ids[1], message_ids[702], message_ids[703]]
    assert sorted(origin for _, origin in stored) == sorted(f"pubsub:{bus.subscription}/{m}" for m in poison)
