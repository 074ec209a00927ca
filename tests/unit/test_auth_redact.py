"""redact(): no secret, and nothing shaped like a token, survives into a message."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus, urlencode

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from escape_dlaas.auth.redact import REDACTED, RedactingFilter, get_logger, redact

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_of(payload: dict[str, object]) -> str:
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}.{b64(b'signature-bytes-here')}"


# Opaque tokens as issuers make them: base64url, sometimes dotted, at least 8 characters.
opaque_tokens = st.text(alphabet=B64URL + ".", min_size=8, max_size=300)
# Anything a service might say around a token.
surroundings = st.text(max_size=200)
encodings = st.sampled_from(
    [lambda t: t, lambda t: quote(t, safe=""), quote_plus, lambda t: json.dumps(t)[1:-1], lambda t: json.dumps(t)]
)


@settings(max_examples=300)
@given(token=opaque_tokens, before=surroundings, after=surroundings, encode=encodings)
def test_a_named_secret_never_survives_in_any_encoding(token, before, after, encode):
    message = f"{before}{encode(token)}{after}"
    assert token not in redact(message, token)


@settings(max_examples=200)
@given(tokens=st.lists(opaque_tokens, min_size=1, max_size=4), glue=st.lists(surroundings, min_size=5, max_size=5))
def test_several_secrets_in_one_message_all_go(tokens, glue):
    message = glue[0] + "".join(t + g for t, g in zip(tokens, glue[1:], strict=False))
    cleaned = redact(message, *tokens)
    for token in tokens:
        assert token not in cleaned


@settings(max_examples=200)
@given(secret=st.text(min_size=1, max_size=60), before=surroundings, after=surroundings, encode=encodings)
def test_arbitrary_passwords_never_survive(secret, before, after, encode):
    # The only exception by construction: a secret made of the marker's own character.
    assume("*" not in secret)
    assert secret not in redact(f"{before}{encode(secret)}{after}", secret)


@settings(max_examples=200)
@given(
    sub=st.text(max_size=40),
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=4),
    before=surroundings,
    after=st.text(alphabet=" ,;:'\"()[]{}\n", max_size=20),
)
def test_unnamed_jwts_are_removed(sub, extra, before, after):
    token = jwt_of({"sub": sub, "iss": "https://iam.example/", **extra})
    cleaned = redact(f"{before} {token}{after}")
    assert token not in cleaned
    # Not even its payload survives.
    assert token.split(".")[1] not in cleaned


def test_credentials_in_headers_and_forms_are_removed():
    form = urlencode({"grant_type": "x", "subject_token": "opaque-subject-123", "client_secret": "s3cr3t-value"})
    for text in (
        form,
        "Authorization: Bearer opaque-bearer-value-1",
        "headers={'X-Rucio-Auth-Token': 'opaque-rucio-token-9'}",
        '{"access_token": "opaque-access-777", "refresh_token":"opaque-refresh-888"}',
        "Invalid header value b'Bearer opaque-header-55\\n'",
        "auth: Basic ZXNjYXBlOnNlY3JldA==",
    ):
        cleaned = redact(text)
        for secret in (
            "opaque-subject-123",
            "s3cr3t-value",
            "opaque-bearer-value-1",
            "opaque-rucio-token-9",
            "opaque-access-777",
            "opaque-refresh-888",
            "opaque-header-55",
            "ZXNjYXBlOnNlY3JldA==",
        ):
            assert secret not in cleaned, text
        assert REDACTED in cleaned


def test_ordinary_text_is_left_alone():
    for text in (
        "The token issuer https://iam-escape.cloud.cnaf.infn.it/ could not be reached: connection refused",
        "token file /tmp/rucio_oauth.token does not exist",
        "journey.planner.v1 keyJ.abc",
        "JupyterHub's auth_state has no token under 'access_token' (keys: id_token, refresh_token)",
    ):
        assert redact(text) == text


def test_empty_and_none_secrets_are_ignored_and_non_strings_accepted():
    assert redact("plain", None, "") == "plain"
    assert redact(ValueError("boom")) == "boom"


def test_logging_filter_redacts_records_and_exceptions(caplog):
    token = jwt_of({"sub": "alice"})
    logger = get_logger("escape_dlaas.auth.test_redact")
    get_logger("escape_dlaas.auth.test_redact")  # attaching twice keeps one filter
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger="escape_dlaas.auth.test_redact"):
        logger.debug("got %s from the file", token)
        try:
            raise RuntimeError(f"bad header Bearer {token}")
        except RuntimeError:
            logger.exception("request failed")
    assert token not in caplog.text
    assert "request failed" in caplog.text
