"""TokenClient's transport: a keep-alive connection the server drops as it is reused is tried again once,
for reads only; a read timeout is not tried again.

A raw socket server plays the part (not Rucio): it answers the first request of a connection and, as
told, drops the connection on the next one without answering, the race a real keep-alive server
(gunicorn closes idle connections after 2 s) wins now and then.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from rucio.common import exception as rucio_exc

from escape_dlaas.config import parse_instance
from escape_dlaas.rucio.client import TokenClient

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"version": "41"}'


@dataclass
class DroppingServer:
    """Answers the first request on each connection; on later ones drops (``drop``) or stays silent (``silent``)."""

    behaviour: str = "drop"
    requests: list[str] = field(default_factory=list)
    sock: socket.socket = field(default_factory=socket.socket)

    def start(self) -> int:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        threading.Thread(target=self._accept, daemon=True).start()
        return int(self.sock.getsockname()[1])

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            served = 0
            while True:
                request = self._read_request(conn)
                if request is None:
                    return
                self.requests.append(request)
                if served > 0 and self.behaviour == "drop":
                    return  # closed without an answer
                if self.behaviour == "silent":
                    time.sleep(2)
                    return
                conn.sendall(ANSWER)
                served += 1

    @staticmethod
    def _read_request(conn: socket.socket) -> str | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
        )
        while len(body) < length:
            body += conn.recv(4096)
        return head.split(b"\r\n")[0].decode()


@pytest.fixture
def server() -> Iterator[DroppingServer]:
    dropping = DroppingServer()
    yield dropping
    dropping.sock.close()


def client_for(port: int, timeout: float = 5) -> TokenClient:
    config = parse_instance(
        {
            "name": "t",
            "rucio_url": f"http://127.0.0.1:{port}",
            "timeout_seconds": timeout,
            "token_sources": [{"type": "env", "variable": "T"}],
        },
        "instances[0]",
    )
    client = TokenClient(config)
    client.set_credentials("not-a-real-token", "alice")
    return client


def test_a_read_on_a_connection_dropped_as_it_is_reused_is_sent_again_on_a_new_one(server: DroppingServer) -> None:
    client = client_for(server.start())
    assert client.ping_server() == {"version": "41"}
    assert client.ping_server() == {"version": "41"}  # the kept connection is dropped: sent again, answered
    assert server.requests == ["GET /ping HTTP/1.1"] * 3
    # rucio-clients' own request path too (each call finds the previous connection kept, and dropped)
    assert client.list_scopes() == {"version": "41"}
    assert client.list_scopes() == {"version": "41"}
    assert server.requests[3:] == ["GET /scopes/ HTTP/1.1"] * 4


def test_a_session_made_anew_gets_the_same_transport(server: DroppingServer) -> None:
    client = client_for(server.start())
    client.session = requests.Session()  # as rucio-clients does after a 401
    client.ping_server()
    client.ping_server()
    assert len(server.requests) == 3


def test_a_write_is_never_sent_twice(server: DroppingServer) -> None:
    client = client_for(server.start())
    client.ping_server()
    with pytest.raises(rucio_exc.ServerConnectionException):
        client.add_scope("alice", "user.alice")  # POST on the kept connection, dropped: not sent again
    assert [r.split()[0] for r in server.requests] == ["GET", "POST"]


def test_a_read_sent_as_post_is_sent_again_too(server: DroppingServer) -> None:
    client = client_for(server.start())
    client.ping_server()
    # get_metadata_bulk: POST /dids/bulkmeta, a read; dropped on the kept connection, answered on a new one
    assert list(client.get_metadata_bulk([{"scope": "user.alice", "name": "x"}])) == [{"version": "41"}]
    assert [r.split()[:2] for r in server.requests[1:]] == [["POST", "/dids/bulkmeta"]] * 2


def test_a_read_timeout_is_not_tried_again() -> None:
    silent = DroppingServer(behaviour="silent")
    try:
        client = client_for(silent.start(), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            client.ping_server()
        assert time.monotonic() - started < 1.5  # one timeout's wait, not two
        assert len(silent.requests) == 1
    finally:
        silent.sock.close()
