"""Turning bytes into validated events, with errors that name field, rule and value.

The hot path is one ``TypeAdapter.validate_json`` over a union of every (category, name) envelope,
discriminated on ``category/name``: pydantic-core parses JSON, UUIDs and timestamps in one pass,
faster than ``json.loads``. Two rules pydantic does not enforce on free-form JSON (``context`` and
unknown payload fields) are checked afterwards, only when the raw bytes could contain a violation:

* NaN / Infinity are not JSON; they are rejected anywhere in the body (rule ``finite_number``),
  and so is a number that overflows a double (``1e400``), which would otherwise become Infinity.
* ``\\u0000`` is rejected anywhere in the body (rule ``no_nul_character``): Postgres cannot store it
  in ``text`` or ``jsonb``, and rejecting it everywhere keeps the warehouses consistent. The event
  is not lost: the dead-letter table keeps the raw bytes (``bytea``/``BYTES``/``BINARY``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError

from schema.events import FAMILIES, EventEnvelope
from schema.exceptions import EventValidationError, Issue, preview

# Nested string discriminators (category, then name) let pydantic-core pick the model while it
# parses the JSON; a callable discriminator would cost ~20% of throughput.
_EVENT_ADAPTER: TypeAdapter[EventEnvelope] = TypeAdapter(
    Annotated[
        Union[  # type: ignore[arg-type]  # noqa: UP007
            tuple(
                Annotated[Union[tuple(family.envelopes.values())], Field(discriminator="name")]  # noqa: UP007
                for family in FAMILIES
            )
        ],
        Field(discriminator="category"),
    ]
)
_NAMES_BY_CATEGORY = {family.category.value: family.event_names for family in FAMILIES}
# Bytes that may hide a NaN/Infinity or an escaped NUL, or a number that may be too large for a
# double (1e400, and 99999999999e299, whose digits carry it past 1.8e308, parse to Infinity); only
# bodies that match pay for the exact walk over the free-form parts, which checks the parsed
# value. Any three-digit exponent counts as suspect (a mantissa of up to 200 digits can push e100
# over), and so does a run of 100 digits. The scan runs on every event, so it is made cheap: the
# markers are searched only in a body holding "N", "I" or a backslash (which every escaped NUL
# needs), single bytes found by memchr and rare in events (~0.3 us instead of ~1.4 us for the
# three searches). Each exponent pattern starts with a literal, which keeps its scan near 1 us;
# the digit run is found by mapping every digit to 0 and searching for a run of zeros, since a
# regex without a literal prefix tries every digit (measured ~8x slower).
_SUSPECT_MARKERS = (b"NaN", b"Infinity", b"u0000")
_HUGE_EXPONENTS = tuple(
    re.compile(letter + rb"\+?0*[1-9][0-9]{2,}(?![0-9a-fA-F-])") for letter in (b"e", b"E")
)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 100


def _suspect(data: bytes) -> bool:
    if (b"N" in data or b"I" in data or b"\\" in data) and any(m in data for m in _SUSPECT_MARKERS):
        return True
    return any(p.search(data) for p in _HUGE_EXPONENTS) or _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO)


def parse_event(raw: bytes | str) -> EventEnvelope:
    """Validate one JSON event body; raise EventValidationError with every issue found."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        event = _EVENT_ADAPTER.validate_json(data)
    except ValidationError as error:
        invalid = EventValidationError(_issues(error, data))
    else:
        if _suspect(data):
            _check_free_form(event)
        return event
    # Raised outside the handler: inside it, pydantic's error would be this error's context, and
    # its traceback holds this frame, which holds it (and ``data``): a reference cycle that keeps
    # the body until the cyclic GC runs, which the service makes rare (``ingest.runtime``).
    raise invalid


def validate_event(obj: Mapping[str, Any]) -> EventEnvelope:
    """Validate an already-decoded event with exactly the JSON semantics of ``parse_event``."""
    try:
        data = json.dumps(obj, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as error:
        raise EventValidationError([Issue("", "json_type", f"not JSON-serialisable: {error}", "")]) from None
    return parse_event(data)


def _check_free_form(event: EventEnvelope) -> None:
    issues: list[Issue] = []
    _walk(event.context, "context", issues)
    _walk(event.payload.model_extra or {}, "payload", issues)
    for name in type(event.payload).model_fields:
        value = getattr(event.payload, name)
        if isinstance(value, str):
            _walk(value, f"payload.{name}", issues)
    for name in ("source", "name"):
        _walk(getattr(event, name), name, issues)
    if event.actor is not None:
        _walk(event.actor.type, "actor.type", issues)
        _walk(event.actor.id, "actor.id", issues)
    if issues:
        raise EventValidationError(issues)


def _walk(value: Any, path: str, issues: list[Issue]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            issues.append(Issue(path, "no_nul_character", "NUL (\\u0000) is not allowed", preview(value)))
    elif isinstance(value, float):
        if not math.isfinite(value):
            issues.append(Issue(path, "finite_number", "NaN and Infinity are not JSON", preview(value)))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if "\x00" in key:
                issues.append(Issue(path, "no_nul_character", "NUL (\\u0000) in a key", preview(key)))
            _walk(item, f"{path}.{key}", issues)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", issues)


def _issues(error: ValidationError, data: bytes) -> list[Issue]:
    issues: list[Issue] = []
    for item in error.errors(include_url=False):
        kind, loc, value = item["type"], _field_path(item["loc"]), item.get("input")
        if kind == "json_invalid":
            message = f"body is not valid JSON: {item['ctx'].get('error', item['msg'])}"
            issues.append(Issue("", "json_invalid", message, preview(data)))
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            issues.append(_tag_issue(str(item["ctx"]["discriminator"]).strip("'"), value))
        elif kind in ("dict_type", "model_type") and not loc:
            issues.append(Issue("", "object_type", "an event must be a JSON object", preview(value)))
        else:
            issues.append(Issue(loc, kind, item["msg"], preview(value)))
    return issues


def _field_path(loc: tuple[Any, ...]) -> str:
    """The wire field path, without the union tags pydantic puts in front of it."""
    parts = list(loc)
    if parts and parts[0] in _NAMES_BY_CATEGORY:
        category = parts.pop(0)
        if parts and parts[0] in _NAMES_BY_CATEGORY[category]:
            parts.pop(0)
    return ".".join(str(part) for part in parts)


def _tag_issue(field: str, body: Any) -> Issue:
    value = body.get(field) if isinstance(body, Mapping) else None
    if not isinstance(body, Mapping) or field not in body:
        return Issue(field, "missing", "Field required", "")
    if not isinstance(value, str):
        return Issue(field, "string_type", "Input should be a valid string", preview(value))
    if field == "category":
        known = ", ".join(sorted(_NAMES_BY_CATEGORY))
        return Issue(field, "unknown_category", f"unknown category; expected one of {known}", preview(value))
    category = body.get("category")
    names = ", ".join(_NAMES_BY_CATEGORY.get(str(category), ()))
    return Issue(
        field,
        "unknown_event_name",
        f"unknown event name for {category}; expected one of {names}",
        preview(value),
    )
