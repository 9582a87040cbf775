"""The Snowflake writer against fakesnow's server, through the real connector.

fakesnow stands in for Snowflake (DuckDB underneath); where it behaves differently the test says
so and tests what the stand-in can show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from snowflake.connector import network
from snowflake.connector.errors import ProgrammingError

from ingest.cli import main
from ingest.messages import Message
from ingest.sink import Sink
from ingest.writers import Writer, open_writer
from ingest.writers.snowflake import SnowflakeWriter
from schema import DEAD_LETTER_TABLE, EVENT_TABLES, TABLES, event_row, parse_event, table_for
from schema.dialects import SNOWFLAKE as dialect
from tests.ingest.snowflake_support import count, event_ids, event_rows, provision_unenforced, query, table
from tests.ingest.support import encode, event, events, free_port, settings

ORDERS = table_for("order.lifecycle")
TELEMETRY = table_for("driver.telemetry")
STAGE = dialect.qualified(dialect.DEFAULT_STAGE, dialect.DEFAULT_NAMESPACE)


@pytest.fixture
def sf_writer(snowflake_url: str) -> Iterator[Writer]:
    """A writer on tables that, as in Snowflake, do not enforce their primary key."""
    provision_unenforced(snowflake_url)
    opened = open_writer(settings(WAREHOUSE_DATABASE_URL=snowflake_url))
    yield opened
    opened.close()


def sink_into(writer: Writer, bodies: list[bytes], origin: str = "test", **options: Any) -> Sink:
    """Write ``bodies`` through a sink (validation, routing, dead letters) and drain it."""
    sink = Sink(
        writer, **{"batch_size": 500, "flush_interval_s": 0.05, "max_buffer_bytes": 1 << 24, **options}
    )
    sink.start()
    sink.add([Message(body, f"{origin}:{index}") for index, body in enumerate(bodies)])
    sink.close()
    return sink


def test_provision_creates_schema_stage_file_format_and_tables_and_check_then_passes(
    monkeypatch: pytest.MonkeyPatch, snowflake_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", snowflake_url)
    assert main(["check"]) == 1
    assert capsys.readouterr().out.count("MISSING") == len(TABLES)
    assert main(["provision"]) == 0
    assert main(["provision"]) == 0  # idempotent
    capsys.readouterr()
    assert main(["check"]) == 0
    output = capsys.readouterr().out
    assert output.count("ok       ANALYTICS.") == len(TABLES) and "DIFFERS" not in output
    stages = query(snowflake_url, 'SHOW STAGES IN SCHEMA "ANALYTICS"')
    assert [row[1] for row in stages] == [dialect.name(dialect.DEFAULT_STAGE)]
    formats = query(snowflake_url, 'SHOW FILE FORMATS IN SCHEMA "ANALYTICS"')
    assert [(row[1], row[4]) for row in formats] == [
        (dialect.name(dialect.file_format_name(dialect.DEFAULT_STAGE)), "JSON")
    ]


def test_check_names_a_retyped_column(
    monkeypatch: pytest.MonkeyPatch, snowflake_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", snowflake_url)
    assert main(["provision"]) == 0
    query(snowflake_url, f"DROP TABLE {table(ORDERS)}")
    create = dialect.create_table(ORDERS, dialect.DEFAULT_NAMESPACE)[0]
    query(snowflake_url, create.replace('"ORDER_ID" VARCHAR NOT NULL', '"ORDER_ID" NUMBER(38,0) NOT NULL'))
    capsys.readouterr()
    assert main(["check"]) == 1
    output = capsys.readouterr().out
    assert f"DIFFERS  ANALYTICS.{ORDERS.name}" in output
    assert f"{ORDERS.name}.order_id: alter_type" in output


def test_a_row_lands_with_every_column_as_the_schema_types_it(sf_writer: Writer, snowflake_url: str) -> None:
    body = event(
        "driver.telemetry",
        "location_updated",
        payload={
            "driver_id": "d-7",
            "latitude": 52.3731,
            "longitude": -4.8922,
            "extra": {"kept": [1, "two"]},
        },
        context={"request_id": "r-9", "quote": 'it\'s \\ "quoted"'},
        actor=None,
        occurred_at="2026-11-25T10:15:00.123456+01:00",
    )
    sink_into(sf_writer, [encode(body)])
    [row] = query(
        snowflake_url,
        f'SELECT "EVENT_ID", "EVENT_NAME", "OCCURRED_AT", "SCHEMA_VERSION", "ACTOR_TYPE", "CONTEXT", '
        f'"PAYLOAD", "DRIVER_ID", "LATITUDE", "LONGITUDE", "ACCURACY_M" FROM {table(TELEMETRY)}',
    )
    event_id, name, occurred_at, version, actor_type, context, payload, driver, lat, lon, accuracy = row
    assert (event_id, name, version, actor_type) == (body["event_id"], "location_updated", 1, None)
    assert occurred_at == datetime(2026, 11, 25, 9, 15, 0, 123456, tzinfo=UTC)
    assert json.loads(context) == body["context"]
    assert json.loads(payload) == body["payload"]
    assert (driver, lat, lon, accuracy) == ("d-7", 52.3731, -4.8922, None)


def test_duplicates_within_and_across_batches_land_once(sf_writer: Writer, snowflake_url: str) -> None:
    bodies = [encode(body) for body in events(300)]
    first = sink_into(sf_writer, bodies[:200] + bodies[:50], batch_size=1000)  # duplicates in one batch
    second = sink_into(sf_writer, bodies[100:], batch_size=1000)  # 100 already stored
    stored = event_ids(snowflake_url)
    assert sorted(stored) == sorted(json.loads(body)["event_id"] for body in bodies)
    assert first.metrics.total("ingest_rows_written") == 200
    assert second.metrics.total("ingest_rows_written") == 100


def test_the_writer_drops_duplicate_keys_in_the_rows_it_is_given(
    sf_writer: Writer, snowflake_url: str
) -> None:
    # The sink already dedups; the writer must not rely on it, since a MERGE inserts every
    # source row of a key the table does not have.
    parsed = parse_event(encode(event()))
    row = event_row(parsed, datetime.now(UTC))
    assert sf_writer.write({ORDERS: [row, row]}) == {ORDERS.name: 1}
    assert sf_writer.write({ORDERS: [row]}) == {ORDERS.name: 0}
    assert count(snowflake_url, ORDERS) == 1


def test_dead_letters_keep_bodies_that_are_not_utf8_byte_for_byte(
    sf_writer: Writer, snowflake_url: str
) -> None:
    bad = [
        b"\xff\xfe\x00\x01 binary \x80",
        b'{"event_id": "\xc3\x28", "category": "order.lifecycle"}',
        b"plain text, not json",
        bytes(range(256)),
    ]
    good = [encode(body) for body in events(4)]
    sink = sink_into(sf_writer, [good[0], *bad, *good[1:]], origin="kafka:events/0")
    assert event_rows(snowflake_url) == 4
    stored = query(snowflake_url, f'SELECT "RAW_BODY", "ERROR_RULE" FROM {table(DEAD_LETTER_TABLE)}')
    assert sorted(bytes(raw) for raw, _ in stored) == sorted(bad)
    assert {rule for _, rule in stored} == {"json_invalid"}
    assert sink.metrics.total("ingest_events_rejected") == len(bad)


def test_a_value_the_table_cannot_hold_is_dead_lettered_and_the_rest_of_its_batch_lands(
    sf_writer: Writer, snowflake_url: str
) -> None:
    """A DBA retyped order_id to a number: Snowflake refuses 'o-1' (SQLSTATE 22018; fakesnow says
    22007, the same class), accepts '123'. The refused rows are isolated, the rest land."""
    query(snowflake_url, f"DROP TABLE {table(ORDERS)}")
    create = dialect.create_table(ORDERS, dialect.DEFAULT_NAMESPACE)[0]
    query(snowflake_url, create.replace('"ORDER_ID" VARCHAR NOT NULL', '"ORDER_ID" NUMBER(38,0) NOT NULL'))
    numeric = [encode(event(payload={"order_id": str(100 + i)})) for i in range(6)]
    refused = encode(event(payload={"order_id": "o-1"}))
    others = [encode(event("driver.telemetry", "location_updated")) for _ in range(3)]
    sink = sink_into(sf_writer, [*numeric[:3], refused, *others, *numeric[3:]])
    assert count(snowflake_url, ORDERS) == 6
    assert count(snowflake_url, TELEMETRY) == 3
    [(rule, raw)] = query(snowflake_url, f'SELECT "ERROR_RULE", "RAW_BODY" FROM {table(DEAD_LETTER_TABLE)}')
    assert (rule, bytes(raw)) == ("warehouse_rejected", refused)
    assert sink.metrics.counts("ingest_events_rejected", "rule") == {"warehouse_rejected": 1}


def test_missing_tables_are_a_warehouse_problem_retried_never_dead_lettered(snowflake_url: str) -> None:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=snowflake_url))  # not provisioned
    row = event_row(parse_event(encode(event())), datetime.now(UTC))
    try:
        with pytest.raises(Exception) as raised:
            writer.write({ORDERS: [row]})
        assert not writer.refuses_rows(raised.value)
    finally:
        writer.close()


def test_an_unreachable_warehouse_is_retried_never_dead_lettered() -> None:
    url = f"snowflake://ingest:secret@nowhere/DB/ANALYTICS?host=127.0.0.1&port={free_port()}&protocol=http"
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=url + "&login_timeout=2"))
    row = event_row(parse_event(encode(event())), datetime.now(UTC))
    try:
        with pytest.raises(Exception) as raised:
            writer.write({ORDERS: [row]})
        assert not writer.refuses_rows(raised.value)
        with pytest.raises(type(raised.value)):
            writer.ping()
    finally:
        writer.close()


def test_staged_files_are_removed_once_loaded(sf_writer: Writer, snowflake_url: str) -> None:
    sink_into(sf_writer, [encode(body) for body in events(40)], batch_size=10)
    assert event_rows(snowflake_url) == 40
    assert query(snowflake_url, f"LIST @{STAGE}") == []


def test_the_stage_override_reaches_the_writer(snowflake_url: str) -> None:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=snowflake_url, SNOWFLAKE_STAGE="landing_zone"))
    try:
        assert isinstance(writer, SnowflakeWriter) and writer.stage == "landing_zone"
        writer.provision()
        stages = query(snowflake_url, 'SHOW STAGES IN SCHEMA "ANALYTICS"')
        assert [row[1] for row in stages] == ["LANDING_ZONE"]
        sink_into(writer, [encode(body) for body in events(8)])
    finally:
        writer.close()
    assert event_rows(snowflake_url) == 8


def test_every_event_table_is_written_in_one_batch(sf_writer: Writer, snowflake_url: str) -> None:
    bodies = events(12)
    counts = sink_into(sf_writer, [encode(body) for body in bodies]).metrics.counts(
        "ingest_rows_written", "table"
    )
    expected = {spec.name: 0 for spec in EVENT_TABLES.values()}
    for body in bodies:
        expected[table_for(body["category"]).name] += 1
    assert dict(counts) == expected
    assert {spec.name: count(snowflake_url, spec) for spec in EVENT_TABLES.values()} == expected


EXPIRED_TOKEN = ("390114", "Authentication token has expired.  The user must authenticate again.")
EXPIRED_SESSION = ("390112", "Your session has expired. Please login again.")


class ExpiredSessions:
    """FAULT INJECTION (fakesnow cannot expire a session: it answers an unknown token with HTTP
    401, which the connector raises as HttpError, not as Snowflake's codes): every session logged
    in before ``expire()`` gets Snowflake's answer, in its wire form, to each query (``query``)
    and to the renewal the connector then asks for (the master token expired too); a new login
    works. The connector's own code turns these answers into its errors. Replaces the connector's
    REST client ``fetch``."""

    def __init__(self, query: tuple[str, str]) -> None:
        self.answers = {
            "/queries/": {"data": None, "code": query[0], "message": query[1], "success": False},
            "/session/token-request": {
                "data": None,
                "code": EXPIRED_TOKEN[0],
                "message": EXPIRED_TOKEN[1],
                "success": False,
            },
        }
        self.seen: set[str] = set()
        self.expired: set[str] = set()
        self._real = network.SnowflakeRestful.fetch

    def expire(self) -> None:
        self.expired |= self.seen

    def fetch(self, rest: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if rest.token is not None:
            self.seen.add(rest.token)
        if rest.token in self.expired:
            for path, answer in self.answers.items():
                if path in url:
                    return answer
        return self._real(rest, method, url, *args, **kwargs)


@pytest.mark.parametrize("answer", [EXPIRED_TOKEN, EXPIRED_SESSION], ids=["token-expired", "session-expired"])
def test_an_expired_session_is_discarded_and_the_retry_logs_in_again(
    sf_writer: Writer, snowflake_url: str, monkeypatch: pytest.MonkeyPatch, answer: tuple[str, str]
) -> None:
    """Snowflake answers 390114 when the session's token expired; 390112 when the session did,
    and the connector's renewal is then refused with 390114. The writer must log in again."""
    sessions = ExpiredSessions(answer)
    monkeypatch.setattr(
        network.SnowflakeRestful, "fetch", lambda rest, *args, **kwargs: sessions.fetch(rest, *args, **kwargs)
    )
    first, second = (event_row(parse_event(encode(body)), datetime.now(UTC)) for body in events(2))
    assert sf_writer.write({ORDERS: [first]}) == {ORDERS.name: 1}
    sessions.expire()

    with pytest.raises(ProgrammingError) as expired:
        sf_writer.write({ORDERS: [second]})  # the sink's write loop retries this
    assert expired.value.errno == int(EXPIRED_TOKEN[0])
    assert sf_writer.write({ORDERS: [second]}) == {ORDERS.name: 1}
    assert count(snowflake_url, ORDERS) == 2
