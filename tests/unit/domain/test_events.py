"""Live events: hermes messages read, only the account's own rules passed on, back-off, the change-only poll."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from escape_dlaas.config import EventsConfig, parse_events
from escape_dlaas.domain.cache import AVAILABILITY
from escape_dlaas.domain.events import (
    EventHub,
    RucioEvent,
    parse_message,
    parse_since,
    reconnect_delay,
    rule_changes,
)
from escape_dlaas.errors import ConfigurationError, InvalidInput

from .fakes import FakeSession, instance_config

MINE = "a" * 32
THEIRS = "b" * 32


def hermes(event_type: str, **payload: Any) -> str:
    return json.dumps({"event_type": event_type, "payload": payload, "created_at": "2026-01-01 00:00:00"})


def rucio_rule(rule_id: str, name: str, account: str = "alice", updated_at: str = "Thu, 01 Jan 2026 10:00:00 UTC"):
    return {
        "id": rule_id,
        "scope": "lofar",
        "name": name,
        "account": account,
        "rse_expression": "NB",
        "state": "REPLICATING",
        "locks_ok_cnt": 0,
        "locks_replicating_cnt": 1,
        "locks_stuck_cnt": 0,
        "updated_at": updated_at,
    }


# -- reading hermes' messages --------------------------------------------------------------------------


def test_rule_messages_are_read_with_their_rule_and_did():
    event = parse_message(hermes("RULE_OK", scope="lofar", name="L1", rule_id=MINE.upper()))
    assert event == RucioEvent(kind="rule_ok", rule_id=MINE, scope="lofar", name="L1")
    lock = parse_message(hermes("datasetlock_ok", scope="lofar", name="L1", rse="NB", rule_id=MINE))
    assert lock is not None
    assert lock.rse == "NB"


def test_transfer_messages_carry_their_request_and_the_rule_only_when_queued():
    queued = parse_message(hermes("transfer-queued", **{"request-id": "R1", "rule-id": MINE, "dst-rse": "NB"}))
    assert queued == RucioEvent(kind="transfer-queued", rule_id=MINE, request_id="r1", rse="NB")
    done = parse_message(hermes("transfer-done", **{"request-id": "R1", "scope": "lofar", "name": "f1"}))
    assert done is not None
    assert done.rule_id is None
    assert done.request_id == "r1"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff not json",
        "[]",
        json.dumps({"event_type": "rule_ok", "payload": "text"}),
        hermes("create_dts", scope="lofar", name="L1", account="root"),  # not about a rule
        hermes("rule_ok", scope="lofar", name="L1"),  # no rule id
        hermes("transfer-done", scope="lofar", name="f1"),  # neither rule nor request
    ],
)
def test_messages_that_are_not_about_a_rule_are_ignored(body):
    assert parse_message(body) is None


def test_reconnecting_backs_off_by_doubling_with_jitter_up_to_the_maximum():
    assert reconnect_delay(0, 10, rand=lambda: 1.0) == 0.5
    assert reconnect_delay(3, 10, rand=lambda: 1.0) == 4.0
    assert reconnect_delay(50, 10, rand=lambda: 1.0) == 10.0
    assert reconnect_delay(50, 10, rand=lambda: 0.0) == 5.0  # never all at once after a broker restart


# -- configuration ---------------------------------------------------------------------------------------------


def test_events_configuration_reads_brokers_credentials_and_tls(tmp_path):
    config = parse_events(
        {
            "brokers": ["broker.example.org:61613", "[::1]:61614"],
            "username": "u",
            "password_file": str(tmp_path / "pw"),
            "use_ssl": True,
            "ca_bundle": str(tmp_path / "ca.pem"),
            "virtual_host": "/",
        },
        "instances[0].events",
    )
    assert config.brokers == (("broker.example.org", 61613), ("::1", 61614))
    assert config.destination == "/topic/rucio.events"
    assert config.use_ssl
    assert config.virtual_host == "/"


@pytest.mark.parametrize(
    ("data", "says", "field"),
    [
        ({}, 'list at least one broker as "host:port"', "instances[0].events.brokers"),
        ({"brokers": ["broker.example.org"]}, 'expected "host:port"', "instances[0].events.brokers[0]"),
        ({"brokers": ["b:99999"]}, 'expected "host:port"', "instances[0].events.brokers[0]"),
        ({"brokers": ["b:1"], "username": "u"}, "set both username and password_file", "instances[0].events.password_file"),
        ({"brokers": ["b:1"], "use_ssl": "yes"}, "expected true or false", "instances[0].events.use_ssl"),
        ({"brokers": ["b:1"], "password": "x"}, "unknown key(s) password", "instances[0].events.password"),
    ],
)  # fmt: skip
def test_events_configuration_mistakes_name_the_key(data, says, field):
    with pytest.raises(ConfigurationError) as caught:
        parse_events(data, "instances[0].events")
    assert says in caught.value.message
    assert caught.value.field == field


# -- the hub: only the account's own rules reach the browser ------------------------------------------------


class FakeSubscriber:
    made: list[FakeSubscriber] = []

    def __init__(self, config: EventsConfig, on_message: Any, on_live: Any) -> None:
        self.on_message, self.on_live = on_message, on_live
        self.started = self.stopped = False
        FakeSubscriber.made.append(self)

    def start(self) -> None:
        self.started = True

    def stop(self, wait: float = 0.0) -> None:
        self.stopped = True

    @property
    def alive(self) -> bool:
        return self.started and not self.stopped


@pytest.fixture
def hub_session():
    session = FakeSession()
    session.client.list_replication_rules = lambda filters: [rucio_rule(MINE, "L1")]
    return session


def drain(queue: asyncio.Queue) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


@pytest.mark.asyncio
async def test_events_of_the_accounts_own_rules_reach_listeners_and_others_never(hub_session, monkeypatch):
    monkeypatch.setattr("escape_dlaas.domain.events.OWN_RULES_MIN_INTERVAL", 0.0)
    hub = EventHub(hub_session, EventsConfig(brokers=(("h", 1),)), subscriber_factory=FakeSubscriber)
    queue = hub.listen()
    subscriber = FakeSubscriber.made[-1]
    assert subscriber.started
    hub_session.cache.put(AVAILABILITY, {"x": 1})

    # From the subscriber's thread, as stomp.py calls it.
    await asyncio.get_running_loop().run_in_executor(None, subscriber.on_live, True)
    for body in (
        hermes("transfer-queued", **{"request-id": "r1", "rule-id": MINE}),
        hermes("rule_ok", scope="other", name="X", rule_id=THEIRS),
        hermes("transfer-done", **{"request-id": "r1"}),
        hermes("transfer-done", **{"request-id": "unknown"}),
        hermes("rule_ok", scope="lofar", name="L1", rule_id=MINE),
    ):
        await asyncio.get_running_loop().run_in_executor(None, subscriber.on_message, body)
        await asyncio.sleep(0.01)
        if hub._reading is not None:
            await hub._reading
    for _ in range(3):  # more of the other account's rule: already known not to be ours
        hub.receive(RucioEvent(kind="rule_progress", rule_id=THEIRS))
    assert hub._reading is None or hub._reading.done()
    messages = drain(queue)
    assert messages[0] == {"type": "stream", "live": True}
    rule_messages = [m for m in messages if m["type"] == "rule"]
    assert [m["event"] for m in rule_messages] == ["transfer-queued", "transfer-done", "rule_ok"]
    assert all(m["rule_id"] == MINE and m["did"] == "lofar:L1" for m in rule_messages)
    assert THEIRS not in json.dumps(messages)
    assert "other" not in json.dumps(messages)
    assert hub_session.cache.get(AVAILABILITY, 60) is None  # the next check reads Rucio anew
    # one reading for each rule id never seen, none for the rest
    assert hub_session.calls == ["list your rules", "list your rules"]
    hub.close()


@pytest.mark.asyncio
async def test_the_broker_connection_ends_a_while_after_the_last_listener(hub_session, monkeypatch):
    monkeypatch.setattr("escape_dlaas.domain.events.IDLE_DISCONNECT_SECONDS", 0.01)
    hub = EventHub(hub_session, EventsConfig(brokers=(("h", 1),)), subscriber_factory=FakeSubscriber)
    first = hub.listen()
    subscriber = FakeSubscriber.made[-1]
    second = hub.listen()
    assert FakeSubscriber.made[-1] is subscriber  # one connection for every tab
    hub.unlisten(first)
    await asyncio.sleep(0.05)
    assert not subscriber.stopped
    hub.unlisten(second)
    await asyncio.sleep(0.05)
    assert subscriber.stopped
    assert hub.live is False


# -- the change-only poll ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_changes_ask_rucio_once_for_the_accounts_rules_updated_since_the_last_answer():
    session = FakeSession()
    asked: list[dict[str, Any]] = []

    def list_rules(filters):
        asked.append(dict(filters))
        return [rucio_rule(MINE, "L1", updated_at="Thu, 01 Jan 2026 10:00:05 UTC")]

    session.client.list_replication_rules = list_rules
    first = await rule_changes(session, None)
    assert asked[-1] == {"account": "alice"}
    assert first["since"] == "2026-01-01T10:00:05+00:00"
    assert first["dids"] == ["lofar:L1"]
    assert first["rules"][0]["id"] == MINE
    await rule_changes(session, first["since"])
    assert asked[-1] == {"account": "alice", "updated_after": "Thu, 01 Jan 2026 10:00:05 UTC"}
    assert session.calls == ["list your rules changed lately"] * 2


@pytest.mark.asyncio
async def test_no_change_keeps_the_cursor():
    session = FakeSession()
    session.client.list_replication_rules = lambda filters: []
    answer = await rule_changes(session, "2026-01-01T10:00:05+00:00")
    assert answer == {"since": "2026-01-01T10:00:05+00:00", "rules": [], "dids": []}


def test_a_since_that_no_answer_gave_is_refused_with_its_field():
    for since in ("yesterday", "0001-01-01T00:00:00", "2026-13-01T00:00:00"):
        with pytest.raises(InvalidInput) as caught:
            parse_since(since)
        assert caught.value.field == "since"
    assert parse_since("2026-01-01T10:00:00").tzinfo is not None


@pytest.mark.asyncio
async def test_rules_made_available_ask_rucio_to_announce_their_completion():
    from escape_dlaas.domain.did import DID
    from escape_dlaas.domain.rules import make_available

    session = FakeSession(instance_config(qos_classes={"SAFE": "QOS=SAFE"}))
    asked: list[dict[str, Any]] = []

    def add_replication_rule(dids, **options):
        asked.append(options)
        return [MINE]

    session.client.add_replication_rule = add_replication_rule
    session.client.get_replication_rule = lambda rule_id: rucio_rule(rule_id, "L1")
    session.client.list_replication_rules = lambda filters: []
    await make_available(session, DID("lofar", "L1"), "SAFE", 1)
    assert asked[0]["notify"] == "Y"  # RULE_OK and DATASETLOCK_OK reach the broker
