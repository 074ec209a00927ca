"""A real JupyterHub in front of the lake: login at the lake's issuer, auth_state, refresh, the extension.

JupyterHub (PyPI) + configurable-http-proxy (npm) + oauthenticator's GenericOAuthenticator,
started by :class:`escape_dlaas.lake.hub.LakeHub`. These tests run their own lake with
20 s access tokens (the hub renews the user's token with 10 s left, looking every 3 s), so
that within a minute the user's work goes through several hub refreshes and token
exchanges with zero failed requests; the five minutes with 60 s tokens are
``benchmarks/token_path.py --hub-minutes 5`` (see docs/benchmarks.md).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from escape_dlaas.lake import Lake, LakeInfo, Ports, free_ports, load_lake_info
from escape_dlaas.lake.hub import LakeHub, chp_command
from tests.conftest import JWT_RE
from tests.fixtures_lake import START_TIMEOUT, _lake_processes, _logs_with_tokens

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chp_command() is None, reason="configurable-http-proxy (npm) is not installed"),
]

TOKEN_LIFETIME = 20
INSTANCE_API = "escape-dlaas/instances/local-lake"


@pytest.fixture(scope="module")
def short_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeInfo]:
    """A lake whose tokens live 20 s: the session lake's 60 s would make these tests minutes long."""
    state_dir = Path(tempfile.mkdtemp(prefix="lake-hub-", dir=tmp_path_factory.getbasetemp()))
    lake = Lake(state_dir, ports=Ports(*free_ports(4)), token_lifetime=TOKEN_LIFETIME)
    try:
        lake.up(timeout=START_TIMEOUT)
        yield load_lake_info(state_dir)
    finally:
        leaks = _logs_with_tokens(lake)
        lake.down()
        left = _lake_processes(lake)
        lake.reset()
        assert not left, f"'lake down' left processes behind: {left}"
        assert not leaks, f"a token was written to the lake's logs: {leaks}"


@pytest.fixture(scope="module")
def hub(short_lake: LakeInfo) -> Iterator[LakeHub]:
    running = LakeHub(short_lake)
    try:
        running.start()
        yield running
    finally:
        pids = _hub_pids(running)
        running.stop()
        assert not [pid for pid in pids if _alive(pid)], "the hub, its proxy or a user's server outlived stop()"
        log = running.log_path.read_text(errors="replace")
        assert not JWT_RE.search(log), "a token was written to the hub's log"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _hub_pids(hub: LakeHub) -> list[int]:
    from escape_dlaas.lake.hub import _descendants

    record = hub._record
    return [record.pid, *_descendants(record.pid)] if record else []


def admin(hub: LakeHub) -> dict[str, str]:
    return {"Authorization": f"token {hub.admin_token()}"}


def log_in(hub: LakeHub, info: LakeInfo, user: str = "alice") -> requests.Session:
    """The browser's way in: the hub's login, the issuer's login page, the hub's OAuth callback."""
    session = requests.Session()
    ca = str(info.issuer.ca_bundle)
    to_issuer = session.get(f"{hub.url}/hub/oauth_login", allow_redirects=False, timeout=30)
    assert to_issuer.status_code == 302, to_issuer.text
    authorize = to_issuer.headers["Location"]
    assert authorize.startswith(info.issuer.url.rstrip("/") + "/authorize?")
    page = session.get(authorize, verify=ca, timeout=30)
    assert page.status_code == 200
    assert 'name="password"' in page.text
    password = info.user(user).password_file.read_text().strip()
    answer = session.post(
        authorize, data={"username": user, "password": password}, verify=ca, allow_redirects=False, timeout=30
    )
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(f"{hub.url}/hub/oauth_callback?")
    landed = session.get(callback, allow_redirects=False, timeout=60)
    assert landed.status_code == 302, landed.text
    return session


def wait_until_ready(hub: LakeHub, user: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = requests.get(f"{hub.api_url}/users/{user}", headers=admin(hub), timeout=10).json()
        server = model["servers"].get("")
        if server and server.get("ready"):
            return server
        time.sleep(0.5)
    pytest.fail(f"{user}'s server did not become ready; see {hub.log_path}")


@pytest.fixture(scope="module")
def alice(hub: LakeHub, short_lake: LakeInfo) -> dict[str, Any]:
    """alice logged in through the hub, her server started, and an API token to call it with."""
    log_in(hub, short_lake)
    started = requests.post(f"{hub.api_url}/users/alice/server", headers=admin(hub), timeout=30)
    assert started.status_code in (201, 202), started.text
    server = wait_until_ready(hub, "alice")
    issued = requests.post(
        f"{hub.api_url}/users/alice/tokens",
        headers=admin(hub),
        json={"scopes": ["access:servers!user=alice"], "expires_in": 900, "note": "hub tests"},
        timeout=30,
    )
    assert issued.status_code == 201, issued.text
    return {"server": server, "headers": {"Authorization": f"token {issued.json()['token']}"}}


def extension(hub: LakeHub, alice: dict[str, Any], path: str, **params: str) -> requests.Response:
    """A request to escape-dlaas in alice's server, through the hub's proxy."""
    return requests.get(
        f"{hub.url}/user/alice/{INSTANCE_API}/{path}", headers=alice["headers"], params=params, timeout=60
    )


def auth_state(hub: LakeHub, user: str = "alice") -> dict[str, Any]:
    model = requests.get(f"{hub.api_url}/users/{user}", headers=admin(hub), timeout=10).json()
    return model["auth_state"] or {}


# ---- the issuer: what a hub on a free port needs -----------------------------------------------


def _authorize(info: LakeInfo, redirect_uri: str) -> requests.Response:
    query = {"client_id": "jupyterhub", "redirect_uri": redirect_uri, "response_type": "code", "scope": "openid"}
    return requests.get(
        f"{info.issuer.url.rstrip('/')}/authorize", params=query, verify=str(info.issuer.ca_bundle), timeout=10
    )


def test_issuer_accepts_a_registered_loopback_redirect_on_any_port_only(short_lake: LakeInfo) -> None:
    assert _authorize(short_lake, "http://127.0.0.1:41234/hub/oauth_callback").status_code == 200
    assert _authorize(short_lake, "http://localhost:5/hub/oauth_callback").status_code == 200
    for refused in (
        "http://127.0.0.2:41234/hub/oauth_callback",  # another host
        "https://127.0.0.1:41234/hub/oauth_callback",  # another scheme
        "http://127.0.0.1:41234/hub/elsewhere",  # another path
        "http://127.0.0.1:41234/hub/oauth_callback?next=x",  # a query of its own
        "http://evil@127.0.0.1:41234/hub/oauth_callback",  # a user part
        "http://127.0.0.1:99999/hub/oauth_callback",  # not a port
    ):
        answer = _authorize(short_lake, refused)
        assert answer.status_code == 400, refused
        assert "redirect" in answer.text.lower()


def test_issuer_revokes_a_refresh_token_for_its_own_client_only(short_lake: LakeInfo) -> None:
    def client(role: str) -> tuple[str, str]:
        entry = short_lake.issuer.clients[role]
        return entry.client_id, entry.secret_file.read_text().strip()

    ca = str(short_lake.issuer.ca_bundle)
    user = short_lake.user()
    form = {
        "grant_type": "password",
        "username": user.name,
        "password": user.password_file.read_text().strip(),
        "scope": "openid offline_access",
    }
    issued = requests.post(
        short_lake.issuer.token_endpoint, data=form, auth=client("jupyterhub"), verify=ca, timeout=10
    )
    refresh_token = issued.json()["refresh_token"]
    revoke_url = f"{short_lake.issuer.url.rstrip('/')}/revoke"
    discovery = requests.get(
        f"{short_lake.issuer.url.rstrip('/')}/.well-known/openid-configuration", verify=ca, timeout=10
    ).json()
    assert discovery["revocation_endpoint"] == revoke_url
    # No client authentication: refused. Another client: ignored (200), the token still works.
    assert requests.post(revoke_url, data={"token": refresh_token}, verify=ca, timeout=10).status_code == 401
    other = requests.post(revoke_url, data={"token": refresh_token}, auth=client("exchange"), verify=ca, timeout=10)
    assert other.status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    renewed = requests.post(
        short_lake.issuer.token_endpoint, data=refresh, auth=client("jupyterhub"), verify=ca, timeout=10
    )
    assert renewed.status_code == 200
    newest = renewed.json()["refresh_token"]
    own = requests.post(revoke_url, data={"token": newest}, auth=client("jupyterhub"), verify=ca, timeout=10)
    assert own.status_code == 200
    refused = requests.post(
        short_lake.issuer.token_endpoint,
        data={**refresh, "refresh_token": newest},
        auth=client("jupyterhub"),
        verify=ca,
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


# ---- the hub ----------------------------------------------------------------------------------


def test_login_through_the_hub_keeps_tokens_in_auth_state(hub: LakeHub, alice: dict[str, Any]) -> None:
    state = auth_state(hub)
    assert {"access_token", "refresh_token", "id_token"} <= set(state), sorted(state)
    assert state["oauth_user"]["preferred_username"] == "alice"


def test_the_extension_reads_the_users_token_from_the_hub_and_exchanges_it(
    hub: LakeHub, alice: dict[str, Any], short_lake: LakeInfo
) -> None:
    whoami = extension(hub, alice, "whoami")
    assert whoami.status_code == 200, whoami.text
    token = whoami.json()["token"]
    assert (token["source"], token["exchanged"], token["sub"], token["aud"]) == ("jupyterhub", True, "alice", ["rucio"])
    assert whoami.json()["account"] == "alice"
    assert not JWT_RE.search(whoami.text), "the extension never returns a token"
    scenario = short_lake.scenarios.metadata_search
    found = extension(hub, alice, "search", filter=scenario.filter_string, type="dataset")
    assert found.status_code == 200, found.text
    assert sorted(item["did"] for item in found.json()["items"]) == sorted(scenario.expected)


def test_a_users_server_may_read_its_own_users_auth_state_and_no_one_elses(
    hub: LakeHub, alice: dict[str, Any], short_lake: LakeInfo
) -> None:
    # bob exists on the hub with tokens of his own.
    bob = log_in(hub, short_lake, "bob")
    bob.close()
    assert auth_state(hub, "bob").get("access_token")
    # The API token JupyterHub gave alice's server, as the extension sees it.
    environ = Path(f"/proc/{alice['server']['state']['pid']}/environ").read_bytes().split(b"\0")
    server_env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
    headers = {"Authorization": f"token {server_env['JUPYTERHUB_API_TOKEN']}"}
    api = server_env["JUPYTERHUB_API_URL"].rstrip("/")
    assert server_env["JUPYTERHUB_USER"] == "alice"
    own = requests.get(f"{api}/users/alice", headers=headers, timeout=10)
    assert own.status_code == 200
    assert own.json()["auth_state"]["access_token"]
    others = requests.get(f"{api}/users/bob", headers=headers, timeout=10)
    assert others.status_code in (403, 404), "alice's server sees nothing of bob"
    assert "access_token" not in others.text


def test_work_goes_on_across_several_refreshes_with_no_failed_request(
    hub: LakeHub, alice: dict[str, Any], short_lake: LakeInfo
) -> None:
    """Two token lifetimes of work (20 s tokens): every request answers, the hub and the extension renew."""
    scenario = short_lake.scenarios.metadata_search
    hub_tokens: set[str] = set()
    rucio_expiries: set[int] = set()
    failures: list[str] = []
    requests_made = 0
    deadline = time.monotonic() + 2 * TOKEN_LIFETIME + 5
    while time.monotonic() < deadline:
        for path, params in (("whoami", {}), ("search", {"filter": scenario.filter_string, "type": "dataset"})):
            answer = extension(hub, alice, path, **params)
            requests_made += 1
            if answer.status_code != 200:
                failures.append(f"{path}: {answer.status_code} {answer.text[:200]}")
            elif path == "whoami":
                rucio_expiries.add(int(answer.json()["token"]["exp"]))
        hub_tokens.add(auth_state(hub)["access_token"][-16:])  # a signature's tail tells tokens apart
        time.sleep(1)
    assert failures == [], f"{len(failures)} of {requests_made} requests failed"
    assert len(hub_tokens) >= 3, f"the hub renewed alice's token {len(hub_tokens) - 1} times"
    assert len(rucio_expiries) >= 3, f"the extension exchanged {len(rucio_expiries)} times"


def test_when_the_hub_can_no_longer_refresh_the_panel_says_how_to_sign_in_again(
    hub: LakeHub, alice: dict[str, Any], short_lake: LakeInfo
) -> None:
    client = short_lake.issuer.clients["jupyterhub"]
    revoked = requests.post(
        f"{short_lake.issuer.url.rstrip('/')}/revoke",
        data={"token": auth_state(hub)["refresh_token"]},
        auth=(client.client_id, client.secret_file.read_text().strip()),
        verify=str(short_lake.issuer.ca_bundle),
        timeout=10,
    )
    assert revoked.status_code == 200
    # The hub's token lives on until it expires; then the next renewal finds it dead.
    scenario = short_lake.scenarios.metadata_search
    search = {"filter": scenario.filter_string, "type": "dataset"}
    deadline = time.monotonic() + 3 * TOKEN_LIFETIME + 10
    answer = extension(hub, alice, "search", **search)
    while answer.status_code == 200 and time.monotonic() < deadline:
        time.sleep(1)
        answer = extension(hub, alice, "search", **search)
    assert answer.status_code == 401, answer.text
    assert answer.json()["reason"] == "credentials_expired"
    message = answer.json()["message"]
    assert "The token from jupyterhub expired" in message
    assert "Log out of JupyterHub and log in again" in message
    assert not JWT_RE.search(message)
    assert "stale auth info" in hub.log_path.read_text(), "the hub could not refresh"
    # Signing in again through the hub brings the work back, with no server restart.
    log_in(hub, short_lake)
    assert extension(hub, alice, "search", **search).status_code == 200
    assert os.path.exists(f"/proc/{alice['server']['state']['pid']}"), "the server was not restarted"
