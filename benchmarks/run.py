"""escape-dlaas benchmark suite: catalogue scale, side by side with plain rucio-clients, in one run.

    cd /work/main && .venv/bin/python benchmarks/run.py [--state-dir /tmp/dlaas-bench] [--keep]

Starts (or reuses) a dedicated local lake on free ports, seeds it with 100,000 files in 1,000
datasets (``seed.py``, idempotent), starts Jupyter Server with and without the extension, and
measures search, availability refresh, event-loop responsiveness, memory and the frontend. Prints
a table and writes ``benchmarks/results/<timestamp>.json``. See docs/benchmarks.md.

Everything talks to 127.0.0.1 only. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import catalogue as cat  # noqa: E402
import depth  # noqa: E402
from countproxy import CountingProxy  # noqa: E402

from escape_dlaas.lake import Lake, Ports, free_ports, load_lake_info  # noqa: E402

# issue 15's costs of depth and width (depth.py): each is a result key of its own
DEPTH_PHASES = {
    "deep": depth.deep_pages,
    "scopes": depth.all_scopes,
    "makeavailable": depth.make_available,
    "describe": depth.describe_rows,
    "bigdataset": depth.big_dataset,
}
PHASES = ("search", "availability", "responsiveness", *DEPTH_PHASES, "memory", "frontend")
INSTANCE = "local-lake"
COUNTED = "local-lake-counted"
PAGE = 100
TARGETS = {
    "search_first_page_s": 0.5,
    "search_ratio": 1.15,
    "availability_latency_s": 1.0,
    "responsiveness_p99_ms": 50.0,
    "memory_added_mb": 50.0,
}


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def search_params(query: dict[str, Any], details: str) -> dict[str, str]:
    """The extension's search parameters for one of ``catalogue.QUERIES``, page of PAGE."""
    params = {"type": query["type"], "page_size": str(PAGE), "details": details}
    params.update({key: query[key] for key in ("q", "scope", "filter") if query.get(key)})
    return params


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


# ---- Jupyter Server ------------------------------------------------------------------------------


class JupyterServer:
    """``jupyter server`` (or ``jupyter lab``) in a child process, token auth, 127.0.0.1 only."""

    def __init__(
        self,
        bench_dir: Path,
        name: str,
        *,
        extension: bool,
        app: str = "jupyter_server",
        extra: list[str] | None = None,
    ):
        self.bench_dir = bench_dir
        self.name = name
        self.extension = extension
        self.app = app
        self.extra = extra or []
        self.port = free_ports(1)[0]
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = bench_dir / "logs" / f"{name}.log"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        root = self.bench_dir / "notebooks"
        root.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                # our DLaaS config first; the venv's own config (which enables installed extensions) still applies
                "JUPYTER_CONFIG_PATH": str(self.bench_dir / "jupyter"),
                "JUPYTER_CONFIG_DIR": str(self.bench_dir / "jupyter-user"),  # no personal ~/.jupyter
                "JUPYTER_RUNTIME_DIR": str(self.bench_dir / "jupyter-runtime"),
                "JUPYTER_PLATFORM_DIRS": "1",
            }
        )
        command = [
            sys.executable,
            "-m",
            self.app,
            "--no-browser",
            f"--ServerApp.port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            # merged with the extensions the environment enables (jupyterlab, ...); only ours differs
            f"--ServerApp.jpserver_extensions=escape_dlaas={self.extension}",
            *self.extra,
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited (code {self.proc.returncode}); see {self.log}")
            with contextlib.suppress(requests.RequestException):
                if self.session.get(f"{self.url}/api/status", timeout=2).status_code == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def api(self, instance: str) -> str:
        return f"{self.url}/escape-dlaas/instances/{instance}"


# ---- the benchmark ---------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.state_dir = Path(args.state_dir).expanduser().resolve()
        self.bench_dir = self.state_dir / "bench"
        self.results: dict[str, Any] = {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_at_start": os.getloadavg(),
            },
            "targets": TARGETS,
        }
        self.lake: Lake | None = None
        self.proxy: CountingProxy | None = None
        self.servers: list[JupyterServer] = []
        self._direct: Any = None
        self._threads = threading.local()
        self.cold_requests: dict[str, int] = {}

    # -- lake and seed -----------------------------------------------------------------------------
    def lake_up(self) -> None:
        fresh = not (self.state_dir / "lake.json").exists()
        ports = Ports(*free_ports(4)) if fresh else None
        started = time.monotonic()
        self.lake = Lake(self.state_dir, ports=ports, token_lifetime=3600, say=lambda m: say(f"lake: {m}"))
        self.lake.up()
        self.info = load_lake_info(self.state_dir)
        self.bench_dir.mkdir(parents=True, exist_ok=True)
        self.results["lake"] = {
            "state_dir": str(self.state_dir),
            "rucio_url": self.info.rucio_url,
            "up_seconds": round(time.monotonic() - started, 1),
            "fresh": fresh,
        }
        say(f"lake up at {self.info.rucio_url} ({self.results['lake']['up_seconds']} s)")

    def _root_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["RUCIO_CONFIG"] = str(self.state_dir / "rucio" / "etc" / "rucio.cfg")  # root's userpass [client]
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        return env

    def _seed_cmd(self, *argv: str, timeout: float) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, str(HERE / "seed.py"), *argv],
            env=self._root_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        for line in result.stdout.splitlines():
            if line.startswith("  seeding"):
                say(line.strip())
        if result.returncode != 0:
            raise RuntimeError(f"seed.py {argv[0]} failed: {result.stderr[-2000:]}")
        last = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")][-1]
        return dict(json.loads(last[len("RESULT ") :]))

    def seed(self) -> None:
        say("seeding the catalogue (100,000 files in 1,000 datasets; skipped when done) ...")
        started = time.monotonic()
        outcome = self._seed_cmd("catalogue", str(self.bench_dir / "seed-state.json"), timeout=1200)
        outcome["wall_seconds"] = round(time.monotonic() - started, 1)
        self.results["seed"] = outcome
        say(f"seed: {outcome}")

    # -- clients -----------------------------------------------------------------------------------
    def refresh_direct_token(self) -> None:
        """alice's Rucio token (the same identity the extension uses), for the plain client."""
        assert self.lake is not None
        token = self.lake.exchange(self.lake.token("alice"))
        path = self.bench_dir / "alice.rucio-token"
        path.write_text(token)
        path.chmod(0o600)
        if self._direct is not None:
            self._direct.auth_token = token
            self._direct.headers["X-Rucio-Auth-Token"] = token

    def direct(self) -> Any:
        """A plain rucio-clients Client as a scientist configures it (rucio.cfg, OIDC token file)."""
        if self._direct is None:
            self.refresh_direct_token()
            cfg = self.bench_dir / "rucio-alice.cfg"
            cfg.write_text(
                "[client]\n"
                f"rucio_host = {self.info.rucio_url}\n"
                f"auth_host = {self.info.rucio_url}\n"
                "auth_type = oidc\naccount = alice\nvo = def\nrequest_retries = 0\n"
                f"auth_token_file_path = {self.bench_dir / 'alice.rucio-token'}\n"
            )
            os.environ["RUCIO_CONFIG"] = str(cfg)
            for var in ("BEARER_TOKEN", "BEARER_TOKEN_FILE"):
                os.environ.pop(var, None)
            from rucio.client import Client

            self._direct = Client()
            assert self._direct.whoami()["account"] == "alice"
        return self._direct

    def start_proxy(self) -> None:
        rucio = urlsplit(self.info.rucio_url)
        self.proxy = CountingProxy(rucio.hostname or "127.0.0.1", rucio.port or 80)
        self.proxy.start()
        say(f"counting proxy {self.proxy.url} -> {self.info.rucio_url}")

    def write_jupyter_config(self) -> None:
        """The lake's DLaaS config, plus the same instance through the counting proxy."""
        assert self.proxy is not None
        lake_config = json.loads(self.info.jupyter_config.read_text())
        dlaas = lake_config["DLaaS"]
        instance = next(i for i in dlaas["instances"] if i["name"] == INSTANCE)
        counted = dict(
            instance,
            name=COUNTED,
            display_name="Local lake (counted)",
            rucio_url=self.proxy.url,
            auth_url=self.proxy.url,
        )
        config = {"DLaaS": {"instances": [instance, counted], "default_instance": INSTANCE}}
        target = self.bench_dir / "jupyter" / "jupyter_server_config.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(config, indent=1))
        (self.bench_dir / "jupyter-user").mkdir(exist_ok=True)

    def server(self, name: str, *, extension: bool, **kwargs: Any) -> JupyterServer:
        server = JupyterServer(self.bench_dir, name, extension=extension, **kwargs)
        self.servers.append(server)
        started = time.monotonic()
        server.start()
        say(f"{name} up on {server.url} in {time.monotonic() - started:.1f} s (pid {server.pid})")
        return server

    # -- 4. memory, part 1: the server without the extension ---------------------------------------------
    def memory_baseline(self) -> None:
        plain = self.server("jupyter-without-extension", extension=False)
        try:
            probe = plain.session.get(f"{plain.url}/escape-dlaas/status", timeout=10).status_code
            for _ in range(20):
                plain.session.get(f"{plain.url}/api/status", timeout=10)
            time.sleep(1)
            self.results["memory"] = {
                "without_extension_mb": rss_mb(plain.pid),
                "without_extension_escape_dlaas_status": probe,
            }
        finally:
            plain.stop()

    # -- 1. search ---------------------------------------------------------------------------------
    def ext_search(
        self,
        server: JupyterServer,
        query: dict[str, Any],
        instance: str = INSTANCE,
        cursor: str | None = None,
        details: str = "names",
    ) -> tuple[float, dict[str, Any]]:
        """One search page; ``names`` is the panel's first step, ``full`` the one-call API."""
        params = search_params(query, details)
        if cursor:
            params["cursor"] = cursor
        started = time.perf_counter()
        response = server.session.get(f"{server.api(instance)}/search", params=params, timeout=120)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"search {query['label']}: HTTP {response.status_code}: {response.text[:300]}")
        return elapsed, response.json()

    def ext_describe(self, server: JupyterServer, dids: list[str], instance: str = INSTANCE) -> float:
        """The panel's second step: one POST describe for the page just shown."""
        started = time.perf_counter()
        response = server.session.post(f"{server.api(instance)}/describe", json={"dids": dids}, timeout=120)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"describe: HTTP {response.status_code}: {response.text[:300]}")
        return elapsed

    def direct_search(self, query: dict[str, Any]) -> dict[str, float | int | None]:
        """Plain ``Client.list_dids`` for the same query: first item, first page (100), whole answer."""
        client = self.direct()
        started = time.perf_counter()
        scopes = [query["scope"]] if query.get("scope") else sorted(client.list_scopes())
        first = page = None
        count = 0
        for scope in scopes:
            for _ in client.list_dids(scope, cat.rucio_filters(query), did_type=query["type"]):
                count += 1
                if count == 1:
                    first = time.perf_counter() - started
                if count == PAGE:
                    page = time.perf_counter() - started
        return {"first_item_s": first, "first_page_s": page, "all_s": time.perf_counter() - started, "count": count}

    def names_page(self, query: dict[str, Any]) -> list[dict[str, str]]:
        """The first PAGE DIDs of the query, read lazily with the plain client."""
        client = self.direct()
        scopes = [query["scope"]] if query.get("scope") else sorted(client.list_scopes())
        dids: list[dict[str, str]] = []
        for scope in scopes:
            rows = client.list_dids(scope, cat.rucio_filters(query), did_type=query["type"])
            for name in rows:
                dids.append({"scope": scope, "name": name})
                if len(dids) >= PAGE:
                    break
            rows.close()
            if len(dids) >= PAGE:
                break
        return dids

    def thread_client(self) -> Any:
        """One plain Client per thread (requests sessions are not shared across threads)."""
        self.direct()
        client = getattr(self._threads, "client", None)
        if client is None:
            from rucio.client import Client

            client = self._threads.client = Client()
        return client

    def proposed(self, dids: list[dict[str, str]], plugin: str) -> dict[str, float]:
        """What a page/refresh costs if collections are never expanded to files (recommendations R1/R2).

        One bulk metadata call (types), then, concurrently: the account's rules (lock counters),
        ``list_replicas`` for the FILES only (no resolve_parents) and ``list_dataset_replicas_bulk``
        for the collections. Timing evidence only: in this lake collection replicas are not kept up
        to date (no abacus-collection-replica daemon), so the states this would give are not checked.
        """
        client = self.direct()
        times: dict[str, float] = {}
        started = time.perf_counter()
        meta = list(client.get_metadata_bulk(dids, inherit=False, plugin=plugin))
        times["get_metadata_bulk_s"] = time.perf_counter() - started
        kinds = {(m["scope"], m["name"]): str(m.get("did_type") or "").upper() for m in meta}
        files = [d for d in dids if kinds.get((d["scope"], d["name"])) == "FILE"]
        collections = [d for d in dids if kinds.get((d["scope"], d["name"])) in ("DATASET", "CONTAINER")]

        def rules() -> int:
            return len(list(self.thread_client().list_replication_rules(filters={"account": "alice"})))

        def file_replicas() -> int:
            if not files:
                return 0
            return len(list(self.thread_client().list_replicas(files, all_states=True, ignore_availability=True)))

        def dataset_replicas() -> int:
            if not collections:
                return 0
            return len(list(self.thread_client().list_dataset_replicas_bulk(collections)))

        mark = time.perf_counter()
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(f) for f in (rules, file_replicas, dataset_replicas)]
            for future in futures:
                future.result()
        times["concurrent_rules_replicas_s"] = time.perf_counter() - mark
        times["files"] = len(files)
        times["collections"] = len(collections)
        times["total_s"] = time.perf_counter() - started
        return {k: round(v, 4) for k, v in times.items()}

    def direct_enriched(self, query: dict[str, Any]) -> dict[str, float]:
        """The same content as one extension page, by plain client calls in a row (a script's way)."""
        client = self.direct()
        times: dict[str, float] = {}
        started = time.perf_counter()
        dids = self.names_page(query)
        times["list_dids_page_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        list(client.get_metadata_bulk(dids, inherit=False, plugin="ALL"))
        times["get_metadata_bulk_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        list(client.list_replication_rules(filters={"account": "alice"}))
        times["list_replication_rules_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        replicas = list(client.list_replicas(dids, all_states=True, ignore_availability=True, resolve_parents=True))
        times["list_replicas_s"] = time.perf_counter() - mark
        times["file_replicas_listed"] = len(replicas)
        times["total_s"] = time.perf_counter() - started
        proposed = self.proposed(dids, "ALL")
        times["proposed_total_s"] = times["list_dids_page_s"] + proposed["total_s"]
        return {k: round(v, 4) for k, v in times.items()}

    def search(self, server: JupyterServer) -> None:
        """Per query: the panel's two steps (names page, then describe), the one-call full page,
        plain ``list_dids`` (first item, first page of 100, whole answer) and a script doing the
        full page's work, interleaved repetition by repetition."""
        reps = self.args.reps
        out = []
        for query in cat.QUERIES:
            say(f"search {query['label']} ...")
            self.refresh_direct_token()
            # warm-up (token exchange, scope list, connection pools): not measured
            _, body = self.ext_search(server, query)
            self.ext_describe(server, [i["did"] for i in body["items"]])
            self.ext_search(server, query, details="full")
            self.direct_search(query)
            ext_first: list[float] = []
            ext_described: list[float] = []
            ext_full: list[float] = []
            ext_next: list[float] = []
            direct_rows: list[dict[str, Any]] = []
            enriched: list[dict[str, float]] = []
            items = 0
            query_started = time.monotonic()
            for rep in range(reps):
                if rep >= 2 and time.monotonic() - query_started > self.args.budget:
                    say(f"  stopping after {rep} repetitions (--budget {self.args.budget:g} s)")
                    break
                if rep % 2 == 0:
                    direct_rows.append(self.direct_search(query))
                elapsed, body = self.ext_search(server, query)
                ext_first.append(elapsed)
                ext_described.append(elapsed + self.ext_describe(server, [i["did"] for i in body["items"]]))
                items = len(body["items"])
                cursor = body.get("next_cursor")
                for _ in range(self.args.pages - 1 if rep == 0 else 0):
                    if not cursor:
                        break
                    elapsed, body = self.ext_search(server, query, cursor=cursor)
                    ext_next.append(elapsed)
                    cursor = body.get("next_cursor")
                ext_full.append(self.ext_search(server, query, details="full")[0])
                if rep % 2 == 1:
                    direct_rows.append(self.direct_search(query))
                enriched.append(self.direct_enriched(query))
            # the Rucio requests behind one first page and its description, counted at the proxy
            assert self.proxy is not None
            self.ext_search(server, query, instance=COUNTED)  # warm the counted instance
            self.proxy.reset()
            _, body = self.ext_search(server, query, instance=COUNTED)
            requests_names = self.proxy.summary()
            self.proxy.reset()
            self.ext_describe(server, [i["did"] for i in body["items"]], instance=COUNTED)
            requests_describe = self.proxy.summary()
            d_first = median([float(r["first_item_s"]) for r in direct_rows if r["first_item_s"] is not None])
            d_page = median([float(r["first_page_s"]) for r in direct_rows if r["first_page_s"] is not None])
            e_first = median(ext_first)
            e_described = median(ext_described)
            same = median([e["total_s"] for e in enriched])
            row = {
                "query": query,
                "reps": len(ext_first),
                "items_on_first_page": items,
                "direct_matches": direct_rows[0]["count"],
                "extension_first_page_s": e_first,
                "extension_first_page_all_s": [round(x, 4) for x in ext_first],
                "extension_described_page_s": e_described,
                "extension_full_page_one_call_s": median(ext_full),
                "extension_next_pages_s": median(ext_next),
                "extension_pages_measured": self.args.pages,
                "direct_first_item_s": d_first,
                "direct_first_page_s": d_page,
                "direct_all_s": median([float(r["all_s"]) for r in direct_rows]),
                "direct_same_content_s": same,
                "direct_same_content_breakdown_s": {
                    k: median([e[k] for e in enriched]) for k in enriched[0] if k not in ("total_s", "proposed_total_s")
                },
                "direct_proposed_design_s": median([e["proposed_total_s"] for e in enriched]),
                "ratio_vs_direct_first_page": round(e_first / d_page, 2) if e_first and d_page else None,
                "ratio_vs_direct_first_item": round(e_first / d_first, 2) if e_first and d_first else None,
                "ratio_described_vs_direct_same_content": round(e_described / same, 2)
                if e_described and same
                else None,
                "rucio_requests_first_page": requests_names,
                "rucio_requests_describe": requests_describe,
            }
            out.append(row)
            say(
                f"  names page {e_first} s vs direct 100 items {d_page} s (ratio {row['ratio_vs_direct_first_page']}); "
                f"described {e_described} s vs same-content script {same} s; "
                f"Rucio requests {sum(requests_names.values())} + {sum(requests_describe.values())}"
            )
        self.results["search"] = out

    # -- 2. availability ------------------------------------------------------------------------------
    def cold_call(self, server: JupyterServer) -> None:
        """The first call of a fresh instance also learns who the user is and which RSEs are notebook-local."""
        assert self.proxy is not None
        self.proxy.reset()
        response = server.session.post(
            server.api(COUNTED) + "/availability", json={"dids": [f"{cat.SCOPE}:{cat.dataset_name(999)}"]}, timeout=120
        )
        response.raise_for_status()
        self.cold_requests = self.proxy.summary()

    def availability(self, server: JupyterServer) -> None:
        assert self.proxy is not None
        url = server.api(INSTANCE) + "/availability"
        counted_url = server.api(COUNTED) + "/availability"

        def post(target: str, dids: list[str]) -> tuple[float, list[dict[str, Any]]]:
            started = time.perf_counter()
            response = server.session.post(target, json={"dids": dids}, timeout=300)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"availability: HTTP {response.status_code}: {response.text[:300]}")
            return elapsed, response.json()["items"]

        rows = []
        last_call: dict[tuple[str, int], float] = {}
        for kind, make in (("datasets", cat.watched_datasets), ("files", cat.watched_files)):
            for n in (1, 10, 100):
                dids = make(n)
                latencies = []
                states: dict[str, int] = {}
                size_started = time.monotonic()
                for rep in range(self.args.reps):
                    if rep >= 2 and time.monotonic() - size_started > self.args.budget / 2:
                        break
                    # the extension reuses an identical answer for 2 s (explicit freshness): wait it out
                    wait = 2.2 - (time.monotonic() - last_call.get((kind, n), 0.0))
                    if wait > 0:
                        time.sleep(wait)
                    elapsed, items = post(url, dids)
                    last_call[(kind, n)] = time.monotonic()
                    latencies.append(elapsed)
                    states = {}
                    for item in items:
                        states[item["state"]] = states.get(item["state"], 0) + 1
                # steady state: a call with other DIDs first refreshes the 300 s caches (who am I, RSEs)
                post(counted_url, [f"{cat.SCOPE}:{cat.dataset_name(998)}"])
                time.sleep(2.2)
                self.proxy.reset()
                post(counted_url, dids)
                counts = self.proxy.summary()
                as_dicts = [{"scope": d.split(":", 1)[0], "name": d.split(":", 1)[1]} for d in dids]
                proposed = [self.proposed(as_dicts, "DID_COLUMN") for _ in range(2)]
                rows.append(
                    {
                        "kind": kind,
                        "dids": n,
                        "latency_s": median(latencies),
                        "latency_all_s": [round(x, 4) for x in latencies],
                        "rucio_requests": sum(counts.values()),
                        "rucio_requests_by_endpoint": counts,
                        "states": states,
                        "direct_proposed_design_s": median([p["total_s"] for p in proposed]),
                    }
                )
                say(
                    f"availability {n:>3} {kind}: {median(latencies)} s, {sum(counts.values())} Rucio requests, {states}"
                )
        self.results["availability"] = {"cold_first_call_requests": self.cold_requests, "rows": rows}

    # -- 3. responsiveness ----------------------------------------------------------------------------
    def responsiveness(self, server: JupyterServer) -> None:
        tag = time.strftime("%Y%m%d%H%M%S")
        archive = next(r for r in self.info.rses if r.name == "ESCAPE-SAFE")
        mkavail = self._seed_cmd("mkavail", tag, "3", str(archive.path), timeout=120)["dids"]
        paths = ["/api/status@0.02", "/escape-dlaas/status@0.05"]

        def probe(seconds: float, stop_file: Path) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "probe.py"),
                    str(server.port),
                    server.token,
                    str(stop_file),
                    str(seconds),
                    *paths,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )

        def collect(proc: subprocess.Popen[str]) -> dict[str, list[list[float]]]:
            out, _ = proc.communicate(timeout=180)
            return dict(json.loads(out))

        # idle reference
        stop_idle = self.bench_dir / "probe-idle.stop"
        stop_idle.unlink(missing_ok=True)
        idle = collect(probe(4, stop_idle))

        stop_load = self.bench_dir / "probe-load.stop"
        stop_load.unlink(missing_ok=True)
        prober = probe(150, stop_load)
        time.sleep(0.5)
        load_started = time.perf_counter()
        search_times: list[float] = []
        errors: list[str] = []

        def one_client(k: int) -> None:
            session = requests.Session()
            session.headers.update(server.session.headers)
            for j in range(self.args.searches_per_client):
                query = cat.QUERIES[(k + j) % len(cat.QUERIES)]
                params = search_params(query, "full")
                started = time.perf_counter()
                response = session.get(f"{server.api(INSTANCE)}/search", params=params, timeout=300)
                search_times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors.append(f"search HTTP {response.status_code}")

        def make_available() -> dict[str, Any]:
            session = requests.Session()
            session.headers.update(server.session.headers)
            started = time.perf_counter()
            created = []
            for did in mkavail:
                response = session.post(
                    f"{server.api(INSTANCE)}/rules",
                    json={"did": did, "target": "notebook", "lifetime_days": 1},
                    timeout=120,
                )
                created.append(response.status_code)
            rules_s = time.perf_counter() - started
            state: dict[str, str] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                response = session.post(f"{server.api(INSTANCE)}/availability", json={"dids": mkavail}, timeout=120)
                state = {i["did"]: i["state"] for i in response.json().get("items", [])}
                if state and all(s == "AVAILABLE" for s in state.values()):
                    break
                time.sleep(1)
            return {
                "dids": mkavail,
                "rule_status_codes": created,
                "rules_created_s": round(rules_s, 3),
                "until_available_s": round(time.perf_counter() - started, 2),
                "final_states": state,
            }

        with ThreadPoolExecutor(max_workers=self.args.concurrent_searches + 1) as pool:
            maker = pool.submit(make_available)
            clients = [pool.submit(one_client, k) for k in range(self.args.concurrent_searches)]
            for future in clients:
                future.result()
            searches_done = time.perf_counter() - load_started
            made = maker.result()
        load_seconds = time.perf_counter() - load_started
        stop_load.touch()
        loaded = collect(prober)

        def stats(samples: list[list[float]], window: tuple[float, float] | None = None) -> dict[str, Any]:
            values = [s[1] * 1000 for s in samples if window is None or window[0] <= s[0] <= window[1]]
            bad = sum(1 for s in samples if s[2] != 200)
            return {
                "samples": len(values),
                "p50_ms": round(percentile(values, 50) or 0, 1),
                "p95_ms": round(percentile(values, 95) or 0, 1),
                "p99_ms": round(percentile(values, 99) or 0, 1),
                "max_ms": round(max(values), 1) if values else None,
                "non_200": bad,
            }

        # the window while the 20 concurrent searches ran (the probe's clock starts ~0.5 s earlier)
        window = (0.5, 0.5 + searches_done)
        self.results["responsiveness"] = {
            "concurrent_searches": self.args.concurrent_searches,
            "searches_per_client": self.args.searches_per_client,
            "search_latency_under_load_s": {
                "p50": round(percentile(search_times, 50) or 0, 3),
                "p95": round(percentile(search_times, 95) or 0, 3),
                "max": round(max(search_times), 3) if search_times else None,
            },
            "search_errors": errors[:10],
            "search_error_count": len(errors),
            "searches_done_s": round(searches_done, 2),
            "load_seconds": round(load_seconds, 2),
            "make_available": made,
            "api_status_idle": stats(idle["/api/status"]),
            "api_status_during_searches": stats(loaded["/api/status"], window),
            "api_status_whole_load": stats(loaded["/api/status"]),
            "dlaas_status_idle": stats(idle["/escape-dlaas/status"]),
            "dlaas_status_during_searches": stats(loaded["/escape-dlaas/status"], window),
            "dlaas_status_whole_load": stats(loaded["/escape-dlaas/status"]),
        }
        r = self.results["responsiveness"]
        say(
            f"responsiveness: /api/status p99 idle {r['api_status_idle']['p99_ms']} ms, during searches "
            f"{r['api_status_during_searches']['p99_ms']} ms; /escape-dlaas/status p99 during searches "
            f"{r['dlaas_status_during_searches']['p99_ms']} ms; make-available {made['until_available_s']} s"
        )

    # -- 5. frontend ----------------------------------------------------------------------------------
    def frontend(self) -> None:
        static = REPO / "escape_dlaas" / "labextension" / "static"
        files = sorted(p for p in static.rglob("*") if p.is_file()) if static.exists() else []
        result: dict[str, Any] = {
            "assets_dir": str(static),
            "assets_bytes": sum(p.stat().st_size for p in files),
            "assets_js_bytes": sum(p.stat().st_size for p in files if p.suffix == ".js"),
            "assets_files": {p.name: p.stat().st_size for p in files},
        }
        self.results["frontend"] = result
        if self.args.skip_frontend:
            result["browser"] = {"skipped": "--skip-frontend"}
            return
        node = shutil.which("node")
        chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        modules = REPO / "ui-tests" / "node_modules"
        if not node or not Path(chromium).exists() or not (modules / "playwright-core").exists():
            result["browser"] = {"skipped": "node, Chromium or ui-tests/node_modules/playwright-core missing"}
            return
        settings = self.bench_dir / "lab-settings" / "escape-dlaas" / "plugin.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({"searchPageSize": 1000}))  # one page of 1,000 results
        shutil.rmtree(self.bench_dir / "lab-workspaces", ignore_errors=True)  # a fresh layout every run
        lab = self.server(
            "jupyterlab-frontend",
            extension=True,
            app="jupyterlab",
            extra=[
                f"--LabApp.user_settings_dir={self.bench_dir / 'lab-settings'}",
                f"--LabApp.workspaces_dir={self.bench_dir / 'lab-workspaces'}",
            ],
        )
        out_file = self.bench_dir / "frontend-result.json"
        out_file.unlink(missing_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "NODE_PATH": str(modules),
                "BENCH_LAB_URL": lab.url,
                "BENCH_LAB_TOKEN": lab.token,
                "BENCH_CHROMIUM": chromium,
                "BENCH_OUT": str(out_file),
                "BENCH_QUERY": cat.WILDCARD["scope"] + ":" + cat.WILDCARD["q"],
                "BENCH_RESULTS": "1000",
                "BENCH_SCREENSHOT": str(self.bench_dir / "frontend-panel.png"),
            }
        )
        try:
            proc = subprocess.run(
                [node, str(HERE / "frontend.js")], env=env, capture_output=True, text=True, timeout=240, check=False
            )
            result["browser_log"] = (proc.stdout + proc.stderr)[-3000:]
            if out_file.exists():
                result["browser"] = json.loads(out_file.read_text())
            else:
                result["browser"] = {"error": f"frontend.js exited {proc.returncode}"}
        except subprocess.TimeoutExpired:
            result["browser"] = {"error": "frontend.js did not finish within 240 s"}
        finally:
            lab.stop()

    # -- whole run -------------------------------------------------------------------------------------
    def run(self) -> None:
        started = time.monotonic()
        only = set(self.args.only.split(",")) if self.args.only else set(PHASES)
        self.lake_up()
        self.seed()
        self.start_proxy()
        self.write_jupyter_config()
        server_phases = [p for p in ("search", "availability", "responsiveness", *DEPTH_PHASES) if p in only]
        if "memory" in only:
            self.memory_baseline()
        if server_phases or "memory" in only:
            server = self.server("jupyter-with-extension", extension=True)
            status = server.session.get(f"{server.url}/escape-dlaas/status", timeout=30)
            if status.status_code != 200:
                raise RuntimeError(f"the extension is not loaded: /escape-dlaas/status HTTP {status.status_code}")
            time.sleep(1)
            memory = self.results.setdefault("memory", {})
            memory["with_extension_idle_mb"] = rss_mb(server.pid)
            self.cold_call(server)
            for phase in server_phases:
                if phase in DEPTH_PHASES:
                    say(f"{phase} ...")
                    try:
                        self.results[phase] = DEPTH_PHASES[phase](self, server)
                    except Exception as error:  # one phase's failure is its result; the others still run
                        self.results.setdefault("phase_errors", {})[phase] = f"{type(error).__name__}: {error}"
                        say(f"{phase} FAILED: {error}")
                        continue
                    say(f"{phase}: {json.dumps(self.results[phase], default=str)[:600]}")
                else:
                    getattr(self, phase)(server)
                time.sleep(1)
                memory[f"with_extension_after_{phase}_mb"] = rss_mb(server.pid)
            memory["with_extension_after_runs_mb"] = rss_mb(server.pid)
            if "without_extension_mb" in memory:
                base = memory["without_extension_mb"]
                memory["added_idle_mb"] = round(memory["with_extension_idle_mb"] - base, 1)
                memory["added_after_runs_mb"] = round(memory["with_extension_after_runs_mb"] - base, 1)
            server.stop()
        if "frontend" in only:
            self.frontend()
        self.results["total_seconds"] = round(time.monotonic() - started, 1)

    def close(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.lake is not None and not self.args.keep:
            say("stopping the lake (use --keep to leave it running)")
            self.lake.down()


# ---- report ------------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")


def table(rows: list[list[Any]]) -> str:
    text = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(text[0]))]
    lines = []
    for n, row in enumerate(text):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(results: dict[str, Any]) -> str:
    out = []
    seed = results.get("seed", {})
    out.append(
        f"Lake {results.get('lake', {}).get('rucio_url')} (up {results.get('lake', {}).get('up_seconds')} s); "
        f"seed: {'seeded in ' + str(seed.get('seconds')) + ' s' if seed.get('seeded') else 'already seeded (took ' + str(seed.get('previous_seed_seconds')) + ' s)'}"
    )
    if "search" in results:
        rows = [
            [
                "1. search (page of 100)",
                "ext names page s",
                "direct 100 items s",
                "ratio",
                "direct 1st item s",
                "ext next pages s",
                "ext + describe s",
                "ext full, one call s",
                "direct same content s",
                "described/same",
                "direct all s (n)",
                "Rucio req names+describe",
                "<=0.5 s",
                "<=1.15x",
            ]
        ]
        for r in results["search"]:
            rows.append(
                [
                    r["query"]["label"],
                    r["extension_first_page_s"],
                    r["direct_first_page_s"],
                    r["ratio_vs_direct_first_page"],
                    r["direct_first_item_s"],
                    r["extension_next_pages_s"],
                    r["extension_described_page_s"],
                    r["extension_full_page_one_call_s"],
                    r["direct_same_content_s"],
                    r["ratio_described_vs_direct_same_content"],
                    f"{r['direct_all_s']} ({r['direct_matches']})",
                    f"{sum(r['rucio_requests_first_page'].values())}+{sum(r['rucio_requests_describe'].values())}",
                    verdict(r["extension_first_page_s"] <= TARGETS["search_first_page_s"]),
                    verdict((r["ratio_vs_direct_first_page"] or 99) <= TARGETS["search_ratio"]),
                ]
            )
        out.append(table(rows))
    if "availability" in results:
        av = results["availability"]
        rows = [["2. availability refresh", "1 DID", "10 DIDs", "100 DIDs", "target"]]
        for kind in ("datasets", "files"):
            by_n = {r["dids"]: r for r in av["rows"] if r["kind"] == kind}
            rows.append(
                [
                    f"{kind}: Rucio requests",
                    *(by_n[n]["rucio_requests"] for n in (1, 10, 100)),
                    verdict(by_n[100]["rucio_requests"] <= by_n[1]["rucio_requests"] + 2),
                ]
            )
            rows.append(
                [
                    f"{kind}: latency s",
                    *(by_n[n]["latency_s"] for n in (1, 10, 100)),
                    verdict(by_n[100]["latency_s"] <= TARGETS["availability_latency_s"]),
                ]
            )
            rows.append(
                [f"{kind}: proposed design s", *(by_n[n].get("direct_proposed_design_s") for n in (1, 10, 100)), ""]
            )
        out.append(table(rows))
        out.append(
            f"   first call of a fresh instance: {sum(av['cold_first_call_requests'].values())} Rucio requests {av['cold_first_call_requests']}"
        )
    if "responsiveness" in results:
        r = results["responsiveness"]
        rows = [["3. responsiveness", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms", "target"]]
        for key, label in (
            ("api_status_idle", "/api/status, idle"),
            ("api_status_during_searches", f"/api/status, {r['concurrent_searches']} searches + make-available"),
            ("dlaas_status_idle", "/escape-dlaas/status, idle"),
            ("dlaas_status_during_searches", "/escape-dlaas/status, same load"),
        ):
            s = r[key]
            target = verdict(s["p99_ms"] <= TARGETS["responsiveness_p99_ms"]) if "during" in key else ""
            rows.append([label, s["samples"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"], target])
        out.append(table(rows))
        made = r["make_available"]
        out.append(
            f"   searches under load: p50 {r['search_latency_under_load_s']['p50']} s, p95 {r['search_latency_under_load_s']['p95']} s, "
            f"{r.get('search_error_count', '?')} of {r['concurrent_searches'] * r['searches_per_client']} failed {sorted(set(r['search_errors']))}; "
            f"make-available of {len(made['dids'])} datasets: rule POSTs {made['rule_status_codes']} in {made['rules_created_s']} s, "
            f"AVAILABLE after {made['until_available_s']} s ({set(made['final_states'].values())})"
        )
    if "memory" in results and "added_after_runs_mb" in results["memory"]:
        m = results["memory"]
        rows = [["4. memory (RSS)", "MB", "target"]]
        rows.append(["jupyter server without the extension", m["without_extension_mb"], ""])
        rows.append(
            [
                "with the extension, idle",
                f"{m['with_extension_idle_mb']} (+{m['added_idle_mb']})",
                verdict(m["added_idle_mb"] <= TARGETS["memory_added_mb"]),
            ]
        )
        for phase in ("search", "availability", "responsiveness", *DEPTH_PHASES):
            if f"with_extension_after_{phase}_mb" in m:
                rows.append(
                    [
                        f"  after {phase}",
                        f"{m[f'with_extension_after_{phase}_mb']} (+{round(m[f'with_extension_after_{phase}_mb'] - m['without_extension_mb'], 1)})",
                        "",
                    ]
                )
        rows.append(
            [
                "with the extension, after the runs",
                f"{m['with_extension_after_runs_mb']} (+{m['added_after_runs_mb']})",
                verdict(m["added_after_runs_mb"] <= TARGETS["memory_added_mb"]),
            ]
        )
        out.append(table(rows))
    if "frontend" in results:
        f = results["frontend"]
        rows = [["5. frontend", "value"]]
        rows.append(["labextension static assets", f"{f['assets_bytes']} bytes ({f['assets_js_bytes']} JS)"])
        browser = f.get("browser", {})
        for key, value in browser.items():
            rows.append([key, value])
        out.append(table(rows))
    out.extend(depth.report(results, table))
    out.append(f"Total {results.get('total_seconds')} s. Targets: {TARGETS}")
    return "\n\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--state-dir",
        default="/tmp/dlaas-bench",
        help="the benchmark lake's state directory (never a demo or test lake)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the lake running at the end")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per measurement (medians are reported)")
    parser.add_argument(
        "--pages", type=int, default=4, help="search pages fetched in the first repetition (first + next ones)"
    )
    parser.add_argument("--concurrent-searches", type=int, default=20)
    parser.add_argument("--searches-per-client", type=int, default=1)
    parser.add_argument("--skip-frontend", action="store_true")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {','.join(PHASES)}")
    parser.add_argument(
        "--budget", type=float, default=40.0, help="seconds per search query after which repetitions stop (at least 2)"
    )
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    args = parser.parse_args()

    bench = Bench(args)
    failure = None
    try:
        bench.run()
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"
        bench.results["error"] = failure
        say(f"FAILED: {failure}")
    finally:
        bench.close()
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(bench.results, indent=1, default=str))
    print()
    print(report(bench.results))
    print(f"\nResults: {path}")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
