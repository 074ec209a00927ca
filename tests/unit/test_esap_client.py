"""Reading a basket from ESAP's API (against the ESAP-API stand-in), from a URL or from a file: each failure explained."""

from __future__ import annotations

import json

import pytest

from escape_dlaas.config import parse_esap
from escape_dlaas.errors import CredentialsExpired, NotFound, ServiceUnavailable
from escape_dlaas.esap import BasketSource, basket_source, read_basket
from escape_dlaas.lake import free_ports
from escape_dlaas.lake.esap_standin import EsapStandIn

ITEM = {"archive": "rucio", "record": {"did": "ska:AA05"}}


@pytest.fixture
def standin():
    with EsapStandIn([ITEM], accepted_token=lambda: "the-users-token") as running:
        yield running


def test_the_api_is_asked_with_the_users_token_and_gives_esaps_page(standin):
    config = parse_esap({"api_url": standin.api_url, "basket_env": None})
    page = read_basket(config, basket_source(config, {}), "the-users-token")
    cart = page["results"][0]["shopping_cart"]
    assert [json.loads(item["item_data"]) for item in cart] == [ITEM]
    assert standin.requests[-1] == {"path": "/esap-api/accounts/user-profiles/", "authorised": True, "bearer": True}


def test_a_refused_token_asks_to_sign_in_again(standin):
    config = parse_esap({"api_url": standin.api_url, "basket_env": None})
    with pytest.raises(CredentialsExpired, match="did not accept your sign-in"):
        read_basket(config, basket_source(config, {}), "another-token")


def test_a_wrong_api_url_and_a_closed_port_are_told_apart(standin):
    wrong = parse_esap({"api_url": standin.api_url + "/v2", "basket_env": None})
    with pytest.raises(ServiceUnavailable) as raised:
        read_basket(wrong, basket_source(wrong, {}), "the-users-token")
    assert (raised.value.reason, raised.value.service) == ("esap_error", "ESAP")
    assert "esap.api_url" in raised.value.message
    (closed,) = free_ports(1)
    down = parse_esap({"api_url": f"http://127.0.0.1:{closed}/esap-api", "basket_env": None})
    with pytest.raises(ServiceUnavailable) as raised:
        read_basket(down, basket_source(down, {}), "the-users-token")
    assert raised.value.reason == "service_unreachable"
    assert "cannot be reached" in raised.value.message


def test_a_basket_url_handed_over_at_launch_is_read_without_the_token(standin):
    config = parse_esap({"basket_env": "BASKET"})
    source = basket_source(config, {"BASKET": standin.api_url + "/accounts/user-profiles/"})
    assert source is not None
    assert source.kind == "url"
    with pytest.raises(ServiceUnavailable, match="read without your token"):
        read_basket(config, source, "the-users-token")
    assert standin.requests[-1]["bearer"] is False  # a URL handed over is not ESAP: no token leaves
    standin.accepted_token = None
    assert read_basket(config, source, "the-users-token")["count"] == 1


def test_a_basket_file_missing_or_not_json_is_explained(tmp_path):
    config = parse_esap({"basket_file": str(tmp_path / "basket.json")})
    with pytest.raises(NotFound, match="does not exist"):
        read_basket(config, BasketSource("file", str(tmp_path / "basket.json")), None)
    (tmp_path / "basket.json").write_text("not json")
    with pytest.raises(ServiceUnavailable, match="not JSON"):
        read_basket(config, BasketSource("file", str(tmp_path / "basket.json")), None)
    (tmp_path / "basket.json").write_text(json.dumps([ITEM]))
    assert read_basket(config, BasketSource("file", str(tmp_path / "basket.json")), None) == [ITEM]
