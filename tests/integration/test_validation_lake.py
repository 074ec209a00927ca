"""Against the real lake: bad input is a 400 naming the field before any Rucio request, and an
empty metadata search says why (unknown key, letter case, quotes).

Each case here was seen by a tester against a real lake as a 500, a 502 carrying Rucio's own
500, or a silent empty page.
"""

from __future__ import annotations

import base64
import json

import pytest

from escape_dlaas.domain.hints import MAX_HINT_LISTINGS
from escape_dlaas.domain.paging import MAX_OFFSET, encode_cursor
from tests.integration.extension_api import call

pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    from tests.fixtures_lake import lake_server_config

    return lake_server_config(lake_info, tmp_path)


@pytest.fixture
def rucio_requests(monkeypatch):
    """The URLs of every request the extension sends to Rucio during the test."""
    from escape_dlaas.rucio.client import TokenClient

    sent: list[str] = []
    original = TokenClient._send_request

    def counting(self, url, *args, **kwargs):
        sent.append(url)
        return original(self, url, *args, **kwargs)

    monkeypatch.setattr(TokenClient, "_send_request", counting)
    return sent


async def refused(jp_fetch, sent, *path, field, says, **kwargs):
    """The request is a 400 on ``field`` whose message holds ``says``, and Rucio was never asked."""
    await call(jp_fetch, "scopes")  # a warm session: whoami and the token are not counted below
    sent.clear()
    code, body = await call(jp_fetch, *path, **kwargs)
    assert code == 400, body
    assert body["field"] == field, body
    assert says in body["message"], body["message"]
    assert sent == [], f"Rucio was asked: {sent}"
    return body


BIDI_DID = "lofar:L2023_712341\u202e_HBA"


async def test_a_deeply_nested_body_or_filter_is_a_400(jp_fetch, rucio_requests):
    await refused(
        jp_fetch, rucio_requests, "describe", method="POST", raw_body="[" * 50_000, field="body", says="nested"
    )
    await refused(
        jp_fetch,
        rucio_requests,
        "availability",
        method="POST",
        raw_body='{"dids": ' + "[" * 2000 + "]" * 2000 + "}",
        field="body",
        says="nested too deeply",
    )
    await refused(
        jp_fetch, rucio_requests, "search", params={"filters": "[" * 10_000}, field="filters", says="nested too deeply"
    )


async def test_dids_with_bidi_controls_or_non_ascii_are_a_400_naming_the_character(jp_fetch, rucio_requests):
    for path, kwargs, field in (
        ("did", {"params": {"did": BIDI_DID}}, "did"),
        ("did/files", {"params": {"did": BIDI_DID}}, "did"),
        ("describe", {"method": "POST", "body": {"dids": [BIDI_DID]}}, "dids"),
        ("availability", {"method": "POST", "body": {"dids": ["lofar:ok", BIDI_DID]}}, "dids"),
        ("downloads", {"method": "POST", "body": {"did": BIDI_DID}}, "did"),
    ):
        body = await refused(
            jp_fetch,
            rucio_requests,
            path,
            field=field,
            says="contains an invisible right-to-left control character (U+202E)",
            **kwargs,
        )
        assert "\u202e" not in body["message"], "never echoed back as is"
    await refused(
        jp_fetch,
        rucio_requests,
        "did",
        params={"did": "lofar:\u4e2d"},
        field="did",
        says="the non-ASCII character '\u4e2d' (U+4E2D)",
    )
    await refused(jp_fetch, rucio_requests, "did", params={"did": "lofar:a\x7fb"}, field="did", says="(U+007F)")


async def test_a_251_character_name_is_too_long_not_invalid(jp_fetch, rucio_requests):
    await refused(
        jp_fetch,
        rucio_requests,
        "did",
        params={"did": "lofar:" + "n" * 251},
        field="did",
        says="too long (max 250 characters",
    )


async def test_a_forged_cursor_with_a_huge_offset_is_a_400(jp_fetch, rucio_requests):
    forged = base64.urlsafe_b64encode(json.dumps({"q": "x", "s": 0, "o": 10**15}).encode()).decode().rstrip("=")
    for cursor in (forged, f"{forged}.AAAAAAAAAAAAAAAAAAAAAA", encode_cursor("another query", 0, MAX_OFFSET)):
        for path, params in (("search", {"q": "*"}), ("did/files", {"did": "lofar:L2023_712341_HBA"})):
            body = await refused(
                jp_fetch,
                rucio_requests,
                path,
                params={**params, "cursor": cursor},
                field="cursor",
                says="the page cursor is not valid; start the search again",
            )
            assert body["reason"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"filter": 'telescope="lofar'}, "filter", "group 1, condition 1: 'telescope=\"lofar' has an unbalanced quote"),
        ({"filter": "telescope=lofar,energy>>140"}, "filter", "'>>' is not an operator; use > or >="),
        ({"q": "::"}, "q", "the scope (before ':') is empty"),
        ({"q": "lofar:"}, "q", "the pattern (after ':') is empty"),
        ({"q": "L2023\u202e*"}, "q", "(U+202E)"),
        ({"filter": "energy>99999999999999999999"}, "filter", "too large"),
        ({"filters": '[[{"key": "energy", "op": ">", "value": true}]]'}, "filters", "true/false"),
        ({"q": "*", "page_size": "1_0"}, "page_size", "whole number"),
    ],
)
async def test_what_would_have_been_an_empty_page_or_a_rucio_error_is_a_400(
    jp_fetch, rucio_requests, params, field, says
):
    await refused(jp_fetch, rucio_requests, "search", params=params, field=field, says=says)


async def test_typed_mathematical_operators_search_like_their_ascii_forms(jp_fetch):
    results = []
    for text in ("telescope=lofar,energy>=140", "telescope=lofar,energy\u2265140", "telescope==lofar,140\u2264energy"):
        code, body = await call(jp_fetch, "search", params={"filter": text, "type": "all", "details": "names"})
        assert code == 200, body
        results.append(sorted(i["did"] for i in body["items"]))
    assert results[0], "the seeded catalogue has LOFAR data at 140 MHz and above"
    assert results[0] == results[1] == results[2]
    code, unequal = await call(
        jp_fetch, "search", params={"filter": "telescope\u2260lofar", "type": "dataset", "details": "names"}
    )
    assert code == 200
    assert unequal["items"]
    assert not {i["did"] for i in unequal["items"]} & set(results[0])


async def empty_search(jp_fetch, **params):
    code, body = await call(jp_fetch, "search", params={"type": "all", "details": "names", **params})
    assert code == 200, body
    assert body["items"] == [], "the search itself finds nothing"
    return body["hints"]


async def test_an_unknown_key_is_named_with_the_closest_keys(jp_fetch):
    (hint,) = await empty_search(jp_fetch, filter="colour=red")
    assert hint["kind"] == "unknown_key"
    assert hint["field"] == "filter"
    assert "'colour'" in hint["message"]
    assert "telescope" in hint["message"], "the keys the catalogue uses are listed"
    assert hint["suggestion"] is None
    (hint,) = await empty_search(jp_fetch, filter="telescop=lofar")
    assert hint["kind"] == "unknown_key"
    assert hint["suggestion"] == "telescope=lofar"
    code, body = await call(jp_fetch, "search", params={"filter": hint["suggestion"], "details": "names"})
    assert code == 200, body
    assert body["items"], "the suggestion finds data"


async def test_a_value_in_the_wrong_case_finds_the_catalogues_spelling(jp_fetch, rucio_requests):
    await call(jp_fetch, "metadata-keys")  # as after the panel opened the filter builder
    _, scopes = await call(jp_fetch, "scopes")
    rucio_requests.clear()
    (hint,) = await empty_search(jp_fetch, filter="telescope=LOFAR,energy>140")
    assert hint["kind"] == "case"
    assert "'LOFAR'" in hint["message"]
    assert "'lofar'" in hint["message"]
    assert hint["suggestion"] == "telescope=lofar,energy>140"
    searches = [u for u in rucio_requests if "/dids/search" in u]
    assert len(searches) <= len(scopes["scopes"]) + MAX_HINT_LISTINGS
    code, body = await call(jp_fetch, "search", params={"filter": hint["suggestion"], "details": "names"})
    assert code == 200, body
    assert body["items"], "the suggestion finds data"


@pytest.mark.parametrize(("key", "typed"), [("telescope", '"lofar"'), ("instrument", '"SKA-Low"')])
async def test_quotes_typed_around_a_value_are_pointed_out(jp_fetch, key, typed):
    # The builder's value box holding the value with its quotes: the value has quote characters in it.
    structured = [[{"key": key, "op": "=", "value": typed}]]
    hints = await empty_search(jp_fetch, filters=json.dumps(structured))
    assert [h["kind"] for h in hints] == ["quotes"]
    assert hints[0]["suggestion"] == f"{key}={typed.strip(chr(34))}"
    assert "Quotes are not needed" in hints[0]["message"]
    code, body = await call(jp_fetch, "search", params={"filter": hints[0]["suggestion"], "details": "names"})
    assert code == 200, body
    assert body["items"], "the suggestion finds data"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("telescope>3", "compares 'telescope' as a number, but this catalogue has values for it such as"),
        ("telescope=true", "compares 'telescope' as true or false"),
        ("obs_date=305440", "compares 'obs_date' as a number"),
        ("datatype>=5", "it is Rucio's own field, and holds text"),
        ("run_number=abc", "it is Rucio's own field, and holds a number"),
    ],
)
async def test_comparing_a_key_unlike_its_values_is_a_400_not_rucios_database_error(
    jp_fetch, rucio_requests, text, says
):
    await call(jp_fetch, "metadata-keys")  # the catalogue's sample, as after the filter builder opened
    body = await refused(jp_fetch, rucio_requests, "search", params={"filter": text}, field="filter", says=says)
    assert "SQL" not in body["message"]


@pytest.mark.parametrize("text", ['telescope="0"', "telescope=None", "telescope=[1]", "telescope=1j", "datatype=RAW"])
async def test_text_that_rucio_would_read_as_something_else_is_searched_as_text(jp_fetch, text):
    code, body = await call(jp_fetch, "search", params={"filter": text, "details": "names"})
    assert code == 200, body
    assert body["items"] == []


async def test_a_page_with_results_costs_no_hint_requests(jp_fetch, rucio_requests):
    _, scopes = await call(jp_fetch, "scopes")
    rucio_requests.clear()
    code, body = await call(jp_fetch, "search", params={"filter": "telescope=lofar", "details": "names"})
    assert code == 200
    assert body["items"]
    assert body["hints"] == []
    assert body["truncated"] is False
    assert len(rucio_requests) <= len(scopes["scopes"]), rucio_requests
