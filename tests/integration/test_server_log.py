"""One log for the administrator: the extension's lines appear in a real Jupyter server's output,
in the server's format with its timestamps, INFO lines included, and never with a token.

Starts ``jupyter server`` as a subprocess on a free port of 127.0.0.1 (no lake needed: the
instance points at a port where nothing listens, which also makes the extension log a failure).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from escape_dlaas import __version__

pytestmark = pytest.mark.integration

# What a line of Jupyter's own log looks like: "[I 2026-12-02 10:12:31.123 ServerApp] ..."
SERVER_LINE = r"\[{level} \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{3}} {logger}\] "


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# The user's token (a JWT meant for Rucio, so that it is sent): it must never reach the log.
SECRET = f"{_b64({'alg': 'RS256'})}.{_b64({'sub': 'alice', 'aud': 'rucio'})}.c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerOutput:
    """Collects a process's output lines as they come."""

    def __init__(self, process: subprocess.Popen[str]):
        self.lines: list[str] = []
        self._lock = threading.Lock()
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text(), re.MULTILINE)
            if found:
                return found.group(0)
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in the server's output:\n{self.text()[-3000:]}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, ServerOutput]]:
    port, token = free_port(), "log-test-server-token"
    config = {
        "ServerApp": {
            "ip": "127.0.0.1",
            "port": port,
            "port_retries": 0,
            "open_browser": False,
            "allow_root": True,
            "root_dir": str(tmp_path),
            "jpserver_extensions": {"escape_dlaas": True},
            "IdentityProvider": {"token": token},
        },
        "IdentityProvider": {"token": token},
        "DLaaS": {
            "instances": [
                {
                    "name": "t",
                    "rucio_url": "http://127.0.0.1:1",
                    "timeout_seconds": 2,
                    "token_sources": [{"type": "env", "variable": "ESCAPE_DLAAS_LOG_TEST_TOKEN"}],
                }
            ]
        },
    }
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_CONFIG_PATH": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "ESCAPE_DLAAS_LOG_TEST_TOKEN": SECRET,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = ServerOutput(process)
    try:
        yield f"http://127.0.0.1:{port}", token, output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_the_extensions_lines_are_in_the_servers_log_with_its_timestamps(server):
    url, token, output = server
    # INFO at start: which instances this server serves
    output.wait_for(
        SERVER_LINE.format(level="I", logger=r"escape_dlaas")
        + re.escape(f"escape-dlaas {__version__}: instance t at http://127.0.0.1:1 (timeout 2 s)")
    )
    output.wait_for(SERVER_LINE.format(level="I", logger="ServerApp") + ".*Jupyter Server .* is running at")

    headers = {"Authorization": f"token {token}"}
    answer = requests.get(f"{url}/escape-dlaas/instances/t/scopes", headers=headers, timeout=30)
    assert answer.status_code == 503
    # a failure: the request and the service at fault, then the breaker opening, as WARNING lines
    output.wait_for(
        SERVER_LINE.format(level="W", logger=r"escape_dlaas")
        + re.escape(
            "GET /escape-dlaas/instances/t/scopes: 503 Cannot list scopes: Rucio at http://127.0.0.1:1 is unreachable."
        )
    )
    output.wait_for(
        SERVER_LINE.format(level="W", logger=r"escape_dlaas\.resilience")
        + re.escape("Rucio at http://127.0.0.1:1 is not answering; failing fast until it answers again")
    )
    text = output.text()
    assert SECRET not in text
    assert SECRET.split(".")[-1] not in text
    # every line of ours carries the server's prefix (no bare last-resort lines)
    ours = [line for line in output.lines if "escape-dlaas" in line or "escape_dlaas" in line]
    assert ours
    for line in ours:
        assert re.match(SERVER_LINE.format(level="[DIWEC]", logger=r"[\w.]+"), line), line
