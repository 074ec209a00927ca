"""Live events against polling: how soon the panel learns that Rucio's rule is OK, and what polling costs Rucio.

    cd /work/main && .venv/bin/python benchmarks/events.py [--state-dir /tmp/dlaas-events-bench] [--transfers 10]

Starts (or reuses) a local lake with its broker (``escape-dlaas lake up --events``) and a Jupyter
server with the extension against it, then:

1. **Rule OK → "available"**, for ``--transfers`` new datasets each way (one new 4 kB file on the SAFE
   storage, made available at the notebook). A watcher asks Rucio for the rule every 0.1 s and notes
   when it turns OK. *With events*, a client does what the panel does: it reads the extension's event
   stream and, on the rule's event, asks ``POST availability`` for the DID; *polling only*, it asks
   ``POST availability`` every 5 s (the panel's transfer interval) from the rule's creation on. The
   latency is the moment the answer says AVAILABLE minus the moment Rucio had the rule OK.
2. **Rucio requests per minute for 100 watched DIDs**: the Rucio requests of one call of each kind
   are counted in the lake's Rucio access log (``GET changes``, ``POST availability`` of the 100
   DIDs, of 1 DID); each schedule of the panel (src/models/watch.ts) then gives requests per minute:
   the change-only poll without events (a tick every 30 s, every DID once a minute), with events
   (a tick a minute, every DID every 5 minutes, plus one check per event), and the former full poll
   (every DID every 30 s).

Prints a table and writes ``benchmarks/results/events-<timestamp>.json``. Figures are reported,
never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from escape_dlaas.lake import Lake, Ports, free_ports  # noqa: E402
from escape_dlaas.lake.paths import RUNTIME_DIR  # noqa: E402

TRANSFER_POLL_SECONDS = 5  # the panel's default transfer interval (schema/plugin.json)
POLL_SECONDS = 30  # its default check interval
LIVE_POLL_SECONDS = 60  # src/models/watch.ts
FULL_CHECK_SECONDS = 60
LIVE_FULL_CHECK_SECONDS = 300
WATCHED = 100


def as_root(lake: Lake, script: str, *args: str) -> str:
    env = {**lake._runtime_env(), "PYTHONPATH": str(RUNTIME_DIR)}
    done = subprocess.run(
        [str(lake.venv.python), "-c", script, *args], env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


def new_datasets(lake: Lake, count: int, prefix: str) -> list[str]:
    """``count`` datasets of the demo user's scope, each with one new file on ESCAPE-SAFE only (one upload run)."""
    scope = f"user.{lake.info().user().account}"
    names = [f"{prefix}-{secrets.token_hex(5)}" for _ in range(count)]
    script = (
        "import os, sys, tempfile\n"
        "from rucio.client.uploadclient import UploadClient\n"
        "scope, names = sys.argv[1], sys.argv[2:]\n"
        "items = []\n"
        "for name in names:\n"
        "    path = os.path.join(tempfile.mkdtemp(), name + '.dat')\n"
        "    open(path, 'wb').write(os.urandom(4096))\n"
        "    items.append({'path': path, 'rse': 'ESCAPE-SAFE', 'did_scope': scope, 'dataset_scope': scope,\n"
        "                  'dataset_name': name, 'register_after_upload': True})\n"
        "UploadClient().upload(items)\n"
    )
    as_root(lake, script, scope, *names)
    return [f"{scope}:{name}" for name in names]


def empty_datasets(lake: Lake, count: int, prefix: str) -> list[str]:
    """``count`` empty datasets of the demo user's scope, registered in one Rucio call (what the watch costs)."""
    scope = f"user.{lake.info().user().account}"
    dids = [f"{scope}:{prefix}-{secrets.token_hex(5)}" for _ in range(count)]
    script = (
        "import sys\nfrom rucio.client import Client\n"
        "Client().add_dids([{'scope': d.split(':')[0], 'name': d.split(':')[1], 'type': 'DATASET'} for d in sys.argv[1:]])\n"
    )
    as_root(lake, script, *dids)
    return dids


class Jupyter:
    """A Jupyter server with the extension against the lake (the lake's own configuration, events included)."""

    def __init__(self, lake: Lake, root: Path):
        (self.port,) = free_ports(1)
        self.token = secrets.token_hex(16)
        root.mkdir(parents=True, exist_ok=True)
        config = json.loads(lake.info().jupyter_config.read_text())
        config["ServerApp"] = {"jpserver_extensions": {"escape_dlaas": True}, "root_dir": str(root)}
        config_file = root / "bench_config.json"
        config_file.write_text(json.dumps(config))
        self.log = (root / "jupyter.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={config_file}", "--ip=127.0.0.1",
             f"--port={self.port}", "--port-retries=0", "--no-browser", "--allow-root",
             f"--IdentityProvider.token={self.token}"],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1"},
        )  # fmt: skip
        instance = config["DLaaS"]["instances"][0]["name"]
        self.base = f"http://127.0.0.1:{self.port}/escape-dlaas/instances/{instance}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.session.get(f"{self.base}/whoami", timeout=30).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("Jupyter server did not start")
            time.sleep(0.5)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base}/{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def available(self, did: str) -> bool:
        return self.call("POST", "availability", json={"dids": [did]})["items"][0]["state"] == "AVAILABLE"


class EventReader(threading.Thread):
    """The extension's event stream, read in a thread: the rule_ok arrival of each rule."""

    def __init__(self, jupyter: Jupyter):
        super().__init__(daemon=True)
        self.jupyter = jupyter
        self.live = threading.Event()
        self.rule_ok: dict[str, float] = {}
        self.changed = threading.Condition()

    def run(self) -> None:
        with contextlib.suppress(requests.RequestException):  # the server stops at the end of the run
            self._read()

    def _read(self) -> None:
        with self.jupyter.session.get(f"{self.jupyter.base}/events", stream=True, timeout=(10, None)) as response:
            for line in response.iter_lines():
                if not line.startswith(b"data: "):
                    continue
                message = json.loads(line[6:])
                if message["type"] == "stream" and message["live"]:
                    self.live.set()
                elif message["type"] == "rule" and message["event"] == "rule_ok":
                    with self.changed:
                        self.rule_ok[message["rule_id"]] = time.monotonic()
                        self.changed.notify_all()

    def wait_rule_ok(self, rule_id: str, timeout: float) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: rule_id in self.rule_ok, timeout):
                raise TimeoutError(f"no rule_ok event for {rule_id}")
            return self.rule_ok[rule_id]


def rucio_ok_at(jupyter: Jupyter, rule_id: str, done: threading.Event, out: list[float]) -> None:
    """When Rucio has the rule OK, to 0.1 s (through the extension's own listing of the account's rules)."""
    while not done.is_set():
        rules = jupyter.call("GET", "changes")["rules"]
        if any(r["id"] == rule_id and r["state"] == "OK" for r in rules):
            out.append(time.monotonic())
            return
        time.sleep(0.1)


def one_transfer(jupyter: Jupyter, did: str, events: EventReader | None) -> float:
    rule = jupyter.call("POST", "rules", json={"did": did, "target": "notebook", "lifetime_days": 1})["rule"]
    done, ok_at = threading.Event(), list[float]()
    watcher = threading.Thread(target=rucio_ok_at, args=(jupyter, rule["id"], done, ok_at), daemon=True)
    watcher.start()
    try:
        if events is not None:
            events.wait_rule_ok(rule["id"], 120)
            while not jupyter.available(did):  # what the panel does on the event
                time.sleep(0.05)
            shown = time.monotonic()
        else:
            while not jupyter.available(did):
                time.sleep(TRANSFER_POLL_SECONDS)
            shown = time.monotonic()
        watcher.join(120)
    finally:
        done.set()
    if not ok_at:
        raise RuntimeError(f"never saw the rule of {did} OK")
    return shown - ok_at[0]


def rucio_requests(lake: Lake, call: Any) -> int:
    """Rucio requests a call costs, from the lake's Rucio access log."""
    log = lake.paths.log("rucio-access")
    before = log.read_text().count("\n")
    call()
    time.sleep(1.0)
    return log.read_text().count("\n") - before


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 3), "p95": round(p95, 3), "max": round(ordered[-1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", default="/tmp/dlaas-events-bench")
    parser.add_argument("--transfers", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="leave the lake running")
    args = parser.parse_args()

    state = Path(args.state_dir)
    ports = None if (state / "lake.json").exists() else Ports(*free_ports(4))
    lake = Lake(state, events=True, ports=ports)
    print("starting the lake with its broker ...", flush=True)
    lake.up(timeout=300)
    jupyter = Jupyter(lake, state.parent / f"{state.name}-jupyter")
    try:
        print(f"uploading {2 * args.transfers} datasets, registering {WATCHED} more ...", flush=True)
        fresh = new_datasets(lake, 2 * args.transfers, "bench-ev")
        watched = empty_datasets(lake, WATCHED, "bench-watch")

        events = EventReader(jupyter)
        events.start()
        if not events.live.wait(30):
            raise RuntimeError("the event stream never became live")
        with_events = [one_transfer(jupyter, did, events) for did in fresh[: args.transfers]]
        polling = [one_transfer(jupyter, did, None) for did in fresh[args.transfers :]]

        since = jupyter.call("GET", "changes")["since"]
        cost = {
            "changes": rucio_requests(lake, lambda: jupyter.call("GET", "changes", params={"since": since})),
            "availability_100": rucio_requests(
                lake, lambda: jupyter.call("POST", "availability", json={"dids": watched})
            ),
            "availability_1": rucio_requests(
                lake, lambda: jupyter.call("POST", "availability", json={"dids": watched[:1]})
            ),
        }
        per_minute = {
            "full poll (every DID every 30 s, before)": 60 / POLL_SECONDS * cost["availability_100"],
            "change-only poll, no events": 60 / POLL_SECONDS * cost["changes"]
            + 60 / FULL_CHECK_SECONDS * cost["availability_100"],
            "with events (no event)": 60 / LIVE_POLL_SECONDS * cost["changes"]
            + 60 / LIVE_FULL_CHECK_SECONDS * cost["availability_100"],
            "with events, per event of a watched DID": cost["availability_1"],
        }
        result = {
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "transfers": args.transfers,
            "rule_ok_to_available_seconds": {"events": summary(with_events), "polling": summary(polling)},
            "raw_seconds": {"events": with_events, "polling": polling},
            "rucio_requests_per_call": cost,
            "rucio_requests_per_minute_100_dids": {k: round(v, 1) for k, v in per_minute.items()},
        }
    finally:
        jupyter.close()
        if not args.keep:
            lake.down()
    print(json.dumps(result, indent=2))
    out = REPO / "benchmarks" / "results" / f"events-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
