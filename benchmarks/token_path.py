"""The token path, measured: how often the extension exchanges, what a refresh adds, expiry under load.

    cd /work/main && .venv/bin/python benchmarks/token_path.py [--lake-dir DIR] [--hub-minutes 5]

1. Exchanges per hour per user, with 60 s and 1 h tokens: escape-dlaas's own TokenManager on a
   simulated clock (one request every 5 s for an hour; the subject token renewed as the lake's
   hub renews it, refresh_ahead with half the life or 300 s left); the exchanger counts instead of calling the issuer.
2. Added latency of a request that triggers a refresh: the same TokenManager against the real
   lake (its token file, the real issuer's RFC 8693 exchange), a cached answer against one that
   must read the source and exchange.
3. 20 concurrent requests at the moment of expiry: the cached Rucio token is made to be within
   seconds of its end, then 20 requests at once: how many exchanges, how many failures.
4. ``--hub-minutes N`` (opt-in): a real JupyterHub in front of the lake (60 s tokens), alice
   logged in through it, N minutes of search / availability / whoami through her server: failed
   requests (expected 0), hub refreshes and exchanges seen.

Uses (or starts, with 60 s tokens) a lake on free ports; prints a table and writes
``benchmarks/results/token-path-<timestamp>.json``. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from escape_dlaas.auth.exchange import ExchangedToken, TokenExchanger  # noqa: E402
from escape_dlaas.auth.manager import TokenManager  # noqa: E402
from escape_dlaas.auth.sources import FoundToken, TokenSource  # noqa: E402
from escape_dlaas.config import parse_instance  # noqa: E402
from escape_dlaas.lake import Lake, LakeInfo, Ports, free_ports, load_lake_info  # noqa: E402
from escape_dlaas.lake.hub import refresh_settings  # noqa: E402

SIMULATED_ISSUER = "https://iam.example.org/"


# ---- 1. exchanges per hour, simulated clock ------------------------------------------------------


class SimulatedHub(TokenSource):
    """The hub's auth_state: a subject token renewed with the lake hub's margin left (refresh_ahead)."""

    kind = "jupyterhub"

    def __init__(self, lifetime: float, clock: list[float]):
        super().__init__("jupyterhub")
        self.lifetime, self.clock, self.issued, self.count = lifetime, clock, -1e18, 0
        self.margin = refresh_settings(int(lifetime))[1]

    def fetch(self) -> FoundToken:
        now = self.clock[0]
        if self.issued + self.lifetime - now <= self.margin:
            self.issued, self.count = now, self.count + 1
        return FoundToken.from_text(
            f"subject-{self.count}", self.label, issuer=SIMULATED_ISSUER, expires_at=self.issued + self.lifetime
        )


class CountingExchanger(TokenExchanger):
    """Issues Rucio tokens of the issuer's lifetime without asking one; counts the exchanges."""

    def __init__(self, config: Any, lifetime: float, clock: list[float]):
        super().__init__(config, clock=lambda: clock[0])
        self.lifetime, self.now, self.count = lifetime, clock, 0

    def exchange(self, subject: FoundToken) -> ExchangedToken:
        self.count += 1
        return ExchangedToken(token=f"rucio-{self.count}", claims=None, expires_at=self.now[0] + self.lifetime)


def _instance(lifetime: int) -> Any:
    return parse_instance(
        {
            "name": "sim",
            "rucio_url": "https://rucio.example.org",
            "token_sources": [{"type": "jupyterhub"}],
            "token_exchange": {
                "issuer": SIMULATED_ISSUER,
                "client_id": "escape-dlaas",
                "client_secret_env": "UNUSED",
                # What the local lake configures: a quarter of the life, at most a minute.
                "refresh_margin_seconds": max(5, min(60, lifetime // 4)),
            },
        },
        "sim",
    )


async def exchanges_per_hour(lifetime: int, request_every: float = 5.0) -> dict[str, Any]:
    clock = [0.0]
    instance = _instance(lifetime)
    hub = SimulatedHub(lifetime, clock)
    assert instance.token_exchange is not None
    exchanger = CountingExchanger(instance.token_exchange, lifetime, clock)
    with ThreadPoolExecutor(2) as executor:
        manager = TokenManager(instance, executor, sources=[hub], exchanger=exchanger, clock=lambda: clock[0])
        requests_made = 0
        while clock[0] < 3600:
            await manager.rucio_credentials()
            requests_made += 1
            clock[0] += request_every
    return {
        "token_lifetime_s": lifetime,
        "requests": requests_made,
        "exchanges_per_hour": exchanger.count,
        "hub_refreshes_per_hour": hub.count,
    }


# ---- 2 and 3: the real lake -----------------------------------------------------------------------


@contextlib.contextmanager
def a_lake(lake_dir: str | None) -> Iterator[LakeInfo]:
    if lake_dir and (Path(lake_dir) / "lake.json").exists():
        Lake(Path(lake_dir)).up()
        yield load_lake_info(Path(lake_dir))
        return
    root = Path(lake_dir) if lake_dir else Path(tempfile.mkdtemp(prefix="lake-tokens-"))
    lake = Lake(root, ports=Ports(*free_ports(4)), token_lifetime=60)
    lake.up()
    try:
        yield load_lake_info(root)
    finally:
        if not lake_dir:
            lake.reset()


def _lake_manager(info: LakeInfo, executor: ThreadPoolExecutor) -> tuple[TokenManager, list[float]]:
    """The extension's manager for the lake's instance (token file + real exchange); counts exchanges."""
    raw = json.loads(info.jupyter_config.read_text())["DLaaS"]["instances"][0]
    instance = parse_instance(raw, "lake")
    assert instance.token_exchange is not None
    exchanger = TokenExchanger(instance.token_exchange, ca_bundle=instance.ca_bundle, timeout=30)
    timings: list[float] = []
    real = exchanger.exchange

    def timed(subject: FoundToken) -> ExchangedToken:
        started = time.perf_counter()
        try:
            return real(subject)
        finally:
            timings.append(time.perf_counter() - started)

    exchanger.exchange = timed  # type: ignore[method-assign]
    return TokenManager(instance, executor, exchanger=exchanger), timings


def expire_soon(manager: TokenManager) -> None:
    """The cached Rucio token now ends in 3 s: inside every margin, as at the moment of expiry."""
    cached = manager.current()
    assert cached is not None
    manager._cached = dataclasses.replace(cached, expires_at=time.time() + 3)


async def refresh_latency(info: LakeInfo, rounds: int = 20) -> dict[str, Any]:
    with ThreadPoolExecutor(4) as executor:
        manager, exchanges = _lake_manager(info, executor)
        await manager.rucio_credentials()
        cached, refreshing = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            await manager.rucio_credentials()
            cached.append(time.perf_counter() - started)
            expire_soon(manager)  # the next request must read the source and exchange
            started = time.perf_counter()
            await manager.rucio_credentials()
            refreshing.append(time.perf_counter() - started)
        manager.close()
    return {
        "rounds": rounds,
        "cached_ms_median": 1000 * statistics.median(cached),
        "refreshing_ms_median": 1000 * statistics.median(refreshing),
        "refreshing_ms_max": 1000 * max(refreshing),
        "added_ms_median": 1000 * (statistics.median(refreshing) - statistics.median(cached)),
        "exchange_ms_median": 1000 * statistics.median(exchanges),
    }


async def concurrent_at_expiry(info: LakeInfo, concurrency: int = 20) -> dict[str, Any]:
    with ThreadPoolExecutor(8) as executor:
        manager, exchanges = _lake_manager(info, executor)
        first = await manager.rucio_credentials()
        before = len(exchanges)
        assert first.token
        expire_soon(manager)
        results = await asyncio.gather(
            *(manager.rucio_credentials() for _ in range(concurrency)), return_exceptions=True
        )
        manager.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    tokens = {r.token for r in results if not isinstance(r, BaseException)}
    return {
        "concurrent_requests": concurrency,
        "exchanges": len(exchanges) - before,
        "failures": len(failures),
        "distinct_tokens_served": len(tokens),
    }


# ---- 4. a real hub for minutes ---------------------------------------------------------------------


def hub_session(info: LakeInfo, minutes: float) -> dict[str, Any]:
    from escape_dlaas.lake.hub import LakeHub

    api = "escape-dlaas/instances/local-lake"
    with LakeHub(info) as hub:
        admin = {"Authorization": f"token {hub.admin_token()}"}
        _log_in(hub.url, info)
        requests.post(f"{hub.api_url}/users/alice/server", headers=admin, timeout=30)
        while (
            not requests.get(f"{hub.api_url}/users/alice", headers=admin, timeout=10)
            .json()["servers"]
            .get("", {})
            .get("ready")
        ):
            time.sleep(0.5)
        token = requests.post(
            f"{hub.api_url}/users/alice/tokens",
            headers=admin,
            json={"scopes": ["access:servers!user=alice"]},
            timeout=30,
        ).json()["token"]
        user = {"Authorization": f"token {token}"}
        scenario = info.scenarios.metadata_search if info.scenarios else None
        search = {"filter": scenario.filter_string if scenario else "", "type": "dataset"}
        dids = list(scenario.expected) if scenario else []
        failures: list[str] = []
        hub_tokens: set[str] = set()
        rucio_expiries: set[int] = set()
        made = 0
        end = time.monotonic() + 60 * minutes
        while time.monotonic() < end:
            for method, path, kwargs in (
                ("GET", "search", {"params": search}),
                ("POST", "availability", {"json": {"dids": dids}}),
                ("GET", "whoami", {}),
            ):
                answer = requests.request(
                    method, f"{hub.url}/user/alice/{api}/{path}", headers=user, timeout=60, **kwargs
                )
                made += 1
                if answer.status_code != 200:
                    failures.append(f"{method} {path}: {answer.status_code}")
                elif path == "whoami":
                    rucio_expiries.add(int(answer.json()["token"]["exp"]))
            state = requests.get(f"{hub.api_url}/users/alice", headers=admin, timeout=10).json()["auth_state"]
            hub_tokens.add(state["access_token"][-16:])
            time.sleep(2)
    return {
        "minutes": minutes,
        "token_lifetime_s": info.issuer.token_lifetime_seconds,
        "requests": made,
        "failed_requests": len(failures),
        "failures": failures[:10],
        "hub_tokens_seen": len(hub_tokens),
        "rucio_tokens_seen": len(rucio_expiries),
    }


def _log_in(hub_url: str, info: LakeInfo, user: str = "alice") -> None:
    session = requests.Session()
    ca = str(info.issuer.ca_bundle)
    authorize = session.get(f"{hub_url}/hub/oauth_login", allow_redirects=False, timeout=30).headers["Location"]
    password = info.user(user).password_file.read_text().strip()
    callback = session.post(
        authorize, data={"username": user, "password": password}, verify=ca, allow_redirects=False, timeout=30
    ).headers["Location"]
    session.get(callback, allow_redirects=False, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake-dir", help="a lake to use (started if needed); default: a new one with 60 s tokens")
    parser.add_argument("--hub-minutes", type=float, default=0, help="also run a real hub session this long")
    args = parser.parse_args()
    results: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["exchanges_per_hour"] = [asyncio.run(exchanges_per_hour(lifetime)) for lifetime in (60, 3600)]
    with a_lake(args.lake_dir) as info:
        results["lake_token_lifetime_s"] = info.issuer.token_lifetime_seconds
        results["refresh_latency"] = asyncio.run(refresh_latency(info))
        results["concurrent_at_expiry"] = asyncio.run(concurrent_at_expiry(info))
        if args.hub_minutes > 0:
            results["hub_session"] = hub_session(info, args.hub_minutes)
    for row in results["exchanges_per_hour"]:
        print(
            f"{row['token_lifetime_s']:>5} s tokens: {row['exchanges_per_hour']} exchanges/hour/user "
            f"({row['hub_refreshes_per_hour']} hub refreshes, one request every 5 s)"
        )
    latency = results["refresh_latency"]
    print(
        f"refresh adds {latency['added_ms_median']:.1f} ms (median; cached {latency['cached_ms_median']:.2f} ms, "
        f"refreshing {latency['refreshing_ms_median']:.1f} ms, max {latency['refreshing_ms_max']:.1f} ms)"
    )
    burst = results["concurrent_at_expiry"]
    print(
        f"{burst['concurrent_requests']} concurrent requests at expiry: {burst['exchanges']} exchange(s), "
        f"{burst['failures']} failure(s)"
    )
    if "hub_session" in results:
        hub = results["hub_session"]
        print(
            f"hub, {hub['minutes']:g} min with {hub['token_lifetime_s']} s tokens: {hub['requests']} requests, "
            f"{hub['failed_requests']} failed; {hub['hub_tokens_seen']} hub tokens, {hub['rucio_tokens_seen']} Rucio tokens"
        )
    out = HERE / "results" / f"token-path-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
