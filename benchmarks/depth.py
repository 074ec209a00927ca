"""Costs that grow with depth and width, each next to the direct rucio-clients call in the same run.

Used by ``run.py`` (phases ``deep``, ``scopes``, ``makeavailable``, ``describe``, ``bigdataset``):

- deep pages: pages 1, 10, 100 and 1,000 of the 100,000-file search, reached by scrolling (each
  page right after the one before; pages of 1,000 in between to get deep quickly), against a plain
  ``list_dids`` loop's first page and the rows it reads to get as deep;
- all scopes: the first page of a search over every scope against each scope's own first page;
- make-available: ``POST rules`` for a fresh 10-file dataset against ``add_replication_rule``;
- a described page of 1,000 rows: ``POST describe`` against the same bulk calls made directly,
  and in chunks of 100 (two at a time) as the panel asks;
- the 80,000-file dataset: details and file pages 1, 10, 100 and 800, the Jupyter server's memory
  while paging through all of it.

Every function returns a JSON-able dict; :func:`report` makes the tables. Request counts are
exact (the counting proxy); times are medians.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import catalogue as cat

if TYPE_CHECKING:
    from run import Bench, JupyterServer

INSTANCE = "local-lake"
COUNTED = "local-lake-counted"
PAGE = 100
BIG_PAGE = 1000  # the largest page the server gives: used to get deep quickly
DEPTHS = (1, 10, 100, 1000)
FILE_DEPTHS = (1, 10, 100, 800)  # the 80,000-file dataset has 800 pages of 100
MAKE_AVAILABLE_FILES = 10
DESCRIBE_ROWS = 1000
DESCRIBE_CHUNK = 100


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _get(server: JupyterServer, path: str, params: dict[str, str], instance: str = INSTANCE) -> tuple[float, Any]:
    started = time.perf_counter()
    response = server.session.get(f"{server.api(instance)}/{path}", params=params, timeout=300)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed, response.json()


def _search_page(
    server: JupyterServer, query: dict[str, Any], cursor: str | None, size: int, instance: str = INSTANCE
) -> tuple[float, dict[str, Any]]:
    params = {"type": query["type"], "page_size": str(size), "details": "names"}
    params.update({key: query[key] for key in ("q", "scope", "filter") if query.get(key)})
    if cursor:
        params["cursor"] = cursor
    return _get(server, "search", params, instance)


def _files_page(
    server: JupyterServer, did: str, cursor: str | None, size: int, instance: str = INSTANCE
) -> tuple[float, dict[str, Any]]:
    params = {"did": did, "page_size": str(size)}
    if cursor:
        params["cursor"] = cursor
    return _get(server, "did/files", params, instance)


class _Walk:
    """Scrolls through a paged listing, timing the pages of PAGE rows at the depths asked for."""

    def __init__(self, fetch: Any, rows_key: str, depths: tuple[int, ...], reps: int):
        self.fetch = fetch  # (cursor, size) -> (seconds, body)
        self.rows_key = rows_key
        self.depths = depths
        self.reps = reps
        self.page_times: dict[int, float] = {}
        self.names: list[str] = []
        self.requests = 0
        self.seconds = 0.0
        self.error: str | None = None  # the page that failed (the walk stops there)

    def _one(self, cursor: str | None, size: int) -> str | None:
        elapsed, body = self.fetch(cursor, size)
        self.requests += 1
        self.seconds += elapsed
        rows = body[self.rows_key]
        self.names.extend(r["did"] for r in rows)
        if size == PAGE and len(self.names) % PAGE == 0:
            self.page_times[len(self.names) // PAGE] = elapsed
        next_cursor: str | None = body.get("next_cursor")
        return next_cursor

    def run(self) -> None:
        """Pages of PAGE around each depth, pages of BIG_PAGE between; a failed page ends the walk (recorded)."""
        try:
            self._run()
        except RuntimeError as error:
            self.error = f"after {len(self.names)} rows: {error}"[:400]

    def _run(self) -> None:
        """Pages of PAGE around each depth (``reps`` of them, ending at the last), pages of BIG_PAGE between."""
        wanted: list[range] = []
        last = self.depths[-1]
        for depth in self.depths[1:]:
            start = depth if depth + self.reps - 1 < last else last - self.reps + 1
            wanted.append(range(max(start, 2), start + self.reps))
        cursor = self.fetch_first()
        for pages in wanted:
            while cursor and len(self.names) < (pages.start - 1) * PAGE:
                cursor = self._one(cursor, min(BIG_PAGE, (pages.start - 1) * PAGE - len(self.names)))
            while cursor and len(self.names) < (pages.stop - 1) * PAGE:
                cursor = self._one(cursor, PAGE)

    def fetch_first(self) -> str | None:
        return self._one(None, PAGE)

    def at(self, depth: int) -> float | None:
        """The median time of the pages of PAGE measured at ``depth``."""
        if depth == 1:
            return self.page_times.get(1)
        last = self.depths[-1]
        start = depth if depth + self.reps - 1 < last else last - self.reps + 1
        return _median([self.page_times[n] for n in range(max(start, 2), start + self.reps) if n in self.page_times])


def _direct_depths(listing: Any, depths: tuple[int, ...]) -> dict[str, Any]:
    """A plain loop over a lazy listing: time to the end of each depth's page, and that page's own time.

    ``listing()`` starts it (rucio-clients sends the request when called, not when first read).
    """
    marks = {d * PAGE: d for d in depths}
    starts = {(d - 1) * PAGE: d for d in depths if d > 1}
    reached: dict[int, float] = {}
    page_own: dict[int, float] = {}
    started = time.perf_counter()
    page_started: dict[int, float] = {1: started}
    count = 0
    for _ in listing():
        count += 1
        now = time.perf_counter()
        if count in starts:
            page_started[starts[count]] = now
        if count in marks:
            depth = marks[count]
            reached[depth] = now - started
            page_own[depth] = now - page_started[depth]
    return {"reached_s": reached, "page_s": page_own, "count": count, "all_s": time.perf_counter() - started}


def _counted_pages(bench: Bench, fetch: Any, pages: int) -> list[dict[str, int]]:
    """The Rucio requests behind each of the first ``pages`` pages, fetched in a row."""
    assert bench.proxy is not None
    counts = []
    cursor = None
    for _ in range(pages):
        bench.proxy.reset()
        _, body = fetch(cursor)
        counts.append(bench.proxy.summary())
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return counts


# ---- deep pages ------------------------------------------------------------------------------------


def deep_pages(bench: Bench, server: JupyterServer) -> dict[str, Any]:
    query = cat.WILDCARD
    reps = bench.args.reps
    bench.refresh_direct_token()
    client = bench.direct()
    _search_page(server, query, None, PAGE)  # warm-up
    first = [_search_page(server, query, None, PAGE)[0] for _ in range(reps)]
    walk = _Walk(lambda cursor, size: _search_page(server, query, cursor, size), "items", DEPTHS, reps)
    started = time.perf_counter()
    walk.run()
    walk_s = time.perf_counter() - started
    direct = [
        _direct_depths(lambda: client.list_dids(query["scope"], cat.rucio_filters(query), did_type="file"), DEPTHS)
        for _ in range(max(2, min(reps, 3)))
    ]
    direct_first = _median([d["reached_s"][1] for d in direct])
    counted = _counted_pages(bench, lambda cursor: _search_page(server, query, cursor, PAGE, instance=COUNTED), 4)
    out: dict[str, Any] = {
        "query": query["label"],
        "pages": {},
        "direct_first_page_s": direct_first,
        "direct_all_s": _median([d["all_s"] for d in direct]),
        "direct_count": direct[0]["count"],
        "walk": {
            "requests": walk.requests,
            "seconds": round(walk_s, 2),
            "rows": len(walk.names),
            "distinct_rows": len(set(walk.names)),
            "error": walk.error,
        },
        "rucio_requests_pages_1_to_4": counted,
    }
    for depth in DEPTHS:
        ext = _median(first) if depth == 1 else walk.at(depth)
        out["pages"][str(depth)] = {
            "ext_s": ext,
            "direct_reached_s": _median([d["reached_s"][depth] for d in direct if depth in d["reached_s"]]),
            "direct_own_page_s": _median([d["page_s"][depth] for d in direct if depth in d["page_s"]]),
            "ratio_vs_direct_first_page": _ratio(ext, direct_first),
            "ratio_vs_ext_page_1": _ratio(ext, _median(first)),
        }
    return out


# ---- all scopes ------------------------------------------------------------------------------------


def all_scopes(bench: Bench, server: JupyterServer) -> dict[str, Any]:
    query = cat.ALL_SCOPES
    reps = bench.args.reps
    bench.refresh_direct_token()
    client = bench.direct()
    scopes = sorted(client.list_scopes())
    _search_page(server, query, None, PAGE)  # warm-up
    ext: list[float] = []
    per_scope: dict[str, list[float]] = {s: [] for s in scopes}
    body: dict[str, Any] = {}
    for _ in range(reps):
        elapsed, body = _search_page(server, query, None, PAGE)
        ext.append(elapsed)
        for scope in scopes:
            started = time.perf_counter()
            rows = client.list_dids(scope, cat.rucio_filters(query), did_type=query["type"])
            for n, _ in enumerate(rows, 1):
                if n >= PAGE:
                    break
            rows.close()
            per_scope[scope].append(time.perf_counter() - started)
    direct_page = [f"{d['scope']}:{d['name']}" for d in bench.names_page(query)]
    assert bench.proxy is not None
    bench.proxy.reset()
    _search_page(server, query, None, PAGE, instance=COUNTED)
    counted = bench.proxy.summary()
    medians = {s: _median(v) for s, v in per_scope.items()}
    slowest = max(m for m in medians.values() if m is not None)
    total = round(sum(m for m in medians.values() if m is not None), 4)
    ext_s = _median(ext)
    return {
        "query": query["label"],
        "scopes": scopes,
        "ext_first_page_s": ext_s,
        "direct_scope_first_page_s": medians,
        "direct_slowest_scope_s": slowest,
        "direct_sum_of_scopes_s": total,
        "ratio_vs_slowest_scope": _ratio(ext_s, slowest),
        "ratio_vs_sum_of_scopes": _ratio(ext_s, total),
        "same_rows_as_direct_in_order": [i["did"] for i in body["items"]] == direct_page,
        "rucio_requests_first_page": counted,
    }


# ---- make available --------------------------------------------------------------------------------


def make_available(bench: Bench, server: JupyterServer) -> dict[str, Any]:
    reps = bench.args.reps
    archive = next(r for r in bench.info.rses if r.name == "ESCAPE-SAFE")
    tag = time.strftime("%Y%m%d%H%M%S")
    count = 2 * reps + 3  # warm-up, reps through the extension, reps direct, counted (warm-up, counted)
    dids = bench._seed_cmd("mkavail", tag, str(count), str(archive.path), str(MAKE_AVAILABLE_FILES), timeout=300)[
        "dids"
    ]
    bench.refresh_direct_token()
    client = bench.direct()

    def ext_post(did: str, instance: str = INSTANCE) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        response = server.session.post(
            f"{server.api(instance)}/rules", json={"did": did, "target": "notebook", "lifetime_days": 1}, timeout=120
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"POST rules {did}: HTTP {response.status_code}: {response.text[:300]}")
        return elapsed, response.json()

    _, made = ext_post(dids[0])  # warm-up
    expression = made["rule"]["rse_expression"]
    ext: list[float] = []
    direct: list[float] = []
    for k in range(reps):
        ext.append(ext_post(dids[1 + 2 * k])[0])
        scope, name = dids[2 + 2 * k].split(":", 1)
        started = time.perf_counter()
        client.add_replication_rule(
            [{"scope": scope, "name": name}],
            copies=1,
            rse_expression=expression,
            lifetime=86400,
            grouping="DATASET",
            comment="escape-dlaas: make available",
            ask_approval=False,
            asynchronous=False,
            notify="Y",  # as the extension asks since the live events
        )
        direct.append(time.perf_counter() - started)
    assert bench.proxy is not None
    ext_post(dids[-2], COUNTED)  # the counted instance's caches warm (who am I, the RSEs), as on the other
    bench.proxy.reset()
    ext_post(dids[-1], COUNTED)
    counted = bench.proxy.summary()
    ext_s, direct_s = _median(ext), _median(direct)
    return {
        "files_per_dataset": MAKE_AVAILABLE_FILES,
        "rse_expression": expression,
        "ext_s": ext_s,
        "ext_all_s": [round(x, 4) for x in ext],
        "direct_add_replication_rule_s": direct_s,
        "direct_all_s": [round(x, 4) for x in direct],
        "ratio": _ratio(ext_s, direct_s),
        "rucio_requests": counted,
    }


# ---- a described page of 1,000 rows ---------------------------------------------------------------


def describe_rows(bench: Bench, server: JupyterServer) -> dict[str, Any]:
    reps = bench.args.reps
    bench.refresh_direct_token()
    _, page = _search_page(server, cat.WILDCARD, None, DESCRIBE_ROWS)
    files = [i["did"] for i in page["items"]]
    datasets = [f"{cat.SCOPE}:{cat.dataset_name(d)}" for d in range(DESCRIBE_ROWS)]

    # A kept connection Rucio closes as it is reused is sent again by the extension's Rucio client itself
    # (escape_dlaas/rucio/client.py): any other answer than 200 is a failure of the run.
    def post(dids: list[str], instance: str = INSTANCE) -> float:
        started = time.perf_counter()
        response = server.session.post(f"{server.api(instance)}/describe", json={"dids": dids}, timeout=300)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"describe: HTTP {response.status_code}: {response.text[:300]}")
        return elapsed

    def chunked(dids: list[str]) -> tuple[float, float]:
        """Chunks of DESCRIBE_CHUNK, two at a time: time to the first chunk's answer and to the last."""
        started = time.perf_counter()
        firsts: list[float] = []
        lock = threading.Lock()

        def one(chunk: list[str]) -> None:
            post(chunk)
            with lock:
                firsts.append(time.perf_counter() - started)

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(one, [dids[i : i + DESCRIBE_CHUNK] for i in range(0, len(dids), DESCRIBE_CHUNK)]))
        return min(firsts), time.perf_counter() - started

    rows = []
    for kind, dids in (("files", files), ("datasets", datasets)):
        as_dicts = [{"scope": d.split(":", 1)[0], "name": d.split(":", 1)[1]} for d in dids]
        post(dids)  # warm-up
        ext: list[float] = []
        direct: list[float] = []
        chunks: list[tuple[float, float]] = []
        for _ in range(reps):
            ext.append(post(dids))
            direct.append(bench.proposed(as_dicts, "ALL")["total_s"])
            chunks.append(chunked(dids))
        assert bench.proxy is not None
        post(dids[:1], COUNTED)  # the counted instance's caches warm (the account, the RSEs)
        bench.proxy.reset()
        post(dids, COUNTED)
        counted = bench.proxy.summary()
        ext_s, direct_s = _median(ext), _median(direct)
        rows.append(
            {
                "kind": kind,
                "rows": len(dids),
                "ext_s": ext_s,
                "direct_same_bulk_calls_s": direct_s,
                "ratio": _ratio(ext_s, direct_s),
                "chunked_first_s": _median([c[0] for c in chunks]),
                "chunked_all_s": _median([c[1] for c in chunks]),
                "rucio_requests": counted,
            }
        )
    return {"rows": rows}


# ---- the 80,000-file dataset ------------------------------------------------------------------------


class _RssSampler:
    """The Jupyter server's VmRSS every 50 ms while a block runs: the peak."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> _RssSampler:
        self.before = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.after = self._rss()


def big_dataset(bench: Bench, server: JupyterServer) -> dict[str, Any]:
    reps = bench.args.reps
    seeded = bench._seed_cmd("big", str(bench.bench_dir / "seed-big-state.json"), timeout=1800)
    did = f"{cat.SCOPE}:{cat.BIG_DATASET}"
    bench.refresh_direct_token()
    client = bench.direct()
    _get(server, "did", {"did": did})  # warm-up
    details = [_get(server, "did", {"did": did})[0] for _ in range(reps)]
    first = [_files_page(server, did, None, PAGE)[0] for _ in range(reps)]
    walk = _Walk(lambda cursor, size: _files_page(server, did, cursor, size), "files", FILE_DEPTHS, reps)
    with _RssSampler(server.pid) as rss:  # the walk ends on the last page: every file passes through
        started = time.perf_counter()
        walk.run()
        walk_s = time.perf_counter() - started
    direct_details: list[float] = []
    direct_first: list[float] = []
    for _ in range(reps):
        started = time.perf_counter()
        client.get_metadata(cat.SCOPE, cat.BIG_DATASET, plugin="ALL")
        direct_details.append(time.perf_counter() - started)
        started = time.perf_counter()
        rows = client.list_files(cat.SCOPE, cat.BIG_DATASET)
        page = []
        for row in rows:
            page.append({"scope": row["scope"], "name": row["name"]})
            if len(page) >= PAGE:
                break
        rows.close()
        list(client.list_replicas(page, all_states=True, ignore_availability=True))
        direct_first.append(time.perf_counter() - started)
    started = time.perf_counter()
    listed = sum(1 for _ in client.list_files(cat.SCOPE, cat.BIG_DATASET))
    direct_all = time.perf_counter() - started
    counted = _counted_pages(bench, lambda cursor: _files_page(server, did, cursor, PAGE, instance=COUNTED), 3)
    direct_first_s = _median(direct_first)
    out: dict[str, Any] = {
        "did": did,
        "seed": seeded,
        "files": listed,
        "ext_details_s": _median(details),
        "direct_get_metadata_s": _median(direct_details),
        "direct_first_page_s": direct_first_s,
        "direct_list_files_all_s": round(direct_all, 3),
        "pages": {},
        "walk": {
            "requests": walk.requests,
            "seconds": round(walk_s, 2),
            "rows": len(walk.names),
            "distinct_rows": len(set(walk.names)),
            "error": walk.error,
        },
        "server_rss_mb": {"before": round(rss.before, 1), "peak": round(rss.peak, 1), "after": round(rss.after, 1)},
        "rucio_requests_pages_1_to_3": counted,
    }
    for depth in FILE_DEPTHS:
        ext = _median(first) if depth == 1 else walk.at(depth)
        out["pages"][str(depth)] = {"ext_s": ext, "ratio_vs_direct_first_page": _ratio(ext, direct_first_s)}
    return out


# ---- report -----------------------------------------------------------------------------------------


def _requests(summary: dict[str, int] | list[dict[str, int]]) -> str:
    if isinstance(summary, list):
        return "+".join(str(sum(s.values())) for s in summary)
    return str(sum(summary.values()))


def report(results: dict[str, Any], table: Any) -> list[str]:
    out = [f"{phase} FAILED: {error}" for phase, error in results.get("phase_errors", {}).items()]
    if "deep" in results:
        d = results["deep"]
        rows = [
            [
                "6. deep pages (100 per page)",
                "ext s",
                "/ext page 1",
                "direct first page s",
                "ratio",
                "direct loop reaches it s",
            ]
        ]
        for depth, p in d["pages"].items():
            rows.append(
                [
                    f"page {depth}",
                    p["ext_s"],
                    p["ratio_vs_ext_page_1"],
                    d["direct_first_page_s"],
                    p["ratio_vs_direct_first_page"],
                    p["direct_reached_s"],
                ]
            )
        out.append(table(rows))
        w = d["walk"]
        out.append(
            f"   walk: {w['requests']} requests, {w['seconds']} s, {w['rows']} rows ({w['distinct_rows']} distinct)"
            f"{'; FAILED ' + w['error'] if w.get('error') else ''}; "
            f"Rucio requests for pages 1-4: {_requests(d['rucio_requests_pages_1_to_4'])}; "
            f"direct whole answer {d['direct_all_s']} s ({d['direct_count']})"
        )
    if "scopes" in results:
        s = results["scopes"]
        out.append(
            table(
                [
                    [
                        "7. all scopes, first page",
                        "ext s",
                        "slowest scope s",
                        "sum of scopes s",
                        "ext/slowest",
                        "ext/sum",
                        "same rows",
                        "Rucio req",
                    ],
                    [
                        s["query"],
                        s["ext_first_page_s"],
                        s["direct_slowest_scope_s"],
                        s["direct_sum_of_scopes_s"],
                        s["ratio_vs_slowest_scope"],
                        s["ratio_vs_sum_of_scopes"],
                        s["same_rows_as_direct_in_order"],
                        _requests(s["rucio_requests_first_page"]),
                    ],
                ]
            )
        )
    if "makeavailable" in results:
        m = results["makeavailable"]
        out.append(
            table(
                [
                    [
                        "8. make available",
                        "ext POST s",
                        "direct add_replication_rule s",
                        "ratio",
                        "<=1.15x",
                        "Rucio req",
                    ],
                    [
                        f"{m['files_per_dataset']}-file dataset",
                        m["ext_s"],
                        m["direct_add_replication_rule_s"],
                        m["ratio"],
                        "MET" if (m["ratio"] or 99) <= 1.15 else "MISSED",
                        f"{_requests(m['rucio_requests'])} {m['rucio_requests']}",
                    ],
                ]
            )
        )
    if "describe" in results:
        rows = [
            [
                "9. describe 1,000 rows",
                "ext s",
                "direct same bulk calls s",
                "ratio",
                "<=1.15x",
                "chunks of 100: first / all s",
                "Rucio req",
            ]
        ]
        for r in results["describe"]["rows"]:
            rows.append(
                [
                    r["kind"],
                    r["ext_s"],
                    r["direct_same_bulk_calls_s"],
                    r["ratio"],
                    "MET" if (r["ratio"] or 99) <= 1.15 else "MISSED",
                    f"{r['chunked_first_s']} / {r['chunked_all_s']}",
                    _requests(r["rucio_requests"]),
                ]
            )
        out.append(table(rows))
    if "bigdataset" in results:
        b = results["bigdataset"]
        rows = [["10. 80,000-file dataset", "ext s", "direct s", "ratio"]]
        rows.append(
            [
                "details",
                b["ext_details_s"],
                b["direct_get_metadata_s"],
                _ratio(b["ext_details_s"], b["direct_get_metadata_s"]),
            ]
        )
        for depth, p in b["pages"].items():
            rows.append(
                [
                    f"files page {depth} (100, with replicas)",
                    p["ext_s"],
                    b["direct_first_page_s"],
                    p["ratio_vs_direct_first_page"],
                ]
            )
        out.append(table(rows))
        w, rss = b["walk"], b["server_rss_mb"]
        out.append(
            f"   walk: {w['requests']} requests, {w['seconds']} s, {w['rows']} rows ({w['distinct_rows']} distinct)"
            f"{'; FAILED ' + w['error'] if w.get('error') else ''}; "
            f"server RSS {rss['before']} MB before, peak {rss['peak']} MB, after {rss['after']} MB; "
            f"Rucio requests for pages 1-3: {_requests(b['rucio_requests_pages_1_to_3'])}; "
            f"direct list_files of all {b['files']}: {b['direct_list_files_all_s']} s"
        )
    return out
