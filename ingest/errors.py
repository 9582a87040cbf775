"""``ConfigError``, and the one message an invalid environment becomes.

Apart from the ``Settings`` model so that the modules that refuse a setting (buses, writers, the
stack-outputs reader) can raise it without importing the model, and so that the shape of the
message (variable, masked value, what it accepts) is written once.
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from schema.contract import mask_secrets
from schema.exceptions import preview


class ConfigError(ValueError):
    """A setting an operator must fix; the message names the variable and what it accepts."""


def describe_invalid_settings(error: ValidationError, fields: Collection[FieldInfo]) -> str:
    """One line per refused variable: its name, its value (masked, truncated), the rule, what it accepts.

    ``fields`` are the model's fields, each read from the variable its ``validation_alias`` names.
    """
    lines = []
    for item in error.errors(include_url=False):
        variable = str(item["loc"][0]) if item["loc"] else ""
        field = next((f for f in fields if f.validation_alias == variable), None)
        accepts = f" (accepts {field.description})" if field is not None else ""
        value = mask_secrets(item["input"]) if isinstance(item["input"], str) else item["input"]
        shown = f"={preview(value)}" if variable and not isinstance(value, dict) else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        if variable == "INGEST_API_TOKEN":  # the value is the secret; "TOKEN: x" would read as one too
            lines.append(f"{variable} is invalid, {message}{accepts}")
            continue
        lines.append(f"{variable}{shown}: {message}{accepts}" if variable else message)
    return mask_secrets("invalid configuration: " + "; ".join(lines))
