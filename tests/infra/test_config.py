"""Pulumi.yaml's config block, the stack files, and the config model agree with each other."""

from __future__ import annotations

import pytest
import yaml

from infra.config import ENV_FOR_KEY, PROJECT, SECRET_KEYS, ConfigError, StackConfig, config_keys
from infra.stackfiles import ROOT, SECRET_PLACEHOLDER, declared_config, load_stack, project_file, stack_names
from tests.infra.conftest import DESIGN_ENV, STACKS, RunOf

# The old guide's variables: design.md's table minus the ones the ingest service added, plus the
# provider-specific overrides of the old script.
OLD_GUIDE_ENV = (
    DESIGN_ENV
    - {
        "EVENT_BUS_KAFKA_GROUP",
        "EVENT_BUS_PUBSUB_SUBSCRIPTION",
        "INGEST_HOST",
        "INGEST_PORT",
        "INGEST_API_TOKEN",
    }
) | {"BIGQUERY_DATASET", "SNOWFLAKE_SCHEMA", "SNOWFLAKE_STAGE"}
TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads() -> None:
    assert sorted(declared_config()) == sorted(config_keys())


@pytest.mark.parametrize("key", sorted(declared_config()))
def test_every_key_is_typed_defaulted_and_described(key: str) -> None:
    spec = declared_config()[key]

    assert isinstance(spec["default"], TYPES[spec["type"]])
    assert len(spec["description"]) > 20
    assert (key in SECRET_KEYS) == ("(secret)" in spec["description"])


def test_project_runs_the_program_file_in_the_projects_virtualenv() -> None:
    project = project_file()

    assert project["name"] == PROJECT
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (ROOT / project["main"]).is_file()


def test_every_old_guide_variable_maps_to_a_declared_key() -> None:
    assert set(ENV_FOR_KEY.values()) >= OLD_GUIDE_ENV
    assert set(ENV_FOR_KEY) <= set(declared_config())


def test_docs_show_the_mapping_of_every_variable() -> None:
    docs = (ROOT / "docs" / "infra.md").read_text()

    for key, variable in ENV_FOR_KEY.items():
        assert f"`{variable}`" in docs and f"`{key}`" in docs, (key, variable)


def test_stack_files_only_set_declared_keys_of_the_project() -> None:
    declared = set(declared_config())

    for stack in stack_names():
        data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        ours = {key.split(":", 1)[1] for key in data if key.startswith(f"{PROJECT}:")}
        assert ours <= declared, stack


def test_dev_stack_is_the_old_local_compose(run_of: RunOf) -> None:
    _, config = run_of("dev")
    raw = load_stack("dev").config

    assert (config.provider, config.bus_driver, config.protect) == ("postgres", "kafka", False)
    assert "@localhost:5433/" in raw[f"{PROJECT}:warehouseDatabaseUrl"]
    assert config.brokers == ["localhost:9092"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_validates(stack: str, run_of: RunOf) -> None:
    _, config = run_of(stack)

    assert isinstance(config, StackConfig)


def test_unset_warehouse_url_renders_as_a_secret_placeholder() -> None:
    stack = load_stack("staging")

    assert stack.config[f"{PROJECT}:warehouseDatabaseUrl"] == SECRET_PLACEHOLDER
    assert f"{PROJECT}:warehouseDatabaseUrl" in stack.secret_keys


def _values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {key: spec["default"] for key, spec in declared_config().items()}
    for key in SECRET_KEYS:
        values.pop(key)
    values.update(overrides)
    return values


def test_kafka_without_brokers_names_the_missing_key() -> None:
    with pytest.raises(ValueError, match="missing config kafkaBrokers"):
        StackConfig.model_validate(_values(busDriver="kafka"))


def test_public_invokers_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be public"):
        StackConfig.model_validate(_values(ingestInvokers=["allUsers"]))


def test_namespace_defaults_to_the_schema_modules_default_per_warehouse() -> None:
    from schema.dialects import dialect

    for provider in ("postgres", "bigquery", "snowflake"):
        config = StackConfig.model_validate(_values(provider=provider, gcpProject="laundry-x"))
        assert config.namespace == dialect(provider).DEFAULT_NAMESPACE


def test_a_missing_key_outside_the_cli_is_a_config_error() -> None:
    import pulumi

    from infra.config import load_config

    pulumi.runtime.set_all_config({})
    with pytest.raises(ConfigError, match="is not set"):
        load_config()


def test_a_namespace_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="namespace 'analytics; drop' is not allowed"):
        StackConfig.model_validate(_values(postgresSchema="analytics; drop"))
