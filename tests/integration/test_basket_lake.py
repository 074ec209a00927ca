"""The ESAP basket against the ESAP-API STAND-IN (escape_dlaas.lake.esap_standin) and the real lake.

The extension fetches the basket with the user's IAM token (the lake's token file, as the
instance's token sources hold it), reads every item, and resolves the Rucio items against
the lake: type, size, availability and embargo. Items of other archives and unreadable
items are listed, not dropped; an unreachable ESAP is a clear 503 while the rest works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from escape_dlaas.config import parse_esap
from escape_dlaas.lake import free_ports
from escape_dlaas.lake.esap_standin import EsapStandIn
from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import call

pytestmark = pytest.mark.integration

BASKET = ("escape-dlaas", "basket")


def rucio_item(did: str, **record: object) -> dict:
    scope, name = did.split(":", 1)
    return {"archive": "rucio", "record": {"scope": scope, "name": name, **record}}


@pytest.fixture(scope="module")
def esap(lake_info) -> Iterator[EsapStandIn]:
    token_file = lake_info.user().token_file
    with EsapStandIn(accepted_token=lambda: token_file.read_text().strip()) as standin:
        yield standin


@pytest.fixture
def jp_server_config(lake_info, tmp_path, esap):
    config = lake_server_config(lake_info, tmp_path)
    config["DLaaS"]["esap"] = {"api_url": esap.api_url, "auth": "iam-token", "basket_env": None}
    return config


async def basket(jp_fetch) -> tuple[int, dict]:
    return await call(jp_fetch, instance=BASKET)


async def test_a_basket_resolves_its_rucio_items_against_the_lake_and_keeps_the_others(jp_fetch, lake_info, esap):
    plain = lake_info.scenarios.quick_rule
    embargoed = lake_info.scenarios.embargo
    esap.items = [
        rucio_item(plain.did, telescope="lofar"),
        {"archive": "apertif", "record": {"name": "WSRTA190101", "ra": 10.5}},
        rucio_item(embargoed.did),
    ]
    esap.requests.clear()

    code, body = await basket(jp_fetch)

    assert code == 200, body
    assert esap.requests
    assert all(r["authorised"] for r in esap.requests)  # sent the user's IAM token
    assert body["enabled"] is True
    assert body["source"]["kind"] == "esap"
    assert body["counts"] == {"rucio": 2, "other": 1, "malformed": 0}
    first, other, embargo = body["items"]
    assert first["did"] == plain.did
    assert first["found"] is True
    assert first["bytes"] == plain.bytes, json.dumps(first)
    assert first["availability"]["state"] in {"AVAILABLE", "PARTIAL", "NOT_AVAILABLE", "REPLICATING"}
    assert first["embargo"] is None
    assert other["kind"] == "other"
    assert other["archive"] == "apertif"
    assert other["label"] == "WSRTA190101"
    assert embargo["did"] == embargoed.did
    assert embargo["embargo"]["until"] == embargoed.embargo_until
    # "make all available" leaves the embargoed item out
    assert body["movable"] == 1
    assert body["total_bytes"] >= plain.bytes


async def test_an_empty_basket_is_an_empty_list(jp_fetch, esap):
    esap.items = []
    code, body = await basket(jp_fetch)
    assert code == 200, body
    assert body["items"] == []
    assert body["counts"] == {"rucio": 0, "other": 0, "malformed": 0}
    assert body["bytes_to_move"] == 0


async def test_malformed_items_are_listed_with_the_reason_and_the_rest_still_resolves(jp_fetch, lake_info, esap):
    plain = lake_info.scenarios.quick_rule
    esap.items = [
        {"id": 1, "item_data": "{not json"},
        {"record": {"name": "no archive"}},
        {"archive": "rucio", "record": {"title": "a DID-less item"}},
        {"archive": "rucio", "record": {"did": "no colon here"}},
        rucio_item("user.alice:does-not-exist-anywhere"),
        rucio_item(plain.did),
    ]
    code, body = await basket(jp_fetch)
    assert code == 200, body
    kinds = [item["kind"] for item in body["items"]]
    assert kinds == ["malformed", "malformed", "malformed", "malformed", "rucio", "rucio"]
    problems = [item["problem"] for item in body["items"]]
    assert "not JSON" in problems[0]
    assert "no archive" in problems[1]
    assert "names no DID" in problems[2]
    assert problems[3]  # the DID parser's own words
    unknown, known = body["items"][4:]
    assert unknown["found"] is False
    assert "does not know" in unknown["problem"]
    assert known["found"] is True
    assert body["counts"]["malformed"] == 4


async def test_a_refused_token_and_an_unreachable_esap_are_explained_while_the_panel_works(
    jp_fetch, jp_serverapp, lake_info, esap, monkeypatch
):
    esap.items = [rucio_item(lake_info.scenarios.quick_rule.did)]
    wrong = esap.accepted_token
    esap.accepted_token = lambda: "some-other-token"
    try:
        code, body = await basket(jp_fetch)
    finally:
        esap.accepted_token = wrong
    assert code == 401, body
    assert "did not accept your sign-in" in body["message"]

    # ESAP's address, where nothing listens now
    (closed,) = free_ports(1)
    extension = jp_serverapp.web_app.settings["escape_dlaas"]
    monkeypatch.setitem(
        extension, "esap", parse_esap({"api_url": f"http://127.0.0.1:{closed}/esap-api", "basket_env": None})
    )
    code, body = await basket(jp_fetch)
    assert code == 503, body
    assert body["service"] == "ESAP"
    assert "cannot be reached" in body["message"]
    assert "works without it" in body["message"]
    # the rest of the panel's calls still work
    code, found = await call(
        jp_fetch, "search", params={"q": "*", "type": "dataset", "scope": lake_info.scenarios.quick_rule.scope}
    )
    assert code == 200, found


async def test_a_basket_handed_over_at_launch_as_a_file_wins_over_esap(
    jp_fetch, jp_serverapp, lake_info, tmp_path, monkeypatch
):
    handed = tmp_path / "basket.json"
    handed.write_text(json.dumps([rucio_item(lake_info.scenarios.quick_rule.did)]))
    monkeypatch.setenv("ESCAPE_DLAAS_BASKET", str(handed))
    extension = jp_serverapp.web_app.settings["escape_dlaas"]
    monkeypatch.setitem(extension, "esap", parse_esap({"api_url": "http://127.0.0.1:9/esap-api"}))
    code, body = await basket(jp_fetch)
    assert code == 200, body
    assert body["source"] == {"kind": "file", "location": str(handed)}
    assert [item["did"] for item in body["items"]] == [lake_info.scenarios.quick_rule.did]


def test_the_kernel_api_gives_the_basket_the_panel_shows(lake_info, esap, tmp_path):
    from escape_dlaas import DataLake

    plain = lake_info.scenarios.quick_rule
    esap.items = [rucio_item(plain.did), {"archive": "apertif", "record": {"name": "WSRTA1"}}]
    settings = lake_server_config(lake_info, tmp_path)["DLaaS"]
    with DataLake(config=settings) as lake:
        found = lake.basket(esap={"api_url": esap.api_url, "basket_env": None})
    assert [(item["kind"], item["did"]) for item in found["items"]] == [("rucio", plain.did), ("other", None)]
    assert found["items"][0]["bytes"] == plain.bytes
    assert found["items"][0]["availability"]["did"] == plain.did
