"""Live events (server-sent events) and the change-only poll.

``GET instances/{name}/events`` is a ``text/event-stream``: first the stream's state
(``{"type": "stream", "live": bool}``: whether the broker connection is up), then one
``data:`` line per event of the user's own rules (``{"type": "rule", "event", "rule_id",
"did"}``) and every state change, with a comment every few seconds so that proxies keep
the connection open. 404 ``events_not_configured`` when the instance has no ``events``.

``GET instances/{name}/changes?since=...`` answers the account's rules Rucio updated since
the previous answer's ``since``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from tornado.iostream import StreamClosedError

from ..domain import events
from ..errors import NotFound
from .handlers import BaseHandler
from .http_errors import api

KEEPALIVE_SECONDS = 15.0
CLOSED: dict[str, Any] = {"type": "closed"}  # put in a listener's queue when its browser went away


def hub_for(settings: dict[str, Any], instance: Any) -> events.EventHub:
    """The instance's hub, made on first use and kept until the server stops (:func:`close_event_hubs`)."""
    hubs: dict[str, events.EventHub] = settings["escape_dlaas"].setdefault("event_hubs", {})
    name = instance.config.name
    if name not in hubs:
        hubs[name] = events.EventHub(instance.session, instance.config.events)
    return hubs[name]


async def close_event_hubs(settings: dict[str, Any]) -> None:
    """Disconnect every hub from its broker and wait for their threads to end (the server stops)."""
    hubs: dict[str, events.EventHub] = settings.get("escape_dlaas", {}).pop("event_hubs", {})
    await asyncio.gather(*(hub.aclose() for hub in hubs.values()))


class EventsHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        found = self.instance(instance)
        if found.config.events is None:
            raise NotFound(
                f"{found.config.label} sends no live events; the panel checks for changes instead",
                reason="events_not_configured",
            )
        hub = hub_for(self.settings, found)
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache, no-store")
        self.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        queue = self._queue = hub.listen()
        try:
            await self._send(hub.state())
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    self.write(": keep-alive\n\n")
                    await self.flush()
                    continue
                if message is CLOSED:
                    break
                await self._send(message)
        except StreamClosedError:
            pass  # the browser went away
        finally:
            hub.unlisten(queue)

    async def _send(self, message: dict[str, Any]) -> None:
        self.write(f"data: {json.dumps(message)}\n\n")
        await self.flush()

    def on_connection_close(self) -> None:
        # Wake the loop above, so that the hub forgets this browser at once.
        queue = getattr(self, "_queue", None)
        if queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(CLOSED)
        super().on_connection_close()


class ChangesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply(await events.rule_changes(self.session(instance), self.arg("since")))


def events_routes(instance: str) -> list[tuple[str, type[BaseHandler]]]:
    return [(instance + r"/events", EventsHandler), (instance + r"/changes", ChangesHandler)]
