"""The service's sink defaults and ranges are the schema contract's (docs/contract.md: 5000 events,
500 ms), the same the stack declares in Pulumi.yaml."""

from __future__ import annotations

import pytest

from ingest.config import ConfigError, load_settings
from schema.contract import SINK_BATCH_SIZE, SINK_FLUSH_INTERVAL_MS

VARIABLES = ("EVENT_SINK_BATCH_SIZE", "EVENT_SINK_FLUSH_INTERVAL_MS")


def test_the_service_defaults_to_the_contracts_sink_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    settings = load_settings()
    assert (settings.batch_size, settings.flush_interval_ms) == (5000, 500)
    assert (SINK_BATCH_SIZE.default, SINK_FLUSH_INTERVAL_MS.default) == (5000, 500)


@pytest.mark.parametrize(
    ("variable", "value", "accepts"),
    [
        ("EVENT_SINK_BATCH_SIZE", "100001", "an integer, 1 to 100000"),
        ("EVENT_SINK_BATCH_SIZE", "0", "an integer, 1 to 100000"),
        ("EVENT_SINK_FLUSH_INTERVAL_MS", "600001", "milliseconds, 1 to 600000"),
    ],
)
def test_values_outside_the_contracts_range_are_refused(variable: str, value: str, accepts: str) -> None:
    with pytest.raises(ConfigError, match=rf"{variable}='{value}': .*\(accepts {accepts}\)"):
        load_settings(None, **{variable: value})
