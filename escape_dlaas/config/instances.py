"""The Rucio instances (``c.DLaaS.instances``): each one's server, sign-in, notebook storage and limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .checks import NAME_RE, check_keys, checked_url, number, optional_path, optional_str, relative_folder, required_str
from .services import EventsConfig, UploadConfig, parse_events, parse_upload
from .tokens import TokenExchangeConfig, TokenSourceConfig, parse_token_exchange, parse_token_source

DEFAULT_DATASET_FOLDER = "data-lake"


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


def parse_instance(data: Any, key: str) -> InstanceConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object", field=key)
    allowed = {
        "name", "display_name", "rucio_url", "auth_url", "vo", "account", "ca_bundle", "timeout_seconds",
        "token_sources", "token_exchange", "notebook_local", "qos_classes", "default_lifetime_days",
        "max_lifetime_days", "download_cache", "upload", "events",
    }  # fmt: skip
    check_keys(data, allowed, key)
    name = required_str(data, "name", key)
    if not NAME_RE.match(name):
        raise ConfigurationError(
            f"{key}.name: use letters, digits, '.', '_' or '-' (got {name!r})", field=f"{key}.name"
        )
    rucio_url = checked_url(data.get("rucio_url"), f"{key}.rucio_url")
    auth_url = checked_url(data.get("auth_url", rucio_url), f"{key}.auth_url")

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
        check_keys(local_raw, {"rse", "mount_path", "pfn_prefix", "folder"}, lkey)
        mount = optional_path(local_raw, "mount_path", lkey)
        if mount is None:
            raise ConfigurationError(f"{lkey}.mount_path: required", field=f"{lkey}.mount_path")
        local = NotebookLocalConfig(
            rse=required_str(local_raw, "rse", lkey),
            mount_path=mount,
            pfn_prefix=optional_str(local_raw, "pfn_prefix", lkey),
            folder=relative_folder(local_raw.get("folder", DEFAULT_DATASET_FOLDER), f"{lkey}.folder"),
        )

    qos_raw = data.get("qos_classes", {})
    if not isinstance(qos_raw, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in qos_raw.items()
    ):
        raise ConfigurationError(
            f"{key}.qos_classes: expected an object mapping a class name to an RSE expression",
            field=f"{key}.qos_classes",
        )

    default_days = number(data, "default_lifetime_days", key, 7)
    max_days = number(data, "max_lifetime_days", key, 30)
    if default_days > max_days:
        raise ConfigurationError(
            f"{key}.default_lifetime_days: {default_days} exceeds max_lifetime_days {max_days}",
            field=f"{key}.default_lifetime_days",
        )
    return InstanceConfig(
        name=name,
        display_name=optional_str(data, "display_name", key) or "",
        rucio_url=rucio_url,
        auth_url=auth_url,
        vo=optional_str(data, "vo", key, "def") or "def",
        account=optional_str(data, "account", key),
        ca_bundle=optional_path(data, "ca_bundle", key),
        timeout_seconds=number(data, "timeout_seconds", key, 30),
        token_sources=sources,
        token_exchange=exchange,
        notebook_local=local,
        qos_classes=dict(qos_raw),
        default_lifetime_days=default_days,
        max_lifetime_days=max_days,
        download_cache=optional_path(data, "download_cache", key),
        upload=parse_upload(data["upload"], f"{key}.upload") if data.get("upload") is not None else None,
        events=parse_events(data["events"], f"{key}.events") if data.get("events") is not None else None,
    )


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
