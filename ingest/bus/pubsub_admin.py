"""Whether the Pub/Sub topic and subscription exist: a missing one is a configuration error.

Kept apart from the bus because the rule is subtle: only NotFound means missing; a caller not
allowed to read resource metadata learns nothing and leaves it to the stream. The bus refuses to
start on a ``Missing`` and reports it on /readyz afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Lookup = Callable[[str], None]


class Missing(Exception):
    """The topic or subscription does not exist (the message names it and its variable)."""


def check_exists(
    exceptions: Any, subscription_path: str, get_subscription: Lookup, topic_path: str, get_topic: Lookup
) -> None:
    """Raise ``Missing`` for the first of the subscription and topic that does not exist.

    ``exceptions`` is ``google.api_core.exceptions``, passed in by the bus that imported it.
    """
    lookups = (
        ("subscription", subscription_path, "EVENT_BUS_PUBSUB_SUBSCRIPTION", get_subscription),
        ("topic", topic_path, "EVENT_BUS_PUBSUB_TOPIC", get_topic),
    )
    for kind, path, variable, lookup in lookups:
        try:
            lookup(path)
        except exceptions.NotFound:
            raise Missing(
                f"Pub/Sub {kind} {path} does not exist ({variable}, PUBSUB_PROJECT_ID): create it "
                "(the Pulumi program's bus declares both) or name an existing one"
            ) from None
        except exceptions.PermissionDenied:
            # roles/pubsub.subscriber and .publisher cannot read resource metadata (that needs
            # pubsub.*.get, e.g. roles/pubsub.viewer): the stream reports a missing one.
            continue
