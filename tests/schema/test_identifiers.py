"""No configured name can inject SQL: identifiers are validated, then quoted."""

from __future__ import annotations

import pytest

from schema import IdentifierError
from schema.dialects import DIALECTS, dialect
from schema.identifiers import identifier, project_id
from schema.tables import EVENT_TABLES

HOSTILE = [
    'analytics"; DROP TABLE x; --',
    "analytics`; DROP TABLE x",
    "a b",
    "1abc",
    "",
    "x" * 64,
    "ünïcode",
    "a-b",
    "a.b",
]


@pytest.mark.parametrize("name", sorted(DIALECTS))
@pytest.mark.parametrize("namespace", HOSTILE)
def test_hostile_namespaces_are_refused_by_every_dialect(name: str, namespace: str) -> None:
    spec = next(iter(EVENT_TABLES.values()))
    with pytest.raises(IdentifierError, match="not allowed"):
        dialect(name).create_table(spec, namespace)
    with pytest.raises(IdentifierError):
        dialect(name).create_namespace(namespace)


@pytest.mark.parametrize("name", ["analytics", "_x", "A1_b", "x" * 63])
def test_plain_identifiers_pass(name: str) -> None:
    assert identifier(name) == name


def test_error_names_the_kind_and_value() -> None:
    with pytest.raises(IdentifierError, match=r"schema 'bad name' is not allowed"):
        identifier("bad name", "schema")


def test_project_ids() -> None:
    assert project_id("laundry-prod-1") == "laundry-prod-1"
    with pytest.raises(IdentifierError):
        project_id("Laundry_Prod")
