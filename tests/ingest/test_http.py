"""The HTTP contract, on the embedded default (memory bus + DuckDB) and on Postgres."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from ingest.http import create_app
from ingest.service import Service
from ingest.writers import open_writer
from schema import DEAD_LETTER_TABLE, EVENT_TABLES
from tests.ingest.support import (
    SpoolFsyncFault,
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


def client_for(**overrides: Any) -> TestClient:
    return TestClient(create_app(Service(settings(**overrides))))


def event_rows(url: str) -> int:
    return sum(count(url, spec) for spec in EVENT_TABLES.values())


def test_one_event_an_array_and_ndjson_are_accepted_and_land(duckdb_url: str) -> None:
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url) as client:
        one = client.post("/v1/events", json=event())
        array = client.post("/v1/events", content=encode(events(3)))
        ndjson = b"\n".join(encode(body) for body in events(2))
        typed = client.post("/v1/events", content=ndjson, headers={"content-type": "application/x-ndjson"})
        untyped = client.post("/v1/events", content=b"\n".join(encode(body) for body in events(2)) + b"\n")
        pretty = client.post("/v1/events", content=b'{\n  "event_id": "not-a-uuid"\n}')
    assert [r.status_code for r in (one, array, typed, untyped, pretty)] == [202] * 5
    assert [r.json()["accepted"] for r in (one, array, typed, untyped, pretty)] == [1, 3, 2, 2, 0]
    assert [r["index"] for r in pretty.json()["rejected"]] == [0]
    assert event_rows(duckdb_url) == 8  # the lifespan's shutdown drained the buffer


def test_rejected_items_name_index_event_id_and_reason(duckdb_url: str) -> None:
    wrong_type = event(schema_version="1")
    body = [event(), wrong_type, event(), 42, {"category": "order.lifecycle", "name": "teleported"}]
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url) as client:
        response = client.post("/v1/events", json=body)
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 2
    rejected = {item["index"]: item for item in result["rejected"]}
    assert sorted(rejected) == [1, 3, 4]
    assert rejected[1]["event_id"] == wrong_type["event_id"]
    assert "schema_version" in rejected[1]["reason"] and "rule=int_type" in rejected[1]["reason"]
    assert rejected[1]["issues"][0]["field"] == "schema_version"
    assert rejected[3]["event_id"] is None and "rule=object_type" in rejected[3]["reason"]
    assert "rule=unknown_event_name" in rejected[4]["reason"]
    assert event_rows(duckdb_url) == 2
    assert sorted(origin for (origin,) in rows(duckdb_url, DEAD_LETTER_TABLE, "origin")) == ["http"] * 3


def test_a_malformed_or_too_deep_array_keeps_the_items_before_it(duckdb_url: str) -> None:
    deep = b'{"context": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    body = b"[" + encode(event()) + b", " + deep + b", " + encode(event()) + b"]"
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url) as client:
        response = client.post("/v1/events", content=body)
        broken = client.post("/v1/events", content=b"[" + encode(event()) + b", {oops}]")
    assert response.status_code == 202 and response.json()["accepted"] == 1
    assert [item["index"] for item in response.json()["rejected"]] == [1]
    assert broken.status_code == 202 and broken.json()["accepted"] == 1
    assert "rule=json_invalid" in broken.json()["rejected"][0]["reason"]
    assert count(duckdb_url, DEAD_LETTER_TABLE) == 2


def test_bearer_token_is_required_when_configured(duckdb_url: str) -> None:
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url, INGEST_API_TOKEN="s3cret") as client:
        missing = client.post("/v1/events", json=event())
        wrong = client.post("/v1/events", json=event(), headers={"Authorization": "Bearer nope"})
        basic = client.post("/v1/events", json=event(), headers={"Authorization": "Basic s3cret"})
        right = client.post("/v1/events", json=event(), headers={"Authorization": "Bearer s3cret"})
        health = client.get("/healthz")
    assert [r.status_code for r in (missing, wrong, basic, right, health)] == [401, 401, 401, 202, 200]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert event_rows(duckdb_url) == 1


def test_bodies_above_the_limit_get_413_declared_or_streamed(duckdb_url: str) -> None:
    big = encode(event(context={"blob": "x" * 5000}))
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url, INGEST_MAX_BODY_BYTES=4096) as client:
        declared = client.post("/v1/events", content=big)
        streamed = client.post("/v1/events", content=iter([big[:3000], big[3000:]]))
        fits = client.post("/v1/events", content=encode(event(context={"blob": "x" * 3000})))
        empty = client.post("/v1/events", content=b"  \n")
    assert [r.status_code for r in (declared, streamed, fits, empty)] == [413, 413, 202, 400]
    assert "4096" in declared.json()["error"]
    assert event_rows(duckdb_url) == 1


def test_readiness_health_and_metrics(duckdb_url: str) -> None:
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url) as client:
        client.post("/v1/events", json=[event(), event("driver.telemetry", "location_updated"), {}])
        service_metrics = wait_metrics(client, 'ingest_rows_written_total{table="analytics_driver')
        ready = client.get("/readyz")
        health = client.get("/healthz")
    assert ready.status_code == 200 and ready.json() == {
        "ready": True,
        "checks": {"warehouse": "ok", "bus": "ok", "pump": "ok"},
    }
    assert health.status_code == 200
    for name in (
        'ingest_events_accepted_total{origin="http"} 2.0',
        'ingest_events_rejected_total{rule="missing"} 1.0',
        f'ingest_rows_written_total{{table="{EVENT_TABLES[next(iter(EVENT_TABLES))].name}"}} 1.0',
        "ingest_batch_size_count",
        "ingest_flush_seconds_count",
        "ingest_write_retries_total 0.0",
        "ingest_buffer_bytes",
        "ingest_buffer_events",
    ):
        assert name in service_metrics, name


def wait_metrics(client: TestClient, needle: str) -> str:
    found: list[str] = []

    def present() -> bool:
        found[:] = [client.get("/metrics").text]
        return needle in found[0]

    wait_for(present, timeout=10, what=needle)
    return found[0]


def test_readyz_is_503_when_the_warehouse_is_unreachable() -> None:
    with client_for(WAREHOUSE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/none") as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["warehouse"].startswith("unreachable (OperationalError)") and checks["bus"] == "ok"


def test_after_the_spool_failed_an_fsync_nothing_is_acknowledged_until_a_restart(
    duckdb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (SpoolFsyncFault): one fsync of the spool fails; the later ones, which
    succeed, must not acknowledge anything on this spool; /readyz names it (not its path)."""
    fault = SpoolFsyncFault()
    monkeypatch.setattr(os, "fsync", fault)
    env = {"WAREHOUSE_DATABASE_URL": duckdb_url, "INGEST_DATA_DIR": str(tmp_path / "data")}
    kept, lost, after, restarted = events(4)
    with client_for(**env) as client:
        accepted = client.post("/v1/events", json=kept)
        fault.armed.set()
        answers = [client.post("/v1/events", json=body) for body in (lost, after)]
        ready = client.get("/readyz")
    assert accepted.status_code == 202
    assert [answer.status_code for answer in answers] == [503, 503]
    assert answers[1].headers["retry-after"] == "1"
    assert "the spool's disk failed: fsync (Input/output error)" in answers[1].json()["error"]
    assert ready.status_code == 503
    assert ready.json()["checks"]["bus"].startswith("the spool's disk failed: fsync")
    assert str(tmp_path) not in ready.text
    assert ids(duckdb_url) == {kept["event_id"]}

    with client_for(**env) as client:
        assert client.post("/v1/events", json=restarted).status_code == 202
    # The refused request's record was written before its fsync failed: it may land now (never
    # acknowledged; the client's retry is absorbed by event_id). The one after it never was.
    assert {kept["event_id"], restarted["event_id"]} <= ids(duckdb_url)
    assert after["event_id"] not in ids(duckdb_url)


def ids(url: str) -> set[str]:
    return {str(event_id) for spec in EVENT_TABLES.values() for (event_id,) in rows(url, spec, "event_id")}


def test_readyz_is_503_until_the_tables_exist(pg_url: str) -> None:
    """Issue 12 (1): reaching the database is not enough to write; the tables must be there."""
    with client_for(WAREHOUSE_DATABASE_URL=pg_url) as client:
        before = client.get("/readyz")
        open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url)).provision()
        after = client.get("/readyz")
    assert before.status_code == 503
    assert before.json()["checks"]["warehouse"].startswith("tables missing: analytics_")
    assert after.status_code == 200


def test_a_nul_in_the_claims_is_rejected_and_its_dead_letter_stored(pg_url: str) -> None:
    """Issue 12 (2): the 202 listed the item as rejected, but Postgres refused its dead letter."""
    open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url)).provision()
    body = encode(event()).replace(b'"order.lifecycle"', b'"order\\u0000"')
    with client_for(WAREHOUSE_DATABASE_URL=pg_url) as client:
        response = client.post("/v1/events", content=body)
    assert response.status_code == 202 and response.json()["accepted"] == 0
    [(raw, category)] = rows(pg_url, DEAD_LETTER_TABLE, "raw_body, category")
    assert b'"order\\u0000"' in body and (bytes(raw), category) == (body, "order\\u0000")


def test_a_million_tiny_items_are_refused_with_the_cap(duckdb_url: str) -> None:
    """Issue 12 (4): 1,000,000 NDJSON lines of {} (3 MB) took 3.27 GB and a 179 MB response."""
    body = b"{}\n" * 1_000_000
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url) as client:
        response = client.post("/v1/events", content=body, headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 413
    assert response.json() == {
        "error": "the body holds more than 10000 events",
        "max_items_per_request": 10_000,
    }
    assert count(duckdb_url, DEAD_LETTER_TABLE) == 0


def test_the_response_details_the_first_rejections_and_counts_the_rest(duckdb_url: str) -> None:
    body = b"[" + b",".join([encode(event())] + [b"{}"] * 500 + [b"42"] * 7) + b"]"
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url, INGEST_MAX_ITEMS_PER_REQUEST=600) as client:
        response = client.post("/v1/events", content=body)
        capped = client.post("/v1/events", content=b"[" + b",".join([b"{}"] * 601) + b"]")
    result = response.json()
    assert response.status_code == 202 and result["accepted"] == 1
    assert [item["index"] for item in result["rejected"]] == list(range(1, 101))
    assert result["rejected_total"] == 507
    assert result["rejected_by_rule"] == {"missing": 500, "object_type": 7}
    assert capped.status_code == 413 and capped.json()["max_items_per_request"] == 600
    assert count(duckdb_url, DEAD_LETTER_TABLE) == 2  # {} and 42, each stored once (same bytes, same origin)


def test_metrics_need_the_token_unless_opened(duckdb_url: str) -> None:
    """Issue 12 (6): /metrics stays open only on a setting."""
    with client_for(WAREHOUSE_DATABASE_URL=duckdb_url, INGEST_API_TOKEN="s3cret") as client:
        closed = client.get("/metrics")
        with_token = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    with client_for(
        WAREHOUSE_DATABASE_URL=duckdb_url, INGEST_API_TOKEN="s3cret", INGEST_METRICS_PUBLIC="true"
    ) as client:
        opened = client.get("/metrics")
    assert [r.status_code for r in (closed, with_token, opened)] == [401, 200, 200]


def test_a_full_spool_answers_503_and_loses_nothing_it_accepted(pg_url: str) -> None:
    """While the warehouse is stalled, the memory bus's spool takes events up to its bound, then
    answers 503 (backpressure, nothing acknowledged); everything it took lands afterwards."""
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url))
    writer.provision()
    writer.close()
    accepted = 0
    statuses: list[int] = []
    with client_for(WAREHOUSE_DATABASE_URL=pg_url, INGEST_SPOOL_MAX_BYTES=1 << 20) as client:
        with psycopg.connect(pg_url) as blocker:
            lock_event_tables(blocker)
            for _ in range(100):
                response = client.post("/v1/events", json=events(200))
                statuses.append(response.status_code)
                if response.status_code == 503:
                    assert response.headers["retry-after"] == "1"
                    assert "spool holds" in response.json()["error"]
                    break
                accepted += response.json()["accepted"]
        assert statuses[-1] == 503 and set(statuses[:-1]) == {202}
        wait_for(lambda: event_rows(pg_url) == accepted, timeout=60, what="every accepted event")
        assert client.post("/v1/events", json=events(5)).status_code == 202
    assert event_rows(pg_url) == accepted + 5


def test_sigterm_drains_what_was_accepted_before_exiting(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "INGEST_PORT": str(port),
        "INGEST_DATA_DIR": str(tmp_path),
        # Nothing is flushed on its own before the signal: only the drain can write these.
        "EVENT_SINK_BATCH_SIZE": "100000",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "600000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(base), timeout=30, what="the server")
        for _ in range(5):
            assert httpx.post(f"{base}/v1/events", content=encode(events(100))).json()["accepted"] == 100
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    finally:
        server.kill()
    assert event_rows(f"duckdb:///{tmp_path / 'warehouse.duckdb'}") == 500


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz").status_code == 200
    except httpx.TransportError:
        return False
