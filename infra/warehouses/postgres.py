"""Postgres: the schema, an ingest-writer role (INSERT/SELECT on the four tables, nothing more), an
analyst read-only role with default privileges on future tables, and the tables (dynamic provider).

The writer also gets CONNECT and TEMPORARY on the database: the sink loads a batch by COPY into a
temporary table, then INSERT ... ON CONFLICT DO NOTHING into the table (design.md's fastest
exactly-once path). Roles are NOLOGIN groups: logins are people's and services' business;
``postgresIngestLogin`` makes an existing login a member of the writer role. pulumi-postgresql
runs on an explicit provider built from the provisioning URL (a secret), so the tables and the
grants use one server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pulumi
import pulumi_postgresql as postgresql

from infra.tables import postgres as tables
from infra.warehouses import Context, Parts
from schema.tables import TABLES

# Per role and object type: all either role ever gets.
PRIVILEGES: dict[str, dict[str, list[str]]] = {
    "writer": {"database": ["CONNECT", "TEMPORARY"], "schema": ["USAGE"], "table": ["INSERT", "SELECT"]},
    "analyst": {"database": ["CONNECT"], "schema": ["USAGE"], "table": ["SELECT"]},
}


def connection_settings(url: str) -> dict[str, Any]:
    """pulumi-postgresql provider settings from a libpq URL (sslmode only when the URL says)."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname,
        "port": parts.port,
        "database": parts.path.lstrip("/") or None,
        "username": parts.username,
        "password": parts.password,
        "sslmode": parse_qs(parts.query).get("sslmode", [None])[0],
    }


def role_names(namespace: str) -> dict[str, str]:
    return {"writer": f"{namespace}_ingest_writer", "analyst": f"{namespace}_analyst"}


def build(context: Context) -> Parts:
    config = context.config
    namespace = config.namespace
    admin_url = context.secrets.admin_url
    if admin_url is None:
        raise ValueError(
            "provider postgres needs warehouseDatabaseUrl (or postgresAdminUrl), set as a secret"
        )
    settings = admin_url.apply(connection_settings)

    def setting(key: str) -> pulumi.Output[Any]:
        return settings.apply(lambda values: values[key])

    provider = postgresql.Provider(
        "warehouse",
        host=setting("host"),
        port=setting("port"),
        database=setting("database"),
        username=setting("username"),
        password=setting("password"),
        sslmode=setting("sslmode"),
        superuser=False,
        opts=context.child(),
    )
    database = setting("database")
    on_server = context.child(provider=provider)
    schema = postgresql.Schema(
        "namespace",
        name=namespace,
        database=database,
        if_not_exists=True,
        drop_cascade=False,
        opts=pulumi.ResourceOptions.merge(on_server, pulumi.ResourceOptions(protect=config.protect)),
    )
    names = role_names(namespace)
    roles = {
        kind: postgresql.Role(f"{kind}-role", name=name, login=False, opts=on_server)
        for kind, name in names.items()
    }
    target = tables.Target(url=admin_url, namespace=namespace, protected=config.protect)
    declared = {
        spec.name: tables.declare(spec, target, context.child(depends_on=[schema])) for spec in TABLES
    }
    table_names = sorted(declared)
    after_tables = pulumi.ResourceOptions.merge(
        on_server, pulumi.ResourceOptions(depends_on=list(declared.values()))
    )
    for kind, role in roles.items():
        privileges = PRIVILEGES[kind]
        # (resource name suffix, object type, the grant's own arguments, options).
        grants: list[tuple[str, str, dict[str, Any], pulumi.ResourceOptions]] = [
            ("database", "database", {}, on_server),
            ("schema", "schema", {"schema": schema.name}, on_server),
            ("tables", "table", {"schema": schema.name, "objects": table_names}, after_tables),
        ]
        for suffix, object_type, arguments, options in grants:
            postgresql.Grant(
                f"{kind}-{suffix}",
                role=role.name,
                database=database,
                object_type=object_type,
                privileges=privileges[object_type],
                opts=options,
                **arguments,
            )
    postgresql.DefaultPrivileges(
        "analyst-future-tables",
        role=roles["analyst"].name,
        database=database,
        schema=schema.name,
        owner=setting("username"),
        object_type="table",
        privileges=PRIVILEGES["analyst"]["table"],
        opts=on_server,
    )
    if config.postgres_ingest_login:
        postgresql.GrantRole(
            "ingest-login-writer",
            role=config.postgres_ingest_login,
            grant_role=roles["writer"].name,
            opts=on_server,
        )
    return Parts(tables=declared, catalog=None)
