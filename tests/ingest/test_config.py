"""Configuration: the contract's variables (docs/contract.md), errors that name them, and the stack outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import ConfigError, load_settings
from ingest.writers import open_writer
from schema import BusContract, build_contract
from schema.contract import SECRET_MASK


def test_defaults_are_the_embedded_warehouse_and_the_memory_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_DATABASE_URL", raising=False)
    monkeypatch.delenv("EVENT_BUS_DRIVER", raising=False)
    settings = load_settings()
    assert (settings.bus_driver, settings.warehouse, settings.warehouse_namespace) == (
        "memory",
        "duckdb",
        "main",
    )
    assert settings.warehouse_url.startswith("duckdb:///") and settings.warehouse_url.endswith(
        "warehouse.duckdb"
    )
    assert (settings.host, settings.port, settings.kafka_group) == ("127.0.0.1", 8080, "analytics-ingest")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "EVENT_BUS_DRIVER": "kafka",
        "EVENT_BUS_KAFKA_TOPIC": "analytics-events",
        "KAFKA_BROKERS": "a:9092, b:9092",
        "WAREHOUSE_DATABASE_URL": "postgres://warehouse@localhost:5433/laundry_warehouse",
        "EVENT_SINK_BATCH_SIZE": "250",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "75",
        "INGEST_PORT": "9000",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.kafka_brokers == ["a:9092", "b:9092"]
    assert (settings.batch_size, settings.flush_interval_ms, settings.port) == (250, 75, 9000)
    assert (settings.warehouse, settings.warehouse_namespace) == ("postgres", "analytics")


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EVENT_SINK_BATCH_SIZE", "many", "EVENT_SINK_BATCH_SIZE='many': Input should be a valid integer"),
        ("EVENT_SINK_BATCH_SIZE", "0", "accepts an integer, 1 to 100000"),
        ("EVENT_SINK_FLUSH_INTERVAL_MS", "-5", "EVENT_SINK_FLUSH_INTERVAL_MS='-5'"),
        (
            "EVENT_BUS_DRIVER",
            "rabbitmq",
            "EVENT_BUS_DRIVER='rabbitmq': Input should be 'memory', 'kafka' or 'pubsub'",
        ),
        (
            "WAREHOUSE_DATABASE_URL",
            "mysql://db",
            "expected a postgresql://, postgres://, bigquery://, duckdb:/// or snowflake:// URL",
        ),
        ("INGEST_PORT", "70000", "INGEST_PORT='70000'"),
    ],
)
def test_an_invalid_value_names_the_variable_and_what_it_accepts(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert expected in str(error.value)
    assert "accepts" in str(error.value)


def test_kafka_needs_topic_and_brokers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_BUS_DRIVER", "kafka")
    monkeypatch.delenv("EVENT_BUS_KAFKA_TOPIC", raising=False)
    with pytest.raises(ConfigError, match="needs EVENT_BUS_KAFKA_TOPIC and KAFKA_BROKERS"):
        load_settings()


def test_the_pubsub_subscription_defaults_to_the_topic_and_ingest_and_leases_last_a_day() -> None:
    settings = load_settings(
        EVENT_BUS_DRIVER="pubsub", EVENT_BUS_PUBSUB_TOPIC="analytics-events", PUBSUB_PROJECT_ID="laundry-prod"
    )
    assert settings.pubsub_subscription_id == "analytics-events-ingest"
    assert settings.pubsub_max_lease_s == 24 * 3600
    with pytest.raises(
        ConfigError, match=r"EVENT_BUS_PUBSUB_MAX_LEASE_S='60': Input should be greater than or equal to 600"
    ):
        load_settings(EVENT_BUS_PUBSUB_MAX_LEASE_S="60")


def test_the_contract_supplies_bus_and_namespace(tmp_path: Path) -> None:
    outputs = build_contract(
        "postgres", "warehouse_prod", BusContract(driver="kafka", topic="events", brokers=["k1:9092"])
    )
    path = tmp_path / "outputs.json"
    path.write_text(outputs.model_dump_json())
    settings = load_settings(path, WAREHOUSE_DATABASE_URL="postgresql://postgres@127.0.0.1/x")
    assert (settings.bus_driver, settings.kafka_topic, settings.kafka_brokers) == (
        "kafka",
        "events",
        ["k1:9092"],
    )
    assert settings.warehouse_namespace == "warehouse_prod"


def test_a_contract_from_another_schema_or_warehouse_is_refused(tmp_path: Path) -> None:
    outputs = build_contract("postgres", "analytics", BusContract(driver="memory"))
    path = tmp_path / "outputs.json"
    path.write_text(outputs.model_copy(update={"schema_fingerprint": "sha256:0000"}).model_dump_json())
    with pytest.raises(ConfigError, match="deployed with schema sha256:0000"):
        load_settings(path, WAREHOUSE_DATABASE_URL="postgresql://postgres@127.0.0.1/x")
    path.write_text(outputs.model_dump_json())
    with pytest.raises(ConfigError, match="stack's warehouse is postgres"):
        load_settings(path, WAREHOUSE_DATABASE_URL="duckdb:///tmp/x.duckdb")
    path.write_text('{"provider": "postgres"}')
    with pytest.raises(ConfigError, match="not valid stack outputs"):
        load_settings(path)


def test_kafka_tls_and_sasl_reach_the_client_as_librdkafka_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.bus.kafka import client_security

    for name, value in {
        "EVENT_BUS_DRIVER": "kafka",
        "EVENT_BUS_KAFKA_TOPIC": "analytics-events",
        "KAFKA_BROKERS": "kafka-0.internal:9092",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "analytics-ingest",
        "KAFKA_SASL_PASSWORD": "s3cret-value",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()

    assert client_security(settings) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "analytics-ingest",
        "sasl.password": "s3cret-value",
    }
    assert "s3cret-value" not in repr(settings)


def test_plaintext_kafka_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.bus.kafka import client_security

    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)

    assert client_security(load_settings()) == {"security.protocol": "PLAINTEXT"}


def test_sasl_without_credentials_names_the_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)

    with pytest.raises(ConfigError, match="KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM"):
        load_settings()


@pytest.mark.parametrize("schema", ['analytics"; drop table x; --', "1abc", "a" * 64, "with space"])
def test_a_schema_name_that_is_not_an_identifier_is_a_config_error(schema: str) -> None:
    """Issue 12 (1): an injected WAREHOUSE_SCHEMA started a service that lost every event."""
    with pytest.raises(ConfigError) as error:
        load_settings(WAREHOUSE_SCHEMA=schema)
    assert "WAREHOUSE_SCHEMA=" in str(error.value) and "is not allowed: it must match" in str(error.value)


def test_unknown_url_parameters_are_refused_before_anything_starts() -> None:
    """Issue 12 (1): ?bogus=1 made every write fail while /readyz said ready."""
    with pytest.raises(ConfigError, match='WAREHOUSE_DATABASE_URL: invalid URI query parameter: "bogus"'):
        open_writer(load_settings(WAREHOUSE_DATABASE_URL="postgresql://postgres@127.0.0.1/db?bogus=1"))
    with pytest.raises(ConfigError, match="takes no query parameters"):
        load_settings(WAREHOUSE_DATABASE_URL="duckdb:///tmp/x.duckdb?threads=2")
    assert open_writer(load_settings(WAREHOUSE_DATABASE_URL="postgresql://u@h/db?sslmode=require")).url


def test_a_config_error_never_echoes_a_password() -> None:
    """Issue 12 (5): the error named the variable with its whole value, password included."""
    with pytest.raises(ConfigError) as error:
        load_settings(WAREHOUSE_DATABASE_URL="mysql://admin:hunter2@db/x?password=hunter2")
    assert "hunter2" not in str(error.value) and f"admin:{SECRET_MASK}@" in str(error.value)


def test_a_duckdb_file_in_a_missing_directory_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    """Issue 12 (7): DuckDB created any path (mkdir -p); only INGEST_DATA_DIR is the service's own."""
    url = f"duckdb:///{tmp_path}/typo/warehouse.duckdb"
    with pytest.raises(ConfigError, match="does not exist"):
        open_writer(load_settings(WAREHOUSE_DATABASE_URL=url))
    assert not (tmp_path / "typo").exists()
    embedded = open_writer(load_settings(INGEST_DATA_DIR=str(tmp_path / "data")))
    embedded.close()
    assert (tmp_path / "data").is_dir()


@pytest.mark.parametrize(
    ("env", "serves"),
    [
        ({}, True),
        ({"INGEST_HOST": "::1"}, True),
        ({"INGEST_HOST": "0.0.0.0"}, False),
        ({"INGEST_HOST": "0.0.0.0", "INGEST_API_TOKEN": "t0ken"}, True),
        ({"INGEST_HOST": "0.0.0.0", "INGEST_ALLOW_UNAUTHENTICATED": "true"}, True),
        ({"INGEST_HOST": "10.1.2.3", "INGEST_ALLOW_UNAUTHENTICATED": "false"}, False),
    ],
)
def test_only_loopback_serves_without_a_token_unless_the_operator_opts_in(
    env: dict[str, str], serves: bool
) -> None:
    """Issue 12 (6)."""
    settings = load_settings(None, **env)
    if serves:
        settings.check_serving()
    else:
        with pytest.raises(ConfigError, match="INGEST_ALLOW_UNAUTHENTICATED=true"):
            settings.check_serving()


def test_an_empty_token_is_an_error_not_auth_off() -> None:
    with pytest.raises(ConfigError, match="an empty token would turn authentication off") as error:
        load_settings(INGEST_API_TOKEN="")
    assert "''" not in str(error.value)


def test_a_raw_at_in_a_postgres_password_is_refused_without_printing_the_password() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(WAREHOUSE_DATABASE_URL="postgresql://svc:hun@ter2@127.0.0.1:5432/w")
    assert "percent-encoded as %40" in str(error.value)
    assert "hun" not in str(error.value) and "ter2" not in str(error.value)
