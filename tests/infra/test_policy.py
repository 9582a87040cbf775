"""Each policy of the pack on a passing and a failing resource, and the program's own resources
(from the mock runtime) through every policy: what the program declares must pass its pack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from infra.policy import rules
from schema.tables import DEAD_LETTER_TABLE, EVENT_TABLES
from tests.infra.conftest import STACKS, RunOf

EVENT_TABLE = next(iter(EVENT_TABLES.values()))


def _options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _args(
    resource_type: str,
    props: Mapping[str, Any],
    *,
    stack: str = "prod",
    protect: bool = True,
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationArgs:
    urn = f"urn:pulumi:{stack}::analytics-warehouse::{resource_type}::thing"
    return ResourceValidationArgs(resource_type, props, urn, "thing", _options(protect), None, config)


def _violations(check: Any, args: Any) -> list[str]:
    found: list[str] = []
    check(args, lambda message, urn: found.append(message))
    return found


def _bigquery_table(field: str, **extra: Any) -> dict[str, Any]:
    return {"tableId": EVENT_TABLE.name, "timePartitioning": {"type": "DAY", "field": field}, **extra}


def test_bigquery_partitioning_passes_on_the_spec_column() -> None:
    args = _args(rules.BIGQUERY_TABLE, _bigquery_table(EVENT_TABLE.partition_by))

    assert _violations(rules.bigquery_tables_partitioned, args) == []


def test_bigquery_partitioning_fails_on_another_column_or_none() -> None:
    wrong = _args(rules.BIGQUERY_TABLE, _bigquery_table("received_at"))
    missing = _args(rules.BIGQUERY_TABLE, {"tableId": DEAD_LETTER_TABLE.name})

    assert _violations(rules.bigquery_tables_partitioned, wrong) == [
        f"table {EVENT_TABLE.name} must be DAY-partitioned on occurred_at, "
        "got {'type': 'DAY', 'field': 'received_at'}"
    ]
    assert len(_violations(rules.bigquery_tables_partitioned, missing)) == 1


def test_deletion_protection_passes_when_protected_and_in_dev() -> None:
    protected = _args(rules.BIGQUERY_TABLE, {"deletionProtection": True})
    dev = _args(rules.BIGQUERY_TABLE, {"deletionProtection": False}, stack="dev", protect=False)

    assert _violations(rules.tables_deletion_protected, protected) == []
    assert _violations(rules.tables_deletion_protected, dev) == []


@pytest.mark.parametrize(
    ("resource_type", "props", "protect", "missing"),
    [
        (rules.BIGQUERY_TABLE, {"deletionProtection": False}, True, "deletionProtection"),
        (rules.SNOWFLAKE_TABLE, {}, False, "the protect resource option"),
        (rules.POSTGRES_TABLE, {"protected": False}, True, "protected (the dynamic provider's drop guard)"),
    ],
)
def test_deletion_protection_fails_outside_dev(
    resource_type: str, props: dict[str, Any], protect: bool, missing: str
) -> None:
    args = _args(resource_type, props, protect=protect)

    assert _violations(rules.tables_deletion_protected, args) == [
        f"table thing holds data and must have {missing}"
    ]


def test_deletion_protection_unprotected_stacks_come_from_policy_config() -> None:
    args = _args(rules.SNOWFLAKE_TABLE, {}, stack="dev", protect=False, config={"unprotectedStacks": []})

    assert len(_violations(rules.tables_deletion_protected, args)) == 1


def test_public_members_pass_for_named_principals() -> None:
    args = _args("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", {"member": "serviceAccount:api@p.iam"})

    assert _violations(rules.no_public_members, args) == []


def test_public_members_fail_anywhere_in_the_props() -> None:
    member = _args("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", {"member": "allUsers"})
    access = _args("gcp:bigquery/dataset:Dataset", {"accesses": [{"specialGroup": "allAuthenticatedUsers"}]})

    assert _violations(rules.no_public_members, member) == [
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember thing grants access to allUsers"
    ]
    assert len(_violations(rules.no_public_members, access)) == 1


def _cloud_run(*envs: dict[str, str]) -> dict[str, Any]:
    return {"template": {"containers": [{"image": "i", "envs": list(envs)}]}}


@pytest.mark.parametrize("driver", ["kafka", "pubsub"])
def test_a_deployed_service_on_a_durable_bus_passes(driver: str) -> None:
    args = _args(rules.CLOUD_RUN[0], _cloud_run({"name": "EVENT_BUS_DRIVER", "value": driver}))

    assert _violations(rules.deployed_bus_is_durable, args) == []


def test_a_deployed_service_on_the_memory_bus_fails_with_the_reason() -> None:
    explicit = _args(rules.CLOUD_RUN[1], _cloud_run({"name": "EVENT_BUS_DRIVER", "value": "memory"}))
    default = _args(rules.CLOUD_RUN[0], _cloud_run({"name": "INGEST_PORT", "value": "8080"}))

    assert _violations(rules.deployed_bus_is_durable, explicit) == [
        "thing runs the ingest service on Cloud Run with EVENT_BUS_DRIVER=memory: a Cloud Run instance's disk "
        "is memory and instances are replaced at will, so accepted events would be lost with it; deploy it "
        "with a durable bus (kafka or pubsub)"
    ]
    assert len(_violations(rules.deployed_bus_is_durable, default)) == 1


def _stack(outputs: dict[str, Any]) -> StackValidationArgs:
    resource = PolicyResource(
        rules.STACK,
        outputs,
        "urn:pulumi:prod::analytics-warehouse::pulumi:pulumi:Stack::s",
        "s",
        _options(False),
        None,
        None,
        [],
        {},
    )
    return StackValidationArgs([resource])


def test_secret_outputs_pass_for_plain_contract_values() -> None:
    args = _stack({"bus": {"brokers": ["kafka-0:9092"]}, "ingest_endpoint": "https://ingest.example"})

    assert _violations(rules.no_secret_outputs, args) == []


def test_secret_outputs_fail_for_a_url_with_a_password() -> None:
    args = _stack({"warehouse": "postgresql://ingest:hunter2@db:5432/warehouse"})

    assert _violations(rules.no_secret_outputs, args) == [
        "stack output warehouse looks like it carries a secret"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_the_programs_resources_pass_every_resource_policy(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)
    checks = [
        rules.bigquery_tables_partitioned,
        rules.tables_deletion_protected,
        rules.no_public_members,
        rules.deployed_bus_is_durable,
    ]

    violations = [
        message
        for registration in run.registrations
        for check in checks
        for message in _violations(
            check,
            ResourceValidationArgs(
                registration.type,
                registration.inputs,
                registration.urn,
                registration.name,
                _options(registration.protect),
                None,
                None,
            ),
        )
    ]

    assert violations == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_programs_outputs_pass_the_stack_policy(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)

    assert _violations(rules.no_secret_outputs, _stack(run.outputs)) == []


def test_the_pack_runs_in_the_projects_virtualenv() -> None:
    import yaml

    from infra.stackfiles import ROOT

    pack = ROOT / "infra" / "policy"
    runtime = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]

    assert runtime["name"] == "python"
    assert (pack / runtime["options"]["virtualenv"]).resolve() == ROOT / ".venv"
    assert {policy.name for policy in rules.POLICIES} == {
        "bigquery-event-tables-partitioned",
        "tables-deletion-protected",
        "no-public-iam-members",
        "deployed-ingest-has-a-durable-bus",
        "no-secret-stack-outputs",
    }
