"""The warehouse container and its tables, per warehouse, on the program's registrations."""

from __future__ import annotations

import json
from typing import Any

from infra.warehouses.postgres import connection_settings, role_names
from infra.warehouses.snowflake import PREVIEW_FEATURES
from schema.dialects import BIGQUERY as bigquery
from schema.dialects import SNOWFLAKE as snowflake
from schema.tables import TABLES, tables_by_name
from tests.infra.conftest import RunOf

PG_GRANT = "postgresql:index/grant:Grant"
SF_GRANT = "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"
SPECS = tables_by_name()


def test_postgres_writer_may_only_insert_and_select_the_four_tables(run_of: RunOf) -> None:
    run, config = run_of("dev")
    writer = run.one("postgresql:index/role:Role", "writer-role")
    grants = {g.name: g.inputs for g in run.of_type(PG_GRANT) if g.inputs["role"] == writer.inputs["name"]}

    assert writer.inputs["name"] == f"{config.namespace}_ingest_writer"
    assert writer.inputs["login"] is False
    assert {name: (g["objectType"], sorted(g["privileges"])) for name, g in grants.items()} == {
        "writer-database": ("database", ["CONNECT", "TEMPORARY"]),
        "writer-schema": ("schema", ["USAGE"]),
        "writer-tables": ("table", ["INSERT", "SELECT"]),
    }
    assert grants["writer-tables"]["objects"] == sorted(spec.name for spec in TABLES)
    assert not any(
        d.inputs["role"] == writer.inputs["name"]
        for d in run.of_type("postgresql:index/defaultPrivileges:DefaultPrivileges")
    )


def test_postgres_table_grants_wait_for_the_tables(run_of: RunOf) -> None:
    run, _ = run_of("dev")
    tables = run.of_type("pulumi-python:dynamic/postgres:Table")

    for name in ("writer-tables", "analyst-tables"):
        grant = run.one(PG_GRANT, name)
        assert all(run.depends_on(grant, table) for table in tables)


def test_postgres_analyst_is_read_only_now_and_for_future_tables(run_of: RunOf) -> None:
    run, _ = run_of("dev")
    analyst = run.one("postgresql:index/role:Role", "analyst-role").inputs["name"]
    grants = [g.inputs for g in run.of_type(PG_GRANT) if g.inputs["role"] == analyst]
    future = run.one("postgresql:index/defaultPrivileges:DefaultPrivileges", "analyst-future-tables")

    assert {p for g in grants for p in g["privileges"]} == {"CONNECT", "USAGE", "SELECT"}
    assert future.inputs["role"] == analyst
    assert future.inputs["privileges"] == ["SELECT"]
    assert future.inputs["objectType"] == "table"


def test_postgres_tables_carry_the_schema_modules_ddl_and_a_secret_url(run_of: RunOf) -> None:
    run, config = run_of("dev")

    for table in run.of_type("pulumi-python:dynamic/postgres:Table"):
        spec = SPECS[table.name]
        assert table.inputs["snapshot"] == spec.snapshot()
        assert table.inputs["ddl"][0].startswith(
            f'CREATE TABLE IF NOT EXISTS "{config.namespace}"."{spec.name}"'
        )
        assert table.inputs["url"] == "[secret]"
        assert table.inputs["protected"] is False


def test_postgres_provider_connection_comes_from_the_url_and_stays_secret(run_of: RunOf) -> None:
    run, _ = run_of("dev")
    provider = run.one("pulumi:providers:postgresql", "warehouse")

    assert {key: provider.inputs[key] for key in ("host", "port", "password")} == dict.fromkeys(
        ("host", "port", "password"), "[secret]"
    )
    assert {t.provider for t in run.registrations if t.type.startswith("postgresql:")} == {"warehouse"}
    assert connection_settings("postgresql://w@localhost:5433/laundry_warehouse?sslmode=disable") == {
        "host": "localhost",
        "port": 5433,
        "database": "laundry_warehouse",
        "username": "w",
        "password": None,
        "sslmode": "disable",
    }


def test_staging_makes_the_ingest_login_a_writer_and_protects_the_schema(run_of: RunOf) -> None:
    run, config = run_of("staging")
    membership = run.one("postgresql:index/grantRole:GrantRole", "ingest-login-writer")

    assert membership.inputs["role"] == config.postgres_ingest_login
    assert membership.inputs["grantRole"] == role_names(config.namespace)["writer"]
    assert run.one("postgresql:index/schema:Schema", "namespace").protect is True
    assert all(t.inputs["protected"] is True for t in run.of_type("pulumi-python:dynamic/postgres:Table"))


def test_bigquery_tables_are_partitioned_clustered_and_deletion_protected(run_of: RunOf) -> None:
    run, config = run_of("prod-bigquery")

    for table in run.of_type("gcp:bigquery/table:Table"):
        spec = SPECS[table.name]
        assert table.inputs["tableId"] == spec.name
        assert table.inputs["datasetId"] == config.namespace
        assert json.loads(table.inputs["schema"]) == bigquery.schema_fields(spec)
        assert table.inputs["timePartitioning"] == {"type": "DAY", "field": spec.partition_by}
        assert table.inputs["clusterings"] == list(spec.cluster_by)
        assert table.inputs["deletionProtection"] is True
        assert table.protect is True


def test_bigquery_dataset_location_labels_policy_and_ingest_access(run_of: RunOf) -> None:
    run, config = run_of("prod-bigquery")
    dataset = run.one("gcp:bigquery/dataset:Dataset", "dataset")
    access = run.one("gcp:bigquery/datasetIamMember:DatasetIamMember", "ingest-writer")
    account = run.one("gcp:serviceaccount/account:Account", "ingest")

    assert dataset.inputs["location"] == config.bigquery_location
    assert dataset.inputs["labels"]["stack"] == "prod-bigquery"
    assert dataset.inputs["deletionPolicy"] == "PREVENT"
    assert dataset.inputs["deleteContentsOnDestroy"] is False
    assert dataset.protect is True
    assert access.inputs["role"] == "roles/bigquery.dataEditor"
    assert (
        access.inputs["member"] == f"serviceAccount:{account.inputs['accountId']}@{config.gcp_project}"
        ".iam.gserviceaccount.com"
    )


def test_snowflake_objects_run_as_sysadmin_and_roles_and_grants_as_securityadmin(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    providers = {p.name: p.inputs for p in run.of_type("pulumi:providers:snowflake")}
    security_types = (
        "accountRole:AccountRole",
        "grantPrivilegesToAccountRole:",
        "grantAccountRole:GrantAccountRole",
    )

    assert {name: inputs["role"] for name, inputs in providers.items()} == {
        "warehouse": "SYSADMIN",
        "security": "SECURITYADMIN",
    }
    for inputs in providers.values():
        assert json.loads(inputs["previewFeaturesEnabled"]) == PREVIEW_FEATURES
        assert (inputs["organizationName"], inputs["accountName"]) == ("LAUNDRY", "ANALYTICS")
    for resource in (r for r in run.registrations if r.type.startswith("snowflake:")):
        expected = "security" if any(part in resource.type for part in security_types) else "warehouse"
        assert resource.provider == expected, resource.ref


def test_snowflake_tables_have_the_schema_modules_columns_and_unquoted_cluster_keys(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    order = run.one("snowflake:index/table:Table", "analytics_order_lifecycle_events")

    # What Snowflake reads back (unquoted), so a preview shows no perpetual diff.
    assert order.inputs["clusterBies"] == ["TO_DATE(OCCURRED_AT)", "ORDER_ID", "BRANCH_ID", "CUSTOMER_ID"]
    for table in run.of_type("snowflake:index/table:Table"):
        spec = SPECS[table.name]
        assert table.inputs["name"] == snowflake.name(spec.name)
        assert [c["name"] for c in table.inputs["columns"]] == [snowflake.name(c) for c in spec.column_names]
        assert [c["type"] for c in table.inputs["columns"]] == [
            c["type"] for c in snowflake.column_specs(spec)
        ]
        assert '"' not in "".join(table.inputs["clusterBies"])
        assert "primaryKey" not in table.inputs
        assert table.protect is True


def test_each_pipe_copies_from_the_stage_and_depends_on_its_table(run_of: RunOf) -> None:
    run, config = run_of("prod-snowflake")
    stage = run.one("snowflake:index/stageInternal:StageInternal", "stage")
    file_format = run.one("snowflake:index/fileFormatJson:FileFormatJson", "file-format")

    for spec in TABLES:
        pipe = run.one("snowflake:index/pipe:Pipe", f"{spec.name}-pipe")
        table = run.one("snowflake:index/table:Table", spec.name)
        assert run.depends_on(pipe, table)
        assert run.depends_on(pipe, stage) and run.depends_on(pipe, file_format)
        assert pipe.inputs["copyStatement"] == snowflake.copy_into(
            spec,
            config.namespace,
            config.snowflake_stage,
            config.snowflake_file_format,
            config.snowflake_database,
        )
        assert pipe.inputs["copyStatement"].startswith('COPY INTO "ANALYTICS_DB"."ANALYTICS".')


def _privileges(grant: dict[str, Any]) -> tuple[str, list[str]]:
    on = grant.get("onAccountObject") or grant.get("onSchema") or grant.get("onSchemaObject")
    return json.dumps(on, sort_keys=True), sorted(grant["privileges"])


def test_the_snowflake_writer_holds_exactly_what_the_writer_needs(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    writer = run.one("snowflake:index/accountRole:AccountRole", "writer-role").inputs["name"]
    grants = {g.name: g.inputs for g in run.of_type(SF_GRANT) if g.inputs["accountRoleName"] == writer}
    schema = "ANALYTICS_DB.ANALYTICS"

    assert writer == "ANALYTICS_INGEST_WRITER"
    assert {name: _privileges(grant) for name, grant in grants.items()} == {
        "writer-database": ('{"objectName": "ANALYTICS_DB", "objectType": "DATABASE"}', ["USAGE"]),
        "writer-warehouse": ('{"objectName": "INGEST_WH", "objectType": "WAREHOUSE"}', ["USAGE"]),
        "writer-schema": (f'{{"schemaName": "{schema}"}}', ["CREATE TABLE", "USAGE"]),
        "writer-stage": (
            f'{{"objectName": "{schema}.KAFKA_STAGE", "objectType": "STAGE"}}',
            ["READ", "WRITE"],
        ),
        "writer-file-format": (
            f'{{"objectName": "{schema}.KAFKA_STAGE_JSON", "objectType": "FILE FORMAT"}}',
            ["USAGE"],
        ),
        "writer-all-tables": (
            f'{{"all": {{"inSchema": "{schema}", "objectTypePlural": "TABLES"}}}}',
            ["INSERT", "SELECT"],
        ),
        "writer-future-tables": (
            f'{{"future": {{"inSchema": "{schema}", "objectTypePlural": "TABLES"}}}}',
            ["INSERT", "SELECT"],
        ),
    }


def test_the_snowflake_writer_role_is_granted_to_the_services_user(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    membership = run.one("snowflake:index/grantAccountRole:GrantAccountRole", "writer-to-ingest-user")

    assert (membership.inputs["roleName"], membership.inputs["userName"]) == (
        "ANALYTICS_INGEST_WRITER",
        "INGEST",
    )


def test_snowflake_future_grants_precede_the_tables_and_all_grants_follow_them(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    tables = run.of_type("snowflake:index/table:Table")

    for kind in ("writer", "analyst"):
        future = run.one(SF_GRANT, f"{kind}-future-tables")
        every = run.one(SF_GRANT, f"{kind}-all-tables")
        assert all(run.depends_on(table, future) for table in tables)
        assert all(run.depends_on(every, table) for table in tables)


def test_the_snowflake_analyst_only_reads(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    analyst = run.one("snowflake:index/accountRole:AccountRole", "analyst-role").inputs["name"]
    privileges = {
        g.name: sorted(g.inputs["privileges"])
        for g in run.of_type(SF_GRANT)
        if g.inputs["accountRoleName"] == analyst
    }

    assert privileges == {
        "analyst-database": ["USAGE"],
        "analyst-schema": ["USAGE"],
        "analyst-all-tables": ["SELECT"],
        "analyst-future-tables": ["SELECT"],
    }
