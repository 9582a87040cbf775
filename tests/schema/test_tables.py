"""Table specs derived from the models, checked against the fixed contract (docs/contract.md).

The expected names below restate the contract on purpose: this is the acceptance check that the
derivation produces the contract other systems rely on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from schema import DEAD_LETTER_TABLE, EVENT_TABLES, TABLES, event_row, parse_event, table_for
from schema.types import LogicalType
from tests.schema.events import PAYLOADS, raw, sample

COMMON = [
    "event_id",
    "event_name",
    "occurred_at",
    "received_at",
    "source",
    "schema_version",
    "actor_type",
    "actor_id",
    "context",
    "payload",
]
FACTS = {
    "order.lifecycle": ["order_id", "branch_id", "customer_id", "driver_id", "status", "delivery_status"],
    "driver.telemetry": [
        "driver_id",
        "order_id",
        "latitude",
        "longitude",
        "accuracy_m",
        "speed_kmh",
        "heading_deg",
    ],
    "campaign.interaction": ["template_key", "campaign_id", "plan_id", "channel", "customer_id", "outcome"],
}
TABLE_NAMES = {
    "order.lifecycle": "analytics_order_lifecycle_events",
    "driver.telemetry": "analytics_driver_telemetry_events",
    "campaign.interaction": "analytics_campaign_interaction_events",
}


def test_tables_match_design() -> None:
    assert {str(c): spec.name for c, spec in EVENT_TABLES.items()} == TABLE_NAMES
    for category, facts in FACTS.items():
        assert list(table_for(category).column_names) == COMMON + facts
    assert DEAD_LETTER_TABLE.name == "analytics_dead_letter_events"
    assert [spec.name for spec in TABLES][-1] == DEAD_LETTER_TABLE.name


# Clustering (BigQuery, Snowflake) and Postgres btree indexes, as reviewed: (cluster_by, indexes).
LAYOUT = {
    "order.lifecycle": (
        ("order_id", "branch_id", "customer_id"),
        ("order_id", "branch_id", "customer_id", "driver_id", "status", "delivery_status"),
    ),
    "driver.telemetry": (("driver_id", "order_id"), ("driver_id", "order_id")),
    "campaign.interaction": (
        ("campaign_id", "template_key", "channel"),
        ("template_key", "campaign_id", "plan_id", "channel", "customer_id", "outcome"),
    ),
}


def test_clustering_and_indexes_are_the_reviewed_ones() -> None:
    assert {
        category: (table_for(category).cluster_by, table_for(category).indexes) for category in LAYOUT
    } == LAYOUT
    assert (DEAD_LETTER_TABLE.cluster_by, DEAD_LETTER_TABLE.indexes) == (
        ("origin", "error_rule"),
        ("event_id", "error_rule"),
    )
    assert (DEAD_LETTER_TABLE.primary_key, DEAD_LETTER_TABLE.partition_by) == (
        ("dead_letter_id",),
        "received_at",
    )


def test_keys_partitioning_and_types() -> None:
    for spec in EVENT_TABLES.values():
        assert spec.primary_key == ("event_id",)
        assert spec.partition_by == "occurred_at"
        assert spec.column("event_id").type is LogicalType.UUID
        assert spec.column("context").type is LogicalType.JSON and not spec.column("context").nullable
        assert spec.column("actor_id").nullable
    telemetry = table_for("driver.telemetry")
    assert (
        not telemetry.column("latitude").nullable and telemetry.column("latitude").type is LogicalType.FLOAT
    )
    assert telemetry.column("speed_kmh").nullable
    assert not table_for("order.lifecycle").column("order_id").nullable
    assert table_for("order.lifecycle").column("delivery_status").nullable
    assert not table_for("campaign.interaction").column("template_key").nullable
    assert DEAD_LETTER_TABLE.column("raw_body").type is LogicalType.BYTES


def test_every_column_has_a_description() -> None:
    for spec in TABLES:
        assert [c.name for c in spec.columns if not c.description] == [], spec.name


def test_event_rows_follow_column_order() -> None:
    received = datetime(2026, 11, 25, 12, tzinfo=UTC)
    for category, name in PAYLOADS:
        body = sample(category, name)
        event = parse_event(raw(body))
        row = dict(zip(table_for(category).column_names, event_row(event, received), strict=True))
        assert row["event_id"] == event.event_id and row["event_name"] == name
        assert row["received_at"] == received and row["actor_type"] == "customer"
        for field, value in PAYLOADS[(category, name)].items():
            assert row[field] == value
