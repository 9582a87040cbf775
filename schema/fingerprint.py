"""The schema version and fingerprint published in stack outputs and checked by consumers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from schema.events import FAMILIES
from schema.tables import TABLES, TableSpec

# Bumped only when a breaking change ships as a new schema version (see evolution.py).
SCHEMA_VERSION = 1


def schema_snapshot(tables: Iterable[TableSpec] = TABLES) -> dict[str, Any]:
    """Everything deployed warehouses and producers depend on, as plain JSON data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "families": {
            family.category.value: {"version": family.version, "events": list(family.event_names)}
            for family in FAMILIES
        },
        "tables": {spec.name: spec.snapshot() for spec in tables},
    }


def fingerprint_of(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def schema_fingerprint() -> str:
    """A short stable hash of the current schema snapshot; changes with any table change."""
    return fingerprint_of(schema_snapshot())
