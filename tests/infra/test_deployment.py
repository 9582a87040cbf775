"""The ingest deployment on Cloud Run, on the program's registrations under mocks."""

from __future__ import annotations

from typing import Any

from infra.deployment import SECRET_ACCESSOR_ROLE, SERVICE_NAME
from tests.infra.conftest import DESIGN_ENV, RunOf

SERVICE = "gcp:cloudrunv2/service:Service"
WORKER_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {env["name"]: env.get("value", env.get("valueSource")) for env in container["envs"]}


def test_service_env_uses_design_names_and_the_bus_resources(run_of: RunOf) -> None:
    run, config = run_of("prod-bigquery")
    container = run.one(SERVICE, "ingest").inputs["template"]["containers"][0]
    env = _env(container)

    assert set(env) <= DESIGN_ENV
    assert env["EVENT_BUS_DRIVER"] == "pubsub"
    assert env["EVENT_BUS_PUBSUB_TOPIC"] == run.one("gcp:pubsub/topic:Topic", "events").inputs["name"]
    assert env["EVENT_BUS_PUBSUB_SUBSCRIPTION"] == run.outputs["bus"]["subscription"]
    assert env["PUBSUB_PROJECT_ID"] == config.gcp_project
    assert env["EVENT_SINK_BATCH_SIZE"] == str(config.event_sink_batch_size)
    assert (env["INGEST_HOST"], env["INGEST_PORT"]) == ("0.0.0.0", "8080")
    assert container["image"] == config.ingest_image


def test_the_warehouse_url_is_a_secret_reference_never_a_value(run_of: RunOf) -> None:
    run, _ = run_of("staging")
    env = _env(run.one(SERVICE, "ingest").inputs["template"]["containers"][0])
    secret = run.one("gcp:secretmanager/secret:Secret", "warehouse-database-url")
    version = run.one("gcp:secretmanager/secretVersion:SecretVersion", "warehouse-database-url-value")
    reader = run.one("gcp:secretmanager/secretIamMember:SecretIamMember", "warehouse-database-url-reader")

    assert env["WAREHOUSE_DATABASE_URL"] == {
        "secretKeyRef": {"secret": secret.inputs["secretId"], "version": "latest"}
    }
    assert version.inputs["secretData"] == "[secret]"
    assert reader.inputs["role"] == SECRET_ACCESSOR_ROLE
    assert reader.inputs["member"].startswith(f"serviceAccount:{SERVICE_NAME}@")


def test_service_runs_as_its_own_account_after_the_tables_exist(run_of: RunOf) -> None:
    run, config = run_of("staging")
    service = run.one(SERVICE, "ingest")
    account = run.one("gcp:serviceaccount/account:Account", "ingest")

    assert service.inputs["template"]["serviceAccount"].startswith(f"{account.inputs['accountId']}@")
    assert all(run.depends_on(service, t) for t in run.of_type("pulumi-python:dynamic/postgres:Table"))
    assert service.inputs["template"]["containers"][0]["resources"]["cpuIdle"] is False
    assert service.inputs["deletionProtection"] is config.protect


def test_only_the_configured_invokers_may_call_the_service(run_of: RunOf) -> None:
    run, config = run_of("staging")
    invokers = run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")

    assert [i.inputs["member"] for i in invokers] == config.ingest_invokers
    assert {i.inputs["role"] for i in invokers} == {"roles/run.invoker"}


def test_the_ingest_endpoint_output_is_the_services_url(run_of: RunOf) -> None:
    run, _ = run_of("staging")

    assert run.outputs["ingest_endpoint"] == f"https://{SERVICE_NAME}-mock.a.run.app"


def test_worker_pool_consumes_kafka_without_http(run_of: RunOf) -> None:
    run, config = run_of("prod-snowflake")
    pool = run.one(WORKER_POOL, "ingest")
    env = _env(pool.inputs["template"]["containers"][0])

    assert run.of_type(SERVICE) == []
    assert set(env) <= DESIGN_ENV
    assert "INGEST_PORT" not in env
    assert env["KAFKA_BROKERS"] == config.kafka_brokers
    assert env["EVENT_BUS_KAFKA_TOPIC"] == config.kafka_topic
    assert env["EVENT_BUS_KAFKA_GROUP"] == config.kafka_group
    assert run.outputs["ingest_endpoint"] is None


def test_the_pubsub_subscriber_role_is_granted_to_the_ingest_account_only(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    subscriber = run.one("gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", "ingest-subscriber")

    assert subscriber.inputs["role"] == "roles/pubsub.subscriber"
    assert subscriber.inputs["member"].startswith(f"serviceAccount:{SERVICE_NAME}@")


def test_dev_deploys_nothing_to_the_cloud(run_of: RunOf) -> None:
    run, _ = run_of("dev")

    assert [r.ref for r in run.registrations if r.type.startswith("gcp:")] == []
