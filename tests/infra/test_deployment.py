"""The ingest deployment on Cloud Run, on the program's registrations under mocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infra.args import account_id, service_name
from infra.deployment import HTTP_PORT, SECRET_ACCESSOR_ROLE
from infra.mocks import Registration, Run
from ingest.http import create_app
from ingest.service import Service
from tests.infra.conftest import SERVICE_ENV, RunOf, cloud_run
from tests.ingest.support import settings

SERVICE = "gcp:cloudrunv2/service:Service"
WORKER_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
DEPLOYED = ("staging", "prod-bigquery", "prod-snowflake")
# Per deployed stack: every grant the ingest service needs (reviewed by hand against the writers).
GRANTS = {
    "staging": [
        "ingest-login-writer",
        "ingest-publisher",
        "ingest-subscriber",
        "warehouse-database-url-reader",
        "writer-database",
        "writer-schema",
        "writer-tables",
    ],
    "prod-bigquery": ["ingest-job-user", "ingest-publisher", "ingest-subscriber", "ingest-writer"],
    "prod-snowflake": [
        "ingest-api-token-reader",
        "kafka-sasl-password-reader",
        "snowflake-rsa-key-p8-reader",
        "warehouse-database-url-reader",
        "writer-all-tables",
        "writer-database",
        "writer-file-format",
        "writer-future-tables",
        "writer-schema",
        "writer-stage",
        "writer-to-ingest-user",
        "writer-warehouse",
    ],
}


def _container(run: Run) -> dict[str, Any]:
    container: dict[str, Any] = cloud_run(run).inputs["template"]["containers"][0]
    return container


def _env(run: Run) -> dict[str, Any]:
    return {env["name"]: env.get("value", env.get("valueSource")) for env in _container(run)["envs"]}


@pytest.mark.parametrize("stack", DEPLOYED)
def test_every_variable_the_deployment_sets_is_one_the_service_reads(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)

    assert set(_env(run)) <= SERVICE_ENV


def test_staging_passes_the_pubsub_bus_and_the_postgres_schema(run_of: RunOf) -> None:
    run, _ = run_of("staging")

    assert {k: v for k, v in _env(run).items() if isinstance(v, str)} == {
        "EVENT_BUS_DRIVER": "pubsub",
        "EVENT_BUS_PUBSUB_TOPIC": "analytics-events",
        "EVENT_BUS_PUBSUB_SUBSCRIPTION": "analytics-events-ingest",
        "PUBSUB_PROJECT_ID": "laundry-staging",
        "WAREHOUSE_SCHEMA": "analytics",
        "EVENT_SINK_BATCH_SIZE": "5000",
        "EVENT_SINK_FLUSH_INTERVAL_MS": "500",
        "INGEST_HOST": "0.0.0.0",
        "INGEST_PORT": "8080",
        "INGEST_ALLOW_UNAUTHENTICATED": "true",
    }
    # The image the stack builds, by digest (tests/infra/test_image.py).
    assert _container(run)["image"].startswith(
        "europe-west1-docker.pkg.dev/laundry-staging/analytics-ingest-staging/ingest@sha256:"
    )


def test_prod_bigquery_passes_its_url_and_dataset_in_plain(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    env = _env(run)

    assert env["WAREHOUSE_DATABASE_URL"] == "bigquery://laundry-analytics/laundry_analytics"
    assert env["BIGQUERY_DATASET"] == "laundry_analytics"
    assert env["EVENT_BUS_DRIVER"] == "pubsub"
    assert [s.name for s in run.of_type("gcp:secretmanager/secret:Secret")] == []


def test_prod_snowflake_passes_schema_stage_and_its_secrets(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    env = _env(run)
    template = cloud_run(run).inputs["template"]

    assert (env["SNOWFLAKE_SCHEMA"], env["SNOWFLAKE_STAGE"]) == ("ANALYTICS", "kafka_stage")
    assert env["WAREHOUSE_DATABASE_URL"] == {
        "secretKeyRef": {"secret": "analytics-ingest-prod-snowflake-warehouse-database-url", "version": "1"}
    }
    assert template["volumes"] == [
        {
            "name": "snowflake-rsa-key-p8",
            "secret": {
                "secret": "analytics-ingest-prod-snowflake-snowflake-rsa-key-p8",
                "items": [{"path": "rsa_key.p8", "version": "1", "mode": 0o400}],
            },
        }
    ]
    assert _container(run)["volumeMounts"] == [
        {"name": "snowflake-rsa-key-p8", "mountPath": "/secrets/snowflake"}
    ]
    assert "INGEST_PORT" not in env and "INGEST_ALLOW_UNAUTHENTICATED" not in env


def test_secrets_are_referenced_by_the_version_the_program_wrote(run_of: RunOf) -> None:
    run, _ = run_of("staging")
    env = _env(run)
    secret = run.one("gcp:secretmanager/secret:Secret", "warehouse-database-url")
    version = run.one("gcp:secretmanager/secretVersion:SecretVersion", "warehouse-database-url-value")
    reader = run.one("gcp:secretmanager/secretIamMember:SecretIamMember", "warehouse-database-url-reader")

    # Not "latest": a rotated value must roll a new revision.
    assert env["WAREHOUSE_DATABASE_URL"] == {
        "secretKeyRef": {"secret": secret.inputs["secretId"], "version": "1"}
    }
    assert run.depends_on(cloud_run(run), version)
    assert version.inputs["secretData"] == "[secret]"
    assert reader.inputs["role"] == SECRET_ACCESSOR_ROLE
    assert reader.inputs["member"] == "serviceAccount:ingest-staging@laundry-staging.iam.gserviceaccount.com"


def _ingest_grants(run: Run, member: str) -> list[Registration]:
    """Every resource that grants the ingest service something: IAM on its account, the warehouse
    writer role's grants, and the writer role's membership."""
    writer_roles = {r.inputs["name"] for r in run.registrations if r.name == "writer-role"}
    return [
        r
        for r in run.registrations
        if r.inputs.get("member") == member
        or r.inputs.get("role") in writer_roles
        or r.inputs.get("accountRoleName") in writer_roles
        or r.inputs.get("roleName") in writer_roles
        or r.inputs.get("grantRole") in writer_roles
    ]


@pytest.mark.parametrize("stack", DEPLOYED)
def test_the_first_revision_waits_for_every_grant_and_table(stack: str, run_of: RunOf) -> None:
    run, config = run_of(stack)
    deployed = cloud_run(run)
    member = f"serviceAccount:{account_id(stack)}@{config.gcp_project}.iam.gserviceaccount.com"
    grants = _ingest_grants(run, member)
    tables = [r for r in run.registrations if r.type.endswith(("/table:Table", "postgres:Table"))]

    assert sorted(g.name for g in grants) == GRANTS[stack]
    assert len(tables) == 4
    assert [g.ref for g in grants if not run.depends_on(deployed, g)] == []
    assert [t.ref for t in tables if not run.depends_on(deployed, t)] == []


def test_prod_bigquery_account_holds_exactly_what_the_writer_and_driver_need(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    member = "serviceAccount:ingest-prod-bigquery@laundry-analytics.iam.gserviceaccount.com"

    granted = sorted((r.type.split(":")[-1], r.inputs["role"]) for r in _ingest_grants(run, member))

    assert granted == [
        ("DatasetIamMember", "roles/bigquery.dataEditor"),
        ("IAMMember", "roles/bigquery.jobUser"),
        ("SubscriptionIAMMember", "roles/pubsub.subscriber"),
        ("TopicIAMMember", "roles/pubsub.publisher"),
    ]


def test_private_addresses_are_reached_through_direct_vpc_egress(run_of: RunOf) -> None:
    for stack, network, subnetwork in (
        ("staging", "staging-vpc", "staging-europe-west1"),
        ("prod-snowflake", "analytics-vpc", "analytics-europe-west1"),
    ):
        run, _ = run_of(stack)
        assert cloud_run(run).inputs["template"]["vpcAccess"] == {
            "networkInterfaces": [{"network": network, "subnetwork": subnetwork}],
            "egress": "PRIVATE_RANGES_ONLY",
        }
    assert "vpcAccess" not in cloud_run(run_of("prod-bigquery")[0]).inputs["template"]


def test_the_service_runs_as_its_own_account_with_cpu_always_allocated(run_of: RunOf) -> None:
    run, _ = run_of("staging")
    service = run.one(SERVICE, "ingest")

    assert (
        service.inputs["template"]["serviceAccount"]
        == "ingest-staging@laundry-staging.iam.gserviceaccount.com"
    )
    assert service.inputs["template"]["containers"][0]["resources"]["cpuIdle"] is False
    assert service.inputs["template"]["scaling"] == {"minInstanceCount": 1}
    assert service.inputs["deletionProtection"] is True


def test_only_the_configured_invokers_may_call_the_service(run_of: RunOf) -> None:
    run, _ = run_of("staging")
    invokers = run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")

    assert [(i.inputs["member"], i.inputs["role"], i.inputs["name"]) for i in invokers] == [
        (
            "serviceAccount:api@laundry-staging.iam.gserviceaccount.com",
            "roles/run.invoker",
            "analytics-ingest-staging",
        )
    ]


def test_the_ingest_endpoint_output_is_the_services_url(run_of: RunOf) -> None:
    run, _ = run_of("staging")

    assert run.outputs["ingest_endpoint"] == "https://analytics-ingest-staging-mock.a.run.app"


def test_worker_pool_consumes_kafka_without_http(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    env = _env(run)

    assert run.of_type(SERVICE) == []
    assert run.one(WORKER_POOL, "ingest").inputs["scaling"] == {"manualInstanceCount": 1}
    assert env["KAFKA_BROKERS"] == "kafka-0.internal:9092,kafka-1.internal:9092,kafka-2.internal:9092"
    assert (env["EVENT_BUS_KAFKA_TOPIC"], env["EVENT_BUS_KAFKA_GROUP"]) == (
        "analytics-events",
        "analytics-ingest",
    )
    assert run.outputs["ingest_endpoint"] is None


@pytest.mark.parametrize("stack", DEPLOYED)
def test_a_container_whose_pump_died_is_restarted_by_its_liveness_probe(
    stack: str, run_of: RunOf, tmp_path: Path
) -> None:
    """Both probes ask, on the port the image listens on, a route the real app answers without
    the API token (the platform sends none) and fails once the bus pump died (test_pubsub); the
    field names are checked against the provider by test_provider_inputs."""
    run, _ = run_of(stack)
    container = _container(run)
    app = create_app(
        Service(settings(WAREHOUSE_DATABASE_URL=f"duckdb:///{tmp_path / 'w.duckdb'}", INGEST_API_TOKEN="t"))
    )

    with TestClient(app) as client:
        for probe in ("startupProbe", "livenessProbe"):
            http_get = container[probe]["httpGet"]
            assert http_get["port"] == HTTP_PORT, probe
            assert client.get(http_get["path"]).status_code == 200, probe
    liveness = container["livenessProbe"]
    assert liveness["failureThreshold"] * liveness["periodSeconds"] <= 60


def test_two_stacks_in_one_project_name_their_resources_apart(run_of: RunOf) -> None:
    names = {
        stack: {
            (r.type, r.inputs.get("accountId") or r.inputs.get("secretId") or r.inputs.get("name"))
            for r in run_of(stack)[0].registrations
            if r.type.startswith(("gcp:serviceaccount", "gcp:secretmanager/secret:", "gcp:cloudrunv2/"))
            and not r.type.endswith("IamMember:ServiceIamMember")
        }
        for stack in ("prod-bigquery", "prod-snowflake")
    }

    assert len(names["prod-bigquery"]) == 2 and len(names["prod-snowflake"]) == 6
    assert names["prod-bigquery"] & names["prod-snowflake"] == set()


def test_long_stack_names_stay_within_gcp_limits_and_apart() -> None:
    first, second = "customer-analytics-production-eu", "customer-analytics-production-us"

    assert account_id("prod-snowflake") == "ingest-prod-snowflake"
    assert [len(account_id(s)) for s in (first, second)] == [30, 30]
    assert account_id(first) != account_id(second)
    assert len(service_name("x" * 60)) == 49


def test_dev_deploys_nothing_to_the_cloud(run_of: RunOf) -> None:
    run, _ = run_of("dev")

    assert [r.ref for r in run.registrations if r.type.startswith("gcp:")] == []
