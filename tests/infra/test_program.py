"""The whole program per stack file, under Pulumi's mock runtime (only the engine is mocked).

Output checks use ``@pulumi.runtime.test`` and return the Output, so the assertions run inside
the program's lifetime; options are reset before each program by ``infra.mocks.configure``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra import program
from infra.mocks import SECRET, configure
from infra.reading import load_config, load_secrets
from infra.stackfiles import load_stack
from schema.contract import StackOutputs, looks_secret, strings
from schema.evolution import SchemaDelta, SchemaDiff
from schema.exceptions import SchemaEvolutionError
from schema.tables import TABLES
from tests.infra.conftest import STACKS, RunOf

TABLE_TYPES = {
    "postgres": "pulumi-python:dynamic/postgres:Table",
    "bigquery": "gcp:bigquery/table:Table",
    "snowflake": "snowflake:index/table:Table",
}


def test_the_example_stacks_cover_every_warehouse_and_bus(run_of: RunOf) -> None:
    pairs = {(config.provider, config.bus_driver) for config in (run_of(stack)[1] for stack in STACKS)}

    # The memory bus is for a service run locally (`ingest serve`): no stack deploys it.
    assert pairs == {
        ("postgres", "kafka"),
        ("postgres", "pubsub"),
        ("bigquery", "pubsub"),
        ("snowflake", "kafka"),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_validate_against_the_contract(stack: str) -> None:
    configure(load_stack(stack))

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def check() -> pulumi.Output[None]:
        program.compose(load_config(), load_secrets())
        exported: dict[str, Any] = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]

        def validate(values: dict[str, Any]) -> None:
            assert set(values) == set(StackOutputs.model_fields)
            outputs = StackOutputs.model_validate(values)
            assert outputs.schema_fingerprint.startswith("sha256:")
            assert sorted(outputs.tables) == sorted(spec.category for spec in TABLES if spec.category)

        return pulumi.Output.all(**exported).apply(validate)

    check()


@pytest.mark.parametrize("stack", STACKS)
def test_no_output_is_secret_or_looks_secret(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)

    assert run.secret_outputs == []
    StackOutputs.model_validate(run.outputs)  # refuses secret-looking values itself
    assert SECRET not in repr(run.outputs)


@pytest.mark.parametrize("stack", STACKS)
def test_the_four_tables_exist_and_are_protected_outside_dev(stack: str, run_of: RunOf) -> None:
    run, config = run_of(stack)
    tables = run.of_type(TABLE_TYPES[config.provider])

    assert sorted(t.name for t in tables) == sorted(spec.name for spec in TABLES)
    assert all(t.protect is config.protect for t in tables)
    assert config.protect is (stack != "dev")


@pytest.mark.parametrize("stack", STACKS)
def test_every_child_has_a_component_parent(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)
    components = {r.urn for r in run.registrations if not r.custom}

    orphans = [r.ref for r in run.registrations if r.custom and r.parent not in components]

    assert orphans == []


@pytest.mark.parametrize("stack", STACKS)
def test_no_input_carries_a_plain_secret(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)

    leaks = [r.ref for r in run.registrations for _, s in strings(r.inputs) if looks_secret(s)]

    assert leaks == []


@pytest.mark.parametrize("stack", STACKS)
def test_no_iam_member_is_public(stack: str, run_of: RunOf) -> None:
    run, config = run_of(stack)

    members = [str(r.inputs["member"]) for r in run.registrations if "member" in r.inputs]

    assert members or not config.deployed, "a deployed ingest service is granted something"
    assert not any(member in ("allUsers", "allAuthenticatedUsers") for member in members)


def test_a_breaking_schema_change_fails_the_program_before_any_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    column = TABLES[0].columns[-1]
    breaking = SchemaDiff((SchemaDelta.drop_column(TABLES[0].name, column),))
    monkeypatch.setattr(program, "diff_against_lock", lambda: breaking)
    monitor = configure(load_stack("dev"))

    with pytest.raises(SchemaEvolutionError, match="drop_column"):
        program.compose(load_config(), load_secrets())

    assert monitor.registrations == []


def test_pulumi_yaml_main_runs_the_program_as_the_cli_would(run_of: RunOf) -> None:
    """The CLI executes Pulumi.yaml's ``main`` file as ``__main__``: it must declare the stack."""
    import runpy

    from infra.stackfiles import ROOT, project_file

    monitor = configure(load_stack("dev"))

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def execute() -> None:
        runpy.run_path(str(ROOT / project_file()["main"]), run_name="__main__")

    execute()

    # The same program as the render: the same twenty registrations of dev.
    assert sorted(r.ref for r in monitor.registrations) == sorted(
        r.ref for r in run_of("dev")[0].registrations
    )
    assert set(pulumi.runtime.get_root_resource().outputs) == set(StackOutputs.model_fields)  # type: ignore[union-attr]
