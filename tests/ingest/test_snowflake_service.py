"""The ingest service writing Snowflake (fakesnow's server): Kafka (Tansu) end to end, SIGKILL
mid-write and restart, a crash between the steps of one write, and no password in any output."""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from snowflake.connector.cursor import SnowflakeCursor
from starlette.testclient import TestClient

from ingest.cli import main
from ingest.http import create_app
from ingest.service import Service
from ingest.writers import open_writer
from schema import DEAD_LETTER_TABLE, EVENT_TABLES, event_row, parse_event, table_for
from schema.contract import SECRET_MASK
from schema.dialects import SNOWFLAKE as dialect
from tests.ingest.conftest import SNOWFLAKE_PASSWORD
from tests.ingest.restart import Progress, kill_mid_stream_then_restart
from tests.ingest.snowflake_support import count, event_ids, event_rows, provision_unenforced, query, table
from tests.ingest.support import encode, events, free_port, settings, wait_for
from tests.ingest.test_kafka import INVALID, committed_total, kafka_env, produce

ORDERS = table_for("order.lifecycle")
TELEMETRY = table_for("driver.telemetry")
# Orders, then telemetry, then campaigns: the order in which the writer merges them.
TABLES = tuple(EVENT_TABLES.values())
STAGE = dialect.qualified(dialect.DEFAULT_STAGE, dialect.DEFAULT_NAMESPACE)


def test_kafka_to_snowflake_end_to_end(broker: str, topic: str, snowflake_url: str) -> None:
    provision_unenforced(snowflake_url)
    valid = [encode(body) for body in events(1500)]
    produce(broker, topic, valid[:700] + INVALID + valid[700:] + valid[:100])  # with redeliveries
    group = f"g-{uuid.uuid4().hex[:8]}"
    running = Service(settings(**kafka_env(broker, topic, snowflake_url, group), EVENT_SINK_BATCH_SIZE=500))
    running.start()
    try:
        wait_for(lambda: event_rows(snowflake_url) >= 1500, timeout=180, what="1500 events in Snowflake")
        wait_for(lambda: count(snowflake_url, DEAD_LETTER_TABLE) >= 3, timeout=60, what="3 dead letters")
        wait_for(lambda: committed_total(broker, topic, group) == 1500 + 3 + 100, timeout=60, what="offsets")
    finally:
        running.stop()
    assert sorted(event_ids(snowflake_url)) == sorted(json.loads(raw)["event_id"] for raw in valid)
    stored = query(snowflake_url, f'SELECT "RAW_BODY", "ORIGIN" FROM {table(DEAD_LETTER_TABLE)}')
    assert sorted(bytes(raw) for raw, _ in stored) == sorted(INVALID)
    assert all(origin.startswith(f"kafka:{topic}/") for _, origin in stored)


def test_sigkill_mid_write_then_restart_lands_every_event_exactly_once(
    broker: str, topic: str, snowflake_url: str
) -> None:
    """While a backlog is being written the writer is always inside one of a batch's statements
    (each takes a round trip), so the kill lands mid-write: after a PUT, a COPY or a MERGE."""
    provision_unenforced(snowflake_url)
    total = 4000
    valid = [encode(body) for body in events(total)]
    produce(broker, topic, valid[:1500] + INVALID + valid[1500:])
    group = f"g-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **kafka_env(broker, topic, snowflake_url, group),
        "EVENT_SINK_BATCH_SIZE": "250",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "50",
        "INGEST_PORT": str(free_port()),
    }
    progress = Progress(
        rows=lambda: event_rows(snowflake_url),
        dead_letters=lambda: count(snowflake_url, DEAD_LETTER_TABLE),
        committed=lambda: committed_total(broker, topic, group),
    )
    kill_mid_stream_then_restart(
        env,
        progress,
        kill_after_rows=500,
        events=total,
        dead_letters=len(INVALID),
        first_timeout=180,
        finish_timeout=300,
    )
    # Nothing lost, nothing twice: Snowflake does not enforce the primary key, so a duplicate
    # would be a second stored row.
    assert sorted(event_ids(snowflake_url)) == sorted(json.loads(raw)["event_id"] for raw in valid)
    stored = query(snowflake_url, f'SELECT "RAW_BODY" FROM {table(DEAD_LETTER_TABLE)}')
    assert sorted(bytes(raw) for (raw,) in stored) == sorted(INVALID)


class Crash(BaseException):
    """A process dying at a statement: nothing after it runs (not an Exception the writer handles)."""


@pytest.mark.parametrize(
    ("crash_at", "orphans"),
    [
        ("COPY INTO", 1),  # the file is staged, never loaded: it stays behind, unread
        ("MERGE INTO", 0),  # loaded into the session's landing table, merged nowhere
        ('MERGE INTO "ANALYTICS"."ANALYTICS_DRIVER', 0),  # the orders are merged, the rest not
    ],
)
def test_a_crash_between_the_steps_of_a_write_then_redelivery_lands_each_row_once(
    monkeypatch: pytest.MonkeyPatch, snowflake_url: str, crash_at: str, orphans: int
) -> None:
    """Fault injection around the real connector: the statement starting with ``crash_at`` is
    never sent, and the writer that was running is abandoned as a killed process would be."""
    provision_unenforced(snowflake_url)
    parsed = [parse_event(body) for body in (encode(e) for e in events(8))]
    stamp = datetime.now(UTC)
    batch = {spec: [event_row(e, stamp) for e in parsed if table_for(e.category) is spec] for spec in TABLES}
    crashing = open_writer(settings(WAREHOUSE_DATABASE_URL=snowflake_url))
    real_execute = SnowflakeCursor.execute

    def execute(cursor: SnowflakeCursor, command: str, *args: Any, **kwargs: Any) -> Any:
        if command.startswith(crash_at):
            raise Crash(command[:40])
        return real_execute(cursor, command, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(SnowflakeCursor, "execute", execute)
        with pytest.raises(Crash):
            crashing.write(batch)
    written_before = event_rows(snowflake_url)

    restarted = open_writer(settings(WAREHOUSE_DATABASE_URL=snowflake_url))
    try:
        counts = restarted.write(batch)
    finally:
        restarted.close()
        crashing.close()
    assert sorted(event_ids(snowflake_url)) == sorted(str(e.event_id) for e in parsed)
    assert sum(counts.values()) == len(parsed) - written_before
    assert len(query(snowflake_url, f"LIST @{STAGE}")) == orphans


def test_the_password_appears_in_no_output(
    monkeypatch: pytest.MonkeyPatch,
    snowflake_url: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", snowflake_url)
    assert main(["provision"]) == 0
    assert main(["check"]) == 0
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=snowflake_url))
    shown = [repr(writer)]
    writer.close()
    # A misspelt scheme is echoed (masked) in the configuration error.
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", snowflake_url.replace("snowflake://", "snowflak://"))
    assert main(["check"]) == 2
    # An unreachable account: readiness and the retried write's error name the problem, not the password.
    unreachable = re.sub(r"port=\d+", f"port={free_port()}", snowflake_url) + "&login_timeout=2"
    running = Service(
        settings(WAREHOUSE_DATABASE_URL=unreachable + "&private_key_file_pwd=pw-Zq7-never-printed")
    )
    with TestClient(create_app(running)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        shown.append(ready.text)
    output = capsys.readouterr()
    everything = "\n".join([output.out, output.err, caplog.text, *shown])
    assert f"snowflak://ingest:{SECRET_MASK}@" in output.err  # the error still says which URL is wrong
    assert SNOWFLAKE_PASSWORD not in everything
