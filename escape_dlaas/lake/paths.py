"""Where everything of a local lake lives, and Rucio's deterministic file layout.

All state sits under one directory (``LakePaths.root``). One exception, forced by
PostgreSQL: when the lake runs as root, the server runs as an unprivileged user that
may be unable to reach the state directory (``/root`` is 0700); its data directory
then lives under ``/var/lib/escape-dlaas/postgres/<hash of the state dir>`` and
``DIR/postgres/data`` is a symlink to it. ``reset`` removes both.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

ENV_STATE_DIR = "ESCAPE_DLAAS_LAKE_DIR"
ENV_VENV = "ESCAPE_DLAAS_LAKE_VENV"
MARKER = ".escape-dlaas-lake"
RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"


def default_state_dir() -> Path:
    """``$ESCAPE_DLAAS_LAKE_DIR``, else ``$XDG_DATA_HOME/escape-dlaas/lake`` (``~/.local/share/...``)."""
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR]).expanduser().resolve()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(data_home).expanduser() / "escape-dlaas" / "lake").resolve()


def default_venv_dir() -> Path:
    """``$ESCAPE_DLAAS_LAKE_VENV``, else ``$XDG_CACHE_HOME/escape-dlaas/lake-venv`` (``~/.cache/...``)."""
    if os.environ.get(ENV_VENV):
        return Path(os.environ[ENV_VENV]).expanduser().resolve()
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(cache_home).expanduser() / "escape-dlaas" / "lake-venv").resolve()


@dataclass(frozen=True)
class LakePaths:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def lake_json(self) -> Path:
        return self.root / "lake.json"

    @property
    def runtime_json(self) -> Path:
        return self.root / "config" / "runtime.json"

    @property
    def jupyter_dir(self) -> Path:
        return self.root / "jupyter"

    @property
    def jupyter_config(self) -> Path:
        return self.jupyter_dir / "jupyter_server_config.json"

    @property
    def tokens_dir(self) -> Path:
        return self.root / "tokens"

    def token_file(self, user: str) -> Path:
        return self.tokens_dir / f"{user}.token"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    def secret(self, name: str) -> Path:
        return self.secrets_dir / name

    def password_file(self, user: str) -> Path:
        return self.secrets_dir / "users" / f"{user}.password"

    @property
    def rucio_etc(self) -> Path:
        return self.root / "rucio" / "etc"

    @property
    def rucio_cfg(self) -> Path:
        return self.rucio_etc / "rucio.cfg"

    @property
    def postgres_link(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def rses_dir(self) -> Path:
        return self.root / "rses"

    def rse_dir(self, rse: str) -> Path:
        return self.rses_dir / rse.lower()

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def log(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    def pid_record(self, component: str) -> Path:
        return self.run_dir / f"{component}.json"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def initialised(self) -> Path:
        return self.state_dir / "initialised.json"

    @property
    def seed_json(self) -> Path:
        return self.state_dir / "seed.json"

    def external_postgres_dir(self) -> Path:
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path("/var/lib/escape-dlaas/postgres") / digest


def hash_lfn2pfn_path(scope: str, name: str) -> str:
    """Rucio's ``hash`` lfn2pfn path of a file: ``scope/ab/cd/name``, from md5("scope:name").

    ``user.x`` and ``group.x`` scopes become ``user/x`` directories, as in Rucio.
    """
    digest = hashlib.md5(f"{scope}:{name}".encode()).hexdigest()  # noqa: S324 - Rucio's layout, not security
    directory = scope.replace(".", "/") if scope.startswith(("user", "group")) else scope
    return f"{directory}/{digest[0:2]}/{digest[2:4]}/{name}"


def local_replica_path(rse_root: Path, scope: str, name: str) -> Path:
    """Where a replica of ``scope:name`` lies on a deterministic POSIX RSE rooted at ``rse_root``."""
    return rse_root / hash_lfn2pfn_path(scope, name)
