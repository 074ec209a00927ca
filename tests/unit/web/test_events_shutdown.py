"""Stopping the server closes the event hubs: their broker subscriptions end, their threads too."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from escape_dlaas.web.app import DLaaS
from escape_dlaas.web.events_handlers import hub_for


class StandInBroker:
    """Just enough STOMP on 127.0.0.1: it records the client's frames, and hangs up after DISCONNECT as brokers do."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commands: list[str] = []
        self.subscribed = threading.Event()
        self.disconnected = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            buffer = b""
            while not self.disconnected.is_set():
                data = connection.recv(4096)
                if not data:
                    break
                buffer += data
                while b"\0" in buffer:
                    frame, buffer = buffer.split(b"\0", 1)
                    lines = frame.lstrip(b"\r\n").decode().split("\n")
                    command, headers = lines[0], dict(h.split(":", 1) for h in lines[1:] if ":" in h)
                    self.commands.append(command)
                    if command in ("CONNECT", "STOMP"):
                        connection.sendall(b"CONNECTED\nversion:1.2\n\n\0")
                    elif command == "SUBSCRIBE":
                        self.subscribed.set()
                    if "receipt" in headers:
                        connection.sendall(f"RECEIPT\nreceipt-id:{headers['receipt']}\n\n\0".encode())
                    if command == "DISCONNECT":
                        self.disconnected.set()
                        break

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def broker() -> Iterator[StandInBroker]:
    stand_in = StandInBroker()
    yield stand_in
    stand_in.close()


@pytest.fixture
def jp_server_config(broker: StandInBroker) -> dict:
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True},
        "DLaaS": {
            "instances": [
                {
                    "name": "live",
                    "rucio_url": "http://127.0.0.1:9",
                    "token_sources": [{"type": "env", "variable": "DLAAS_TEST_TOKEN"}],
                    "events": {"brokers": [f"127.0.0.1:{broker.port}"]},
                }
            ]
        },
    }


async def test_stopping_the_extension_disconnects_from_the_broker_and_ends_the_thread(jp_serverapp, broker):
    (extension,) = jp_serverapp.extension_manager.extension_apps["escape_dlaas"]
    assert isinstance(extension, DLaaS)
    hub = hub_for(extension.settings, extension.registry.instance("live"))
    queue = hub.listen()  # as a browser's event stream
    subscriber = hub._subscriber
    assert subscriber is not None
    assert await asyncio.to_thread(broker.subscribed.wait, 5), broker.commands
    assert subscriber.alive

    await extension.stop_extension()  # what the server does when it stops

    assert not subscriber.alive, "the subscriber's thread ended"
    assert await asyncio.to_thread(broker.disconnected.wait, 5), broker.commands
    assert "event_hubs" not in extension.settings["escape_dlaas"]
    assert hub.live is False
    hub.unlisten(queue)  # the browser's stream ends after the hub closed: nothing is restarted
    assert hub._subscriber is None
