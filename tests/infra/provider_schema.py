"""What the providers accept, read from their Python SDKs, to check the program's registrations.

The mocks accept any input; a real ``pulumi up`` does not. This module reads, for a resource type
token, the SDK's own ``*Args`` class (the one the provider's schema generated): the input names
(camelCase, as registered), their types, which are required, which are deprecated, and the values
their docstrings allow ("Possible values are: `A`, `B`", "Valid values are ..."). Limits the
docstrings state in prose, or lost in generation (the account id's pattern reads "`a-z`"), are in
``DOCUMENTED`` with where they come from.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi._types as pulumi_types

from infra.mocks import SECRET

PROVIDER_PREFIX = "pulumi:providers:"
# Resource types that have no provider schema: Pulumi's own and the program's components and
# dynamic resources (whose provider is tested against a real database instead).
UNCHECKED_PREFIXES = ("analytics:", "pulumi-python:dynamic/")

_POSSIBLE = re.compile(r"Possible values are: (.*?)\.(?:\s|$)", re.S)
_VALID = re.compile(r"Valid values are(?: \(case-insensitive\))?: (.*?)\.(?:\s|$)", re.S)
_CAN_BE = re.compile(r"can be ((?:[a-z0-9-]+, )+[a-z0-9-]+)\s*$")
_BACKTICKED = re.compile(r"`([^`]*)`")


@dataclass(frozen=True)
class Property:
    type: Any
    required: bool
    deprecated: bool
    allowed: tuple[str, ...]
    case_insensitive: bool


def _sdk_package(token: str) -> str:
    package = (
        token.removeprefix(PROVIDER_PREFIX) if token.startswith(PROVIDER_PREFIX) else token.split(":")[0]
    )
    return f"pulumi_{package.replace('-', '_')}"


@functools.cache
def _registered(package: str) -> dict[str, tuple[str, str]]:
    """Type token -> (module, class) from the package's own registration table."""
    source = inspect.getsource(importlib.import_module(package))
    table = re.search(r'resource_modules="""(.*?)"""', source, re.S)
    assert table is not None, package
    return {
        token: (entry["fqn"], name)
        for entry in json.loads(table.group(1))
        for token, name in entry["classes"].items()
    }


def args_class(token: str) -> type:
    """The SDK's ``*Args`` input type of a resource (or provider) type token."""
    package = _sdk_package(token)
    if token.startswith(PROVIDER_PREFIX):
        module, name = package, "Provider"
    else:
        module, name = _registered(package)[token]
    resource = getattr(importlib.import_module(module), name)
    args: type = getattr(importlib.import_module(resource.__module__), f"{name}Args")
    return args


def _docs(cls: type) -> dict[str, str]:
    """py name -> its ``:param`` text in the Args class's docstring."""
    doc = inspect.getdoc(vars(cls)["__init__"]) or ""
    found = re.finditer(r":param [^\n]*? (\w+): (.*?)(?=\n:param |\Z)", doc, re.S)
    return {match.group(1): " ".join(match.group(2).split()) for match in found}


@functools.cache
def properties(cls: type) -> dict[str, Property]:
    """pulumi name -> what the SDK says about it."""
    names = pulumi_types.input_type_py_to_pulumi_names(cls)
    types = pulumi_types.input_type_types(cls)
    parameters = inspect.signature(cls).parameters
    docs = _docs(cls)
    described: dict[str, Property] = {}
    for py_name, name in names.items():
        getter = getattr(cls, py_name, None)
        fget = getter.fget if isinstance(getter, property) else None
        text = docs.get(py_name, "")
        allowed: tuple[str, ...] = ()
        insensitive = False
        if (match := _POSSIBLE.search(text)) is not None:
            allowed = tuple(_BACKTICKED.findall(match.group(1)))
        elif (match := _VALID.search(text)) is not None:
            allowed, insensitive = (
                tuple(_BACKTICKED.findall(match.group(1))),
                "case-insensitive" in match.group(0),
            )
        elif (match := _CAN_BE.search(text)) is not None:
            allowed = tuple(match.group(1).split(", "))
        parameter = parameters.get(py_name)
        described[name] = Property(
            type=types.get(name, Any),
            required=parameter is not None and parameter.default is inspect.Parameter.empty,
            deprecated=fget is not None and hasattr(fget, "_pulumi_deprecated_callable"),
            allowed=allowed,
            case_insensitive=insensitive,
        )
    return described


def _plain_type(typ: Any) -> Any:
    """``Input[Optional[X]]`` (a Union of X, Awaitable[X] and Output) -> X."""
    while typing.get_origin(typ) is typing.Union:
        members = [
            member
            for member in typing.get_args(typ)
            if member is not type(None)
            and typing.get_origin(member) is not collections.abc.Awaitable
            and not (isinstance(member, type) and issubclass(member, pulumi.Output))
            and typing.get_origin(member) is not pulumi.Output
        ]
        typ = members[0] if len(members) == 1 else Any
    return typ


def problems(token: str, inputs: dict[str, Any]) -> Iterator[str]:
    """Every way ``inputs`` (as registered) differ from what the provider accepts."""
    if token.startswith(UNCHECKED_PREFIXES):
        return
    provider = token.startswith(PROVIDER_PREFIX)
    yield from _object(args_class(token), inputs, token, provider)


def _object(cls: type, value: Any, path: str, provider: bool = False) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{path}: expected an object, got {value!r}"
        return
    described = properties(cls)
    for name, expected in described.items():
        if expected.required and name not in value:
            yield f"{path}.{name}: required by {cls.__name__} and not set"
    for name, item in value.items():
        prop = described.get(name)
        if prop is None:
            yield f"{path}.{name}: not an input of {cls.__name__}"
            continue
        if prop.deprecated:
            yield f"{path}.{name}: deprecated in {cls.__name__}"
        typ = _plain_type(prop.type)
        if provider and typ is not str and isinstance(item, str) and item != SECRET:
            # Providers' non-string inputs travel as JSON text.
            item = json.loads(item)
        yield from _value(typ, item, f"{path}.{name}")
        if prop.allowed and isinstance(item, str):
            wanted = [v.lower() for v in prop.allowed] if prop.case_insensitive else list(prop.allowed)
            got = item.lower() if prop.case_insensitive else item
            if got not in wanted:
                yield f"{path}.{name}: {item!r} is not one of {list(prop.allowed)}"


def _value(typ: Any, value: Any, path: str) -> Iterator[str]:
    if value is None or typ is Any or value == SECRET:
        return
    origin = typing.get_origin(typ)
    if origin in (collections.abc.Sequence, list):
        if not isinstance(value, list):
            yield f"{path}: expected a list, got {value!r}"
            return
        (element,) = typing.get_args(typ)
        for index, item in enumerate(value):
            yield from _value(_plain_type(element), item, f"{path}[{index}]")
    elif origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            yield f"{path}: expected a map, got {value!r}"
            return
        element = _plain_type(typing.get_args(typ)[1])
        for key, item in value.items():
            yield from _value(element, item, f"{path}.{key}")
    elif isinstance(typ, type) and pulumi_types.is_input_type(typ):
        yield from _object(typ, value, path)
    elif typ is bool:
        if not isinstance(value, bool):
            yield f"{path}: expected a boolean, got {value!r}"
    elif typ in (int, float):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (typ is int and value != int(value))
        ):
            yield f"{path}: expected {typ.__name__}, got {value!r}"
    elif typ is str and not isinstance(value, str):
        yield f"{path}: expected a string, got {value!r}"


def _seconds(duration: str) -> float:
    return float(duration.removesuffix("s"))


# (type token, input path) -> (rule, where it is documented).
Rule = Callable[[Any], bool]
CLOUD_RUN_NAME: tuple[Rule, str] = (
    lambda v: re.fullmatch(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?", v) is not None,
    "Cloud Run: letters, numbers and '-', beginning with a letter, not ending with '-', at most 63",
)
PUBSUB_NAME: tuple[Rule, str] = (
    lambda v: re.fullmatch(r"[A-Za-z][-A-Za-z0-9._~%+]{2,254}", v) is not None and not v.startswith("goog"),
    "Pub/Sub names: start with a letter, 3-255 of letters, digits, -._~%+, not 'goog...'",
)
DOCUMENTED: dict[tuple[str, str], tuple[Rule, str]] = {
    ("gcp:serviceaccount/account:Account", "accountId"): (
        lambda v: re.fullmatch(r"[a-z](?:[-a-z0-9]{4,28}[a-z0-9])", v) is not None,
        "account_id: 6-30 characters matching [a-z]([-a-z0-9]*[a-z0-9]) (RFC1035; the IAM API's pattern)",
    ),
    ("gcp:cloudrunv2/service:Service", "name"): CLOUD_RUN_NAME,
    ("gcp:cloudrunv2/workerPool:WorkerPool", "name"): CLOUD_RUN_NAME,
    ("gcp:cloudrunv2/workerPool:WorkerPool", "launchStage"): (
        lambda v: v in ("ALPHA", "BETA", "GA"),
        "launch_stage: 'Cloud Run supports ALPHA, BETA, and GA'",
    ),
    ("gcp:secretmanager/secret:Secret", "secretId"): (
        lambda v: re.fullmatch(r"[\w-]{1,255}", v) is not None,
        "Secret Manager secret ids: letters, digits, '_' and '-', at most 255",
    ),
    ("gcp:bigquery/dataset:Dataset", "datasetId"): (
        lambda v: re.fullmatch(r"[A-Za-z0-9_]{1,1024}", v) is not None,
        "dataset_id: 'only letters (a-z, A-Z), numbers (0-9), or underscores (_)... maximum 1,024'",
    ),
    ("gcp:pubsub/subscription:Subscription", "ackDeadlineSeconds"): (
        lambda v: 10 <= v <= 600,
        "ack_deadline_seconds: 'minimum ... 10 seconds. The maximum ... 600 seconds'",
    ),
    ("gcp:pubsub/subscription:Subscription", "messageRetentionDuration"): (
        lambda v: 600 <= _seconds(v) <= 2678400,
        "message_retention_duration: 'Cannot be more than 31 days (\"2678400s\") or less than 10 minutes'",
    ),
    ("gcp:pubsub/topic:Topic", "messageRetentionDuration"): (
        lambda v: 600 <= _seconds(v) <= 2678400,
        "message_retention_duration: 'Cannot be more than 31 days or less than 10 minutes'",
    ),
    ("gcp:pubsub/subscription:Subscription", "deadLetterPolicy.maxDeliveryAttempts"): (
        lambda v: 5 <= v <= 100,
        "max_delivery_attempts: 'The value must be between 5 and 100'",
    ),
    ("gcp:pubsub/topic:Topic", "name"): PUBSUB_NAME,
    ("gcp:pubsub/subscription:Subscription", "name"): PUBSUB_NAME,
    ("kafka:index/topic:Topic", "name"): (
        lambda v: re.fullmatch(r"[A-Za-z0-9._-]{1,249}", v) is not None,
        "Kafka topic names: 1-249 of letters, digits, '.', '_' and '-'",
    ),
}


def documented_problems(token: str, inputs: dict[str, Any]) -> Iterator[str]:
    for (typ, path), (rule, source) in DOCUMENTED.items():
        if typ != token:
            continue
        value: Any = inputs
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not rule(value):
            yield f"{token}.{path}: {value!r} breaks {source}"
