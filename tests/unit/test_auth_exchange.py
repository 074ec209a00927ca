"""RFC 8693 exchange against a stand-in HTTPS issuer on 127.0.0.1, and the manager on top of it.

The stand-in (no Authlib) serves OIDC discovery and an RS256 token-exchange grant
over TLS with a certificate made here with ``cryptography``. The real lake issuer
is used by tests/integration/test_auth_lake.py.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import http.server
import ipaddress
import json
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from escape_dlaas.auth.exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, TokenExchanger
from escape_dlaas.auth.manager import RucioCredentials, TokenManager
from escape_dlaas.auth.sources import FoundToken
from escape_dlaas.config import InstanceConfig, TokenExchangeConfig, parse_instance
from escape_dlaas.errors import (
    ConfigurationError,
    CredentialsExpired,
    PermissionDenied,
    ServiceTimeout,
    ServiceUnavailable,
)
from escape_dlaas.resilience import NOT_ANSWERING, time_budget, user_request

CLIENT_ID = "escape-dlaas"
CLIENT_SECRET = "exchange-client-secret-value"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- TLS material -----------------------------------------------------------------------------


class Tls:
    """A CA and a server certificate for 127.0.0.1, as files."""

    def __init__(self, directory: Path):
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in test CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca = directory / "ca.pem"
        self.cert = directory / "server.pem"
        self.key = directory / "server.key"
        self.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    return Tls(tmp_path_factory.mktemp("tls"))


# -- the stand-in issuer ----------------------------------------------------------------------


class StandInIssuer:
    """Discovery + RFC 8693 exchange over HTTPS; behaviour switchable per test."""

    def __init__(self, tls: Tls):
        self.tls = tls
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = 0
        self.exchanged_lifetime = 300
        self.mode = "ok"  # ok | 503 | hung | invalid_client | wrong_audience | echo_token_error
        self.delay = 0.0
        self.resumed = threading.Event()  # "hung": every request waits ``delay`` or until this is set (like SIGCONT)
        self.discoveries = 0
        self.exchanges: list[dict[str, Any]] = []
        self.token_endpoint_override: str | None = None
        self.clock = time.time  # tests that move time forward move the issuer's clock too
        self._lock = threading.Lock()
        self.server: http.server.ThreadingHTTPServer | None = None
        self.start()

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def mint(
        self,
        *,
        sub: str = "alice",
        aud: str | list[str] = "jupyterhub",
        lifetime: float = 3600,
        scope: str = "openid profile",
        issuer: str | None = None,
    ) -> str:
        now = self.clock()
        header = b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": "k1"}).encode())
        body = {
            "iss": issuer or self.issuer,
            "sub": sub,
            "aud": aud,
            "scope": scope,
            "iat": int(now),
            "exp": int(now + lifetime),
            "jti": f"{now:.6f}",
        }
        payload = b64(json.dumps(body).encode())
        signature = self.signing_key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{b64(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        try:
            header, payload, signature = token.split(".")
            self.signing_key.public_key().verify(
                unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (ValueError, InvalidSignature):
            return None
        claims: dict[str, Any] = json.loads(unb64(payload))
        return claims

    def start(self) -> None:
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if issuer.mode == "hung":
                    issuer.resumed.wait(issuer.delay)
                if self.path != "/.well-known/openid-configuration":
                    self._json(404, {"error": "not_found"})
                    return
                with issuer._lock:
                    issuer.discoveries += 1
                self._json(
                    200,
                    {
                        "issuer": issuer.issuer,
                        "token_endpoint": issuer.token_endpoint_override or issuer.issuer + "token",
                        "jwks_uri": issuer.issuer + "jwks",
                        "grant_types_supported": ["refresh_token", TOKEN_EXCHANGE_GRANT],
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                with issuer._lock:
                    issuer.exchanges.append({"form": form, "auth": auth, "path": self.path})
                if issuer.mode == "hung":
                    issuer.resumed.wait(issuer.delay)
                else:
                    time.sleep(issuer.delay)
                if issuer.mode == "503":
                    self._json(503, {"error": "temporarily_unavailable"})
                    return
                client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
                if issuer.mode == "invalid_client" or (unquote(client_id), unquote(secret)) != (
                    CLIENT_ID,
                    CLIENT_SECRET,
                ):
                    self._json(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
                    return
                if form.get("grant_type") != TOKEN_EXCHANGE_GRANT:
                    self._json(400, {"error": "unsupported_grant_type"})
                    return
                subject = form.get("subject_token", "")
                claims = issuer.verify(subject)
                if claims is None or claims["exp"] < issuer.clock():
                    # Like IAM: the description quotes the refused token.
                    self._json(400, {"error": "invalid_grant", "error_description": f"Invalid token: {subject}"})
                    return
                audience = "storage" if issuer.mode == "wrong_audience" else form.get("audience", "")
                token = issuer.mint(
                    sub=claims["sub"], aud=audience, lifetime=issuer.exchanged_lifetime, scope=form.get("scope", "")
                )
                if issuer.mode == "opaque":
                    token = "opaque-" + token.rsplit(".", 1)[1][:40]
                self._json(
                    200,
                    {
                        "access_token": token,
                        "issued_token_type": ACCESS_TOKEN_TYPE,
                        "token_type": "Bearer",
                        # Some servers send a string; the stand-in does when asked for opaque tokens.
                        "expires_in": str(issuer.exchanged_lifetime)
                        if issuer.mode == "opaque"
                        else issuer.exchanged_lifetime,
                        "scope": form.get("scope", ""),
                    },
                )

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls.cert, self.tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_port
        self.server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def issuer(tls) -> Iterator[StandInIssuer]:
    stand_in = StandInIssuer(tls)
    yield stand_in
    stand_in.stop()


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "exchange-client.secret"
    path.write_text(CLIENT_SECRET + "\n")
    path.chmod(0o600)
    return path


def exchange_config(issuer: StandInIssuer, secret_file: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "issuer": issuer.issuer,
        "client_id": CLIENT_ID,
        "client_secret_file": str(secret_file),
        "audience": "rucio",
        "scope": "openid profile",
        "refresh_margin_seconds": 60,
        **overrides,
    }


def instance_for(
    issuer: StandInIssuer, tls: Tls, secret_file: Path, token_path: Path, **exchange: Any
) -> InstanceConfig:
    return parse_instance(
        {
            "name": "standin",
            "rucio_url": "http://127.0.0.1:1",
            "ca_bundle": str(tls.ca),
            "timeout_seconds": 2,
            "token_sources": [{"type": "file", "path": str(token_path)}],
            "token_exchange": exchange_config(issuer, secret_file, **exchange),
        },
        "instances[0]",
    )


def exchanger_for(issuer: StandInIssuer, tls: Tls, secret_file: Path, **kwargs: Any) -> TokenExchanger:
    instance = instance_for(issuer, tls, secret_file, secret_file)
    assert instance.token_exchange is not None
    return TokenExchanger(instance.token_exchange, ca_bundle=tls.ca, timeout=kwargs.pop("timeout", 2), **kwargs)


def subject(token: str, source: str = "file:/tokens/alice.token") -> FoundToken:
    return FoundToken.from_text(token, source)


# -- the exchanger ----------------------------------------------------------------------------


def test_exchange_gives_a_rucio_token_for_the_users_token(issuer, tls, secret_file):
    exchanger = exchanger_for(issuer, tls, secret_file)
    user_token = issuer.mint(sub="alice", aud="jupyterhub")
    result = exchanger.exchange(subject(user_token))
    assert result.claims is not None
    assert (result.claims.sub, result.claims.aud, result.claims.iss) == ("alice", ("rucio",), issuer.issuer)
    assert result.scope == "openid profile"
    assert result.expires_at == pytest.approx(time.time() + 300, abs=5)
    assert result.token not in repr(result)
    sent = issuer.exchanges[0]
    assert sent["path"] == "/token"
    assert sent["form"] == {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": user_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": "rucio",
        "scope": "openid profile",
    }
    assert sent["auth"].startswith("Basic ")


def test_discovery_is_cached_and_refreshed_after_its_ttl(issuer, tls, secret_file):
    now = [1000.0]
    exchanger = exchanger_for(issuer, tls, secret_file, clock=lambda: now[0], discovery_ttl_seconds=60)
    token = issuer.mint()
    for _ in range(3):
        exchanger.exchange(subject(token))
    assert issuer.discoveries == 1
    now[0] += 61
    exchanger.exchange(subject(token))
    assert issuer.discoveries == 2


def test_a_token_from_another_issuer_is_never_sent(issuer, tls, secret_file):
    exchanger = exchanger_for(issuer, tls, secret_file)
    foreign = issuer.mint(issuer="https://accounts.example.org/")
    with pytest.raises(ConfigurationError, match=r"accounts\.example\.org"):
        exchanger.exchange(subject(foreign))
    with pytest.raises(ConfigurationError, match="does not say who issued it"):
        exchanger.exchange(subject("opaque-hub-login-token"))
    assert issuer.exchanges == []
    # An opaque token whose issuer the source vouches for (oidc-agent) may go.
    vouched = FoundToken.from_text(issuer.mint(), "oidc-agent:escape")
    assert exchanger.refusal(vouched) is None


def test_a_token_endpoint_elsewhere_is_refused(issuer, tls, secret_file):
    issuer.token_endpoint_override = "https://collector.example.org/token"
    with pytest.raises(ConfigurationError, match="not an https URL on the issuer's own host"):
        exchanger_for(issuer, tls, secret_file).exchange(subject(issuer.mint()))
    assert issuer.exchanges == []


def test_expired_subject_is_credentials_expired_and_the_token_is_not_quoted(issuer, tls, secret_file):
    exchanger = exchanger_for(issuer, tls, secret_file)
    stale = issuer.mint(lifetime=-10)
    with pytest.raises(CredentialsExpired) as refused:
        exchanger.exchange(subject(stale, source="jupyterhub"))
    assert stale not in refused.value.message
    assert stale.split(".")[1] not in refused.value.message
    assert "Log out of JupyterHub and log in again" in refused.value.message


def test_bad_client_credentials_are_an_admin_problem(issuer, tls, secret_file):
    secret_file.write_text("wrong-secret")
    with pytest.raises(ConfigurationError, match="Administrator: check the client id and secret") as refused:
        exchanger_for(issuer, tls, secret_file).exchange(subject(issuer.mint()))
    assert "wrong-secret" not in refused.value.message


def test_issuer_failures_are_service_errors(issuer, tls, secret_file):
    exchanger = exchanger_for(issuer, tls, secret_file, timeout=0.5)
    token = issuer.mint()
    issuer.mode = "503"
    with pytest.raises(ServiceUnavailable, match="HTTP 503") as failed:
        exchanger.exchange(subject(token))
    assert failed.value.service == "token issuer"
    issuer.mode, issuer.delay = "ok", 1.5
    with pytest.raises(ServiceTimeout) as slow:
        exchanger.exchange(subject(token))
    assert slow.value.service == "token issuer"


def test_unreachable_issuer_and_untrusted_certificate(issuer, tls, secret_file):
    exchanger = exchanger_for(issuer, tls, secret_file)
    token = issuer.mint()
    untrusting = TokenExchanger(exchanger.config, ca_bundle=None, timeout=2)
    with pytest.raises(ServiceUnavailable, match="ca_bundle"):
        untrusting.exchange(subject(token))
    issuer.stop()
    with pytest.raises(ServiceUnavailable, match="could not be reached") as failed:
        exchanger.exchange(subject(token))
    assert token not in failed.value.message


def test_a_token_for_the_wrong_audience_is_not_accepted(issuer, tls, secret_file):
    issuer.mode = "wrong_audience"
    with pytest.raises(ConfigurationError, match="audience storage, not 'rucio'"):
        exchanger_for(issuer, tls, secret_file).exchange(subject(issuer.mint()))


def test_an_opaque_exchanged_token_expires_per_expires_in(issuer, tls, secret_file):
    issuer.mode = "opaque"
    result = exchanger_for(issuer, tls, secret_file).exchange(subject(issuer.mint()))
    assert result.claims is None
    assert result.token.startswith("opaque-")
    assert result.expires_at == pytest.approx(time.time() + 300, abs=5)


def test_client_secret_from_file_must_be_private_or_from_env(issuer, tls, secret_file):
    exchanger = exchanger_for(issuer, tls, secret_file)
    assert exchanger.client_secret() == CLIENT_SECRET
    secret_file.chmod(0o640)
    with pytest.raises(ConfigurationError, match="0640"):
        exchanger.client_secret()
    config = exchanger.config.__class__(issuer=issuer.issuer, client_id=CLIENT_ID, client_secret_env="EXCHANGE_SECRET")
    from_env = TokenExchanger(config, ca_bundle=tls.ca, environ={"EXCHANGE_SECRET": CLIENT_SECRET})
    assert from_env.exchange(subject(issuer.mint())).claims is not None
    with pytest.raises(ConfigurationError, match="EXCHANGE_SECRET is not set"):
        TokenExchanger(config, environ={}).client_secret()


def test_missing_ca_bundle_file_is_a_configuration_error(issuer, tls, secret_file, tmp_path):
    exchanger = exchanger_for(issuer, tls, secret_file)
    broken = TokenExchanger(exchanger.config, ca_bundle=tmp_path / "absent.pem")
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        broken.exchange(subject(issuer.mint()))


def _response(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


# Tokens are long: a short one could be a word of the message itself ("exchange"), found in it for that reason alone.
token_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=24)


def offline_exchange_config() -> TokenExchangeConfig:
    """An exchange configuration whose issuer is never contacted (for the error mapping)."""
    config = parse_instance(
        {
            "name": "t",
            "rucio_url": "http://127.0.0.1:1",
            "token_sources": [{"type": "wlcg"}],
            "token_exchange": {"issuer": "https://iam.example/", "client_id": "c", "client_secret_env": "S"},
        },
        "i",
    ).token_exchange
    assert config is not None
    return config


@settings(max_examples=200, deadline=None)
@given(
    token=token_text,
    status=st.sampled_from([400, 401, 403, 404, 429, 500, 503]),
    error=st.sampled_from(["invalid_grant", "invalid_request", "invalid_client", "access_denied", "x", ""]),
    before=st.text(max_size=50),
    after=st.text(max_size=50),
)
def test_no_issuer_error_message_contains_the_subject_token_or_secret(token, status, error, before, after):
    config = offline_exchange_config()
    exchanger = TokenExchanger(config, environ={"S": CLIENT_SECRET})
    description = f"{before}{token}{after} secret={CLIENT_SECRET}"
    failure = exchanger._failure(
        _response(status, {"error": error, "error_description": description}), subject(token), CLIENT_SECRET
    )
    assert token not in failure.message
    assert CLIENT_SECRET not in failure.message


@pytest.mark.parametrize(
    ("status", "error", "description", "expected"),
    [
        (400, "invalid_grant", "", CredentialsExpired),
        (400, "invalid_request", "subject token expired", CredentialsExpired),
        (400, "invalid_request", "missing parameter", ConfigurationError),
        (400, "invalid_target", "", ConfigurationError),
        (400, "invalid_scope", "", ConfigurationError),
        (403, "access_denied", "policy", PermissionDenied),
        (401, "", "", ConfigurationError),
        (400, "unauthorized_client", "", ConfigurationError),
        (500, "server_error", "", ServiceUnavailable),
        (429, "slow_down", "", ServiceUnavailable),
        (418, "teapot", "", ServiceUnavailable),
    ],
)
def test_error_mapping(status, error, description, expected):
    config = offline_exchange_config()
    failure = TokenExchanger(config)._failure(
        _response(status, {"error": error, "error_description": description}), subject("opaque-1234"), "s"
    )
    assert type(failure) is expected


# -- the manager with an exchange -------------------------------------------------------------


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="auth-test")
    yield executor
    executor.shutdown(wait=False, cancel_futures=True)


def write_token(path: Path, token: str) -> None:
    temp = path.with_suffix(".tmp")
    temp.write_text(token)
    temp.chmod(0o600)
    temp.replace(path)


@pytest.mark.asyncio
async def test_manager_exchanges_once_for_many_concurrent_callers(issuer, tls, secret_file, tmp_path, pool):
    token_path = tmp_path / "alice.token"
    user_token = issuer.mint(sub="alice")
    write_token(token_path, user_token)
    issuer.delay = 0.2  # keep the first exchange in flight while the others arrive
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    results = await asyncio.gather(*(manager.rucio_credentials() for _ in range(20)))
    assert len(issuer.exchanges) == 1
    assert len({r.token for r in results}) == 1
    credentials = results[0]
    assert credentials.exchanged
    assert credentials.auth_type == "oidc"
    assert credentials.token != user_token
    assert credentials.claims is not None
    assert credentials.claims.aud == ("rucio",)
    summary = manager.summary()
    assert summary["sub"] == "alice"
    assert summary["aud"] == ["rucio"]
    assert summary["iss"] == issuer.issuer
    assert summary["exchanged"] is True
    assert summary["source"] == f"file:{token_path}"
    assert 290 <= summary["expires_in"] <= 300
    assert credentials.token is not None
    assert credentials.token not in json.dumps(summary)
    assert credentials.token not in repr(credentials)
    assert credentials.token not in repr(manager)


@pytest.mark.asyncio
async def test_manager_refreshes_before_expiry_and_when_the_subject_changes(issuer, tls, secret_file, tmp_path, pool):
    now = [time.time()]
    issuer.clock = lambda: now[0]
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint(sub="alice"))
    issuer.exchanged_lifetime = 600
    manager = TokenManager(
        instance_for(issuer, tls, secret_file, token_path, refresh_margin_seconds=60),
        pool,
        subject_recheck_seconds=30,
        clock=lambda: now[0],
    )
    first = await manager.rucio_credentials()
    now[0] += 29
    assert await manager.rucio_credentials() is first  # cached: no source read, no exchange
    now[0] += 100
    assert await manager.rucio_credentials() is first  # sources re-read, subject unchanged: still no exchange
    assert len(issuer.exchanges) == 1
    now[0] += 600 - 129 - 59  # inside the refresh margin
    refreshed = await manager.rucio_credentials()
    assert refreshed is not first
    assert len(issuer.exchanges) == 2
    # A sidecar rewrites the subject token: the next check exchanges the new one.
    new_subject = issuer.mint(sub="alice")
    write_token(token_path, new_subject)
    now[0] += 31
    again = await manager.rucio_credentials()
    assert again is not refreshed
    assert issuer.exchanges[-1]["form"]["subject_token"] == new_subject


@pytest.mark.asyncio
async def test_short_lived_tokens_keep_working_across_expiries(issuer, tls, secret_file, tmp_path, pool):
    now = [time.time()]
    issuer.clock = lambda: now[0]
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint(sub="alice"))
    issuer.exchanged_lifetime = 20  # shorter than the 60 s margin: refresh at half-life instead
    manager = TokenManager(
        instance_for(issuer, tls, secret_file, token_path), pool, subject_recheck_seconds=5, clock=lambda: now[0]
    )
    seen = set()
    for _ in range(30):  # 30 calls over 90 s: four and a half lifetimes
        credentials = await manager.rucio_credentials()
        assert credentials.expires_at is not None
        assert credentials.expires_at - now[0] > 5
        seen.add(credentials.token)
        now[0] += 3
    assert 5 <= len(issuer.exchanges) <= 10
    assert len(seen) == len(issuer.exchanges)


@pytest.mark.asyncio
async def test_invalidate_after_a_rucio_401_forces_a_new_exchange(issuer, tls, secret_file, tmp_path, pool):
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint())
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    first = await manager.rucio_credentials()
    manager.invalidate()
    assert manager.summary()["authenticated"] is False
    second = await manager.rucio_credentials()
    assert second is not first
    assert len(issuer.exchanges) == 2


@pytest.mark.asyncio
async def test_issuer_outage_then_recovery(issuer, tls, secret_file, tmp_path, pool):
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint())
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    await manager.rucio_credentials()
    issuer.stop()
    # Still-valid credentials keep working through the outage ...
    assert (await manager.rucio_credentials()).exchanged
    # ... but once they are dropped, the outage shows.
    manager.invalidate()
    with pytest.raises(ServiceUnavailable) as failed:
        await manager.rucio_credentials()
    assert failed.value.service == "token issuer"
    issuer.start()  # same port
    credentials = await manager.rucio_credentials()
    assert credentials.exchanged
    assert credentials.claims is not None
    assert credentials.claims.aud == ("rucio",)


@pytest.mark.asyncio
async def test_expired_subject_gives_sign_in_again(issuer, tls, secret_file, tmp_path, pool):
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint(lifetime=-60))
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    with pytest.raises(CredentialsExpired, match="expired") as refused:
        await manager.rucio_credentials()
    assert issuer.exchanges == []  # an expired subject is not even sent
    assert "sign in again" in refused.value.message.lower()


@pytest.mark.asyncio
async def test_no_token_in_logs_at_any_level(issuer, tls, secret_file, tmp_path, pool, caplog):
    token_path = tmp_path / "alice.token"
    user_token = issuer.mint()
    write_token(token_path, user_token)
    caplog.set_level(logging.DEBUG)
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    credentials = await manager.rucio_credentials()
    issuer.mode = "invalid_client"
    manager.invalidate()
    with pytest.raises(ConfigurationError):
        await manager.rucio_credentials()
    write_token(token_path, issuer.mint(lifetime=-60))
    with pytest.raises(CredentialsExpired):
        await manager.rucio_credentials()
    assert caplog.records  # something was logged
    for secret in (user_token, credentials.token, CLIENT_SECRET):
        assert secret is not None
        assert secret not in caplog.text


@pytest.mark.asyncio
async def test_a_hung_issuer_is_named_then_fails_fast_and_is_used_again_once_it_answers(
    issuer, tls, secret_file, tmp_path, pool
):
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint())
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)  # timeout 2 s
    await manager.rucio_credentials()
    issuer.mode, issuer.delay = "hung", 3.0
    manager.invalidate()  # as after Rucio refused the token: a new exchange is needed
    started = time.monotonic()
    with pytest.raises(ServiceTimeout) as slow:
        await manager.rucio_credentials()
    assert time.monotonic() - started < 2.6
    assert slow.value.service == "token issuer"
    assert issuer.issuer in slow.value.message
    exchanges = len(issuer.exchanges)

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as down:
        await manager.rucio_credentials()
    assert time.monotonic() - started < 1.3, "known down: answered after at most a short probe"
    assert down.value.reason == NOT_ANSWERING
    assert down.value.service == "token issuer"
    assert f"the token issuer {issuer.issuer} is not answering" in down.value.message.lower()
    assert len(issuer.exchanges) == exchanges, "no exchange was tried while it is known down"

    issuer.mode, issuer.delay = "ok", 0.0
    issuer.resumed.set()  # requests stuck at the issuer are answered now, as after SIGCONT
    await asyncio.sleep(0.6)  # the gap between two probes
    started = time.monotonic()
    credentials = await manager.rucio_credentials()
    assert credentials.exchanged
    assert time.monotonic() - started < 1.0
    manager.close()


@pytest.mark.asyncio
async def test_an_expired_sign_in_while_the_issuer_is_down_names_the_issuer_not_a_sign_in(
    issuer, tls, secret_file, tmp_path, pool
):
    """Signing in again cannot help while the issuer that would renew the sign-in is down."""
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint(lifetime=-60))
    issuer.stop()
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    with pytest.raises(ServiceUnavailable) as failed:
        await manager.rucio_credentials()
    assert not isinstance(failed.value, CredentialsExpired)
    assert failed.value.service == "token issuer"
    assert "cannot be renewed" in failed.value.message
    assert issuer.issuer in failed.value.message
    manager.close()


@pytest.mark.asyncio
async def test_waiting_for_another_requests_exchange_ends_at_the_deadline(issuer, tls, secret_file, tmp_path, pool):
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint())
    issuer.delay = 1.0
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)

    async def one_request() -> BaseException | None:
        with user_request(), time_budget(0.3):
            try:
                await manager.rucio_credentials()
            except ServiceTimeout as error:
                return error
        return None

    started = time.monotonic()
    errors = await asyncio.gather(one_request(), one_request())
    assert time.monotonic() - started < 0.6
    assert all(isinstance(e, ServiceTimeout) and e.service == "token issuer" for e in errors), errors
    assert any(issuer.issuer in str(e) for e in errors)
    manager.close()


@pytest.mark.asyncio
async def test_a_request_whose_time_ran_out_while_waiting_blames_the_wait_not_its_token_source(
    issuer, tls, secret_file, tmp_path, pool
):
    """Another request held the renewal until just before our deadline: we report that wait, read nothing."""
    token_path = tmp_path / "alice.token"
    write_token(token_path, issuer.mint())
    manager = TokenManager(instance_for(issuer, tls, secret_file, token_path), pool)
    await manager._lock.acquire()  # as another request renewing the credentials

    async def waiting_request() -> RucioCredentials:
        with user_request(), time_budget(0.4):
            return await manager.rucio_credentials()

    waiting = asyncio.ensure_future(waiting_request())
    await asyncio.sleep(0.25)  # the other renewal ends (and fails) with less than an attempt's time left to us
    manager._lock.release()
    with pytest.raises(ServiceTimeout) as waited:
        await waiting
    assert waited.value.service == "token issuer"
    assert "are being renewed" in waited.value.message
    assert issuer.issuer in waited.value.message
    assert issuer.exchanges == [], "nothing was tried with no time left"
    manager.close()
