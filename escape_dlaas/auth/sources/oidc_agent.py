"""A token from the user's oidc-agent."""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

from ...errors import (
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    DLaaSError,
    ServiceTimeout,
    ServiceUnavailable,
)
from ...resilience import NOT_ANSWERING, RETRY_HINT
from ..redact import get_logger, redact
from .base import FoundToken, TokenSource

log = get_logger(__name__)

APPLICATION_HINT = "escape-dlaas"  # shown by oidc-agent when it asks the user to confirm
# oidc-agent passes on the issuer's refusal when the refresh token it holds is no longer good.
_AGENT_EXPIRY_WORDS = ("invalid_grant", "expired", "revoked", "reauthenticate", "re-authenticate")


def _load_liboidcagent() -> ModuleType:
    return importlib.import_module("liboidcagent")


class OidcAgentTokenSource(TokenSource):
    """A token from the user's oidc-agent (``liboidcagent.get_token_response``).

    liboidcagent's socket calls have no timeout and can block forever, so each call
    runs on its own daemon thread that we stop waiting for after ``timeout``; while
    one such call is stuck, further calls fail at once instead of piling up threads.
    """

    kind = "oidc-agent"
    service = "oidc-agent"

    def __init__(
        self,
        account: str,
        *,
        min_valid_seconds: int = 60,
        timeout: float = 30.0,
        scope: str | None = None,
        audience: str | None = None,
        agent_api: Any = None,
    ):
        super().__init__(f"oidc-agent:{account}", timeout=timeout)
        self.account = account
        self.min_valid_seconds = max(0, min_valid_seconds)
        self.scope = scope
        self.audience = audience
        self._api = agent_api
        self._guard = threading.Lock()
        self._stuck: threading.Thread | None = None

    def _agent(self) -> Any:
        if self._api is None:
            try:
                self._api = _load_liboidcagent()
            except ImportError:
                raise ConfigurationError("the liboidcagent package is not installed on the server") from None
        return self._api

    def fetch(self) -> FoundToken:
        api = self._agent()
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["result"] = api.get_token_response(
                    self.account, self.min_valid_seconds, APPLICATION_HINT, self.scope, self.audience
                )
            except BaseException as error:  # handed to the waiting thread below
                outcome["error"] = error

        with self._guard:
            if self._stuck is not None and self._stuck.is_alive():
                # Fails at once while it hangs, and is asked again as soon as that request ends.
                raise ServiceUnavailable(
                    "oidc-agent is not answering (an earlier request is still waiting for it; check that it "
                    f"is running and unlocked); {RETRY_HINT}",
                    service=self.service,
                    reason=NOT_ANSWERING,
                )
            worker = threading.Thread(target=call, name=f"oidc-agent-{self.account}", daemon=True)
            self._stuck = worker
            worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise ServiceTimeout(
                f"oidc-agent did not answer within {self.timeout:g} s (is it waiting for you to confirm or unlock?)",
                service=self.service,
            )
        if "error" in outcome:
            raise self._explain(outcome["error"], api) from None
        try:
            token, issuer, expires_at = outcome["result"]
        except (KeyError, TypeError, ValueError):
            raise ServiceUnavailable("oidc-agent gave an answer we do not understand", service=self.service) from None
        if not isinstance(token, str):
            raise ServiceUnavailable("oidc-agent gave an answer we do not understand", service=self.service)
        expiry = float(expires_at) if isinstance(expires_at, (int, float)) and expires_at > 0 else None
        return FoundToken.from_text(
            token.strip(), self.label, issuer=issuer if isinstance(issuer, str) else None, expires_at=expiry
        )

    def _explain(self, error: BaseException, api: Any) -> DLaaSError:
        agent_error = getattr(api, "OidcAgentError", None)
        if not (isinstance(agent_error, type) and isinstance(error, agent_error)):
            log.warning("oidc-agent call failed unexpectedly: %s", redact(f"{type(error).__name__}: {error}"))
            return ServiceUnavailable("oidc-agent failed unexpectedly", service=self.service)
        text = redact(error)
        lowered = text.lower()
        if "env var not set" in lowered:
            return CredentialsMissing(
                "oidc-agent is not running for this server (OIDC_SOCK is not set). "
                f"Start it (eval $(oidc-agent-service use)) and load your account (oidc-add {self.account})."
            )
        if "no account configured" in lowered:
            return CredentialsMissing(
                f"oidc-agent has no account '{self.account}' loaded: run `oidc-add {self.account}` "
                f"(or `oidc-gen {self.account}` to create it)."
            )
        if "could not connect" in lowered:
            return ServiceUnavailable(f"oidc-agent could not be reached: {text}", service=self.service)
        if any(word in lowered for word in _AGENT_EXPIRY_WORDS):
            return CredentialsExpired(
                f"oidc-agent could not get a new token for '{self.account}' ({text}). "
                f"Sign in again with `oidc-gen --reauthenticate {self.account}`."
            )
        return ServiceUnavailable(
            f"oidc-agent could not give a token for '{self.account}': {text}", service=self.service
        )
