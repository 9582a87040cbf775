"""BigQuery: the dataset (location, labels, deletion policy), what the ingest service account needs
to write (``roles/bigquery.dataEditor`` on that dataset only, ``roles/bigquery.jobUser`` on the
project), and the tables.

The writer appends each batch to a staging table and MERGEs it into the target on ``event_id``:
creating, writing and dropping tables in the dataset is dataEditor, and running the MERGE (a
query job) needs jobUser, which only exists at project level. Nothing else is granted.

Access is a non-authoritative ``DatasetIamMember``: the dataset's ``accesses`` list is
authoritative and would strip the owners Google adds by default.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.tables import Target
from infra.tables import bigquery as tables
from infra.warehouses import BigQueryArgs, Parts, Scope, deletion_policy
from schema.tables import TABLES

WRITER_ROLE = "roles/bigquery.dataEditor"
JOB_ROLE = "roles/bigquery.jobUser"


def labels(stack: str) -> dict[str, str]:
    return {"app": "analytics-warehouse", "stack": stack, "managed-by": "pulumi"}


def build(args: BigQueryArgs, scope: Scope) -> Parts:
    protected = args.protect
    stack_labels = labels(pulumi.get_stack())
    dataset = gcp.bigquery.Dataset(
        "dataset",
        dataset_id=args.namespace,
        project=args.project,
        location=args.location,
        description="Analytics events of the API, one table per event family, and dead letters.",
        labels=stack_labels,
        delete_contents_on_destroy=False,
        deletion_policy=deletion_policy(protected),
        opts=scope.child(protect=protected),
    )
    grants: list[pulumi.Resource] = []
    if scope.writer is not None:
        grants.append(
            gcp.bigquery.DatasetIamMember(
                "ingest-writer",
                project=args.project,
                dataset_id=dataset.dataset_id,
                role=WRITER_ROLE,
                member=scope.writer,
                opts=scope.child(),
            )
        )
        grants.append(
            gcp.projects.IAMMember(
                "ingest-job-user",
                project=args.project,
                role=JOB_ROLE,
                member=scope.writer,
                opts=scope.child(),
            )
        )
    target = Target(
        catalog=args.project,
        namespace=args.namespace,
        protected=protected,
        after=(dataset,),
        labels=stack_labels,
    )
    declared = {spec.name: tables.declare(spec, target, scope.child()) for spec in TABLES}
    return Parts(tables=declared, catalog=args.project, grants=grants)
