"""Failing fast against the real lake when a service hangs: Rucio, its PostgreSQL, the token issuer;
and a PostgreSQL that is down (stopped) named as Rucio's database, not in Rucio's internal words.

A hang is a process group stopped with SIGSTOP (connections are accepted, never answered),
resumed with SIGCONT in a ``finally``. The lake is shared by the whole session, so each test
also waits until Rucio answers again before it ends. The extension runs with a short
``timeout_seconds``: every answer must come within it (plus a second), name what is down,
and the first requests after the service is back must work. The figures are printed
(``pytest -s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from escape_dlaas.lake import Lake, LakeInfo
from escape_dlaas.lake.procs import group_members, process_alive, remnants
from escape_dlaas.lake.procs import load as load_process_record

pytestmark = pytest.mark.integration

TIMEOUT = 3  # the instance's timeout_seconds in these tests
BURST = 20
# The lake's Rucio serves 8 requests at a time (2 gunicorn workers x 4 threads, each worker with a
# queue of its own). With its database hung, every call that reaches the database holds one of them
# until the database is back; a pool of 2 keeps a thread of each worker free for /ping, as a
# production Rucio with many more workers would. 20 requests still queue for the pool.
MAX_WORKERS = 2
SEARCH = {"q": "lofar:L2023_*", "details": "names"}


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    config = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]
    config["instances"][0]["timeout_seconds"] = TIMEOUT
    config["max_workers"] = MAX_WORKERS
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True, "root_dir": str(tmp_path)},
        "DLaaS": config,
    }


@pytest.fixture
def client(jp_serverapp, http_server, jp_asyncio_loop):
    """A client that sends the whole burst at once (pytest-jupyter's allows 10 requests at a time).

    ``http_server`` makes pytest-jupyter serve the test server on ``jp_http_port``.
    """

    async def make() -> AsyncHTTPClient:  # on the loop the test runs on
        return AsyncHTTPClient(force_instance=True, max_clients=BURST * 2)

    made = jp_asyncio_loop.run_until_complete(make())
    yield made
    made.close()


@pytest.fixture
def fetch(client, jp_http_port, jp_base_url, jp_auth_header):
    """(status, JSON body, seconds) of one request to the extension, timed from the client's side."""

    async def one(*path: str, params: dict[str, str] | None = None) -> tuple[int, dict[str, Any], float]:
        url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}escape-dlaas/{'/'.join(path)}"
        if params:
            url += "?" + urlencode(params)
        started = time.monotonic()
        try:
            response = await client.fetch(url, headers=jp_auth_header, request_timeout=60)
        except HTTPClientError as error:
            assert error.response is not None, error
            return error.code, json.loads(error.response.body), time.monotonic() - started
        return response.code, json.loads(response.body), time.monotonic() - started

    return one


def instance(*path: str) -> tuple[str, ...]:
    return ("instances", "local-lake", *path)


def session_of(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["escape_dlaas"]["instances"].instance("local-lake").session


# -- the lake's processes ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def component_pids(lake: Lake, component: str) -> list[int]:
    """Every live process of a lake component: its process group, and for PostgreSQL the postmaster's backends.

    PostgreSQL's backends run in sessions of their own, so they are found as the postmaster's children.
    """
    record = load_process_record(lake.paths.pid_record(component))
    assert record is not None, f"the lake has no process record for {component}"
    pids = set(remnants(record)) | set(group_members(record.pgid))
    if component == "postgres":
        pids |= {record.pid, *_children(record.pid)}
    assert pids, f"no live process of {component}"
    return sorted(pids)


@contextlib.contextmanager
def hung(pids: list[int]) -> Iterator[None]:
    """The processes stop answering (SIGSTOP) and are resumed (SIGCONT) whatever happens."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def wait_until_rucio_answers(info: LakeInfo, token: str | None, timeout: float = 90) -> None:
    """Rucio's ping, and with a token a call that needs its database, answer again (for the next tests)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"{info.rucio_url}/ping", timeout=5).raise_for_status()
            if token:
                requests.get(
                    f"{info.rucio_url}/accounts/whoami",
                    headers={"X-Rucio-Auth-Token": token, "X-Rucio-VO": info.vo},
                    timeout=5,
                ).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


async def first_success(fetch, *path: str, params: dict[str, str] | None = None) -> tuple[float, int]:
    """Seconds until a request succeeds (asking every 0.1 s) and how many were sent."""
    started, attempts = time.monotonic(), 0
    while True:
        attempts += 1
        code, body, took = await fetch(*path, params=params)
        if code == 200:
            return time.monotonic() - started, attempts
        print(f"  after {time.monotonic() - started:.2f} s: {code} in {took:.2f} s: {body.get('message')}")
        assert time.monotonic() - started < 30, f"no recovery after 30 s: {code} {body}"
        await asyncio.sleep(0.1)


def figures(label: str, seconds: list[float]) -> str:
    spread = " ".join(f"{s:.2f}" for s in sorted(seconds))
    return f"{label}: {len(seconds)} answers, max {max(seconds):.2f} s, median {statistics.median(seconds):.2f} s ({spread})"


async def rucio_token(jp_serverapp: Any) -> str | None:
    token, _ = await session_of(jp_serverapp).rucio_token()
    return token


# -- the tests --------------------------------------------------------------------------------------


async def test_twenty_searches_against_a_hung_rucio_answer_within_the_timeout_and_recover(
    fetch, jp_serverapp, lake, lake_info
):
    code, body, _ = await fetch(*instance("search"), params=SEARCH)
    assert code == 200, body  # signed in; Rucio knows the token
    token = await rucio_token(jp_serverapp)
    try:
        with hung(component_pids(lake, "rucio")):
            answers = await asyncio.gather(*(fetch(*instance("search"), params=SEARCH) for _ in range(BURST)))
            seconds = [t for _, _, t in answers]
            print("\n" + figures(f"{BURST} searches, Rucio hung, timeout {TIMEOUT} s", seconds))
            assert max(seconds) <= TIMEOUT + 1, seconds
            for code, body, _ in answers:
                assert code in (503, 504), body
                assert body["service"] == "Rucio"
                assert f"Rucio at {lake_info.rucio_url}" in body["message"]
            code, body, took = await fetch(*instance("search"), params=SEARCH)
            print(f"a search once Rucio is known down: {code} in {took:.2f} s: {body['message']}")
            assert code == 503
            assert took <= 1.5
            assert "try again in a few seconds" in body["message"]
        resumed = time.monotonic()
        recovery, attempts = await first_success(fetch, *instance("search"), params=SEARCH)
        print(f"recovery: the search worked {recovery:.2f} s after Rucio resumed ({attempts} request(s))")
        assert recovery <= 2.0
        assert time.monotonic() - resumed < 5
    finally:
        wait_until_rucio_answers(lake_info, token)


async def test_a_hung_database_behind_rucio_is_named_within_the_timeout_and_in_the_status(
    fetch, jp_serverapp, lake, lake_info
):
    code, body, _ = await fetch(*instance("search"), params=SEARCH)
    assert code == 200, body
    code, status, _ = await fetch("status")
    assert code == 200
    assert status["instances"][0]["database"] == "ok", status
    token = await rucio_token(jp_serverapp)
    try:
        with hung(component_pids(lake, "postgres")):
            answers = await asyncio.gather(*(fetch(*instance("search"), params=SEARCH) for _ in range(BURST)))
            seconds = [t for _, _, t in answers]
            print("\n" + figures(f"{BURST} searches, PostgreSQL hung, timeout {TIMEOUT} s", seconds))
            print(f"first answer: {answers[0][0]} {answers[0][1]['message']}")
            assert max(seconds) <= TIMEOUT + 1, seconds
            for code, body, _ in answers:
                assert code in (503, 504), body
                assert body["service"] == "Rucio"
                assert "its database is not answering" in body["message"], body["message"]
                assert "DatabaseException" not in body["message"]
            # the status view says so: Rucio's front answers, its database does not
            deadline = time.monotonic() + 20
            while True:
                code, status, took = await fetch("status")
                assert code == 200
                assert took < 1.5, "the status answers at once"
                (answer,) = status["instances"]
                if answer["database"] == "unavailable":
                    break
                assert time.monotonic() < deadline, answer
                await asyncio.sleep(0.5)
            print(f"status: {answer}")
            assert answer["reachable"] is False
            assert answer["rucio_version"], "Rucio's ping still answers"
            assert "database" in answer["error"]
        recovery, attempts = await first_success(fetch, *instance("search"), params=SEARCH)
        print(f"recovery: the search worked {recovery:.2f} s after PostgreSQL resumed ({attempts} request(s))")
        assert recovery <= 5.0
        deadline = time.monotonic() + 15
        while (await fetch("status"))[1]["instances"][0]["database"] != "ok":
            assert time.monotonic() < deadline, "the status view never saw the database back"
            await asyncio.sleep(0.5)
    finally:
        wait_until_rucio_answers(lake_info, token)


async def test_a_hung_issuer_is_named_and_not_taken_for_an_expired_sign_in(fetch, jp_serverapp, lake, lake_info):
    code, body, _ = await fetch(*instance("search"), params=SEARCH)
    assert code == 200, body
    token = await rucio_token(jp_serverapp)
    session = session_of(jp_serverapp)
    try:
        with hung(component_pids(lake, "issuer")):
            session.tokens.invalidate()  # as after Rucio refused the token: it must be exchanged anew
            code, body, took = await fetch(*instance("search"), params=SEARCH)
            print(f"\nissuer hung: {code} in {took:.2f} s: {body['message']}")
            assert code in (503, 504), body
            assert body["service"] == "token issuer"
            assert lake_info.issuer.url in body["message"]
            assert took <= TIMEOUT + 1
            code, body, took = await fetch(*instance("search"), params=SEARCH)
            print(f"issuer known down: {code} in {took:.2f} s: {body['message']}")
            assert code == 503, body
            assert body["service"] == "token issuer"
            assert took <= 1.5
        recovery, attempts = await first_success(fetch, *instance("search"), params=SEARCH)
        print(f"recovery: the search worked {recovery:.2f} s after the issuer resumed ({attempts} request(s))")
        assert recovery <= 2.0
    finally:
        wait_until_rucio_answers(lake_info, token)


async def test_a_stopped_database_is_named_and_searches_work_again_once_it_is_back(
    fetch, jp_serverapp, lake, lake_info
):
    """Rucio 41 answers "DatabaseException" and "Badly formatted input (IDs?)" when its database is down."""
    code, body, _ = await fetch(*instance("search"), params=SEARCH)
    assert code == 200, body
    code, body, _ = await fetch(*instance("rules"))
    assert code == 200, body
    token = await rucio_token(jp_serverapp)
    postmaster = load_process_record(lake.paths.pid_record("postgres"))
    assert postmaster is not None
    os.kill(postmaster.pid, signal.SIGINT)  # PostgreSQL's fast shutdown: connections are refused
    try:
        deadline = time.monotonic() + 30
        while process_alive(postmaster.pid, postmaster.start_ticks):
            assert time.monotonic() < deadline, "PostgreSQL did not stop"
            time.sleep(0.2)
        for path, params in ((instance("search"), SEARCH), (instance("rules"), None)):
            code, body, took = await fetch(*path, params=params)
            print(f"\nPostgreSQL stopped: {'/'.join(path)}: {code} in {took:.2f} s: {body['message']}")
            assert code == 503, body
            assert body["service"] == "Rucio"
            assert "cannot reach its database" in body["message"]
            for internal in ("DatabaseException", "Badly formatted", "OperationalError", "psycopg"):
                assert internal not in body["message"]
            assert took <= TIMEOUT + 1
        code, status, _ = await fetch("status")
        (answer,) = status["instances"]
        print(f"status: {answer}")
        assert answer["database"] == "unavailable"
        assert answer["reachable"] is False
        assert "cannot reach its database" in answer["error"]
    finally:
        lake.up()  # restarts PostgreSQL only
        wait_until_rucio_answers(lake_info, token)
    # Rucio's pooled connections to the old PostgreSQL fail once: retried, not shown to the user
    recovery, attempts = await first_success(fetch, *instance("search"), params=SEARCH)
    print(f"recovery: the search worked {recovery:.2f} s after PostgreSQL was back ({attempts} request(s))")
    assert recovery <= 2.0
