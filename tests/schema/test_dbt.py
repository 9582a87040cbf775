"""``python -m schema dbt``: the rendered sources.yml against fragments written out by hand.

The expected text below is what an analyst would write for each warehouse, types spelt as that
warehouse spells them; it is not produced by the generator. dbt itself checks the file in
test_dbt_project.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from schema import BusContract, build_contract
from schema.dbt import sources_yaml

# (warehouse, default schema, event_id type, latitude type, context type, received_at type)
WAREHOUSES = [
    ("postgres", "analytics", "uuid", '"double precision"', "jsonb", "timestamptz"),
    ("duckdb", "main", "UUID", "DOUBLE", "JSON", "TIMESTAMPTZ"),
    ("bigquery", "laundry_analytics", "STRING", "FLOAT64", "JSON", "TIMESTAMP"),
    ("snowflake", "ANALYTICS", '"VARCHAR(36)"', "FLOAT", "VARIANT", "TIMESTAMP_TZ"),
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schema", "dbt", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("warehouse", "schema", "uuid", "double", "json", "timestamp"), WAREHOUSES)
def test_sources_name_each_column_with_the_warehouse_type_and_its_tests(
    warehouse: str, schema: str, uuid: str, double: str, json: str, timestamp: str
) -> None:
    result = _run("--warehouse", warehouse)
    assert result.returncode == 0, result.stderr
    fragments = [
        f"""
version: 2
sources:
  - name: analytics_warehouse
    description: "Validated analytics events written by the ingest service, exactly once per key."
    schema: {schema}
""",
        """
    config:
      loaded_at_field: received_at
      freshness:
        warn_after:
          count: 6
          period: hour
        error_after:
          count: 24
          period: hour
    tables:
""",
        f"""
      - name: analytics_driver_telemetry_events
        description: "Real-time driver locations for route analytics and SLA monitoring."
        columns:
          - name: event_id
            description: "Idempotency key of the event, a UUID."
            data_type: {uuid}
            data_tests:
              - unique
              - not_null
          - name: event_name
            description: "Event name within the family."
""",
        f"""
          - name: received_at
            description: "When the ingest service received the event."
            data_type: {timestamp}
            data_tests:
              - not_null
""",
        f"""
          - name: context
            description: "Request context."
            data_type: {json}
            data_tests:
              - not_null
""",
        f"""
          - name: latitude
            description: "WGS84 latitude in degrees."
            data_type: {double}
            data_tests:
              - not_null
          - name: longitude
""",
        # Optional columns carry no not_null test.
        f"""
          - name: speed_kmh
            description: "Ground speed in km/h."
            data_type: {double}
          - name: heading_deg
""",
    ]
    for fragment in fragments:
        assert fragment in result.stdout


def test_event_name_accepts_exactly_the_family_names_under_arguments() -> None:
    text = sources_yaml("postgres")
    families = [
        """
              - accepted_values:
                  arguments:
                    values:
                      - created
                      - request_accepted
                      - delivery_status_changed
""",
        """
                    values:
                      - plan_updated
                      - outreach_attempted
                      - outreach_completed
""",
        """
                    values:
                      - location_updated
""",
    ]
    for fragment in families:
        assert fragment in text


def test_the_document_is_yaml_with_four_tables_and_the_contract_tests() -> None:
    document = yaml.safe_load(sources_yaml("duckdb"))
    (source,) = document["sources"]
    tables = {table["name"]: table for table in source["tables"]}
    assert sorted(tables) == [
        "analytics_campaign_interaction_events",
        "analytics_dead_letter_events",
        "analytics_driver_telemetry_events",
        "analytics_order_lifecycle_events",
    ]
    assert tables["analytics_dead_letter_events"]["config"] == {"freshness": None}
    telemetry = {
        column["name"]: column.get("data_tests", [])
        for column in tables["analytics_driver_telemetry_events"]["columns"]
    }
    assert [name for name, tests in telemetry.items() if "not_null" in tests] == [
        "event_id", "event_name", "occurred_at", "received_at", "source", "schema_version",
        "context", "payload", "driver_id", "latitude", "longitude",
    ]  # fmt: skip
    assert [name for name, tests in telemetry.items() if "unique" in tests] == ["event_id"]
    dead = {
        column["name"]: column.get("data_tests", [])
        for column in tables["analytics_dead_letter_events"]["columns"]
    }
    assert dead["dead_letter_id"] == ["unique", "not_null"] and dead["event_id"] == []


@pytest.mark.parametrize(
    ("provider", "namespace", "catalog", "expected"),
    [
        (
            "bigquery",
            "events_prod",
            "laundry-prod",
            '    database: "laundry-prod"\n    schema: events_prod\n',
        ),
        ("snowflake", "RAW", "ANALYTICS_DB", "    database: ANALYTICS_DB\n    schema: RAW\n"),
        ("postgres", "reporting", None, "    schema: reporting\n"),
    ],
)
def test_the_stack_outputs_say_where_the_tables_are(
    tmp_path: Path, provider: str, namespace: str, catalog: str | None, expected: str
) -> None:
    outputs = build_contract(provider, namespace, BusContract(driver="memory"), catalog=catalog)  # type: ignore[arg-type]
    path = tmp_path / "outputs.json"
    path.write_text(outputs.model_dump_json())
    result = _run("--contract", str(path))
    assert result.returncode == 0, result.stderr
    assert f'exactly once per key."\n{expected}    meta:\n' in result.stdout
    if catalog is None:
        assert "database:" not in result.stdout


def test_a_warehouse_that_contradicts_the_stack_outputs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(build_contract("postgres", "analytics", BusContract(driver="memory")).model_dump_json())
    result = _run("--warehouse", "snowflake", "--contract", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert "--warehouse snowflake does not match the stack outputs' provider postgres" in result.stderr


def test_unreadable_stack_outputs_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text('{"provider": "oracle"}')
    result = _run("--contract", str(path))
    assert result.returncode == 2 and str(path) in result.stderr and "provider" in result.stderr
