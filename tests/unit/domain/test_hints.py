"""An empty metadata search says why: unknown key, letter case, quotes; with a bounded cost."""

from __future__ import annotations

import fnmatch

import pytest

from escape_dlaas.domain import catalogue
from escape_dlaas.domain.filters import parse_filter_json, parse_filter_string
from escape_dlaas.domain.hints import MAX_HINT_LISTINGS
from escape_dlaas.domain.search import search

from .fakes import FakeSession

pytestmark = pytest.mark.asyncio

CATALOGUE = {
    "cta": [{"name": "C1", "telescope": "cta", "target": "Crab", "energy": 1.2}],
    "lofar": [
        {"name": "L1", "telescope": "lofar", "target": "3C196", "energy": 150},
        {"name": "L2", "telescope": "lofar", "target": "Bootes", "energy": 120},
    ],
    "ska": [{"name": "S1", "telescope": "ska", "instrument": "SKA-Low", "energy": 0.3}],
}
COMPARE = {"gt": lambda a, b: a > b, "lt": lambda a, b: a < b, "gte": lambda a, b: a >= b, "lte": lambda a, b: a <= b}


def matches(row: dict, group: dict) -> bool:
    for key, wanted in group.items():
        name, _, suffix = key.partition(".")
        have = row.get(name)
        if suffix == "ne":
            ok = have != wanted
        elif suffix:
            numbers = all(isinstance(v, (int, float)) for v in (have, wanted))
            ok = numbers and COMPARE[suffix](have, wanted)
        elif isinstance(wanted, str) and "*" in wanted:
            ok = isinstance(have, str) and fnmatch.fnmatchcase(have, wanted)
        else:
            ok = have == wanted
        if not ok:
            return False
    return True


@pytest.fixture
def session():
    session = FakeSession()

    def search_dids(scope, filters, did_type, limit, *, long=False):
        found = [row["name"] for row in CATALOGUE[scope] if any(matches(row, g) for g in filters)]
        return iter(found[:limit])

    def get_metadata_bulk(dids, inherit, plugin):
        rows = {(s, r["name"]): r for s, rs in CATALOGUE.items() for r in rs}
        return [{"scope": d["scope"], **rows[(d["scope"], d["name"])]} for d in dids]

    session.client.search_dids = search_dids
    session.client.get_metadata_bulk = get_metadata_bulk
    session.client.list_scopes = lambda: sorted(CATALOGUE)
    return session


async def hints_for(session, text=None, structured=None, **query):
    filters = parse_filter_json(structured) if structured is not None else parse_filter_string(text)
    query = {"pattern": None, "scope": None, "did_type": "all", "page_size": 10, "cursor": None, **query}
    page = await search(session, filters=filters, details="names", **query)
    assert page["items"] == []
    return page["hints"]


def listings(session) -> int:
    return sum(1 for call in session.calls if call.startswith("search scope"))


async def test_an_unknown_key_names_the_closest_keys(session):
    (hint,) = await hints_for(session, "telescop=lofar")
    assert hint == {
        "kind": "unknown_key",
        "field": "filter",
        "message": "This catalogue does not use the metadata key 'telescop'. Did you mean 'telescope'?",
        "suggestion": "telescope=lofar",
    }


async def test_an_unknown_key_without_a_close_one_lists_the_keys(session):
    (hint,) = await hints_for(session, "colour=red")
    assert hint["kind"] == "unknown_key"
    assert "'colour'" in hint["message"]
    assert "energy, instrument, target, telescope" in hint["message"]
    assert hint["suggestion"] is None


async def test_without_any_sampled_key_no_key_is_called_unknown(session, monkeypatch):
    for scope in list(CATALOGUE):
        monkeypatch.setitem(CATALOGUE, scope, [{"name": "D1"}])
    assert await hints_for(session, "colour=red") == []


async def test_a_key_of_rucios_own_did_table_is_known(session):
    assert await hints_for(session, "datatype=raw") == []


async def test_a_value_the_catalogue_has_as_it_is_is_not_a_case_problem(session):
    assert await hints_for(session, "telescope=lofar,energy>9999") == []
    assert listings(session) == 3


async def test_a_value_in_the_wrong_case_finds_the_catalogues_spelling(session):
    await catalogue.metadata_sample(session)  # cached, as after the filter builder opened
    before = len(session.calls)
    (hint,) = await hints_for(session, "telescope=LOFAR,energy>140")
    assert hint["kind"] == "case"
    assert hint["suggestion"] == "telescope=lofar,energy>140"
    assert "'LOFAR'" in hint["message"]
    assert "'lofar'" in hint["message"]
    # the search itself (3 scopes), then one listing in the scope where the sample saw 'lofar'
    assert listings(session) - 3 == 1
    assert len(session.calls) - before == 3 + 1


async def test_a_case_variant_outside_the_sample_is_tried_with_rucio(session, monkeypatch):
    monkeypatch.setattr(catalogue, "METADATA_SAMPLE", 1)  # L2 (target Bootes) is not in the sample
    (hint,) = await hints_for(session, "target=BOOTES")
    assert hint["kind"] == "case"
    assert hint["suggestion"] == "target=Bootes"


async def test_quotes_typed_around_a_value(session):
    (hint,) = await hints_for(session, structured=[[{"key": "telescope", "op": "=", "value": '"lofar"'}]])
    assert hint["kind"] == "quotes"
    assert hint["suggestion"] == "telescope=lofar"
    assert "Quotes are not needed" in hint["message"]
    assert listings(session) == 3, "no case listings: the catalogue has 'lofar' as it is"
    (hint,) = await hints_for(session, structured=[[{"key": "energy", "op": ">", "value": "'140'"}]])
    assert hint["suggestion"] == "energy>140", "the value without quotes is typed again: a number"


async def test_quotes_and_case_together(session):
    hints = await hints_for(session, structured=[[{"key": "telescope", "op": "=", "value": '"LOFAR"'}]])
    assert [h["kind"] for h in hints] == ["quotes", "case"]
    assert hints[1]["suggestion"] == "telescope=lofar"


async def test_a_value_the_catalogue_does_not_hold_costs_a_bounded_number_of_listings(session, monkeypatch):
    monkeypatch.setitem(CATALOGUE, "more", [{"name": f"M{i}", "telescope": "lofar"} for i in range(3)])
    for extra in range(6):
        monkeypatch.setitem(CATALOGUE, f"x{extra}", [])
    assert await hints_for(session, "telescope=nothing") == []
    searched = len(CATALOGUE)
    assert listings(session) - searched <= MAX_HINT_LISTINGS


async def test_no_hints_and_no_extra_calls_when_the_page_has_data(session):
    page = await search(
        session,
        pattern=None,
        scope=None,
        did_type="all",
        filters=parse_filter_string("telescope=lofar"),
        page_size=10,
        cursor=None,
        details="names",
    )
    assert [i["did"] for i in page["items"]] == ["lofar:L1", "lofar:L2"]
    assert page["hints"] == []
    assert session.calls == ["list scopes", "search scope cta", "search scope lofar", "search scope ska"]


async def test_a_name_search_without_filters_has_no_hints(session):
    page = await search(
        session, pattern="nothing*", scope=None, did_type="all", filters=[], page_size=10, cursor=None, details="names"
    )
    assert page["items"] == []
    assert page["hints"] == []
    assert "read metadata" not in session.calls
