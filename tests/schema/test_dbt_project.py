"""The generated dbt sources, checked by dbt itself on the embedded DuckDB warehouse.

Each test writes stack outputs for a DuckDB stack whose tables live in schema ``reporting``, replays
a corpus (duplicates and bad lines included) with the real ``ingest replay`` reading those outputs,
puts ``python -m schema dbt --contract`` output into a throwaway dbt project, and runs dbt
(1.11, from the virtualenv ``make install`` creates at ``.venv/dbt``: its pins clash with mypy's,
see pyproject) as a subprocess, offline and without usage tracking. Expected test names are written
out by hand from dbt's naming scheme, not derived from the generator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest

from schema import BusContract, build_contract
from tests.schema.events import PAYLOADS, sample

DBT = Path(os.environ.get("DBT_EXECUTABLE", Path(sys.prefix) / "dbt" / "bin" / "dbt"))
NAMESPACE = "reporting"
SOURCE = "analytics_warehouse"
ORDERS = "analytics_order_lifecycle_events"
CAMPAIGNS = "analytics_campaign_interaction_events"
DRIVERS = "analytics_driver_telemetry_events"
DEAD_LETTERS = "analytics_dead_letter_events"


def _corpus(path: Path) -> None:
    """Three of every event, each written twice (a redelivery), plus lines the validator refuses."""
    events = [sample(category, name) for category, name in sorted(PAYLOADS) for _ in range(3)]
    lines = [json.dumps(event) for event in events]
    lines += [json.dumps(event) for event in events[::2]]
    lines += [
        "not json",
        json.dumps({**sample("order.lifecycle", "created"), "name": "refunded"}),
        json.dumps(sample("driver.telemetry", "location_updated", payload={"driver_id": "d-1"})),
        json.dumps({**sample("campaign.interaction", "plan_updated"), "event_id": "not-a-uuid"}),
    ]
    path.write_text("\n".join(lines) + "\n")


def _project(tmp_path: Path) -> tuple[Path, Path]:
    """(project dir, warehouse file): the warehouse filled by ``ingest replay``, sources generated."""
    warehouse = tmp_path / "warehouse.duckdb"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(build_contract("duckdb", NAMESPACE, BusContract(driver="memory")).model_dump_json())
    corpus = tmp_path / "corpus.jsonl"
    _corpus(corpus)
    env = {**os.environ, "WAREHOUSE_DATABASE_URL": f"duckdb://{warehouse}"}
    replay = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "--contract", str(outputs), "replay", "--quiet", str(corpus)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    # 21 distinct events (9 order, 3 driver, 9 campaign) sent 32 times; four lines dead-lettered.
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {NAMESPACE}.{table}").fetchone()
            for table in (ORDERS, DRIVERS, CAMPAIGNS, DEAD_LETTERS)
        }
    assert counts == {ORDERS: (9,), DRIVERS: (3,), CAMPAIGNS: (9,), DEAD_LETTERS: (4,)}, replay.stderr

    project = tmp_path / "analytics"
    (project / "models").mkdir(parents=True)
    sources = subprocess.run(
        [sys.executable, "-m", "schema", "dbt", "--contract", str(outputs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (project / "models" / "sources.yml").write_text(sources.stdout)
    (project / "dbt_project.yml").write_text(
        "name: analytics\nversion: '1.0'\nconfig-version: 2\nprofile: analytics\n"
    )
    (project / "profiles.yml").write_text(
        "analytics:\n  target: ci\n  outputs:\n    ci:\n"
        f"      type: duckdb\n      path: {json.dumps(str(warehouse))}\n      threads: 1\n"
    )
    return project, warehouse


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not DBT.is_file():
        pytest.fail(f"dbt is not installed at {DBT}: run `make install` (it creates .venv/dbt)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env |= {
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "DO_NOT_TRACK": "1",
    }
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _statuses(project: Path, results_file: str) -> dict[str, str]:
    """The last part of each node's name (test.<project>.<test>.<hash> -> the test; source.<project>.
    <source>.<table> -> the table) -> its status, from dbt's result file."""
    data: dict[str, Any] = json.loads((project / "target" / results_file).read_text())
    statuses = {}
    for result in data["results"]:
        kind, _, *parts = result["unique_id"].split(".")
        statuses[parts[0] if kind == "test" else parts[-1]] = result["status"]
    return statuses


@pytest.mark.timeout(900)  # four subprocesses, dbt's start-up alone is ~10 s on a loaded machine
def test_dbt_passes_every_source_test_on_replayed_events_and_fails_broken_data(tmp_path: Path) -> None:
    project, warehouse = _project(tmp_path)

    # --warn-error: a deprecated property (dbt 1.11 warns about those) fails the run.
    clean = _dbt(project, "--warn-error", "test")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    results = _statuses(project, "run_results.json")
    assert len(results) == 42 and set(results.values()) == {"pass"}, results
    assert f"source_unique_{SOURCE}_{ORDERS}_event_id" in results

    with duckdb.connect(str(warehouse)) as conn:
        # BigQuery and Snowflake do not enforce keys; rebuilding the table without its constraints
        # gives DuckDB the same freedom, so a duplicate can land as it could there.
        conn.execute(f"CREATE TABLE {NAMESPACE}.loose AS SELECT * FROM {NAMESPACE}.{ORDERS}")
        conn.execute(f"DROP TABLE {NAMESPACE}.{ORDERS}")
        conn.execute(f"ALTER TABLE {NAMESPACE}.loose RENAME TO {ORDERS}")
        conn.execute(f"INSERT INTO {NAMESPACE}.{ORDERS} SELECT * FROM {NAMESPACE}.{ORDERS} LIMIT 1")
        conn.execute(
            f"INSERT INTO {NAMESPACE}.{ORDERS} "
            f"SELECT * REPLACE (uuid() AS event_id, NULL AS order_id) FROM {NAMESPACE}.{ORDERS} LIMIT 1"
        )
        conn.execute(
            f"INSERT INTO {NAMESPACE}.{CAMPAIGNS} "
            f"SELECT * REPLACE (?::UUID AS event_id, 'plan_deleted' AS event_name) "
            f"FROM {NAMESPACE}.{CAMPAIGNS} LIMIT 1",
            [str(uuid.uuid4())],
        )

    broken = _dbt(project, "test")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    failed = {name for name, status in _statuses(project, "run_results.json").items() if status == "fail"}
    assert failed == {
        f"source_unique_{SOURCE}_{ORDERS}_event_id",
        f"source_not_null_{SOURCE}_{ORDERS}_order_id",
        f"source_accepted_values_{SOURCE}_{CAMPAIGNS}_event_name"
        "__plan_updated__outreach_attempted__outreach_completed",
    }
    assert f"Failure in test source_unique_{SOURCE}_{ORDERS}_event_id" in broken.stdout


@pytest.mark.timeout(900)
def test_dbt_source_freshness_reads_received_at_and_skips_the_dead_letters(tmp_path: Path) -> None:
    project, warehouse = _project(tmp_path)

    fresh = _dbt(project, "--warn-error", "source", "freshness")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert _statuses(project, "sources.json") == {ORDERS: "pass", CAMPAIGNS: "pass", DRIVERS: "pass"}

    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(f"UPDATE {NAMESPACE}.{ORDERS} SET received_at = received_at - INTERVAL 7 HOUR")
        conn.execute(f"UPDATE {NAMESPACE}.{DRIVERS} SET received_at = received_at - INTERVAL 25 HOUR")
        # occurred_at is not what freshness reads: moving it back changes nothing.
        conn.execute(f"UPDATE {NAMESPACE}.{CAMPAIGNS} SET occurred_at = occurred_at - INTERVAL 30 DAY")

    stale = _dbt(project, "source", "freshness")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert _statuses(project, "sources.json") == {ORDERS: "warn", CAMPAIGNS: "pass", DRIVERS: "error"}
