"""Latency probe, run as its own process (so the load generator's threads do not skew it).

    python probe.py PORT TOKEN STOP_FILE MAX_SECONDS PATH[@INTERVAL] ...

Each path gets its own thread and keep-alive connection (a slow endpoint never delays the
probing of another): GET every INTERVAL seconds (default 0.02) until STOP_FILE exists or
MAX_SECONDS passed. Prints ``{path: [[t, latency_s, status], ...]}`` (t from the probe's start).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time


def probe(
    port: int,
    token: str,
    path: str,
    interval: float,
    stop_file: str,
    max_seconds: float,
    start: float,
    out: list[list[float]],
) -> None:
    headers = {"Authorization": f"token {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.perf_counter() - start < max_seconds and not os.path.exists(stop_file):
        sent = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            status = 0
        done = time.perf_counter()
        out.append([round(sent - start, 4), round(done - sent, 5), status])
        time.sleep(max(0.0, interval - (time.perf_counter() - done)))
    conn.close()


def main(argv: list[str]) -> int:
    port, token, stop_file, max_seconds = int(argv[0]), argv[1], argv[2], float(argv[3])
    start = time.perf_counter()
    samples: dict[str, list[list[float]]] = {}
    threads = []
    for spec in argv[4:]:
        path, _, interval = spec.partition("@")
        samples[path] = []
        thread = threading.Thread(
            target=probe,
            args=(port, token, path, float(interval or 0.02), stop_file, max_seconds, start, samples[path]),
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max_seconds + 70)
    print(json.dumps(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
