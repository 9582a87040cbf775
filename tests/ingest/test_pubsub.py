"""Pub/Sub (Google's emulator, started by the session) into Postgres: end to end, the wire format,
crash recovery, warehouse outages, HTTP publishing, missing resources."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from ingest.bus import pubsub as pubsub_bus
from ingest.bus.pubsub import PubSubBus
from ingest.config import ConfigError
from ingest.http import create_app
from ingest.service import Service
from ingest.testing import pubsub_emulator
from ingest.testing.pubsub_emulator import create_subscription, create_topic, publish
from ingest.writers import open_writer
from schema import DEAD_LETTER_TABLE, EVENT_TABLES
from tests.ingest.support import (
    count,
    encode,
    event,
    events,
    free_port,
    lock_event_tables,
    rows,
    settings,
    wait_for,
)

PROJECT = "analytics-test"
README = Path(__file__).resolve().parents[2] / "README.md"
INVALID = [b"not json", encode(event(schema_version="1")), b'{"category": "x"}', b"\xff\xfe"]


@dataclass(frozen=True)
class Names:
    topic: str
    subscription: str  # the service's default: <topic>-ingest
    dead_letter_topic: str


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    with pubsub_emulator.emulator() as address:
        yield address


@pytest.fixture
def bus(emulator: str) -> Names:
    """A topic, its dead-letter topic and the ingest subscription, as the Pulumi program makes them."""
    topic = f"events-{uuid.uuid4().hex[:10]}"
    names = Names(topic, f"{topic}-ingest", f"{topic}-dead-letter")
    create_topic(PROJECT, names.topic)
    create_topic(PROJECT, names.dead_letter_topic)
    create_subscription(PROJECT, names.topic, names.subscription, dead_letter_topic=names.dead_letter_topic)
    return names


def pubsub_env(names: Names, pg_url: str) -> dict[str, str]:
    return {
        "EVENT_BUS_DRIVER": "pubsub",
        "EVENT_BUS_PUBSUB_TOPIC": names.topic,
        "PUBSUB_PROJECT_ID": PROJECT,
        "WAREHOUSE_DATABASE_URL": pg_url,
    }


def service(names: Names, pg_url: str, **overrides: Any) -> Service:
    env = pubsub_env(names, pg_url)
    env.update({key: str(value) for key, value in overrides.items()})
    return Service(settings(**env))


def provisioned(pg_url: str) -> None:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url))
    writer.provision()
    writer.close()


def event_rows(pg_url: str) -> int:
    return sum(count(pg_url, spec) for spec in EVENT_TABLES.values())


def stored_ids(pg_url: str) -> set[str]:
    return {str(event_id) for spec in EVENT_TABLES.values() for (event_id,) in rows(pg_url, spec, "event_id")}


def ids_of(bodies: list[bytes]) -> set[str]:
    return {str(json.loads(body)["event_id"]) for body in bodies}


def redelivered_within(names: Names, seconds: float) -> int:
    """How many messages a fresh subscriber receives within ``seconds``: anything the service left
    unacknowledged comes back once the lease it held runs out (the library leases for 10 s)."""
    import google.cloud.pubsub_v1 as pubsub_v1

    received: list[str] = []
    subscriber: Any = pubsub_v1.SubscriberClient()
    path = f"projects/{PROJECT}/subscriptions/{names.subscription}"

    def take(message: Any) -> None:
        received.append(message.message_id)
        message.ack()

    future = subscriber.subscribe(path, take)
    time.sleep(seconds)  # waiting out a lease is the point: nothing may arrive in this window
    future.cancel()
    future.result(timeout=30)
    subscriber.close()
    return len(received)


def test_pubsub_to_postgres_end_to_end_with_poison_messages(bus: Names, pg_url: str) -> None:
    provisioned(pg_url)
    valid = [encode(body) for body in events(3000)]
    # Poison first and in the middle (the stream goes on), and 100 events published twice.
    bodies = INVALID[:2] + valid[:1500] + INVALID[2:] + valid[1500:] + valid[:100]
    message_ids = publish(PROJECT, bus.topic, bodies)
    running = service(bus, pg_url)
    running.start()
    try:
        wait_for(lambda: event_rows(pg_url) == 3000, timeout=120, what="3000 events in Postgres")
        wait_for(lambda: count(pg_url, DEAD_LETTER_TABLE) == len(INVALID), timeout=30, what="dead letters")
        assert running.readiness()["bus"] == "ok"
    finally:
        running.stop()
    assert stored_ids(pg_url) == ids_of(valid)
    poison_ids = [message_ids[0], message_ids[1], message_ids[1502], message_ids[1503]]
    origins = {origin for (origin,) in rows(pg_url, DEAD_LETTER_TABLE, "origin")}
    assert origins == {f"pubsub:{bus.subscription}/{message_id}" for message_id in poison_ids}
    raw = {bytes(body) for (body,) in rows(pg_url, DEAD_LETTER_TABLE, "raw_body")}
    assert raw == set(INVALID)
    assert redelivered_within(bus, 15) == 0  # every message, poison included, was acknowledged


def readme_event() -> bytes:
    """The event of the README's curl example, byte for byte what a producer following it sends."""
    match = re.search(r"-d '(\{.*?\})'", README.read_text(), re.DOTALL)
    assert match is not None, "the README's curl example moved"
    return match.group(1).encode()


def test_the_readme_event_published_to_the_topic_as_the_program_creates_it_lands(
    bus: Names, pg_url: str
) -> None:
    """The program gives the topic no schema, so the plain wire format is what travels."""
    provisioned(pg_url)
    body = readme_event()
    publish(PROJECT, bus.topic, [body])
    running = service(bus, pg_url)
    running.start()
    try:
        wait_for(lambda: event_rows(pg_url) == 1, timeout=60, what="the README event in Postgres")
    finally:
        running.stop()
    sent = json.loads(body)
    [orders] = [spec for category, spec in EVENT_TABLES.items() if category == sent["category"]]
    [(event_id, order_id, actor_id)] = rows(pg_url, orders, "event_id, order_id, actor_id")
    assert (str(event_id), order_id, actor_id) == (sent["event_id"], "o-1", "c-1")
    assert count(pg_url, DEAD_LETTER_TABLE) == 0


@pytest.mark.timeout(600)
def test_sigkill_mid_stream_then_restart_lands_every_event_exactly_once(bus: Names, pg_url: str) -> None:
    """The emulator keeps treating a killed process's stream as alive: what it hands to it comes
    back only after the stream's 10 s ack deadline, possibly to the dead stream again. Small batches
    keep what it can take per round small; the restart still has to get every event in."""
    provisioned(pg_url)
    total = 6000
    valid = [encode(body) for body in events(total)]
    publish(PROJECT, bus.topic, valid[:3000] + INVALID + valid[3000:])
    env = {
        **os.environ,
        **pubsub_env(bus, pg_url),
        "EVENT_SINK_BATCH_SIZE": "50",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "20",
        "INGEST_PORT": str(free_port()),
    }
    command = [sys.executable, "-m", "ingest.cli", "serve"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: event_rows(pg_url) >= 1000, timeout=120, what="the first rows")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    at_kill = event_rows(pg_url)
    assert at_kill < total, "the subscriber finished before it was killed; the test proves nothing"

    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: event_rows(pg_url) == total, timeout=400, what=f"all {total} events after restart")
        wait_for(lambda: count(pg_url, DEAD_LETTER_TABLE) == len(INVALID), timeout=60, what="dead letters")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    assert stored_ids(pg_url) == ids_of(valid)
    assert second.returncode in (0, -signal.SIGTERM)


def test_http_with_the_pubsub_driver_answers_after_pubsub_has_the_events(bus: Names, pg_url: str) -> None:
    provisioned(pg_url)
    running = service(bus, pg_url)
    bodies = events(50)
    with TestClient(create_app(running)) as client:
        response = client.post("/v1/events", content=encode([*bodies, {"category": "nope"}]))
        assert response.status_code == 202
        assert response.json()["accepted"] == 50
        assert [item["index"] for item in response.json()["rejected"]] == [50]
        assert client.get("/readyz").status_code == 200
        wait_for(lambda: event_rows(pg_url) == 50, timeout=60, what="HTTP events via Pub/Sub in Postgres")
        wait_for(lambda: count(pg_url, DEAD_LETTER_TABLE) == 1, timeout=10, what="the HTTP dead letter")
    [(origin,)] = rows(pg_url, DEAD_LETTER_TABLE, "origin")
    assert origin == "http"
    assert stored_ids(pg_url) == {body["event_id"] for body in bodies}
    assert isinstance(running.bus, PubSubBus)
    assert running.bus.deliveries == 50  # only the valid events went to the topic


def test_http_answers_503_with_retry_after_when_pubsub_does_not_confirm(
    bus: Names, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provisioned(pg_url)
    monkeypatch.setattr(pubsub_bus, "PUBLISH_TIMEOUT_S", 1.0)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nothing listens there
    running = service(bus, pg_url)
    with TestClient(create_app(running)) as client:
        ready = client.get("/readyz")
        started = time.monotonic()
        response = client.post("/v1/events", content=encode(events(3)))
        waited = time.monotonic() - started
    assert ready.status_code == 503 and ready.json()["checks"]["warehouse"] == "ok"
    assert ready.json()["checks"]["bus"] != "ok"
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "did not take" in response.json()["error"]
    assert waited < 30
    assert event_rows(pg_url) == 0


def test_a_missing_subscription_or_topic_is_refused_at_start_naming_it(bus: Names, pg_url: str) -> None:
    with pytest.raises(ConfigError) as missing_subscription:
        service(bus, pg_url, EVENT_BUS_PUBSUB_SUBSCRIPTION="nobody-made-this")
    assert f"projects/{PROJECT}/subscriptions/nobody-made-this does not exist" in str(
        missing_subscription.value
    )
    assert "EVENT_BUS_PUBSUB_SUBSCRIPTION" in str(missing_subscription.value)

    create_subscription(PROJECT, bus.topic, "orphan-ingest")
    with pytest.raises(ConfigError) as missing_topic:
        service(
            bus, pg_url, EVENT_BUS_PUBSUB_TOPIC="no-such-topic", EVENT_BUS_PUBSUB_SUBSCRIPTION="orphan-ingest"
        )
    assert f"projects/{PROJECT}/topics/no-such-topic does not exist" in str(missing_topic.value)

    env = {**os.environ, **pubsub_env(bus, pg_url), "EVENT_BUS_PUBSUB_SUBSCRIPTION": "nobody-made-this"}
    cli = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "serve"], env=env, capture_output=True, text=True, timeout=120
    )
    assert cli.returncode == 2
    assert "subscriptions/nobody-made-this does not exist" in cli.stderr


def test_a_subscription_deleted_while_running_fails_readiness_naming_it_and_liveness(
    bus: Names, pg_url: str
) -> None:
    """The pump dies on the deleted subscription; /healthz must then fail (open, like the
    platform's probe calls it: no token) so that Cloud Run restarts the instance."""
    import google.cloud.pubsub_v1 as pubsub_v1

    provisioned(pg_url)
    running = service(bus, pg_url, INGEST_API_TOKEN="s3cret")
    path = f"projects/{PROJECT}/subscriptions/{bus.subscription}"
    with TestClient(create_app(running)) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200, timeout=30, what="a ready service")
        assert client.get("/healthz").status_code == 200
        with pubsub_v1.SubscriberClient() as subscriber:
            subscriber.delete_subscription(subscription=path)
        wait_for(lambda: client.get("/healthz").status_code == 503, timeout=60, what="liveness to fail")
        health = client.get("/healthz").json()
        checks = client.get("/readyz").json()["checks"]
    assert health == {"status": "failing", "pump": "stopped (RuntimeError)"}
    assert f"{path} does not exist" in checks["bus"]
    assert checks["pump"] == "stopped (RuntimeError)"
    assert running.pump_failed is False  # stopped: the error no longer fails liveness


def test_killed_warehouse_connections_mid_stream_are_retried_and_every_event_lands_once(
    bus: Names, pg_url: str
) -> None:
    provisioned(pg_url)
    valid = [encode(body) for body in events(6000)]
    database = pg_url.rsplit("/", 1)[1]
    stop = threading.Event()
    killed: list[int] = []

    def kill_backends() -> None:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            while not stop.is_set():
                result = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    (database,),
                ).fetchone()
                killed.append(int(result[0]) if result else 0)
                time.sleep(0.1)

    running = service(bus, pg_url, EVENT_SINK_BATCH_SIZE=200)
    running.start()
    killer = threading.Thread(target=kill_backends)
    try:
        publish(PROJECT, bus.topic, valid[:1000])
        wait_for(lambda: event_rows(pg_url) >= 200, timeout=60, what="the first rows")
        killer.start()
        publish(PROJECT, bus.topic, valid[1000:])
        wait_for(lambda: sum(killed) >= 3, timeout=60, what="writer connections terminated")
        stop.set()
        killer.join()
        wait_for(lambda: event_rows(pg_url) == 6000, timeout=120, what="6000 events after the kills")
    finally:
        stop.set()
        if killer.is_alive():
            killer.join()
        running.stop()
    assert stored_ids(pg_url) == ids_of(valid)
    assert redelivered_within(bus, 15) == 0


@dataclass
class ThrowawayPostgres:
    """A Postgres cluster of this test's own (initdb, pg_ctl as the ``postgres`` OS user), so that
    stopping it refuses connections without touching the shared server."""

    directory: Path
    port: int
    up: bool = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, *command], check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(str(BINDIR / "pg_ctl"), "-D", str(self.directory / "data"), "-o", options, "-w", *args)

    def start(self) -> None:
        if not self.up:
            self._pg_ctl("-l", str(self.directory / "log"), "start")
            self.up = True

    def stop(self) -> None:
        if self.up:
            self._pg_ctl("-m", "fast", "stop")
            self.up = False


BINDIR = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    directory = Path(tempfile.mkdtemp(prefix="pg-outage-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = ThrowawayPostgres(directory, free_port())
    cluster._run(str(BINDIR / "initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_refusing_warehouse_gets_nothing_acked_nor_redelivered_and_catches_up(
    bus: Names, throwaway_postgres: ThrowawayPostgres
) -> None:
    """While connections are refused, longer than a lease (10 s), the service holds what it took:
    no acknowledgement, no redelivery (its leases are extended), then everything lands once."""
    url = throwaway_postgres.url
    provisioned(url)
    valid = [encode(body) for body in events(2500)]
    running = service(bus, url, EVENT_SINK_BATCH_SIZE=500)
    assert isinstance(running.bus, PubSubBus)
    pubsub = running.bus
    running.start()
    try:
        publish(PROJECT, bus.topic, valid[:1000])
        wait_for(lambda: event_rows(url) == 1000, timeout=60, what="the first 1000 events")
        wait_for(lambda: pubsub.acked == 1000, timeout=30, what="their acknowledgement")
        throwaway_postgres.stop()
        down = time.monotonic()
        publish(PROJECT, bus.topic, valid[1000:])
        wait_for(lambda: pubsub.deliveries == 2500, timeout=60, what="the rest delivered to the service")
        wait_for(
            lambda: running.readiness()["warehouse"] != "ok",
            timeout=30,
            what="readiness to report the outage",
        )
        # The outage must outlast the lease (MAX_LEASE_EXTENSION_S) more than twice over.
        time.sleep(max(0.0, 3 * pubsub_bus.MAX_LEASE_EXTENSION_S - (time.monotonic() - down)))
        assert pubsub.acked == 1000, "acknowledged while the warehouse was refusing connections"
        assert pubsub.deliveries == 2500, "Pub/Sub redelivered messages the service still held"
        throwaway_postgres.start()
        wait_for(lambda: event_rows(url) == 2500, timeout=120, what="all 2500 events after the outage")
        wait_for(lambda: pubsub.acked == 2500, timeout=30, what="every message acknowledged")
    finally:
        throwaway_postgres.start()  # stopping drains into the warehouse: it must be there
        running.stop()
    assert stored_ids(url) == ids_of(valid)
    assert pubsub.deliveries == 2500
    assert redelivered_within(bus, 15) == 0


def test_a_stalled_warehouse_holds_no_more_messages_than_the_sink_takes(bus: Names, pg_url: str) -> None:
    provisioned(pg_url)
    valid = [encode(body) for body in events(2000)]
    bound = 100 * pubsub_bus.SINK_BATCHES_HELD  # EVENT_SINK_BATCH_SIZE=100 below
    running = service(bus, pg_url, EVENT_SINK_BATCH_SIZE=100)
    assert isinstance(running.bus, PubSubBus)
    pubsub = running.bus
    with psycopg.connect(pg_url) as blocker:
        lock_event_tables(blocker)  # every write waits until this transaction ends
        running.start()
        try:
            publish(PROJECT, bus.topic, valid)
            wait_for(lambda: pubsub.deliveries >= bound, timeout=60, what=f"{bound} messages delivered")
            time.sleep(3)  # a window in which more would arrive if flow control let them
            assert pubsub.deliveries == bound
            assert pubsub.acked == 0
        finally:
            blocker.rollback()
    try:
        wait_for(lambda: event_rows(pg_url) == 2000, timeout=120, what="all 2000 events once unblocked")
    finally:
        running.stop()
    assert stored_ids(pg_url) == ids_of(valid)
