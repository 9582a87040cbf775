"""The stack-output contract: derived from the tables, strict, and free of secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from schema import EVENT_TABLES, BusContract, StackOutputs, build_contract, schema_fingerprint
from schema.contract import Provider, looks_secret, mask_secrets, strings

KAFKA = BusContract(
    driver="kafka",
    topic="analytics-events",
    dead_letter_topic="analytics-events-dlq",
    brokers=["localhost:9092"],
)


@pytest.mark.parametrize(
    ("provider", "namespace", "catalog", "expected"),
    [
        ("postgres", "analytics", None, "analytics.analytics_order_lifecycle_events"),
        ("duckdb", "main", None, "main.analytics_order_lifecycle_events"),
        (
            "bigquery",
            "laundry_analytics",
            "laundry-prod",
            "laundry-prod.laundry_analytics.analytics_order_lifecycle_events",
        ),
        ("snowflake", "analytics", "laundry", "LAUNDRY.ANALYTICS.ANALYTICS_ORDER_LIFECYCLE_EVENTS"),
    ],
)
def test_contract_per_provider(
    provider: Provider, namespace: str, catalog: str | None, expected: str
) -> None:
    contract = build_contract(provider, namespace, KAFKA, catalog=catalog)
    table = contract.tables["order.lifecycle"]  # type: ignore[index]
    assert table.table == expected
    spec = next(iter(EVENT_TABLES.values()))
    assert [c.name for c in table.columns] == list(spec.column_names)
    assert table.dedup_key == ["event_id"] and table.partitioning.column == "occurred_at"
    assert contract.schema_fingerprint == schema_fingerprint()
    assert contract.dead_letter_table.name == "analytics_dead_letter_events"


def test_contract_round_trips_through_json() -> None:
    contract = build_contract(
        "bigquery", "ds", BusContract(driver="pubsub", topic="t", project="laundry-prod")
    )
    outputs: dict[str, Any] = json.loads(json.dumps(contract.model_dump(mode="json")))
    assert StackOutputs.model_validate(outputs) == contract


def test_contract_rejects_unknown_keys_and_missing_tables() -> None:
    outputs = build_contract("postgres", "analytics", KAFKA).model_dump(mode="json")
    with pytest.raises(ValidationError, match="extra"):
        StackOutputs.model_validate(dict(outputs, plan_file="x"))
    outputs["tables"].pop("driver.telemetry")
    with pytest.raises(ValidationError, match="tables missing"):
        StackOutputs.model_validate(outputs)


@pytest.mark.parametrize(
    ("bus", "message"),
    [
        ({"driver": "kafka", "topic": "t"}, "kafka needs topic and brokers"),
        ({"driver": "pubsub", "topic": "t"}, "pubsub needs topic and project"),
    ],
)
def test_bus_must_be_complete(bus: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusContract.model_validate(bus)


def test_secret_looking_outputs_are_refused() -> None:
    with pytest.raises(ValidationError, match="ingest_endpoint looks like it carries a secret"):
        build_contract("postgres", "analytics", KAFKA, ingest_endpoint="https://admin:hunter2@ingest.example")


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("postgresql://warehouse:warehouse@localhost:5433/db", True),
        ("password=abc", True),
        ("snowflake://svc@acct/db?passcode=123456", True),
        ("-----BEGIN RSA PRIVATE KEY-----", True),
        ("https://ingest-abc.a.run.app", False),
        ("localhost:9092", False),
        ("analytics.analytics_order_lifecycle_events", False),
    ],
)
def test_looks_secret(value: str, secret: bool) -> None:
    assert looks_secret(value) is secret


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "connection to postgresql://warehouse:hunter2@db:5432/w failed",
            "connection to postgresql://warehouse:[secret]@db:5432/w failed",
        ),
        ("login failed: password=hunter2; retrying", "login failed: password=[secret]; retrying"),
        ("token: 'abc def' rejected", "token: [secret] rejected"),
        ("key -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- bad", "key [secret] bad"),
        ("nothing secret at localhost:9092", "nothing secret at localhost:9092"),
        ("snowflake://svc:p@ss@acct/db?warehouse=w", "snowflake://svc:[secret]@acct/db?warehouse=w"),
        (
            "postgresql://u:a@b@c@db/w and user@example.com",
            "postgresql://u:[secret]@db/w and user@example.com",
        ),
        ("{'user': 'u', 'password': 'hunter2'}", "{'user': 'u', 'password': [secret]}"),
        (
            '{"private_key_file_pwd": "hunter2", "token": "abc"}',
            '{"private_key_file_pwd": [secret], "token": [secret]}',
        ),
        (  # Snowflake's MFA passcode, in a URL and in the connector's arguments
            "snowflake://svc@acct/db?passcode=123456&warehouse=w {'passcode': '654321'}",
            "snowflake://svc@acct/db?passcode=[secret]&warehouse=w {'passcode': [secret]}",
        ),
        ("http://localhost:8080/x mailto:a@b", "http://localhost:8080/x mailto:a@b"),
    ],
)
def test_mask_secrets_replaces_each_credential_with_the_one_mask(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_strings_yields_every_string_with_its_path() -> None:
    value = {"a": {"b": ["x", 1, ("y", {"c": "z"})]}, "d": None, "e": "w"}
    assert list(strings(value)) == [("a.b[0]", "x"), ("a.b[2][0]", "y"), ("a.b[2][1].c", "z"), ("e", "w")]
