"""SearchResults: pages fetched only when needed, once, up to the limit; HTML, list and DataFrame views."""

from __future__ import annotations

import pytest

from escape_dlaas.notebook.results import SearchResults, flat_row


def item(n: int, **metadata) -> dict:
    return {
        "did": f"lofar:obs_{n}",
        "scope": "lofar",
        "name": f"obs_{n}",
        "type": "DATASET",
        "bytes": 1500 * n,
        "length": n,
        "metadata": {"telescope": "lofar", **metadata},
        "availability": {"state": "NOT_AVAILABLE", "files": {"total": n, "at_notebook": 0}},
    }


class Pages:
    """A search answering pages of ``size`` items out of ``total``, counting the calls."""

    def __init__(self, total: int, size: int, hints: list | None = None):
        self.total, self.size, self.hints = total, size, hints or []
        self.cursors: list[str | None] = []

    def __call__(self, cursor: str | None) -> dict:
        self.cursors.append(cursor)
        start = int(cursor or 0)
        end = min(start + self.size, self.total)
        return {
            "items": [item(n) for n in range(start, end)],
            "next_cursor": str(end) if end < self.total else None,
            "hints": self.hints if start == 0 else [],
            "truncated": False,
        }


def test_nothing_is_fetched_before_the_results_are_used():
    pages = Pages(total=5, size=2)
    results = SearchResults(pages)
    assert pages.cursors == []
    assert "more to fetch" in repr(results)


def test_iteration_fetches_page_after_page_with_the_cursor_and_once_only():
    pages = Pages(total=5, size=2)
    results = SearchResults(pages)
    assert [r["did"] for r in results] == [f"lofar:obs_{n}" for n in range(5)]
    assert pages.cursors == [None, "2", "4"]
    assert results.pages_fetched == 3
    assert results.complete
    # again: from what was kept
    assert len(results.to_list()) == 5
    assert pages.cursors == [None, "2", "4"]


def test_stopping_early_fetches_no_further_page():
    pages = Pages(total=10, size=3)
    results = SearchResults(pages)
    iterator = iter(results)
    assert next(iterator)["did"] == "lofar:obs_0"
    assert pages.cursors == [None]
    assert results[4]["did"] == "lofar:obs_4"
    assert pages.cursors == [None, "3"]
    with pytest.raises(IndexError):
        results[-1]


def test_the_limit_bounds_what_is_yielded_and_fetched():
    pages = Pages(total=100, size=3)
    results = SearchResults(pages, limit=4)
    assert results.dids == [f"lofar:obs_{n}" for n in range(4)]
    assert pages.cursors == [None, "3"]
    assert results.complete
    with pytest.raises(IndexError):
        results[4]


def test_an_empty_search_is_false_and_keeps_rucio_hints():
    hints = [{"kind": "unknown_key", "message": "no DID has the key 'telescop'; did you mean 'telescope'?"}]
    results = SearchResults(Pages(total=0, size=3, hints=hints))
    assert not results
    assert results.first() is None
    assert results.hints == hints
    html = results._repr_html_()
    assert "No DIDs match" in html
    assert "did you mean &#x27;telescope&#x27;?" in html


def test_html_shows_the_first_rows_escaped_and_says_when_there_is_more():
    pages = Pages(total=30, size=25)
    results = SearchResults(pages)
    html = results._repr_html_()
    assert pages.cursors == [None], "showing fetches the first page only"
    assert html.count("<tr>") == 1 + 20  # the header and the rows shown
    assert "<code>lofar:obs_0</code>" in html
    assert "NOT_AVAILABLE" in html
    assert "1.5 kB" in html
    assert "More results" in html
    evil = SearchResults(lambda cursor: {"items": [item(1, note="<script>x</script>")], "next_cursor": None})
    assert "<script>" not in evil._repr_html_()


def test_to_list_gives_the_domain_answers_and_flat_rows_put_metadata_in_columns():
    results = SearchResults(Pages(total=2, size=5))
    assert results.to_list()[1] == item(1)
    assert flat_row(item(3, energy=150.0)) == {
        "did": "lofar:obs_3",
        "scope": "lofar",
        "name": "obs_3",
        "type": "DATASET",
        "bytes": 4500,
        "length": 3,
        "availability": "NOT_AVAILABLE",
        "files_at_notebook": 0,
        "telescope": "lofar",
        "energy": 150.0,
    }


def test_to_pandas_makes_one_row_per_did():
    pd = pytest.importorskip("pandas", reason="pandas is the optional [pandas] extra (installed by [test])")
    frame = SearchResults(Pages(total=3, size=2)).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["did"]) == ["lofar:obs_0", "lofar:obs_1", "lofar:obs_2"]
    assert list(frame["telescope"]) == ["lofar"] * 3
    assert list(frame["bytes"]) == [0, 1500, 3000]


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"pip install pandas"):
        SearchResults(Pages(total=1, size=1)).to_pandas()
