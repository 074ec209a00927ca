"""The token domain against the real local lake: its OIDC issuer (RFC 8693) and its Rucio server.

Uses the session fixtures of tests/fixtures_lake.py: ``lake`` (the running
:class:`escape_dlaas.lake.Lake`, with short-lived tokens) and ``lake_info`` (its lake.json).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from escape_dlaas.auth import TokenManager, read_claims
from escape_dlaas.config import InstanceConfig, parse_instance
from escape_dlaas.errors import ServiceUnavailable
from escape_dlaas.lake import Lake, LakeInfo
from escape_dlaas.lake.procs import load as load_process_record

pytestmark = pytest.mark.integration


def lake_instance(lake: LakeInfo, *, timeout: float = 10, margin: int | None = None) -> InstanceConfig:
    """alice's token file as the source, exchanged at the lake's issuer by the exchange client."""
    client = lake.issuer.clients["exchange"]
    exchange: dict[str, Any] = {
        "issuer": lake.issuer.url,
        "client_id": client.client_id,
        "client_secret_file": str(client.secret_file),
        "audience": "rucio",
        "scope": "openid profile",
    }
    if margin is not None:
        exchange["refresh_margin_seconds"] = margin
    return parse_instance(
        {
            "name": "lake-auth-test",
            "rucio_url": lake.rucio_url,
            "auth_url": lake.auth_url,
            "vo": lake.vo,
            "ca_bundle": str(lake.issuer.ca_bundle),
            "timeout_seconds": timeout,
            "token_sources": [{"type": "file", "path": str(lake.user().token_file)}],
            "token_exchange": exchange,
        },
        "instances[0]",
    )


def rucio_whoami(lake: LakeInfo, token: str) -> dict[str, Any]:
    """Ask the lake's Rucio server who this token is: proves Rucio accepts the exchanged token."""
    response = requests.get(
        f"{lake.rucio_url}/accounts/whoami",
        headers={"X-Rucio-Auth-Token": token, "X-Rucio-VO": lake.vo, "Accept": "application/json"},
        timeout=15,
    )
    assert response.status_code == 200, f"Rucio refused the exchanged token: HTTP {response.status_code}"
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="auth-lake")
    yield executor
    executor.shutdown(wait=False, cancel_futures=True)


@pytest.mark.asyncio
async def test_alices_token_is_exchanged_for_one_rucio_accepts(lake_info: LakeInfo, pool: ThreadPoolExecutor) -> None:
    lake = lake_info
    alice = lake.user()
    subject_claims = read_claims(alice.token_file.read_text())
    assert subject_claims is not None
    assert subject_claims.aud != ("rucio",)  # the hub-audience token, not usable at Rucio as it is

    manager = TokenManager(lake_instance(lake), pool)
    credentials = await manager.rucio_credentials()
    assert credentials.exchanged
    assert credentials.token is not None
    claims = credentials.claims
    assert claims is not None
    assert claims.aud == ("rucio",)
    assert claims.iss == lake.issuer.url
    assert claims.sub == alice.sub

    summary = manager.summary()
    assert summary["sub"] == alice.sub
    assert summary["aud"] == ["rucio"]
    assert summary["source"] == f"file:{alice.token_file}"
    assert credentials.token not in repr(summary)

    assert rucio_whoami(lake, credentials.token)["account"] == alice.account
    manager.close()


@pytest.mark.asyncio
async def test_calls_keep_working_across_several_token_lifetimes(lake_info: LakeInfo, pool: ThreadPoolExecutor) -> None:
    lake = lake_info
    lifetime = lake.issuer.token_lifetime_seconds
    if lifetime > 60:
        pytest.skip(f"the lake issues {lifetime} s tokens; this run needs a lake with short-lived tokens (<= 60 s)")
    manager = TokenManager(lake_instance(lake, margin=60), pool, subject_recheck_seconds=1)
    alice = lake.user()
    tokens: set[str] = set()
    deadline = time.time() + 2.5 * lifetime + 2
    while time.time() < deadline:
        credentials = await manager.rucio_credentials()
        assert credentials.token is not None
        assert credentials.expires_at is not None
        assert credentials.expires_at > time.time()
        assert rucio_whoami(lake, credentials.token)["account"] == alice.account
        tokens.add(credentials.token)
        await asyncio.sleep(1)
    # At least one refresh per lifetime; never one per call.
    assert 3 <= len(tokens) <= 2.5 * lifetime
    manager.close()


@contextlib.contextmanager
def issuer_paused(lake: Lake) -> Iterator[None]:
    """An outage of the real issuer: its process group is stopped (not killed) and resumed after."""
    record = load_process_record(lake.paths.pid_record("issuer"))
    if record is None:
        pytest.fail("the lake has no process record for its issuer")
    os.killpg(record.pgid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(record.pgid, signal.SIGCONT)


@pytest.mark.asyncio
async def test_issuer_outage_then_recovery(lake: Lake, lake_info: LakeInfo, pool: ThreadPoolExecutor) -> None:
    manager = TokenManager(lake_instance(lake_info, timeout=2), pool)
    assert (await manager.rucio_credentials()).exchanged
    with issuer_paused(lake):
        manager.invalidate()  # as after a Rucio 401: a new exchange is needed now
        with pytest.raises(ServiceUnavailable) as failed:
            await manager.rucio_credentials()
        assert failed.value.service == "token issuer"
    # Recovery: the next call after the outage exchanges again, without a restart.
    deadline = time.time() + 20
    while True:
        try:
            credentials = await manager.rucio_credentials()
            break
        except ServiceUnavailable:
            if time.time() > deadline:
                raise
            await asyncio.sleep(0.5)
    assert credentials.token is not None
    assert rucio_whoami(lake_info, credentials.token)["account"] == lake_info.user().account
    manager.close()
