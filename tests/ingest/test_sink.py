"""The sink against real warehouses: routing, dedup, dead letters, retries, isolation, backpressure."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from ingest.messages import Message
from ingest.sink import Sink
from ingest.testing.postgres import ADMIN_URL as POSTGRES_ADMIN_URL
from ingest.write_loop import PROBE_INTERVAL_S
from ingest.writers import Writer, open_writer
from schema import DEAD_LETTER_TABLE, table_for
from tests.ingest.outage import SteppedTime, ThrowawayPostgres
from tests.ingest.support import (
    count,
    encode,
    event,
    events,
    lock_event_tables,
    refuse_rows,
    rows,
    settings,
    wait_for,
    waiting_on_a_lock,
)

ORDERS = table_for("order.lifecycle")
TELEMETRY = table_for("driver.telemetry")
CAMPAIGNS = table_for("campaign.interaction")


def make_sink(writer: Writer, stepped: SteppedTime | None = None, **overrides: Any) -> Sink:
    """A started sink whose retries wait on ``stepped`` time (never held unless a test holds it),
    without jitter (each wait is the whole backoff)."""
    stepped = stepped or SteppedTime()
    options: dict[str, Any] = {"batch_size": 50, "flush_interval_s": 0.02, "max_buffer_bytes": 1 << 24}
    options.update(overrides)
    sink = Sink(writer, sleep=stepped.sleep, clock=stepped.clock, jitter=lambda low, high: high, **options)
    return sink.start()


def retries(sink: Sink) -> int:
    return sink.metrics.total("ingest_write_retries")


def dead_letters_counted(sink: Sink) -> dict[str, int]:
    return sink.metrics.counts("ingest_events_rejected", "rule")


def event_rows(url: str) -> int:
    return sum(count(url, spec) for spec in (ORDERS, TELEMETRY, CAMPAIGNS))


def messages(bodies: list[bytes], origin: str = "test") -> list[Message]:
    return [Message(body, f"{origin}:{index}") for index, body in enumerate(bodies)]


def test_routes_each_family_to_its_table_and_lands_each_event_once(writer: Writer) -> None:
    bodies = [encode(body) for body in events(120)]
    sink = make_sink(writer)
    sink.add(messages(bodies + bodies[:30]))  # duplicates within the stream
    sink.close()
    sink = make_sink(writer)
    sink.add(messages(bodies[50:]))  # duplicates against the table
    sink.close()

    assert count(writer.url, ORDERS) == 60
    assert count(writer.url, TELEMETRY) == 30
    assert count(writer.url, CAMPAIGNS) == 30
    # Skipped, not dead-lettered: the second sink wrote nothing new and stored no dead letter.
    assert sink.metrics.total("ingest_rows_written") == 0
    assert count(writer.url, DEAD_LETTER_TABLE) == 0 and dead_letters_counted(sink) == {}
    ids = {str(event_id) for (event_id,) in rows(writer.url, ORDERS, "event_id")}
    assert ids == {body["event_id"] for body in events_of(bodies) if body["category"] == "order.lifecycle"}


def events_of(bodies: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(body) for body in bodies]


def test_a_row_keeps_the_event_whole(writer: Writer) -> None:
    body = event(payload={"order_id": "o-9", "unknown_field": {"kept": [1, 2]}}, actor=None)
    body["occurred_at"] = "2026-11-25T10:00:00+01:00"
    sink = make_sink(writer)
    sink.add(messages([encode(body)]))
    sink.close()
    [(event_id, order_id, actor_type, payload, occurred_at)] = rows(
        writer.url, ORDERS, "event_id, order_id, actor_type, payload, occurred_at"
    )
    assert str(event_id) == body["event_id"]
    assert (order_id, actor_type) == ("o-9", None)
    stored = payload if isinstance(payload, dict) else json.loads(payload)
    assert stored == {"order_id": "o-9", "unknown_field": {"kept": [1, 2]}}
    assert occurred_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


# Every kind of bad input, with the rule its dead letter must name.
BAD_INPUT: dict[str, tuple[bytes, str]] = {
    "not json": (b"hello, warehouse", "json_invalid"),
    "invalid utf-8": (b'{"event_id": "\xff\xfe", "category": "order.lifecycle"}', "json_invalid"),
    "empty": (b"", "json_invalid"),
    "json null": (b"null", "object_type"),
    "json array": (b"[1, 2]", "object_type"),
    "wrong type": (encode(event(schema_version="1")), "int_type"),
    "missing required field": (
        encode({k: v for k, v in event().items() if k != "occurred_at"}),
        "missing",
    ),
    "missing fact": (encode(event(payload={"branch_id": "b"})), "missing"),
    "unknown category": (encode(event() | {"category": "billing.invoice"}), "unknown_category"),
    "unknown name": (encode(event() | {"name": "teleported"}), "unknown_event_name"),
    "NaN": (encode(event(context={"score": float("nan")})), "finite_number"),
    "Infinity": (
        encode(
            event(
                "driver.telemetry",
                "location_updated",
                payload={"driver_id": "d", "latitude": float("inf"), "longitude": 1.0},
            )
        ),
        "finite_number",
    ),
    "a mantissa that carries a double past its range": (
        encode(event(context={"big": 1})).replace(b'"big": 1', b'"big": 99999999999e299'),
        "finite_number",
    ),
    "NUL character": (encode(event(source="a\u0000pi")), "no_nul_character"),
    "naive timestamp": (encode(event(occurred_at="2026-11-25T10:00:00")), "timezone_aware"),
    "timestamp before year 1 in UTC": (
        encode(event(occurred_at="0001-01-01T00:00:00+01:00")),
        "datetime_range",
    ),
    "out of range": (
        encode(
            event(
                "driver.telemetry",
                "location_updated",
                payload={"driver_id": "d", "latitude": 91.0, "longitude": 1.0},
            )
        ),
        "less_than_equal",
    ),
    "deep nesting": (b'{"context": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "json_invalid"),
    "huge truncated body": (encode(event(context={"blob": "x" * 3_000_000}))[:2_000_000], "json_invalid"),
    "lone surrogate": (encode(event()).replace(b'"api"', b'"\\ud800"'), "json_invalid"),
}


def test_text_with_carriage_returns_and_line_breaks_lands_as_written(writer: Writer) -> None:
    """Valid events are rows, not warehouse refusals, whatever their text holds (DuckDB's CSV
    staging once refused a lone carriage return and dead-lettered the event)."""
    texts = ["c-\r1", "c-\r\n2", "c-\n3", "\r", "c-4\r"]
    bodies = [encode(event(actor={"type": "customer", "id": text})) for text in texts]
    sink = make_sink(writer)
    sink.add(messages(bodies))
    sink.close()
    assert dead_letters_counted(sink) == {}
    assert sorted(row[0] for row in rows(writer.url, ORDERS, "actor_id")) == sorted(texts)


def test_bad_input_becomes_dead_letters_with_reasons_and_valid_events_around_it_land(writer: Writer) -> None:
    good = [encode(body) for body in events(len(BAD_INPUT) + 1)]
    stream: list[bytes] = []
    for index, (raw, _) in enumerate(BAD_INPUT.values()):
        stream += [good[index], raw]
    stream.append(good[-1])
    sink = make_sink(writer, batch_size=7)
    sink.add(messages(stream, "replay:bad.jsonl"))
    sink.close()

    landed = sum(count(writer.url, spec) for spec in (ORDERS, TELEMETRY, CAMPAIGNS))
    assert landed == len(good)
    letters = {
        bytes(raw): (rule, field, error, origin)
        for raw, rule, field, error, origin in rows(
            writer.url, DEAD_LETTER_TABLE, "raw_body, error_rule, error_field, error, origin"
        )
    }
    assert len(letters) == len(BAD_INPUT)
    for kind, (raw, rule) in BAD_INPUT.items():
        assert raw in letters, f"{kind}: no dead letter with the exact raw bytes"
        stored_rule, _, error, origin = letters[raw]
        assert stored_rule == rule, f"{kind}: {error}"
        assert f"rule={rule}" in error and len(error) < 5000
        assert origin.startswith("replay:bad.jsonl:")


def test_dead_letter_names_field_and_claims(writer: Writer) -> None:
    body = event(schema_version="2")
    sink = make_sink(writer)
    sink.add(messages([encode(body)]))
    sink.close()
    [(field, category, event_id, error)] = rows(
        writer.url, DEAD_LETTER_TABLE, "error_field, category, event_id, error"
    )
    assert (field, category, event_id) == ("schema_version", "order.lifecycle", body["event_id"])
    assert "value='2'" in error


def test_redelivered_bad_input_lands_once(writer: Writer) -> None:
    bad = [b"not json", b"{}"]
    for _ in range(2):
        sink = make_sink(writer)
        sink.add([Message(raw, "kafka:events/0/7") for raw in bad])
        sink.close()
    assert count(writer.url, DEAD_LETTER_TABLE) == 2


def test_a_row_the_warehouse_refuses_is_isolated_and_the_rest_of_its_batch_lands(writer: Writer) -> None:
    # Valid by the schema, refused by a constraint of the warehouse's own.
    refuse_rows(writer.url, ORDERS, "source <> 'poison'")
    poison = encode(event(source="poison"))
    good = [encode(body) for body in events(40)]
    sink = make_sink(writer, batch_size=100)
    sink.add(messages([*good[:20], poison, *good[20:]]))
    sink.close()
    assert sum(count(writer.url, spec) for spec in (ORDERS, TELEMETRY, CAMPAIGNS)) == 40
    [(rule, raw)] = rows(writer.url, DEAD_LETTER_TABLE, "error_rule, raw_body")
    assert (rule, bytes(raw)) == ("warehouse_rejected", poison)
    assert dead_letters_counted(sink) == {"warehouse_rejected": 1}


def test_a_dead_letter_the_warehouse_refuses_is_retried_and_its_position_never_reported(
    writer: Writer,
) -> None:
    """Issue 12 (1): the refused row's dead letter fails too; it must hold its position back until
    the warehouse takes it, not be logged and dropped with the position acknowledged."""
    refuse_rows(writer.url, ORDERS, "source <> 'poison'")
    refuse_rows(writer.url, DEAD_LETTER_TABLE, "error_rule <> 'warehouse_rejected'")
    poison = encode(event(source="poison"))
    sink = make_sink(writer, batch_size=10)
    sink.add(messages([encode(event()), poison]), position="p1")
    assert not sink.flush(timeout=0.5)
    wait_for(lambda: retries(sink) >= 3, timeout=30, what="the dead letter to be retried")
    assert sink.take_committed() == []
    assert dead_letters_counted(sink) == {}
    refuse_rows(writer.url, DEAD_LETTER_TABLE, "true")  # the (empty) table takes every row again
    assert sink.flush(timeout=30)
    sink.close()
    assert sink.take_committed() == ["p1"]
    [(rule, raw)] = rows(writer.url, DEAD_LETTER_TABLE, "error_rule, raw_body")
    assert (rule, bytes(raw)) == ("warehouse_rejected", poison)
    assert event_rows(writer.url) == 1


@pytest.mark.parametrize(
    ("body", "claimed"),
    [
        (b'{"category": "order\\u0000", "event_id": "e-1"}', ("order\\u0000", "e-1")),
        (b'{"category": "order.lifecycle", "event_id": "e\\u0000-2"}', ("order.lifecycle", "e\\u0000-2")),
        (b'{"category": "\\ud800", "event_id": "e-3"}', ("\\ud800", "e-3")),
    ],
)
def test_a_dead_letter_claiming_nul_or_a_lone_surrogate_is_stored_with_its_exact_bytes(
    writer: Writer, body: bytes, claimed: tuple[str, str]
) -> None:
    """Issue 12 (2): Postgres refuses NUL in text; the claims are stored escaped, the body exact."""
    sink = make_sink(writer)
    sink.add(messages([body]), position="p")
    assert sink.flush(timeout=30)
    sink.close()
    assert sink.take_committed() == ["p"]
    [(raw, category, event_id)] = rows(writer.url, DEAD_LETTER_TABLE, "raw_body, category, event_id")
    assert bytes(raw) == body
    assert (category, event_id) == claimed
    assert sum(dead_letters_counted(sink).values()) == 1 and retries(sink) == 0


def test_flush_interval_writes_a_partial_batch(writer: Writer) -> None:
    sink = make_sink(writer, batch_size=10_000, flush_interval_s=0.05)
    sink.add(messages([encode(event())]), position="p1")
    assert sink.take_committed() == []
    time.sleep(0.06)
    sink.tick()
    wait_for(lambda: sink.take_committed() == ["p1"], timeout=10, what="the position to be committed")
    assert count(writer.url, ORDERS) == 1
    sink.close()


def test_positions_are_reported_only_after_their_batch_commits(pg_url: str, pg_writer: Writer) -> None:
    writer = pg_writer
    sink = make_sink(writer, batch_size=5, flush_interval_s=60)
    with psycopg.connect(pg_url) as blocker:
        lock_event_tables(blocker)
        sink.add(messages([encode(event()) for _ in range(5)]), position="first")
        # The batch is in the warehouse, waiting on the lock: written but not committed.
        wait_for(lambda: waiting_on_a_lock(pg_url), timeout=30, what="the write to wait on the lock")
        assert sink.take_committed() == []
        assert count(pg_url, ORDERS) == 0
    assert sink.flush(timeout=10)
    assert sink.take_committed() == ["first"]
    assert count(pg_url, ORDERS) == 5
    sink.close()


def test_backpressure_when_the_warehouse_stalls_then_drains(pg_url: str, pg_writer: Writer) -> None:
    writer = pg_writer
    bodies = [encode(body) for body in events(400)]
    sink = make_sink(writer, batch_size=50, max_buffer_bytes=20_000)
    with psycopg.connect(pg_url) as blocker:
        lock_event_tables(blocker)
        taken = 0
        while not sink.full:
            sink.add(messages(bodies[taken : taken + 50]))
            taken += 50
        assert sink.full and taken < len(bodies)
        assert count(pg_url, ORDERS) == 0
    wait_for(lambda: not sink.full, timeout=10, what="the sink to drain")
    sink.add(messages(bodies[taken:]))
    sink.close()
    assert sum(count(pg_url, spec) for spec in (ORDERS, TELEMETRY, CAMPAIGNS)) == 400


def _returns_within(call: Any, seconds: float) -> Any:
    """Run ``call`` in a thread; fail if it has not returned after ``seconds`` (a liveness bound,
    not a speed measurement: blocked, it would wait until the warehouse comes back)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{call} blocked while the warehouse was stalled"
    return result[0]


def test_tick_and_bounded_flush_never_block_on_a_stalled_warehouse(pg_url: str, pg_writer: Writer) -> None:
    """A consumer's poll loop calls tick(), and a rebalance calls flush(timeout): both must return
    while the warehouse is stalled, or the member is evicted and the group blocks."""
    bodies = [encode(body) for body in events(400)]
    sink = make_sink(pg_writer, batch_size=50, flush_interval_s=0.0, max_buffer_bytes=10_000_000)
    with psycopg.connect(pg_url) as blocker:
        lock_event_tables(blocker)
        taken = 0
        while not sink.full:
            sink.add(messages(bodies[taken : taken + 50]), position=taken)
            taken += 50
        sink.add(messages(bodies[taken : taken + 10]), position=taken)  # an open batch, due at once
        _returns_within(sink.tick, 5)
        assert _returns_within(lambda: sink.flush(timeout=0.5), 5) is False
        assert sink.take_committed() == []
    assert sink.flush(timeout=30)
    sink.close()
    assert sink.take_committed() == list(range(0, taken + 1, 50))
    assert sum(count(pg_url, spec) for spec in (ORDERS, TELEMETRY, CAMPAIGNS)) == taken + 10


def _set_read_only(pg_url: str, read_only: bool) -> None:
    """Make the database refuse every write, as a standby does after a failover."""
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            f'ALTER DATABASE "{database}" SET default_transaction_read_only = {"on" if read_only else "off"}'
        )
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            (database,),
        )


def test_a_warehouse_refusing_every_write_is_retried_not_dead_lettered(
    pg_url: str, pg_writer: Writer
) -> None:
    """A refusal that is not about the rows (here: read-only) must stall and retry; isolating rows
    into dead letters would fail the same way and drop good events with their positions committed."""
    sink = make_sink(pg_writer, batch_size=4, flush_interval_s=0.01)
    _set_read_only(pg_url, True)
    try:
        sink.add(messages([encode(body) for body in events(4)]), position={0: 4})
        assert not sink.flush(timeout=0.5)
        wait_for(lambda: retries(sink) >= 3, timeout=30, what="retries while read-only")
        assert sink.take_committed() == []
        assert dead_letters_counted(sink) == {}
    finally:
        _set_read_only(pg_url, False)
    assert sink.flush(timeout=30)
    sink.close()
    assert sink.take_committed() == [{0: 4}]
    assert event_rows(pg_url) == 4
    assert count(pg_url, DEAD_LETTER_TABLE) == 0


def test_a_missing_table_or_schema_is_retried_never_bisected_into_dead_letters(pg_url: str) -> None:
    """Issue 12 (1): an error that is not the warehouse refusing rows (no table yet) holds the batch
    and its position until provisioning fixes it; not one dead letter is made of good events."""
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url))
    sink = make_sink(writer, batch_size=8)
    sink.add(messages([encode(body) for body in events(8)]), position="p")
    wait_for(lambda: retries(sink) >= 3, timeout=30, what="retries while the tables are missing")
    assert sink.take_committed() == [] and dead_letters_counted(sink) == {}
    assert sink.last_error is not None and "analytics" in sink.last_error
    open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url)).provision()
    assert sink.flush(timeout=30)
    sink.close()
    writer.close()
    assert sink.take_committed() == ["p"]
    assert event_rows(pg_url) == 8 and count(pg_url, DEAD_LETTER_TABLE) == 0


def test_killed_warehouse_connections_are_retried_and_nothing_is_lost(pg_url: str, pg_writer: Writer) -> None:
    """The writer's connection is killed between two batches (deterministically, not by a racing
    loop): the next write fails on the dead connection, is retried on a new one, and lands."""
    bodies = [encode(body) for body in events(200)]
    sink = make_sink(pg_writer, batch_size=100, flush_interval_s=60)
    sink.add(messages(bodies[:100]), position="first")
    assert sink.flush(timeout=30)
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND backend_type = 'client backend'",
            (database,),
        ).fetchone()
    assert killed == (1,)
    sink.add(messages(bodies[100:]), position="second")
    assert sink.flush(timeout=30)
    sink.close()
    assert retries(sink) == 1
    assert sink.take_committed() == ["first", "second"]
    assert event_rows(pg_url) == 200


def test_after_an_outage_the_write_resumes_as_soon_as_the_warehouse_answers(
    outage_cluster: ThrowawayPostgres,
) -> None:
    """Issue 12 (8): a long backoff must not delay catch-up once the warehouse is back. Time is
    stepped: the sink is held in a wait several seconds long, the cluster comes back, and the
    write must commit within about one probe interval of stepped time, not at the end of the wait."""
    url = outage_cluster.create_database(f"outage_{uuid.uuid4().hex[:10]}")
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=url))
    writer.provision()
    stepped = SteppedTime()
    sink = make_sink(writer, stepped, batch_size=10, flush_interval_s=60)
    outage_cluster.stop()
    try:
        sink.add(messages([encode(body) for body in events(10)]), position="p")
        stepped.wait_until(5.0)  # several failed attempts: the backoff is now seconds long
        held_at = stepped.hold()
    finally:
        outage_cluster.start()
    stepped.release()
    assert sink.flush(timeout=60)
    assert sink.take_committed() == ["p"]
    assert stepped.now - held_at <= 2 * PROBE_INTERVAL_S, stepped.slept
    sink.close()
    writer.close()
    assert event_rows(url) == 10


@pytest.mark.parametrize("batch_size", [1, 3])
def test_tiny_batches_still_write_everything(writer: Writer, batch_size: int) -> None:
    bodies = [encode(body) for body in events(10)]
    sink = make_sink(writer, batch_size=batch_size)
    sink.add(messages(bodies))
    sink.close()
    assert sum(count(writer.url, spec) for spec in (ORDERS, TELEMETRY, CAMPAIGNS)) == 10
