"""Search: what is asked of Rucio for a query, and how the cursor walks through scopes."""

from __future__ import annotations

import pytest

from escape_dlaas.domain.catalogue import MetadataSample
from escape_dlaas.domain.filters import parse_filter_string
from escape_dlaas.domain.paging import MAX_OFFSET, open_listings
from escape_dlaas.domain.search import search
from escape_dlaas.errors import InvalidInput

from .fakes import FakeSession

pytestmark = pytest.mark.asyncio

CATALOGUE = {
    "a": [{"name": "a1", "did_type": "FILE", "bytes": 1, "length": None}, {"name": "a2"}, {"name": "a3"}],
    "b": [{"name": "b1"}, {"name": "b2"}],
}


@pytest.fixture
def session():
    session = FakeSession()
    session.listings = []  # (scope, filters, type, limit, long) of every listing asked for

    def search_dids(scope, filters, did_type, limit, *, long=False):
        session.listings.append((scope, filters, did_type, limit, long))
        yield from (row if long else row["name"] for row in CATALOGUE[scope])

    session.client.search_dids = search_dids
    session.client.list_scopes = lambda: ["b", "a"]
    return session


async def names_page(session, cursor=None, **query):
    query = {"pattern": "*", "scope": None, "did_type": "all", "filters": [], "page_size": 2, **query}
    return await search(session, cursor=cursor, details="names", **query)


async def test_a_page_says_it_is_complete_and_has_no_hints(session):
    page = await names_page(session, page_size=10)
    assert page["truncated"] is False
    assert page["hints"] == []


async def test_pages_walk_scope_after_scope_with_the_cursor(session):
    first = await names_page(session)
    assert [i["did"] for i in first["items"]] == ["a:a1", "a:a2"]
    assert first["items"][0] == {"did": "a:a1", "scope": "a", "name": "a1", "type": "FILE", "bytes": 1, "length": None}
    assert first["scopes_searched"] == ["a"]
    assert first["next_cursor"]

    second = await names_page(session, first["next_cursor"])
    assert [i["did"] for i in second["items"]] == ["a:a3", "b:b1"]
    assert second["scopes_searched"] == ["a", "b"]

    third = await names_page(session, second["next_cursor"])
    assert [i["did"] for i in third["items"]] == ["b:b2"]
    assert third["next_cursor"] is None
    # A first read asks for one row more than the page needs (to know whether there is more),
    # with the server-side limit; the scopes after it are asked at the same time. A later page
    # of a scope opens a listing that is kept for the page after it (as deep as a cursor goes).
    assert [(scope, limit) for scope, _, _, limit, _ in session.listings] == [
        ("a", 3),
        ("b", 3),
        ("a", MAX_OFFSET + 1),
        ("b", 3),
        ("b", MAX_OFFSET + 1),
    ]
    assert session.calls.count("list scopes") == 1, "the scope list is cached"


async def test_a_typed_scope_is_the_only_one_searched(session):
    page = await names_page(session, pattern="b:b*", page_size=10)
    assert [i["did"] for i in page["items"]] == ["b:b1", "b:b2"]
    assert page["next_cursor"] is None
    assert page["scopes_searched"] == ["b"]
    assert session.listings == [("b", [{"name": "b*"}], "all", 11, True)]
    assert "list scopes" not in session.calls


async def test_metadata_filters_go_to_rucio_and_the_type_is_checked_on_the_page(session):
    session.client.get_metadata_bulk = lambda dids, inherit, plugin: [
        {**d, "did_type": "DATASET" if d["name"] == "a2" else "FILE", "bytes": 7, "length": 3} for d in dids
    ]
    session.cache.put("meta_sample", MetadataSample())  # as after the filter builder opened
    filters = parse_filter_string("telescope=lofar,energy>3")
    page = await names_page(session, scope="a", did_type="dataset", filters=filters, page_size=5)
    # the metadata plugin ignores the type: everything is listed, then filtered by one bulk call
    assert session.listings == [("a", [{"telescope": "lofar", "energy.gt": 3, "name": "*"}], "all", 6, False)]
    assert page["items"] == [{"did": "a:a2", "scope": "a", "name": "a2", "type": "DATASET", "bytes": 7, "length": 3}]
    assert session.calls == ["search scope a", "read metadata"]


async def test_a_cursor_from_another_query_is_refused(session):
    first = await names_page(session)
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, first["next_cursor"], did_type="file")
    assert caught.value.field == "cursor"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"pattern": None}, "q"),
        ({"pattern": "a b"}, "q"),
        ({"did_type": "galaxy"}, "type"),
        ({"scope": "no scope"}, "scope"),
        ({"pattern": "a+b:x*"}, "q"),
        ({"pattern": "::"}, "q"),
        ({"pattern": "lofar:"}, "q"),
        ({"pattern": "L2023\u202e*"}, "q"),
        ({"pattern": "*", "page_size": 2, "cursor": "forged.cursor"}, "cursor"),
    ],
)
async def test_bad_queries_fail_before_calling_rucio(session, query, field):
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, **query)
    assert caught.value.field == field
    assert session.calls == []


async def test_details_must_be_names_or_full(session):
    with pytest.raises(InvalidInput) as caught:
        await search(
            session, pattern="*", scope=None, did_type="all", filters=[], page_size=2, cursor=None, details="all"
        )
    assert caught.value.field == "details"


async def test_a_cursor_to_a_scope_the_query_does_not_have_is_refused(session):
    first = await names_page(session)  # a1 a2
    second = await names_page(session, first["next_cursor"])  # a3 b1; the next page starts in scope b
    session.client.list_scopes = lambda: ["a"]  # a scope went away meanwhile
    session.cache.forget("scopes")
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, second["next_cursor"])  # points at scope 1 of a one-scope list
    assert caught.value.message == "the page cursor is not valid; start the search again"


async def test_listing_stops_at_the_deepest_cursor_and_says_so(session, monkeypatch):
    import escape_dlaas.domain.paging as paging

    monkeypatch.setattr(paging, "MAX_OFFSET", 2)
    first = await names_page(session)  # a1 a2; the next cursor would point at offset 2: allowed
    assert first["truncated"] is False
    second = await names_page(session, first["next_cursor"])
    # a3 then b1: scope a ends, so offset 2 was never passed within a
    assert [i["did"] for i in second["items"]] == ["a:a3", "b:b1"]
    page = await names_page(session, page_size=3)  # a1 a2 a3, and a has no more: fine
    assert page["truncated"] is False
    monkeypatch.setattr(paging, "MAX_OFFSET", 1)
    page = await names_page(session, page_size=2)  # offset 2 in scope a is past the maximum
    assert page["truncated"] is True
    assert page["next_cursor"] is not None, "the other scopes are still listed"
    rest = await names_page(session, page["next_cursor"], page_size=2)
    assert [i["did"] for i in rest["items"]] == ["b:b1", "b:b2"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("telescope>3", "compares 'telescope' as a number, but this catalogue has values for it such as 'lofar'"),
        ("telescope=true", "compares 'telescope' as true or false"),
        ("telescope>=2024-01-01 00:00:00", "as a date and time"),
        ("datatype>5", "compares 'datatype' as a number, but it is Rucio's own field, and holds text"),
        ('run_number="5"', "compares 'run_number' as text, but it is Rucio's own field, and holds a number"),
    ],
)
async def test_comparing_a_key_unlike_its_values_is_a_400_before_the_search(session, text, says):
    """Rucio's database fails on such comparisons (a 500 from Rucio) instead of finding nothing."""
    sample = MetadataSample()
    sample.add("a", "telescope", "lofar")
    sample.add("a", "energy", 150)
    session.cache.put("meta_sample", sample)
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, filters=parse_filter_string(text))
    assert says in caught.value.message
    assert caught.value.field == "filter"
    assert not any(call.startswith("search scope") for call in session.calls)


async def test_keys_compared_like_their_values_are_searched(session):
    sample = MetadataSample()
    sample.add("a", "telescope", "lofar")
    sample.add("b", "telescope", "12")  # text that reads as a number
    sample.add("a", "energy", 150)
    session.cache.put("meta_sample", sample)
    for text in ("telescope=lofar", 'telescope="3"', "energy>3", "run_number>5", "datatype=RAW", "colour>3"):
        await names_page(session, filters=parse_filter_string(text))
    # only where the values are numbers: a scope whose values are all numbers is searched as numbers
    await names_page(session, scope="b", filters=parse_filter_string("telescope>3"))


async def test_rucio_refusing_a_metadata_search_is_a_400_on_the_filter(session):
    from escape_dlaas.errors import InvalidInput as Refusal

    def refuse(*args, **kwargs):
        raise Refusal("Cannot search scope a: Rucio refused the request (SQL...)", reason="rejected_by_rucio")

    session.client.search_dids = refuse
    session.cache.put("meta_sample", MetadataSample())
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, filters=parse_filter_string("energy>3"))
    assert caught.value.field == "filter"
    assert caught.value.reason == "filter_not_comparable"
    assert "SQL" not in caught.value.message


async def test_a_rucio_column_compared_unlike_its_type_costs_no_rucio_request(session):
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, filters=parse_filter_string("datatype>5"))
    assert "it is Rucio's own field, and holds text" in caught.value.message
    assert session.calls == []


async def test_a_forged_cursor_is_refused_before_the_catalogue_is_read(session):
    with pytest.raises(InvalidInput) as caught:
        await names_page(session, filters=parse_filter_string("energy>3"), cursor="forged.cursor")
    assert caught.value.field == "cursor"
    assert session.calls == []


@pytest.fixture
def deep_session():
    """One scope of 1,000 files whose listing counts the rows Rucio sends."""
    session = FakeSession()
    session.listings = []
    session.rows_sent = 0

    def search_dids(scope, filters, did_type, limit, *, long=False):
        session.listings.append((scope, limit))
        for n in range(min(limit, 1000)):
            session.rows_sent += 1
            yield f"f{n:04d}"

    session.client.search_dids = search_dids
    session.client.list_scopes = lambda: ["deep"]
    return session


async def test_a_deep_page_reads_on_from_the_listing_the_page_before_left_open(deep_session):
    page = await names_page(deep_session, page_size=10)
    seen = [i["name"] for i in page["items"]]
    for _ in range(49):
        page = await names_page(deep_session, page["next_cursor"], page_size=10)
        seen += [i["name"] for i in page["items"]]
    assert seen == [f"f{n:04d}" for n in range(500)], "the same rows, in order, none twice"
    # page 1 with the server-side limit, then one listing kept open through page 50
    assert deep_session.listings == [("deep", 11), ("deep", MAX_OFFSET + 1)]
    assert deep_session.rows_sent == 11 + 501, "page n costs a page, not the n pages before it"
    before = deep_session.rows_sent
    page = await names_page(deep_session, page["next_cursor"], page_size=10)
    assert next(i["name"] for i in page["items"]) == "f0500"
    assert deep_session.rows_sent - before == 10


async def test_a_page_whose_listing_is_gone_is_read_again_from_rucio(deep_session):
    first = await names_page(deep_session, page_size=10)
    second = await names_page(deep_session, first["next_cursor"], page_size=10)
    open_listings(deep_session).close_all()  # expired, or closed for newer ones
    third = await names_page(deep_session, second["next_cursor"], page_size=10)
    assert [i["name"] for i in third["items"]] == [f"f{n:04d}" for n in range(20, 30)]
    again = await names_page(deep_session, second["next_cursor"], page_size=10)  # the same page asked twice
    assert again["items"] == third["items"]
    assert again["next_cursor"] == third["next_cursor"]


async def test_every_scope_is_asked_at_once_and_the_page_keeps_their_order(monkeypatch):
    import asyncio

    import escape_dlaas.domain.search as search_module

    monkeypatch.setattr(search_module, "SCOPES_AT_ONCE", 3)
    scopes = {s: [f"{s}{n}" for n in range(2)] for s in "abcde"}
    session = FakeSession()
    in_flight = {"now": 0, "most": 0}

    async def slow_rucio(operation, *, what, retry_transient=True):
        session.calls.append(what)
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        # the first scopes answer last
        await asyncio.sleep(0.01 * (5 - "abcde".index(what[-1])) if what.startswith("search scope") else 0)
        in_flight["now"] -= 1
        return operation(session.client)

    session.rucio = slow_rucio
    session.client.list_scopes = lambda: list("edcba")
    session.client.search_dids = lambda scope, filters, t, limit, long=False: iter(scopes[scope][:limit])
    page = await names_page(session, page_size=7)
    assert [i["did"] for i in page["items"]] == ["a:a0", "a:a1", "b:b0", "b:b1", "c:c0", "c:c1", "d:d0"]
    assert in_flight["most"] == 3, "three scopes at a time"
    rest = await names_page(session, page["next_cursor"], page_size=7)
    assert [i["did"] for i in rest["items"]] == ["d:d1", "e:e0", "e:e1"]
    assert rest["next_cursor"] is None
