"""A real JupyterHub in front of the local lake, for the demo and the tests.

JupyterHub (PyPI) with configurable-http-proxy (npm), oauthenticator's
``GenericOAuthenticator`` signing users in at the lake's issuer (authorization-code
flow, ``offline_access`` for a refresh token), ``enable_auth_state``, the hub renewing
the user's access token before it expires (:func:`escape_dlaas.auth.hub_refresh.refresh_ahead`),
and single-user servers (``jupyterhub-singleuser``, JupyterLab with escape-dlaas) whose
only token source is ``jupyterhub``. Their role may read their own user's auth state
and nothing else (``admin:auth_state!user``).

Everything binds 127.0.0.1. Files live in ``DIR/hub/`` of the lake's state directory:
``jupyterhub_config.py`` (two lines: it calls :func:`configure_hub` with ``settings.json``),
the hub's database and cookie secret, ``jupyter/`` (the single-user servers'
``JUPYTER_CONFIG_PATH``), ``home/<user>``, ``hub.log``, and ``secrets/`` (0700) with the
API token of the ``lake-admin`` service that tests and scripts use.

    hub = LakeHub(load_lake_info(DIR))
    hub.start()            # returns once the hub answers; hub.url is where to log in
    ...
    hub.stop()             # the hub stops its users' servers; whatever is left is killed
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .configs import CLIENT_HUB, HUB_SCOPE, INSTANCE_NAME
from .errors import LakeError
from .info import LakeInfo
from .ports import HOST, free_ports, port_in_use
from .procs import ProcessRecord, process_alive, spawn, terminate

ADMIN_SERVICE = "lake-admin"
# The single-user server may read its own user's model and auth state, nothing more. A token
# never has more than its owner, so users need their own auth state too (and no one else's).
SERVER_ROLE_SCOPES = ("users:activity!user", "access:servers!server", "read:users:name!user", "admin:auth_state!user")
USER_ROLE_SCOPES = ("self", "admin:auth_state!user")
ADMIN_SERVICE_SCOPES = ("admin:users", "admin:servers", "admin:auth_state", "tokens", "read:users", "access:servers")
DEFAULT_HUB_PORT = 8000


def refresh_settings(token_lifetime: int) -> tuple[int, int]:
    """``(auth_refresh_age, refresh margin)`` in seconds for tokens of that lifetime.

    The hub looks at the token at most every ``auth_refresh_age`` seconds and renews it with
    less than the margin left, so a server reading ``auth_state`` always gets a token with at
    least ``margin - auth_refresh_age`` seconds to live (20 s for 60 s tokens).
    """
    margin = max(10, min(300, token_lifetime // 2))
    return max(2, min(60, margin // 3)), margin


def chp_command() -> str | None:
    """configurable-http-proxy: next to this Python (scripts/test.sh installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "configurable-http-proxy"
    return str(beside) if beside.exists() else shutil.which("configurable-http-proxy")


@dataclass(frozen=True)
class HubPorts:
    public: int  # the proxy: where users log in
    hub: int  # the hub's own API, behind the proxy
    proxy_api: int


class LakeHub:
    """JupyterHub for one lake: configure, start, stop."""

    def __init__(self, info: LakeInfo, *, port: int | None = None, state_dir: Path | None = None):
        self.info = info
        self.root = (state_dir or info.state_dir / "hub").resolve()
        public, hub, proxy_api = free_ports(3)
        self.ports = HubPorts(public=port or public, hub=hub, proxy_api=proxy_api)
        self._record: ProcessRecord | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.ports.public}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/hub/api"

    @property
    def log_path(self) -> Path:
        return self.root / "hub.log"

    @property
    def admin_token_file(self) -> Path:
        return self.root / "secrets" / f"{ADMIN_SERVICE}.token"

    def admin_token(self) -> str:
        return self.admin_token_file.read_text(encoding="utf-8")

    # -- configuration ---------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """What :func:`configure_hub` needs; paths to secrets, never a secret itself."""
        issuer = self.info.issuer
        client = issuer.clients["jupyterhub"]
        refresh_age, margin = refresh_settings(issuer.token_lifetime_seconds)
        base = issuer.url.rstrip("/")
        return {
            "ports": {"public": self.ports.public, "hub": self.ports.hub, "proxy_api": self.ports.proxy_api},
            "root": str(self.root),
            "issuer": {
                "authorize_url": f"{base}/authorize",
                "token_url": issuer.token_endpoint,
                "userdata_url": f"{base}/userinfo",
                "ca_bundle": str(issuer.ca_bundle),
                "client_id": client.client_id,
                "client_secret_file": str(client.secret_file),
                "scope": HUB_SCOPE.split(),
            },
            "allowed_users": sorted(u.name for u in self.info.users),
            "auth_refresh_age": refresh_age,
            "refresh_margin": margin,
            "admin_token_file": str(self.admin_token_file),
            "singleuser_config_path": str(self.root / "jupyter"),
            "python_bin": str(Path(sys.executable).parent),
            "chp": chp_command(),
        }

    def write_config(self) -> Path:
        """Write the hub's and the single-user servers' configuration; returns jupyterhub_config.py."""
        if CLIENT_HUB not in {c.client_id for c in self.info.issuer.clients.values()}:
            raise LakeError("this lake's issuer has no 'jupyterhub' client")
        for directory in (self.root, self.root / "home", self.root / "jupyter"):
            directory.mkdir(parents=True, exist_ok=True)
        secrets_dir = self.root / "secrets"
        secrets_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(secrets_dir, 0o700)
        if not self.admin_token_file.exists():
            _write_private(self.admin_token_file, secrets.token_hex(32))
        _write_private(self.root / "cookie_secret", secrets.token_hex(32))
        (self.root / "settings.json").write_text(json.dumps(self.settings(), indent=2), encoding="utf-8")
        (self.root / "jupyter" / "jupyter_server_config.json").write_text(
            json.dumps(singleuser_server_config(self.info), indent=2), encoding="utf-8"
        )
        config = self.root / "jupyterhub_config.py"
        config.write_text(
            "# Written by escape_dlaas.lake.hub: the local lake's JupyterHub.\n"
            "from escape_dlaas.lake.hub import configure_hub\n\n"
            f"configure_hub(c, {str(self.root / 'settings.json')!r})  # noqa: F821 - c is JupyterHub's config\n",
            encoding="utf-8",
        )
        return config

    # -- processes -----------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        if chp_command() is None:
            raise LakeError(
                "configurable-http-proxy is not installed: npm install -g configurable-http-proxy "
                "(scripts/test.sh installs it into .venv)"
            )
        if port_in_use(self.ports.public):
            raise LakeError(f"port {self.ports.public} is in use: choose another with --port")
        config = self.write_config()
        jupyterhub = Path(sys.executable).parent / "jupyterhub"
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        self._record = spawn("jupyterhub", [str(jupyterhub), "-f", str(config)], env, self.log_path, cwd=self.root)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if not process_alive(self._record.pid, self._record.start_ticks):
                self._record = None
                raise LakeError(f"JupyterHub exited at start: see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise LakeError(f"JupyterHub did not answer within {timeout:g} s: see {self.log_path}")
            time.sleep(0.3)

    def _answers(self) -> bool:
        import requests

        try:
            return requests.get(f"{self.api_url}/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    @property
    def running(self) -> bool:
        return self._record is not None and process_alive(self._record.pid, self._record.start_ticks)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the hub (it stops its proxy and users' servers), then kill whatever of them is left."""
        record, self._record = self._record, None
        if record is None:
            return
        servers = _descendants(record.pid)  # single-user servers run in sessions of their own
        terminate(record, timeout=timeout)
        for pid in servers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for _ in range(50):
            if not any(process_alive(pid) for pid in servers):
                break
            time.sleep(0.1)

    def __enter__(self) -> LakeHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def singleuser_server_config(info: LakeInfo) -> dict[str, Any]:
    """The extension's config in the users' servers: the lake's instance, the token read from the hub."""
    lake_config = json.loads(info.jupyter_config.read_text(encoding="utf-8"))["DLaaS"]
    instances = []
    for instance in lake_config["instances"]:
        if instance["name"] == INSTANCE_NAME:
            instance = {**instance, "token_sources": [{"type": "jupyterhub"}]}
        instances.append(instance)
    return {"DLaaS": {**lake_config, "instances": instances}}


def configure_hub(c: Any, settings_file: str) -> None:
    """Fill JupyterHub's config object ``c`` from ``settings.json`` (called by the generated config file)."""
    from escape_dlaas.auth.hub_refresh import refresh_ahead

    settings = json.loads(Path(settings_file).read_text(encoding="utf-8"))
    ports, issuer, root = settings["ports"], settings["issuer"], Path(settings["root"])
    c.JupyterHub.bind_url = f"http://{HOST}:{ports['public']}"
    c.JupyterHub.hub_bind_url = f"http://{HOST}:{ports['hub']}"
    c.JupyterHub.db_url = f"sqlite:///{root / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(root / "cookie_secret")
    c.JupyterHub.pid_file = str(root / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.api_url = f"http://{HOST}:{ports['proxy_api']}"
    c.ConfigurableHTTPProxy.command = [settings["chp"]]
    c.ConfigurableHTTPProxy.pid_file = str(root / "proxy.pid")
    c.ConfigurableHTTPProxy.debug = False

    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.client_id = issuer["client_id"]
    c.GenericOAuthenticator.client_secret = Path(issuer["client_secret_file"]).read_text(encoding="utf-8").strip()
    c.GenericOAuthenticator.oauth_callback_url = f"http://{HOST}:{ports['public']}/hub/oauth_callback"
    c.GenericOAuthenticator.authorize_url = issuer["authorize_url"]
    c.GenericOAuthenticator.token_url = issuer["token_url"]
    c.GenericOAuthenticator.userdata_url = issuer["userdata_url"]
    c.GenericOAuthenticator.scope = issuer["scope"]
    c.GenericOAuthenticator.username_claim = "preferred_username"
    c.GenericOAuthenticator.http_request_kwargs = {"ca_certs": issuer["ca_bundle"]}
    c.GenericOAuthenticator.allowed_users = set(settings["allowed_users"])
    c.GenericOAuthenticator.enable_auth_state = True
    c.GenericOAuthenticator.auth_refresh_age = settings["auth_refresh_age"]
    c.GenericOAuthenticator.refresh_pre_spawn = True
    c.GenericOAuthenticator.refresh_user_hook = refresh_ahead(margin_seconds=settings["refresh_margin"])
    # auth_state is encrypted at rest with this key; a demo key per hub directory.
    key_file = root / "secrets" / "crypt_key"
    if not key_file.exists():
        _write_private(key_file, secrets.token_hex(32))
    c.CryptKeeper.keys = [key_file.read_text(encoding="utf-8")]

    c.JupyterHub.load_roles = [
        {"name": "user", "scopes": list(USER_ROLE_SCOPES)},
        {"name": "server", "scopes": list(SERVER_ROLE_SCOPES)},
        {"name": "lake-admin", "scopes": list(ADMIN_SERVICE_SCOPES), "services": [ADMIN_SERVICE]},
    ]
    c.JupyterHub.services = [
        {"name": ADMIN_SERVICE, "api_token": Path(settings["admin_token_file"]).read_text(encoding="utf-8")}
    ]

    python_bin = Path(settings["python_bin"])
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(root / "home" / "{username}")
    c.Spawner.ip = HOST
    c.Spawner.cmd = [str(python_bin / "jupyterhub-singleuser")]
    c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = 60
    c.Spawner.http_timeout = 60
    c.Spawner.environment = {
        "JUPYTER_CONFIG_PATH": settings["singleuser_config_path"],
        "PATH": f"{python_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@contextlib.contextmanager
def running_hub(info: LakeInfo, *, port: int | None = None, state_dir: Path | None = None) -> Iterator[LakeHub]:
    hub = LakeHub(info, port=port, state_dir=state_dir)
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m escape_dlaas.lake.hub``: JupyterHub in front of a running lake, until Ctrl-C."""
    import argparse

    from .info import load_lake_info
    from .paths import default_state_dir

    parser = argparse.ArgumentParser(prog="python -m escape_dlaas.lake.hub", description=main.__doc__)
    parser.add_argument("--state-dir", help="the lake's state directory (default: as `escape-dlaas lake`)")
    parser.add_argument("--port", type=int, default=DEFAULT_HUB_PORT, help="where users log in (default 8000)")
    args = parser.parse_args(argv)
    state_dir = Path(args.state_dir).expanduser() if args.state_dir else default_state_dir()
    if not (state_dir / "lake.json").exists():
        print(f"No lake in {state_dir}: run `escape-dlaas lake up` first.", file=sys.stderr)
        return 2
    hub = LakeHub(load_lake_info(state_dir), port=args.port)
    # A script's background job ignores Ctrl-C: its SIGTERM must stop the hub and the users' servers too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        hub.start()
        print(f"JupyterHub: {hub.url}/ (log in as a demo user; passwords: `escape-dlaas lake status`)")
        print(f"  log: {hub.log_path}   Ctrl-C stops the hub and the users' servers")
        while hub.running:
            time.sleep(1)
        print(f"JupyterHub exited: see {hub.log_path}", file=sys.stderr)
        return 1
    except LakeError as error:
        print(f"escape-dlaas hub: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        hub.stop()


if __name__ == "__main__":
    sys.exit(main())
