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
import types
import typing
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, TypeAdapter

from schema import dbt
from schema.events import FAMILIES, Actor, EventEnvelope, EventFamily, Payload
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


# Python types of the envelope's fields and their Avro types. Timestamps stay RFC 3339 text so the
# Avro JSON encoding matches the wire format; free-form objects (``context``, ``payload``) are JSON
# text, since Avro has no schemaless JSON type.
_AVRO_SCALARS: dict[Any, str] = {str: "string", int: "long", float: "double", AwareDatetime: "string"}
_JSON_TEXT = (dict, Payload)


def _avro_type(annotation: Any, name: str) -> Any:
    """The Avro type of one field; a type without a mapping is an error, never a guess."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) != 1:
            raise TypeError(f"field {name}: no Avro type for the union {annotation!r}")
        return ["null", _avro_type(members[0], name)]
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    base = typing.get_origin(annotation) or annotation
    if base is UUID:
        return {"type": "string", "logicalType": "uuid"}
    if base in _AVRO_SCALARS:
        return _AVRO_SCALARS[base]
    if isinstance(base, type) and issubclass(base, StrEnum):
        return "string"
    if isinstance(base, type) and issubclass(base, _JSON_TEXT):
        return "string"
    if base is Actor:
        return avro_record(Actor, "Actor")
    raise TypeError(f"field {name}: no Avro type for {annotation!r}")


def avro_record(model: type[BaseModel], name: str) -> dict[str, Any]:
    """An Avro record of ``model``'s fields, in declaration order."""
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
    record = avro_record(EventEnvelope, "AnalyticsEvent")
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
