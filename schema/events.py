"""The wire format of the three event families, as pydantic v2 models.

One envelope carries every event; each (category, name) pair has its own payload model, and each
family has a base payload model whose fields are the family table's fact columns. Payload models
keep fields they do not know (``extra="allow"``): unknown payload fields are stored, never dropped
and never a reason to reject. Everything else is strict: a known field of the wrong type is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

# Identifiers are opaque strings for the API (ids, status codes, keys), bounded so that one field
# cannot carry a document.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Category(StrEnum):
    ORDER_LIFECYCLE = "order.lifecycle"
    DRIVER_TELEMETRY = "driver.telemetry"
    CAMPAIGN_INTERACTION = "campaign.interaction"


class WireModel(BaseModel):
    """Strict, immutable, closed: the parts of the wire format that have a fixed shape."""

    model_config = ConfigDict(strict=True, frozen=True, allow_inf_nan=False, extra="forbid")


class Actor(WireModel):
    """Who caused the event; stored flattened as ``actor_type`` / ``actor_id``.

    Closed (unknown keys rejected) because only ``type`` and ``id`` have a column: an extra key
    would otherwise be silently lost.
    """

    type: Identifier = Field(description="Kind of actor, e.g. customer, driver, staff, system.")
    id: Identifier = Field(description="Identifier of the actor within its kind.")


class Payload(BaseModel):
    """Base of every payload model: strict on known fields, keeps unknown ones."""

    model_config = ConfigDict(strict=True, frozen=True, allow_inf_nan=False, extra="allow")


# --- order.lifecycle -------------------------------------------------------------------------


class OrderLifecyclePayload(Payload):
    """Fields shared by every order lifecycle event; they are the family's fact columns."""

    order_id: Identifier = Field(description="Order the event is about.")
    branch_id: Identifier | None = Field(None, description="Branch handling the order.")
    customer_id: Identifier | None = Field(None, description="Customer who placed the order.")
    driver_id: Identifier | None = Field(None, description="Driver assigned to the order, if any.")
    status: Identifier | None = Field(None, description="Order status after the event.")
    delivery_status: Identifier | None = Field(None, description="Delivery status after the event.")


class OrderCreatedPayload(OrderLifecyclePayload):
    """An order was placed."""


class OrderRequestAcceptedPayload(OrderLifecyclePayload):
    """A branch accepted the order request."""


class OrderDeliveryStatusChangedPayload(OrderLifecyclePayload):
    """The delivery moved to a new status; the new status is required."""

    delivery_status: Identifier = Field(description="Delivery status after the event.")


# --- driver.telemetry ------------------------------------------------------------------------


class DriverTelemetryPayload(Payload):
    """Fields shared by driver telemetry events; they are the family's fact columns."""

    driver_id: Identifier = Field(description="Driver whose device reported the location.")
    order_id: Identifier | None = Field(None, description="Order being delivered, if any.")
    latitude: float = Field(ge=-90.0, le=90.0, description="WGS84 latitude in degrees.")
    longitude: float = Field(ge=-180.0, le=180.0, description="WGS84 longitude in degrees.")
    accuracy_m: float | None = Field(None, ge=0.0, description="Horizontal accuracy in metres.")
    speed_kmh: float | None = Field(None, ge=0.0, description="Ground speed in km/h.")
    heading_deg: float | None = Field(None, ge=0.0, lt=360.0, description="Heading, degrees from north.")


class DriverLocationUpdatedPayload(DriverTelemetryPayload):
    """A driver's device reported a new position."""


# --- campaign.interaction --------------------------------------------------------------------


class CampaignInteractionPayload(Payload):
    """Fields shared by campaign interaction events; they are the family's fact columns."""

    template_key: Identifier = Field(description="Outreach template the interaction used.")
    campaign_id: Identifier | None = Field(None, description="Campaign the interaction belongs to.")
    plan_id: Identifier | None = Field(None, description="Campaign plan the interaction belongs to.")
    channel: Identifier | None = Field(None, description="Channel, e.g. sms, email, push, call.")
    customer_id: Identifier | None = Field(None, description="Customer reached, if any.")
    outcome: Identifier | None = Field(None, description="Outcome of the outreach, if known.")


class CampaignPlanUpdatedPayload(CampaignInteractionPayload):
    """The command center adjusted a campaign plan."""


class CampaignOutreachAttemptedPayload(CampaignInteractionPayload):
    """An outreach was attempted; the channel is required."""

    channel: Identifier = Field(description="Channel, e.g. sms, email, push, call.")


class CampaignOutreachCompletedPayload(CampaignInteractionPayload):
    """An outreach finished; the outcome is required."""

    outcome: Identifier = Field(description="Outcome of the outreach.")


# --- envelope --------------------------------------------------------------------------------


class EventEnvelope(WireModel):
    """The envelope every event travels in. Subclasses pin ``category``/``name`` and the payload.

    ``occurred_at`` must carry an offset (RFC 3339 requires one): a naive timestamp is rejected
    rather than guessed, because a wrong guess silently shifts facts by hours. It is stored in UTC.
    Top-level fields the wire format does not define are rejected: they have no column, and
    keeping nothing silently is the rule; producers put extra request data in ``context``.
    """

    event_id: UUID = Field(description="Idempotency key of the event, a UUID.")
    category: Category = Field(description="Event family.")
    name: str = Field(description="Event name within the family.")
    occurred_at: AwareDatetime = Field(description="When it happened (RFC 3339 with offset).")
    source: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Emitting system, e.g. api."
    )
    # Bounded to what every warehouse's integer column holds (bigint / INT64 / NUMBER(38,0)).
    schema_version: int = Field(1, ge=1, le=2**63 - 1, description="Version of the family's payload schema.")
    actor: Actor | None = Field(None, description="Who caused the event, if anyone.")
    context: dict[str, Any] = Field(default_factory=dict, description="Request context.")
    payload: Payload = Field(description="Family/event specific data.")

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise PydanticCustomError(
                "datetime_range", "timestamp is outside years 1-9999 once converted to UTC"
            ) from None


Event = EventEnvelope


@dataclass(frozen=True)
class EventFamily:
    """One event family: its category, table, payload models per event name and version.

    ``indexed`` and ``cluster_by`` name fact columns (payload fields of the family base model):
    Postgres gets a btree index on each indexed column; BigQuery and Snowflake cluster on
    ``cluster_by`` (BigQuery allows at most four clustering columns).
    """

    category: Category
    table: str
    payload: type[Payload]
    events: Mapping[str, type[Payload]]
    version: int
    indexed: tuple[str, ...]
    cluster_by: tuple[str, ...]
    description: str
    envelopes: Mapping[str, type[EventEnvelope]] = field(default_factory=dict, compare=False)

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(self.events)


FAMILIES: tuple[EventFamily, ...] = (
    EventFamily(
        category=Category.ORDER_LIFECYCLE,
        table="analytics_order_lifecycle_events",
        payload=OrderLifecyclePayload,
        events={
            "created": OrderCreatedPayload,
            "request_accepted": OrderRequestAcceptedPayload,
            "delivery_status_changed": OrderDeliveryStatusChangedPayload,
        },
        version=1,
        indexed=("order_id", "branch_id", "customer_id", "driver_id", "status", "delivery_status"),
        cluster_by=("order_id", "branch_id", "customer_id"),
        description="Order fulfilment lifecycle: order, branch, customer and delivery progress.",
    ),
    EventFamily(
        category=Category.DRIVER_TELEMETRY,
        table="analytics_driver_telemetry_events",
        payload=DriverTelemetryPayload,
        events={"location_updated": DriverLocationUpdatedPayload},
        version=1,
        indexed=("driver_id", "order_id"),
        cluster_by=("driver_id", "order_id"),
        description="Real-time driver locations for route analytics and SLA monitoring.",
    ),
    EventFamily(
        category=Category.CAMPAIGN_INTERACTION,
        table="analytics_campaign_interaction_events",
        payload=CampaignInteractionPayload,
        events={
            "plan_updated": CampaignPlanUpdatedPayload,
            "outreach_attempted": CampaignOutreachAttemptedPayload,
            "outreach_completed": CampaignOutreachCompletedPayload,
        },
        version=1,
        indexed=("template_key", "campaign_id", "plan_id", "channel", "customer_id", "outcome"),
        cluster_by=("campaign_id", "template_key", "channel"),
        description="Command-center outreach, plan adjustments and outcomes for growth experiments.",
    ),
)


def _envelope_for(family: EventFamily, name: str, payload: type[Payload]) -> type[EventEnvelope]:
    """Build the envelope model pinned to one (category, name) pair and its payload model."""
    model_name = payload.__name__.removesuffix("Payload") + "Event"
    namespace: dict[str, Any] = {
        "__annotations__": {
            "category": Literal[family.category],
            "name": Literal[name],
            "payload": payload,
        },
        "__module__": __name__,
        "__doc__": payload.__doc__,
        "__qualname__": model_name,
    }
    return type(model_name, (EventEnvelope,), namespace)


for _family in FAMILIES:
    object.__setattr__(
        _family,
        "envelopes",
        {name: _envelope_for(_family, name, model) for name, model in _family.events.items()},
    )

_BY_CATEGORY: dict[str, EventFamily] = {family.category.value: family for family in FAMILIES}


def family_for(category: str | Category) -> EventFamily:
    """The family of a category; KeyError names the known categories."""
    try:
        return _BY_CATEGORY[str(category)]
    except KeyError:
        raise KeyError(f"unknown category {category!r}; known: {sorted(_BY_CATEGORY)}") from None
