"""``python -m infra diff`` on real git repositories the tests make (a copy of this project on
``main``, a ``feature`` branch edited by the test). Expected lines are written by hand from the
stack files and the provider rules, never computed by the diff code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.diffrepo import Repo, copy_project, make_repo

# Several renders per test on a shared 2-core machine: well above the suite's 300 s per test.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("template") / "project"
    copy_project(target)
    return target


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Repo:
    return make_repo(template, tmp_path / "repo")


def test_a_stack_file_value_is_an_in_place_update_of_the_topics(repo: Repo) -> None:
    repo.replace("Pulumi.dev.yaml", "kafkaPartitions: 1", "kafkaPartitions: 3")

    code, out, _ = repo.diff("--stack", "dev")

    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("infra diff: stack dev, merge base with main (")
    assert lines[0].endswith(") → working tree")
    assert lines[2:10] == [
        "resources: 0 added, 0 removed, 2 changed (0 replaced)",
        "~ kafka:index/topic:Topic dead-letter: update in place",
        "    partitions: 1 → 3",
        "~ kafka:index/topic:Topic events: update in place",
        "    partitions: 1 → 3",
        "protected resources touched: 0",
        "stack outputs changed: 0",
        "schema: no schema changes",
    ]
    assert lines[-1] == "verdict: no breaking change"


def test_fewer_kafka_partitions_replace_the_topics(repo: Repo) -> None:
    repo.replace("Pulumi.dev.yaml", "kafkaPartitions: 1", "kafkaPartitions: 3")
    repo.commit("three partitions")
    repo.replace("Pulumi.dev.yaml", "kafkaPartitions: 3", "kafkaPartitions: 2")

    code, out, _ = repo.diff("--stack", "dev", "--base", "HEAD")

    assert out.startswith("infra diff: stack dev, HEAD (")
    assert "-/+ kafka:index/topic:Topic events: REPLACE (partitions (Kafka cannot remove partitions))" in out
    assert "    partitions: 3 → 2\n" in out
    assert code == 0, "dev's topics are not protected: a replacement is shown, not refused"


def test_renaming_the_dataset_replaces_protected_tables_and_fails(repo: Repo) -> None:
    repo.replace(
        "Pulumi.prod-bigquery.yaml", "bigqueryDataset: laundry_analytics", "bigqueryDataset: laundry_events"
    )

    code, out, _ = repo.diff("--stack", "prod-bigquery", "--markdown")

    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("### ❌ `infra diff` — stack `prod-bigquery`: `merge base with main (")
    assert lines[2] == "**verdict: BREAKING**"
    assert "- protected gcp:bigquery/dataset:Dataset::dataset would be replaced" in lines
    assert "- protected gcp:bigquery/table:Table::analytics_order_lifecycle_events would be replaced" in lines
    assert "| `-/+` | `gcp:bigquery/dataset:Dataset::dataset` | REPLACE (datasetId) |" in lines
    assert "-/+ gcp:bigquery/dataset:Dataset dataset [protect]: REPLACE (datasetId)" in lines
    assert '    datasetId: "laundry_analytics" → "laundry_events"' in lines
    assert '    namespace: "laundry_analytics" → "laundry_events"' in lines, (
        "the stack outputs (the contract) show the new dataset"
    )


def test_an_additive_column_updates_the_bigquery_tables_in_place(repo: Repo) -> None:
    repo.replace(
        "schema/events.py",
        '    delivery_status: Identifier | None = Field(None, description="Delivery status after the event.")\n',
        '    delivery_status: Identifier | None = Field(None, description="Delivery status after the event.")\n'
        '    promo_code: Identifier | None = Field(None, description="Promotion applied to the order.")\n',
    )

    code, out, _ = repo.diff("--stack", "prod-bigquery")

    assert code == 0, out
    assert "~ gcp:bigquery/table:Table analytics_order_lifecycle_events [protect]: update in place\n" in out
    assert '.name: (absent) → "promo_code"\n' in out
    assert "schema: 0 breaking, 1 additive change(s):\n" in out
    assert '  - analytics_order_lifecycle_events.promo_code: add_column (- -> "text")\n' in out
    assert "  gcp:bigquery/table:Table::analytics_order_lifecycle_events: update in place\n" in out


def test_a_dropped_column_fails_with_the_evolution_report(repo: Repo) -> None:
    repo.replace(
        "schema/events.py",
        '    speed_kmh: float | None = Field(None, ge=0.0, description="Ground speed in km/h.")\n',
        "",
    )

    code, out, _ = repo.diff("--stack", "dev")

    assert code == 1
    assert (
        "the working tree does not render stack dev:\n"
        "  schema.exceptions.SchemaEvolutionError: breaking schema change(s); deployed tables would "
        "lose data or readers would break:\n"
    ) in out
    assert "Traceback" not in out
    assert "schema: 1 breaking, 0 additive change(s):\n" in out
    assert '  - analytics_driver_telemetry_events.speed_kmh: drop_column ("float" -> -); breaking.' in out
    assert out.endswith(
        "verdict: BREAKING\n"
        "  - breaking schema change: analytics_driver_telemetry_events.speed_kmh: drop_column "
        '("float" -> -); breaking. How to ship it instead: keep the column (stop filling it, leave it '
        "nullable), or ship a new table version (e.g. <table>_v2) and migrate readers\n"
        "  - the working tree does not render stack dev\n"
    )


def test_the_default_base_is_the_merge_base_not_mains_tip(repo: Repo) -> None:
    repo.git("checkout", "-q", "main")
    repo.replace("Pulumi.dev.yaml", "kafkaPartitions: 1", "kafkaPartitions: 2")
    repo.commit("main moves on after the branch")
    repo.git("checkout", "-q", "feature")

    code, out, _ = repo.diff("--stack", "dev")
    against_tip_code, against_tip, _ = repo.diff("--stack", "dev", "--base", "main")

    assert code == 0 and "resources: 0 added, 0 removed, 0 changed (0 replaced)\n" in out
    assert against_tip_code == 0 and "    partitions: 2 → 1\n" in against_tip
    assert against_tip.startswith("infra diff: stack dev, main (")


def test_a_new_stack_is_all_additions(repo: Repo) -> None:
    (repo.path / "Pulumi.qa.yaml").write_text((repo.path / "Pulumi.dev.yaml").read_text())

    code, out, _ = repo.diff("--stack", "qa")

    assert code == 0
    assert "stack qa is new: every resource is created\n" in out
    assert "+ kafka:index/topic:Topic events: create\n" in out


def test_an_unknown_ref_is_an_error_not_a_diff(repo: Repo) -> None:
    code, out, err = repo.diff("--stack", "dev", "--base", "no-such-branch")

    assert code == 2 and out == ""
    assert err.startswith("infra diff: git rev-parse --verify no-such-branch^{commit}: ")
