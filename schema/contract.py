"""The stack-output contract: what ingestion jobs read instead of the old provisioning-plan.json.

The Pulumi program exports one ``StackOutputs`` (each top-level field is a stack output), and the
ingest service reads the same model back from ``pulumi stack output --json``. Both build it with
``build_contract`` so the tables, columns and types in it are the schema module's, never restated.
No field may hold a secret: the model refuses values that look like credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schema.dialects import dialect
from schema.events import FAMILIES, Category
from schema.fingerprint import SCHEMA_VERSION, schema_fingerprint
from schema.tables import DEAD_LETTER_TABLE, EVENT_TABLES, TableSpec
from schema.types import LogicalType

CONTRACT_VERSION: Literal[1] = 1

Provider = Literal["postgres", "bigquery", "snowflake", "duckdb"]
BusDriver = Literal["memory", "kafka", "pubsub"]

# What a secret shows as wherever output would otherwise carry it (offline render, mocks, stack files).
SECRET_MASK = "[secret]"

# The forms of WAREHOUSE_DATABASE_URL the service writes to (SQLAlchemy's spellings).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DUCKDB_SCHEME = "duckdb://"
BIGQUERY_SCHEME = "bigquery://"
SNOWFLAKE_SCHEME = "snowflake://"


@dataclass(frozen=True)
class SinkSetting:
    """A knob of the ingest sink that the stack sets and the service reads: one default, one range."""

    default: int
    ge: int
    le: int
    unit: str

    @property
    def accepts(self) -> str:
        """What an error message says the setting accepts."""
        return f"{self.unit}, {self.ge} to {self.le}"

    def field_args(self) -> dict[str, Any]:
        """``default``, ``ge`` and ``le`` as pydantic ``Field`` takes them."""
        return {"default": self.default, "ge": self.ge, "le": self.le}


# 5000 / 500 ms: the service's defaults, the batch size the sink's benchmarks (bench/) reached
# their figures with, and a bound on how long an event of a quiet stream waits for its batch.
# Pulumi.yaml's former 500 / 1000 ms had nothing measured behind them. Pulumi.yaml declares these
# same defaults (a test compares them), because the Pulumi CLI, not the program, applies them.
SINK_BATCH_SIZE = SinkSetting(default=5000, ge=1, le=100_000, unit="an integer")
SINK_FLUSH_INTERVAL_MS = SinkSetting(default=500, ge=1, le=600_000, unit="milliseconds")

# Names of keys whose value is a credential (``passcode``: Snowflake's MFA code).
_CREDENTIAL_KEYS = r"password|passwd|pwd|passphrase|passcode|secret|token|private[_-]?key|api[_-]?key"
# user:password@ in a URL, or key=value pairs that carry credentials.
_SECRET_PATTERNS = (
    re.compile(r"://[^/@\s:]+:[^/@\s]+@"),
    re.compile(rf"(?i)({_CREDENTIAL_KEYS})\s*[=:]"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)


def looks_secret(value: str) -> bool:
    """Heuristic shared with the policy pack: does this string look like it carries a credential?"""
    return any(pattern.search(value) for pattern in _SECRET_PATTERNS)


# What ``mask_secrets`` replaces: the same three kinds of credential ``looks_secret`` detects.
_MASKED = (
    # Up to the LAST @ before the path: a password may hold a raw @ (Snowflake's URL parser splits
    # there too), and masking up to the first one would print the rest of it.
    (re.compile(r"(://[^/@\s:]*:)[^/\s]+@"), rf"\g<1>{SECRET_MASK}@"),
    (
        re.compile(
            # A quoted key too ({'password': 'x'}, {"token": "x"}): reprs and JSON carry them so.
            rf"(?i)((?:{_CREDENTIAL_KEYS})['\"]?\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s&;,'\"]+)"
        ),
        rf"\g<1>{SECRET_MASK}",
    ),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        SECRET_MASK,
    ),
)


def mask_secrets(text: str) -> str:
    """``text`` with every credential ``looks_secret`` would find replaced by ``SECRET_MASK``: the one mask
    for anything printed (errors, banners, logs, readiness)."""
    for pattern, replacement in _MASKED:
        text = pattern.sub(replacement, text)
    return text


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnContract(_Contract):
    name: str
    type: LogicalType
    warehouse_type: str
    nullable: bool


class PartitioningContract(_Contract):
    column: str
    granularity: Literal["day"] = "day"


class TableContract(_Contract):
    name: str = Field(description="Table name as the schema module declares it.")
    table: str = Field(description="Fully qualified name in the warehouse.")
    category: Category | None = None
    version: int | None = Field(None, description="Payload schema version of the family.")
    columns: list[ColumnContract]
    dedup_key: list[str]
    partitioning: PartitioningContract
    clustering: list[str]


class BusContract(_Contract):
    driver: BusDriver
    topic: str | None = None
    dead_letter_topic: str | None = None
    brokers: list[str] = Field(default_factory=list)
    project: str | None = None
    subscription: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> BusContract:
        if self.driver == "kafka" and not (self.topic and self.brokers):
            raise ValueError("bus driver kafka needs topic and brokers")
        if self.driver == "pubsub" and not (self.topic and self.project):
            raise ValueError("bus driver pubsub needs topic and project")
        return self


class StackOutputs(_Contract):
    """Every stack output of the program; ``pulumi stack output --json`` validates against it."""

    contract_version: Literal[1] = CONTRACT_VERSION
    provider: Provider
    namespace: str = Field(description="Postgres schema, BigQuery dataset or Snowflake schema.")
    bus: BusContract
    tables: dict[Category, TableContract]
    dead_letter_table: TableContract
    ingest_endpoint: str | None = None
    schema_version: int
    schema_fingerprint: str

    @model_validator(mode="after")
    def _consistent(self) -> StackOutputs:
        missing = {family.category for family in FAMILIES} - set(self.tables)
        if missing:
            raise ValueError(f"tables missing for categories {sorted(missing)}")
        for path, value in strings(self.model_dump(mode="json")):
            if looks_secret(value):
                raise ValueError(f"stack output {path} looks like it carries a secret; outputs must not")
        return self


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside nested mappings and sequences, with its path (``a.b[2]``): what the
    secret checks of outputs, resource inputs and policies scan."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, child in value.items():
            yield from strings(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from strings(child, f"{path}[{index}]")


def fully_qualified(provider: Provider, table: str, namespace: str, catalog: str | None = None) -> str:
    """The name an ingestion job or analyst uses: catalog (project/database) when known."""
    if provider == "snowflake":
        parts = [part.upper() for part in (catalog, namespace, table) if part]
    else:
        parts = [part for part in (catalog, namespace, table) if part]
    return ".".join(parts)


def table_contract(
    spec: TableSpec, provider: Provider, namespace: str, catalog: str | None = None
) -> TableContract:
    renderer = dialect(provider)
    family = next((f for f in FAMILIES if f.category == spec.category), None)
    return TableContract(
        name=spec.name,
        table=fully_qualified(provider, spec.name, namespace, catalog),
        category=spec.category,
        version=family.version if family else None,
        columns=[
            ColumnContract(
                name=c.name, type=c.type, warehouse_type=renderer.type_of(c.type), nullable=c.nullable
            )
            for c in spec.columns
        ],
        dedup_key=list(spec.primary_key),
        partitioning=PartitioningContract(column=spec.partition_by),
        clustering=list(spec.cluster_by),
    )


def build_contract(
    provider: Provider,
    namespace: str,
    bus: BusContract,
    *,
    catalog: str | None = None,
    ingest_endpoint: str | None = None,
) -> StackOutputs:
    """The contract for one deployment, derived entirely from the schema module's tables."""
    return StackOutputs(
        provider=provider,
        namespace=namespace,
        bus=bus,
        tables={
            category: table_contract(spec, provider, namespace, catalog)
            for category, spec in EVENT_TABLES.items()
        },
        dead_letter_table=table_contract(DEAD_LETTER_TABLE, provider, namespace, catalog),
        ingest_endpoint=ingest_endpoint,
        schema_version=SCHEMA_VERSION,
        schema_fingerprint=schema_fingerprint(),
    )
