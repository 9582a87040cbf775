"""Postgres tables: a dynamic provider that runs the schema module's DDL.

pulumi-postgresql has no table resource, so each table is a dynamic resource whose CRUD is here:

- create runs ``schema.dialects.postgres.create_table`` (idempotent statements) and refuses to
  adopt an existing table that lacks columns of the spec;
- diff compares the deployed snapshot with the new one through ``schema.evolution.diff_table``:
  additive deltas are an in-place update, a breaking one fails the preview with the evolution
  message, and nothing is ever a replacement;
- update applies only the additive ``ALTER``s (``SchemaDiff.statements``), then re-runs the
  idempotent DDL so new indexes and comments arrive too, in one transaction (dropped indexes are
  left in place: removing one is a reviewed manual operation);
- delete drops the table only when it is not protected.

The provider is pickled into the state by Pulumi (dill), so it holds nothing: no connection, no
URL, no module state. The URL is an input marked secret and reaches the provider at run time.
dill pickles the class by reference (``infra.tables.postgres.PostgresTableProvider``): moving or
renaming it breaks the state of deployed stacks.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic

from infra.tables import Target
from schema.dialects import POSTGRES as postgres
from schema.evolution import SchemaDiff, diff_table
from schema.exceptions import SchemaEvolutionError
from schema.tables import TableSpec

DIALECT = postgres.NAME
# Inputs a table is identified by: changing one would mean a new table, which is never allowed.
IDENTITY = ("namespace", "table")
OUTPUTS = ("url", "namespace", "table", "snapshot", "ddl", "protected")


class ProtectedTableError(RuntimeError):
    """A protected table was asked to be dropped."""


def table_inputs(spec: TableSpec, namespace: str, url: Any, protected: bool) -> dict[str, Any]:
    """The dynamic resource's inputs: everything create/diff/update/delete need, and nothing more."""
    return {
        "url": url,
        "namespace": namespace,
        "table": spec.name,
        "snapshot": spec.snapshot(),
        "ddl": postgres.create_table(spec, namespace),
        "protected": protected,
    }


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=False)


def _evolution(olds: dict[str, Any], news: dict[str, Any]) -> SchemaDiff:
    moved = [key for key in IDENTITY if olds.get(key) != news.get(key)]
    if moved:
        raise SchemaEvolutionError(
            f"table {olds.get('namespace')}.{olds.get('table')}: changing {', '.join(moved)} would "
            "replace the table and lose its data; create the new table beside it instead"
        )
    return SchemaDiff(tuple(diff_table(olds["snapshot"], news["snapshot"])))


def _existing_columns(connection: Any, props: dict[str, Any]) -> set[str]:
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (props["namespace"], props["table"]),
    ).fetchall()
    return {row[0] for row in rows}


def _check_existing(connection: Any, props: dict[str, Any]) -> None:
    """``CREATE TABLE IF NOT EXISTS`` keeps a table that is already there, whatever its shape:
    refuse to adopt one that lacks columns of the spec, before running any statement."""
    existing = _existing_columns(connection, props)
    if not existing:
        return
    missing = [column["name"] for column in props["snapshot"]["columns"] if column["name"] not in existing]
    if missing:
        raise SchemaEvolutionError(
            f"table {postgres.qualified(props['table'], props['namespace'])} already exists without "
            f"columns {missing}; it predates the schema or belongs to something else: add them as "
            "nullable columns by hand, or move the table aside, then run `pulumi up` again"
        )


class PostgresTableProvider(pulumi.dynamic.ResourceProvider):
    """CRUD of one Postgres table from the schema module's spec; stateless by design (see module)."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        with _connect(props["url"]) as connection:
            _check_existing(connection, props)
            for statement in props["ddl"]:
                connection.execute(statement)
        outs = {key: props[key] for key in OUTPUTS}
        return pulumi.dynamic.CreateResult(
            id_=postgres.qualified(props["table"], props["namespace"]), outs=outs
        )

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """What ``pulumi refresh`` (and an ``import_`` resource option) sees: the table as it is.

        A dropped table reads as gone (blank id), so the next ``up`` creates it again; a column
        dropped by hand leaves the snapshot, so the next ``up`` shows it as an additive change and
        adds it back (or, for a required column, fails with the evolution report). The inputs are
        refreshed too, so the next diff compares against what the database holds.
        """
        if "url" not in props:
            raise ValueError(
                f"cannot read table {id_}: the connection is an input of the program; adopt an existing "
                "table by declaring it (create() adopts a table that has the spec's columns) or with the "
                "import_ resource option, not with `pulumi import` alone"
            )
        with _connect(props["url"]) as connection:
            existing = _existing_columns(connection, props)
        if not existing:
            return pulumi.dynamic.ReadResult(id_="", outs={})
        snapshot = dict(props["snapshot"])
        snapshot["columns"] = [column for column in snapshot["columns"] if column["name"] in existing]
        outs = {**{key: props[key] for key in OUTPUTS if key in props}, "snapshot": snapshot}
        return pulumi.dynamic.ReadResult(id_=id_, outs=outs, inputs=dict(outs))

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        evolution = _evolution(_olds, _news)
        evolution.raise_if_breaking()
        # Indexes, comments (in the DDL) and a rotated URL are in-place updates too.
        changed = bool(evolution) or any(
            _olds.get(key) != _news.get(key) for key in ("protected", "ddl", "url")
        )
        return pulumi.dynamic.DiffResult(
            changes=changed, replaces=[], stables=list(IDENTITY), delete_before_replace=False
        )

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        evolution = _evolution(_olds, _news)
        evolution.raise_if_breaking()
        # The additive ALTERs first, then the whole DDL again: every statement in it is idempotent
        # (IF NOT EXISTS, COMMENT ON), so new indexes and descriptions reach the deployed table.
        statements = [*evolution.statements(DIALECT, _news["namespace"]), *_news["ddl"]]
        if statements:
            with _connect(_news["url"]) as connection, connection.transaction():
                for statement in statements:
                    connection.execute(statement)
        return pulumi.dynamic.UpdateResult(outs={key: _news[key] for key in OUTPUTS})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        table = postgres.qualified(_props["table"], _props["namespace"])
        if _props.get("protected", True):
            raise ProtectedTableError(
                f"refusing to drop protected table {table}: its data would be lost; set protect: false "
                "for this stack (dev only) or retire the table in a reviewed manual operation"
            )
        with _connect(_props["url"]) as connection:
            connection.execute(f"DROP TABLE IF EXISTS {table}")


class PostgresTable(pulumi.dynamic.Resource, module="postgres", name="Table"):
    """One table of the warehouse, declared from its ``TableSpec``."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PostgresTableProvider(), name, props, opts)


def declare(spec: TableSpec, target: Target, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Declare ``spec`` in the target schema, protected outside dev, the URL kept secret."""
    if target.connection is None:
        raise ValueError("Postgres tables need the provisioning connection (Target.connection)")
    props = table_inputs(spec, target.namespace, pulumi.Output.secret(target.connection), target.protected)
    options = pulumi.ResourceOptions.merge(
        target.options(opts), pulumi.ResourceOptions(additional_secret_outputs=["url"])
    )
    return PostgresTable(spec.name, props, options)
