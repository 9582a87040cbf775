"""BigQuery settings: the URL, the dataset override, the emulator host, and the stack outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import ConfigError, load_settings
from ingest.writers import open_writer
from ingest.writers.bigquery import BigQueryWriter
from schema import BusContract, build_contract
from schema.dialects import BIGQUERY as dialect


def test_the_url_names_project_and_dataset() -> None:
    settings = load_settings(WAREHOUSE_DATABASE_URL="bigquery://acme-analytics/events_prod")
    assert (settings.warehouse, settings.warehouse_namespace) == ("bigquery", "events_prod")
    writer = open_writer(settings)
    assert isinstance(writer, BigQueryWriter)
    assert (writer.project, writer.namespace) == ("acme-analytics", "events_prod")


def test_bigquery_dataset_overrides_the_urls_dataset_and_the_default_applies_without_either() -> None:
    url = "bigquery://acme-analytics/events_prod"
    assert load_settings(WAREHOUSE_DATABASE_URL=url, BIGQUERY_DATASET="other").warehouse_namespace == "other"
    bare = load_settings(WAREHOUSE_DATABASE_URL="bigquery://acme-analytics")
    assert bare.warehouse_namespace == dialect.DEFAULT_NAMESPACE


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bigquery://Not_A_Project/ds", "project id 'Not_A_Project' is not a valid Google Cloud project id"),
        ("bigquery://acme-analytics/bad-dataset", "dataset 'bad-dataset' is not allowed"),
        ("bigquery://acme-analytics/ds?location=EU", "takes no query parameters"),
    ],
)
def test_a_bad_url_names_the_variable_and_the_fault(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(WAREHOUSE_DATABASE_URL=url)
    assert f"WAREHOUSE_DATABASE_URL='{url}'" in str(raised.value)
    assert message in str(raised.value)


def test_the_emulator_host_switches_to_anonymous_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "http://127.0.0.1:9050")
    writer = open_writer(load_settings(WAREHOUSE_DATABASE_URL="bigquery://acme-analytics/ds"))
    assert isinstance(writer, BigQueryWriter)
    client = writer.client()
    assert client._connection.API_BASE_URL == "http://127.0.0.1:9050"
    assert type(client._credentials).__name__ == "AnonymousCredentials"
    writer.close()


def test_the_contract_of_a_bigquery_stack_supplies_dataset_and_bus(tmp_path: Path) -> None:
    outputs = build_contract(
        "bigquery",
        "laundry_prod",
        BusContract(driver="pubsub", topic="analytics-events", project="acme-analytics"),
        catalog="acme-analytics",
    )
    path = tmp_path / "outputs.json"
    path.write_text(outputs.model_dump_json())
    settings = load_settings(path, WAREHOUSE_DATABASE_URL="bigquery://acme-analytics/ignored")
    assert settings.warehouse_namespace == "laundry_prod"
    assert (settings.bus_driver, settings.pubsub_topic) == ("pubsub", "analytics-events")
    with pytest.raises(ConfigError, match="stack's warehouse is bigquery"):
        load_settings(path, WAREHOUSE_DATABASE_URL="postgresql://postgres@127.0.0.1/x")
