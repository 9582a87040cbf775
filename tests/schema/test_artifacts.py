"""Producer artifacts: committed, fresh, and accepting exactly what the models accept."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import jsonschema
import pytest
from pydantic import BaseModel

from schema import parse_event
from schema.artifacts import avro_record, avro_schema, generated_dir, stale_artifacts, write_artifacts
from tests.schema.events import PAYLOADS, raw, sample

NO_DEFAULT = object()


def test_committed_artifacts_are_fresh() -> None:
    assert stale_artifacts() == [], "generated artifacts are stale: run `python -m schema export`"


def test_stale_detection_sees_an_edit(tmp_path: Path) -> None:
    write_artifacts(tmp_path)
    assert stale_artifacts(tmp_path) == []
    (tmp_path / "events.avsc").write_text("{}")
    (tmp_path / "driver.telemetry.schema.json").unlink()
    assert sorted(stale_artifacts(tmp_path)) == ["driver.telemetry.schema.json", "events.avsc"]


def _envelope_schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads((generated_dir() / "events.schema.json").read_text())
    return schema


@pytest.mark.parametrize(("category", "name"), sorted(PAYLOADS))
def test_json_schema_accepts_every_valid_event(category: str, name: str) -> None:
    jsonschema.validate(sample(category, name), _envelope_schema())
    family_schema = json.loads((generated_dir() / f"{category}.schema.json").read_text())
    jsonschema.validate(sample(category, name), family_schema)


def test_json_schema_rejects_what_the_models_reject() -> None:
    bad = sample("driver.telemetry", "location_updated")
    bad["payload"]["latitude"] = 120
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _envelope_schema())
    missing = sample("order.lifecycle", "created")
    del missing["payload"]["order_id"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, _envelope_schema())


def test_avro_schema_parses_and_round_trips_an_event() -> None:
    parsed = fastavro.parse_schema(avro_schema())
    body = sample("order.lifecycle", "created")
    record = dict(body, context=json.dumps(body["context"]), payload=json.dumps(body["payload"]))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    buffer.seek(0)
    decoded = fastavro.schemaless_reader(buffer, parsed, None)
    assert isinstance(decoded, dict)
    restored = dict(
        decoded,
        event_id=str(decoded["event_id"]),
        context=json.loads(decoded["context"]),
        payload=json.loads(decoded["payload"]),
    )
    assert parse_event(raw(restored)).payload.model_dump(exclude_unset=True) == body["payload"]


# The Avro envelope as the contract (docs/contract.md) describes it, written out by hand:
# (field, Avro type, default). Timestamps are RFC 3339 text; context and payload JSON text.
AVRO_FIELDS: list[tuple[str, Any, Any]] = [
    ("event_id", {"type": "string", "logicalType": "uuid"}, NO_DEFAULT),
    ("category", "string", NO_DEFAULT),
    ("name", "string", NO_DEFAULT),
    ("occurred_at", "string", NO_DEFAULT),
    ("source", "string", NO_DEFAULT),
    ("schema_version", "long", 1),
    (
        "actor",
        [
            "null",
            {
                "type": "record",
                "name": "Actor",
                "namespace": "com.laundry.analytics",
                "fields": [
                    {
                        "name": "type",
                        "type": "string",
                        "doc": "Kind of actor, e.g. customer, driver, staff, system.",
                    },
                    {"name": "id", "type": "string", "doc": "Identifier of the actor within its kind."},
                ],
            },
        ],
        None,
    ),
    ("context", "string", NO_DEFAULT),
    ("payload", "string", NO_DEFAULT),
]


def test_avro_schema_has_the_contracts_fields_types_and_defaults() -> None:
    schema = avro_schema()
    assert (schema["type"], schema["name"], schema["namespace"]) == (
        "record",
        "AnalyticsEvent",
        "com.laundry.analytics",
    )
    assert [(f["name"], f["type"], f.get("default", NO_DEFAULT)) for f in schema["fields"]] == AVRO_FIELDS


def test_avro_refuses_a_type_it_has_no_mapping_for() -> None:
    class Tagged(BaseModel):
        tags: list[str]

    with pytest.raises(TypeError, match=r"field tags: no Avro type for list\[str\]"):
        avro_record(Tagged, "Tagged")
