"""The diff's pieces without git: secret masking, leaf-by-leaf input changes, and the replace
rules read from the providers' documentation (oracles written from those docs by hand)."""

from __future__ import annotations

from typing import Any

from infra.diff_changes import InputChange, input_changes, mask, resource_changes
from infra.diff_replace import replacement

BQ_TABLE = "gcp:bigquery/table:Table"


def column(name: str, type_: str = "STRING", mode: str = "NULLABLE") -> dict[str, str]:
    return {"name": name, "type": type_, "mode": mode}


def document(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resources": list(resources), "outputs": {}}


def resource(type_: str, name: str, protect: bool = False, **inputs: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "name": name,
        "parent": "stack",
        "protect": protect,
        "provider": "default",
        "depends_on": [],
        "inputs": inputs,
    }


def test_secret_names_and_credential_values_are_masked() -> None:
    masked = mask(
        "",
        {
            "password": "hunter2",
            "secretData": "postgresql://u:p@h/db",
            "url": "postgresql://ingest:hunter2@10.0.0.5:5432/warehouse",
            "dev_url": "postgresql://warehouse@localhost:5433/laundry_warehouse",
            "env": [{"name": "X", "value": "token=abc123"}],
            "host": "db.internal",
        },
    )

    assert masked == {
        "password": "[secret]",
        "secretData": "[secret]",
        "url": "[secret]",
        "dev_url": "postgresql://warehouse@localhost:5433/laundry_warehouse",
        "env": [{"name": "X", "value": "[secret]"}],
        "host": "db.internal",
    }


def test_input_changes_name_the_leaf_that_changed() -> None:
    before = {"template": {"containers": [{"envs": [{"name": "A", "value": "1"}]}]}}
    after = {"template": {"containers": [{"envs": [{"name": "A", "value": "2"}, {"name": "B"}]}]}}

    assert input_changes(before, after) == [
        InputChange("template.containers[0].envs[0].value", "1", "2"),
        InputChange("template.containers[0].envs[1].name", "(absent)", "B"),
    ]


def test_an_appended_nullable_bigquery_column_is_in_place() -> None:
    before = {"schema": [column("event_id", mode="REQUIRED"), column("a")]}
    after = {"schema": [column("event_id", mode="NULLABLE"), column("a"), column("b")]}

    assert replacement(BQ_TABLE, before, after, ["schema[1].mode", "schema[2].name"]) == []


def test_a_retyped_or_required_bigquery_column_replaces_the_table() -> None:
    before = {"schema": [column("a")]}
    retyped = {"schema": [column("a", "INT64")]}
    required_added = {"schema": [column("a"), column("b", mode="REQUIRED")]}

    assert replacement(BQ_TABLE, before, retyped, ["schema[0].type"]) == [
        "schema (a column dropped, renamed, retyped or tightened)"
    ]
    assert replacement(BQ_TABLE, before, required_added, ["schema[1].name"]) != []


def test_bigquery_partitioning_field_replaces_but_its_expiry_does_not() -> None:
    before = {"timePartitioning": {"field": "occurred_at", "type": "DAY"}}
    moved = {"timePartitioning": {"field": "received_at", "type": "DAY"}}
    expiring = {"timePartitioning": {"field": "occurred_at", "type": "DAY", "expirationMs": 1}}

    assert replacement(BQ_TABLE, before, moved, ["timePartitioning.field"]) == ["timePartitioning.field"]
    assert replacement(BQ_TABLE, before, expiring, ["timePartitioning.expirationMs"]) == []


def test_pubsub_topic_name_replaces_and_retention_does_not() -> None:
    topic = "gcp:pubsub/topic:Topic"

    assert replacement(topic, {}, {}, ["name"]) == ["name"]
    assert replacement(topic, {}, {}, ["messageRetentionDuration"]) == []


def test_an_iam_member_is_replaced_by_any_change() -> None:
    assert replacement("gcp:pubsub/topicIAMMember:TopicIAMMember", {}, {}, ["role"]) == ["role"]


def test_a_moved_parent_replaces_and_a_protected_removal_is_flagged() -> None:
    topic = resource("kafka:index/topic:Topic", "events", partitions=1)
    moved = {**topic, "parent": "analytics:bus:Bus::other"}
    table = resource(BQ_TABLE, "t", protect=True, tableId="t")

    changes = resource_changes(document(topic, table), document(moved))

    assert [(c.ref, c.kind, c.protected, c.reasons) for c in changes] == [
        (f"{BQ_TABLE}::t", "remove", True, ()),
        ("kafka:index/topic:Topic::events", "replace", False, ("parent changed",)),
    ]


def test_a_type_without_a_rule_is_reported_unknown() -> None:
    before = document(resource("aws:s3/bucket:Bucket", "b", bucket="x"))
    after = document(resource("aws:s3/bucket:Bucket", "b", bucket="y"))

    (change,) = resource_changes(before, after)

    assert change.kind == "update" and change.unknown_type
