"""The offline render: what a stack declares, printed deterministically for PR reviews.

Runs the program for one stack file under the mock runtime (no credentials, no CLI) and prints
the resources (type, name, parent, options, inputs), the tables' DDL and the stack outputs,
sorted and free of random ids, so two renders diff cleanly. Secrets print as ``[secret]``;
ids, emails and URLs the cloud would assign are the mocks' placeholders.
"""

from __future__ import annotations

import json
from typing import Any

from infra.config import PROJECT, StackConfig
from infra.mocks import Registration, Run, run_stack
from infra.stackfiles import load_stack
from schema.dialects import dialect

LINE_WIDTH = 100


def run(stack_name: str) -> tuple[Run, StackConfig]:
    """Run the program of ``stack_name`` under mocks; returns the run and the stack's config."""
    from infra import program
    from infra.reading import load_config, load_secrets

    captured: list[StackConfig] = []

    def declare() -> Any:
        config = load_config()
        captured.append(config)
        return program.compose(config, load_secrets())

    result = run_stack(load_stack(stack_name), declare)
    return result, captured[0]


def _plain(value: Any) -> Any:
    """JSON-ready and stable: integral floats (protobuf numbers) as ints, JSON strings expanded."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _plain(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {key: _plain(child) for key, child in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(child) for child in value]
    return value


def ddl(config: StackConfig) -> list[str]:
    """The statements that create the namespace and the four tables in the stack's warehouse."""
    return dialect(config.provider).statements(config.namespace)


def document(stack_name: str) -> dict[str, Any]:
    """The render as data (what ``--json`` prints)."""
    result, config = run(stack_name)
    refs = {r.urn: r.ref for r in result.registrations}

    def resource(registration: Registration) -> dict[str, Any]:
        return {
            "type": registration.type,
            "name": registration.name,
            "parent": refs.get(registration.parent, "stack"),
            "protect": registration.protect,
            "provider": registration.provider or "default",
            "depends_on": sorted(refs.get(urn, urn) for urn in registration.dependencies),
            "inputs": _plain(registration.inputs),
        }

    return {
        "project": PROJECT,
        "stack": stack_name,
        "provider": config.provider,
        "bus": config.bus_driver,
        "resources": [resource(registration) for registration in result.registrations],
        "ddl": ddl(config),
        "outputs": _plain(result.outputs),
        "secret_outputs": sorted(result.secret_outputs),
    }


def _input_lines(key: str, value: Any) -> list[str]:
    """One line per short input; long ones (schemas, env lists) one line per element, so a PR's
    diff points at the column or variable that changed."""
    short = json.dumps(value, sort_keys=True)
    if len(short) <= LINE_WIDTH:
        return [f"  {key}: {short}"]
    block = json.dumps(value, sort_keys=True, indent=2).splitlines()
    return [f"  {key}:"] + [f"    {line}" for line in block]


def text(data: dict[str, Any]) -> str:
    """The render as reviewable text: one block per resource, then the DDL, then the outputs."""
    lines = [
        f"# stack {data['stack']} of {data['project']}: warehouse {data['provider']}, bus {data['bus']}",
        "# rendered under Pulumi's mock runtime: ids, emails and URLs are placeholders; secrets are [secret]",
        "",
        f"## resources ({len(data['resources'])})",
    ]
    for resource in data["resources"]:
        flags = " [protect]" if resource["protect"] else ""
        lines.append(f"{resource['type']} {resource['name']}{flags}")
        lines.append(f"  parent: {resource['parent']}")
        lines.append(f"  provider: {resource['provider']}")
        lines.extend(f"  depends on: {dependency}" for dependency in resource["depends_on"])
        for key, value in resource["inputs"].items():
            lines.extend(_input_lines(key, value))
    lines += ["", f"## DDL ({data['provider']})"]
    lines.extend(f"{statement};" for statement in data["ddl"])
    lines += ["", "## outputs", json.dumps(data["outputs"], indent=2, sort_keys=True)]
    if data["secret_outputs"]:
        lines.append(f"## SECRET OUTPUTS (must be none): {', '.join(data['secret_outputs'])}")
    return "\n".join(lines) + "\n"


def render(stack_name: str, as_json: bool = False) -> str:
    data = document(stack_name)
    return json.dumps(data, indent=2, sort_keys=True) + "\n" if as_json else text(data)
