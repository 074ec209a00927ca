"""What an instance offers beyond search and rules: uploads (``upload``) and live events from a broker (``events``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .checks import NAME_RE, check_keys, number, optional_path, optional_str


@dataclass(frozen=True)
class UploadConfig:
    """Where users may upload (``upload`` of an instance): target id -> RSE expression, and rule lifetimes."""

    targets: Mapping[str, str] = field(default_factory=dict)
    default_lifetime_days: float = 30.0
    max_lifetime_days: float = 365.0
    max_files: int = 1000  # files per upload

    @property
    def default_target(self) -> str | None:
        return next(iter(self.targets), None)


@dataclass(frozen=True)
class EventsConfig:
    """A STOMP broker carrying Rucio's messages (hermes), for live state in the panel (``events``)."""

    brokers: tuple[tuple[str, int], ...]
    destination: str = "/topic/rucio.events"
    virtual_host: str | None = None  # RabbitMQ reads STOMP's host header as a vhost: "/" there
    username: str | None = None
    password_file: Path | None = None  # readable by the server only
    use_ssl: bool = False
    ca_bundle: Path | None = None
    cert_file: Path | None = None  # client certificate, for brokers that authenticate by certificate
    key_file: Path | None = None
    heartbeat_seconds: float = 10.0
    reconnect_max_seconds: float = 10.0  # longest pause between two attempts to reach a broker


def parse_upload(data: Any, key: str) -> UploadConfig:
    """``upload``: ``targets`` (id -> RSE expression, the first is the default), lifetimes, ``max_files``."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object with 'targets'", field=key)
    check_keys(data, {"targets", "default_lifetime_days", "max_lifetime_days", "max_files"}, key)
    targets = data.get("targets")
    if (
        not isinstance(targets, Mapping)
        or not targets
        or not all(isinstance(k, str) and NAME_RE.match(k) and isinstance(v, str) and v for k, v in targets.items())
    ):
        raise ConfigurationError(
            f"{key}.targets: expected an object mapping a target id (letters, digits, '.', '_', '-') to the "
            'RSE expression of user-writable storage, e.g. {"USERDISK": "SITE_USERDISK"}',
            field=f"{key}.targets",
        )
    default_days = number(data, "default_lifetime_days", key, 30)
    max_days = number(data, "max_lifetime_days", key, 365)
    if default_days > max_days:
        raise ConfigurationError(
            f"{key}.default_lifetime_days: {default_days} exceeds max_lifetime_days {max_days}",
            field=f"{key}.default_lifetime_days",
        )
    max_files = data.get("max_files", 1000)
    if isinstance(max_files, bool) or not isinstance(max_files, int) or max_files < 1:
        raise ConfigurationError(f"{key}.max_files: expected a whole number of at least 1", field=f"{key}.max_files")
    return UploadConfig(dict(targets), default_days, max_days, max_files)


def parse_events(data: Any, key: str) -> EventsConfig:
    """``events``: ``brokers`` as "host:port", the destination, credentials from a file, TLS."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object with 'brokers'", field=key)
    check_keys(
        data,
        {
            "brokers", "destination", "virtual_host", "username", "password_file", "use_ssl", "ca_bundle",
            "cert_file", "key_file", "heartbeat_seconds", "reconnect_max_seconds",
        },
        key,
    )  # fmt: skip
    raw = data.get("brokers")
    if not isinstance(raw, list) or not raw:
        raise ConfigurationError(f'{key}.brokers: list at least one broker as "host:port"', field=f"{key}.brokers")
    brokers = []
    for i, item in enumerate(raw):
        host, _, port = item.rpartition(":") if isinstance(item, str) else ("", "", "")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(
                f'{key}.brokers[{i}]: expected "host:port", e.g. "broker.example.org:61613"; got {item!r}',
                field=f"{key}.brokers[{i}]",
            )
        brokers.append((host.strip("[]"), int(port)))
    use_ssl = data.get("use_ssl", False)
    if not isinstance(use_ssl, bool):
        raise ConfigurationError(f"{key}.use_ssl: expected true or false", field=f"{key}.use_ssl")
    config = EventsConfig(
        brokers=tuple(brokers),
        destination=optional_str(data, "destination", key, "/topic/rucio.events") or "/topic/rucio.events",
        virtual_host=optional_str(data, "virtual_host", key),
        username=optional_str(data, "username", key),
        password_file=optional_path(data, "password_file", key),
        use_ssl=use_ssl,
        ca_bundle=optional_path(data, "ca_bundle", key),
        cert_file=optional_path(data, "cert_file", key),
        key_file=optional_path(data, "key_file", key),
        heartbeat_seconds=number(data, "heartbeat_seconds", key, 10),
        reconnect_max_seconds=number(data, "reconnect_max_seconds", key, 10),
    )
    if (config.password_file is None) != (config.username is None):
        raise ConfigurationError(
            f"{key}: set both username and password_file, or neither (a broker that takes a client certificate)",
            field=f"{key}.password_file",
        )
    if (config.cert_file is None) != (config.key_file is None):
        raise ConfigurationError(f"{key}: set both cert_file and key_file, or neither", field=f"{key}.key_file")
    return config
