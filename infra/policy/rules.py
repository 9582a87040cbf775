"""The policies, as plain validation functions over one resource (or the stack's outputs).

- event tables on BigQuery are DAY-partitioned on the column the schema module names;
- outside the unprotected stacks (policy config ``unprotectedStacks``, default ``["dev"]``), every
  table is ``protect``ed and carries its provider's own deletion guard;
- no IAM member anywhere is ``allUsers`` or ``allAuthenticatedUsers``;
- no stack output looks like it carries a secret (``schema.contract.looks_secret``);
- a deployed ingest service (Cloud Run) uses a durable bus, never ``memory``.

Table names, partition columns and the secret heuristic come from the schema module, so the
policies and the program cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.config import PUBLIC_MEMBERS
from schema.contract import looks_secret, strings
from schema.tables import TABLES, tables_by_name

BIGQUERY_TABLE = "gcp:bigquery/table:Table"
SNOWFLAKE_TABLE = "snowflake:index/table:Table"
POSTGRES_TABLE = "pulumi-python:dynamic/postgres:Table"
STACK = "pulumi:pulumi:Stack"
CLOUD_RUN = ("gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/workerPool:WorkerPool")
BUS_VARIABLE, DEFAULT_BUS, DURABLE_BUSES = "EVENT_BUS_DRIVER", "memory", ("kafka", "pubsub")
DEFAULT_UNPROTECTED_STACKS = ["dev"]

_SPECS = tables_by_name(TABLES)


def _strings(value: Any) -> Iterator[str]:
    return (text for _, text in strings(value))


def stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>``."""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def bigquery_tables_partitioned(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != BIGQUERY_TABLE:
        return
    spec = _SPECS.get(str(args.props.get("tableId", "")))
    if spec is None:
        return
    partitioning = args.props.get("timePartitioning") or {}
    if partitioning.get("type") != "DAY" or partitioning.get("field") != spec.partition_by:
        report_violation(
            f"table {spec.name} must be DAY-partitioned on {spec.partition_by}, "
            f"got {dict(partitioning) or 'no partitioning'}",
            None,
        )


def tables_deletion_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (BIGQUERY_TABLE, SNOWFLAKE_TABLE, POSTGRES_TABLE):
        return
    unprotected = args.get_config().get("unprotectedStacks", DEFAULT_UNPROTECTED_STACKS)
    if stack_of(args.urn) in unprotected:
        return
    missing = []
    if not args.opts.protect:
        missing.append("the protect resource option")
    if args.resource_type == BIGQUERY_TABLE and args.props.get("deletionProtection") is not True:
        missing.append("deletionProtection")
    if args.resource_type == POSTGRES_TABLE and args.props.get("protected") is not True:
        missing.append("protected (the dynamic provider's drop guard)")
    if missing:
        report_violation(f"table {args.name} holds data and must have {', '.join(missing)}", None)


def no_public_members(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    public = sorted({value for value in _strings(args.props) if value in PUBLIC_MEMBERS})
    if public:
        report_violation(f"{args.resource_type} {args.name} grants access to {', '.join(public)}", None)


def deployed_bus_is_durable(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A 202 is a promise the event is durable. On Cloud Run the disk is memory and instances are
    replaced at will, so the memory bus's local spool does not survive: only Kafka or Pub/Sub do."""
    if args.resource_type not in CLOUD_RUN:
        return
    for container in (args.props.get("template") or {}).get("containers") or []:
        envs = {env.get("name"): env.get("value") for env in container.get("envs") or []}
        driver = envs.get(BUS_VARIABLE) or DEFAULT_BUS
        if driver not in DURABLE_BUSES:
            report_violation(
                f"{args.name} runs the ingest service on Cloud Run with {BUS_VARIABLE}={driver}: a Cloud Run "
                "instance's disk is memory and instances are replaced at will, so accepted events would be "
                f"lost with it; deploy it with a durable bus ({' or '.join(DURABLE_BUSES)})",
                None,
            )


def no_secret_outputs(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type != STACK:
            continue
        for key, value in resource.props.items():
            if any(looks_secret(text) for text in _strings(value)):
                report_violation(f"stack output {key} looks like it carries a secret", resource.urn)


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="bigquery-event-tables-partitioned",
        description="BigQuery tables of the schema module are DAY-partitioned on their partition column.",
        validate=bigquery_tables_partitioned,
    ),
    ResourceValidationPolicy(
        name="tables-deletion-protected",
        description="Outside the unprotected stacks every warehouse table is protected against deletion.",
        validate=tables_deletion_protected,
        config_schema=PolicyConfigSchema(
            properties={
                "unprotectedStacks": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_UNPROTECTED_STACKS,
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="no-public-iam-members",
        description="No IAM binding or access entry names allUsers or allAuthenticatedUsers.",
        validate=no_public_members,
    ),
    ResourceValidationPolicy(
        name="deployed-ingest-has-a-durable-bus",
        description="A deployed ingest service takes events only onto a bus that survives the instance.",
        validate=deployed_bus_is_durable,
    ),
    StackValidationPolicy(
        name="no-secret-stack-outputs",
        description="Stack outputs are read by ingestion jobs and CI logs: none may look like a secret.",
        validate=no_secret_outputs,
    ),
]
