"""Live state: Rucio's messages from a STOMP broker, and what changed since the last look.

Rucio's hermes daemon sends the rows of Rucio's ``messages`` table to a STOMP broker:
``rule_ok``/``rule_progress``/``datasetlock_ok`` for rules created with ``notify``, and
``transfer-*`` for each file moved. Per instance with an ``events`` configuration, one
:class:`EventHub` subscribes while at least one browser listens, and passes on only the
events of rules of the user's own account: Rucio's payloads of rule events carry no
account, so the hub keeps the ids of the account's rules (read from Rucio when an event
names a rule it does not know, at most once every few seconds) and drops the others.

The STOMP connection lives in a thread of its own (:class:`StompSubscriber`): it reconnects
with a jittered back-off when the broker goes away and hands every message to the event loop
with ``call_soon_threadsafe``. Listeners learn whether the stream is live, so the panel polls
faster while it is not.

Without events, :func:`rule_changes` is the cheap poll: one Rucio call for the account's
rules updated since the previous answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from ..config import EventsConfig
from ..errors import DLaaSError, InvalidInput
from ..resilience import user_request
from .availability import RuleSummary, summarise_rule
from .cache import AVAILABILITY
from .catalogue import notebook_expressions
from .rules import my_rules, rule_json, rule_permissions
from .session import RucioSession

log = logging.getLogger("escape_dlaas")

# The events the panel cares about; Rucio sends many more (DID creation, deletions, ...).
RULE_EVENTS = frozenset(
    {
        "rule_ok",
        "rule_progress",
        "datasetlock_ok",
        "transfer-queued",
        "transfer-submitted",
        "transfer-done",
        "transfer-failed",
        "transfer-submission_failed",
    }
)
OWN_RULES_MIN_INTERVAL = 3.0  # seconds between two readings of the account's rules for unknown rule ids
PENDING_MAX = 1000  # events waiting for that reading; beyond, the oldest are dropped
REQUESTS_MAX = 10000  # transfer request ids remembered with their rule (only queued transfers name the rule)
LISTENER_QUEUE_MAX = 500  # a browser that does not read its stream loses events (its poll catches up)
IDLE_DISCONNECT_SECONDS = 5.0  # the broker connection outlives the last listener by this much
STOP_WAIT_SECONDS = 2.0  # longest a stopping server waits for a subscriber's thread to end
RUCIO_DATE_FORMAT = "%a, %d %b %Y %H:%M:%S UTC"  # Rucio's filters take RFC 1123 dates


@dataclass(frozen=True)
class RucioEvent:
    """One message of Rucio's, reduced to what the panel needs."""

    kind: str  # Rucio's event_type, lower case: rule_ok, transfer-done, ...
    rule_id: str | None  # None: a transfer event, whose rule the hub knows from its request id
    request_id: str | None = None
    scope: str | None = None
    name: str | None = None
    rse: str | None = None


def parse_message(body: str | bytes) -> RucioEvent | None:
    """A hermes message (``{"event_type", "payload", "created_at"}``) as an event, or None when not about a rule."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        return None
    kind = str(data.get("event_type", "")).lower()
    payload = data["payload"]
    rule_id = payload.get("rule_id") or payload.get("rule-id")
    request_id = payload.get("request-id")
    if kind not in RULE_EVENTS:
        return None
    if not isinstance(rule_id, str) or not rule_id:
        rule_id = None
    if not isinstance(request_id, str) or not request_id:
        request_id = None
    if rule_id is None and request_id is None:
        return None

    def text(*keys: str) -> str | None:
        for key in keys:
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
        return None

    return RucioEvent(
        kind=kind,
        rule_id=rule_id.lower() if rule_id else None,
        request_id=request_id.lower() if request_id else None,
        scope=text("scope"),
        name=text("name"),
        rse=text("rse", "dst-rse"),
    )


def reconnect_delay(attempt: int, maximum: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempt`` (0: the first retry): doubling from 0.5 s up to ``maximum``, jittered."""
    base = min(maximum, 0.5 * 2 ** min(attempt, 16))
    return base * (0.5 + rand() / 2)


class StompSubscriber:
    """A STOMP subscription kept alive in a thread: reconnects with back-off, survives broker restarts.

    ``on_message`` and ``on_live`` are called from that thread; the hub passes them to its loop.
    """

    def __init__(
        self,
        config: EventsConfig,
        on_message: Callable[[str], None],
        on_live: Callable[[bool], None],
        *,
        name: str = "escape-dlaas-events",
    ):
        self.config = config
        self._on_message = on_message
        self._on_live = on_live
        self._stop = threading.Event()
        self._dropped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._connection: Any = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: float = 0.0) -> None:
        self._stop.set()
        self._dropped.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.disconnect()
        if wait:
            self._thread.join(wait)

    def join(self, timeout: float) -> None:
        """Wait until the thread has ended (after :meth:`stop`), at most ``timeout``. Blocks."""
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _password(self) -> str | None:
        path = self.config.password_file
        # Read at each connection: a rotated password is picked up.
        return path.read_text(encoding="utf-8").strip() if path else None

    def _run(self) -> None:
        attempt = 0
        index = 0
        said_down = False
        while not self._stop.is_set():
            host, port = self.config.brokers[index % len(self.config.brokers)]
            index += 1
            try:
                self._connect(host, port)
            except Exception as error:  # stomp.py raises several kinds; the message holds no secret
                if not said_down:
                    log.warning("escape-dlaas: the event broker %s:%d is not reachable (%s); the panel polls meanwhile",
                                host, port, type(error).__name__)  # fmt: skip
                    said_down = True
                self._stop.wait(reconnect_delay(attempt, self.config.reconnect_max_seconds))
                attempt += 1
                continue
            if said_down:
                log.info("escape-dlaas: connected to the event broker %s:%d again", host, port)
            said_down = False
            attempt = 0
            self._on_live(True)
            self._dropped.wait()
            self._on_live(False)
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                connection.disconnect()
            if not self._stop.is_set():
                log.warning("escape-dlaas: lost the event broker %s:%d; reconnecting", host, port)
                said_down = True
                self._stop.wait(reconnect_delay(0, self.config.reconnect_max_seconds))

    def _connect(self, host: str, port: int) -> None:
        import stomp  # only for instances with events

        # stomp.py logs each frame at DEBUG (the CONNECT frame's passcode included) and each failed
        # attempt at WARNING; this class says once what matters (broker lost, back).
        logging.getLogger("stomp.py").setLevel(max(logging.ERROR, logging.getLogger("stomp.py").level))
        heartbeat = int(self.config.heartbeat_seconds * 1000)
        connection = stomp.Connection12(
            [(host, port)],
            vhost=self.config.virtual_host,
            # Ours twice as often as promised: a beat sent a few milliseconds late is not a missed one.
            heartbeats=(heartbeat // 2, heartbeat),
            reconnect_attempts_max=1,  # this loop retries, with its own back-off
            # stomp.py's socket timeout, for connecting and for each read: a read that times out
            # ends the connection, so it must outlast the broker's silence between two heartbeats.
            timeout=self.config.heartbeat_seconds * 2.5,
        )
        if self.config.use_ssl:
            connection.set_ssl(
                for_hosts=[(host, port)],
                key_file=str(self.config.key_file) if self.config.key_file else None,
                cert_file=str(self.config.cert_file) if self.config.cert_file else None,
                ca_certs=str(self.config.ca_bundle) if self.config.ca_bundle else None,
            )
        subscriber = self

        class Listener(stomp.ConnectionListener):
            def on_message(self, frame: Any) -> None:
                subscriber._on_message(frame.body)

            def on_disconnected(self) -> None:
                subscriber._dropped.set()

            def on_heartbeat_timeout(self) -> None:
                subscriber._dropped.set()

        connection.set_listener("escape-dlaas", Listener())
        self._dropped.clear()
        self._connection = connection
        try:
            connection.connect(self.config.username, self._password(), wait=True)
            connection.subscribe(self.config.destination, id="escape-dlaas", ack="auto")
        except BaseException:
            self._connection = None
            with contextlib.suppress(Exception):
                connection.disconnect()
            raise


class EventHub:
    """One instance's live events for this server's user: the subscription, the filter, the listeners."""

    def __init__(
        self,
        session: RucioSession,
        config: EventsConfig,
        *,
        subscriber_factory: Callable[..., StompSubscriber] = StompSubscriber,
    ):
        self.session = session
        self.config = config
        self.live = False
        self._factory = subscriber_factory
        self._subscriber: StompSubscriber | None = None
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._own: dict[str, str] = {}  # the account's rule ids -> their DID
        self._rule_of_request: dict[str, str] = {}  # transfer request id -> rule id, oldest first
        self._foreign: dict[str, None] = {}  # rule ids a reading found not to be the account's, oldest first
        self._pending: list[RucioEvent] = []
        self._reading: asyncio.Task[None] | None = None
        self._read_at = -OWN_RULES_MIN_INTERVAL
        self._idle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- listeners (the event loop) -----------------------------------------------------------------

    def listen(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of messages for one browser; starts the subscription when it is the first."""
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(LISTENER_QUEUE_MAX)
        self._listeners.add(queue)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._subscriber is None or not self._subscriber.alive:
            self._subscriber = self._factory(self.config, self._from_thread_message, self._from_thread_live)
            self._subscriber.start()
        return queue

    def unlisten(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.discard(queue)
        if not self._listeners and self._loop is not None and self._idle is None:
            self._idle = self._loop.call_later(IDLE_DISCONNECT_SECONDS, self._disconnect_when_idle)

    def state(self) -> dict[str, Any]:
        return {"type": "stream", "live": self.live}

    def close(self) -> None:
        """Disconnect from the broker at once, without waiting for the subscriber's thread."""
        self._close()

    async def aclose(self, wait: float = STOP_WAIT_SECONDS) -> None:
        """Disconnect from the broker and wait (off the loop) for the subscriber's thread to end, at most ``wait``."""
        stopped = self._close()
        if stopped is not None:
            await asyncio.to_thread(stopped.join, wait)

    def _close(self) -> StompSubscriber | None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._reading is not None:
            self._reading.cancel()
        stopped, self._subscriber = self._subscriber, None
        if stopped is not None:
            stopped.stop()
        self.live = False
        return stopped

    def _disconnect_when_idle(self) -> None:
        self._idle = None
        if not self._listeners and self._subscriber is not None:
            self._subscriber.stop()
            self._subscriber = None
            self.live = False

    # -- from the subscriber's thread -------------------------------------------------------------------

    def _from_thread_message(self, body: str) -> None:
        event = parse_message(body)
        if event is not None:
            self._call_in_loop(self.receive, event)

    def _from_thread_live(self, live: bool) -> None:
        self._call_in_loop(self.set_live, live)

    def _call_in_loop(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
            loop.call_soon_threadsafe(callback, *args)

    # -- in the event loop ----------------------------------------------------------------------------------

    def set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            self._broadcast(self.state())

    def receive(self, event: RucioEvent) -> None:
        """Pass on an event of the account's own rules; read the account's rules when it names an unknown one."""
        if event.rule_id is None:
            rule_id = self._rule_of_request.get(event.request_id or "")
            if rule_id is None:
                return  # a transfer queued before we listened, or for a rule we never saw
            event = replace(event, rule_id=rule_id)
        elif event.request_id is not None:
            self._rule_of_request[event.request_id] = event.rule_id
            if len(self._rule_of_request) > REQUESTS_MAX:
                del self._rule_of_request[next(iter(self._rule_of_request))]
        if event.rule_id in self._own:
            self._publish(event)
            return
        if event.rule_id in self._foreign:
            return  # another account's rule
        self._pending.append(event)
        del self._pending[:-PENDING_MAX]
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_own_rules())

    async def _read_own_rules(self) -> None:
        wait = self._read_at + OWN_RULES_MIN_INTERVAL - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._read_at = time.monotonic()
        try:
            with user_request():
                rules = await my_rules(self.session)
        except DLaaSError as error:
            log.info("escape-dlaas: could not read your rules for the live events: %s", error.message)
            rules = None
        if rules is not None:
            self._own = {r.id.lower(): f"{r.scope}:{r.name}" for r in rules}
        pending, self._pending = self._pending, []
        for event in pending:
            if event.rule_id in self._own:
                self._publish(event)
            elif rules is not None and event.rule_id:
                # Another account's rule: never shown to this user, and no further readings for it.
                self._foreign[event.rule_id] = None
                if len(self._foreign) > REQUESTS_MAX:
                    del self._foreign[next(iter(self._foreign))]

    def _publish(self, event: RucioEvent) -> None:
        rule_id = event.rule_id or ""
        # The next availability check must see what the event says, not a cached answer.
        self.session.cache.forget(AVAILABILITY)
        self._broadcast({"type": "rule", "event": event.kind, "rule_id": rule_id, "did": self._own[rule_id]})

    def _broadcast(self, message: dict[str, Any]) -> None:
        for queue in list(self._listeners):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(message)


# -- the change-only poll ------------------------------------------------------------------------------------


def parse_since(value: str | None) -> datetime | None:
    """The ``since`` of a change poll: an ISO 8601 time as an earlier answer gave it."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or not 1970 <= moment.year <= 9999:  # Rucio's dates, written with four digits
        raise InvalidInput(
            "since must be the 'since' of an earlier answer (an ISO 8601 time)", field="since", reason="invalid_since"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _updated_at(rule: dict[str, Any]) -> datetime | None:
    value = rule.get("updated_at")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.strptime(value, RUCIO_DATE_FORMAT).replace(tzinfo=timezone.utc)
    return None


async def rule_changes(session: RucioSession, since: str | None) -> dict[str, Any]:
    """The account's rules Rucio updated at or after ``since`` (all of them without it), and the next ``since``.

    One Rucio call. Rucio's filter counts whole seconds, so a rule updated in the second of
    ``since`` comes again in the next answer: the panel compares before it acts.
    """
    moment = parse_since(since)
    account = await session.account()
    filters: dict[str, Any] = {"account": account}
    if moment is not None:
        filters["updated_after"] = moment.astimezone(timezone.utc).strftime(RUCIO_DATE_FORMAT)
    raw = await session.rucio(
        lambda c: list(c.list_replication_rules(filters=filters)), what="list your rules changed lately"
    )
    expressions = await notebook_expressions(session)
    permissions = await rule_permissions(session)
    newest = max((t for t in map(_updated_at, raw) if t is not None), default=moment)
    summaries: list[RuleSummary] = [summarise_rule(r, expressions) for r in raw]
    return {
        "since": newest.isoformat() if newest else None,
        "rules": [rule_json(r, permissions) for r in summaries],
        "dids": sorted({f"{r.scope}:{r.name}" for r in summaries}),
    }
