"""Remove secrets from text before it is logged, raised or shown to the user.

Every message built from something a service or library said (IAM error
descriptions, requests exceptions, oidc-agent errors) goes through
:func:`redact`. Besides the secrets the caller names, it removes anything that
looks like a JWT or a credential in a header or form field, because a service
may echo a token we did not know about (the hub's, a refreshed one).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus

# No letters or digits: a redacted secret can never re-create part of a token.
REDACTED = "***"

# A JWS/JWE: the header is base64url JSON, which starts with '{"' ("eyJ"),
# '{ ' ("eyA") or '{\n' ("ewo"); then at least one more dot-separated segment.
_JWT_RE = re.compile(r"(?:eyJ|eyA|ewo)[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){1,4}")

# A value right after a credential-bearing key, in JSON, form, header or log form.
_KEYED_RE = re.compile(
    r"(?i)(\b(?:access_token|refresh_token|id_token|subject_token|actor_token|client_secret|password|passwd"
    r"|x-rucio-auth-token|authorization|auth_token|api_token)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token)\s+)?)([^\s\"'&,;}\]]+)"
)
# Authorization schemes written without a key ("Bearer abc", "token abc" as the hub uses).
_SCHEME_RE = re.compile(r"(?i)(\b(?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})")


def _forms(secret: str) -> list[str]:
    """The spellings a secret takes once a library has encoded it into a message."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: object, *secrets: str | None) -> str:
    """Return ``str(text)`` with every given secret and anything token-shaped replaced by ``***``."""
    result = str(text)
    spellings: list[str] = []
    for secret in secrets:
        if secret:
            spellings.extend(_forms(secret))
    # Longest first, so that a secret containing another is removed whole.
    for spelling in sorted(set(spellings), key=len, reverse=True):
        result = result.replace(spelling, REDACTED)
    result = _JWT_RE.sub(REDACTED, result)
    result = _KEYED_RE.sub(lambda m: m.group(1) + REDACTED, result)
    return _SCHEME_RE.sub(lambda m: m.group(1) + REDACTED, result)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts token-shaped text from every record it sees.

    A safety net only: code here never logs a token on purpose. Attach it to a
    handler to cover records from other libraries too (rucio, requests).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatting the traceback would print the exception's own text unredacted.
            exc = record.exc_info[1]
            record.exc_text = f"{type(exc).__name__}: {redact(exc)}"
            record.exc_info = None
        return True


def get_logger(name: str) -> logging.Logger:
    """The module logger, with the redacting filter attached once."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
