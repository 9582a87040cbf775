"""Pulumi.yaml's config block, the stack files, and the config model agree with each other, and a
stack file the program cannot use fails with the file, the key and what it accepts."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.config import ENV_FOR_KEY, PROJECT, SECRET_KEYS, ConfigError, StackConfig, config_keys
from infra.mocks import configure
from infra.reading import check_secrets, load_config, load_secrets
from infra.stackfiles import ROOT, SECRET_PLACEHOLDER, declared_config, load_stack, project_file, stack_names
from tests.infra.conftest import SERVICE_ENV, STACKS, RunOf

TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads() -> None:
    assert sorted(declared_config()) == sorted(config_keys())


@pytest.mark.parametrize("key", sorted(declared_config()))
def test_every_key_is_typed_defaulted_and_describes_its_variable_and_values(key: str) -> None:
    spec = declared_config()[key]
    field = next((f for f in StackConfig.model_fields.values() if f.alias == key), None)

    assert isinstance(spec["default"], TYPES[spec["type"]])
    assert (key in SECRET_KEYS) == ("(secret)" in spec["description"])
    if key in ENV_FOR_KEY:
        assert ENV_FOR_KEY[key] in spec["description"]
    if field is not None and typing.get_origin(field.annotation) is typing.Literal:
        assert all(value in spec["description"] for value in typing.get_args(field.annotation) if value)


def test_project_runs_the_program_file_in_the_projects_virtualenv() -> None:
    project = project_file()

    assert project["name"] == PROJECT
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (ROOT / project["main"]).is_file()


def test_every_mapped_variable_is_one_the_service_reads() -> None:
    assert set(ENV_FOR_KEY.values()) <= SERVICE_ENV
    assert set(ENV_FOR_KEY) <= set(declared_config())


def test_docs_show_the_mapping_of_every_variable() -> None:
    docs = (ROOT / "docs" / "infra.md").read_text()

    for key, variable in ENV_FOR_KEY.items():
        assert f"`{variable}`" in docs and f"`{key}`" in docs, (key, variable)


@pytest.mark.parametrize("stack", STACKS)
def test_every_value_a_stack_file_sets_reaches_the_program(stack: str, run_of: RunOf) -> None:
    _, config = run_of(stack)
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    read = config.model_dump(by_alias=True)
    ours = {key.split(":", 1)[1]: value for key, value in data.items() if key.startswith(f"{PROJECT}:")}

    assert {key: read[key] for key in ours if key not in SECRET_KEYS} == {
        key: value for key, value in ours.items() if key not in SECRET_KEYS
    }


def test_dev_stack_is_the_old_local_compose(run_of: RunOf) -> None:
    _, config = run_of("dev")
    raw = load_stack("dev").config

    assert (config.provider, config.bus_driver, config.protect) == ("postgres", "kafka", False)
    assert "@localhost:5433/" in raw[f"{PROJECT}:warehouseDatabaseUrl"]
    assert config.brokers == ["localhost:9092"]
    assert config.kafka_security_protocol == "PLAINTEXT"


def test_required_secrets_render_as_placeholders_and_bigquery_has_none() -> None:
    staging, snowflake, bigquery = (load_stack(s) for s in ("staging", "prod-snowflake", "prod-bigquery"))

    assert staging.config[f"{PROJECT}:warehouseDatabaseUrl"] == SECRET_PLACEHOLDER
    assert f"{PROJECT}:warehouseDatabaseUrl" in staging.secret_keys
    for key in ("warehouseDatabaseUrl", "kafkaSaslPassword", "snowflakeIngestPrivateKey"):
        assert snowflake.config[f"{PROJECT}:{key}"] == SECRET_PLACEHOLDER, key
    assert bigquery.config[f"{PROJECT}:warehouseDatabaseUrl"] == ""


def _stack_root(tmp_path: Path, config: dict[str, Any]) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


DEV = {
    f"{PROJECT}:provider": "postgres",
    f"{PROJECT}:busDriver": "kafka",
    f"{PROJECT}:kafkaBrokers": "localhost:9092",
    f"{PROJECT}:warehouseDatabaseUrl": "postgresql://w@localhost:5433/db",
}


def _load(tmp_path: Path, **changes: Any) -> StackConfig:
    config = {**DEV, **{key if ":" in key else f"{PROJECT}:{key}": value for key, value in changes.items()}}
    configure(load_stack("dev", _stack_root(tmp_path, config)))
    return load_config()


def test_a_misspelt_key_fails_and_names_the_file_and_the_nearest_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, busDriverr="pubsub")

    assert str(error.value) == (
        "invalid stack configuration:\n"
        f"Pulumi.dev.yaml: {PROJECT}:busDriverr is not a key this program reads (Pulumi.yaml declares its "
        f"keys); did you mean {PROJECT}:busDriver?"
    )


def test_an_unknown_snowflake_provider_key_fails_too(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"snowflake:acountName is not a key .* did you mean snowflake:accountName"
    ):
        _load(tmp_path, **{"snowflake:acountName": "X"})


def test_a_bad_value_names_the_file_the_key_and_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, busDriver="kafak")

    message = str(error.value)
    assert f"Pulumi.dev.yaml: {PROJECT}:busDriver='kafak': " in message
    assert "(allowed: 'memory', 'kafka' or 'pubsub')" in message
    assert "pydantic" not in message and "https://" not in message


def test_the_stack_files_values_pass_when_spelt_right(tmp_path: Path) -> None:
    assert _load(tmp_path, kafkaSecurityProtocol="SSL").kafka_security_protocol == "SSL"


def _values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {key: spec["default"] for key, spec in declared_config().items()}
    for key in SECRET_KEYS:
        values.pop(key)
    values.update(overrides)
    return values


def test_kafka_without_brokers_names_the_missing_key() -> None:
    with pytest.raises(ValueError, match="missing config kafkaBrokers"):
        StackConfig.model_validate(_values(busDriver="kafka"))


def test_sasl_needs_a_mechanism_and_a_user() -> None:
    with pytest.raises(ValueError, match="missing config kafkaSaslMechanism, kafkaSaslUsername"):
        StackConfig.model_validate(
            _values(busDriver="kafka", kafkaBrokers="b:9092", kafkaSecurityProtocol="SASL_SSL")
        )


def test_a_deployed_memory_bus_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"busDriver memory cannot be deployed .* spool would not survive"):
        StackConfig.model_validate(_values(ingestDeploy="cloudrun", gcpProject="laundry-x", ingestImage="i"))


def test_deployed_private_brokers_need_vpc_egress() -> None:
    private = _values(
        busDriver="kafka",
        kafkaBrokers="kafka-0.internal:9092",
        ingestDeploy="cloudrun",
        ingestMode="worker-pool",
        gcpProject="laundry-x",
        ingestImage="i",
    )

    with pytest.raises(ValueError, match="missing config ingestVpcNetwork or ingestVpcSubnetwork"):
        StackConfig.model_validate(private)
    assert StackConfig.model_validate({**private, "ingestVpcNetwork": "vpc"}).vpc is True
    assert StackConfig.model_validate({**private, "kafkaBrokers": "kafka.example.com:9092"}).vpc is False


def test_public_invokers_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be public"):
        StackConfig.model_validate(_values(ingestInvokers=["allUsers"]))


def test_namespace_defaults_to_the_schema_modules_default_per_warehouse() -> None:
    defaults = {"postgres": "analytics", "bigquery": "laundry_analytics", "snowflake": "ANALYTICS"}

    for provider, namespace in defaults.items():
        config = StackConfig.model_validate(_values(provider=provider, gcpProject="laundry-x"))
        assert config.namespace == namespace


def test_a_missing_key_outside_the_cli_is_a_config_error() -> None:
    pulumi.runtime.set_all_config({})
    with pytest.raises(ConfigError, match="is not set"):
        load_config()


def test_a_namespace_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="namespace 'analytics; drop' is not allowed"):
        StackConfig.model_validate(_values(postgresSchema="analytics; drop"))


def test_a_bigquery_stack_refuses_a_warehouse_url_it_would_ignore(tmp_path: Path) -> None:
    configure(load_stack("prod-bigquery"))
    config = load_config()
    pulumi.runtime.set_config(f"{PROJECT}:warehouseDatabaseUrl", "bigquery://elsewhere/x")

    with pytest.raises(
        ConfigError, match="warehouseDatabaseUrl must not be set: the BigQuery URL is derived"
    ):
        check_secrets(config, load_secrets())


def test_sasl_without_its_password_is_refused(tmp_path: Path) -> None:
    config = _load(
        tmp_path, kafkaSecurityProtocol="SASL_SSL", kafkaSaslMechanism="PLAIN", kafkaSaslUsername="u"
    )
    pulumi.runtime.set_config(f"{PROJECT}:kafkaSaslPassword", "")

    with pytest.raises(
        ConfigError, match=r"Pulumi\.dev\.yaml: analytics-warehouse:kafkaSaslPassword is required"
    ):
        check_secrets(config, load_secrets())


def test_stack_names_are_the_four_example_environments() -> None:
    assert stack_names() == ["dev", "prod-bigquery", "prod-snowflake", "staging"]
