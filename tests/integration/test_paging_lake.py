"""Costs at depth against the real lake: pages read on from listings kept open, make-available in one request.

Rucio's listings have no offset, so the server keeps a listing open between a page and the
next one; these tests walk search results and a dataset's files page by page and compare
them with one page holding everything, and count the requests Rucio's own access log shows
for a new rule.
"""

from __future__ import annotations

import re

import pytest

from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import call
from tests.integration.lake_datasets import fresh_dataset

pytestmark = pytest.mark.integration

THREE_FILES = "lofar:L2023_712342_HBA"


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    return lake_server_config(lake_info, tmp_path)


async def walk(jp_fetch, path: str, params: dict, rows: str) -> list[str]:
    """Every row of a paged listing, following the cursors."""
    seen: list[str] = []
    cursor = None
    for _ in range(200):
        code, page = await call(jp_fetch, path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert code == 200, page
        seen += [r["did"] for r in page[rows]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the listing never ended")


async def test_pages_of_one_scope_read_on_and_give_the_rows_of_one_big_page(jp_fetch):
    params = {"q": "*", "scope": "lofar", "type": "all", "details": "names"}
    code, everything = await call(jp_fetch, "search", params={**params, "page_size": 1000})
    assert code == 200, everything
    assert len(everything["items"]) > 6
    paged = await walk(jp_fetch, "search", {**params, "page_size": 2}, "items")
    assert paged == [i["did"] for i in everything["items"]], "same rows, same order, none twice"


async def test_a_page_asked_twice_is_the_same_page(jp_fetch):
    """The second time, the listing the first left open has moved on: the page is read afresh."""
    params = {"q": "*", "scope": "lofar", "type": "all", "details": "names", "page_size": 2}
    code, first = await call(jp_fetch, "search", params=params)
    assert code == 200, first
    code, second = await call(jp_fetch, "search", params={**params, "cursor": first["next_cursor"]})
    assert code == 200, second
    code, again = await call(jp_fetch, "search", params={**params, "cursor": first["next_cursor"]})
    assert code == 200, again
    assert again["items"] == second["items"]
    code, third = await call(jp_fetch, "search", params={**params, "cursor": again["next_cursor"]})
    assert code == 200, third
    assert not {i["did"] for i in third["items"]} & {i["did"] for i in second["items"]}


async def test_a_datasets_files_page_by_page_are_all_its_files(jp_fetch):
    code, whole = await call(jp_fetch, "did", "files", params={"did": THREE_FILES, "page_size": 1000})
    assert code == 200, whole
    assert len(whole["files"]) == 3
    paged = await walk(jp_fetch, "did/files", {"did": THREE_FILES, "page_size": 1}, "files")
    assert paged == [f["did"] for f in whole["files"]]


async def test_a_new_rule_costs_rucio_one_creation_and_one_read(jp_fetch, lake, lake_info, rucio_client_for):
    did = fresh_dataset(lake_info, rucio_client_for, "one-request")
    body = {"did": did, "target": "SAFE", "lifetime_days": 1}
    access_log = lake.paths.log("rucio-access")
    before = access_log.read_text().count("\n")
    code, made = await call(jp_fetch, "rules", method="POST", body=body)
    assert code == 201, made
    lines = access_log.read_text().splitlines()[before:]
    rule_requests = [m.group(1) for m in (re.search(r'"(\w+ /rules/\S*)', line) for line in lines) if m]
    assert rule_requests == ["POST /rules/", f"GET /rules/{made['rule']['id']}"]
    # asking again answers with the same rule (Rucio refuses the duplicate, the account's rule is found)
    code, again = await call(jp_fetch, "rules", method="POST", body=body)
    assert code == 200, again
    assert again["rule"]["id"] == made["rule"]["id"]
    assert again["created"] is False
