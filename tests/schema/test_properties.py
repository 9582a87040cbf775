"""Property tests: generated valid events round-trip; arbitrary junk only raises the documented error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

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


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()))
def test_junk_only_raises_the_documented_error(data: bytes) -> None:
    try:
        parse_event(data)
    except EventValidationError as error:
        assert error.issues and all(issue.rule for issue in error.issues)


@settings(max_examples=300, deadline=None)
@given(
    valid_events(),
    st.sampled_from(["event_id", "occurred_at", "payload", "category", "name", "source"]),
    _json,
)
def test_corrupted_fields_raise_only_the_documented_error(
    body: dict[str, Any], field: str, value: Any
) -> None:
    body[field] = value
    try:
        parse_event(json.dumps(body).encode())
    except EventValidationError as error:  # any other exception fails the test
        assert error.issues
