"""Validation of the wire format: every rule of the contract (docs/contract.md), each with the
field and rule it reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schema import EventValidationError, parse_event, validate_event
from schema.events import FAMILIES
from tests.schema.events import PAYLOADS, raw, sample


@pytest.mark.parametrize(("category", "name"), sorted(PAYLOADS))
def test_every_event_name_validates(category: str, name: str) -> None:
    event = parse_event(raw(sample(category, name)))
    assert event.category == category
    assert event.name == name
    assert type(event.payload) is dict(next(f for f in FAMILIES if f.category == category).events)[name]


def test_samples_cover_every_event_name() -> None:
    assert set(PAYLOADS) == {(f.category.value, n) for f in FAMILIES for n in f.event_names}


def test_occurred_at_is_normalised_to_utc() -> None:
    event = parse_event(raw(sample("order.lifecycle", "created", occurred_at="2026-11-25T10:15:00+01:00")))
    assert event.occurred_at == datetime(2026, 11, 25, 9, 15, tzinfo=UTC)
    assert event.occurred_at.utcoffset() is not None and event.occurred_at.tzinfo is UTC


def test_unknown_payload_fields_are_kept() -> None:
    body = sample("driver.telemetry", "location_updated")
    body["payload"]["battery"] = {"level": 0.42, "charging": False}
    event = parse_event(raw(body))
    assert event.payload.model_extra == {"battery": {"level": 0.42, "charging": False}}
    assert json.loads(event.payload.model_dump_json(exclude_unset=True))["battery"]["level"] == 0.42


def test_schema_version_defaults_to_one_and_actor_is_optional() -> None:
    body = sample("order.lifecycle", "created")
    del body["schema_version"], body["actor"], body["context"]
    event = parse_event(raw(body))
    assert (event.schema_version, event.actor, event.context) == (1, None, {})


def _reject(body: Any) -> EventValidationError:
    data = body if isinstance(body, bytes) else raw(body)
    with pytest.raises(EventValidationError) as caught:
        parse_event(data)
    return caught.value


def _with_payload(category: str, name: str, **changes: Any) -> dict[str, Any]:
    body = sample(category, name)
    for key, value in changes.items():
        if value is _DELETE:
            del body["payload"][key]
        else:
            body["payload"][key] = value
    return body


_DELETE = object()

REJECTIONS: list[tuple[str, Any, str, str]] = [
    ("not json", b"{not json", "", "json_invalid"),
    ("invalid utf-8", b'{"event_id": "\xff\xfe"}', "", "json_invalid"),
    ("empty body", b"", "", "json_invalid"),
    ("array instead of object", b"[1, 2]", "", "object_type"),
    (
        "unknown category",
        sample("order.lifecycle", "created", category="billing.invoice"),
        "category",
        "unknown_category",
    ),
    ("unknown name", sample("order.lifecycle", "created", name="teleported"), "name", "unknown_event_name"),
    ("category missing", {"name": "created"}, "category", "missing"),
    ("category not a string", {"category": 7, "name": "created"}, "category", "string_type"),
    ("event_id not a uuid", sample("order.lifecycle", "created", event_id="42"), "event_id", "uuid_parsing"),
    (
        "naive timestamp",
        sample("order.lifecycle", "created", occurred_at="2026-11-25T10:15:00"),
        "occurred_at",
        "timezone_aware",
    ),
    (
        "not a timestamp",
        sample("order.lifecycle", "created", occurred_at="yesterday"),
        "occurred_at",
        "datetime_parsing",
    ),
    (
        "timestamp before year 1 in UTC",
        sample("order.lifecycle", "created", occurred_at="0001-01-01T00:00:00+01:00"),
        "occurred_at",
        "datetime_range",
    ),
    (
        "timestamp after year 9999 in UTC",
        sample("order.lifecycle", "created", occurred_at="9999-12-31T23:59:59-01:00"),
        "occurred_at",
        "datetime_range",
    ),
    (
        "schema_version zero",
        sample("order.lifecycle", "created", schema_version=0),
        "schema_version",
        "greater_than_equal",
    ),
    (
        "schema_version beyond bigint",
        sample("order.lifecycle", "created", schema_version=2**63),
        "schema_version",
        "less_than_equal",
    ),
    (
        "schema_version as string",
        sample("order.lifecycle", "created", schema_version="1"),
        "schema_version",
        "int_type",
    ),
    (
        "source missing",
        {k: v for k, v in sample("order.lifecycle", "created").items() if k != "source"},
        "source",
        "missing",
    ),
    ("unknown top-level field", sample("order.lifecycle", "created", trace="t"), "trace", "extra_forbidden"),
    (
        "unknown actor key",
        sample("order.lifecycle", "created", actor={"type": "a", "id": "b", "x": 1}),
        "actor.x",
        "extra_forbidden",
    ),
    ("context not an object", sample("order.lifecycle", "created", context=[1]), "context", "dict_type"),
    (
        "order_id missing",
        _with_payload("order.lifecycle", "created", order_id=_DELETE),
        "payload.order_id",
        "missing",
    ),
    (
        "order_id wrong type",
        _with_payload("order.lifecycle", "created", order_id=42),
        "payload.order_id",
        "string_type",
    ),
    (
        "delivery_status required by its event",
        _with_payload("order.lifecycle", "delivery_status_changed", delivery_status=_DELETE),
        "payload.delivery_status",
        "missing",
    ),
    (
        "latitude above 90",
        _with_payload("driver.telemetry", "location_updated", latitude=90.5),
        "payload.latitude",
        "less_than_equal",
    ),
    (
        "longitude below -180",
        _with_payload("driver.telemetry", "location_updated", longitude=-180.01),
        "payload.longitude",
        "greater_than_equal",
    ),
    (
        "latitude as string",
        _with_payload("driver.telemetry", "location_updated", latitude="52.1"),
        "payload.latitude",
        "float_type",
    ),
    (
        "heading 360",
        _with_payload("driver.telemetry", "location_updated", heading_deg=360),
        "payload.heading_deg",
        "less_than",
    ),
    (
        "template_key missing",
        _with_payload("campaign.interaction", "plan_updated", template_key=_DELETE),
        "payload.template_key",
        "missing",
    ),
    (
        "empty identifier",
        _with_payload("campaign.interaction", "plan_updated", template_key=""),
        "payload.template_key",
        "string_too_short",
    ),
    (
        "payload missing",
        {k: v for k, v in sample("order.lifecycle", "created").items() if k != "payload"},
        "payload",
        "missing",
    ),
]


@pytest.mark.parametrize(("case", "body", "field", "rule"), REJECTIONS, ids=[case[0] for case in REJECTIONS])
def test_rejections_name_field_and_rule(case: str, body: Any, field: str, rule: str) -> None:
    error = _reject(body)
    assert (error.first.field, error.first.rule) == (field, rule), str(error)
    assert field in str(error) and rule in str(error)


# The last two overflow a double by their digits, not only by their exponent.
@pytest.mark.parametrize(
    "literal",
    ["NaN", "Infinity", "-Infinity", "1e400", "-1E+999", "2.5e0309", "99999999999e299", "9" * 310 + ".5"],
)
@pytest.mark.parametrize("where", ["payload.latitude", "payload.extra", "context.score"])
def test_nan_and_infinity_are_rejected_anywhere(literal: str, where: str) -> None:
    body = sample("driver.telemetry", "location_updated")
    section, key = where.split(".")
    body[section][key] = "__X__"
    data = raw(body).replace(b'"__X__"', literal.encode())
    error = _reject(data)
    assert error.first.field == where
    assert error.first.rule == "finite_number"


@pytest.mark.parametrize("where", ["source", "payload.order_id", "payload.note", "context.ua", "actor.id"])
def test_nul_characters_are_rejected_anywhere(where: str) -> None:
    body = sample("order.lifecycle", "created")
    section, _, key = where.partition(".")
    if key:
        body[section][key] = "a\u0000b"
    else:
        body[section] = "a\u0000b"
    error = _reject(body)
    assert (error.first.field, error.first.rule) == (where, "no_nul_character")


def test_nul_in_a_key_is_rejected() -> None:
    body = sample("order.lifecycle", "created")
    body["context"] = {"k\u0000": 1}
    assert _reject(body).first.rule == "no_nul_character"


def test_escaped_backslash_u0000_text_is_not_a_nul() -> None:
    body = sample("order.lifecycle", "created")
    body["context"] = {"note": "literally \\u0000"}
    assert parse_event(raw(body)).context == {"note": "literally \\u0000"}


def test_deep_nesting_is_rejected_not_crashing() -> None:
    body = sample("order.lifecycle", "created")
    body["context"] = "__X__"
    data = raw(body).replace(b'"__X__"', b"[" * 5000 + b"]" * 5000)
    assert _reject(data).first.rule == "json_invalid"


def test_long_values_are_truncated_in_errors() -> None:
    error = _reject(_with_payload("order.lifecycle", "created", order_id="x" * 100_000))
    # repr() of the value is 100,002 characters; the message keeps its first 80.
    assert str(error) == (
        "payload.order_id: String should have at most 256 characters "
        f"[rule=string_too_long, value='{'x' * 79}... (100002 chars)]"
    )


def test_all_issues_are_reported() -> None:
    body = _with_payload("driver.telemetry", "location_updated", latitude=100, longitude=200)
    assert {issue.field for issue in _reject(body).issues} == {"payload.latitude", "payload.longitude"}


def test_validate_event_has_json_semantics() -> None:
    event = validate_event(sample("order.lifecycle", "created"))
    assert event.payload.order_id == "o-1"  # type: ignore[attr-defined]
    with pytest.raises(EventValidationError) as caught:
        validate_event(_with_payload("driver.telemetry", "location_updated", latitude=float("nan")))
    assert caught.value.first.rule == "finite_number"
    with pytest.raises(EventValidationError) as not_json:
        validate_event({"x": object()})
    assert not_json.value.first.rule == "json_type"
