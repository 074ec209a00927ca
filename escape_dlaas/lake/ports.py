"""The lake's TCP ports: defaults, configuration from flags and environment, and checks."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

HOST = "127.0.0.1"  # every lake component binds here only


@dataclass(frozen=True)
class Ports:
    rucio: int = 18080
    issuer: int = 18443
    postgres: int = 15432
    memcached: int = 21211

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def replace(self, **changes: int | None) -> Ports:
        values = self.as_dict()
        values.update({k: v for k, v in changes.items() if v is not None})
        return Ports(**values)


PORT_NAMES = tuple(f.name for f in fields(Ports))


def env_var(name: str) -> str:
    """``ESCAPE_DLAAS_LAKE_<NAME>_PORT``."""
    return f"ESCAPE_DLAAS_LAKE_{name.upper()}_PORT"


def flag(name: str) -> str:
    return f"--{name}-port"


def parse_port(value: str | int, source: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: expected a port number, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{source}: port {port} is outside 1-65535")
    return port


def resolve_ports(
    flags: Mapping[str, int | None], environ: Mapping[str, str], recorded: Mapping[str, int] | None
) -> Ports:
    """Flags win over the environment, which wins over the ports recorded by a previous ``up``, then defaults."""
    values = Ports().as_dict()
    for name in PORT_NAMES:
        if recorded and isinstance(recorded.get(name), int):
            values[name] = int(recorded[name])
        if environ.get(env_var(name)):
            values[name] = parse_port(environ[env_var(name)], env_var(name))
        if flags.get(name) is not None:
            values[name] = parse_port(flags[name], flag(name))  # type: ignore[arg-type]
    duplicates = sorted({p for p in values.values() if list(values.values()).count(p) > 1})
    if duplicates:
        clash = ", ".join(f"{n}={p}" for n, p in values.items() if p in duplicates)
        raise ValueError(f"two lake components would share a port ({clash}); give each its own")
    return Ports(**values)


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something already listens on host:port (we cannot bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def accepts_connections(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_ports(count: int, host: str = HOST) -> list[int]:
    """Distinct ports the kernel reports free right now (for tests: no clash with a demo lake)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()
