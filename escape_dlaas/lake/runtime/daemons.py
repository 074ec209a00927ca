"""Rucio's judge and conveyor daemons, looping in one process for the local lake.

Each daemon runs in its own thread in its normal (not ``--run-once``) mode, with short
sleep times so that a one-file rule is satisfied within seconds: judge evaluator,
repairer, cleaner (expired rules) and injector; conveyor submitter, poller and finisher
using the local-copy stand-in for FTS (``localcopy.LocalCopyTransfertool``); and a greedy
reaper that deletes replicas no rule protects any more.
A small thread touches ``DIR/run/daemons.alive`` so the orchestrator can see the loop live.
SIGTERM/SIGINT stop every daemon gracefully.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lake_runtime
import localcopy

LOG = lake_runtime.setup_logging("daemons")
# Each daemon logs every iteration at INFO (once a second here): keep warnings and our own lines.
logging.getLogger().setLevel(logging.WARNING)
for _ours in ("daemons", "localcopy"):
    logging.getLogger(_ours).setLevel(logging.INFO)
STOP = threading.Event()


def main() -> None:
    state_dir = lake_runtime.state_dir()
    alive_file = state_dir / "run" / "daemons.alive"
    localcopy.register()

    from rucio.daemons.abacus import collection_replica
    from rucio.daemons.conveyor import finisher, poller, submitter
    from rucio.daemons.judge import cleaner, evaluator, injector, repairer
    from rucio.daemons.reaper import reaper

    daemons: list[tuple[str, Callable[..., Any], dict[str, Any], Callable[..., Any]]] = [
        (
            "conveyor-submitter",
            submitter.submitter,
            {"sleep_time": 1, "partition_wait_time": 0, "transfertools": [localcopy.NAME], "bulk": 100},
            submitter.stop,
        ),
        (
            "conveyor-poller",
            poller.poller,
            {"sleep_time": 1, "partition_wait_time": 0, "older_than": 0, "transfertool": localcopy.NAME},
            poller.stop,
        ),
        ("conveyor-finisher", finisher.finisher, {"sleep_time": 1, "partition_wait_time": 0}, finisher.stop),
        ("judge-evaluator", evaluator.re_evaluator, {"sleep_time": 5}, evaluator.stop),
        ("judge-repairer", repairer.rule_repairer, {"sleep_time": 30}, repairer.stop),
        ("judge-cleaner", cleaner.rule_cleaner, {"sleep_time": 10}, cleaner.stop),
        ("judge-injector", injector.rule_injector, {"sleep_time": 5}, injector.stop),
        # Keeps dataset replicas' counts (files and bytes per RSE) current, as in production.
        (
            "abacus-collection-replica",
            collection_replica.collection_replica_update,
            {"sleep_time": 2},
            collection_replica.stop,
        ),
        # Greedy: replicas no rule protects any more (released, expired) are deleted from disk at once.
        (
            "reaper",
            reaper.reaper,
            {"rses": [], "include_rses": None, "exclude_rses": None, "greedy": True, "sleep_time": 10},
            reaper.stop,
        ),
    ]

    def stop(signum: int, frame: Any) -> None:
        LOG.info("stopping the daemons (signal %s)", signum)
        STOP.set()
        for _, _, _, stop_daemon in daemons:
            stop_daemon()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    threads = []
    for name, target, kwargs, _ in daemons:
        thread = threading.Thread(target=_run_forever, args=(name, target, kwargs), name=name, daemon=True)
        thread.start()
        threads.append(thread)
    LOG.info("started %s", ", ".join(name for name, *_ in daemons))

    while not STOP.is_set():
        _touch(alive_file)
        STOP.wait(2)
    for thread in threads:
        thread.join(timeout=10)
    alive_file.unlink(missing_ok=True)
    LOG.info("daemons stopped")


def _run_forever(name: str, target: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    # A daemon that raises (e.g. the database restarting) is started again after a pause.
    while not STOP.is_set():
        try:
            target(once=False, **kwargs)
        except Exception:
            LOG.exception("%s stopped with an error; restarting it in 5 s", name)
        STOP.wait(5)


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{time.time():.0f}", encoding="utf-8")


if __name__ == "__main__":
    main()
