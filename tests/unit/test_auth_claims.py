"""Reading a JWT's claims without trusting it."""

from __future__ import annotations

import base64
import json

import pytest

from escape_dlaas.auth.claims import TokenClaims, looks_like_jwt, read_claims, same_issuer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_of(payload: object, header: object | None = None) -> str:
    header = {"alg": "RS256", "typ": "JWT"} if header is None else header
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(b'sig')}"


def test_reads_the_claims_we_use():
    token = jwt_of(
        {
            "iss": "https://iam.example/",
            "sub": "alice",
            "aud": "rucio",
            "scope": "openid profile",
            "exp": 2000,
            "iat": 1000,
            "groups": ["escape"],
        }
    )
    claims = read_claims(token)
    assert claims == TokenClaims(
        iss="https://iam.example/", sub="alice", aud=("rucio",), scope="openid profile", exp=2000.0, iat=1000.0
    )
    assert claims.has_audience("rucio")
    assert not claims.has_audience("jupyterhub")
    assert claims.is_from("https://iam.example")
    assert not claims.is_from("https://evil.example/")
    assert claims.expires_in(now=1500) == 500


@pytest.mark.parametrize(
    ("payload", "aud", "scope"),
    [
        ({"aud": ["rucio", "storage", 7]}, ("rucio", "storage"), None),
        ({"aud": 12, "scp": ["openid", "profile"]}, (), "openid profile"),
        ({"scope": ""}, (), None),
    ],
)
def test_audience_and_scope_shapes(payload, aud, scope):
    claims = read_claims(jwt_of(payload))
    assert claims is not None
    assert claims.aud == aud
    assert claims.scope == scope


def test_exp_of_the_wrong_type_is_ignored():
    claims = read_claims(jwt_of({"exp": "soon", "iat": True}))
    assert claims is not None
    assert claims.exp is None
    assert claims.iat is None
    assert claims.expires_in() is None


@pytest.mark.parametrize(
    "token",
    [
        "opaque-token-value",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.not-json.sig",
        jwt_of({"sub": "x"}, header={"typ": "JWT"}),  # no alg: not a JWS header
        jwt_of(["not", "an", "object"]),
        jwt_of({"sub": "x"}) + ".extra.parts",  # a JWE has five parts and is opaque to us
        "eyJ+.eyJ/.x",
    ],
)
def test_opaque_or_malformed_tokens_have_no_claims(token):
    assert read_claims(token) is None
    assert not looks_like_jwt(token)


def test_looks_like_jwt():
    assert looks_like_jwt(jwt_of({}))


def test_same_issuer_ignores_only_a_trailing_slash():
    assert same_issuer("https://iam.example/", "https://iam.example")
    assert not same_issuer("https://iam.example/", "https://iam.example.org/")
    assert not same_issuer("https://iam.example/a", "https://iam.example/")
