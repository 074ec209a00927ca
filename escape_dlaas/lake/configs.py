"""Pure functions rendering the lake's configuration files (no I/O, unit-tested).

- ``rucio.cfg`` (server, daemons and root's client), ``alembic.ini``, ``idpsecrets.json``;
- the issuer's clients and users;
- ``runtime.json`` for the programs in the lake venv;
- ``jupyter_server_config.json``: the extension's instance config (docs/design.md);
- ``lake.json``: what runs where.
"""

from __future__ import annotations

import configparser
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .info import FORMAT
from .paths import LakePaths
from .policies import Policy
from .ports import HOST, Ports

RUCIO_VERSION = "41.5.1"
INSTANCE_NAME = "local-lake"
VO = "def"
DATABASE = "rucio"
DB_USER = "rucio"
TRANSFERTOOL = "localcopy"  # the local-copy stand-in for FTS (runtime/localcopy.py)
SAFE, CHEAP, LOCAL = "ESCAPE-SAFE", "ESCAPE-CHEAP", "NOTEBOOK-LOCAL"
# Where users upload: Rucio's stock generic policy lets a normal account add replicas only on
# RSEs whose name ends in SCRATCHDISK, USERDISK, LOCALGROUPDISK or MOCK.
USERDISK = "ESCAPE-USERDISK"
UPLOAD_TARGET = "USERDISK"
RUCIO_AUDIENCE = "rucio"
RUCIO_SCOPE = "openid profile"
HUB_AUDIENCE = "jupyterhub"
HUB_SCOPE = "openid profile email offline_access"
EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"


@dataclass(frozen=True)
class UserSpec:
    name: str
    email: str
    groups: tuple[str, ...]
    quotas: Mapping[str, int]  # RSE -> bytes, -1 unlimited


# alice is the demo user: unlimited where notebooks read and archive, a small quota on
# the cheap disk (smaller than the seeded raw LOFAR dataset), 50 MB to upload to. bob has tiny quotas.
DEMO_USERS = (
    UserSpec(
        "alice",
        "alice@lake.example",
        ("escape", "escape/lofar", "escape/cta"),
        {SAFE: -1, LOCAL: -1, CHEAP: 100_000, USERDISK: 50_000_000},
    ),
    UserSpec("bob", "bob@lake.example", ("escape",), {SAFE: 2_048, LOCAL: 2_048, CHEAP: 2_048, USERDISK: 2_048}),
)
DEMO_USER = DEMO_USERS[0].name


@dataclass(frozen=True)
class RseSpec:
    name: str
    qos: str
    attributes: Mapping[str, str]


RSES = (
    RseSpec(SAFE, "SAFE", {"QOS": "SAFE", "archive": "True", "tier": "1", "site": "LOCAL-LAKE"}),
    RseSpec(CHEAP, "CHEAP", {"QOS": "CHEAP", "bulk_disk": "True", "tier": "2", "site": "LOCAL-LAKE"}),
    RseSpec(LOCAL, "FAST", {"QOS": "FAST", "notebook_local": "True", "tier": "3", "site": "LOCAL-LAKE"}),
    RseSpec(USERDISK, "USER", {"QOS": "USER", "user_writable": "True", "tier": "2", "site": "LOCAL-LAKE"}),
)

CLIENT_EXCHANGE = "escape-dlaas"
CLIENT_HUB = "jupyterhub"
CLIENT_RUCIO = "rucio"


def issuer_url(ports: Ports) -> str:
    return f"https://{HOST}:{ports.issuer}/"  # trailing slash: exactly the iss claim


def rucio_url(ports: Ports) -> str:
    return f"http://{HOST}:{ports.rucio}"


def database_url(ports: Ports, password: str) -> str:
    return f"postgresql+psycopg://{DB_USER}:{password}@{HOST}:{ports.postgres}/{DATABASE}"


def oidc_identity(sub: str, issuer: str) -> str:
    return f"SUB={sub}, ISS={issuer}"


def hub_redirect_uris(extra: Sequence[str] = ()) -> list[str]:
    base = [f"http://{host}:{port}/hub/oauth_callback" for host in ("127.0.0.1", "localhost") for port in (8000, 8081)]
    return [*base, *extra]


def rucio_cfg(paths: LakePaths, ports: Ports, db_password: str, root_password: str, policy: Policy) -> str:
    """rucio.cfg for the server, the daemons and root's client (contains secrets: write it 0600)."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.optionxform = str  # type: ignore[assignment,method-assign]
    url = rucio_url(ports)
    cfg["common"] = {"logdir": str(paths.logs_dir), "loglevel": "INFO"}
    cfg["client"] = {
        "rucio_host": url,
        "auth_host": url,
        "auth_type": "userpass",
        "username": "root",
        "password": root_password,
        "account": "root",
        "vo": VO,
        "request_retries": "1",
        "auth_token_file_path": str(paths.root / "rucio" / "root.token"),
    }
    cfg["database"] = {
        "default": database_url(ports, db_password),
        "pool_size": "10",
        "max_overflow": "20",
        "pool_recycle": "600",
        "echo": "0",
    }
    cfg["bootstrap"] = {
        "userpass_identity": "root",
        "userpass_pwd": root_password,
        "userpass_email": "root@lake.example",
    }
    cfg["alembic"] = {"cfg": str(paths.rucio_etc / "alembic.ini")}
    cfg["policy"] = {
        # Without a package, Rucio uses its stock generic permission module.
        **({"package": policy.package} if policy.package else {}),
        "permission": "generic",
        "schema": "generic",
        "lfn2pfn_algorithm_default": "hash",
        "support": "escape-dlaas local lake",
        "support_rucio": "https://rucio.cern.ch",
    }
    cfg["metadata"] = {"plugins": "rucio.core.did_meta_plugins.json_meta.JSONDidMeta"}
    cfg["cache"] = {"url": f"{HOST}:{ports.memcached}"}
    cfg["conveyor"] = {"scheme": "file", "transfertool": TRANSFERTOOL, "use_preparer": "False"}
    cfg["transfers"] = {"multihop_rse_expression": ""}  # direct copies only; no multihop RSEs here
    cfg["oidc"] = {
        "idpsecrets": str(paths.rucio_etc / "idpsecrets.json"),
        "admin_issuer": "lake",
        "expected_audience": RUCIO_AUDIENCE,
        "expected_scope": RUCIO_SCOPE,
    }
    cfg["monitor"] = {"enable_metrics": "False"}
    return _render(cfg)


def alembic_ini(database: str, site_packages: Path) -> str:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg["alembic"] = {
        "script_location": str(site_packages / "rucio" / "db" / "sqla" / "migrate_repo"),
        "sqlalchemy.url": database,
    }
    cfg["loggers"] = {"keys": "root,sqlalchemy,alembic"}
    cfg["handlers"] = {"keys": "console"}
    cfg["formatters"] = {"keys": "generic"}
    cfg["logger_root"] = {"level": "WARN", "handlers": "console", "qualname": ""}
    cfg["logger_sqlalchemy"] = {"level": "WARN", "handlers": "", "qualname": "sqlalchemy.engine"}
    cfg["logger_alembic"] = {"level": "WARN", "handlers": "", "qualname": "alembic"}
    cfg["handler_console"] = {
        "class": "StreamHandler",
        "args": "(sys.stderr,)",
        "level": "NOTSET",
        "formatter": "generic",
    }
    cfg["formatter_generic"] = {"format": "%(levelname)-5.5s [%(name)s] %(message)s"}
    return _render(cfg)


def idpsecrets(ports: Ports, rucio_client_secret: str) -> dict[str, Any]:
    """Rucio's idpsecrets.json: one issuer, the lake's; every key Rucio needs must be there."""
    client = {
        "issuer": issuer_url(ports),
        "client_id": CLIENT_RUCIO,
        "client_secret": rucio_client_secret,
        "redirect_uris": [f"{rucio_url(ports)}/auth/oidc_token", f"{rucio_url(ports)}/auth/oidc_code"],
    }
    return {"lake": {**client, "SCIM": {**client, "grant_type": "client_credentials"}}}


def issuer_clients(ports: Ports, secrets: Mapping[str, str], hub_redirects: Sequence[str] = ()) -> dict[str, Any]:
    """The issuer's registered clients (contains secrets: write it 0600)."""
    return {
        CLIENT_HUB: {
            "secret": secrets[CLIENT_HUB],
            "default_audience": HUB_AUDIENCE,
            "grant_types": ["authorization_code", "password", "refresh_token"],
            "redirect_uris": hub_redirect_uris(hub_redirects),
        },
        CLIENT_EXCHANGE: {
            # Only this client may exchange tokens, as an IAM admin would configure it.
            "secret": secrets[CLIENT_EXCHANGE],
            "default_audience": RUCIO_AUDIENCE,
            "grant_types": [EXCHANGE_GRANT, "refresh_token"],
            "redirect_uris": [],
        },
        CLIENT_RUCIO: {
            "secret": secrets[CLIENT_RUCIO],
            "default_audience": RUCIO_AUDIENCE,
            "grant_types": ["authorization_code", "password", "refresh_token", "client_credentials", EXCHANGE_GRANT],
            "redirect_uris": idpsecrets(ports, "")["lake"]["redirect_uris"],
        },
    }


def issuer_users(passwords: Mapping[str, str]) -> dict[str, Any]:
    return {
        u.name: {"sub": u.name, "password": passwords[u.name], "email": u.email, "groups": list(u.groups)}
        for u in DEMO_USERS
    }


def rse_entries(paths: LakePaths) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "path": str(paths.rse_dir(r.name)), "qos": r.qos, "attributes": dict(r.attributes)}
        for r in RSES
    ]


def user_entries(paths: LakePaths, ports: Ports) -> list[dict[str, Any]]:
    return [
        {
            "name": u.name,
            "account": u.name,
            "sub": u.name,
            "email": u.email,
            "groups": list(u.groups),
            "identity": oidc_identity(u.name, issuer_url(ports)),
            "token_file": str(paths.token_file(u.name)),
            "password_file": str(paths.password_file(u.name)),
            "token_audience": HUB_AUDIENCE,
            "quotas": dict(u.quotas),
        }
        for u in DEMO_USERS
    ]


def runtime_config(paths: LakePaths, ports: Ports, token_lifetime: int) -> dict[str, Any]:
    """What the programs in the lake venv need (paths of secret files, never their content)."""
    return {
        "state_dir": str(paths.root),
        "issuer_url": issuer_url(ports),
        "rucio_url": rucio_url(ports),
        "token_lifetime": token_lifetime,
        "refresh_token_lifetime": 30 * 24 * 3600,
        "paths": {
            "ca": str(paths.ca),
            "tls_cert": str(paths.tls_dir / "server.pem"),
            "tls_key": str(paths.tls_dir / "server-key.pem"),
            "signing_key": str(paths.secret("issuer-signing-key.pem")),
            "issuer_clients": str(paths.secret("issuer-clients.json")),
            "users": str(paths.secret("users.json")),
            "tokens_dir": str(paths.tokens_dir),
            "rses_dir": str(paths.rses_dir),
        },
        "users": user_entries(paths, ports),
        "rses": rse_entries(paths),
        "token_refresher": {
            "client_id": CLIENT_HUB,
            "client_secret_file": str(paths.secret(f"{CLIENT_HUB}-client.secret")),
            "audience": HUB_AUDIENCE,
            "scope": HUB_SCOPE,
            "users": [u.name for u in DEMO_USERS],
        },
    }


def instance_config(paths: LakePaths, ports: Ports, token_lifetime: int) -> dict[str, Any]:
    """The extension's instance for this lake, in exactly the shape of docs/design.md."""
    local = paths.rse_dir(LOCAL)
    return {
        "name": INSTANCE_NAME,
        "display_name": "Local data lake",
        "rucio_url": rucio_url(ports),
        "auth_url": rucio_url(ports),
        "vo": VO,
        "account": None,
        "ca_bundle": str(paths.ca),
        "timeout_seconds": 30,
        "token_sources": [{"type": "file", "path": str(paths.token_file(DEMO_USER))}],
        "token_exchange": {
            "issuer": issuer_url(ports),
            "client_id": CLIENT_EXCHANGE,
            "client_secret_file": str(paths.secret(f"{CLIENT_EXCHANGE}-client.secret")),
            "audience": RUCIO_AUDIENCE,
            "scope": RUCIO_SCOPE,
            # Short test tokens need a margin shorter than their lifetime.
            "refresh_margin_seconds": max(5, min(60, token_lifetime // 4)),
        },
        "notebook_local": {"rse": LOCAL, "mount_path": str(local)},
        "qos_classes": {"FAST": "QOS=FAST", "SAFE": "QOS=SAFE", "CHEAP": "QOS=CHEAP"},
        "default_lifetime_days": 7,
        "max_lifetime_days": 30,
        "upload": {"targets": {UPLOAD_TARGET: USERDISK}, "default_lifetime_days": 30, "max_lifetime_days": 365},
    }


def jupyter_server_config(paths: LakePaths, ports: Ports, token_lifetime: int) -> dict[str, Any]:
    return {"DLaaS": {"instances": [instance_config(paths, ports, token_lifetime)], "default_instance": INSTANCE_NAME}}


def lake_json(
    paths: LakePaths,
    ports: Ports,
    token_lifetime: int,
    policy: Policy,
    venv: Path,
    postgres: Mapping[str, Any],
    components: Mapping[str, Any],
    scenarios: Mapping[str, Any] | None,
) -> dict[str, Any]:
    issuer = issuer_url(ports)
    base = issuer.rstrip("/")
    secret = paths.secret
    return {
        "format": FORMAT,
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "state_dir": str(paths.root),
        "lake_venv": str(venv),
        "host": HOST,
        "ports": ports.as_dict(),
        "rucio": {
            "url": rucio_url(ports),
            "auth_url": rucio_url(ports),
            "vo": VO,
            "version": RUCIO_VERSION,
            "config_file": str(paths.rucio_cfg),
            "transfertool": f"{TRANSFERTOOL} (local-copy stand-in for FTS)",
            "policy": policy.name,
            "policy_package": policy.package,
        },
        "issuer": {
            "url": issuer,
            "ca_bundle": str(paths.ca),
            "discovery_url": f"{base}/.well-known/openid-configuration",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "token_lifetime_seconds": token_lifetime,
            "clients": {
                "exchange": {
                    "client_id": CLIENT_EXCHANGE,
                    "secret_file": str(secret(f"{CLIENT_EXCHANGE}-client.secret")),
                    "grant_types": [EXCHANGE_GRANT],
                },
                "jupyterhub": {
                    "client_id": CLIENT_HUB,
                    "secret_file": str(secret(f"{CLIENT_HUB}-client.secret")),
                    "grant_types": ["authorization_code", "password", "refresh_token"],
                    "redirect_uris": hub_redirect_uris(),
                },
                "rucio": {"client_id": CLIENT_RUCIO, "secret_file": str(secret(f"{CLIENT_RUCIO}-client.secret"))},
            },
        },
        "postgres": dict(postgres),
        "memcached": {"port": ports.memcached},
        "users": user_entries(paths, ports),
        "demo_user": DEMO_USER,
        "rses": rse_entries(paths),
        "jupyter": {
            "config_dir": str(paths.jupyter_dir),
            "config_file": str(paths.jupyter_config),
            "instance_name": INSTANCE_NAME,
        },
        "logs_dir": str(paths.logs_dir),
        "components": dict(components),
        "scenarios": dict(scenarios) if scenarios else None,
    }


def _render(cfg: configparser.ConfigParser) -> str:
    out = io.StringIO()
    cfg.write(out)
    return out.getvalue()
