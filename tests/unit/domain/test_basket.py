"""Reading an ESAP basket item by item, where it comes from, and what "make all available" would move."""

from __future__ import annotations

import json

import pytest

from escape_dlaas.config import EsapConfig, parse_esap
from escape_dlaas.domain.basket import BasketItem, basket_items, read_item, read_items, summary
from escape_dlaas.errors import ConfigurationError, InvalidInput
from escape_dlaas.esap import BasketSource, basket_source


def esap_page(*item_data: object) -> dict:
    """ESAP's answer: a page of user profiles whose shopping cart holds item_data as JSON text."""
    cart = [{"id": i, "item_data": json.dumps(d)} for i, d in enumerate(item_data)]
    return {"count": 1, "results": [{"user_name": "alice", "shopping_cart": cart}]}


def test_items_come_from_esaps_page_a_profile_or_a_plain_list():
    item = {"archive": "rucio", "record": {"did": "lofar:L1"}}
    assert basket_items(esap_page(item))[0][0]["item_data"] == json.dumps(item)
    assert basket_items({"shopping_cart": [item]}) == ([item], False)
    assert basket_items([item]) == ([item], False)
    assert basket_items({"count": 0, "results": []}) == ([], False)  # no profile yet: nothing picked


@pytest.mark.parametrize("raw", [{"results": "x"}, {"user": "alice"}, "a basket", 3])
def test_a_basket_of_another_shape_is_refused_with_the_reason(raw):
    with pytest.raises(InvalidInput):
        basket_items(raw)


def test_a_rucio_item_gives_its_did_from_did_or_scope_and_name():
    by_did = read_item(0, {"item_data": json.dumps({"archive": "rucio", "record": {"did": "ska:AA05"}})})
    by_parts = read_item(1, {"archive": "Rucio", "record": {"scope": "lofar", "name": "L2023_1", "title": "Cygnus A"}})
    assert (by_did.kind, str(by_did.did), by_did.label) == ("rucio", "ska:AA05", "AA05")
    assert (by_parts.kind, str(by_parts.did), by_parts.label) == ("rucio", "lofar:L2023_1", "Cygnus A")


def test_items_of_other_archives_are_kept_as_such():
    item = read_item(2, {"item_data": json.dumps({"archive": "apertif", "record": {"name": "WSRTA1", "ra": 1}})})
    assert (item.kind, item.archive, item.label, item.did) == ("other", "apertif", "WSRTA1", None)
    assert item.record == {"name": "WSRTA1", "ra": 1}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"item_data": "{oops"}, "not JSON"),
        (["a", "list"], "not an object"),
        ({"record": {"name": "x"}}, "no archive"),
        ({"archive": "rucio", "record": {"name": "only a name"}}, "scope and name"),
        ({"archive": "rucio", "record": {}}, "names no DID"),
        ({"archive": "rucio", "record": {"did": "nocolon"}}, ""),
    ],
)
def test_unreadable_items_are_listed_with_the_reason(raw, problem):
    item = read_item(0, raw)
    assert item.kind == "malformed"
    assert item.problem
    assert problem in item.problem


def test_summary_leaves_embargoed_and_unknown_dids_out_of_what_moves():
    def resolved(size, at_notebook=0, embargo=None, found=True):
        item = BasketItem(0, "rucio")
        item.resolved = {
            "found": found,
            "bytes": size,
            "availability": {"bytes": {"total": size or 0, "at_notebook": at_notebook}},
            "embargo": embargo,
        }
        return item

    items, _ = read_items([{"archive": "apertif"}, "junk"])
    items += [
        resolved(100, 40),
        resolved(50, embargo={"until": "2999-01-01"}),
        resolved(None),
        resolved(7, found=False),
    ]
    result = summary(items)
    assert result["counts"] == {"rucio": 4, "other": 1, "malformed": 1}
    assert result["total_bytes"] == 150
    assert result["movable"] == 2
    assert result["bytes_to_move"] == 60
    assert result["unknown_sizes"] == 1


def test_a_basket_handed_over_at_launch_wins_over_esaps_api():
    config = parse_esap({"api_url": "https://esap.example.org/esap-api/", "basket_file": "/data/basket.json"})
    assert basket_source(config, {"ESCAPE_DLAAS_BASKET": "https://hub.example.org/b.json"}) == BasketSource(
        "url", "https://hub.example.org/b.json"
    )
    assert basket_source(config, {"ESCAPE_DLAAS_BASKET": "/tmp/b.json"}) == BasketSource("file", "/tmp/b.json")
    assert basket_source(config, {}) == BasketSource("file", "/data/basket.json")
    api_only = parse_esap({"api_url": "https://esap.example.org/esap-api/"})
    assert basket_source(api_only, {}) == BasketSource(
        "esap", "https://esap.example.org/esap-api/accounts/user-profiles/"
    )


def test_esap_configuration_is_off_by_default_and_checked():
    assert parse_esap({}) == EsapConfig(enabled=False)
    assert parse_esap({"api_url": "https://e.org/esap-api", "auth": "rucio-token"}).auth == "rucio-token"
    for bad, key in [
        ({"api_url": "https://e.org", "auth": "password"}, "esap.auth"),
        ({"api_url": "ftp://e.org"}, "esap.api_url"),
        ({"api_url": "https://e.org", "colour": 1}, "esap.colour"),
        ({"basket_env": None}, "esap.api_url"),
    ]:
        with pytest.raises(ConfigurationError) as raised:
            parse_esap(bad)
        assert raised.value.field == key
