"""A development OIDC issuer that behaves like INDIGO IAM for what escape-dlaas needs.

Served over HTTPS by gunicorn (``issuer:create_app()``), one worker with threads, so
the in-memory refresh tokens and authorization codes are shared. What it offers:

- discovery (``/.well-known/openid-configuration``) and JWKS (``/jwks``);
- RS256 JWT access tokens with ``iss sub aud scope exp iat nbf jti client_id``;
- grants: ``password``, ``refresh_token``, ``authorization_code`` (with PKCE and an
  ``id_token`` for ``openid``, so a real JupyterHub can log users in), and RFC 8693
  ``urn:ietf:params:oauth:grant-type:token-exchange``;
- ``/userinfo`` for the hub, and RFC 7009 revocation of refresh tokens (``/revoke``).

A client registered with an ``http`` loopback redirect URI may use it on any port
(RFC 8252, section 7.3), so a hub started on a free port can log users in.

The audience of a token comes from the ``audience`` (or ``aud``, or ``resource``)
parameter of the token request, else from the client's default audience. Error
descriptions are our own words: they never echo a token.

This is NOT a production identity provider: users and clients come from files the lake
generates, state lives in memory, and there is one signing key.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import lake_runtime
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, Response, g, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
SCOPES_SUPPORTED = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "wlcg",
    "wlcg.groups",
    "storage.read:/",
    "storage.modify:/",
]


@dataclass
class User:
    name: str
    sub: str
    password: str
    email: str
    groups: list[str]

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    grant_types: list[str]
    redirect_uris: list[str]
    default_audience: str
    scopes: list[str] = field(default_factory=lambda: list(SCOPES_SUPPORTED))

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope_to_list(scope) if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris or any(
            _same_loopback_uri(redirect_uri, registered) for registered in self.redirect_uris
        )

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _same_loopback_uri(asked: str, registered: str) -> bool:
    """Equal but for the port, both plain-HTTP loopback URIs (RFC 8252, 7.3); never a user-part or query trick."""
    try:
        a, r = urlsplit(asked), urlsplit(registered)
        a.port, r.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        a.scheme == r.scheme == "http"
        and a.hostname in LOOPBACK_HOSTS
        and a.hostname == r.hostname
        and a.username is None
        and a.password is None
        and (a.path, a.query, a.fragment) == (r.path, r.query, r.fragment)
    )


@dataclass
class RefreshToken(TokenMixin):
    refresh_token: str
    client_id: str
    user: User
    scope: str
    audience: str
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> User:
        return self.user

    def get_client(self) -> Any:
        return STORE.clients[self.client_id]


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


class Store:
    """Users and clients from the lake's files; issued codes and refresh tokens in memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, User] = {}
        self.clients: dict[str, Client] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.key: RSAKey | None = None
        self.issuer = ""
        self.token_lifetime = 3600
        self.refresh_lifetime = 30 * 24 * 3600

    def load(self, config: dict[str, Any]) -> None:
        import json

        self.issuer = config["issuer_url"]
        self.token_lifetime = int(config["token_lifetime"])
        self.refresh_lifetime = int(config.get("refresh_token_lifetime", self.refresh_lifetime))
        paths = config["paths"]
        with open(paths["users"], encoding="utf-8") as handle:
            for name, data in json.load(handle).items():
                self.users[name] = User(
                    name=name,
                    sub=data["sub"],
                    password=data["password"],
                    email=data["email"],
                    groups=list(data.get("groups", [])),
                )
        with open(paths["issuer_clients"], encoding="utf-8") as handle:
            for client_id, data in json.load(handle).items():
                self.clients[client_id] = Client(
                    client_id=client_id,
                    client_secret=data["secret"],
                    grant_types=list(data["grant_types"]),
                    redirect_uris=list(data.get("redirect_uris", [])),
                    default_audience=data["default_audience"],
                )
        with open(paths["signing_key"], "rb") as handle:
            pem = handle.read()
        kid = hashlib.sha256(pem).hexdigest()[:16]
        self.key = RSAKey.import_key(pem, {"kid": kid, "use": "sig", "alg": "RS256"})

    def user_by_sub(self, sub: str) -> User | None:
        return next((u for u in self.users.values() if u.sub == sub), None)


STORE = Store()


def _requested_audience() -> str | None:
    form = request.form
    for name in ("audience", "aud"):
        if form.get(name):
            return " ".join(form.getlist(name))
    if form.get("resource"):
        return " ".join(form.getlist("resource"))
    return None


def _sign(claims: dict[str, Any]) -> str:
    assert STORE.key is not None
    return jwt.encode({"alg": "RS256", "kid": STORE.key.kid, "typ": "JWT"}, claims, STORE.key)


def _access_token(client: Client, grant_type: str, user: User | None, scope: str) -> str:
    now = int(time.time())
    audience = g.get("lake_audience") or client.default_audience
    auds = audience.split()
    claims = {
        "iss": STORE.issuer,
        "sub": user.sub if user else client.client_id,
        "aud": auds[0] if len(auds) == 1 else auds,
        "scope": scope or "",
        "iat": now,
        "nbf": now,
        "exp": now + STORE.token_lifetime,
        "jti": secrets.token_hex(16),
        "client_id": client.client_id,
    }
    if user and "wlcg.groups" in scope_to_list(scope or ""):
        claims["wlcg.groups"] = [f"/{grp}" for grp in user.groups]
    return _sign(claims)


def _refresh_token(client: Client, grant_type: str, user: User | None, scope: str) -> str:
    return secrets.token_urlsafe(48)


def _expires_in(client: Client, grant_type: str) -> int:
    return STORE.token_lifetime


def save_token(token: dict[str, Any], req: Any) -> None:
    refresh = token.get("refresh_token")
    if refresh and req.user is not None:
        with STORE.lock:
            STORE.refresh_tokens[refresh] = RefreshToken(
                refresh_token=refresh,
                client_id=req.client.client_id,
                user=req.user,
                scope=token.get("scope", ""),
                audience=g.get("lake_audience") or req.client.default_audience,
                issued_at=time.time(),
                expires_in=STORE.refresh_lifetime,
            )


def query_client(client_id: str) -> Client | None:
    return STORE.clients.get(client_id)


def _wants_refresh(scope: str | None) -> bool:
    return "offline_access" in scope_to_list(scope or "")


def _check_scope(client: Client, scope: str | None) -> str:
    if scope and client.get_allowed_scope(scope) != " ".join(scope_to_list(scope)):
        raise InvalidScopeError(description="a requested scope is not allowed for this client")
    return scope or ""


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_user(self, username: str, password: str) -> User | None:
        user = STORE.users.get(username)
        if user and secrets.compare_digest(password.encode(), user.password.encode()):
            return user
        return None

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        scope = _check_scope(self.client, self.request.payload.scope)
        token = self.generate_token(user=self.request.user, scope=scope, include_refresh_token=_wants_refresh(scope))
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        with STORE.lock:
            item = STORE.refresh_tokens.get(refresh_token)
        if item and not item.is_revoked() and not item.is_expired():
            if not g.get("lake_audience"):
                g.lake_audience = item.audience  # keep the audience first asked for
            return item
        return None

    def authenticate_user(self, refresh_token: RefreshToken) -> User:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        with STORE.lock:
            refresh_token.revoked = True
            STORE.refresh_tokens.pop(refresh_token.refresh_token, None)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, req: Any) -> None:
        data = req.payload.data
        with STORE.lock:
            STORE.codes[code] = AuthCode(
                code=code,
                client_id=req.client.client_id,
                redirect_uri=req.payload.redirect_uri or "",
                scope=req.payload.scope or "",
                user=req.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
                expires_at=time.time() + 300,
            )

    def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
        with STORE.lock:
            item = STORE.codes.get(code)
        if item and item.client_id == client.client_id and item.expires_at > time.time():
            return item
        return None

    def delete_authorization_code(self, authorization_code: AuthCode) -> None:
        with STORE.lock:
            STORE.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthCode) -> User:
        return authorization_code.user


class LakeOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce: str, req: Any) -> bool:
        with STORE.lock:
            return any(c.nonce == nonce for c in STORE.codes.values())

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        assert STORE.key is not None
        return STORE.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        assert STORE.key is not None
        return {"alg": "RS256", "kid": STORE.key.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": STORE.issuer, "aud": [client.client_id], "exp": int(time.time()) + STORE.token_lifetime}

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return UserInfo(_user_info(user))


def _user_info(user: User) -> dict[str, Any]:
    return {
        "sub": user.sub,
        "preferred_username": user.name,
        "name": user.name.capitalize(),
        "email": user.email,
        "email_verified": True,
        "groups": user.groups,
    }


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """RFC 8693: swap a live access token of this issuer for one with another audience."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(description="this client may not use token exchange")
        form = self.request.form
        subject_token = form.get("subject_token")
        if not subject_token:
            raise InvalidRequestError(description="missing 'subject_token'")
        if form.get("subject_token_type") not in (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE):
            raise InvalidRequestError(description=f"'subject_token_type' must be {ACCESS_TOKEN_TYPE}")
        requested_type = form.get("requested_token_type")
        if requested_type and requested_type != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(description=f"only {ACCESS_TOKEN_TYPE} can be issued")
        claims = verify_access_token(subject_token)
        if claims is None:
            raise InvalidGrantError(description="the subject token is invalid, expired or not issued here")
        user = STORE.user_by_sub(str(claims.get("sub")))
        if user is None:
            raise InvalidGrantError(description="the subject token does not belong to a known user")
        scope = self.request.payload.scope or claims.get("scope", "")
        self.request.client = client
        self.request.user = user
        self.request.exchange_scope = _check_scope(client, scope)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        scope = self.request.exchange_scope
        token = self.generate_token(user=self.request.user, scope=scope, include_refresh_token=_wants_refresh(scope))
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def verify_access_token(token: str) -> dict[str, Any] | None:
    """Claims of a live token signed by this issuer, else None (never raises, never logs it)."""
    assert STORE.key is not None
    try:
        decoded = jwt.decode(token, STORE.key, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = dict(decoded.claims)
    now = time.time()
    if claims.get("iss") != STORE.issuer or float(claims.get("exp", 0)) <= now or float(claims.get("nbf", 0)) > now + 5:
        return None
    return claims


LOGIN_PAGE = """<!doctype html><html><head><title>Lake issuer login</title></head>
<body style="font-family: sans-serif; max-width: 30em; margin: 4em auto">
<h2>Local data lake: development login</h2>
<p>Client <code>{client}</code> asks for <code>{scope}</code>.</p>{error}
<form method="post"><label>User <input name="username" autofocus></label><br><br>
<label>Password <input name="password" type="password"></label><br><br>
<button type="submit">Log in</button></form>
<p><small>Demo users and their password files are listed by <code>escape-dlaas lake status</code>.</small></p>
</body></html>"""


def create_app() -> Flask:
    lake_runtime.setup_logging("issuer")
    config = lake_runtime.load()
    STORE.load(config)

    app = Flask("escape-dlaas-lake-issuer")
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", BearerTokenGenerator(_access_token, _refresh_token, _expires_in))
    server.register_grant(PasswordGrant)
    server.register_grant(RefreshGrant)
    server.register_grant(CodeGrant, [LakeOpenIDCode(require_nonce=False), CodeChallenge(required=False)])
    server.register_grant(TokenExchangeGrant)
    base = STORE.issuer.rstrip("/")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Response:
        return jsonify(
            {
                "issuer": STORE.issuer,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "introspection_endpoint": f"{base}/introspect",
                "revocation_endpoint": f"{base}/revoke",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "grant_types_supported": ["authorization_code", "password", "refresh_token", TOKEN_EXCHANGE],
                "scopes_supported": SCOPES_SUPPORTED,
                "code_challenge_methods_supported": ["S256", "plain"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "name",
                    "preferred_username",
                    "email",
                    "groups",
                ],
            }
        )

    @app.get("/jwks")
    def jwks() -> Response:
        assert STORE.key is not None
        return jsonify({"keys": [STORE.key.as_dict(private=False)]})

    @app.post("/token")
    def token() -> Response:
        g.lake_audience = _requested_audience()
        return server.create_token_response()

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        try:
            grant = server.get_consent_grant(end_user=None)
        except Exception as error:  # an invalid client or redirect URI: say so, never redirect
            description = getattr(error, "description", "") or "invalid authorization request"
            return Response(f"Authorization request refused: {html.escape(description)}", status=400)
        client = grant.client
        scope = html.escape(grant.request.payload.scope or "")
        if request.method == "GET":
            return LOGIN_PAGE.format(client=html.escape(client.client_id), scope=scope, error="")
        user = STORE.users.get(request.form.get("username", ""))
        password = request.form.get("password", "")
        if not user or not secrets.compare_digest(password.encode(), user.password.encode()):
            error = '<p style="color: #b00">Unknown user or wrong password.</p>'
            return LOGIN_PAGE.format(client=html.escape(client.client_id), scope=scope, error=error), 401
        return server.create_authorization_response(grant_user=user, grant=grant)

    def _bearer_claims() -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        return verify_access_token(header[7:].strip())

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo() -> Any:
        claims = _bearer_claims()
        user = STORE.user_by_sub(str(claims.get("sub"))) if claims else None
        if user is None:
            return jsonify({"error": "invalid_token", "error_description": "missing, invalid or expired token"}), 401
        return jsonify(_user_info(user))

    def _basic_client() -> Client | None:
        auth = request.authorization
        client = STORE.clients.get(auth.username or "") if auth else None
        if client is None or auth is None or not client.check_client_secret(auth.password or ""):
            return None
        return client

    @app.post("/revoke")
    def revoke() -> Any:
        """RFC 7009 for refresh tokens: the client's own are forgotten; anything else is ignored (still 200)."""
        client = _basic_client()
        if client is None:
            client = STORE.clients.get(request.form.get("client_id", ""))
            if client is None or not client.check_client_secret(request.form.get("client_secret", "")):
                return jsonify({"error": "invalid_client"}), 401
        with STORE.lock:
            item = STORE.refresh_tokens.get(request.form.get("token", ""))
            if item is not None and item.client_id == client.client_id:
                item.revoked = True
                del STORE.refresh_tokens[item.refresh_token]
        return Response(status=200)

    @app.post("/introspect")
    def introspect() -> Any:
        client = _basic_client()
        if client is None:
            return jsonify({"error": "invalid_client"}), 401
        claims = verify_access_token(request.form.get("token", ""))
        if claims is None:
            return jsonify({"active": False})
        return jsonify({"active": True, **claims})

    @app.get("/")
    def index() -> str:
        return "escape-dlaas local data lake: development OIDC issuer; see /.well-known/openid-configuration\n"

    return app
