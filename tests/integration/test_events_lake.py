"""Live events against the real lake with its broker: Rucio's hermes → RabbitMQ → the extension → the browser.

The session lake runs without events; this module turns them on (``lake up --events``: the
broker and hermes start, the rest keeps running) and off again at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from escape_dlaas.lake import Lake, LakeError, broker, procs
from escape_dlaas.lake.paths import RUNTIME_DIR
from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import call
from tests.integration.lake_datasets import fresh_dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def events_lake(lake: Lake) -> Iterator[Lake]:
    try:
        broker.check_installed()
    except LakeError:
        pytest.skip("RabbitMQ is not installed on this machine (scripts/test.sh installs rabbitmq-server)")
    with_events = Lake(lake.paths.root, events=True)
    with_events.up()
    try:
        yield with_events
    finally:
        Lake(lake.paths.root, events=False).up()  # as the other modules expect it


@pytest.fixture
def jp_server_config(events_lake, lake_info, tmp_path):
    config = lake_server_config(lake_info, tmp_path)
    events = config["DLaaS"]["instances"][0]["events"]
    events["reconnect_max_seconds"] = 1  # the broker restarts within the test
    return config


class EventStream:
    """The extension's server-sent events, read as they come."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._buffer = b""
        self._arrived = asyncio.Event()

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            for line in block.decode().splitlines():
                if line.startswith("data: "):
                    self.messages.append(json.loads(line[6:]))
                    self._arrived.set()

    async def wait_for(self, wanted: Any, timeout: float = 60, after: int = 0) -> dict[str, Any]:
        """The first message from the ``after``-th on (already seen or new) for which ``wanted(message)`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages[after:]:
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            assert left > 0, f"no such message within {timeout} s; got {self.messages}"
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def live_states(self) -> list[bool]:
        return [m["live"] for m in self.messages if m["type"] == "stream"]


@contextlib.asynccontextmanager
async def event_stream(
    jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> AsyncIterator[EventStream]:
    """The extension's event stream, open until the block ends; it starts live."""
    events = EventStream()
    client = AsyncHTTPClient(force_instance=True)
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}escape-dlaas/instances/local-lake/events"
    request = HTTPRequest(url, headers=jp_auth_header, streaming_callback=events.feed, request_timeout=600)
    reading = asyncio.ensure_future(client.fetch(request, raise_error=False))
    try:
        await events.wait_for(lambda m: m == {"type": "stream", "live": True}, timeout=30)
        yield events
    finally:
        client.close()
        reading.cancel()


def as_root(lake: Lake, script: str, *args: str) -> str:
    """Run ``script`` with Rucio's client as the lake's root account (another account than the user's); its output."""
    env = {**lake._runtime_env(), "PYTHONPATH": str(RUNTIME_DIR)}
    done = subprocess.run(
        [str(lake.venv.python), "-c", script, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def new_data(lake: Lake, purpose: str) -> str:
    """A dataset of the user's scope holding one new file, on the SAFE storage only: a rule elsewhere copies it."""
    scope, name = f"user.{lake.info().user().account}", f"{purpose}-{uuid.uuid4().hex[:12]}"
    script = (
        "import os, sys, tempfile\n"
        "from rucio.client.uploadclient import UploadClient\n"
        "scope, name = sys.argv[1], sys.argv[2]\n"
        "path = os.path.join(tempfile.mkdtemp(), name + '.dat')\n"
        "open(path, 'wb').write(os.urandom(4096))\n"
        "UploadClient().upload([{'path': path, 'rse': 'ESCAPE-SAFE', 'did_scope': scope, 'dataset_scope': scope,\n"
        "                        'dataset_name': name, 'register_after_upload': True}])\n"
        "print(scope + ':' + name)\n"
    )
    return as_root(lake, script, scope, name)


def root_rule(lake: Lake, did: str, rse: str) -> str:
    """A rule of the lake's root account on ``did``, asking Rucio to notify; its id."""
    script = (
        "import sys\nfrom rucio.client import Client\n"
        "scope, name = sys.argv[1].split(':')\n"
        "print(Client().add_replication_rule([{'scope': scope, 'name': name}], 1, sys.argv[2], notify='Y')[0])\n"
    )
    return as_root(lake, script, did, rse)


async def availability(jp_fetch, did: str) -> str:
    code, body = await call(jp_fetch, "availability", method="POST", body={"dids": [did]})
    assert code == 200, body
    return body["items"][0]["state"]


async def test_the_users_rule_is_announced_as_rucio_completes_it_and_other_accounts_rules_never(
    events_lake, jp_fetch, jp_http_port, jp_base_url, jp_auth_header, lake_info, rucio_client_for
):
    async with event_stream(jp_http_port, jp_base_url, jp_auth_header) as stream:
        await announced(events_lake, stream, jp_fetch, lake_info, rucio_client_for)


async def announced(events_lake, stream, jp_fetch, lake_info, rucio_client_for) -> None:
    did = new_data(events_lake, "events")
    others = root_rule(events_lake, did, "ESCAPE-CHEAP")  # the same data, another account's rule
    code, made = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "notebook"})
    assert code == 201, made
    rule_id = made["rule"]["id"]

    ok = await stream.wait_for(lambda m: m.get("event") == "rule_ok" and m["rule_id"] == rule_id)
    assert ok == {"type": "rule", "event": "rule_ok", "rule_id": rule_id, "did": did}
    # the event says what Rucio has: the data is at the notebook as soon as it arrives
    assert await availability(jp_fetch, did) == "AVAILABLE"
    kinds = [m["event"] for m in stream.messages if m.get("rule_id") == rule_id]
    assert "transfer-queued" in kinds
    assert "transfer-done" in kinds  # known to be this rule's by its request id
    assert others not in json.dumps(stream.messages)


async def test_changes_name_only_the_rules_updated_since_the_last_answer(
    events_lake, jp_fetch, lake_info, rucio_client_for
):
    # two rules of the test's own, in different seconds (Rucio's filter counts whole seconds, and the
    # answer's `since` is its newest rule's), so that the first answer holds more than the last second
    # whatever ran before
    older = []
    for purpose in ("changes-older", "changes-old"):
        older.append(fresh_dataset(lake_info, rucio_client_for, purpose))
        code, made = await call(jp_fetch, "rules", method="POST", body={"did": older[-1], "target": "SAFE"})
        assert code == 201, made
        await asyncio.sleep(2)  # the rule OK at once (its file is on SAFE); the daemons done with it
    code, first = await call(jp_fetch, "changes")
    assert code == 200, first
    assert first["since"] is not None
    assert set(older) <= set(first["dids"])
    did = fresh_dataset(lake_info, rucio_client_for, "changes")
    code, made = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "SAFE"})
    assert code == 201, made
    code, second = await call(jp_fetch, "changes", params={"since": first["since"]})
    assert code == 200, second
    assert did in second["dids"]
    assert older[0] not in second["dids"]  # not everything again
    code, refused = await call(jp_fetch, "changes", params={"since": "last tuesday"})
    assert code == 400
    assert refused["field"] == "since"


def stop_broker(lake: Lake) -> None:
    record = procs.load(lake.paths.pid_record("broker"))
    assert record is not None
    procs.terminate(record)


async def test_a_broker_restart_is_survived_the_state_converges_meanwhile_and_events_resume(
    events_lake, jp_fetch, jp_http_port, jp_base_url, jp_auth_header, lake_info, rucio_client_for
):
    async with event_stream(jp_http_port, jp_base_url, jp_auth_header) as stream:
        await survives_restart(events_lake, stream, jp_fetch, lake_info, rucio_client_for)


async def survives_restart(events_lake, stream, jp_fetch, lake_info, rucio_client_for) -> None:
    seen = len(stream.messages)
    stop_broker(events_lake)
    await stream.wait_for(lambda m: m == {"type": "stream", "live": False}, after=seen)

    # without the broker, the change-only poll and the availability still tell the truth
    did = new_data(events_lake, "no-broker")
    code, first = await call(jp_fetch, "changes")
    assert code == 200
    code, made = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "notebook"})
    assert code == 201, made
    deadline = time.monotonic() + 60
    while await availability(jp_fetch, did) != "AVAILABLE":
        assert time.monotonic() < deadline, "the rule never completed without the broker"
        await asyncio.sleep(0.5)
    code, changed = await call(jp_fetch, "changes", params={"since": first["since"]})
    assert did in changed["dids"]

    seen = len(stream.messages)
    await asyncio.get_running_loop().run_in_executor(None, events_lake.up)  # the broker starts again
    await stream.wait_for(lambda m: m == {"type": "stream", "live": True}, after=seen)
    assert stream.live_states()[-2:] == [False, True]

    again = new_data(events_lake, "broker-back")
    code, made = await call(jp_fetch, "rules", method="POST", body={"did": again, "target": "notebook"})
    assert code == 201, made
    await stream.wait_for(lambda m: m.get("event") == "rule_ok" and m["rule_id"] == made["rule"]["id"])


async def test_stopping_the_server_ends_the_broker_subscription_at_once(
    events_lake, jp_serverapp, jp_fetch, jp_http_port, jp_base_url, jp_auth_header
):
    (extension,) = jp_serverapp.extension_manager.extension_apps["escape_dlaas"]
    async with event_stream(jp_http_port, jp_base_url, jp_auth_header):
        hub = extension.settings["escape_dlaas"]["event_hubs"]["local-lake"]
        subscriber = hub._subscriber
        assert subscriber is not None
        assert subscriber.alive
        started = time.monotonic()
        await extension.stop_extension()  # as the server does when it stops
        assert not subscriber.alive, "the subscription's thread ended, not 5 s after the last browser"
        assert time.monotonic() - started < 3
        assert hub.live is False
