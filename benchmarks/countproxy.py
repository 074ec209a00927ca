"""A small counting reverse proxy on 127.0.0.1: counts the HTTP requests that reach Rucio.

The lake's gunicorn writes no access log, so the benchmark puts this proxy between one of the
extension's instances (``local-lake-counted``) and the lake's Rucio server and counts there,
request by request (keep-alive connections carry many). Requests are parsed just enough to
find where each ends (Content-Length or chunked body); answers are piped through untouched.

    proxy = CountingProxy("127.0.0.1", rucio_port)
    proxy.start()                       # runs its own event loop in a thread
    proxy.reset(); ...; proxy.requests() -> [("GET", "/dids/survey/dids/search"), ...]
    proxy.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

HOST = "127.0.0.1"
MAX_HEADER = 256 * 1024


class CountingProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port: int | None = None
        self._log: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()

    # -- control (any thread) ---------------------------------------------------------------
    def start(self) -> int:
        self._thread = threading.Thread(target=self._run, name="count-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the counting proxy did not start")
        assert self.port is not None
        return self.port

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self._log.clear()

    def requests(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(method, path) for _, method, path in self._log]

    def summary(self) -> dict[str, int]:
        """Requests per "METHOD /path" (query strings dropped)."""
        return dict(Counter(f"{m} {p}" for m, p in self.requests()))

    # -- the event loop -------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._serve, HOST, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._server.wait_closed())
            loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        back = asyncio.ensure_future(self._pipe(up_reader, writer))
        try:
            await self._forward_requests(reader, up_writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                up_writer.write_eof()
            await asyncio.wait([back], timeout=120)
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _forward_requests(self, reader: asyncio.StreamReader, up: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed the connection between requests
            except asyncio.LimitOverrunError:
                raise ValueError("request header too large") from None
            if len(head) > MAX_HEADER:
                raise ValueError("request header too large")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            with self._lock:
                self._log.append((time.monotonic(), method, urlsplit(target).path))
            up.write(head)
            if headers.get("transfer-encoding", "").lower() == "chunked":
                await self._forward_chunked(reader, up)
            else:
                length = int(headers.get("content-length") or 0)
                while length > 0:
                    data = await reader.read(min(length, 65536))
                    if not data:
                        raise ConnectionError("client closed mid-body")
                    up.write(data)
                    length -= len(data)
            await up.drain()

    async def _forward_chunked(self, reader: asyncio.StreamReader, up: asyncio.StreamWriter) -> None:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            up.write(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # trailers, then the final empty line
                while True:
                    line = await reader.readuntil(b"\r\n")
                    up.write(line)
                    if line == b"\r\n":
                        return
            up.write(await reader.readexactly(size + 2))
