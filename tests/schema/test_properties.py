"""Property tests: generated valid events round-trip; junk and corrupted events are rejected with
the field and rule the contract names, decided by an oracle that is not the parser under test."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema import EventValidationError, event_row, parse_event, table_for
from tests.schema.events import PAYLOADS

_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), min_size=1, max_size=40)
_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=_offsets)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    category, name = draw(st.sampled_from(sorted(PAYLOADS)))
    payload = dict(PAYLOADS[(category, name)])
    payload["extra_" + draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True))] = draw(_json)
    if category == "driver.telemetry":
        payload["latitude"] = draw(st.floats(-90, 90))
        payload["longitude"] = draw(st.floats(-180, 180))
    else:
        key = next(iter(payload))
        payload[key] = draw(_text)
    return {
        "event_id": str(draw(st.uuids())),
        "category": category,
        "name": name,
        "occurred_at": draw(_instants).isoformat(),
        "source": draw(_text),
        "schema_version": draw(st.integers(1, 1000)),
        "actor": draw(st.none() | st.fixed_dictionaries({"type": _text, "id": _text})),
        "context": draw(st.dictionaries(_text, _json, max_size=4)),
        "payload": payload,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_valid_events_round_trip(body: dict[str, Any]) -> None:
    event = parse_event(json.dumps(body).encode())
    assert str(event.event_id) == body["event_id"]
    assert event.occurred_at == datetime.fromisoformat(body["occurred_at"]).astimezone(UTC)
    assert event.context == body["context"]
    row = dict(
        zip(table_for(body["category"]).column_names, event_row(event, datetime.now(UTC)), strict=True)
    )
    assert json.loads(row["payload"]) == json.loads(json.dumps(body["payload"]))
    again = parse_event(event.model_dump_json(exclude_unset=True).encode())
    assert again == event


# Containers nested deeper than this are refused by the JSON parser (json_invalid), as
# docs/contract.md says; the standard library's parser, the oracle below, has no such limit.
MAX_NESTING = 201
CATEGORIES = {"order.lifecycle", "driver.telemetry", "campaign.interaction"}


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _expected_rejection(data: bytes) -> tuple[str, str] | None:
    """(field, rule) of the first issue the contract prescribes for a body that has no valid
    category, decided with the standard library's JSON parser; None when it names a category."""
    try:
        # NaN and Infinity parse here as they do in the parser under test: they are refused later,
        # as finite_number, once the body is an event; junk is refused before that.
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ("", "json_invalid")
    if _depth(value) > MAX_NESTING:
        return ("", "json_invalid")
    if not isinstance(value, dict):
        return ("", "object_type")
    if "category" not in value:
        return ("category", "missing")
    if not isinstance(value["category"], str):
        return ("category", "string_type")
    if value["category"] not in CATEGORIES:
        return ("category", "unknown_category")
    return None


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()))
def test_junk_is_rejected_with_the_rule_the_contract_names(data: bytes) -> None:
    expected = _expected_rejection(data)
    with pytest.raises(EventValidationError) as caught:
        parse_event(data)
    if expected is not None:
        assert (caught.value.first.field, caught.value.first.rule) == expected, str(caught.value)


def test_the_nesting_limit_is_where_the_oracle_puts_it() -> None:
    """The property above relies on MAX_NESTING; pin it on both sides."""
    for depth, rule in ((MAX_NESTING, "object_type"), (MAX_NESTING + 1, "json_invalid")):
        with pytest.raises(EventValidationError) as caught:
            parse_event(b"[" * depth + b"]" * depth)
        assert caught.value.first.rule == rule


# Rules a corrupted envelope field may be rejected with, per field (docs/contract.md).
_CORRUPTION_RULES = {
    "event_id": {"uuid_type", "uuid_parsing"},
    "occurred_at": {"datetime_type", "datetime_parsing", "timezone_aware", "datetime_range"},
    "category": {"string_type", "unknown_category"},
    "name": {"string_type", "unknown_event_name"},
    "source": {"string_type", "string_too_short", "string_too_long"},
    "payload": {"model_type"},
}


@settings(max_examples=300, deadline=None)
@given(valid_events(), st.sampled_from(sorted(_CORRUPTION_RULES)), _json)
def test_a_corrupted_field_is_rejected_naming_that_field_and_its_rule(
    body: dict[str, Any], field: str, value: Any
) -> None:
    original = body[field]
    body[field] = value
    try:
        event = parse_event(json.dumps(body).encode())
    except EventValidationError as error:
        first = error.first
        if field == "payload" and isinstance(value, dict):
            # An object: the payload model's own rules, on one of its fields.
            assert first.field.startswith("payload."), str(error)
        else:
            assert (first.field, first.rule in _CORRUPTION_RULES[field]) == (field, True), str(error)
        return
    # Accepted: only a value the contract allows, and it is what the event carries.
    if field == "source":
        assert isinstance(value, str) and 1 <= len(value) <= 128 and event.source == value
    elif field == "event_id":
        assert isinstance(value, str) and event.event_id == uuid.UUID(value)
    elif field == "payload":
        assert isinstance(value, dict)
    else:
        assert value == original, f"{field}={value!r} was accepted"
