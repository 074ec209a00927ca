"""The page cursor: round trip, signed, bounded; anything else is "start the search again"."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from escape_dlaas.config import ListingLimits
from escape_dlaas.domain.paging import (
    MAX_OFFSET,
    OpenListing,
    OpenListings,
    can_continue_at,
    decode_cursor,
    encode_cursor,
    keep_listings,
    open_listings,
    query_key,
    rows_at,
)
from escape_dlaas.errors import InvalidInput

from .fakes import FakeSession


def test_a_cursor_comes_back_as_where_it_pointed():
    key = query_key("lofar", "all", [{"name": "*"}])
    cursor = encode_cursor(key, 2, 150)
    assert cursor is not None
    assert "=" not in cursor, "URL-safe and unpadded"
    assert decode_cursor(cursor, key) == (2, 150)
    assert decode_cursor(cursor, key, scope_count=3) == (2, 150)


def test_the_query_key_depends_on_every_part_but_not_on_dict_order():
    assert query_key("s", "all", [{"a": 1, "b": 2}]) == query_key("s", "all", [{"b": 2, "a": 1}])
    assert query_key("s", "all", []) != query_key("s", "file", [])
    assert query_key("files", "s:a") != query_key("files", "s:b")


def test_no_cursor_points_deeper_than_the_documented_maximum():
    assert can_continue_at(MAX_OFFSET)
    assert not can_continue_at(MAX_OFFSET + 1)
    assert encode_cursor("k", 0, MAX_OFFSET) is not None
    assert encode_cursor("k", 0, MAX_OFFSET + 1) is None


def forged(data: object, signature: str = "AAAAAAAAAAAAAAAAAAAAAA") -> str:
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{payload}.{signature}"


def resigned(cursor: str, **changes: object) -> str:
    """The cursor's payload edited, the original signature kept (what a forger can do)."""
    payload, signature = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return forged({**data, **changes}, signature)


GOOD = encode_cursor("k", 1, 20)
assert GOOD is not None


@pytest.mark.parametrize(
    ("cursor", "scope_count"),
    [
        ("garbage!", None),
        ("", None),
        ("a.b.c", None),
        ("x" * 600, None),
        ("\u202e.\u202e", None),
        (forged({"q": "k", "s": 0, "o": 10**18}), None),  # the forged huge offset seen against the real lake
        (resigned(GOOD, o=10**18), None),
        (resigned(GOOD, o=21), None),
        (resigned(GOOD, s=-1), None),
        (GOOD, 1),  # scope index out of range for the query's scopes
        (GOOD.split(".")[0], None),  # signature cut off
        (encode_cursor("another query", 0, 10), None),
    ],
)
def test_a_forged_edited_or_foreign_cursor_is_a_400(cursor, scope_count):
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, "k", scope_count)
    assert caught.value.field == "cursor"
    assert caught.value.message == "the page cursor is not valid; start the search again"


def test_a_signed_cursor_past_the_maximum_is_still_refused(monkeypatch):
    """Bounded even if the signing key leaked: the offset is checked after the signature."""
    import escape_dlaas.domain.paging as paging

    monkeypatch.setattr(paging, "MAX_OFFSET", 10**18)
    deep = encode_cursor("k", 0, 10**17)
    assert deep is not None
    monkeypatch.setattr(paging, "MAX_OFFSET", MAX_OFFSET)
    with pytest.raises(InvalidInput):
        decode_cursor(deep, "k")


class Rows:
    """A lazy listing that records whether it was closed."""

    def __init__(self, count: int = 10):
        self.closed = False
        self._rows = iter(range(count))

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._rows)

    def close(self):
        self.closed = True


def test_an_open_listing_hands_out_pages_and_says_when_more_follow():
    rows = Rows(5)
    listing = OpenListing(rows)
    listing.skip(1)
    assert listing.read(2) == [1, 2, 3], "the row after the page is shown, not handed out"
    assert listing.read(2) == [3, 4]
    assert listing.read(2) == []
    listing.close()
    assert rows.closed


@pytest.mark.asyncio
async def test_open_listings_are_bounded_and_the_oldest_is_closed_first():
    listings = OpenListings(None, max_open=2, idle=60)
    made = [Rows() for _ in range(3)]
    for n, rows in enumerate(made):
        listings.keep(("alice", "q", n), OpenListing(rows))
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)  # closing runs in the pool
    assert len(listings) == 2
    assert [r.closed for r in made] == [True, False, False]
    assert listings.take(("alice", "q", 0)) is None
    taken = listings.take(("alice", "q", 2))
    assert taken is not None
    assert len(listings) == 1, "a listing taken is the caller's alone"
    listings.close_all()
    await asyncio.sleep(0.05)
    assert made[1].closed
    assert len(listings) == 0


@pytest.mark.asyncio
async def test_a_listing_unused_for_its_idle_time_is_closed_without_any_request():
    listings = OpenListings(None, max_open=4, idle=0.05)
    rows = Rows()
    listings.keep("k", OpenListing(rows))
    await asyncio.sleep(0.2)
    assert rows.closed
    assert len(listings) == 0


# -- the configured limits (c.DLaaS.max_open_listings, c.DLaaS.open_listing_idle_seconds) ---------------------


def counted_session() -> FakeSession:
    """A session whose listings ("q1", "q2": 100 rows each) count how often Rucio is asked to list."""
    session = FakeSession()
    session.listed = []
    session.made = []

    def rows(name: str):
        def start(client, limit):
            session.listed.append(name)
            made = Rows(min(limit or 100, 100))
            session.made.append(made)
            return made

        return start

    session.rows_of = rows
    return session


async def page(session: FakeSession, name: str, offset: int) -> list[int]:
    return await rows_at(session, name, offset, 10, session.rows_of(name), what="list")


@pytest.mark.asyncio
async def test_the_configured_bound_and_idle_time_are_honoured():
    session = counted_session()
    listings = keep_listings(session, ListingLimits(max_open=1, idle_seconds=0.1))
    assert open_listings(session) is listings
    assert (listings.max_open, listings.idle) == (1, 0.1)
    for offset in (0, 10, 20):  # page 1 lists with a limit; page 2 opens a listing that page 3 reads on
        assert (await page(session, "q1", offset))[0] == offset
    assert session.listed == ["q1", "q1"]
    await page(session, "q2", 10)  # a second listing kept open: the first is closed, the bound is 1
    await asyncio.sleep(0.05)  # closing runs in the pool
    assert len(listings) == 1
    assert session.made[1].closed
    await page(session, "q1", 30)
    assert session.listed == ["q1", "q1", "q2", "q1"], "q1's listing was gone: listed again"
    await asyncio.sleep(0.3)  # past the idle time
    assert len(listings) == 0
    assert all(made.closed for made in session.made[1:])


@pytest.mark.asyncio
async def test_with_a_bound_of_0_no_listing_is_kept_and_each_page_lists_afresh():
    session = counted_session()
    listings = keep_listings(session, ListingLimits(max_open=0, idle_seconds=60))
    pages = [await page(session, "q1", offset) for offset in (0, 10, 20)]
    assert [p[0] for p in pages] == [0, 10, 20], "the same rows"
    assert session.listed == ["q1", "q1", "q1"]
    await asyncio.sleep(0.05)
    assert len(listings) == 0
    assert all(made.closed for made in session.made[1:])


@pytest.mark.asyncio
async def test_closing_closes_the_kept_listings_at_once_not_in_the_pool():
    listings = OpenListings(None, max_open=4, idle=60)
    made = [Rows(), Rows()]
    for n, rows in enumerate(made):
        listings.keep(n, OpenListing(rows))
    listings.close()  # the server stops: its pool is being shut down
    assert [r.closed for r in made] == [True, True]
    assert len(listings) == 0
