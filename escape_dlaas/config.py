"""Typed, validated configuration of the Rucio instances an admin sets up.

Traitlets hold the raw dicts (``c.DLaaS.instances``); this module turns them into
frozen dataclasses once at start-up, so that a mistake fails early with a message
naming the key (``instances[0].token_sources[1].path: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ConfigurationError

TOKEN_SOURCE_TYPES = ("jupyterhub", "file", "env", "oidc-agent", "wlcg", "userpass")
DEFAULT_DATASET_FOLDER = "data-lake"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class TokenSourceConfig:
    """One place the user's (IAM) token may come from, tried in list order."""

    type: str
    path: Path | None = None  # file
    variable: str | None = None  # env
    account: str | None = None  # oidc-agent account short name
    auth_state_key: str = "access_token"  # jupyterhub: key in auth_state
    username: str | None = None  # userpass
    password_file: Path | None = None  # userpass
    min_valid_seconds: int = 60  # oidc-agent: minimum remaining validity asked for


@dataclass(frozen=True)
class TokenExchangeConfig:
    """RFC 8693 exchange of the user's token for one with the Rucio audience."""

    issuer: str
    client_id: str
    client_secret_file: Path | None = None
    client_secret_env: str | None = None
    audience: str = "rucio"
    scope: str = "openid profile"
    refresh_margin_seconds: int = 60


@dataclass(frozen=True)
class NotebookLocalConfig:
    """The RSE the notebook can read directly, and where its files appear locally."""

    rse: str
    mount_path: Path
    # Leading PFN path components to drop before joining to mount_path (None: the RSE's prefix).
    pfn_prefix: str | None = None
    # Where each DID gets a browsable folder of links, relative to Jupyter's root (None: no folders).
    folder: str | None = DEFAULT_DATASET_FOLDER


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


@dataclass(frozen=True)
class InstanceConfig:
    name: str
    rucio_url: str
    auth_url: str
    display_name: str = ""
    vo: str = "def"
    account: str | None = None
    ca_bundle: Path | None = None
    timeout_seconds: float = 30.0
    token_sources: tuple[TokenSourceConfig, ...] = ()
    token_exchange: TokenExchangeConfig | None = None
    notebook_local: NotebookLocalConfig | None = None
    qos_classes: Mapping[str, str] = field(default_factory=dict)
    default_lifetime_days: float = 7.0
    max_lifetime_days: float = 30.0
    download_cache: Path | None = None
    upload: UploadConfig | None = None  # None: users cannot upload through escape-dlaas
    events: EventsConfig | None = None  # None: the panel polls only

    @property
    def label(self) -> str:
        return self.display_name or self.name


def _url(value: Any, key: str, *, https_only: bool = False) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{key}: a URL is required", field=key)
    parsed = urlparse(value)
    allowed = ("https",) if https_only else ("http", "https")
    if parsed.scheme not in allowed or not parsed.netloc:
        want = "an https:// URL" if https_only else "an http(s):// URL"
        raise ConfigurationError(f"{key}: expected {want}, got {value!r}", field=key)
    return value.rstrip("/") if not https_only else value


def _str(data: Mapping[str, Any], name: str, key: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationError(f"{key}.{name}: expected a non-empty string", field=f"{key}.{name}")
    return value


def _required_str(data: Mapping[str, Any], name: str, key: str) -> str:
    value = _str(data, name, key)
    if value is None:
        raise ConfigurationError(f"{key}.{name}: required", field=f"{key}.{name}")
    return value


def _number(data: Mapping[str, Any], name: str, key: str, default: float, *, minimum: float = 0) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= minimum:
        raise ConfigurationError(
            f"{key}.{name}: expected a number greater than {minimum}, got {value!r}", field=f"{key}.{name}"
        )
    return float(value)


def _path(data: Mapping[str, Any], name: str, key: str) -> Path | None:
    value = _str(data, name, key)
    return Path(value).expanduser() if value else None


def _folder(value: Any, key: str) -> str | None:
    """A folder relative to Jupyter's root, as 'a/b' (no '..', not absolute); false, null or "" for none."""
    if value is None or value is False or value == "":
        return None
    segments = [s for s in value.split("/") if s not in ("", ".")] if isinstance(value, str) else []
    if not isinstance(value, str) or value.startswith("/") or not segments or ".." in segments or "\0" in value:
        raise ConfigurationError(
            f"{key}: expected a folder relative to Jupyter's root such as 'data-lake' (no '..'), "
            f"or false for no folders; got {value!r}",
            field=key,
        )
    return "/".join(segments)


def _check_keys(data: Mapping[str, Any], allowed: set[str], key: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{key}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
            field=f"{key}.{unknown[0]}",
        )


def parse_token_source(data: Any, key: str) -> TokenSourceConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object with a 'type'", field=key)
    kind = data.get("type")
    if kind not in TOKEN_SOURCE_TYPES:
        raise ConfigurationError(
            f"{key}.type: expected one of {', '.join(TOKEN_SOURCE_TYPES)}, got {kind!r}", field=f"{key}.type"
        )
    _check_keys(
        data,
        {"type", "path", "variable", "account", "auth_state_key", "username", "password_file", "min_valid_seconds"},
        key,
    )
    source = TokenSourceConfig(
        type=kind,
        path=_path(data, "path", key),
        variable=_str(data, "variable", key),
        account=_str(data, "account", key),
        auth_state_key=_str(data, "auth_state_key", key, "access_token") or "access_token",
        username=_str(data, "username", key),
        password_file=_path(data, "password_file", key),
        min_valid_seconds=int(_number(data, "min_valid_seconds", key, 60, minimum=-1)),
    )
    needs = {
        "file": ("path",),
        "env": ("variable",),
        "oidc-agent": ("account",),
        "userpass": ("username", "password_file"),
    }
    for name in needs.get(kind, ()):
        if getattr(source, name) is None:
            raise ConfigurationError(f"{key}.{name}: required for a '{kind}' token source", field=f"{key}.{name}")
    return source


def parse_token_exchange(data: Any, key: str) -> TokenExchangeConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object", field=key)
    _check_keys(
        data,
        {
            "issuer",
            "client_id",
            "client_secret_file",
            "client_secret_env",
            "audience",
            "scope",
            "refresh_margin_seconds",
        },
        key,
    )
    config = TokenExchangeConfig(
        issuer=_url(data.get("issuer"), f"{key}.issuer", https_only=True),
        client_id=_required_str(data, "client_id", key),
        client_secret_file=_path(data, "client_secret_file", key),
        client_secret_env=_str(data, "client_secret_env", key),
        audience=_str(data, "audience", key, "rucio") or "rucio",
        scope=_str(data, "scope", key, "openid profile") or "openid profile",
        refresh_margin_seconds=int(_number(data, "refresh_margin_seconds", key, 60, minimum=-1)),
    )
    if config.client_secret_file is None and config.client_secret_env is None:
        raise ConfigurationError(
            f"{key}: set client_secret_file or client_secret_env (the exchanging client's secret)",
            field=f"{key}.client_secret_file",
        )
    return config


def parse_instance(data: Any, key: str) -> InstanceConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object", field=key)
    allowed = {
        "name", "display_name", "rucio_url", "auth_url", "vo", "account", "ca_bundle", "timeout_seconds",
        "token_sources", "token_exchange", "notebook_local", "qos_classes", "default_lifetime_days",
        "max_lifetime_days", "download_cache", "upload", "events",
    }  # fmt: skip
    _check_keys(data, allowed, key)
    name = _required_str(data, "name", key)
    if not _NAME_RE.match(name):
        raise ConfigurationError(
            f"{key}.name: use letters, digits, '.', '_' or '-' (got {name!r})", field=f"{key}.name"
        )
    rucio_url = _url(data.get("rucio_url"), f"{key}.rucio_url")
    auth_url = _url(data.get("auth_url", rucio_url), f"{key}.auth_url")

    sources_raw = data.get("token_sources", [])
    if not isinstance(sources_raw, list) or not sources_raw:
        raise ConfigurationError(f"{key}.token_sources: list at least one token source", field=f"{key}.token_sources")
    sources = tuple(parse_token_source(item, f"{key}.token_sources[{i}]") for i, item in enumerate(sources_raw))

    exchange_raw = data.get("token_exchange")
    exchange = parse_token_exchange(exchange_raw, f"{key}.token_exchange") if exchange_raw is not None else None

    local_raw = data.get("notebook_local")
    local = None
    if local_raw is not None:
        lkey = f"{key}.notebook_local"
        if not isinstance(local_raw, Mapping):
            raise ConfigurationError(f"{lkey}: expected an object with 'rse' and 'mount_path'", field=lkey)
        _check_keys(local_raw, {"rse", "mount_path", "pfn_prefix", "folder"}, lkey)
        mount = _path(local_raw, "mount_path", lkey)
        if mount is None:
            raise ConfigurationError(f"{lkey}.mount_path: required", field=f"{lkey}.mount_path")
        local = NotebookLocalConfig(
            rse=_required_str(local_raw, "rse", lkey),
            mount_path=mount,
            pfn_prefix=_str(local_raw, "pfn_prefix", lkey),
            folder=_folder(local_raw.get("folder", DEFAULT_DATASET_FOLDER), f"{lkey}.folder"),
        )

    qos_raw = data.get("qos_classes", {})
    if not isinstance(qos_raw, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in qos_raw.items()
    ):
        raise ConfigurationError(
            f"{key}.qos_classes: expected an object mapping a class name to an RSE expression",
            field=f"{key}.qos_classes",
        )

    default_days = _number(data, "default_lifetime_days", key, 7)
    max_days = _number(data, "max_lifetime_days", key, 30)
    if default_days > max_days:
        raise ConfigurationError(
            f"{key}.default_lifetime_days: {default_days} exceeds max_lifetime_days {max_days}",
            field=f"{key}.default_lifetime_days",
        )
    return InstanceConfig(
        name=name,
        display_name=_str(data, "display_name", key) or "",
        rucio_url=rucio_url,
        auth_url=auth_url,
        vo=_str(data, "vo", key, "def") or "def",
        account=_str(data, "account", key),
        ca_bundle=_path(data, "ca_bundle", key),
        timeout_seconds=_number(data, "timeout_seconds", key, 30),
        token_sources=sources,
        token_exchange=exchange,
        notebook_local=local,
        qos_classes=dict(qos_raw),
        default_lifetime_days=default_days,
        max_lifetime_days=max_days,
        download_cache=_path(data, "download_cache", key),
        upload=parse_upload(data["upload"], f"{key}.upload") if data.get("upload") is not None else None,
        events=parse_events(data["events"], f"{key}.events") if data.get("events") is not None else None,
    )


def parse_events(data: Any, key: str) -> EventsConfig:
    """``events``: ``brokers`` as "host:port", the destination, credentials from a file, TLS."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object with 'brokers'", field=key)
    _check_keys(
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
        destination=_str(data, "destination", key, "/topic/rucio.events") or "/topic/rucio.events",
        virtual_host=_str(data, "virtual_host", key),
        username=_str(data, "username", key),
        password_file=_path(data, "password_file", key),
        use_ssl=use_ssl,
        ca_bundle=_path(data, "ca_bundle", key),
        cert_file=_path(data, "cert_file", key),
        key_file=_path(data, "key_file", key),
        heartbeat_seconds=_number(data, "heartbeat_seconds", key, 10),
        reconnect_max_seconds=_number(data, "reconnect_max_seconds", key, 10),
    )
    if (config.password_file is None) != (config.username is None):
        raise ConfigurationError(
            f"{key}: set both username and password_file, or neither (a broker that takes a client certificate)",
            field=f"{key}.password_file",
        )
    if (config.cert_file is None) != (config.key_file is None):
        raise ConfigurationError(f"{key}: set both cert_file and key_file, or neither", field=f"{key}.key_file")
    return config


def parse_upload(data: Any, key: str) -> UploadConfig:
    """``upload``: ``targets`` (id -> RSE expression, the first is the default), lifetimes, ``max_files``."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object with 'targets'", field=key)
    _check_keys(data, {"targets", "default_lifetime_days", "max_lifetime_days", "max_files"}, key)
    targets = data.get("targets")
    if (
        not isinstance(targets, Mapping)
        or not targets
        or not all(isinstance(k, str) and _NAME_RE.match(k) and isinstance(v, str) and v for k, v in targets.items())
    ):
        raise ConfigurationError(
            f"{key}.targets: expected an object mapping a target id (letters, digits, '.', '_', '-') to the "
            'RSE expression of user-writable storage, e.g. {"USERDISK": "SITE_USERDISK"}',
            field=f"{key}.targets",
        )
    default_days = _number(data, "default_lifetime_days", key, 30)
    max_days = _number(data, "max_lifetime_days", key, 365)
    if default_days > max_days:
        raise ConfigurationError(
            f"{key}.default_lifetime_days: {default_days} exceeds max_lifetime_days {max_days}",
            field=f"{key}.default_lifetime_days",
        )
    max_files = data.get("max_files", 1000)
    if isinstance(max_files, bool) or not isinstance(max_files, int) or max_files < 1:
        raise ConfigurationError(f"{key}.max_files: expected a whole number of at least 1", field=f"{key}.max_files")
    return UploadConfig(dict(targets), default_days, max_days, max_files)


def parse_instances(raw: Any, default_instance: str | None = None) -> tuple[tuple[InstanceConfig, ...], str | None]:
    """Validate ``c.DLaaS.instances``; return the instances and the default's name."""
    if not isinstance(raw, (list, tuple)):
        raise ConfigurationError("instances: expected a list of instance objects", field="instances")
    instances = tuple(parse_instance(item, f"instances[{i}]") for i, item in enumerate(raw))
    names = [i.name for i in instances]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"instances: duplicate name(s) {', '.join(duplicates)}", field="instances")
    instances = _own_dataset_folders(instances, raw)
    if default_instance:
        if default_instance not in names:
            raise ConfigurationError(
                f"default_instance: {default_instance!r} is not one of the configured instances ({', '.join(names) or 'none'})",
                field="default_instance",
            )
        return instances, default_instance
    return instances, (names[0] if names else None)


def _own_dataset_folders(instances: tuple[InstanceConfig, ...], raw: Any) -> tuple[InstanceConfig, ...]:
    """Give each instance with notebook storage a dataset folder of its own.

    With several such instances, those that did not choose a folder get
    ``data-lake/<instance name>``; folders chosen so that one lies in another are refused
    (keeping one instance's links in sync would remove the other's).
    """
    out = list(instances)
    with_folders = [i for i, c in enumerate(instances) if c.notebook_local and c.notebook_local.folder]
    for i in with_folders if len(with_folders) > 1 else []:
        local = instances[i].notebook_local
        if local is not None and "folder" not in raw[i]["notebook_local"]:
            folder = f"{DEFAULT_DATASET_FOLDER}/{instances[i].name}"
            out[i] = replace(instances[i], notebook_local=replace(local, folder=folder))
    folders = {i: f"{local.folder}/" for i in with_folders if (local := out[i].notebook_local) and local.folder}
    for i, folder in folders.items():
        for j, other in folders.items():
            if i != j and other.startswith(folder):
                key = f"instances[{j}].notebook_local.folder"
                raise ConfigurationError(
                    f"{key}: {other[:-1]!r} lies in the folder of instances[{i}] ({folder[:-1]!r}); "
                    "give each instance a folder of its own",
                    field=key,
                )
    return tuple(out)


# -- ESAP (the ESCAPE science platform) basket ---------------------------------------------------

ESAP_AUTH_MODES = ("iam-token", "rucio-token", "none")
DEFAULT_BASKET_ENV = "ESCAPE_DLAAS_BASKET"


@dataclass(frozen=True)
class EsapConfig:
    """Where a user's ESAP basket comes from (``c.DLaaS.esap``); ``enabled`` False: no basket at all.

    A basket handed over at launch (``basket_file``, ``basket_url``, or the variable
    ``basket_env`` naming a file or URL) wins over the ESAP API (``api_url``).
    """

    enabled: bool = False
    api_url: str | None = None  # the ESAP API gateway's root, e.g. https://esap.example.org/esap-api
    # The bearer token sent to ESAP: the user's IAM token as the instance's token sources hold it,
    # the token exchanged for Rucio (what ESAP's own shopping client sends in the ESCAPE VRE), or none.
    auth: str = "iam-token"
    instance: str | None = None  # whose tokens and Rucio (None: the default instance)
    basket_file: Path | None = None
    basket_url: str | None = None
    basket_env: str | None = DEFAULT_BASKET_ENV
    ca_bundle: Path | None = None
    timeout_seconds: float = 10.0


def parse_esap(raw: Any, key: str = "esap") -> EsapConfig:
    """Validate ``c.DLaaS.esap``; an empty object (the default) means off."""
    if raw is None or raw == {}:
        return EsapConfig()
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{key}: expected an object (see docs/configuration.md)", field=key)
    _check_keys(
        raw,
        {"enabled", "api_url", "auth", "instance", "basket_file", "basket_url", "basket_env", "ca_bundle",
         "timeout_seconds"},
        key,
    )  # fmt: skip
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigurationError(f"{key}.enabled: expected true or false, got {enabled!r}", field=f"{key}.enabled")
    auth = raw.get("auth", "iam-token")
    if auth not in ESAP_AUTH_MODES:
        raise ConfigurationError(
            f"{key}.auth: expected one of {', '.join(ESAP_AUTH_MODES)}, got {auth!r}", field=f"{key}.auth"
        )
    api_url = _url(raw["api_url"], f"{key}.api_url") if raw.get("api_url") is not None else None
    basket_url = _url(raw["basket_url"], f"{key}.basket_url") if raw.get("basket_url") is not None else None
    basket_env = raw.get("basket_env", DEFAULT_BASKET_ENV)
    if basket_env is not None and (not isinstance(basket_env, str) or not basket_env):
        raise ConfigurationError(
            f"{key}.basket_env: expected a variable name, or null for none", field=f"{key}.basket_env"
        )
    config = EsapConfig(
        enabled=enabled,
        api_url=api_url,
        auth=auth,
        instance=_str(raw, "instance", key),
        basket_file=_path(raw, "basket_file", key),
        basket_url=basket_url,
        basket_env=basket_env,
        ca_bundle=_path(raw, "ca_bundle", key),
        timeout_seconds=_number(raw, "timeout_seconds", key, 10),
    )
    if enabled and not (config.api_url or config.basket_file or config.basket_url or config.basket_env):
        raise ConfigurationError(
            f"{key}: say where the basket comes from: api_url, basket_file, basket_url or basket_env",
            field=f"{key}.api_url",
        )
    return config
