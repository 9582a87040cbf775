"""The event bus: Kafka topics, Pub/Sub topics and the ingest subscription, or nothing (memory).

- kafka: the event topic and its dead-letter topic, on an explicit provider pointed at the same
  brokers, with the same TLS/SASL settings, that the ingest service gets (``KafkaConnection``).
- pubsub: the event topic, a dead-letter topic with a subscription that keeps what lands there,
  and the ingest subscription the service pulls, with retry and dead-letter policies.
- memory: events arrive over the ingest service's HTTP API; nothing to declare.

The Pub/Sub topic has NO topic schema, on purpose. The wire format's ``context`` and ``payload``
are free JSON objects, which neither an Avro nor a protobuf topic schema can express as plain
JSON, and Avro's JSON encoding wraps union values (the nullable ``actor`` would have to be sent as
``{"actor": {"<record name>": {...}}}``): a topic schema would refuse the plain README event at
publish. Validation happens where it can be exact: producers validate against the exported JSON
Schema, and the ingest service validates every message against the schema module and turns what
fails into dead-letter rows.

The ingest subscription is a pull subscription (the service uses streaming pull and extends the
leases of what it holds), at-least-once: the tables are idempotent on ``event_id``, so a
redelivery is absorbed there, and exactly-once delivery would add acknowledgement latency and
regional restrictions for nothing the tables do not already give.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

# Matches the driver: streaming pull extends leases, so this is only the first deadline.
ACK_DEADLINE_SECONDS = 60
# Topic and subscription retention: 7 days of backlog survive an outage of the service.
RETENTION = "604800s"
MINIMUM_BACKOFF = "10s"
MAXIMUM_BACKOFF = "600s"
SUBSCRIBER_ROLE = "roles/pubsub.subscriber"
PUBLISHER_ROLE = "roles/pubsub.publisher"
# The Kafka provider's names for librdkafka's SASL mechanisms (its ``sasl_mechanism`` docstring:
# "plain, scram-sha512, scram-sha256, aws-iam").
KAFKA_PROVIDER_MECHANISM = {
    "PLAIN": "plain",
    "SCRAM-SHA-256": "scram-sha256",
    "SCRAM-SHA-512": "scram-sha512",
}


@dataclass(frozen=True)
class KafkaConnection:
    """How clients reach the brokers; the provider and the ingest service share it."""

    security_protocol: str
    sasl_mechanism: str
    sasl_username: str
    sasl_password: pulumi.Output[str] | None

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")


@dataclass(frozen=True)
class KafkaArgs:
    brokers: tuple[str, ...]
    topic: str
    dead_letter_topic: str
    partitions: int
    replication_factor: int
    retention_ms: int
    connection: KafkaConnection


@dataclass(frozen=True)
class PubsubArgs:
    """``subscriber`` / ``publisher``: the IAM member that pulls / publishes, if one is deployed."""

    project: str
    topic: str
    dead_letter_topic: str
    subscription: str
    max_delivery_attempts: int
    subscriber: pulumi.Output[str] | None
    publisher: pulumi.Output[str] | None


class Bus(pulumi.ComponentResource):
    """Topics (and the ingest subscription) of the configured bus driver; ``None`` is memory."""

    topic: pulumi.Output[str] | None
    dead_letter_topic: pulumi.Output[str] | None
    subscription: pulumi.Output[str] | None
    grants: list[pulumi.Resource]

    def __init__(
        self, name: str, args: KafkaArgs | PubsubArgs | None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("analytics:bus:Bus", name, None, opts)
        self.topic = self.dead_letter_topic = self.subscription = None
        self.grants = []
        if isinstance(args, KafkaArgs):
            self._kafka(args)
        elif isinstance(args, PubsubArgs):
            self._pubsub(args)
        self.register_outputs(
            {
                "topic": self.topic,
                "dead_letter_topic": self.dead_letter_topic,
                "subscription": self.subscription,
            }
        )

    def _kafka(self, args: KafkaArgs) -> None:
        import pulumi_kafka as kafka

        connection = args.connection
        # tls_enabled is passed always: the provider defaults it to true and even
        # KAFKA_ENABLE_TLS=false cannot turn it off (``get_env_bool(...) or True``).
        provider = kafka.Provider(
            "brokers",
            bootstrap_servers=list(args.brokers),
            tls_enabled=connection.tls,
            sasl_mechanism=KAFKA_PROVIDER_MECHANISM[connection.sasl_mechanism] if connection.sasl else None,
            sasl_username=connection.sasl_username if connection.sasl else None,
            sasl_password=connection.sasl_password if connection.sasl else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_brokers = pulumi.ResourceOptions(parent=self, provider=provider)
        topic_config = {"retention.ms": str(args.retention_ms), "cleanup.policy": "delete"}
        topics = {
            label: kafka.Topic(
                label,
                name=name,
                partitions=args.partitions,
                replication_factor=args.replication_factor,
                config=topic_config,
                opts=on_brokers,
            )
            for label, name in (("events", args.topic), ("dead-letter", args.dead_letter_topic))
        }
        self.topic = topics["events"].name
        self.dead_letter_topic = topics["dead-letter"].name

    def _pubsub(self, args: PubsubArgs) -> None:
        import pulumi_gcp as gcp

        project = args.project
        child = pulumi.ResourceOptions(parent=self)
        topic = gcp.pubsub.Topic(
            "events", name=args.topic, project=project, message_retention_duration=RETENTION, opts=child
        )
        dead_letter = gcp.pubsub.Topic(
            "dead-letter",
            name=args.dead_letter_topic,
            project=project,
            message_retention_duration=RETENTION,
            opts=child,
        )
        gcp.pubsub.Subscription(
            "dead-letter-hold",
            name=f"{args.dead_letter_topic}-hold",
            project=project,
            topic=dead_letter.id,
            message_retention_duration=RETENTION,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            opts=child,
        )
        subscription = gcp.pubsub.Subscription(
            "ingest",
            name=args.subscription,
            project=project,
            topic=topic.id,
            ack_deadline_seconds=ACK_DEADLINE_SECONDS,
            message_retention_duration=RETENTION,
            enable_exactly_once_delivery=False,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=dead_letter.id, max_delivery_attempts=args.max_delivery_attempts
            ),
            retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff=MINIMUM_BACKOFF, maximum_backoff=MAXIMUM_BACKOFF
            ),
            opts=child,
        )
        # Dead-lettering needs the project's Pub/Sub service agent to publish to the dead-letter
        # topic and to acknowledge (subscriber) on the source subscription.
        agent = gcp.organizations.get_project_output(project_id=project).number.apply(
            lambda number: f"serviceAccount:service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"
        )
        topic_grants = {"agent-publishes-dead-letters": (dead_letter, agent)}
        if args.publisher is not None:
            topic_grants["ingest-publisher"] = (topic, args.publisher)
        for label, (granted, member) in topic_grants.items():
            self.grants.append(
                gcp.pubsub.TopicIAMMember(
                    label, project=project, topic=granted.name, role=PUBLISHER_ROLE, member=member, opts=child
                )
            )
        subscribers = {"agent-forwards-dead-letters": agent}
        if args.subscriber is not None:
            subscribers["ingest-subscriber"] = args.subscriber
        for label, member in subscribers.items():
            self.grants.append(
                gcp.pubsub.SubscriptionIAMMember(
                    label,
                    project=project,
                    subscription=subscription.name,
                    role=SUBSCRIBER_ROLE,
                    member=member,
                    opts=child,
                )
            )
        self.topic = topic.name
        self.dead_letter_topic = dead_letter.name
        self.subscription = subscription.name
