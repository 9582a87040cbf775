"""Reading the stack's configuration from the Pulumi runtime (the CLI's, or the render's mocks).

A key the program does not read fails the program, with the nearest key it does read: a misspelt
key would otherwise be ignored and its default used. Every error names the stack file, the key
and what it accepts, without pydantic's raw text; a missing or ignored secret fails too.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pulumi
from pydantic import ValidationError

from infra.config import (
    PROJECT,
    SNOWFLAKE_PROVIDER_KEYS,
    SNOWFLAKE_PROVIDER_SECRET_KEYS,
    ConfigError,
    Secrets,
    StackConfig,
    config_keys,
    secret_rules,
)
from schema.exceptions import preview


def stack_file() -> str:
    return f"Pulumi.{pulumi.get_stack()}.yaml"


def _set_keys(namespace: str) -> set[str]:
    """Every key of ``namespace`` the stack sets (the CLI passes them either way)."""
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.config.get_config_env())
    return {key.split(":", 1)[1] for key in keys if key.startswith(f"{namespace}:")}


# Per namespace the program reads: the keys it knows. The explicit Snowflake providers forward
# only these, so any other ``snowflake:`` key would be ignored as silently as a misspelt one.
def known_keys() -> dict[str, tuple[str, ...]]:
    return {PROJECT: config_keys(), "snowflake": SNOWFLAKE_PROVIDER_KEYS + SNOWFLAKE_PROVIDER_SECRET_KEYS}


def unknown_keys(namespace: str, keys: set[str]) -> list[str]:
    """One message per key the program does not read, with the nearest key it does."""
    known = known_keys()[namespace]
    messages = []
    for key in sorted(keys - set(known)):
        nearest = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {namespace}:{nearest[0]}?" if nearest else ""
        messages.append(
            f"{namespace}:{key} is not a key this program reads (Pulumi.yaml declares its keys){hint}"
        )
    return messages


def _value(config: pulumi.Config, key: str, annotation: Any) -> Any:
    raw = config.get(key)
    if raw is None:
        raise ConfigError(
            f"config {PROJECT}:{key} is not set; Pulumi.yaml declares its default, so run the program "
            "through the Pulumi CLI or `python -m infra render`"
        )
    return json.loads(raw) if annotation == list[str] and isinstance(raw, str) else raw


def describe(error: ValidationError, file: str) -> str:
    """pydantic's errors as ``file: key=value: rule (allowed: ...)`` lines, without its docs URLs."""
    lines = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        expected = (item.get("ctx") or {}).get("expected")
        allowed = f" (allowed: {expected})" if expected else ""
        if item["loc"]:
            key = f"{PROJECT}:{item['loc'][0]}"
            lines.append(f"{file}: {key}={preview(item['input'])}: {message}{allowed}")
        else:
            lines.append(f"{file}: {message}")
    return "invalid stack configuration:\n" + "\n".join(lines)


def load_config() -> StackConfig:
    """Read and validate the stack's configuration; errors name the stack file and the key."""
    file = stack_file()
    unknown = [line for namespace in known_keys() for line in unknown_keys(namespace, _set_keys(namespace))]
    if unknown:
        raise ConfigError("invalid stack configuration:\n" + "\n".join(f"{file}: {line}" for line in unknown))
    config = pulumi.Config(PROJECT)
    values = {
        str(info.alias): _value(config, str(info.alias), info.annotation)
        for info in StackConfig.model_fields.values()
    }
    try:
        return StackConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(describe(error, file)) from None


def load_secrets() -> Secrets:
    config = pulumi.Config(PROJECT)

    def secret(key: str) -> pulumi.Output[str] | None:
        # Read the raw value only to tell "unset" from "set": ``Config.get`` would warn on a secret.
        return config.get_secret(key) if pulumi.runtime.get_config(f"{PROJECT}:{key}") else None

    return Secrets(
        warehouse_url=secret("warehouseDatabaseUrl"),
        postgres_admin_url=secret("postgresAdminUrl"),
        ingest_api_token=secret("ingestApiToken"),
        kafka_sasl_password=secret("kafkaSaslPassword"),
        snowflake_ingest_private_key=secret("snowflakeIngestPrivateKey"),
    )


def check_secrets(config: StackConfig, secrets: Secrets) -> None:
    """Refuse a stack that lacks a secret it needs, or sets one the program would ignore."""
    present = {
        "ingestApiToken": secrets.ingest_api_token is not None,
        "warehouseDatabaseUrl": secrets.warehouse_url is not None,
        "kafkaSaslPassword": secrets.kafka_sasl_password is not None,
        "snowflakeIngestPrivateKey": secrets.snowflake_ingest_private_key is not None,
    }
    problems = []
    for key, (required, allowed, why) in secret_rules(config.model_dump(by_alias=True)).items():
        if required and not present[key]:
            problems.append(
                f"{PROJECT}:{key} is required: {why}; set it with `pulumi config set --secret {key}`"
            )
        elif present[key] and not allowed:
            problems.append(f"{PROJECT}:{key} must not be set: {why}")
    if problems:
        file = stack_file()
        raise ConfigError(
            "invalid stack configuration:\n" + "\n".join(f"{file}: {line}" for line in problems)
        )
