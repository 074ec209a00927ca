"""The local data lake, for real: issuer, token exchange, Rucio, transfers, policies, lifecycle.

Everything here runs against the session's lake (``tests/fixtures_lake.py``); the DIDs,
accounts and targets come from ``lake.json``'s scenarios, never hard-coded.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from rucio.common.exception import AccessDenied, DuplicateRule, InsufficientAccountLimit

from escape_dlaas.lake import (
    Lake,
    LakeError,
    LakeInfo,
    Ports,
    TokenRequestError,
    decode_claims,
    exchange_token,
    free_ports,
    local_replica_path,
    password_token,
)
from escape_dlaas.lake.tokens import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[2]


def _wait_rule(client, rule_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        rule = client.get_replication_rule(rule_id)
        if rule["state"] in ("OK", "STUCK", "SUSPENDED") or time.monotonic() > deadline:
            return rule
        time.sleep(0.2)


def _exchange_form(subject_token: str) -> dict[str, str]:
    return {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": "rucio",
        "scope": "openid profile",
    }


def _client_auth(info: LakeInfo, role: str) -> tuple[str, str]:
    client = info.issuer.clients[role]
    return client.client_id, client.secret_file.read_text().strip()


def _token_request(info: LakeInfo, form: dict[str, str], client_role: str | None) -> requests.Response:
    """POST to the issuer's token endpoint, as the lake client of that role (HTTP basic) or none."""
    auth = _client_auth(info, client_role) if client_role else None
    return requests.post(info.issuer.token_endpoint, data=form, auth=auth, verify=info.issuer.ca_bundle, timeout=10)


# ---- the issuer -------------------------------------------------------------------------------


def test_discovery_and_jwks_over_https_with_the_lake_ca(lake_info: LakeInfo) -> None:
    base = lake_info.issuer.url.rstrip("/")
    discovery = requests.get(
        f"{base}/.well-known/openid-configuration", verify=lake_info.issuer.ca_bundle, timeout=10
    ).json()
    assert discovery["issuer"] == lake_info.issuer.url
    assert TOKEN_EXCHANGE in discovery["grant_types_supported"]
    keys = requests.get(discovery["jwks_uri"], verify=lake_info.issuer.ca_bundle, timeout=10).json()["keys"]
    assert keys
    assert keys[0]["kty"] == "RSA"
    assert "d" not in keys[0]


def test_access_token_has_iam_like_claims(lake_info: LakeInfo) -> None:
    token = password_token(lake_info, audience="rucio", scope="openid profile")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = decode_claims(token)
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert {"iss", "sub", "aud", "scope", "exp", "iat", "nbf", "jti", "client_id"} <= set(claims)
    assert claims["iss"] == lake_info.issuer.url
    assert claims["sub"] == lake_info.demo_user
    assert claims["aud"] == "rucio"
    assert claims["exp"] - claims["iat"] == lake_info.issuer.token_lifetime_seconds


def test_token_file_is_private_fresh_and_not_for_rucio(lake_info: LakeInfo) -> None:
    user = lake_info.user()
    mode = stat.S_IMODE(user.token_file.stat().st_mode)
    dir_mode = stat.S_IMODE(user.token_file.parent.stat().st_mode)
    token = user.token_file.read_text()
    claims = decode_claims(token)
    assert (mode, dir_mode) == (0o600, 0o700)
    assert not token.endswith("\n")
    assert claims["aud"] == user.token_audience != "rucio"
    assert claims["exp"] > time.time()


def test_token_with_rucio_audience_is_accepted_by_rucio(lake_info: LakeInfo, rucio_client_for) -> None:
    token = password_token(lake_info, audience="rucio", scope="openid profile")
    assert rucio_client_for(token).whoami()["account"] == lake_info.user().account


def test_exchanged_hub_token_is_accepted_by_rucio(lake_info: LakeInfo, rucio_client_for) -> None:
    hub_token = lake_info.user().token_file.read_text()
    rucio_token = exchange_token(lake_info, hub_token)
    claims = decode_claims(rucio_token)
    assert claims["aud"] == "rucio"
    assert claims["sub"] == decode_claims(hub_token)["sub"]
    assert set(["openid", "profile"]) <= set(claims["scope"].split())
    assert rucio_client_for(rucio_token).whoami()["account"] == lake_info.user().account


def test_hub_audience_token_is_refused_by_rucio(lake_info: LakeInfo, rucio_client_for) -> None:
    from rucio.common.exception import CannotAuthenticate

    with pytest.raises(CannotAuthenticate):
        rucio_client_for(lake_info.user().token_file.read_text()).whoami()


def test_exchange_with_resource_parameter(lake_info: LakeInfo) -> None:
    form = _exchange_form(lake_info.user().token_file.read_text())
    form.pop("audience")
    form["resource"] = "rucio"
    response = _token_request(lake_info, form, "exchange")
    assert response.status_code == 200
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert decode_claims(body["access_token"])["aud"] == "rucio"


def _forged(lake_info: LakeInfo, *, expired: bool, foreign_key: bool) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    now = int(time.time())
    claims = {
        "iss": lake_info.issuer.url,
        "sub": lake_info.demo_user,
        "aud": "jupyterhub",
        "scope": "openid profile",
        "iat": now - 7200,
        "nbf": now - 7200,
        "exp": now - 3600 if expired else now + 600,
        "jti": "forged",
    }
    if foreign_key:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:  # the issuer's own key: only the expiry is wrong
        pem = (lake_info.state_dir / "secrets" / "issuer-signing-key.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = f"{b64(json.dumps({'alg': 'RS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize(("expired", "foreign_key"), [(True, False), (False, True)], ids=["expired", "foreign"])
def test_exchange_refuses_bad_subject_token_without_echoing_it(
    lake_info: LakeInfo, expired: bool, foreign_key: bool
) -> None:
    bad = _forged(lake_info, expired=expired, foreign_key=foreign_key)
    response = _token_request(lake_info, _exchange_form(bad), "exchange")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert bad not in response.text
    assert bad.split(".")[1] not in response.text


def test_only_the_exchange_client_may_exchange(lake_info: LakeInfo) -> None:
    form = _exchange_form(lake_info.user().token_file.read_text())
    response = _token_request(lake_info, form, "jupyterhub")
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


def test_exchange_client_authenticates_with_form_too(lake_info: LakeInfo) -> None:
    client_id, secret = _client_auth(lake_info, "exchange")
    form = {**_exchange_form(lake_info.user().token_file.read_text()), "client_id": client_id, "client_secret": secret}
    response = _token_request(lake_info, form, None)
    assert response.status_code == 200, response.json()


def test_wrong_password_is_refused(lake_info: LakeInfo) -> None:
    form = {"grant_type": "password", "username": lake_info.demo_user, "password": "not-the-password"}
    response = _token_request(lake_info, form, "jupyterhub")
    assert response.status_code == 400
    with pytest.raises(TokenRequestError):
        exchange_token(lake_info, "not.a.token")


def test_authorization_code_flow_for_a_hub(lake_info: LakeInfo) -> None:
    client = lake_info.issuer.clients["jupyterhub"]
    base = lake_info.issuer.url.rstrip("/")
    query = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "response_type": "code",
        "scope": "openid profile email",
        "state": "s-123",
        "nonce": "n-456",
    }
    session = requests.Session()
    ca = str(lake_info.issuer.ca_bundle)  # per call: REQUESTS_CA_BUNDLE would override session.verify
    login_page = session.get(f"{base}/authorize", params=query, timeout=10, verify=ca)
    assert login_page.status_code == 200
    assert "<form" in login_page.text
    user = lake_info.user()
    answer = session.post(
        f"{base}/authorize",
        params=query,
        allow_redirects=False,
        timeout=10,
        verify=ca,
        data={"username": user.name, "password": user.password_file.read_text().strip()},
    )
    assert answer.status_code == 302
    callback = parse_qs(urlparse(answer.headers["Location"]).query)
    assert callback["state"] == ["s-123"]
    tokens = session.post(
        lake_info.issuer.token_endpoint,
        auth=_client_auth(lake_info, "jupyterhub"),
        timeout=10,
        verify=ca,
        data={"grant_type": "authorization_code", "code": callback["code"][0], "redirect_uri": client.redirect_uris[0]},
    ).json()
    id_claims = decode_claims(tokens["id_token"])
    assert id_claims["nonce"] == "n-456"
    assert id_claims["aud"] == [client.client_id]
    assert decode_claims(tokens["access_token"])["aud"] == user.token_audience
    userinfo = session.get(
        f"{base}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10, verify=ca
    ).json()
    assert userinfo["preferred_username"] == user.name


def test_token_file_is_renewed_before_it_expires(lake_info: LakeInfo) -> None:
    if lake_info.issuer.token_lifetime_seconds > 120:
        pytest.skip("tokens live too long to watch a renewal here")
    token_file = lake_info.user().token_file
    first = token_file.read_text()
    expires = decode_claims(first)["exp"]
    deadline = min(expires - 1, time.time() + 90)
    while token_file.read_text() == first and time.time() < deadline:
        time.sleep(0.5)
    renewed = token_file.read_text()
    assert renewed != first, "the token refresher did not rewrite the token before it expired"
    assert decode_claims(renewed)["exp"] > expires


# ---- the catalogue and the policies ----------------------------------------------------------


@pytest.fixture
def alice(lake_info: LakeInfo, rucio_client_for):
    return rucio_client_for(exchange_token(lake_info, lake_info.user().token_file.read_text()))


@pytest.mark.parametrize("name", ["metadata_search", "calibration_lookup"])
def test_metadata_search_finds_the_seeded_datasets(lake_info: LakeInfo, alice, name: str) -> None:
    scenario = getattr(lake_info.scenarios, name)
    found = alice.list_dids(scenario.scope, dict(scenario.filters), did_type=scenario.did_type)
    assert sorted(f"{scenario.scope}:{n}" for n in found) == sorted(scenario.expected)


def test_rule_to_notebook_local_brings_the_bytes(lake_info: LakeInfo, alice) -> None:
    scenario = lake_info.scenarios.quick_rule
    started = time.monotonic()
    try:
        rule_id = alice.add_replication_rule(
            [{"scope": scenario.scope, "name": scenario.name}], 1, scenario.rse_expression, lifetime=3600
        )[0]
    except DuplicateRule:  # a reused lake dir: Rucio keeps a released rule for an hour
        rule_id = next(
            r["id"]
            for r in alice.list_replication_rules(
                {"scope": scenario.scope, "name": scenario.name, "account": scenario.account}
            )
        )
    rule = _wait_rule(alice, rule_id)
    elapsed = time.monotonic() - started
    print(f"\none-file rule to {scenario.rse_expression}: {rule['state']} in {elapsed:.1f} s")
    assert rule["state"] == "OK"
    local = lake_info.notebook_local
    for source_file in scenario.files:
        copy = local_replica_path(local.path, source_file.scope, source_file.name)
        source_rse = lake_info.rse("ESCAPE-SAFE")
        original = local_replica_path(source_rse.path, source_file.scope, source_file.name)
        assert copy.read_bytes() == original.read_bytes()
        assert copy.stat().st_size == source_file.bytes
    replicas = list(
        alice.list_replicas([{"scope": scenario.scope, "name": scenario.name}], rse_expression=scenario.rse_expression)
    )
    assert {r["name"] for r in replicas} == {f.name for f in scenario.files}


def test_embargoed_dataset_is_listed_but_its_rule_refused(lake_info: LakeInfo, alice) -> None:
    scenario = lake_info.scenarios.embargo
    scope, name = scenario.did.split(":")
    assert alice.get_metadata(scope, name, plugin="JSON")["embargo_until"] == scenario.embargo_until
    with pytest.raises(AccessDenied) as refused:
        alice.add_replication_rule([{"scope": scope, "name": name}], 1, scenario.rse_expression)
    assert scenario.reason in str(refused.value)


def test_embargo_also_covers_a_file_inside(lake_info: LakeInfo, alice) -> None:
    scope, name = lake_info.scenarios.embargo.did.split(":")
    first_file = next(iter(alice.list_files(scope, name)))
    with pytest.raises(AccessDenied) as refused:
        alice.add_replication_rule(
            [{"scope": scope, "name": first_file["name"]}], 1, lake_info.scenarios.embargo.rse_expression
        )
    assert lake_info.scenarios.embargo.reason in str(refused.value)


@pytest.mark.parametrize("name", ["quota", "quota_tiny"])
def test_rule_beyond_quota_is_refused(lake_info: LakeInfo, rucio_client_for, name: str) -> None:
    scenario = getattr(lake_info.scenarios, name)
    assert scenario.bytes > scenario.limit_bytes
    client = rucio_client_for(
        password_token(lake_info, scenario.account, audience="rucio", scope="openid profile"), account=scenario.account
    )
    scope, did_name = scenario.did.split(":")
    with pytest.raises(InsufficientAccountLimit):
        client.add_replication_rule([{"scope": scope, "name": did_name}], 1, scenario.rse_expression)


# ---- outputs -------------------------------------------------------------------------------------


def test_jupyter_config_is_a_valid_instance_for_this_lake(lake_info: LakeInfo) -> None:
    from escape_dlaas.config import parse_instances

    config = json.loads(lake_info.jupyter_config.read_text())["DLaaS"]
    instances, default = parse_instances(config["instances"], config["default_instance"])
    assert default == lake_info.instance_name
    instance = instances[0]
    assert instance.rucio_url == lake_info.rucio_url
    assert instance.token_exchange is not None
    assert instance.token_exchange.issuer == lake_info.issuer.url
    assert instance.token_exchange.client_secret_file is not None
    assert stat.S_IMODE(instance.token_exchange.client_secret_file.stat().st_mode) == 0o600
    assert instance.token_sources[0].path == lake_info.user().token_file
    assert instance.notebook_local is not None
    assert instance.notebook_local.mount_path == lake_info.notebook_local.path


def test_cli_status_reports_every_component(lake: Lake) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "escape_dlaas.lake.cli",
            "lake",
            "status",
            "--state-dir",
            str(lake.paths.root),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert {c["name"]: c["state"] for c in status["components"]} == {
        name: "running" for name in ("postgres", "memcached", "issuer", "rucio", "daemons", "token-refresher")
    }
    secrets_text = "".join(p.read_text() for p in (lake.paths.secrets_dir).glob("*.secret"))
    assert not any(secret in result.stdout for secret in secrets_text.split())


# ---- lifecycle -----------------------------------------------------------------------------------


def test_up_is_idempotent_and_restarts_a_killed_component(lake: Lake) -> None:
    before = {c.name: c.pid for c in lake.status().components}
    victim = lake.status().component("token-refresher")
    assert victim.pid is not None
    os.killpg(victim.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while lake.status().component("token-refresher").state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lake.status().component("token-refresher").state == "dead"
    status = lake.up()
    after = {c.name: c.pid for c in status.components}
    assert status.running
    assert after["token-refresher"] != before["token-refresher"]
    assert {k: v for k, v in after.items() if k != "token-refresher"} == {
        k: v for k, v in before.items() if k != "token-refresher"
    }


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    ports = Ports(*free_ports(4))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.rucio))
        squatter.listen()
        with pytest.raises(LakeError) as error:
            Lake(tmp_path / "lake", ports=ports).up(timeout=30)
    message = str(error.value)
    assert f"port {ports.rucio}" in message
    assert "--rucio-port" in message
    assert "Traceback" not in message
