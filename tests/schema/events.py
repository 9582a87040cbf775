"""Valid sample events for every (category, name), shared by the schema tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

PAYLOADS: dict[tuple[str, str], dict[str, Any]] = {
    ("order.lifecycle", "created"): {
        "order_id": "o-1",
        "branch_id": "b-1",
        "customer_id": "c-1",
        "status": "new",
    },
    ("order.lifecycle", "request_accepted"): {"order_id": "o-1", "branch_id": "b-1"},
    ("order.lifecycle", "delivery_status_changed"): {
        "order_id": "o-1",
        "driver_id": "d-1",
        "delivery_status": "out",
    },
    ("driver.telemetry", "location_updated"): {
        "driver_id": "d-1",
        "latitude": 52.37,
        "longitude": 4.89,
        "accuracy_m": 5.0,
        "speed_kmh": 31.5,
        "heading_deg": 270.0,
    },
    ("campaign.interaction", "plan_updated"): {
        "template_key": "winback",
        "campaign_id": "cmp-1",
        "plan_id": "p-1",
    },
    ("campaign.interaction", "outreach_attempted"): {
        "template_key": "winback",
        "channel": "sms",
        "customer_id": "c-1",
    },
    ("campaign.interaction", "outreach_completed"): {"template_key": "winback", "outcome": "converted"},
}


def sample(category: str, name: str, /, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "category": category,
        "name": name,
        "occurred_at": "2026-11-25T10:15:00+01:00",
        "source": "api",
        "schema_version": 1,
        "actor": {"type": "customer", "id": "c-1"},
        "context": {"request_id": "r-1", "ip": "203.0.113.7"},
        "payload": dict(PAYLOADS[(category, name)]),
    }
    event.update(overrides)
    return event


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()
