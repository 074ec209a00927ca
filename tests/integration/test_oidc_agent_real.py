"""The oidc-agent token source with Debian's real oidc-agent (4.2.x) against the lake's issuer.

An account is registered non-interactively the way a user with a pre-registered client
and a refresh token does it (``oidc-gen --manual --rt ... --pw-env``); the agent runs in
the foreground on a socket of its own, with its config in a temporary directory, and is
stopped by the fixture. The lake's tokens live 60 s: asking for 50 s of validity makes
the agent refresh through the issuer after ten seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from escape_dlaas.auth.sources import OidcAgentTokenSource
from escape_dlaas.errors import ServiceUnavailable
from escape_dlaas.lake import LakeInfo, decode_claims
from tests.conftest import JWT_RE
from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import call

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("oidc-agent") is None, reason="Debian's oidc-agent is not installed"),
]

ACCOUNT = "lake"
MIN_VALID = 50  # of the lake's 60 s: the agent refreshes once a token has less left


def _client(info: LakeInfo) -> tuple[str, str]:
    client = info.issuer.clients["jupyterhub"]
    return client.client_id, client.secret_file.read_text().strip()


def _refresh_token(info: LakeInfo) -> str:
    user = info.user()
    answer = requests.post(
        info.issuer.token_endpoint,
        data={
            "grant_type": "password",
            "username": user.name,
            "password": user.password_file.read_text().strip(),
            "scope": "openid profile offline_access",
        },
        auth=_client(info),
        verify=str(info.issuer.ca_bundle),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["refresh_token"])


class Agent:
    """oidc-agent in the foreground (``-d``) on its own socket, with one account generated for the lake."""

    def __init__(self, info: LakeInfo, root: Path):
        self.root = root
        self.socket = root / "agent.sock"
        self.log = root / "agent.log"
        config = root / "config"
        config.mkdir(mode=0o700)
        self.env = {
            **os.environ,
            "OIDC_CONFIG_DIR": str(config),
            "OIDC_ENCRYPTION_PW": "a-test-passphrase",
            "OIDC_SOCK": str(self.socket),
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["oidc-agent", "-d", "-a", str(self.socket), "--no-autoload", "--pw-store", "--log-stderr"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while not self.socket.exists():
            assert self.process.poll() is None, f"oidc-agent exited: {self.log.read_text()}"
            assert time.monotonic() < deadline, "oidc-agent did not open its socket"
            time.sleep(0.1)
        client_id, secret = _client(info)
        generated = subprocess.run(
            [
                "oidc-gen",
                "--manual",
                f"--iss={info.issuer.url}",
                f"--client-id={client_id}",
                f"--client-secret={secret}",
                f"--cp={info.issuer.ca_bundle}",
                "--scope=openid profile offline_access",
                "--rt-env=LAKE_REFRESH_TOKEN",
                "--pw-env",
                "--confirm-default",
                "--prompt=none",
                "--no-url-call",
                ACCOUNT,
            ],
            env={**self.env, "LAKE_REFRESH_TOKEN": _refresh_token(info)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert generated.returncode == 0, f"oidc-gen failed: {generated.stdout[-500:]} {generated.stderr[-500:]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def agent(lake_info: LakeInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    running = Agent(lake_info, tmp_path_factory.mktemp("oidc-agent"))
    try:
        yield running
    finally:
        running.stop()
        assert running.process.poll() is not None, "oidc-agent outlived the tests"
        assert not JWT_RE.search(running.log.read_text(errors="replace")), "the agent logged a token"


@pytest.fixture
def agent_env(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> Agent:
    """liboidcagent finds the agent through OIDC_SOCK, as in a user's session."""
    monkeypatch.setenv("OIDC_SOCK", str(agent.socket))
    return agent


def test_the_source_gets_the_users_token_from_the_agent_and_the_agent_refreshes_it(
    agent_env: Agent, lake_info: LakeInfo
) -> None:
    source = OidcAgentTokenSource(ACCOUNT, min_valid_seconds=MIN_VALID, timeout=30)
    first = source.fetch()
    claims = decode_claims(first.token)
    assert (claims["iss"], claims["sub"]) == (lake_info.issuer.url, lake_info.user().name)
    assert first.issuer == lake_info.issuer.url
    assert first.expires_at is not None
    assert first.expires_at - time.time() > MIN_VALID
    assert source.fetch().token == first.token, "a token with enough time left is reused"
    # Once less than MIN_VALID seconds are left, the agent uses the refresh token at the issuer.
    time.sleep(max(0.0, first.expires_at - MIN_VALID - time.time()) + 1)
    renewed = source.fetch()
    assert renewed.token != first.token
    assert renewed.expires_at is not None
    assert renewed.expires_at > first.expires_at
    assert first.token not in repr(renewed)


@pytest.fixture
def jp_server_config(lake_info: LakeInfo, tmp_path: Path) -> dict[str, Any]:
    config = lake_server_config(lake_info, tmp_path)
    instance = config["DLaaS"]["instances"][0]
    instance["token_sources"] = [{"type": "oidc-agent", "account": ACCOUNT, "min_valid_seconds": MIN_VALID}]
    return config


async def test_the_extension_signs_in_through_the_agent(jp_fetch: Any, agent_env: Agent, lake_info: LakeInfo) -> None:
    code, body = await call(jp_fetch, "whoami")
    assert code == 200, body
    token = body["token"]
    assert (token["source"], token["exchanged"], token["sub"]) == (f"oidc-agent:{ACCOUNT}", True, "alice")
    assert not JWT_RE.search(json.dumps(body))
    scenario = lake_info.scenarios.metadata_search
    code, found = await call(jp_fetch, "search", params={"filter": scenario.filter_string, "type": "dataset"})
    assert code == 200, found
    assert sorted(i["did"] for i in found["items"]) == sorted(scenario.expected)


def test_an_agent_that_is_not_running_is_reported_as_not_reachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OIDC_SOCK", str(tmp_path / "no-agent.sock"))
    with pytest.raises(ServiceUnavailable, match="oidc-agent could not be reached") as failed:
        OidcAgentTokenSource(ACCOUNT, timeout=10).fetch()
    assert failed.value.service == "oidc-agent"
