"""The server extension's HTTP surface without a lake: auth, XSRF, validation, error mapping."""

from __future__ import annotations

import json
import socket
from urllib.parse import quote

import pytest
from tornado.httpclient import HTTPClientError

from escape_dlaas import __version__
from escape_dlaas.web.handlers import route_table

from .fetch import fetch_json


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DEAD_RUCIO = f"http://127.0.0.1:{closed_port()}"


@pytest.fixture
def jp_server_config(tmp_path):
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True},
        "DLaaS": {
            "instances": [
                {
                    "name": "dead",
                    "display_name": "Nobody home",
                    "rucio_url": DEAD_RUCIO,
                    "timeout_seconds": 3,
                    "token_sources": [{"type": "env", "variable": "DLAAS_TEST_TOKEN"}],
                    "notebook_local": {"rse": "NB", "mount_path": str(tmp_path)},
                    "qos_classes": {"FAST": "QOS=FAST"},
                }
            ]
        },
    }


async def test_status_reports_version_and_unreachable_rucio(jp_fetch):
    code, body = await fetch_json(jp_fetch, "escape-dlaas", "status")
    assert code == 200
    assert body["version"] == __version__
    (instance,) = body["instances"]
    assert instance["name"] == "dead"
    assert instance["reachable"] is False
    assert "unreachable" in instance["error"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("search", {"q": "a b"}, "q"),
        ("search", {"q": "x", "filter": "energy>>3"}, "filter"),
        ("search", {"q": "x", "type": "galaxy"}, "type"),
        ("search", {}, "q"),
        ("search", {"q": "x", "page_size": "0"}, "page_size"),
        ("search", {"q": "x", "cursor": "garbage"}, "cursor"),
        ("search", {"q": "x", "filter": "a=1", "filters": "[]"}, "filter"),
        ("search", {"q": "x", "details": "everything"}, "details"),
        ("did", {"did": "no-colon"}, "did"),
        ("did", {}, "did"),
        ("did/files", {"did": "s:*"}, "did"),
        ("search", {"q": "::"}, "q"),
        ("search", {"q": "x", "filter": 'telescope="lofar'}, "filter"),
        ("search", {"q": "x", "filters": "[" * 5000}, "filters"),
        ("search", {"q": "x", "filters": '[[{"key": "energy", "op": ">", "value": true}]]'}, "filters"),
        ("search", {"q": "x", "filters": '[[{"key": "energy", "op": ">", "value": NaN}]]'}, "filters"),
        ("search", {"q": "x", "page_size": "1_0"}, "page_size"),
        ("search", {"q": "x", "page_size": "\u0665"}, "page_size"),
        ("search", {"q": "x", "page_size": "9" * 5000}, "page_size"),
        ("search", {"q": "x", "page_size": "true"}, "page_size"),
        ("search", {"q": "x", "scope": "lo\u202efar"}, "scope"),
        ("did", {"did": "lofar:a\u202eb"}, "did"),
        ("did", {"did": "lofar:a\x01b"}, "did"),
        ("did", {"did": "lofar:" + "n" * 251}, "did"),
        ("did/paths", {"did": "lofar:caf\u00e9"}, "did"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(jp_fetch, path, params, field):
    code, body = await fetch_json(jp_fetch, "escape-dlaas", "instances", "dead", *path.split("/"), params=params)
    assert code == 400
    assert body["field"] == field
    assert body["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"did": "s:n", "target": "MOON"}, "target"),
        ({"did": "s:n", "lifetime_days": 0}, "lifetime_days"),
        ({"did": "s:n", "lifetime_days": 9999}, "lifetime_days"),
        ({"did": "s:n", "lifetime_days": "soon"}, "lifetime_days"),
        ({"did": 3}, "did"),
    ],
)
async def test_make_available_validates_before_calling_rucio(jp_fetch, body, field):
    code, answer = await fetch_json(
        jp_fetch, "escape-dlaas", "instances", "dead", "rules", method="POST", body=json.dumps(body)
    )
    assert code == 400
    assert answer["field"] == field


@pytest.mark.parametrize(
    "body",
    [{}, {"dids": "lofar:x"}, {"dids": ["no-colon"]}, {"dids": [f"s:n{i}" for i in range(1001)]}],
)
async def test_describe_validates_the_dids_before_calling_rucio(jp_fetch, body):
    code, answer = await fetch_json(
        jp_fetch, "escape-dlaas", "instances", "dead", "describe", method="POST", body=json.dumps(body)
    )
    assert code == 400
    assert answer["field"] == "dids"
    assert answer["message"]


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("describe", "[" * 100_000, "body"),
        ("describe", '{"dids": ' + "[" * 3000 + "]" * 3000 + "}", "body"),
        ("availability", '{"dids": ["lofar:a"], "x": NaN}', "body"),
        ("describe", '{"dids": ["lofar:a\\u202eb"]}', "dids"),
        ("describe", '{"dids": [true]}', "dids"),
        ("availability", json.dumps({"dids": [f"s:n{i}" for i in range(2001)]}), "dids"),
        ("rules", '{"did": ["lofar:a"]}', "did"),
        ("rules", '"just a string"', "body"),
        ("downloads", '{"did": "lofar:a b"}', "did"),
    ],
)
async def test_hostile_bodies_are_a_400_before_any_rucio_call(jp_fetch, monkeypatch, path, raw, field):
    monkeypatch.setenv("DLAAS_TEST_TOKEN", "opaque-test-token")  # a Rucio call would be a 502
    code, answer = await fetch_json(jp_fetch, "escape-dlaas", "instances", "dead", path, method="POST", body=raw)
    assert code == 400, answer
    assert answer["field"] == field
    assert answer["message"]


async def test_control_characters_in_a_query_are_refused_not_deleted(jp_fetch):
    """tornado's argument helpers would turn lofar:a\x01b into lofar:ab, another DID."""
    code, answer = await fetch_json(
        jp_fetch, "escape-dlaas", "instances", "dead", "did", params={"did": "lofar:a\x01b"}
    )
    assert code == 400
    assert "a control character (U+0001)" in answer["message"]


async def test_not_json_body_is_400(jp_fetch):
    code, answer = await fetch_json(jp_fetch, "escape-dlaas", "instances", "dead", "rules", method="POST", body="{")
    assert code == 400
    assert "JSON" in answer["message"]


async def test_unknown_instance_is_404(jp_fetch):
    code, answer = await fetch_json(jp_fetch, "escape-dlaas", "instances", "nope", "scopes")
    assert code == 404
    assert "dead" in answer["message"]


async def test_missing_credentials_is_401_saying_how_to_sign_in(jp_fetch, monkeypatch):
    monkeypatch.delenv("DLAAS_TEST_TOKEN", raising=False)
    code, answer = await fetch_json(jp_fetch, "escape-dlaas", "instances", "dead", "scopes")
    assert code == 401
    assert answer["reason"] == "credentials_missing"


async def test_unreachable_rucio_is_503_naming_rucio_then_fails_fast(jp_fetch, monkeypatch):
    monkeypatch.setenv("DLAAS_TEST_TOKEN", "opaque-test-token")
    code, answer = await fetch_json(jp_fetch, "escape-dlaas", "instances", "dead", "scopes")
    assert code == 503
    assert answer["service"] == "Rucio"
    assert answer["reason"] == "service_unreachable"
    assert "opaque-test-token" not in json.dumps(answer)
    # Known down now: the next request is answered by the open breaker, naming Rucio and what happens next.
    code, answer = await fetch_json(jp_fetch, "escape-dlaas", "instances", "dead", "scopes")
    assert code == 503
    assert answer["reason"] == "service_not_answering"
    assert "Rucio at http://127.0.0.1:" in answer["message"]
    assert "try again in a few seconds" in answer["message"]


def concrete_paths():
    for pattern, handler in route_table():
        path = pattern.replace("(?P<instance>[A-Za-z0-9_.\\-]+)", "dead").replace("(?P<rule_id>[^/]+)", "a" * 32)
        for method in ("GET", "POST", "PUT", "DELETE"):
            if method.lower() in handler.__dict__:
                yield path, method


@pytest.mark.parametrize(("path", "method"), list(concrete_paths()))
async def test_every_endpoint_requires_authentication(http_server_client, jp_base_url, path, method):
    body = "{}" if method in ("POST", "PUT") else None
    with pytest.raises(HTTPClientError) as caught:
        await http_server_client.fetch(
            f"{jp_base_url}{path.lstrip('/')}", method=method, body=body, follow_redirects=False
        )
    assert caught.value.code in (302, 401, 403)


async def test_state_changes_need_the_xsrf_token(jp_serverapp, http_server_client, jp_base_url):
    """A browser session (cookie) without Jupyter's _xsrf token cannot create or delete rules."""
    token = quote(jp_serverapp.identity_provider.token)
    base = jp_base_url
    client = http_server_client
    login = await client.fetch(f"{base}escape-dlaas/status?token={token}")
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert "username-" in cookies
    for method, path in (("POST", "instances/dead/rules"), ("DELETE", f"instances/dead/rules/{'a' * 32}")):
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(
                f"{base}escape-dlaas/{path}",
                method=method,
                body="{}" if method == "POST" else None,
                headers={"Cookie": cookies},
            )
        assert caught.value.code == 403
        assert b"xsrf" in (caught.value.response.body or b"").lower()


def test_relative_directory_for_the_file_browser():
    from escape_dlaas.web.handlers import relative_to_root

    assert relative_to_root("/srv/root/data/ska", "/srv/root") == "data/ska"
    assert relative_to_root("/srv/root", "/srv/root/") == ""
    assert relative_to_root("/srv/rootless/x", "/srv/root") is None
    assert relative_to_root("/elsewhere", "/srv/root") is None
    assert relative_to_root(None, "/srv/root") is None
