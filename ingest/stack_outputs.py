"""The deployed stack's outputs as the ingest service's configuration (``--contract``).

Apart from the ``Settings`` model because reading the outputs is about the stack, not about the
environment: the file must be the schema this service validates, the warehouse the one the
environment's URL opens, and its bus and namespace then replace the environment's. Imports the
model only for type checking; ``config.load_settings`` imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ingest.errors import ConfigError
from schema import StackOutputs, schema_fingerprint

if TYPE_CHECKING:
    from ingest.config import Settings


def read_contract(path: Path) -> StackOutputs:
    """The stack outputs file (``pulumi stack output --json``), validated by the schema's model."""
    try:
        outputs = StackOutputs.model_validate_json(path.read_bytes())
    except OSError as error:
        raise ConfigError(f"--contract {path}: cannot read it: {error.strerror}") from None
    except ValidationError as error:
        raise ConfigError(f"--contract {path}: not valid stack outputs: {error}") from None
    if outputs.schema_fingerprint != schema_fingerprint():
        raise ConfigError(
            f"--contract {path}: the stack was deployed with schema {outputs.schema_fingerprint}, "
            f"this service validates {schema_fingerprint()}; deploy or upgrade so that they match"
        )
    return outputs


def apply_contract(settings: Settings, outputs: StackOutputs) -> Settings:
    """``settings`` with the bus and namespace of the deployed stack."""
    if outputs.provider not in ("postgres", "duckdb", "bigquery", "snowflake"):
        raise ConfigError(
            f"the stack's warehouse is {outputs.provider}; "
            "this service writes postgres, bigquery, snowflake and duckdb"
        )
    if outputs.provider != settings.warehouse:
        raise ConfigError(
            f"the stack's warehouse is {outputs.provider} but WAREHOUSE_DATABASE_URL points at "
            f"{settings.warehouse}; set WAREHOUSE_DATABASE_URL to the stack's warehouse"
        )
    if outputs.provider == "snowflake":
        from ingest.writers.snowflake_url import parse_url

        # A Snowflake table's contract name is DATABASE.SCHEMA.TABLE when the stack knows the database.
        parts = outputs.dead_letter_table.table.split(".")
        configured = parse_url(settings.warehouse_url).database
        if len(parts) == 3 and parts[0].upper() != configured.upper():
            raise ConfigError(
                f"the stack's tables are in Snowflake database {parts[0]} but WAREHOUSE_DATABASE_URL "
                f"names {configured}; set WAREHOUSE_DATABASE_URL to the stack's database"
            )
    bus = outputs.bus
    values: dict[str, Any] = {
        "bus_driver": bus.driver,
        "namespace": outputs.namespace,
        "kafka_topic": bus.topic if bus.driver == "kafka" else settings.kafka_topic,
        "kafka_brokers": bus.brokers if bus.driver == "kafka" else settings.kafka_brokers,
        "pubsub_topic": bus.topic if bus.driver == "pubsub" else settings.pubsub_topic,
        "pubsub_project": bus.project if bus.driver == "pubsub" else settings.pubsub_project,
        "pubsub_subscription": bus.subscription or settings.pubsub_subscription,
    }
    return settings.model_copy(update=values)
