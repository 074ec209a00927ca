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
import uuid
from datetime import datetime, timezone
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
    procs,
)
from escape_dlaas.lake.tokens import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from tests.fixtures_lake import lake_server_config

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


# ---- the permission policy: demo (the lake's package) and Rucio's stock generic one -------------------


@pytest.fixture
def generic_alice(generic_lake_info: LakeInfo, generic_rucio_client_for):
    return generic_rucio_client_for(exchange_token(generic_lake_info, generic_lake_info.user().token_file.read_text()))


def _own_rule(client, info: LakeInfo) -> str:
    """A rule of the demo user on a dataset of her own, new for each test (no DuplicateRule on a reused lake).

    The dataset holds the quick-rule file, already on the SAFE storage the rule asks for.
    """
    scope, name = f"user.{info.user().account}", f"policy-check-{uuid.uuid4().hex[:12]}"
    client.add_dataset(scope, name)
    files = info.scenarios.quick_rule.files
    client.attach_dids(scope, name, [{"scope": f.scope, "name": f.name} for f in files])
    safe = next(r.name for r in info.rses if r.qos == "SAFE")
    rule_id = client.add_replication_rule([{"scope": scope, "name": name}], 1, safe, lifetime=3600)[0]
    assert _wait_rule(client, rule_id)["state"] == "OK"
    return rule_id


def _seconds_left(rule: dict) -> float:
    expires = rule["expires_at"]
    if isinstance(expires, str):  # rucio-clients may hand the date over as text
        expires = datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S %Z")
    return (expires.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds()


def test_demo_policy_lets_the_owner_extend_and_delete_her_rule(lake_info: LakeInfo, alice) -> None:
    assert lake_info.policy.name == "demo"
    assert lake_info.policy.owner_may_update_rules
    rule_id = _own_rule(alice, lake_info)
    alice.update_replication_rule(rule_id, {"lifetime": 7 * 24 * 3600})
    assert _seconds_left(alice.get_replication_rule(rule_id)) > 6 * 24 * 3600
    alice.delete_replication_rule(rule_id)
    # Rucio soft-deletes: the rule now expires within the hour
    assert _seconds_left(alice.get_replication_rule(rule_id)) <= 3600


def test_generic_policy_lets_alice_create_rules_but_not_extend_or_delete_them(
    generic_lake_info: LakeInfo, generic_alice
) -> None:
    assert generic_lake_info.policy.name == "generic"
    assert not generic_lake_info.policy.owner_may_update_rules
    rule_id = _own_rule(generic_alice, generic_lake_info)
    left = _seconds_left(generic_alice.get_replication_rule(rule_id))
    with pytest.raises(AccessDenied, match="can not update this replication rule"):
        generic_alice.update_replication_rule(rule_id, {"lifetime": 7 * 24 * 3600})
    # Rucio 41's generic perm_del_rule admits root and admins only, the owner included
    with pytest.raises(AccessDenied, match="can not remove this replication rule"):
        generic_alice.delete_replication_rule(rule_id)
    rule = generic_alice.get_replication_rule(rule_id)
    assert rule["state"] == "OK"
    assert abs(_seconds_left(rule) - left) < 60  # neither extended nor released


def test_generic_policy_enforces_no_embargo(generic_lake_info: LakeInfo, generic_alice) -> None:
    # Only the lake's policy package refuses embargoed data: its absence shows here.
    assert not generic_lake_info.policy.enforces_embargo
    scenario = generic_lake_info.scenarios.embargo
    scope, name = scenario.did.split(":")
    try:
        rule_id = generic_alice.add_replication_rule([{"scope": scope, "name": name}], 1, scenario.rse_expression)[0]
    except DuplicateRule:  # a reused lake dir: the rule of an earlier session (alice may not delete it here)
        rule_id = next(
            r["id"] for r in generic_alice.list_replication_rules({"scope": scope, "name": name, "account": "alice"})
        )
    assert generic_alice.get_replication_rule(rule_id)["account"] == generic_lake_info.user().account


def test_switching_the_policy_restarts_only_rucio_and_the_daemons(generic_lake: Lake, generic_rucio_client_for) -> None:
    root = generic_lake.paths.root
    before = {c.name: c.pid for c in generic_lake.status().components}
    try:
        started = time.monotonic()
        status = Lake(root, policy="demo").up()
        print(f"\nswitch to the demo policy: {time.monotonic() - started:.1f} s")
        after = {c.name: c.pid for c in status.components}
        assert status.running
        assert {name for name in before if after[name] != before[name]} == {"rucio", "daemons"}
        info = generic_lake.info()
        assert info.policy.name == "demo"
        assert "package = escape_lake_policy" in generic_lake.paths.rucio_cfg.read_text()
        alice = generic_rucio_client_for(exchange_token(info, info.user().token_file.read_text()))
        rule_id = _own_rule(alice, info)
        alice.update_replication_rule(rule_id, {"lifetime": 7200})  # the owner may, under the demo policy
    finally:
        assert Lake(root, policy="generic").up().running
    assert generic_lake.info().policy.name == "generic"
    assert "package" not in generic_lake.paths.rucio_cfg.read_text().split("[policy]")[1].split("[")[0]


@pytest.fixture
def jp_server_config(generic_lake_info: LakeInfo, tmp_path: Path):
    return lake_server_config(generic_lake_info, tmp_path)


async def test_the_extension_can_be_pointed_at_the_generic_lake(jp_fetch, generic_lake_info: LakeInfo) -> None:
    response = await jp_fetch("escape-dlaas", "instances", generic_lake_info.instance_name, "whoami")
    assert json.loads(response.body)["account"] == generic_lake_info.user().account


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


def _cli(lake: Lake, action: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``escape-dlaas lake ACTION --state-dir DIR ARGS``, as a person runs it (this lake's recorded settings)."""
    chosen = ("_PORT", "TOKEN_LIFETIME", "POLICY", "LAKE_DIR")  # settings a developer may have exported
    env = {k: v for k, v in os.environ.items() if not (k.startswith("ESCAPE_DLAAS_LAKE_") and k.endswith(chosen))}
    return subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "escape_dlaas.lake.cli",
            "lake",
            action,
            "--state-dir",
            str(lake.paths.root),
            *args,
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=180,
        check=False,
    )


def test_cli_status_reports_every_component(lake: Lake) -> None:
    result = _cli(lake, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["policy"] == "demo"
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


@pytest.mark.parametrize("how", ["master-SIGTERM", "master-SIGKILL", "group-SIGKILL"])
def test_one_up_brings_back_a_killed_rucio(lake: Lake, lake_info: LakeInfo, how: str) -> None:
    # A SIGTERMed gunicorn master still lives a few seconds (graceful shutdown); a SIGKILLed
    # one leaves its workers holding the port. One 'up', right away, must cope with both.
    before = {c.name: c.pid for c in lake.status().components}
    record = procs.load(lake.paths.pid_record("rucio"))
    assert record is not None
    assert len(procs.remnants(record)) >= 2  # the master and its workers
    if how == "group-SIGKILL":
        os.killpg(record.pgid, signal.SIGKILL)
    else:
        os.kill(record.pid, signal.SIGTERM if how == "master-SIGTERM" else signal.SIGKILL)
    started = time.monotonic()
    result = _cli(lake, "up")
    print(f"\n{how}: one 'up' in {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stderr
    ping = requests.get(f"{lake_info.rucio_url}/ping", timeout=10)
    assert ping.status_code == 200
    assert ping.json()["version"] == lake_info.rucio_version
    status = lake.status()
    after = {c.name: c.pid for c in status.components}
    assert status.running
    assert after["rucio"] != before["rucio"]
    assert {k: v for k, v in after.items() if k != "rucio"} == {k: v for k, v in before.items() if k != "rucio"}
    assert procs.remnants(record) == []  # nothing of the old server is left


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
