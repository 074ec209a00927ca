"""pytest plugin: a real local data lake for the integration tests.

Fixtures
--------
``lake`` (session)
    A started :class:`escape_dlaas.lake.Lake` in a temporary state directory, on free
    ports (never the demo lake's), with short-lived tokens (60 s, or
    ``$ESCAPE_DLAAS_TEST_LAKE_TOKEN_LIFETIME``). Stopped and deleted at the end of the
    session; the teardown fails if a lake process is left behind.
    With ``ESCAPE_DLAAS_TEST_LAKE_DIR=/some/dir`` the lake lives there instead and keeps
    its database between sessions (a warm start takes seconds); it is stopped at the end
    only if this session started it.
``lake_info`` (session)
    ``load_lake_info`` of that lake: URLs, users, RSEs and the ``scenarios``.
``generic_lake``, ``generic_lake_info`` (session)
    A second lake, the same but running Rucio's stock **generic** permission policy
    (``escape-dlaas lake up --policy generic``: only root and admins may update or delete
    rules; no embargo), in its own temporary state directory on its own free ports.
    Started only when a test asks for it (~10 s more, ~0.5 GB of memory), stopped and
    deleted at the end of the session. ``ESCAPE_DLAAS_TEST_GENERIC_LAKE_DIR`` reuses a
    persistent one, like ``ESCAPE_DLAAS_TEST_LAKE_DIR`` above.
``rucio_client_for``, ``generic_rucio_client_for``
    ``rucio_client_for(token, account=None)``: a rucio-clients ``Client`` of that lake using
    that token (``auth_type='oidc'``), which can never fall into the interactive OIDC login.
``lake_server_config(info, root_dir)`` (a function)
    A pytest-jupyter ``jp_server_config`` with the extension pointed at that lake, e.g. in
    a test module about the generic policy::

        @pytest.fixture
        def jp_server_config(generic_lake_info, tmp_path):
            return lake_server_config(generic_lake_info, tmp_path)

Register with ``pytest_plugins = ("tests.fixtures_lake",)`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from escape_dlaas.lake import Lake, LakeInfo, Ports, free_ports, load_lake_info
from escape_dlaas.lake.procs import group_members, load, process_alive

ENV_REUSE = "ESCAPE_DLAAS_TEST_LAKE_DIR"
ENV_REUSE_GENERIC = "ESCAPE_DLAAS_TEST_GENERIC_LAKE_DIR"
ENV_TOKEN_LIFETIME = "ESCAPE_DLAAS_TEST_LAKE_TOKEN_LIFETIME"
START_TIMEOUT = 180.0


def _lake_processes(lake: Lake) -> list[int]:
    """PIDs of every process a lake recorded (leaders and their process groups) still alive."""
    alive: set[int] = set()
    for record_file in lake.paths.run_dir.glob("*.json"):
        record = load(record_file)
        if record is None:
            continue
        if process_alive(record.pid, record.start_ticks):
            alive.add(record.pid)
        alive.update(group_members(record.pgid))
    return sorted(alive)


def _logs_with_tokens(lake: Lake) -> list[str]:
    """The lake's process logs (Rucio, issuer, daemons, ...) that contain a signed JWT."""
    from tests.conftest import JWT_RE

    logs = lake.paths.root / "logs"
    found = []
    for path in sorted(logs.glob("*")) if logs.is_dir() else []:
        if path.is_file() and JWT_RE.search(path.read_text(errors="replace")):
            found.append(path.name)
    return found


@contextlib.contextmanager
def _session_lake(tmp_path_factory: pytest.TempPathFactory, *, policy: str, reuse_env: str) -> Iterator[Lake]:
    """A started lake running that Rucio policy; checked for leftover processes and leaked tokens at the end."""
    reuse = os.environ.get(reuse_env)
    if reuse:
        state_dir = Path(reuse).expanduser().resolve()
        recorded = Lake(state_dir)  # the ports and token lifetime of an earlier session, if any
        initialised = (state_dir / "lake.json").exists()
        ports = recorded.ports if initialised else Ports(*free_ports(4))
        lifetime = int(os.environ.get(ENV_TOKEN_LIFETIME, recorded.token_lifetime if initialised else 60))
        lake = Lake(state_dir, ports=ports, token_lifetime=lifetime, policy=policy)
        was_running = lake.status().running
    else:
        # Short path: PostgreSQL's socket path must stay under 107 bytes.
        state_dir = Path(tempfile.mkdtemp(prefix=f"lake-{policy}-", dir=tmp_path_factory.getbasetemp()))
        lifetime = int(os.environ.get(ENV_TOKEN_LIFETIME, "60"))
        lake = Lake(state_dir, ports=Ports(*free_ports(4)), token_lifetime=lifetime, policy=policy)
        was_running = False
    try:
        lake.up(timeout=START_TIMEOUT)
        yield lake
    finally:
        leaks = _logs_with_tokens(lake)
        if not was_running:
            lake.down()
            left = _lake_processes(lake)
            if not reuse:
                lake.reset()  # also frees PostgreSQL's data kept outside a root-only temp dir
            if left:
                pytest.fail(f"'lake down' left processes behind: {left}")
        if leaks:
            pytest.fail(f"a token was written to the lake's logs: {', '.join(leaks)}")


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with _session_lake(tmp_path_factory, policy="demo", reuse_env=ENV_REUSE) as started:
        yield started


@pytest.fixture(scope="session")
def lake_info(lake: Lake) -> LakeInfo:
    return load_lake_info(lake.paths.root)


@pytest.fixture(scope="session")
def generic_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with _session_lake(tmp_path_factory, policy="generic", reuse_env=ENV_REUSE_GENERIC) as started:
        yield started


@pytest.fixture(scope="session")
def generic_lake_info(generic_lake: Lake) -> LakeInfo:
    return load_lake_info(generic_lake.paths.root)


def lake_server_config(info: LakeInfo, root_dir: Path) -> dict[str, Any]:
    """A ``jp_server_config``: the extension enabled, with that lake's ``local-lake`` instance (a fresh copy)."""
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True, "root_dir": str(root_dir)},
        "DLaaS": json.loads(info.jupyter_config.read_text())["DLaaS"],
    }


@contextlib.contextmanager
def _bearer_token_env(token: str) -> Iterator[None]:
    # rucio-clients reads a ready-made OIDC token at construction only through WLCG
    # bearer-token discovery; set it just for the constructor.
    saved = {k: os.environ.pop(k) for k in ("BEARER_TOKEN", "BEARER_TOKEN_FILE") if k in os.environ}
    os.environ["BEARER_TOKEN"] = token
    try:
        yield
    finally:
        os.environ.pop("BEARER_TOKEN", None)
        os.environ.update(saved)


def _rucio_client_factory(lake_info: LakeInfo) -> Callable[..., Any]:
    from rucio.client import Client

    def keep_the_token() -> bool:
        # Rucio answers 401 for a refused token and for AccessDenied alike; the client would then
        # start the interactive OIDC login. Keeping the token instead lets the client raise the
        # server's own exception class (CannotAuthenticate, AccessDenied) after its retries.
        return True

    def make(token: str, account: str | None = None) -> Any:
        with _bearer_token_env(token):
            client = Client(
                rucio_host=lake_info.rucio_url,
                auth_host=lake_info.auth_url,
                account=account or lake_info.demo_user,
                auth_type="oidc",
                vo=lake_info.vo,
                timeout=30,
            )
        client.auth_token = token
        # Name-mangled private method: on a 401 the client would otherwise prompt on stdin.
        client._BaseClient__get_token = keep_the_token
        return client

    return make


@pytest.fixture
def rucio_client_for(lake_info: LakeInfo) -> Callable[..., Any]:
    return _rucio_client_factory(lake_info)


@pytest.fixture
def generic_rucio_client_for(generic_lake_info: LakeInfo) -> Callable[..., Any]:
    return _rucio_client_factory(generic_lake_info)
