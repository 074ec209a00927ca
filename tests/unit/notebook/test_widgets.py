"""The search widget, driven by a stand-in DataLake: results with availability, refusals, progress."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from escape_dlaas.errors import PermissionDenied
from escape_dlaas.notebook.handles import AvailabilityHandle, Requested, rule_progress
from escape_dlaas.notebook.results import SearchResults

pytest.importorskip("ipywidgets")
from escape_dlaas.notebook.widgets import SearchWidget


def item(n: int) -> dict:
    return {
        "did": f"lofar:obs_{n}",
        "type": "DATASET",
        "bytes": 2000,
        "metadata": {},
        "availability": {"state": "NOT_AVAILABLE"},
    }


class StandInLake:
    config = SimpleNamespace(label="Test lake")

    def __init__(self, total: int = 3):
        self.total = total
        self.searches: list[dict] = []
        self.asked: list[tuple[str, str]] = []
        self.rule_states = ["REPLICATING", "OK"]

    def targets(self):
        return ["notebook", "FAST"]

    def search(self, **query):
        self.searches.append(query)

        def page(cursor):
            start = int(cursor or 0)
            end = min(start + query["page_size"], self.total)
            return {
                "items": [item(n) for n in range(start, end)],
                "next_cursor": str(end) if end < self.total else None,
            }

        return SearchResults(page)

    def make_available(self, did, target):
        self.asked.append((did, target))
        if did.endswith("_2"):
            raise PermissionDenied(f"{did} cannot be made available: embargoed until 2027-12-02")
        rule = {"id": "a" * 32, "did": did, "state": "REPLICATING", "rse_expression": "X", "locks": {}}
        return AvailabilityHandle(self, [Requested(did, target, rule=rule)])

    def _refresh(self, items):
        state = self.rule_states.pop(0) if len(self.rule_states) > 1 else self.rule_states[0]
        return [rule_progress({**i.rule, "state": state, "locks": {"ok": 1}}) for i in items]

    def paths(self, did):
        return [f"/lake/{did}/a.fits"]


def cells(widget: SearchWidget) -> list[str]:
    return [getattr(c, "value", getattr(c, "description", "")) for c in widget.table.children]


def test_search_shows_a_page_with_availability_and_more_on_demand():
    lake = StandInLake(total=3)
    widget = SearchWidget(lake, filters="telescope=lofar", page_size=2)
    widget.search()
    assert lake.searches == [{"name": None, "filters": "telescope=lofar", "type": "dataset", "page_size": 2}]
    shown = cells(widget)
    assert len(shown) == 5 * (1 + 2)
    assert "<code>lofar:obs_0</code>" in shown[5]
    assert "NOT_AVAILABLE" in shown[8]
    assert shown[9] == "Make available"
    assert "2 DIDs shown; more to see" in widget.message.value
    assert widget.more_button.layout.display == ""
    widget.more_button.click()
    assert len(widget.table.children) == 5 * 4
    assert widget.more_button.layout.display == "none"


def test_make_available_follows_the_rule_and_updates_the_row():
    lake = StandInLake(total=1)
    widget = SearchWidget(lake)
    widget.search()
    button = widget.table.children[9]
    button.click()
    widget.wait_idle(10)
    assert lake.asked == [("lofar:obs_0", "notebook")]
    assert button.disabled
    assert "AVAILABLE" in widget.table.children[8].value
    (progress,) = widget.progress_box.children
    assert "Available: /lake/lofar:obs_0/a.fits" in progress.children[2].value


def test_a_refusal_shows_the_panels_message_and_the_button_stays_usable():
    lake = StandInLake(total=3)
    widget = SearchWidget(lake)
    widget.search()
    widget.target_box.value = "FAST"
    button = widget.table.children[5 * 3 + 4]
    button.click()
    assert lake.asked == [("lofar:obs_2", "FAST")]
    assert "embargoed until 2027-12-02" in widget.message.value
    assert "role='alert'" in widget.message.value
    assert not button.disabled
    assert widget.progress_box.children == ()


def test_an_empty_search_says_so():
    widget = SearchWidget(StandInLake(total=0))
    widget.search()
    assert "No DIDs match." in widget.message.value
    assert widget.table.children == ()


def test_each_row_fills_the_tables_columns_and_the_buttons_column_fits_the_button():
    widget = SearchWidget(StandInLake(total=2))
    widget.search()
    # one track per cell of a row ("minmax(a, b)" is one track)
    tracks = widget.table.layout.grid_template_columns.replace(", ", ",").split(" ")
    assert len(widget.table.children) == len(tracks) * 3  # the header and two rows
    # ipywidgets' buttons have a fixed width (148 px): a column in em would be narrower
    assert tracks[-1] == "max-content"
    assert isinstance(widget.table.children[-1], type(widget.search_button))
