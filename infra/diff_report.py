"""The diff as text for a terminal, or as Markdown for a PR comment; both say the same things."""

from __future__ import annotations

import json
from typing import Any

from infra.diff import StackDiff
from infra.diff_changes import ABSENT, InputChange, ResourceChange

VALUE_WIDTH = 160
CAVEAT = (
    "replace vs in-place is this package's reading of each provider's documentation, "
    "not the engine's plan (no Pulumi CLI or provider plugin ran)"
)
SYMBOL = {"add": "+", "remove": "-", "update": "~", "replace": "-/+"}
ACTION = {"add": "create", "remove": "delete", "update": "update in place", "replace": "REPLACE"}


def _value(value: Any) -> str:
    text = value if value == ABSENT else json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _change_line(change: InputChange) -> str:
    return f"    {change.path}: {_value(change.before)} → {_value(change.after)}"


def resource_line(change: ResourceChange) -> str:
    flags = " [protect]" if change.protected else ""
    action = ACTION[change.kind]
    if change.reasons:
        action += f" ({', '.join(change.reasons)})"
    if change.unknown_type:
        action += "; no rule for this type: review by hand"
    return f"{SYMBOL[change.kind]} {change.type} {change.name}{flags}: {action}"


def _summary(result: StackDiff) -> str:
    count = {kind: sum(1 for c in result.resources if c.kind == kind) for kind in SYMBOL}
    return (
        f"resources: {count['add']} added, {count['remove']} removed, "
        f"{count['update'] + count['replace']} changed ({count['replace']} replaced)"
    )


def _body(result: StackDiff) -> list[str]:
    """Everything after the header, shared by both formats."""
    lines: list[str] = []
    if result.head.failure is not None:
        lines.append(f"the working tree does not render stack {result.stack}:")
        lines.extend(f"  {line}" for line in result.head.failure.splitlines())
    elif result.base.render is None:
        lines.append(f"stack {result.stack} is new: every resource is created")
    elif result.head.render is None:
        lines.append(f"stack {result.stack}'s file is gone: every resource is deleted")
    if result.head.failure is None:
        lines.append(_summary(result))
        for change in result.resources:
            lines.append(resource_line(change))
            lines.extend(_change_line(c) for c in change.changes)
        touched = result.protected_touched
        lines.append(f"protected resources touched: {len(touched)}")
        lines.extend(f"  {c.ref}: {ACTION[c.kind]}" for c in touched)
        lines.append(f"stack outputs changed: {len(result.outputs)}")
        lines.extend(_change_line(c) for c in result.outputs)
    lines.append("schema: " + result.schema.report())
    return lines


def _verdict(result: StackDiff) -> list[str]:
    if not result.breaking:
        return ["verdict: no breaking change"]
    return ["verdict: BREAKING", *(f"  - {reason}" for reason in result.breaking)]


def text(result: StackDiff) -> str:
    lines = [
        f"infra diff: stack {result.stack}, {result.base.label} → {result.head.label}",
        f"note: {CAVEAT}",
        *_body(result),
        *_verdict(result),
    ]
    return "\n".join(lines) + "\n"


def markdown(result: StackDiff) -> str:
    """A PR comment: verdict first, the resource table, then the details in a fenced block."""
    icon = "❌" if result.breaking else "✅"
    lines = [
        f"### {icon} `infra diff` — stack `{result.stack}`: `{result.base.label}` → {result.head.label}",
        "",
        *(f"- {line.strip()[2:]}" if line.startswith("  ") else f"**{line}**" for line in _verdict(result)),
        "",
        f"> {CAVEAT[0].upper()}{CAVEAT[1:]}.",
        "",
    ]
    if result.resources:
        lines += ["| | resource | action |", "| --- | --- | --- |"]
        for change in result.resources:
            action = resource_line(change).split(": ", 1)[1]
            lines.append(f"| `{SYMBOL[change.kind]}` | `{change.ref}` | {action} |")
        lines.append("")
    lines += ["<details><summary>details</summary>", "", "```", *_body(result), "```", "", "</details>"]
    return "\n".join(lines) + "\n"
