"""Keep the demo users' IAM-like access tokens fresh in ``DIR/tokens/<user>.token``.

This plays the part of a JupyterHub sidecar: it logs each demo user in once through the
``jupyterhub`` client (password grant, audience ``jupyterhub``, ``offline_access``),
then uses the refresh-token grant before the access token expires, falling back to the
password grant when the issuer forgot the refresh token (e.g. it restarted).
Token files: mode 0600 in a 0700 directory, atomic replace, no trailing newline.
Nothing here logs a token.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from base64 import urlsafe_b64decode
from pathlib import Path
from typing import Any

import lake_runtime
import requests

LOG = lake_runtime.setup_logging("token-refresher")
STOP = threading.Event()


def _expiry(access_token: str) -> float:
    payload = access_token.split(".")[1]
    claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


class Refresher:
    def __init__(self, config: dict[str, Any]):
        settings = config["token_refresher"]
        self.token_url = config["issuer_url"].rstrip("/") + "/token"
        self.ca = config["paths"]["ca"]
        self.client = (settings["client_id"], lake_runtime.read_secret(settings["client_secret_file"]))
        self.audience = settings["audience"]
        self.scope = settings["scope"]
        self.lifetime = int(config["token_lifetime"])
        self.tokens_dir = Path(config["paths"]["tokens_dir"])
        self.users = {u["name"]: u for u in config["users"] if u["name"] in settings["users"]}
        self.refresh_tokens: dict[str, str] = {}
        self.next_due: dict[str, float] = dict.fromkeys(self.users, 0.0)

    def margin(self) -> float:
        # Renew when a third of the lifetime is left (at most 5 min, at least 5 s before expiry).
        return min(300.0, max(5.0, self.lifetime / 3))

    def _grant(self, name: str) -> dict[str, Any]:
        form = {"audience": self.audience, "scope": self.scope}
        refresh = self.refresh_tokens.get(name)
        if refresh:
            response = requests.post(
                self.token_url,
                data={**form, "grant_type": "refresh_token", "refresh_token": refresh},
                auth=self.client,
                verify=self.ca,
                timeout=10,
            )
            if response.ok:
                return response.json()
            LOG.info("refresh for %s refused (HTTP %s); logging in again", name, response.status_code)
            self.refresh_tokens.pop(name, None)
        password = lake_runtime.read_secret(self.users[name]["password_file"])
        response = requests.post(
            self.token_url,
            data={**form, "grant_type": "password", "username": name, "password": password},
            auth=self.client,
            verify=self.ca,
            timeout=10,
        )
        if not response.ok:
            raise RuntimeError(f"login of {name} refused: HTTP {response.status_code}")
        return response.json()

    def renew(self, name: str) -> None:
        answer = self._grant(name)
        access_token = answer["access_token"]
        if answer.get("refresh_token"):
            self.refresh_tokens[name] = answer["refresh_token"]
        self.tokens_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tokens_dir.chmod(0o700)
        lake_runtime.write_private(self.tokens_dir / f"{name}.token", access_token.strip())
        expires_at = _expiry(access_token)
        self.next_due[name] = expires_at - self.margin()
        LOG.info("token of %s renewed; valid for %.0f s", name, expires_at - time.time())

    def run(self) -> None:
        while not STOP.is_set():
            now = time.time()
            for name, due in list(self.next_due.items()):
                if due <= now:
                    try:
                        self.renew(name)
                    except (requests.RequestException, RuntimeError, KeyError, ValueError) as error:
                        LOG.warning("could not renew the token of %s: %s; retrying in 2 s", name, type(error).__name__)
                        self.next_due[name] = now + 2
            STOP.wait(max(0.5, min(self.next_due.values()) - time.time()))


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    signal.signal(signal.SIGINT, lambda *_: STOP.set())
    Refresher(lake_runtime.load()).run()
    LOG.info("token refresher stopped")


if __name__ == "__main__":
    main()
