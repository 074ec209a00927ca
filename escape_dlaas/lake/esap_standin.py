"""A STAND-IN FOR THE ESAP API: serves one user's basket the way ESAP's API gateway does.

Not ESAP. It answers only ``GET <root>/esap-api/accounts/user-profiles/`` with a
Django-REST page of one user profile, ``{"count": 1, "results": [{"user_name": ...,
"shopping_cart": [{"id": N, "item_data": "<JSON text>"}, ...]}]}`` (ESAP keeps each
item's ``item_data`` as JSON text with an ``archive``; Rucio items carry the DID and its
metadata in ``record``). With ``accepted_token`` it demands ``Authorization: Bearer
<that token>`` and answers 401 otherwise. For the tests and the demo only; binds 127.0.0.1.

    python -m escape_dlaas.lake.esap_standin --basket basket.json [--token-file FILE] [--port N]
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PROFILE_PATH = "/esap-api/accounts/user-profiles/"


def shopping_cart(items: list[Any]) -> list[Any]:
    """ESAP's stored shape: each item's data as JSON text (an item already shaped so is served as it is)."""
    cart = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and "item_data" in item:
            cart.append(item)
        else:
            cart.append({"id": number, "item_data": json.dumps(item)})
    return cart


class EsapStandIn:
    """The stand-in server on 127.0.0.1, in a thread; ``items`` may be changed between requests."""

    def __init__(
        self,
        items: list[Any] | None = None,
        *,
        accepted_token: Callable[[], str | None] | None = None,
        user_name: str = "alice",
        port: int = 0,
    ):
        self.items: list[Any] = list(items or [])
        self.accepted_token = accepted_token
        self.user_name = user_name
        self.requests: list[dict[str, Any]] = []  # what each request carried (authorised or not), for tests
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def api_url(self) -> str:
        """What ``c.DLaaS.esap.api_url`` is set to for this stand-in."""
        return f"http://127.0.0.1:{self.port}/esap-api"

    def start(self) -> EsapStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="esap-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EsapStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def profile_page(self) -> dict[str, Any]:
        profile = {"user_name": self.user_name, "shopping_cart": shopping_cart(self.items)}
        return {"count": 1, "next": None, "previous": None, "results": [profile]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server calls it by this name
                path = self.path.split("?", 1)[0]
                header = self.headers.get("Authorization")
                wanted = standin.accepted_token() if standin.accepted_token else None
                authorised = wanted is None or header == f"Bearer {wanted}"
                standin.requests.append({"path": path, "authorised": authorised, "bearer": header is not None})
                if path.rstrip("/") != PROFILE_PATH.rstrip("/"):
                    self._send(404, {"detail": "Not found."})
                elif not authorised:
                    self._send(401, {"detail": "Authentication credentials were not provided or are invalid."})
                else:
                    self._send(200, standin.profile_page())

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
                pass  # quiet: the request line could carry anything

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A stand-in for the ESAP API serving one basket (not ESAP).")
    parser.add_argument("--basket", type=Path, required=True, help="a JSON list of basket items (item_data objects)")
    parser.add_argument("--token-file", type=Path, help="accept only this file's token (re-read at each request)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    items = json.loads(args.basket.read_text(encoding="utf-8"))
    token_file: Path | None = args.token_file
    accepted = (lambda: token_file.read_text(encoding="utf-8").strip()) if token_file else None
    standin = EsapStandIn(items, accepted_token=accepted, port=args.port)
    print(f"ESAP API STAND-IN (not ESAP) at {standin.api_url}", flush=True)
    try:
        standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()


if __name__ == "__main__":
    main()
