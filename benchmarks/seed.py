"""Seed a local lake with the benchmark catalogue (``catalogue.py``), as Rucio root, over REST.

Bulk registration only, never uploads: ``add_dids`` (datasets), ``add_files_to_datasets`` with an
RSE (registers the file DIDs and their replicas with size and adler32, and attaches them, in one
call per 1,000 files), ``set_dids_metadata_bulk`` (JSON metadata) and ``add_replicas`` (the
NOTEBOOK-LOCAL replicas of the availability benchmark). Idempotent and resumable: finished steps
are recorded in ``STATE_FILE`` and skipped, and every step tolerates entries that already exist.

Run by ``run.py`` in a child process whose ``RUCIO_CONFIG`` is the lake's ``rucio.cfg`` (its
``[client]`` section is root's userpass identity)::

    RUCIO_CONFIG=DIR/rucio/etc/rucio.cfg python benchmarks/seed.py catalogue DIR/bench/seed-state.json
    RUCIO_CONFIG=... python benchmarks/seed.py mkavail TAG COUNT RSE_DIR [FILES]   # real-byte datasets, prints JSON
    RUCIO_CONFIG=... python benchmarks/seed.py big DIR/bench/seed-big-state.json   # the 80,000-file dataset
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import catalogue as cat

ARCHIVE_RSE = "ESCAPE-SAFE"
LOCAL_RSE = "NOTEBOOK-LOCAL"
WATCHER = "alice"  # the account the extension acts as in the benchmark
DATASETS_PER_ATTACH = 10  # 10 x 100 files = 1,000 files per request
META_CHUNK = 500
REPLICA_CHUNK = 1000
THREADS = 3

_local = threading.local()


def client() -> Any:
    """One rucio-clients Client per thread (root, from RUCIO_CONFIG)."""
    if getattr(_local, "client", None) is None:
        from rucio.client import Client

        _local.client = Client()
    return _local.client


class Progress:
    """Finished step names in a JSON file, written after every step (resume after a crash)."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        if data.get("version") != cat.VERSION:
            data = {"version": cat.VERSION, "done": [], "complete": False}
        self.data = data
        self.done = set(data["done"])

    def mark(self, step: str) -> None:
        with self.lock:
            self.done.add(step)
            self.data["done"] = sorted(self.done)
            self._write()

    def finish(self, seconds: float) -> None:
        self.data.update(complete=True, seed_seconds=round(seconds, 1), seeded_at=time.time())
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


def _exists_ok(call: Callable[[], Any]) -> None:
    from rucio.common.exception import DataIdentifierAlreadyExists, Duplicate

    with contextlib.suppress(Duplicate, DataIdentifierAlreadyExists):
        call()


def step_scope() -> None:
    _exists_ok(lambda: client().add_scope("root", cat.SCOPE))


def step_datasets(start: int, stop: int) -> None:
    from rucio.common.exception import DataIdentifierAlreadyExists

    wanted = [cat.dataset_name(d) for d in range(start, stop)]
    try:
        client().add_dids([{"scope": cat.SCOPE, "name": n, "type": "DATASET"} for n in wanted])
    except DataIdentifierAlreadyExists:
        # a previous run stopped half-way: add only what is missing
        have = set(client().list_dids(cat.SCOPE, [{"name": "SRV_obs_*"}], did_type="dataset"))
        missing = [n for n in wanted if n not in have]
        if missing:
            client().add_dids([{"scope": cat.SCOPE, "name": n, "type": "DATASET"} for n in missing])


def step_files(first_dataset: int) -> None:
    attachments = []
    for d in range(first_dataset, min(first_dataset + DATASETS_PER_ATTACH, cat.N_DATASETS)):
        files = [
            {
                "scope": cat.SCOPE,
                "name": cat.file_name(d, f),
                "bytes": cat.file_bytes(d, f),
                "adler32": cat.fake_adler32(d, f),
            }
            for f in range(cat.FILES_PER_DATASET)
        ]
        attachments.append({"scope": cat.SCOPE, "name": cat.dataset_name(d), "rse": ARCHIVE_RSE, "dids": files})
    # ignore_duplicate: a re-run attaches nothing twice; existing replicas are skipped by Rucio
    client().add_files_to_datasets(attachments, ignore_duplicate=True)


def step_meta(entries: list[dict[str, Any]]) -> None:
    client().set_dids_metadata_bulk(entries)


def step_local_replicas(entries: list[dict[str, Any]]) -> None:
    client().add_replicas(LOCAL_RSE, entries)


def step_watcher_quota() -> None:
    # alice's rules below pin ~13 GB of catalogue bytes on NOTEBOOK-LOCAL (this lake only)
    client().set_local_account_limit(WATCHER, LOCAL_RSE, -1)


def step_rules(datasets: list[int]) -> None:
    """alice's rules towards the notebook, as the extension makes them (one per dataset).

    The replicas are already there (AVAILABLE, or COPYING as while a transfer runs), so Rucio
    creates OK or REPLICATING locks and queues no transfer: nothing for the daemons to churn on.
    """
    from rucio.common.exception import DuplicateRule

    for d in datasets:
        with contextlib.suppress(DuplicateRule):
            client().add_replication_rule(
                [{"scope": cat.SCOPE, "name": cat.dataset_name(d)}],
                copies=1,
                rse_expression=LOCAL_RSE,
                lifetime=30 * 86400,
                grouping="DATASET",
                account=WATCHER,
                comment="escape-dlaas benchmark: watched dataset",
                asynchronous=False,
            )


def plan() -> list[tuple[str, Callable[[], None]]]:
    steps: list[tuple[str, Callable[[], None]]] = []
    for start in range(0, cat.N_DATASETS, 500):
        steps.append((f"datasets:{start}", lambda s=start: step_datasets(s, min(s + 500, cat.N_DATASETS))))
    for first in range(0, cat.N_DATASETS, DATASETS_PER_ATTACH):
        steps.append((f"files:{first}", lambda f=first: step_files(f)))
    ds_meta = [
        {"scope": cat.SCOPE, "name": cat.dataset_name(d), "meta": cat.dataset_meta(d)} for d in range(cat.N_DATASETS)
    ]
    file_meta = [
        {"scope": cat.SCOPE, "name": cat.file_name(d, f), "meta": cat.file_meta(d, f)}
        for d in range(cat.FILE_META_DATASETS)
        for f in range(cat.FILES_PER_DATASET)
    ]
    for kind, entries in (("dsmeta", ds_meta), ("filemeta", file_meta)):
        for start in range(0, len(entries), META_CHUNK):
            chunk = entries[start : start + META_CHUNK]
            steps.append((f"{kind}:{start}", lambda c=chunk: step_meta(c)))
    local = []
    for d in [*cat.AVAILABLE_DATASETS, *cat.REPLICATING_DATASETS]:
        state = "A" if d in cat.AVAILABLE_DATASETS else "C"
        for f in range(cat.FILES_PER_DATASET):
            local.append(
                {
                    "scope": cat.SCOPE,
                    "name": cat.file_name(d, f),
                    "bytes": cat.file_bytes(d, f),
                    "adler32": cat.fake_adler32(d, f),
                    "state": state,
                }
            )
    for start in range(0, len(local), REPLICA_CHUNK):
        chunk = local[start : start + REPLICA_CHUNK]
        steps.append((f"local:{start}", lambda c=chunk: step_local_replicas(c)))
    steps.append(("quota:alice", step_watcher_quota))
    watched = [*cat.AVAILABLE_DATASETS, *cat.REPLICATING_DATASETS]
    for start in range(0, len(watched), 11):
        steps.append((f"rules:{start}", lambda c=watched[start : start + 11]: step_rules(c)))
    return steps


def seed_catalogue(state_file: Path) -> dict[str, Any]:
    progress = Progress(state_file)
    steps = [(name, run) for name, run in plan() if name not in progress.done]
    if not steps:
        return {"seeded": False, "seconds": 0.0, "previous_seed_seconds": progress.data.get("seed_seconds")}
    started = time.monotonic()
    step_scope()
    # Datasets before their files; metadata and notebook replicas need the files; rules the replicas.
    order = (("datasets",), ("files",), ("dsmeta", "filemeta", "local", "quota"), ("rules",))
    phases = [[s for s in steps if s[0].split(":")[0] in kinds] for kinds in order]
    total = len(steps)
    done = 0
    for phase in phases:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [(name, pool.submit(run)) for name, run in phase]
            for name, future in futures:
                future.result()
                progress.mark(name)
                done += 1
                if done % 20 == 0 or done == total:
                    print(f"  seeding: {done}/{total} steps, {time.monotonic() - started:.0f} s", flush=True)
    seconds = time.monotonic() - started + float(progress.data.get("seed_seconds") or 0)
    progress.finish(seconds)
    return {"seeded": True, "seconds": round(seconds, 1), "steps": total}


def hash_path(scope: str, name: str) -> str:
    """Rucio's deterministic ``hash`` lfn2pfn layout (scope/ab/cd/name)."""
    digest = hashlib.md5(f"{scope}:{name}".encode()).hexdigest()  # Rucio's layout, not security
    return f"{scope}/{digest[0:2]}/{digest[2:4]}/{name}"


def seed_big_dataset(state_file: Path) -> dict[str, Any]:
    """The big dataset (``catalogue.BIG_DATASET``): its files registered on the archive RSE, 1,000 per request."""
    progress = Progress(state_file)
    started = time.monotonic()
    _exists_ok(lambda: client().add_dataset(cat.SCOPE, cat.BIG_DATASET))
    chunks = [
        (f"big:{start}", range(start, min(start + REPLICA_CHUNK, cat.BIG_FILES)))
        for start in range(0, cat.BIG_FILES, REPLICA_CHUNK)
    ]
    todo = [(name, numbers) for name, numbers in chunks if name not in progress.done]

    def attach(numbers: range) -> None:
        files = [
            {"scope": cat.SCOPE, "name": cat.big_file_name(n), "bytes": 1_000_000 + n, "adler32": "0badf00d"}
            for n in numbers
        ]
        client().add_files_to_datasets(
            [{"scope": cat.SCOPE, "name": cat.BIG_DATASET, "rse": ARCHIVE_RSE, "dids": files}], ignore_duplicate=True
        )

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [(name, pool.submit(attach, numbers)) for name, numbers in todo]
        for name, future in futures:
            future.result()
            progress.mark(name)
    return {"seeded": bool(todo), "seconds": round(time.monotonic() - started, 1), "requests": len(todo)}


def make_available_datasets(
    tag: str, count: int, archive_dir: Path, files: int = 4, size: int = 256 * 1024
) -> list[str]:
    """Small datasets with REAL bytes on the archive RSE, for make-available runs (one set per run)."""
    attachments = []
    names = []
    for k in range(count):
        dataset = f"BENCH_mkavail_{tag}_{k}"
        names.append(f"{cat.SCOPE}:{dataset}")
        records = []
        for i in range(files):
            name = f"{dataset}_{i}.dat"
            data = hashlib.shake_256(name.encode()).digest(size)
            path = archive_dir / hash_path(cat.SCOPE, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            records.append(
                {
                    "scope": cat.SCOPE,
                    "name": name,
                    "bytes": len(data),
                    "adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
                    "md5": hashlib.md5(data).hexdigest(),
                }
            )
        _exists_ok(lambda n=dataset: client().add_dataset(cat.SCOPE, n))
        attachments.append({"scope": cat.SCOPE, "name": dataset, "rse": ARCHIVE_RSE, "dids": records})
    client().add_files_to_datasets(attachments, ignore_duplicate=True)
    return names


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "catalogue":
        result = seed_catalogue(Path(argv[1]))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if len(argv) >= 4 and argv[0] == "mkavail":
        # the responsiveness run's default (4 files of 256 KiB), or FILES of 64 KiB
        files, size = (int(argv[4]), 64 * 1024) if len(argv) >= 5 else (4, 256 * 1024)
        names = make_available_datasets(argv[1], int(argv[2]), Path(argv[3]), files=files, size=size)
        print("RESULT " + json.dumps({"dids": names}), flush=True)
        return 0
    if len(argv) >= 2 and argv[0] == "big":
        print("RESULT " + json.dumps(seed_big_dataset(Path(argv[1]))), flush=True)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
