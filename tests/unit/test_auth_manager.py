"""TokenManager without an exchange: source order, checks before sending, caching, locking, timeouts."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from escape_dlaas.auth.manager import RucioCredentials, TokenManager
from escape_dlaas.auth.sources import Credential, FoundToken, TokenSource, UserpassCredentials
from escape_dlaas.config import InstanceConfig, parse_instance
from escape_dlaas.errors import (
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    DLaaSError,
    ServiceTimeout,
    ServiceUnavailable,
)

ISSUER = "https://iam.example/"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_of(**claims: Any) -> str:
    payload = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": "rucio",
        "scope": "openid profile",
        "exp": int(time.time()) + 3600,
        **claims,
    }
    return f"{b64(json.dumps({'alg': 'RS256'}).encode())}.{b64(json.dumps(payload).encode())}.{b64(b'sig')}"


class FakeSource(TokenSource):
    """A source whose answer each test chooses; records how and where it was called."""

    kind = "fake"

    def __init__(
        self,
        label: str,
        answer: Credential | DLaaSError | Callable[[], Credential],
        *,
        delay: float = 0.0,
        timeout: float | None = None,
    ):
        super().__init__(label, timeout=timeout)
        self.answer = answer
        self.delay = delay
        self.calls = 0
        self.threads: set[str] = set()

    def fetch(self) -> Credential:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if isinstance(self.answer, DLaaSError):
            raise self.answer
        if callable(self.answer):
            return self.answer()
        return self.answer


def found(token: str, label: str = "fake:a") -> FoundToken:
    return FoundToken.from_text(token, label)


INSTANCE: InstanceConfig = parse_instance(
    {
        "name": "lake",
        "display_name": "Test lake",
        "rucio_url": "http://127.0.0.1:1",
        "account": "alice",
        "timeout_seconds": 5,
        "token_sources": [{"type": "wlcg"}],
    },
    "instances[0]",
)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="auth-pool")
    yield executor
    executor.shutdown(wait=False, cancel_futures=True)


def manager_with(pool: ThreadPoolExecutor, *sources: TokenSource, **kwargs: Any) -> TokenManager:
    return TokenManager(INSTANCE, pool, sources=list(sources), **kwargs)


@pytest.mark.asyncio
async def test_first_usable_source_in_order_wins_and_runs_on_the_pool(pool):
    missing = FakeSource("fake:missing", CredentialsMissing("nothing here"))
    token = jwt_of()
    good = FakeSource("fake:good", found(token, "fake:good"))
    never = FakeSource("fake:never", found(jwt_of(sub="bob"), "fake:never"))
    manager = manager_with(pool, missing, good, never)
    credentials = await manager.rucio_credentials()
    assert (credentials.token, credentials.source, credentials.exchanged) == (token, "fake:good", False)
    assert credentials.account == "alice"
    assert never.calls == 0
    assert all(name.startswith("auth-pool") for name in missing.threads | good.threads)


@pytest.mark.asyncio
async def test_expired_tokens_are_skipped_and_reported(pool):
    stale = FakeSource("jupyterhub", found(jwt_of(exp=int(time.time()) - 100), "jupyterhub"))
    fresh = FakeSource("fake:fresh", found(jwt_of(), "fake:fresh"))
    assert (await manager_with(pool, stale, fresh).rucio_credentials()).source == "fake:fresh"
    with pytest.raises(CredentialsExpired, match=r"expired \d+ s ago\. Log out of JupyterHub"):
        await manager_with(pool, stale).rucio_credentials()


@pytest.mark.asyncio
async def test_a_jwt_for_another_audience_is_never_sent_to_rucio(pool):
    hub_login = FakeSource("jupyterhub", found(jwt_of(aud="jupyterhub-client"), "jupyterhub"))
    opaque = FakeSource("env:ACCESS_TOKEN", found("opaque-token-0123", "env:ACCESS_TOKEN"))
    credentials = await manager_with(pool, hub_login, opaque).rucio_credentials()
    assert credentials.token == "opaque-token-0123"  # opaque tokens pass through: Rucio decides
    with pytest.raises(ConfigurationError, match=r"meant for jupyterhub-client, not Rucio \('rucio'\)"):
        await manager_with(pool, hub_login).rucio_credentials()
    custom = manager_with(pool, FakeSource("x", found(jwt_of(aud="rucio-prod"))), rucio_audience="rucio-prod")
    assert (await custom.rucio_credentials()).claims is not None


@pytest.mark.asyncio
async def test_when_nothing_works_the_most_telling_error_wins_and_lists_every_reason(pool):
    hub_down = FakeSource(
        "jupyterhub", ServiceUnavailable("JupyterHub's API could not be reached", service="JupyterHub")
    )
    no_file = FakeSource("file:/t", CredentialsMissing("token file /t does not exist"))
    with pytest.raises(ServiceUnavailable) as failed:
        await manager_with(pool, no_file, hub_down).rucio_credentials()
    assert failed.value.service == "JupyterHub"
    assert "token file /t does not exist" in failed.value.message
    assert "JupyterHub's API could not be reached" in failed.value.message
    assert "Test lake" in failed.value.message
    with pytest.raises(CredentialsMissing):
        await manager_with(pool, no_file).rucio_credentials()
    with pytest.raises(ConfigurationError, match="no token source"):
        await manager_with(pool).rucio_credentials()


@pytest.mark.asyncio
async def test_userpass_is_used_when_reached(pool):
    no_token = FakeSource("env:X", CredentialsMissing("environment variable X is not set"))
    userpass = FakeSource("userpass:alice", UserpassCredentials("alice", "pw-secret-1", "userpass:alice"))
    manager = manager_with(pool, no_token, userpass)
    credentials = await manager.rucio_credentials()
    assert (credentials.auth_type, credentials.username, credentials.password) == ("userpass", "alice", "pw-secret-1")
    assert "pw-secret-1" not in repr(credentials)
    summary = manager.summary()
    assert summary["auth_type"] == "userpass"
    assert summary["username"] == "alice"
    assert "pw-secret-1" not in json.dumps(summary)


@pytest.mark.asyncio
async def test_results_are_reused_until_the_recheck_interval(pool):
    now = [time.time()]
    source = FakeSource("fake:a", found(jwt_of()))
    manager = manager_with(pool, source, subject_recheck_seconds=10, clock=lambda: now[0])
    first = await manager.rucio_credentials()
    now[0] += 9
    assert await manager.rucio_credentials() is first
    assert source.calls == 1
    now[0] += 2
    assert await manager.rucio_credentials() is first  # re-read, same token: same credentials
    assert source.calls == 2


@pytest.mark.asyncio
async def test_a_refreshed_token_is_picked_up_near_expiry(pool):
    now = [time.time()]
    tokens = [jwt_of(exp=int(now[0]) + 100), jwt_of(exp=int(now[0]) + 1000)]
    source = FakeSource("fake:a", lambda: found(tokens[0]))
    manager = manager_with(pool, source, subject_recheck_seconds=3600, clock=lambda: now[0])
    assert (await manager.rucio_credentials()).token == tokens[0]
    now[0] += 40  # 60 s left, more than half the 100 s life: still fine
    assert (await manager.rucio_credentials()).token == tokens[0]
    assert source.calls == 1
    now[0] += 20  # 40 s left: inside the margin, so the source is read again
    assert (await manager.rucio_credentials()).token == tokens[0]  # nothing newer yet: keep using it
    assert source.calls == 2
    tokens[0] = tokens[1]  # the sidecar wrote a new one
    assert (await manager.rucio_credentials()).token == tokens[1]


@pytest.mark.asyncio
async def test_concurrent_callers_share_one_lookup(pool):
    source = FakeSource("fake:a", found(jwt_of()), delay=0.2)
    manager = manager_with(pool, source)
    results = await asyncio.gather(*(manager.rucio_credentials() for _ in range(25)))
    assert source.calls == 1
    assert len({id(r) for r in results}) == 1


@pytest.mark.asyncio
async def test_the_event_loop_keeps_running_while_a_source_blocks(pool):
    source = FakeSource("fake:slow", found(jwt_of()), delay=0.5)
    manager = manager_with(pool, source)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await manager.rucio_credentials()
    task.cancel()
    assert ticks > 20


@pytest.mark.asyncio
async def test_a_source_that_hangs_times_out(pool):
    release = threading.Event()

    def hang() -> Credential:
        release.wait(10)
        return found(jwt_of())

    hanging = FakeSource("fake:hang", hang, timeout=0.1)
    manager = manager_with(pool, hanging)
    started = time.monotonic()
    with pytest.raises(ServiceTimeout):
        await manager.rucio_credentials()
    assert time.monotonic() - started < 3
    release.set()


@pytest.mark.asyncio
async def test_invalidate_and_summary(pool):
    source = FakeSource("fake:a", found(jwt_of(sub="alice", aud=["rucio", "other"])))
    manager = manager_with(pool, source)
    assert manager.summary()["authenticated"] is False
    credentials = await manager.rucio_credentials()
    summary = manager.summary()
    assert summary == {
        "authenticated": True,
        "auth_type": "oidc",
        "sub": "alice",
        "iss": ISSUER,
        "aud": ["rucio", "other"],
        "scope": "openid profile",
        "exp": summary["exp"],
        "expires_in": summary["expires_in"],
        "source": "fake:a",
        "exchanged": False,
        "username": None,
    }
    assert 3590 <= summary["expires_in"] <= 3600
    assert credentials.token is not None
    assert credentials.token not in json.dumps(summary)
    manager.invalidate()
    assert manager.summary()["authenticated"] is False
    await manager.rucio_credentials()
    assert source.calls == 2


@pytest.mark.asyncio
async def test_a_failed_early_refresh_keeps_the_still_valid_credentials(pool):
    now = [time.time()]
    answers: list[Any] = [found(jwt_of(exp=int(now[0]) + 100))]
    source = FakeSource("jupyterhub", lambda: answers[0])
    manager = manager_with(pool, source, subject_recheck_seconds=1, clock=lambda: now[0])
    first = await manager.rucio_credentials()

    def hub_down() -> Credential:
        raise ServiceUnavailable("hub down", service="JupyterHub")

    answers[0] = None
    source.answer = hub_down
    now[0] += 60
    assert await manager.rucio_credentials() is first  # 40 s left: keep using it
    now[0] += 40
    with pytest.raises(ServiceUnavailable):  # expired now: the outage shows
        await manager.rucio_credentials()


@pytest.mark.asyncio
async def test_no_secret_reaches_logs_or_errors(pool, caplog, tmp_path: Path):
    caplog.set_level(logging.DEBUG)
    token = jwt_of(aud="jupyterhub-client")
    leaky = FakeSource("fake:leaky", CredentialsMissing(f"boom Bearer {token}"))
    wrong = FakeSource("jupyterhub", found(token, "jupyterhub"))
    with pytest.raises(DLaaSError) as failed:
        await manager_with(pool, leaky, wrong).rucio_credentials()
    assert token not in failed.value.message
    assert token not in str(failed.value)
    good_token = jwt_of()
    manager = manager_with(pool, FakeSource("fake:a", found(good_token)))
    credentials = await manager.rucio_credentials()
    assert good_token not in caplog.text
    assert token not in caplog.text
    assert good_token not in repr(credentials)
    assert good_token not in str(credentials)


def test_rucio_credentials_repr_hides_secrets():
    credentials = RucioCredentials(auth_type="oidc", source="x", token="tok-secret-123", password="pw-456")
    assert "tok-secret-123" not in repr(credentials)
    assert "pw-456" not in repr(credentials)


@pytest.mark.asyncio
async def test_built_from_configuration_with_a_real_file(pool, tmp_path):
    token = jwt_of()
    path = tmp_path / "alice.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    instance = parse_instance(
        {
            "name": "cfg",
            "rucio_url": "http://127.0.0.1:1",
            "token_sources": [
                {"type": "env", "variable": "ESCAPE_DLAAS_TEST_UNSET_VARIABLE"},
                {"type": "file", "path": str(path)},
            ],
        },
        "instances[0]",
    )
    manager = TokenManager(instance, pool)
    assert [s.label for s in manager.sources] == ["env:ESCAPE_DLAAS_TEST_UNSET_VARIABLE", f"file:{path}"]
    assert not manager.exchanges
    credentials = await manager.rucio_credentials()
    assert credentials.token == token
    assert credentials.source == f"file:{path}"
    manager.close()


class RemoteSource(FakeSource):
    """A source that asks a remote service (like the hub): the manager puts a breaker in front of it."""

    service = "JupyterHub"

    def __init__(self, label: str, answer: Credential | DLaaSError | Callable[[], Credential]):
        super().__init__(label, answer)
        self.up = False

    def down_headline(self) -> str:
        return "JupyterHub's API at http://hub.example/hub/api is not answering"

    def probe(self) -> str | None:
        return None if self.up else self.down_headline()


@pytest.mark.asyncio
async def test_a_hub_that_does_not_answer_is_not_asked_again_until_it_answers(pool):
    hub = RemoteSource("jupyterhub", ServiceTimeout("JupyterHub's API did not answer within 5 s", service="JupyterHub"))
    manager = manager_with(pool, hub)
    with pytest.raises(ServiceTimeout):
        await manager.rucio_credentials()
    assert hub.calls == 1
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as down:
        await manager.rucio_credentials()
    assert time.monotonic() - started < 1.2
    assert hub.calls == 1, "known down: not asked"
    assert down.value.service == "JupyterHub"
    assert "JupyterHub's API at http://hub.example/hub/api is not answering" in down.value.message
    assert "try again in a few seconds" in down.value.message

    hub.up, hub.answer = True, found(jwt_of(), "jupyterhub")
    await asyncio.sleep(0.6)  # the gap between two probes
    assert (await manager.rucio_credentials()).source == "jupyterhub"
    manager.close()


@pytest.mark.asyncio
async def test_a_refusal_by_the_hub_does_not_stop_asking_it(pool):
    hub = RemoteSource("jupyterhub", CredentialsExpired("JupyterHub refused this server's API token."))
    manager = manager_with(pool, hub)
    for _ in range(3):
        with pytest.raises(CredentialsExpired):
            await manager.rucio_credentials()
    assert hub.calls == 3
    manager.close()
