"""Do the warehouse's tables match the schema module? (``ingest check`` and ``ingest provision``)

The observed table is turned into a snapshot and compared with the schema module's own evolution
rules (``schema.evolution.diff_table``), so "what differs" means the same thing here as in a PR.
Partitioning and clustering cannot be read back from every warehouse and are taken as declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.writers import ObservedTable, Writer
from schema import TABLES, TableSpec
from schema.evolution import ADDITIVE, Operation, SchemaDelta, bullets, diff_table


@dataclass
class TableReport:
    spec: TableSpec
    missing: bool = False
    deltas: list[SchemaDelta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.deltas or self.notes)


# Not observable in every warehouse: taken as declared, so never reported.
_AS_DECLARED = {Operation.CHANGE_PARTITIONING, Operation.CHANGE_CLUSTERING}


def _snapshot(spec: TableSpec, observed: ObservedTable) -> dict[str, Any]:
    columns = [
        {"name": column.name, "type": column.type.value, "nullable": column.nullable}
        for column in observed.columns
        if column.type is not None
    ]
    present = {column["name"] for column in columns}
    # A snapshot may only name columns it has; a missing one is reported as a dropped column.
    return {
        "name": spec.name,
        "columns": columns,
        "primary_key": [name for name in observed.primary_key if name in present],
        "partition_by": spec.partition_by if spec.partition_by in present else next(iter(present)),
        "cluster_by": [name for name in spec.cluster_by if name in present],
    }


def compare(writer: Writer) -> list[TableReport]:
    """One report per table of the schema module, in ``TABLES`` order."""
    reports = []
    for spec in TABLES:
        report = TableReport(spec)
        observed = writer.observe(spec)
        if observed is None:
            report.missing = True
            reports.append(report)
            continue
        unknown = {column.name for column in observed.columns if column.type is None}
        for column in observed.columns:
            if column.type is None:
                expected = (
                    writer.dialect.TYPES[spec.column(column.name).type]
                    if column.name in spec.column_names
                    else "no such column"
                )
                report.notes.append(
                    f"{spec.name}.{column.name}: type {column.warehouse_type} is not one the schema uses "
                    f"(expected {expected})"
                )
        deltas = diff_table(_snapshot(spec, observed), spec.snapshot())
        report.deltas = [d for d in deltas if d.column not in unknown and d.op not in _AS_DECLARED]
        reports.append(report)
    return reports


def additive_statements(writer: Writer, reports: list[TableReport]) -> list[str]:
    """The in-place ALTERs that bring existing tables up to the schema (new nullable columns)."""
    renderer = writer.dialect
    return [
        renderer.add_column(report.spec.name, delta.added, writer.namespace)
        for report in reports
        for delta in report.deltas
        if delta.op is Operation.ADD_COLUMN and delta.added is not None
    ]


def _describe(delta: SchemaDelta) -> str:
    hint = "`ingest provision` adds it in place" if delta.op in ADDITIVE else "needs a reviewed migration"
    return f"{delta.where}: {delta.op.value}, {delta.values('warehouse ', 'schema ')} ({hint})"


def render(reports: list[TableReport], namespace: str) -> str:
    lines = []
    for report in reports:
        name = f"{namespace}.{report.spec.name}"
        if report.missing:
            lines.append(f"MISSING  {name} (run `ingest provision`)")
        elif report.ok:
            lines.append(f"ok       {name}")
        else:
            lines.append(f"DIFFERS  {name}")
            lines.extend(bullets([*map(_describe, report.deltas), *report.notes]))
    return "\n".join(lines)
