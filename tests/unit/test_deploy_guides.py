"""The deployment guides' configuration files (docs/deploy/) load and say what the product does.

docs/deploy-jupyterhub.md and docs/deploy-swan-vre.md link these files; a change to the
product that makes them wrong fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from escape_dlaas.auth.sources import EnvTokenSource, FileTokenSource, JupyterHubTokenSource, build_source
from escape_dlaas.config import parse_instances
from escape_dlaas.lake import hub as lake_hub

DOCS = Path(__file__).resolve().parents[2] / "docs"
DEPLOY = DOCS / "deploy"
GUIDES = ("deploy-jupyterhub.md", "deploy-swan-vre.md")


@pytest.fixture
def hub_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Config:
    ca = tmp_path / "iam-ca.pem"
    ca.write_text("not read at load time")
    monkeypatch.setenv("IAM_URL", "https://iam.example.org/")
    monkeypatch.setenv("IAM_CLIENT_SECRET", "a-secret")
    monkeypatch.setenv("IAM_CA_BUNDLE", str(ca))
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY))
    return loader.load_config()


def test_every_config_file_is_linked_from_a_guide_and_every_link_exists():
    linked: set[str] = set()
    for guide in GUIDES:
        text = (DOCS / guide).read_text()
        for target in re.findall(r"\]\((deploy/[^)]+|deploy-[^)]+\.md)\)", text):
            assert (DOCS / target).exists(), f"{guide} links {target}, which does not exist"
            linked.add(target)
    assert {f"deploy/{p.name}" for p in DEPLOY.iterdir()} <= linked


def test_jupyterhub_config_loads_into_a_real_authenticator(hub_config: Config):
    from oauthenticator.generic import GenericOAuthenticator

    assert hub_config.JupyterHub.authenticator_class == "generic-oauth"
    authenticator = GenericOAuthenticator(config=hub_config)
    assert authenticator.enable_auth_state is True
    assert "offline_access" in authenticator.scope, "no refresh token without offline_access"
    assert authenticator.token_url == "https://iam.example.org/token"
    assert authenticator.http_request_kwargs["ca_certs"].endswith("iam-ca.pem")
    assert authenticator.refresh_pre_spawn is True
    assert callable(authenticator.refresh_user_hook)
    # The hub looks well within the margin the hook renews at (300 s): a server reads a live token.
    assert authenticator.auth_refresh_age <= 300 / 2


def test_jupyterhub_roles_are_the_ones_the_lakes_real_hub_runs_with(hub_config: Config):
    roles = {role["name"]: role for role in hub_config.JupyterHub.load_roles}
    assert roles["server"]["scopes"] == list(lake_hub.SERVER_ROLE_SCOPES)
    assert roles["user"]["scopes"] == list(lake_hub.USER_ROLE_SCOPES)
    assert "admin:auth_state!user" in roles["server"]["scopes"]
    assert not [s for s in roles["server"]["scopes"] if s.startswith("admin:") and not s.endswith("!user")]


def _z2jh() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "z2jh-values.yaml").read_text())


def test_z2jh_values_say_what_jupyterhub_config_says(hub_config: Config):
    values = _z2jh()
    generic = values["hub"]["config"]["GenericOAuthenticator"]
    for key in ("scope", "username_claim", "enable_auth_state", "auth_refresh_age", "refresh_pre_spawn"):
        assert generic[key] == hub_config.GenericOAuthenticator[key], key
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    roles = {role["name"]: role["scopes"] for role in hub_config.JupyterHub.load_roles}
    assert {name: role["scopes"] for name, role in values["hub"]["loadRoles"].items()} == roles
    # hub.extraConfig is Python the chart runs with the hub's `c`.
    c = Config()
    for code in values["hub"]["extraConfig"].values():
        exec(compile(code, "z2jh-extraConfig", "exec"), {"c": c})  # the guide's own code
    assert callable(c.GenericOAuthenticator.refresh_user_hook)


def test_z2jh_singleuser_config_is_accepted_by_the_extension():
    files = _z2jh()["singleuser"]["extraFiles"]["escape-dlaas"]
    assert files["mountPath"].startswith("/etc/jupyter/jupyter_server_config.d/")
    dlaas = json.loads(files["stringData"])["DLaaS"]
    instances, default = parse_instances(dlaas["instances"], dlaas.get("default_instance"))
    assert default == "escape"
    assert [i.vo for i in instances] == ["def", "ctao"], "two Rucio instances, one of another VO"
    for instance in instances:
        assert instance.token_sources[0].type == "jupyterhub"
        source = build_source(instance.token_sources[0], instance, environ={})
        assert isinstance(source, JupyterHubTokenSource)
        assert instance.token_exchange is not None


def _token_file(path: Path, token: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("name", ["swan-like.json", "vre-like.json"])
def test_token_file_setups_load_and_read_the_file_first(name: str, tmp_path: Path):
    dlaas = json.loads((DEPLOY / name).read_text())["DLaaS"]
    # The guide's paths, moved into the test's directory.
    for item in dlaas["instances"]:
        for source in item["token_sources"]:
            if source["type"] == "file":
                source["path"] = str(tmp_path / Path(source["path"]).name)
    (instance,), _ = parse_instances(dlaas["instances"])
    first = instance.token_sources[0]
    assert first.type == "file", "a file a sidecar can renew comes before anything frozen"
    assert first.path is not None
    _token_file(first.path, "header.payload.signature")
    environ = {"RUCIO_ACCESS_TOKEN": "frozen-at-spawn"}
    sources = [build_source(s, instance, environ=environ) for s in instance.token_sources]
    assert isinstance(sources[0], FileTokenSource)
    assert sources[0].fetch().token == "header.payload.signature"
    if name == "vre-like.json":
        assert isinstance(sources[1], EnvTokenSource)
        assert sources[1].fetch().token == "frozen-at-spawn"
    else:
        assert isinstance(sources[1], JupyterHubTokenSource)


def test_the_lakes_hub_is_configured_as_the_guide_says(hub_config: Config, tmp_path: Path):
    """escape-dlaas lake's own JupyterHub (escape_dlaas/lake/hub.py) and the guide say the same."""
    secret, admin_token = tmp_path / "client.secret", tmp_path / "admin.token"
    secret.write_text("s3cret\n")
    admin_token.write_text("t0ken")
    (tmp_path / "secrets").mkdir()
    lifetime = 60
    refresh_age, margin = lake_hub.refresh_settings(lifetime)
    assert refresh_age < margin <= lifetime / 2
    settings = {
        "ports": {"public": 8000, "hub": 8081, "proxy_api": 8001},
        "root": str(tmp_path),
        "issuer": {
            "authorize_url": "https://127.0.0.1:18443/authorize",
            "token_url": "https://127.0.0.1:18443/token",
            "userdata_url": "https://127.0.0.1:18443/userinfo",
            "ca_bundle": str(tmp_path / "ca.pem"),
            "client_id": "jupyterhub",
            "client_secret_file": str(secret),
            "scope": ["openid", "profile", "email", "offline_access"],
        },
        "allowed_users": ["alice", "bob"],
        "auth_refresh_age": refresh_age,
        "refresh_margin": margin,
        "admin_token_file": str(admin_token),
        "singleuser_config_path": str(tmp_path / "jupyter"),
        "python_bin": str(tmp_path),
        "chp": "configurable-http-proxy",
    }
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    c = Config()
    lake_hub.configure_hub(c, str(tmp_path / "settings.json"))
    for key in ("enable_auth_state", "refresh_pre_spawn", "username_claim"):
        assert c.GenericOAuthenticator[key] == hub_config.GenericOAuthenticator[key], key
    assert "offline_access" in c.GenericOAuthenticator.scope
    assert c.GenericOAuthenticator.client_secret == "s3cret"
    assert callable(c.GenericOAuthenticator.refresh_user_hook)
    lake_roles = {r["name"]: r["scopes"] for r in c.JupyterHub.load_roles if r["name"] in ("user", "server")}
    assert lake_roles == {r["name"]: r["scopes"] for r in hub_config.JupyterHub.load_roles}
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(tmp_path / "jupyter")
    assert (tmp_path / "secrets" / "crypt_key").stat().st_mode & 0o077 == 0
