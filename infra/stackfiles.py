"""Reading ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` the way the Pulumi CLI would, without it.

The offline render and the tests need the configuration a stack's program would see: the stack
file's values over the project's declared defaults, as the strings the CLI passes (JSON for
numbers, booleans and arrays). Encrypted values cannot be read here; they become a placeholder
that is still marked secret, so the render shows where a secret goes without knowing it. The
secrets a stack needs (``infra.config.secret_rules``: the warehouse URL, a SASL password, the
Snowflake key), which stacks set with ``pulumi config set --secret`` outside the file, get the
same placeholder when the file does not set them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config import PROJECT, SECRET_KEYS, secret_rules
from schema.contract import SECRET_MASK

ROOT = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = SECRET_MASK


@dataclass(frozen=True)
class StackFile:
    name: str
    config: dict[str, str]
    secret_keys: tuple[str, ...]


def project_file(root: Path = ROOT) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / "Pulumi.yaml").read_text())
    return data


def declared_config(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """The ``config:`` block of Pulumi.yaml: key -> {type, default, description}."""
    block: dict[str, dict[str, Any]] = project_file(root).get("config", {})
    return block


def stack_names(root: Path = ROOT) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml"))


def _value(text: str) -> Any:
    """A config string back as the value it encodes (the program's view of it)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _as_config_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def load_stack(name: str, root: Path = ROOT) -> StackFile:
    """The full configuration of stack ``name``: declared defaults, then the stack file's values."""
    path = root / f"Pulumi.{name}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; known stacks: {', '.join(stack_names(root))}")
    values: dict[str, Any] = (yaml.safe_load(path.read_text()) or {}).get("config", {}) or {}
    config = {
        f"{PROJECT}:{key}": _as_config_string(spec["default"]) for key, spec in declared_config(root).items()
    }
    secret_keys = {f"{PROJECT}:{key}" for key in SECRET_KEYS}
    for key, value in values.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and "secure" in value:
            config[full_key] = SECRET_PLACEHOLDER
            secret_keys.add(full_key)
        else:
            config[full_key] = _as_config_string(value)
    # Real stacks set their required secrets with `pulumi config set --secret`, never in the file:
    # render each as the placeholder so reviewers see where it goes. Optional secrets stay unset.
    ours = {
        key.split(":", 1)[1]: _value(value) for key, value in config.items() if key.startswith(f"{PROJECT}:")
    }
    for key, (required, _, _) in secret_rules(ours).items():
        if required and not ours.get(key):
            config[f"{PROJECT}:{key}"] = SECRET_PLACEHOLDER
    return StackFile(name=name, config=dict(sorted(config.items())), secret_keys=tuple(sorted(secret_keys)))
