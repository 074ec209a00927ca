"""The hub-side refresh hook (escape_dlaas.auth.hub_refresh) against a stand-in oauthenticator."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import pytest

from escape_dlaas.auth.hub_refresh import needs_refresh, refresh_ahead

NOW = 1_800_000_000.0


def jwt(iat: float, exp: float, tag: str = "a") -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'iat': iat, 'exp': exp, 'sub': 'alice', 'jti': tag})}.c2ln"


class FakeUser:
    name = "alice"

    def __init__(self, state: dict[str, Any]):
        self.state = state

    async def get_auth_state(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        return self.state


class FakeAuthenticator:
    """The four oauthenticator methods the hook uses; the issuer answers with a fresh token."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.refreshes: list[dict[str, Any]] = []
        self.log = logging.getLogger("fake-hub")

    def build_refresh_token_request_params(self, refresh_token: str) -> dict[str, Any]:
        return {"grant_type": "refresh_token", "refresh_token": refresh_token}

    async def get_token_info(self, handler: Any, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        self.refreshes.append(params)
        if self.fail:
            raise RuntimeError(f"invalid_grant for {params['refresh_token']}")
        return {"access_token": jwt(NOW + 40, NOW + 100, tag=str(len(self.refreshes))), "refresh_token": ""}

    async def token_to_user(self, token_info: dict[str, Any]) -> dict[str, Any]:
        return {"preferred_username": "alice"}

    async def build_auth_state_dict(self, token_info: dict[str, Any], user_info: dict[str, Any]) -> dict[str, Any]:
        return {"access_token": token_info["access_token"], "refresh_token": token_info["refresh_token"]}


def test_needs_refresh_within_the_margin_at_most_half_the_life():
    state = {"access_token": jwt(NOW, NOW + 60)}
    assert needs_refresh(state, 300, NOW + 29) is False, "margin capped at half of 60 s"
    assert needs_refresh(state, 300, NOW + 30) is True
    assert needs_refresh({"access_token": jwt(NOW, NOW + 3600)}, 300, NOW + 3299) is False
    assert needs_refresh({"access_token": jwt(NOW, NOW + 3600)}, 300, NOW + 3300) is True
    assert needs_refresh({"access_token": "opaque"}, 300, NOW) is None
    assert needs_refresh(None, 300, NOW) is None


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_time_left_means_nothing_to_do_and_no_request():
    hook = refresh_ahead(300, clock=lambda: NOW + 10)
    authenticator = FakeAuthenticator()
    state = {"access_token": jwt(NOW, NOW + 60), "refresh_token": "rt-1"}
    assert run(hook(authenticator, FakeUser(state), state)) is True
    assert authenticator.refreshes == []


def test_near_expiry_refreshes_and_keeps_the_refresh_token_when_none_comes_back():
    hook = refresh_ahead(300, clock=lambda: NOW + 40)
    authenticator = FakeAuthenticator()
    state = {"access_token": jwt(NOW, NOW + 60), "refresh_token": "rt-1"}
    model = run(hook(authenticator, FakeUser(state), state))
    assert model["name"] == "alice"
    assert model["auth_state"]["refresh_token"] == "rt-1"
    assert model["auth_state"]["access_token"] != state["access_token"]
    assert authenticator.refreshes == [{"grant_type": "refresh_token", "refresh_token": "rt-1"}]


def test_concurrent_refreshes_of_one_user_make_one_request():
    authenticator = FakeAuthenticator()
    state = {"access_token": jwt(NOW, NOW + 60), "refresh_token": "rt-1"}
    user = FakeUser(state)
    hook = refresh_ahead(300, clock=lambda: NOW + 40)

    async def both() -> list[Any]:
        async def one() -> Any:
            result = await hook(authenticator, user, state)
            if isinstance(result, dict):
                user.state = result["auth_state"]  # what JupyterHub saves
            return result

        return await asyncio.gather(one(), one())

    results = run(both())
    assert len(authenticator.refreshes) == 1, "the issuer rotates refresh tokens: a second refresh would fail"
    assert sorted(type(r).__name__ for r in results) == ["bool", "dict"]


def test_a_refused_refresh_asks_for_a_new_login_and_logs_no_token(caplog: pytest.LogCaptureFixture):
    hook = refresh_ahead(300, clock=lambda: NOW + 40)
    state = {"access_token": jwt(NOW, NOW + 60), "refresh_token": "rt-secret"}
    with caplog.at_level(logging.INFO, logger="fake-hub"):
        assert run(hook(FakeAuthenticator(fail=True), FakeUser(state), state)) is False
    assert "RuntimeError" in caplog.text
    assert "rt-secret" not in caplog.text


def test_without_a_refresh_token_or_a_readable_expiry_oauthenticator_decides():
    hook = refresh_ahead(300, clock=lambda: NOW + 40)
    no_refresh = {"access_token": jwt(NOW, NOW + 60)}
    assert run(hook(FakeAuthenticator(), FakeUser(no_refresh), no_refresh)) is None
    opaque = {"access_token": "opaque", "refresh_token": "rt"}
    assert run(hook(FakeAuthenticator(), FakeUser(opaque), opaque)) is None
