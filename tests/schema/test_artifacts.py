"""Producer artifacts: committed, fresh, and accepting exactly what the models accept."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import jsonschema
import pytest

from schema import parse_event
from schema.artifacts import artifacts, avro_schema, generated_dir, stale_artifacts, write_artifacts
from tests.schema.events import PAYLOADS, raw, sample


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


def test_artifact_names() -> None:
    assert sorted(artifacts()) == [
        "campaign.interaction.schema.json",
        "dbt/sources.bigquery.yml",
        "dbt/sources.duckdb.yml",
        "dbt/sources.postgres.yml",
        "dbt/sources.snowflake.yml",
        "driver.telemetry.schema.json",
        "events.avsc",
        "events.schema.json",
        "order.lifecycle.schema.json",
    ]
