"""What changed between two renders of a stack (``python -m infra render --json`` documents).

Resources are matched by type and name, which with the project and stack make their URN; a moved
parent changes the URN too, so the engine would delete and recreate the resource (unless an alias
says otherwise) and it is reported as a replacement. Inputs are compared leaf by leaf so a
reviewer sees the column or variable that changed, not a whole schema. Secrets never print: the
render already shows them as ``[secret]``, and any input whose name or value looks like a
credential is masked here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from infra.diff_replace import known, replacement
from schema.contract import SECRET_MASK, looks_secret

ABSENT = "(absent)"
_SECRET_NAME = re.compile(r"(?i)(password|passphrase|secret_?data|private_?key|token|credentials)$")

Kind = Literal["add", "remove", "update", "replace"]


@dataclass(frozen=True)
class InputChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    type: str
    name: str
    kind: Kind
    protected: bool
    changes: tuple[InputChange, ...] = ()
    reasons: tuple[str, ...] = ()
    unknown_type: bool = False

    @property
    def ref(self) -> str:
        return f"{self.type}::{self.name}"


def mask(key: str, value: Any) -> Any:
    """``value`` safe to print: inputs with a secret-looking name, and values that look like a
    credential (``schema.contract.looks_secret``: URLs with a password, ``token=``, keys), become
    ``[secret]``."""
    if isinstance(value, dict):
        return {k: mask(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(key, v) for v in value]
    if _SECRET_NAME.search(key) and value not in (None, ""):
        return SECRET_MASK
    if isinstance(value, str) and looks_secret(value):
        return SECRET_MASK
    return value


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for every scalar, empty container included; dict keys sorted."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from leaves(value[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list) and value:
        for index, child in enumerate(value):
            yield from leaves(child, f"{path}[{index}]")
    else:
        yield path, value


def input_changes(before: dict[str, Any], after: dict[str, Any]) -> list[InputChange]:
    old, new = dict(leaves(mask("", before))), dict(leaves(mask("", after)))
    changes = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path, ABSENT), new.get(path, ABSENT)
        if was != now:
            changes.append(InputChange(path, was, now))
    return changes


def _by_ref(document: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    resources = [] if document is None else document["resources"]
    return {f"{r['type']}::{r['name']}": r for r in resources}


def _meta_changes(old: dict[str, Any], new: dict[str, Any]) -> list[InputChange]:
    """Resource options that are not inputs: parent, provider, protect, dependencies."""
    changes = []
    for option in ("parent", "provider", "protect", "depends_on"):
        if old.get(option) != new.get(option):
            changes.append(InputChange(f"({option})", old.get(option), new.get(option)))
    return changes


def resource_changes(base: dict[str, Any] | None, head: dict[str, Any]) -> list[ResourceChange]:
    """Added, removed and changed resources from ``base`` (None: the stack is new) to ``head``."""
    old, new = _by_ref(base), _by_ref(head)
    result: list[ResourceChange] = []
    for ref in sorted(old.keys() | new.keys()):
        was, now = old.get(ref), new.get(ref)
        current = now or was
        assert current is not None
        type_, name = current["type"], current["name"]
        protected = bool((was or {}).get("protect")) or bool((now or {}).get("protect"))
        if was is None or now is None:
            kind: Kind = "add" if was is None else "remove"
            result.append(ResourceChange(type_, name, kind, protected, unknown_type=not known(type_)))
            continue
        changes = input_changes(was["inputs"], now["inputs"])
        meta = _meta_changes(was, now)
        if not changes and not meta:
            continue
        reasons = replacement(type_, was["inputs"], now["inputs"], [c.path for c in changes])
        reasons += [f"{c.path[1:-1]} changed" for c in meta if c.path in ("(parent)", "(provider)")]
        result.append(
            ResourceChange(
                type_,
                name,
                "replace" if reasons else "update",
                protected,
                tuple(meta + changes),
                tuple(reasons),
                unknown_type=not known(type_),
            )
        )
    return result


def output_changes(base: dict[str, Any] | None, head: dict[str, Any]) -> list[InputChange]:
    """Changed stack outputs (the contract ingestion jobs read), leaf by leaf."""
    return input_changes({} if base is None else base["outputs"], head["outputs"])
