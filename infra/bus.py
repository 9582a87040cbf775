"""The event bus: Kafka topics, Pub/Sub topics and the ingest subscription, or nothing (memory).

- kafka: the event topic and its dead-letter topic, on an explicit provider pointed at the same
  brokers the contract publishes, with partitions, replication and retention from config.
- pubsub: the event topic carrying the schema module's Avro schema (producers are validated on
  publish), a schema-less dead-letter topic (dead letters are by definition malformed) with a
  subscription that keeps them, and the ingest subscription the service pulls, with retry and
  dead-letter policies. The Pub/Sub service agent gets exactly the two roles dead-lettering needs.
- memory: events arrive over the ingest service's HTTP API; nothing to declare.

The ingest subscription is a pull subscription: the ingest service's contract (design.md) is a
pulling subscriber (``EVENT_BUS_PUBSUB_SUBSCRIPTION``), and a push body would be the Avro JSON
encoding, which its HTTP API does not take.
"""

from __future__ import annotations

import json

import pulumi

from infra.config import StackConfig
from schema.artifacts import avro_schema

ACK_DEADLINE_SECONDS = 60
RETENTION = "604800s"
MINIMUM_BACKOFF = "10s"
MAXIMUM_BACKOFF = "600s"


class Bus(pulumi.ComponentResource):
    """Topics (and the ingest subscription) of the configured bus driver."""

    topic: pulumi.Output[str] | None
    dead_letter_topic: pulumi.Output[str] | None
    subscription: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        config: StackConfig,
        subscriber: pulumi.Output[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("analytics:bus:Bus", name, None, opts)
        self.topic = self.dead_letter_topic = self.subscription = None
        if config.bus_driver == "kafka":
            self._kafka(config)
        elif config.bus_driver == "pubsub":
            self._pubsub(config, subscriber)
        self.register_outputs(
            {
                "topic": self.topic,
                "dead_letter_topic": self.dead_letter_topic,
                "subscription": self.subscription,
            }
        )

    def _kafka(self, config: StackConfig) -> None:
        import pulumi_kafka as kafka

        provider = kafka.Provider(
            "brokers", bootstrap_servers=config.brokers, opts=pulumi.ResourceOptions(parent=self)
        )
        on_brokers = pulumi.ResourceOptions(parent=self, provider=provider)
        topic_config = {"retention.ms": str(config.kafka_retention_ms), "cleanup.policy": "delete"}
        topics = {
            label: kafka.Topic(
                label,
                name=name,
                partitions=config.kafka_partitions,
                replication_factor=config.kafka_replication_factor,
                config=topic_config,
                opts=on_brokers,
            )
            for label, name in (("events", config.topic), ("dead-letter", config.dead_letter_topic))
        }
        self.topic = topics["events"].name
        self.dead_letter_topic = topics["dead-letter"].name

    def _pubsub(self, config: StackConfig, subscriber: pulumi.Output[str] | None) -> None:
        import pulumi_gcp as gcp

        project = config.pubsub_project_id
        child = pulumi.ResourceOptions(parent=self)
        schema = gcp.pubsub.Schema(
            "events-schema",
            name=f"{config.pubsub_topic}-schema",
            project=project,
            type="AVRO",
            definition=json.dumps(avro_schema(), sort_keys=True),
            opts=child,
        )
        topic = gcp.pubsub.Topic(
            "events",
            name=config.pubsub_topic,
            project=project,
            schema_settings=gcp.pubsub.TopicSchemaSettingsArgs(schema=schema.id, encoding="JSON"),
            message_retention_duration=RETENTION,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[schema]),
        )
        dead_letter = gcp.pubsub.Topic(
            "dead-letter",
            name=config.dead_letter_topic,
            project=project,
            message_retention_duration=RETENTION,
            opts=child,
        )
        gcp.pubsub.Subscription(
            "dead-letter-hold",
            name=f"{config.dead_letter_topic}-hold",
            project=project,
            topic=dead_letter.id,
            message_retention_duration=RETENTION,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            opts=child,
        )
        subscription = gcp.pubsub.Subscription(
            "ingest",
            name=config.subscription,
            project=project,
            topic=topic.id,
            ack_deadline_seconds=ACK_DEADLINE_SECONDS,
            message_retention_duration=RETENTION,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=dead_letter.id, max_delivery_attempts=config.pubsub_max_delivery_attempts
            ),
            retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff=MINIMUM_BACKOFF, maximum_backoff=MAXIMUM_BACKOFF
            ),
            opts=child,
        )
        agent = gcp.organizations.get_project_output(project_id=project).number.apply(
            lambda number: f"serviceAccount:service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"
        )
        gcp.pubsub.TopicIAMMember(
            "agent-publishes-dead-letters",
            project=project,
            topic=dead_letter.name,
            role="roles/pubsub.publisher",
            member=agent,
            opts=child,
        )
        # The agent acks what it forwards; the ingest service pulls. Nobody else subscribes.
        subscribers = {"agent-forwards-dead-letters": agent, "ingest-subscriber": subscriber}
        for label, member in subscribers.items():
            if member is not None:
                gcp.pubsub.SubscriptionIAMMember(
                    label,
                    project=project,
                    subscription=subscription.name,
                    role="roles/pubsub.subscriber",
                    member=member,
                    opts=child,
                )
        self.topic = topic.name
        self.dead_letter_topic = dead_letter.name
        self.subscription = subscription.name
