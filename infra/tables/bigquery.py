"""BigQuery tables: ``bigquery.Table`` with the schema module's schema JSON, DAY partitioning on
the spec's partition column, its clustering, and deletion protection.

Additive evolution only appends NULLABLE fields to ``schema``, which the provider applies in place;
partitioning and clustering (which would force a replacement, and the provider deletes before it
replaces) can only change with a new table version, as ``schema.evolution`` enforces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from schema.dialects import BIGQUERY as bigquery
from schema.tables import TableSpec


@dataclass(frozen=True)
class Target:
    """The dataset the tables go in, and whether data is protected."""

    project: str
    dataset_id: pulumi.Input[str]
    protected: bool
    labels: dict[str, str]


def table_args(spec: TableSpec) -> dict[str, Any]:
    """The inputs the schema module decides (schema, partitioning, clustering, description)."""
    partitioning = bigquery.time_partitioning(spec)
    return {
        "table_id": spec.name,
        "description": spec.description,
        "schema": json.dumps(bigquery.schema_fields(spec)),
        "time_partitioning": gcp.bigquery.TableTimePartitioningArgs(
            type=partitioning["type"], field=partitioning["field"]
        ),
        "clusterings": bigquery.clustering(spec),
    }


def declare(spec: TableSpec, target: Target, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    return gcp.bigquery.Table(
        spec.name,
        project=target.project,
        dataset_id=target.dataset_id,
        deletion_protection=target.protected,
        labels=target.labels,
        **table_args(spec),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=target.protected)),
    )
