"""The lake's optional event stream: a STOMP broker (RabbitMQ) fed by Rucio's hermes daemon.

``escape-dlaas lake up --events`` adds two components to the lake:

=========  ==============================================================================
broker     Debian's RabbitMQ with its STOMP plugin, as a private instance of this lake:
           its own Erlang port mapper, node, database and configuration under
           ``DIR/events``, STOMP on 127.0.0.1 only, one user whose password is
           ``DIR/secrets/broker.password``; AMQP and the management UI are off.
hermes     Rucio's messaging daemon (``rucio-hermes``), sending the rows Rucio writes
           to its ``messages`` table (rule OK/progress, dataset locks, transfers) to the
           broker's topic ``/topic/rucio.events`` about once a second.
=========  ==============================================================================

RabbitMQ was chosen over ActiveMQ (also packaged by Debian) because it starts in about
5 s with 150 MB of memory and needs only Erlang, where ActiveMQ needs a JVM and its
libraries. The choice (``--events`` / ``--no-events``) is remembered in
``DIR/events/broker.json`` with the ports picked for this lake, so ``up`` without the
flag keeps it. The extension's instance in ``DIR/jupyter`` gets an ``events`` block
pointing at the broker when the events are on.
"""

from __future__ import annotations

import configparser
import io
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import LakeError
from .paths import LakePaths
from .ports import HOST, free_ports, port_in_use

COMPONENTS = ("broker", "hermes")
USERNAME = "dlaas-events"
PASSWORD_SECRET = "broker.password"
DESTINATION = "/topic/rucio.events"
VHOST = "/"
NODE = "escape-lake@localhost"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
HERMES_SLEEP_SECONDS = 1  # the daemon's cycle: how long a message may wait in Rucio's table
INSTALL_FIX = (
    "apt-get install -y --no-install-recommends rabbitmq-server (scripts/test.sh does it), "
    "or start the lake without --events"
)


@dataclass(frozen=True)
class BrokerSettings:
    """What ``DIR/events/broker.json`` remembers: on or off, and this lake's broker ports."""

    enabled: bool = False
    stomp_port: int = 0
    dist_port: int = 0  # Erlang distribution (rabbitmqctl); 127.0.0.1 only
    epmd_port: int = 0  # this lake's own Erlang port mapper

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.stomp_port, self.dist_port, self.epmd_port)


def settings_file(paths: LakePaths) -> Path:
    return paths.root / "events" / "broker.json"


def load_settings(paths: LakePaths) -> BrokerSettings:
    try:
        data = json.loads(settings_file(paths).read_text(encoding="utf-8"))
        return BrokerSettings(
            enabled=bool(data["enabled"]),
            stomp_port=int(data["stomp_port"]),
            dist_port=int(data["dist_port"]),
            epmd_port=int(data["epmd_port"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return BrokerSettings()


def save_settings(paths: LakePaths, settings: BrokerSettings) -> None:
    path = settings_file(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def resolve(paths: LakePaths, explicit: bool | None, broker_running: bool) -> BrokerSettings:
    """--events/--no-events, else the recorded choice; ports kept unless another program took one."""
    recorded = load_settings(paths)
    enabled = recorded.enabled if explicit is None else explicit
    ports = recorded.ports
    if enabled and (0 in ports or (not broker_running and any(port_in_use(p) for p in ports))):
        ports = tuple(free_ports(3))  # type: ignore[assignment]
    return BrokerSettings(enabled, *ports)


def check_installed() -> None:
    if not Path(RABBITMQ_SERVER).exists() or not shutil.which("epmd"):
        raise LakeError("RabbitMQ is not installed (the lake's event broker)", fix=INSTALL_FIX, component="broker")


def ensure_password(paths: LakePaths) -> str:
    path = paths.secret(PASSWORD_SECRET)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text(encoding="utf-8").strip()


def rabbitmq_conf(settings: BrokerSettings, password: str) -> str:
    """RabbitMQ's configuration (contains the password: written 0600). The user exists from the first boot."""
    return "\n".join(
        [
            "listeners.tcp = none",  # no AMQP: STOMP only
            f"stomp.listeners.tcp.1 = {HOST}:{settings.stomp_port}",
            f"default_user = {USERNAME}",
            f"default_pass = {password}",
            "default_permissions.configure = .*",
            "default_permissions.read = .*",
            "default_permissions.write = .*",
            "log.console = true",
            "log.console.level = warning",
            "log.file = false",
            "",
        ]
    )


def write_configs(paths: LakePaths, settings: BrokerSettings) -> None:
    home = paths.root / "events"
    (home / "mnesia").mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # the Erlang cookie and the broker's database live here
    conf = home / "rabbitmq.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(rabbitmq_conf(settings, ensure_password(paths)))
    (home / "enabled_plugins").write_text("[rabbitmq_stomp].\n", encoding="utf-8")


def rucio_cfg_sections(paths: LakePaths, settings: BrokerSettings) -> str:
    """``[hermes]`` and ``[messaging-hermes]`` for rucio.cfg: deliver to this lake's broker over plain STOMP."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.optionxform = str  # type: ignore[assignment,method-assign]
    cfg["hermes"] = {"services_list": "activemq"}
    cfg["messaging-hermes"] = {
        "brokers": HOST,
        "port": str(settings.stomp_port),
        "nonssl_port": str(settings.stomp_port),
        "use_ssl": "False",
        # STOMP 1.2 clients send the broker's host name as ``host``, which RabbitMQ reads as a vhost.
        "broker_virtual_host": VHOST,
        "username": USERNAME,
        "password": paths.secret(PASSWORD_SECRET).read_text(encoding="utf-8").strip(),
        "destination": DESTINATION,
    }
    out = io.StringIO()
    cfg.write(out)
    return out.getvalue()


def command(name: str, paths: LakePaths, settings: BrokerSettings, venv_bin: Path) -> list[str]:
    """The broker's or hermes' command line; the broker's environment is passed through ``env``."""
    if name == "hermes":
        return [str(venv_bin / "rucio-hermes"), "--sleep-time", str(HERMES_SLEEP_SECONDS)]
    home = paths.root / "events"
    env = {
        "HOME": str(home),  # the Erlang cookie
        "ERL_EPMD_ADDRESS": HOST,
        "ERL_EPMD_PORT": str(settings.epmd_port),
        "RABBITMQ_NODENAME": NODE,
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_DIST_PORT": str(settings.dist_port),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(home / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(paths.logs_dir),
        "RABBITMQ_PID_FILE": str(paths.run_dir / "broker.pid"),
    }
    # The port mapper runs in the broker's process group (not as a detached daemon), so that
    # stopping the broker stops it too.
    script = f'epmd -port "$ERL_EPMD_PORT" & exec {RABBITMQ_SERVER}'
    return ["/usr/bin/env", *(f"{key}={value}" for key, value in env.items()), "sh", "-c", script]


def instance_events(paths: LakePaths, settings: BrokerSettings) -> dict[str, Any]:
    """The ``events`` block of the extension's instance for this lake (docs/configuration.md)."""
    return {
        "brokers": [f"{HOST}:{settings.stomp_port}"],
        "destination": DESTINATION,
        "virtual_host": VHOST,
        "username": USERNAME,
        "password_file": str(paths.secret(PASSWORD_SECRET)),
        "use_ssl": False,
    }


def lake_json_entry(paths: LakePaths, settings: BrokerSettings) -> Mapping[str, Any]:
    return {
        "enabled": settings.enabled,
        "stomp_url": f"stomp://{HOST}:{settings.stomp_port}" if settings.enabled else None,
        "destination": DESTINATION,
        "username": USERNAME,
        "password_file": str(paths.secret(PASSWORD_SECRET)),
    }
