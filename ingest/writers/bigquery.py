"""BigQuery writer: each batch is loaded into per-batch staging tables and MERGEd on the key.

BigQuery enforces no primary key, so exactly-once is the writer's job. Per table of a batch:

1. create a staging table named ``_ingest_staging_<uuid4>`` (no two writers can collide) that
   expires after ``STAGING_TTL`` on its own if this process dies before step 4;
2. load the rows into it as newline-delimited JSON with a load job (JSON columns as JSON values,
   BYTES columns as base64 text, decoded by ``FROM_BASE64`` in step 3);
3. ``MERGE`` it into the table on the primary key, ``WHEN NOT MATCHED THEN INSERT``. Event tables
   are partitioned by ``occurred_at``, which travels with the event, so the MERGE reads only the
   partitions between the batch's first and last ``occurred_at`` (partition pruning by constant
   bounds); the dead-letter table is partitioned by ``received_at``, which the service stamps at
   each delivery, so its MERGE cannot be pruned (it is the small table);
4. drop the staging table.

A redelivered event meets its own row in step 3 and is skipped, so after a crash at any step a
query sees each ``event_id`` once. Why this design over streaming inserts or the Storage Write
API, and what it costs, is in docs/ingest.md ("BigQuery").

The NDJSON, staging schema and MERGE are built in ``bigquery_merge``. Only a load job that names
rows it could not read is the warehouse refusing rows (``RowsRefused``, ``bigquery_errors``);
every other failure (unreachable, 5xx, rate limits, permissions, a missing table or column, a
query error) is retried by the sink.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import ClassVar

from google.api_core import exceptions as google_errors
from google.api_core.retry import Retry
from google.cloud import bigquery

from ingest.config import bigquery_url
from ingest.writers.base import EncodedRow, ObservedColumn, ObservedTable, Row, Writer, plain
from ingest.writers.bigquery_errors import RowsRefused, names_rows
from ingest.writers.bigquery_merge import merge_statement, ndjson, staging_fields
from schema import TABLES, TableSpec
from schema.dialects import BIGQUERY as dialect
from schema.dialects import Dialect
from schema.identifiers import identifier
from schema.types import LogicalType

# Like PUBSUB_EMULATOR_HOST: ``http://host:port`` of a local stand-in, reached without credentials.
EMULATOR_HOST_ENV = "BIGQUERY_EMULATOR_HOST"
STAGING_PREFIX = "_ingest_staging_"
# A staging table left behind by a crash disappears on its own after this long.
STAGING_TTL = timedelta(hours=24)
# Each API call gives up after this long and the sink's own retry (with /readyz showing it) takes
# over; the client library's default would retry a 5xx silently for ten minutes.
API_DEADLINE_S = 30.0
JOB_TIMEOUT_S = 300.0
PING_TIMEOUT_S = 5.0
_RETRY = Retry(deadline=API_DEADLINE_S)

# How the API spells a type in tables.get (legacy names) -> the dialect's spelling.
_TYPE_ALIASES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}
# A warehouse type -> the logical type it stands for; STRING -> text (uuid renders as STRING too).
_LOGICAL = {
    rendered: logical for logical, rendered in dialect.TYPES.items() if logical is not LogicalType.UUID
}


class BigQueryWriter(Writer):
    name = "bigquery"
    dialect: ClassVar[Dialect] = dialect

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url, namespace)
        self.project, _ = bigquery_url(url)
        identifier(namespace, "dataset")
        self.emulator = os.environ.get(EMULATOR_HOST_ENV) or None
        self._client: bigquery.Client | None = None
        self._lock = threading.Lock()

    # -- client ----------------------------------------------------------------------------

    def client(self) -> bigquery.Client:
        if self._client is None:
            if self.emulator:
                from google.api_core.client_options import ClientOptions
                from google.auth.credentials import AnonymousCredentials

                self._client = bigquery.Client(
                    project=self.project,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options=ClientOptions(api_endpoint=self.emulator),
                )
            else:
                # Application Default Credentials: the service account on Cloud Run, or
                # `gcloud auth application-default login` on a workstation.
                self._client = bigquery.Client(project=self.project)
        return self._client

    def _table_id(self, table: str) -> str:
        return f"{self.project}.{self.namespace}.{table}"

    # -- writing ---------------------------------------------------------------------------

    def write(self, batch: Mapping[TableSpec, Sequence[EncodedRow]]) -> dict[str, int]:
        with self._lock:
            return {spec.name: self._write_table(spec, plain(rows)) for spec, rows in batch.items() if rows}

    def _write_table(self, spec: TableSpec, rows: Sequence[Row]) -> int:
        client = self.client()
        staging = f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        table = bigquery.Table.from_api_repr(
            {
                "tableReference": {
                    "projectId": self.project,
                    "datasetId": self.namespace,
                    "tableId": staging,
                },
                "schema": {"fields": staging_fields(spec)},
                "description": f"ingest staging for {spec.name}; dropped after its MERGE",
                "expirationTime": str(int((datetime.now(UTC) + STAGING_TTL).timestamp() * 1000)),
            }
        )
        client.create_table(table, retry=_RETRY, timeout=API_DEADLINE_S)
        try:
            self._load(client, spec, staging, rows)
            job = client.query(
                merge_statement(spec, self.namespace, staging, rows),
                retry=_RETRY,
                job_retry=None,
                timeout=API_DEADLINE_S,
            )
            job.result(timeout=JOB_TIMEOUT_S)
            return int(job.num_dml_affected_rows or 0)
        finally:
            # If this fails the table expires on its own (STAGING_TTL).
            with contextlib.suppress(google_errors.GoogleAPIError):
                client.delete_table(self._table_id(staging), not_found_ok=True, timeout=API_DEADLINE_S)

    def _load(self, client: bigquery.Client, spec: TableSpec, staging: str, rows: Sequence[Row]) -> None:
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        )
        job = client.load_table_from_file(
            BytesIO(ndjson(spec, rows)), self._table_id(staging), job_config=config, timeout=API_DEADLINE_S
        )
        try:
            job.result(timeout=JOB_TIMEOUT_S)
        except google_errors.BadRequest as error:
            if names_rows(error):
                raise RowsRefused(f"{spec.name}: {error.message}") from error
            raise

    def refuses_rows(self, error: BaseException) -> bool:
        """Only a load job that names the rows it could not read refuses rows; anything else,
        BigQuery's (unreachable, 5xx, rate limit, permission, not found, a bad query) or not, is
        retried (see ``Writer.refuses_rows``)."""
        return isinstance(error, RowsRefused)

    # -- schema ----------------------------------------------------------------------------

    def provision(self) -> list[str]:
        """Create the dataset (if missing) and every table from the same table resources the
        Pulumi program declares (``schema.dialects.bigquery.table_resource``)."""
        client = self.client()
        done = []
        try:
            client.get_dataset(f"{self.project}.{self.namespace}", retry=_RETRY, timeout=API_DEADLINE_S)
        except google_errors.NotFound:
            client.create_dataset(bigquery.Dataset(f"{self.project}.{self.namespace}"), exists_ok=True)
            done.append(f"created dataset {self.project}.{self.namespace}")
        for spec in TABLES:
            try:
                client.get_table(self._table_id(spec.name), retry=_RETRY, timeout=API_DEADLINE_S)
                continue
            except google_errors.NotFound:
                pass
            resource = {
                **dialect.table_resource(spec),
                "tableReference": {
                    "projectId": self.project,
                    "datasetId": self.namespace,
                    "tableId": spec.name,
                },
            }
            client.create_table(bigquery.Table.from_api_repr(resource), exists_ok=True, retry=_RETRY)
            done.append(f"created table {self._table_id(spec.name)}")
        return done

    def execute(self, statements: Sequence[str]) -> None:
        """Run DDL (``provision``'s additive ALTERs) one query job each: BigQuery allows no DDL
        inside a multi-statement transaction, and each ALTER is idempotent (IF NOT EXISTS)."""
        client = self.client()
        for statement in statements:
            client.query(statement, retry=_RETRY, timeout=API_DEADLINE_S).result(timeout=JOB_TIMEOUT_S)

    def observe(self, spec: TableSpec) -> ObservedTable | None:
        try:
            table = self.client().get_table(self._table_id(spec.name), retry=_RETRY, timeout=API_DEADLINE_S)
        except google_errors.NotFound:
            return None
        columns = []
        for field in table.schema:
            kind = _TYPE_ALIASES.get(field.field_type, field.field_type)
            columns.append(
                ObservedColumn(
                    field.name, self._logical(spec, field.name, kind), kind, field.mode != "REQUIRED"
                )
            )
        # BigQuery enforces no primary key: the writer's MERGE key is the schema's, so it is
        # taken as declared, like partitioning and clustering.
        return ObservedTable(name=spec.name, columns=tuple(columns), primary_key=spec.primary_key)

    @staticmethod
    def _logical(spec: TableSpec, name: str, kind: str) -> LogicalType | None:
        """The logical type of a column of type ``kind``: STRING stands for both uuid and text,
        so the schema's own column decides when its type renders as ``kind``."""
        if name in spec.column_names and dialect.TYPES[spec.column(name).type] == kind:
            return spec.column(name).type
        return _LOGICAL.get(kind)

    def ping(self) -> None:
        self.client().get_dataset(
            f"{self.project}.{self.namespace}", retry=Retry(deadline=PING_TIMEOUT_S), timeout=PING_TIMEOUT_S
        )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()  # type: ignore[no-untyped-call]
                self._client = None
