"""Pulumi.yaml declares the sink's defaults (the Pulumi CLI applies them); they must be the schema
module's, which the ingest service defaults to, or a deployed service and a local one differ."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from infra.config import PROJECT, SECRET_KEYS, StackConfig
from infra.stackfiles import declared_config, load_stack
from schema.contract import SINK_BATCH_SIZE, SINK_FLUSH_INTERVAL_MS, SinkSetting

SETTINGS = [("eventSinkBatchSize", SINK_BATCH_SIZE), ("eventSinkFlushIntervalMs", SINK_FLUSH_INTERVAL_MS)]


@pytest.mark.parametrize(("key", "setting"), SETTINGS)
def test_pulumi_yaml_declares_the_schema_modules_sink_defaults(key: str, setting: SinkSetting) -> None:
    declared = declared_config()[key]
    assert (declared["type"], declared["default"]) == ("integer", setting.default)


def _dev_values() -> dict[str, Any]:
    """The dev stack's non-secret keys as the program reads them (JSON arrays decoded)."""
    values: dict[str, Any] = {}
    for full_key, raw in load_stack("dev").config.items():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT and key not in SECRET_KEYS:
            values[key] = json.loads(raw) if key == "ingestInvokers" else raw
    return values


@pytest.mark.parametrize(("key", "setting"), SETTINGS)
def test_stack_config_refuses_sink_settings_the_service_refuses(key: str, setting: SinkSetting) -> None:
    values = _dev_values()
    assert StackConfig.model_validate(values)
    for wrong in (setting.ge - 1, setting.le + 1):
        with pytest.raises(ValidationError, match=key):
            StackConfig.model_validate({**values, key: str(wrong)})
