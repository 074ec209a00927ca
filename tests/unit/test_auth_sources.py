"""Token sources: file, env, WLCG discovery, JupyterHub auth_state, oidc-agent, userpass."""

from __future__ import annotations

import base64
import http.server
import json
import os
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from escape_dlaas.auth.sources import (
    EnvTokenSource,
    FileTokenSource,
    FoundToken,
    JupyterHubTokenSource,
    OidcAgentTokenSource,
    UserpassSource,
    WlcgTokenSource,
    build_source,
)
from escape_dlaas.auth.sources import local as local_sources
from escape_dlaas.auth.sources import oidc_agent as oidc_agent_source
from escape_dlaas.config import parse_instance
from escape_dlaas.errors import (
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    ServiceTimeout,
    ServiceUnavailable,
)
from escape_dlaas.resilience import NOT_ANSWERING, UNREACHABLE, is_outage


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_of(payload: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "RS256"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}.{b64(b'sig')}"


def token_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


# -- file -------------------------------------------------------------------------------------


def test_file_source_reads_strips_and_knows_its_origin(tmp_path):
    token = jwt_of({"sub": "alice", "iss": "https://iam.example/", "exp": 4_000_000_000})
    source = FileTokenSource(token_file(tmp_path / "alice.token", token + "\n"))
    found = source.fetch()
    assert found.token == token
    assert found.source == f"file:{tmp_path / 'alice.token'}"
    assert found.issuer == "https://iam.example/"
    assert found.expires_at == 4_000_000_000
    assert token not in repr(found)
    assert token not in str(found)


def test_file_source_rereads_only_when_the_file_changes(tmp_path, monkeypatch):
    path = token_file(tmp_path / "t", "first-token")
    reads = []
    real_read = local_sources.read_private_text

    def counting_read(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(local_sources, "read_private_text", counting_read)
    source = FileTokenSource(path)
    assert source.fetch().token == "first-token"
    assert source.fetch().token == "first-token"
    assert len(reads) == 1
    # Rewritten atomically by a sidecar (new inode) ...
    token_file(tmp_path / "t.new", "second-token").replace(path)
    assert source.fetch().token == "second-token"
    # ... or in place, same size (mtime/ctime change).
    time.sleep(0.01)
    path.write_text("third--token")
    assert source.fetch().token == "third--token"
    assert len(reads) == 3


@pytest.mark.parametrize(
    ("setup", "error", "words"),
    [
        (lambda p: None, CredentialsMissing, "does not exist"),
        (lambda p: token_file(p, "\n"), CredentialsMissing, "is empty"),
        (lambda p: token_file(p, "tok", 0o644), ConfigurationError, "chmod 600"),
        (lambda p: token_file(p, "two tokens\n"), ConfigurationError, "not a single token"),
        (lambda p: os.mkfifo(p, 0o600), ConfigurationError, "not a regular file"),
    ],
)
def test_file_source_explains_what_is_wrong(tmp_path, setup, error, words):
    path = tmp_path / "t"
    setup(path)
    with pytest.raises(error, match=words):
        FileTokenSource(path).fetch()


def test_file_source_refuses_a_symlink(tmp_path):
    real = token_file(tmp_path / "real", "tok")
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        FileTokenSource(tmp_path / "link").fetch()


def test_file_source_notices_permissions_loosened_after_a_good_read(tmp_path):
    path = token_file(tmp_path / "t", "tok")
    source = FileTokenSource(path)
    assert source.fetch().token == "tok"
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="0644"):
        source.fetch()


# -- env --------------------------------------------------------------------------------------


def test_env_source():
    environ = {"ACCESS_TOKEN": "  opaque-value \n"}
    source = EnvTokenSource("ACCESS_TOKEN", environ=environ)
    found = source.fetch()
    assert (found.token, found.source, found.claims) == ("opaque-value", "env:ACCESS_TOKEN", None)
    environ["ACCESS_TOKEN"] = ""
    with pytest.raises(CredentialsMissing, match="ACCESS_TOKEN is not set"):
        source.fetch()
    with pytest.raises(CredentialsMissing):
        EnvTokenSource("NOPE", environ={}).fetch()


# -- WLCG -------------------------------------------------------------------------------------


@pytest.fixture
def wlcg_places(tmp_path):
    """Files for every WLCG discovery step; each test removes the ones it does not want."""
    uid = os.geteuid()
    xdg = tmp_path / "xdg"
    tmp = tmp_path / "tmp"
    xdg.mkdir()
    tmp.mkdir()
    places = {
        "env": "from-env",
        "file": token_file(tmp_path / "bt_file", "from-file\n"),
        "xdg": token_file(xdg / f"bt_u{uid}", "from-xdg"),
        "tmp": token_file(tmp / f"bt_u{uid}", "from-tmp"),
    }
    environ = {"BEARER_TOKEN": "from-env", "BEARER_TOKEN_FILE": str(places["file"]), "XDG_RUNTIME_DIR": str(xdg)}
    return environ, places, tmp


def test_wlcg_discovery_order(wlcg_places):
    environ, places, tmp = wlcg_places
    source = WlcgTokenSource(environ=environ, tmp_dir=tmp)
    assert source.fetch().token == "from-env"
    assert source.fetch().source == "wlcg:BEARER_TOKEN"
    del environ["BEARER_TOKEN"]
    assert source.fetch().token == "from-file"
    places["file"].unlink()  # BEARER_TOKEN_FILE set but absent: keep looking
    assert source.fetch().token == "from-xdg"
    places["xdg"].unlink()
    assert source.fetch().token == "from-tmp"
    assert source.fetch().source == f"wlcg:{places['tmp']}"
    places["tmp"].unlink()
    with pytest.raises(CredentialsMissing, match="no WLCG bearer token"):
        source.fetch()


def test_wlcg_first_place_decides_even_when_expired(wlcg_places):
    environ, _, tmp = wlcg_places
    environ["BEARER_TOKEN"] = jwt_of({"exp": 1})
    found = WlcgTokenSource(environ=environ, tmp_dir=tmp).fetch()
    assert found.expires_at == 1  # the manager, not discovery, decides it is unusable


def test_wlcg_refuses_a_tmp_file_planted_by_another_user(wlcg_places):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    _environ, places, tmp = wlcg_places
    os.chown(places["tmp"], 4242, -1)
    with pytest.raises(ConfigurationError, match="another user"):
        WlcgTokenSource(environ={}, tmp_dir=tmp).fetch()


def test_wlcg_refuses_a_world_readable_token_file(wlcg_places):
    environ, places, tmp = wlcg_places
    del environ["BEARER_TOKEN"]
    places["file"].chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        WlcgTokenSource(environ=environ, tmp_dir=tmp).fetch()


# -- JupyterHub -------------------------------------------------------------------------------


class FakeHub:
    """A tiny hub API on 127.0.0.1 answering like JupyterHub 6: the user's model with ``auth_state`` at
    GET /hub/api/users/alice, and without it at GET /hub/api/user (jupyterhub issue 5103)."""

    API_TOKEN = "hub-api-token-for-this-server"

    def __init__(self) -> None:
        self.status = 200
        self.model: Any = {"name": "alice", "auth_state": {"access_token": "user-access-token", "id_token": "x"}}
        self.delay = 0.0
        self.seen_auth: list[str | None] = []
        self.seen_paths: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub.seen_auth.append(self.headers.get("Authorization"))
                time.sleep(hub.delay)
                hub.seen_paths.append(self.path)
                known = self.path in ("/hub/api/user", "/hub/api/users/alice")
                if not known or self.headers.get("Authorization") != f"token {hub.API_TOKEN}":
                    self.send_response(403)
                    self.end_headers()
                    return
                model = hub.model if self.path.endswith("/alice") else {"name": "alice"}
                body = json.dumps(model).encode() if hub.status == 200 else b'{"message": "oops"}'
                self.send_response(hub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.environ = {
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{self.server.server_port}/hub/api/",
            "JUPYTERHUB_API_TOKEN": self.API_TOKEN,
            "JUPYTERHUB_USER": "alice",
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    fake = FakeHub()
    yield fake
    fake.close()


def test_hub_source_takes_the_token_from_auth_state(hub):
    source = JupyterHubTokenSource(environ=hub.environ, timeout=5)
    found = source.fetch()
    assert (found.token, found.source) == ("user-access-token", "jupyterhub")
    assert hub.seen_auth == [f"token {FakeHub.API_TOKEN}"]
    assert hub.seen_paths == ["/hub/api/users/alice"], "GET /user has no auth_state on JupyterHub 5.x/6.x"
    hub.model["auth_state"]["rucio_token"] = "other"
    assert JupyterHubTokenSource(environ=hub.environ, auth_state_key="rucio_token").fetch().token == "other"


def test_hub_source_asks_the_hub_whose_server_it_is_without_jupyterhub_user(hub):
    environ = {k: v for k, v in hub.environ.items() if k != "JUPYTERHUB_USER"}
    assert JupyterHubTokenSource(environ=environ, timeout=5).fetch().token == "user-access-token"
    assert hub.seen_paths == ["/hub/api/user", "/hub/api/users/alice"]


def test_hub_without_the_auth_state_scope_is_explained(hub):
    hub.model = {"name": "alice"}  # what the hub answers when the server lacks admin:auth_state!user
    with pytest.raises(ConfigurationError, match=r"admin:auth_state!user"):
        JupyterHubTokenSource(environ=hub.environ).fetch()
    hub.model = {"name": "alice", "auth_state": None}
    with pytest.raises(ConfigurationError, match="enable_auth_state"):
        JupyterHubTokenSource(environ=hub.environ).fetch()


def test_hub_auth_state_without_the_key_lists_the_keys_not_the_values(hub):
    with pytest.raises(ConfigurationError, match=r"keys: access_token, id_token") as refused:
        JupyterHubTokenSource(environ=hub.environ, auth_state_key="rucio_token").fetch()
    assert "user-access-token" not in refused.value.message


def test_hub_refusing_the_server_token(hub):
    environ = {**hub.environ, "JUPYTERHUB_API_TOKEN": "wrong"}
    with pytest.raises(CredentialsExpired, match="Restart your server"):
        JupyterHubTokenSource(environ=environ).fetch()


def test_hub_failures_are_service_errors(hub):
    hub.status = 502
    with pytest.raises(ServiceUnavailable, match="HTTP 502") as failed:
        JupyterHubTokenSource(environ=hub.environ).fetch()
    assert failed.value.service == "JupyterHub"
    assert failed.value.reason == UNREACHABLE, "a proxy's 502: the hub does not answer (opens the breaker)"
    hub.status = 500
    with pytest.raises(ServiceUnavailable, match="HTTP 500") as failed:
        JupyterHubTokenSource(environ=hub.environ).fetch()
    assert not is_outage(failed.value), "the hub's own error is an answer"
    hub.status, hub.delay = 200, 1.0
    with pytest.raises(ServiceTimeout) as slow:
        JupyterHubTokenSource(environ=hub.environ, timeout=0.2).fetch()
    assert is_outage(slow.value)


def test_hub_unreachable(hub):
    environ = dict(hub.environ)
    hub.close()
    with pytest.raises(ServiceUnavailable, match="could not be reached") as failed:
        JupyterHubTokenSource(environ=environ, timeout=2).fetch()
    assert FakeHub.API_TOKEN not in failed.value.message
    assert failed.value.reason == UNREACHABLE


def test_hub_probe_says_whether_the_hub_api_answers(hub):
    source = JupyterHubTokenSource(environ=dict(hub.environ), timeout=0.3)
    assert source.probe() is None, "any answer of the hub's API (here a 403 to an anonymous GET) means it is up"
    assert hub.seen_auth[-1] is None, "the probe sends no token"
    hub.delay = 1.0
    assert source.probe() == f"JupyterHub's API at {hub.environ['JUPYTERHUB_API_URL'].rstrip('/')} is not answering"
    hub.delay = 0.0
    hub.close()
    assert "is not answering" in (source.probe() or "")


def test_hub_source_outside_jupyterhub():
    with pytest.raises(CredentialsMissing, match="not running under JupyterHub"):
        JupyterHubTokenSource(environ={}).fetch()


# -- oidc-agent -------------------------------------------------------------------------------


class FakeAgentError(Exception):
    """Stands in for liboidcagent.OidcAgentError (same str() as the real one)."""


def fake_agent(behaviour: Any) -> types.SimpleNamespace:
    """The narrow part of liboidcagent the source uses: get_token_response and OidcAgentError.

    A fake, because the real oidc-agent needs an account made from an IAM refresh
    token; the lake's issuer is exercised with real tokens in tests/integration.
    """
    calls: list[tuple[Any, ...]] = []

    def get_token_response(*args: Any) -> Any:
        calls.append(args)
        return behaviour(*args)

    return types.SimpleNamespace(get_token_response=get_token_response, OidcAgentError=FakeAgentError, calls=calls)


def test_oidc_agent_source_passes_our_request_and_uses_the_agents_answer():
    api = fake_agent(lambda *a: ("opaque-agent-token", "https://iam.example/", 4_000_000_000))
    source = OidcAgentTokenSource("escape", min_valid_seconds=120, audience="rucio", timeout=2, agent_api=api)
    found = source.fetch()
    assert api.calls == [("escape", 120, "escape-dlaas", None, "rucio")]
    # An opaque token: issuer and expiry come from the agent.
    assert (found.token, found.issuer, found.expires_at) == ("opaque-agent-token", "https://iam.example/", 4e9)
    assert found.source == "oidc-agent:escape"


@pytest.mark.parametrize(
    ("message", "error", "words"),
    [
        ("OIDC_SOCK env var not set", CredentialsMissing, "oidc-agent is not running"),
        ("No account configured with that short name", CredentialsMissing, "oidc-add escape"),
        ("Could not connect to oidc-agent: [Errno 111] Connection refused", ServiceUnavailable, "could not be reached"),
        ("Error: invalid_grant: refresh token expired", CredentialsExpired, "oidc-gen --reauthenticate escape"),
        ("something else went wrong", ServiceUnavailable, "something else went wrong"),
    ],
)
def test_oidc_agent_errors_are_explained(message, error, words):
    def fail(*_: Any) -> Any:
        raise FakeAgentError(message)

    with pytest.raises(error, match=words):
        OidcAgentTokenSource("escape", timeout=2, agent_api=fake_agent(fail)).fetch()


def test_oidc_agent_error_text_is_redacted_and_odd_failures_mapped():
    secret = jwt_of({"sub": "alice"})

    def fail(*_: Any) -> Any:
        raise FakeAgentError(f"invalid_grant for refresh_token={secret}")

    with pytest.raises(CredentialsExpired) as refused:
        OidcAgentTokenSource("escape", timeout=2, agent_api=fake_agent(fail)).fetch()
    assert secret not in refused.value.message

    def crash(*_: Any) -> Any:
        raise KeyError("access_token")

    with pytest.raises(ServiceUnavailable, match="unexpectedly"):
        OidcAgentTokenSource("escape", timeout=2, agent_api=fake_agent(crash)).fetch()
    with pytest.raises(ServiceUnavailable, match="do not understand"):
        OidcAgentTokenSource("escape", timeout=2, agent_api=fake_agent(lambda *a: None)).fetch()


def test_oidc_agent_that_never_answers_times_out_without_piling_up_threads():
    release = threading.Event()

    def hang(*_: Any) -> Any:
        release.wait(10)
        return ("late-token", "https://iam.example/", 0)

    api = fake_agent(hang)
    source = OidcAgentTokenSource("escape", timeout=0.2, agent_api=api)
    started = time.monotonic()
    with pytest.raises(ServiceTimeout, match="did not answer"):
        source.fetch()
    assert time.monotonic() - started < 2
    # While the first call is stuck, the next one fails at once (an open breaker) and starts no new thread.
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="oidc-agent is not answering") as caught:
        source.fetch()
    assert time.monotonic() - started < 0.1
    assert caught.value.reason == NOT_ANSWERING
    assert len(api.calls) == 1
    release.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            assert source.fetch().token == "late-token"
            break
        except ServiceUnavailable:
            time.sleep(0.05)
    else:
        pytest.fail("the source did not recover once the agent answered")


def test_oidc_agent_without_liboidcagent_installed(monkeypatch):
    def missing() -> Any:
        raise ImportError("no liboidcagent")

    monkeypatch.setattr(oidc_agent_source, "_load_liboidcagent", missing)
    with pytest.raises(ConfigurationError, match="liboidcagent"):
        OidcAgentTokenSource("escape").fetch()


def test_the_real_liboidcagent_is_what_we_load_by_default():
    api = oidc_agent_source._load_liboidcagent()
    assert callable(api.get_token_response)
    assert issubclass(api.OidcAgentError, Exception)


# -- userpass ---------------------------------------------------------------------------------


def test_userpass_source(tmp_path):
    path = token_file(tmp_path / "pw", "hunter2-very-secret\n")
    credentials = UserpassSource("alice", path).fetch()
    assert (credentials.username, credentials.password) == ("alice", "hunter2-very-secret")
    assert "hunter2" not in repr(credentials)
    path.chmod(0o640)  # a password file must be the server user's alone
    with pytest.raises(ConfigurationError, match="0640"):
        UserpassSource("alice", path).fetch()
    with pytest.raises(ConfigurationError, match="does not exist"):
        UserpassSource("alice", tmp_path / "absent").fetch()


# -- building from configuration --------------------------------------------------------------


def test_build_source_for_every_configured_type(tmp_path):
    instance = parse_instance(
        {
            "name": "t",
            "rucio_url": "http://127.0.0.1:1",
            "timeout_seconds": 7,
            "token_sources": [
                {"type": "file", "path": str(tmp_path / "t")},
                {"type": "env", "variable": "ACCESS_TOKEN"},
                {"type": "jupyterhub", "auth_state_key": "exchanged_token"},
                {"type": "oidc-agent", "account": "escape", "min_valid_seconds": 90},
                {"type": "wlcg"},
                {"type": "userpass", "username": "alice", "password_file": str(tmp_path / "pw")},
            ],
        },
        "instances[0]",
    )
    built = [build_source(c, instance, direct_audience="rucio") for c in instance.token_sources]
    assert [type(s) for s in built] == [
        FileTokenSource,
        EnvTokenSource,
        JupyterHubTokenSource,
        OidcAgentTokenSource,
        WlcgTokenSource,
        UserpassSource,
    ]
    hub_source, agent_source = built[2], built[3]
    assert isinstance(hub_source, JupyterHubTokenSource)
    assert hub_source.auth_state_key == "exchanged_token"
    assert hub_source.timeout == 7
    assert isinstance(agent_source, OidcAgentTokenSource)
    assert (agent_source.min_valid_seconds, agent_source.audience) == (90, "rucio")
    assert [s.label for s in built][:2] == [f"file:{tmp_path / 't'}", "env:ACCESS_TOKEN"]


def test_found_token_refuses_values_that_would_break_a_header():
    with pytest.raises(ConfigurationError, match="not a single token"):
        FoundToken.from_text("abc\r\nX-Injected: 1", "env:X")
    with pytest.raises(CredentialsMissing):
        FoundToken.from_text("", "env:X")
