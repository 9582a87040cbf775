"""Snowflake: an explicit provider with the preview features the tables and pipes need, the schema,
the internal stage and JSON file format the pipes load from, an ingest-writer and an analyst role
with their grants, and the tables with their pipes.

The explicit provider does not read the ``snowflake:`` stack config by itself, so the connection
settings are forwarded from it (the private key as a secret).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_snowflake as snowflake
from pydantic.alias_generators import to_snake

from infra.config import SNOWFLAKE_PROVIDER_KEYS, SNOWFLAKE_PROVIDER_SECRET_KEYS
from infra.tables import snowflake as tables
from infra.warehouses import Context, Parts
from schema.dialects.snowflake import name as sf_name
from schema.tables import TABLES

PREVIEW_FEATURES = ["snowflake_pipe_resource", "snowflake_table_resource"]
WRITER_PRIVILEGES = {"TABLES": ["INSERT", "SELECT"], "PIPES": ["MONITOR", "OPERATE"]}
ANALYST_PRIVILEGES = {"TABLES": ["SELECT"]}
ROLE_SUFFIX = {"writer": "ingest_writer", "analyst": "analyst"}


def provider(context: Context) -> snowflake.Provider:
    settings = pulumi.Config("snowflake")
    plain: dict[str, Any] = {
        to_snake(key): settings.get(key) for key in SNOWFLAKE_PROVIDER_KEYS if settings.get(key)
    }
    secret: dict[str, Any] = {
        to_snake(key): settings.get_secret(key)
        for key in SNOWFLAKE_PROVIDER_SECRET_KEYS
        if pulumi.runtime.get_config(f"snowflake:{key}")
    }
    return snowflake.Provider(
        "warehouse", preview_features_enabled=PREVIEW_FEATURES, **plain, **secret, opts=context.child()
    )


def _grant(
    name: str,
    role: snowflake.AccountRole,
    privileges: list[str],
    depends_on: list[pulumi.Resource],
    opts: pulumi.ResourceOptions,
    **on: Any,
) -> None:
    snowflake.GrantPrivilegesToAccountRole(
        name,
        account_role_name=role.name,
        privileges=privileges,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
        **on,
    )


def build(context: Context) -> Parts:
    config = context.config
    database = config.snowflake_database
    namespace = sf_name(config.namespace)
    on_account = context.child(provider=provider(context))
    schema = snowflake.Schema(
        "namespace",
        database=database,
        name=namespace,
        comment="Analytics events of the API.",
        opts=pulumi.ResourceOptions.merge(on_account, pulumi.ResourceOptions(protect=config.protect)),
    )
    in_schema = pulumi.ResourceOptions.merge(on_account, pulumi.ResourceOptions(depends_on=[schema]))
    file_format = snowflake.FileFormatJson(
        "file-format",
        database=database,
        schema=namespace,
        name=sf_name(config.snowflake_file_format),
        compression="AUTO",
        comment="Newline-delimited JSON rows, one object per row keyed by column name.",
        opts=in_schema,
    )
    stage = snowflake.StageInternal(
        "stage",
        database=database,
        schema=namespace,
        name=sf_name(config.snowflake_stage),
        comment="Files the ingest service lands for the pipes, one folder per table.",
        opts=in_schema,
    )
    target = tables.Target(
        database=database,
        namespace=config.namespace,
        stage=config.snowflake_stage,
        file_format=config.snowflake_file_format,
        protected=config.protect,
        depends_on=(schema, stage, file_format),
    )
    declared = {spec.name: tables.declare(spec, target, on_account) for spec in TABLES}
    needs: dict[str, list[pulumi.Resource]] = {
        "schema": [schema],
        "stage": [stage],
        "tables": list(declared.values()),
    }
    _roles_and_grants(on_account, database, namespace, sf_name(config.snowflake_stage), needs)
    return Parts(tables=declared, catalog=database)


def _roles_and_grants(
    opts: pulumi.ResourceOptions,
    database: str,
    namespace: str,
    stage_name: str,
    needs: dict[str, list[pulumi.Resource]],
) -> None:
    """Writer: USAGE, INSERT/SELECT on the tables, READ/WRITE on the stage, OPERATE on the pipes.
    Analyst: USAGE and SELECT. Both on the tables that exist and those evolution adds later."""
    schema_name = f"{database}.{namespace}"
    for kind, objects in (("writer", WRITER_PRIVILEGES), ("analyst", ANALYST_PRIVILEGES)):
        role = snowflake.AccountRole(
            f"{kind}-role",
            name=sf_name(f"{namespace}_{ROLE_SUFFIX[kind]}"),
            comment=f"{kind} of {schema_name}",
            opts=opts,
        )
        on_database = snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
            object_type="DATABASE", object_name=database
        )
        _grant(f"{kind}-database", role, ["USAGE"], [], opts, on_account_object=on_database)
        on_schema = snowflake.GrantPrivilegesToAccountRoleOnSchemaArgs(schema_name=schema_name)
        _grant(f"{kind}-schema", role, ["USAGE"], needs["schema"], opts, on_schema=on_schema)
        for plural, privileges in objects.items():
            every = snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectAllArgs(
                object_type_plural=plural, in_schema=schema_name
            )
            future = snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectFutureArgs(
                object_type_plural=plural, in_schema=schema_name
            )
            _grant(
                f"{kind}-all-{plural.lower()}",
                role,
                privileges,
                needs["tables"],
                opts,
                on_schema_object=snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(all=every),
            )
            _grant(
                f"{kind}-future-{plural.lower()}",
                role,
                privileges,
                needs["schema"],
                opts,
                on_schema_object=snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(future=future),
            )
        if kind == "writer":
            on_stage = snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(
                object_type="STAGE", object_name=f"{database}.{namespace}.{stage_name}"
            )
            _grant("writer-stage", role, ["READ", "WRITE"], needs["stage"], opts, on_schema_object=on_stage)
