"""``snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE[/SCHEMA]?warehouse=W&role=R&...`` as connector arguments.

The form is snowflake-sqlalchemy's, so a URL that works with other Python tools works here. Every
further query parameter is passed to ``snowflake.connector.connect`` as it is named: ``host``,
``port`` and ``protocol`` reach a local stand-in, ``authenticator=SNOWFLAKE_JWT`` with
``private_key_file`` (and ``private_key_file_pwd``) is key-pair authentication, the way a
service should connect. Kept apart from the writer so that configuration can validate a URL
without importing the connector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SCHEME = "snowflake://"
# Connector arguments that are numbers; every other query parameter is passed as text.
_INTEGER_ARGS = frozenset({"port", "login_timeout", "network_timeout", "socket_timeout"})
_BOOLEAN_ARGS = frozenset({"client_session_keep_alive", "validate_default_parameters", "insecure_mode"})
_TRUE = frozenset({"true", "1", "yes", "on"})


class SnowflakeUrlError(ValueError):
    """A WAREHOUSE_DATABASE_URL that is not a usable Snowflake URL; never echoes the password."""


@dataclass(frozen=True)
class SnowflakeUrl:
    user: str
    account: str
    database: str
    schema: str | None
    password: str | None = field(default=None, repr=False)
    options: dict[str, Any] = field(default_factory=dict)

    def connect_args(self) -> dict[str, Any]:
        """Keyword arguments for ``snowflake.connector.connect`` (the schema is the writer's to pick)."""
        args: dict[str, Any] = {"user": self.user, "account": self.account, "database": self.database}
        if self.password is not None:
            args["password"] = self.password
        args.update(self.options)
        return args


def parse_url(url: str) -> SnowflakeUrl:
    """Parse a ``snowflake://`` URL; raise SnowflakeUrlError naming what is missing or wrong."""
    if not url.startswith(SCHEME):
        raise SnowflakeUrlError("expected a snowflake:// URL")
    parts = urlsplit(url)
    # The netloc is split by hand: urlsplit lower-cases the host and reads ":x" as a port.
    credentials, at, account = parts.netloc.rpartition("@")
    user, colon, password = credentials.partition(":")
    if not at or not user:
        raise SnowflakeUrlError("expected snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE[/SCHEMA]: no USER@")
    if not account:
        raise SnowflakeUrlError("expected snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE[/SCHEMA]: no ACCOUNT")
    path = [unquote(segment) for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise SnowflakeUrlError("expected the path /DATABASE or /DATABASE/SCHEMA after the account")
    options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _INTEGER_ARGS:
            if not value.isdigit():
                raise SnowflakeUrlError(f"query parameter {key} must be a whole number, got {value[:20]!r}")
            options[key] = int(value)
        elif key in _BOOLEAN_ARGS:
            options[key] = value.lower() in _TRUE
        else:
            options[key] = value
    return SnowflakeUrl(
        user=unquote(user),
        password=unquote(password) if colon else None,
        account=unquote(account),
        database=path[0],
        schema=path[1] if len(path) == 2 else None,
        options=options,
    )
