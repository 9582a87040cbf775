"""The BigQuery writer on bqemulator, the stand-in that runs here (see tests/bqemulator/).

Where the stand-in differs from BigQuery the test says so: it reports no bytes processed, does not
enforce REQUIRED on load, stores a load job's base64 text in a BYTES column without decoding it,
and needs JSON column values of streaming inserts as strings. The writer avoids the last two.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core.exceptions import BadRequest, ServiceUnavailable
from google.api_core.retry import Retry
from google.cloud import bigquery

from ingest import check
from ingest.cli import main
from ingest.messages import Message
from ingest.writers import Writer, bigquery_errors, open_writer
from ingest.writers import bigquery as bigquery_writer
from schema import DEAD_LETTER_TABLE, TABLES, parse_event, table_for
from schema.dialects import BIGQUERY as dialect
from schema.rows import event_row
from tests.ingest.bigquery_support import (
    BIGQUERY_PROJECT,
    client,
    count,
    dataset_of,
    event_ids,
    rows,
    staging_tables,
)
from tests.ingest.support import encode, event, events, free_port, settings
from tests.ingest.test_sink import make_sink, messages

ORDERS = table_for("order.lifecycle")
TELEMETRY = table_for("driver.telemetry")
CAMPAIGNS = table_for("campaign.interaction")


def order_rows(count_: int) -> list[tuple[Any, ...]]:
    """Order rows whose occurred_at spreads over several days (and so partitions) and hours."""
    stamp = datetime.now(UTC)
    return [
        event_row(
            parse_event(encode(event(occurred_at=f"2026-11-{10 + n % 7:02d}T{n % 24:02d}:15:00+01:00"))),
            stamp,
        )
        for n in range(count_)
    ]


def test_provision_creates_the_tables_the_program_declares_and_is_idempotent(bq_url: str) -> None:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=bq_url))
    try:
        first = writer.provision()
        again = writer.provision()
    finally:
        writer.close()
    assert len(first) == 1 + len(TABLES) and again == []
    with client() as bq:
        for spec in TABLES:
            table = bq.get_table(f"{BIGQUERY_PROJECT}.{dataset_of(bq_url)}.{spec.name}")
            # The same resource the Pulumi program declares, from the schema module's dialect.
            declared = dialect.table_resource(spec)
            assert [field.to_api_repr() for field in table.schema] == [
                {**field, "description": field.get("description")} for field in declared["schema"]["fields"]
            ]
            assert table.time_partitioning.type_ == "DAY"
            assert table.time_partitioning.field == declared["timePartitioning"]["field"]
            assert table.clustering_fields == declared["clustering"]["fields"]
            assert table.description == declared["description"]


def test_check_reports_a_missing_column_and_a_retyped_one_and_provision_adds_the_missing(
    bq_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"WAREHOUSE_DATABASE_URL": bq_url}
    dataset = dataset_of(bq_url)
    with client() as bq:
        bq.create_dataset(dataset)
        fields = [bigquery.SchemaField.from_api_repr(f) for f in dialect.schema_fields(ORDERS)]
        without_status = [f for f in fields if f.name != "status"]
        bq.create_table(bigquery.Table(f"{BIGQUERY_PROJECT}.{dataset}.{ORDERS.name}", schema=without_status))
        retyped = [
            bigquery.SchemaField("latitude", "STRING") if f.name == "latitude" else f
            for f in (bigquery.SchemaField.from_api_repr(x) for x in dialect.schema_fields(TELEMETRY))
        ]
        bq.create_table(bigquery.Table(f"{BIGQUERY_PROJECT}.{dataset}.{TELEMETRY.name}", schema=retyped))

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["check"]) == 1
        out = capsys.readouterr().out
        assert f"DIFFERS  {dataset}.{ORDERS.name}" in out
        assert f"{ORDERS.name}.status: add_column" in out and "`ingest provision` adds it in place" in out
        assert f"DIFFERS  {dataset}.{TELEMETRY.name}" in out
        assert f"{TELEMETRY.name}.latitude" in out and "needs a reviewed migration" in out
        assert f"MISSING  {dataset}.{CAMPAIGNS.name}" in out

        assert main(["provision"]) == 1  # the retyped column still differs: not in place
        out = capsys.readouterr().out
        assert (
            f"applied: ALTER TABLE `{dataset}.{ORDERS.name}` ADD COLUMN IF NOT EXISTS `status` STRING" in out
        )
        assert f"ok       {dataset}.{CAMPAIGNS.name}" in out
        assert f"DIFFERS  {dataset}.{TELEMETRY.name}" in out
    # The column is in the table now. (On BigQuery tables.get shows it too, and check passes; the
    # stand-in's ALTER changes its storage but not the schema tables.get reports.)
    assert rows(bq_url, ORDERS, "count(status)") == [(0,)]


def test_provisioned_tables_pass_check(bq_writer: Writer) -> None:
    reports = check.compare(bq_writer)
    assert [report.spec.name for report in reports if not report.ok] == []


def test_a_row_keeps_the_event_whole(bq_writer: Writer) -> None:
    body = event(payload={"order_id": "o-9", "unknown_field": {"kept": [1, 2], "é": None}}, actor=None)
    body["occurred_at"] = "2026-11-25T10:00:00.123456+01:00"
    sink = make_sink(bq_writer)
    sink.add(messages([encode(body)]))
    sink.close()
    [(event_id, order_id, actor_type, payload, context, occurred_at, version)] = rows(
        bq_writer.url, ORDERS, "event_id, order_id, actor_type, payload, context, occurred_at, schema_version"
    )
    assert event_id == body["event_id"]
    assert (order_id, actor_type, version) == ("o-9", None, 1)
    decoded = [value if isinstance(value, dict) else json.loads(value) for value in (payload, context)]
    assert decoded == [{"order_id": "o-9", "unknown_field": {"kept": [1, 2], "é": None}}, body["context"]]
    assert occurred_at == datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=UTC)


def test_duplicates_within_and_across_batches_land_once(bq_writer: Writer) -> None:
    bodies = [encode(body) for body in events(400)]
    sink = make_sink(bq_writer, batch_size=150)
    sink.add(messages(bodies + bodies[:100]))  # within the stream and across its batches
    sink.close()
    sink = make_sink(bq_writer, batch_size=150)
    sink.add(messages(bodies[200:]))  # against the table
    sink.close()
    stored = event_ids(bq_writer.url)
    assert sorted(stored) == sorted(json.loads(body)["event_id"] for body in bodies)
    assert sink.metrics.total("ingest_rows_written") == 0


def test_the_writer_merges_duplicate_rows_of_one_batch_once_and_counts_new_rows(bq_writer: Writer) -> None:
    # The sink drops duplicates before the writer; the writer must not rely on it.
    batch = order_rows(30)
    assert bq_writer.write({ORDERS: batch + batch[:10]}) == {ORDERS.name: 30}
    assert bq_writer.write({ORDERS: batch[20:] + order_rows(5)}) == {ORDERS.name: 5}
    assert count(bq_writer.url, ORDERS) == 35
    assert staging_tables(bq_writer.url) == []


def test_dead_letters_keep_raw_bytes_exactly_also_when_not_utf8(bq_writer: Writer) -> None:
    bad = [b'{"event_id": "\xff\xfe", "category": "order.lifecycle"}', b"\x00\x01\x02\xff\xfe", b"not json"]
    valid = [encode(body) for body in events(10)]
    sink = make_sink(bq_writer)
    sink.add(messages([*bad, *valid]))
    sink.close()
    sink = make_sink(bq_writer)
    sink.add(messages(bad))  # the same bad input from the same place again: lands once
    sink.close()
    stored = rows(bq_writer.url, DEAD_LETTER_TABLE, "raw_body, error_rule, origin")
    assert sorted((bytes(raw), origin) for raw, _, origin in stored) == sorted(
        (raw, f"test:{index}") for index, raw in enumerate(bad)
    )
    assert {rule for _, rule, _ in stored} == {"json_invalid"}
    assert (
        count(bq_writer.url, ORDERS) + count(bq_writer.url, TELEMETRY) + count(bq_writer.url, CAMPAIGNS) == 10
    )


def test_a_row_bigquery_refuses_is_dead_lettered_and_the_rest_of_its_batch_lands(bq_writer: Writer) -> None:
    """Validation lets nothing through that BigQuery cannot store, so the refused row is forged:
    an envelope whose schema_version is text, which the load job refuses for that row."""
    valid = [encode(body) for body in events(40)]
    raw = encode(event())
    forged = parse_event(raw).model_copy(update={"schema_version": "not a number"})
    sink = make_sink(bq_writer)
    sink.add(
        [*messages(valid[:20]), Message(raw, "test:forged", event=forged), *messages(valid[20:], "rest")]
    )
    sink.close()
    assert sorted(event_ids(bq_writer.url)) == sorted(json.loads(body)["event_id"] for body in valid)
    [(rule, stored, error)] = rows(bq_writer.url, DEAD_LETTER_TABLE, "error_rule, raw_body, error")
    assert (rule, bytes(stored)) == ("warehouse_rejected", raw)
    assert "RowsRefused" in error
    assert staging_tables(bq_writer.url) == []


def test_an_unreachable_bigquery_is_retried_never_refused(
    bq_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(bigquery_writer, "API_DEADLINE_S", 1.0)
    monkeypatch.setattr(bigquery_writer, "_RETRY", Retry(deadline=1.0))
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=bq_url))
    with pytest.raises(Exception) as raised:
        writer.write({ORDERS: order_rows(3)})
    assert not writer.refuses_rows(raised.value)
    with pytest.raises(Exception):  # noqa: B017 - any error: readiness only needs one
        writer.ping()
    writer.close()


def test_a_missing_table_or_column_is_retried_never_refused(bq_url: str) -> None:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=bq_url))
    try:
        with pytest.raises(Exception) as missing_dataset:
            writer.write({ORDERS: order_rows(3)})
        assert not writer.refuses_rows(missing_dataset.value)
        dataset = dataset_of(bq_url)
        with client() as bq:
            bq.create_dataset(dataset)
            fields = [bigquery.SchemaField.from_api_repr(f) for f in dialect.schema_fields(ORDERS)]
            bq.create_table(bigquery.Table(f"{BIGQUERY_PROJECT}.{dataset}.{ORDERS.name}", schema=fields[:-1]))
        with pytest.raises(Exception) as missing_column:
            writer.write({ORDERS: order_rows(3)})
        assert not writer.refuses_rows(missing_column.value)
        assert count(bq_url, ORDERS) == 0
        assert staging_tables(bq_url) == []  # dropped although the MERGE failed
    finally:
        writer.close()


def test_a_staging_table_left_behind_by_a_crash_is_created_to_expire_on_its_own(
    bq_writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash is simulated by a drop that fails (the process dies before it in real life). The
    stand-in ignores a table's expirationTime, so the test checks what the writer asked for."""
    assert isinstance(bq_writer, bigquery_writer.BigQueryWriter)
    real = bq_writer.client()
    created: list[bigquery.Table] = []
    create_table = real.create_table

    def recording(table: bigquery.Table, *args: Any, **kwargs: Any) -> bigquery.Table:
        created.append(table)
        return create_table(table, *args, **kwargs)

    def dies(*args: Any, **kwargs: Any) -> None:
        raise ServiceUnavailable("the process died here")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(real, "create_table", recording)
    monkeypatch.setattr(real, "delete_table", dies)
    before = datetime.now(UTC)
    bq_writer.write({ORDERS: order_rows(3)})
    after = datetime.now(UTC)
    [left] = staging_tables(bq_writer.url)
    [staging] = created
    assert staging.table_id == left
    assert staging.expires is not None
    assert before + bigquery_writer.STAGING_TTL <= staging.expires + timedelta(milliseconds=1)
    assert staging.expires <= after + bigquery_writer.STAGING_TTL
    assert count(bq_writer.url, ORDERS) == 3


def test_concurrent_writers_use_their_own_staging_tables(bq_url: str) -> None:
    writers = [open_writer(settings(WAREHOUSE_DATABASE_URL=bq_url)) for _ in range(3)]
    writers[0].provision()
    batches = [order_rows(50) for _ in writers]
    errors: list[BaseException] = []

    def run(writer: Writer, batch: list[tuple[Any, ...]]) -> None:
        try:
            for start in range(0, len(batch), 10):
                writer.write({ORDERS: batch[start : start + 10]})
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(writers, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for writer in writers:
        writer.close()
    assert errors == []
    assert sorted(event_ids(bq_url)) == sorted(str(row[0]) for batch in batches for row in batch)
    assert staging_tables(bq_url) == []


@pytest.mark.parametrize(
    ("message", "names_rows"),
    [
        # BigQuery's own wording of a load job refusing rows, and the stand-in's.
        (
            "Error while reading data, error message: JSON parsing error in row starting at position 0: "
            "Could not convert value to string.",
            True,
        ),
        (
            "Error while reading data, error message: JSON table encountered too many errors, giving up. "
            "Rows: 1; errors: 1. Please look into the errors[] collection for more details.",
            True,
        ),
        ('Invalid Input Error: JSON transform error in file "/tmp/x.bin", in line 11: Failed to cast', True),
        ('Invalid Input Error: Malformed JSON in file "/tmp/x.bin", at byte 9 in record/value 2', True),
        # Not about rows: the table, the schema, the request.
        (
            "Provided Schema does not match Table p:d.t. Field order_id has changed type from STRING to INTEGER",
            False,
        ),
        ("Try setting 'auto_detect' to true, specifying 'format' or 'records' manually", False),
        ("Not found: Table p:d._ingest_staging_0", False),
    ],
)
def test_only_a_load_error_that_names_rows_refuses_them(message: str, names_rows: bool) -> None:
    """The messages are BigQuery's documented wording (a real BigQuery cannot run here) and the
    stand-in's as seen in these tests."""
    error = BadRequest(message, errors=[{"reason": "invalid", "message": message}])  # type: ignore[no-untyped-call]
    assert bigquery_errors.names_rows(error) is names_rows
