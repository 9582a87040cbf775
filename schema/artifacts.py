"""Producer artifacts generated from the models: JSON Schema and the Avro schema of the Pub/Sub topic,
plus the dbt sources of each warehouse for the analytics team (``schema.dbt``).

The files are committed under ``schema/generated/`` so API developers can read them in review;
``python -m schema export`` rewrites them and a test fails when they are stale.

Avro has no type for schemaless JSON, so in the Avro schema ``context`` and ``payload`` are strings
holding JSON text; every other field keeps its wire name and meaning. Producers publishing to a
Pub/Sub topic with this schema encode those two fields as JSON text.
"""

from __future__ import annotations

import json
import typing
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union
from uuid import UUID

from pydantic import BaseModel, TypeAdapter

from schema import dbt
from schema.events import FAMILIES, Actor, EventEnvelope, EventFamily
from schema.fingerprint import SCHEMA_VERSION

AVRO_NAMESPACE = "com.laundry.analytics"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _family_union(families: tuple[EventFamily, ...]) -> Any:
    members = tuple(envelope for family in families for envelope in family.envelopes.values())
    return Annotated[Union[members], "event"]  # noqa: UP007


def json_schema(
    families: tuple[EventFamily, ...] = FAMILIES, title: str = "AnalyticsEvent"
) -> dict[str, Any]:
    schema = TypeAdapter(_family_union(families)).json_schema(ref_template="#/$defs/{model}")
    return {"$schema": JSON_SCHEMA_DIALECT, "title": title, "x-schema-version": SCHEMA_VERSION, **schema}


def _avro_type(annotation: Any, name: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, __import__("types").UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return ["null", _avro_type(members[0], name)]
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is UUID:
        return {"type": "string", "logicalType": "uuid"}
    if annotation is int:
        return "long"
    if annotation is float:
        return "double"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation is Actor:
        return _avro_record(annotation, "Actor")
    # strings, enums, RFC 3339 timestamps (kept as text so the JSON encoding matches the wire
    # format), and the free-form objects (JSON text).
    return "string"


def _avro_record(model: type[BaseModel], name: str) -> dict[str, Any]:
    fields = []
    for field_name, info in model.model_fields.items():
        entry: dict[str, Any] = {"name": field_name, "type": _avro_type(info.annotation, field_name)}
        if info.description:
            entry["doc"] = info.description
        if field_name in ("context", "payload"):
            entry["doc"] = f"{info.description} JSON text of the object (Avro has no schemaless JSON type)."
        if isinstance(entry["type"], list):
            entry["default"] = None
        elif not info.is_required() and isinstance(info.default, int):
            entry["default"] = info.default
        fields.append(entry)
    return {"type": "record", "name": name, "namespace": AVRO_NAMESPACE, "fields": fields}


def avro_schema() -> dict[str, Any]:
    record = _avro_record(EventEnvelope, "AnalyticsEvent")
    record["doc"] = f"Analytics event envelope, schema version {SCHEMA_VERSION}."
    return record


def generated_dir() -> Path:
    return Path(str(resources.files("schema").joinpath("generated")))


def artifacts() -> dict[str, str]:
    """File name -> content of every generated artifact."""
    files = {"events.schema.json": json_schema(), "events.avsc": avro_schema()}
    for family in FAMILIES:
        files[f"{family.category.value}.schema.json"] = json_schema((family,), title=family.payload.__name__)
    texts = {name: json.dumps(content, indent=2, sort_keys=True) + "\n" for name, content in files.items()}
    return texts | dbt.artifacts()


def stale_artifacts(directory: Path | None = None) -> list[str]:
    """Names of generated files that are missing or differ from what the models generate."""
    target = directory or generated_dir()
    stale = []
    for name, content in artifacts().items():
        path = target / name
        if not path.exists() or path.read_text() != content:
            stale.append(name)
    return stale


def write_artifacts(directory: Path | None = None) -> list[Path]:
    target = directory or generated_dir()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in artifacts().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    return written
