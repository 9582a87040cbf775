"""The offline render: deterministic, complete, and lazy about provider SDKs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.__main__ import main
from infra.render import render
from infra.stackfiles import ROOT
from schema.dialects import POSTGRES as postgres
from schema.tables import TABLES
from tests.infra.conftest import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_two_renders_are_identical(stack: str) -> None:
    assert render(stack) == render(stack)


def test_the_reviewers_shell_does_not_leak_into_the_render(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = render("prod-snowflake")
    for variable, value in {"SNOWFLAKE_WAREHOUSE": "MINE", "KAFKA_SASL_MECHANISM": "scram-sha512"}.items():
        monkeypatch.setenv(variable, value)

    assert render("prod-snowflake") == clean


def test_render_lists_resources_ddl_and_outputs() -> None:
    text = render("dev")

    assert "pulumi-python:dynamic/postgres:Table analytics_order_lifecycle_events\n" in text
    assert "  parent: analytics:warehouse:Postgres::warehouse\n" in text
    assert f"{postgres.create_table(TABLES[0], 'analytics')[0]};" in text
    assert '"schema_fingerprint": "sha256:' in text
    assert "-id" not in text.split("## outputs")[1]


def test_render_shows_protection_and_hides_secrets() -> None:
    text = render("staging")

    assert "pulumi-python:dynamic/postgres:Table analytics_dead_letter_events [protect]" in text
    assert '  url: "[secret]"' in text
    assert "SECRET OUTPUTS" not in text


def test_json_render_is_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stack", "prod-bigquery", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)

    assert data["stack"] == "prod-bigquery"
    assert data["resources"] == sorted(data["resources"], key=lambda r: (r["type"], r["name"]))
    assert data["outputs"]["provider"] == "bigquery"
    assert data["secret_outputs"] == []


def test_unknown_stack_is_refused_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["render", "--stack", "nope"])

    assert "dev" in capsys.readouterr().err


def test_rendering_a_postgres_stack_imports_no_gcp_or_snowflake_sdk() -> None:
    probe = (
        "import sys\n"
        "from infra.render import render\n"
        "render('dev')\n"
        "print(sorted(m for m in ('pulumi_gcp', 'pulumi_snowflake', 'pulumi_postgresql', 'ingest') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "['pulumi_postgresql']"


def test_the_program_never_imports_the_ingest_service() -> None:
    sources = [path.read_text() for path in (ROOT / "infra").rglob("*.py")]

    assert not any("import ingest" in source or "from ingest" in source for source in sources)
