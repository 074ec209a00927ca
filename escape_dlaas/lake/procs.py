"""Start, track and stop the lake's processes.

Every component runs in its own session (process group). Its leader's PID, process
group and kernel start time are recorded in ``DIR/run/<component>.json``: the start
time guards against a recycled PID, and stopping signals the whole group, so gunicorn
workers and other children never outlive ``down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    component: str
    pid: int
    pgid: int
    start_ticks: int
    command: tuple[str, ...]
    started_at: float
    fingerprint: str = ""  # the configuration it was started with; a change restarts it

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ProcessRecord:
        data = json.loads(text)
        return cls(
            component=data["component"],
            pid=int(data["pid"]),
            pgid=int(data["pgid"]),
            start_ticks=int(data["start_ticks"]),
            command=tuple(data["command"]),
            started_at=float(data["started_at"]),
            fingerprint=str(data.get("fingerprint", "")),
        )


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return [raw[: raw.index(" ")], "comm", *raw[raw.rindex(")") + 2 :].split()]


def process_start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[21]) if fields else None


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    """True for a live (not zombie) process, and the same one when start_ticks is given."""
    fields = _stat_fields(pid)
    if not fields or fields[2] in ("Z", "X"):
        _reap(pid)
        return False
    return start_ticks is None or int(fields[21]) == start_ticks


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[2] not in ("Z", "X") and int(fields[4]) == pgid:
                members.append(int(entry.name))
    return members


def remnants(record: ProcessRecord) -> list[int]:
    """The live members of the record's process group started no earlier than its leader.

    A group outlives a killed leader while its children (gunicorn workers) run. The start
    time keeps an unrelated process that later took the same number out of the list.
    """
    members = []
    for pid in group_members(record.pgid):
        ticks = process_start_ticks(pid)
        if ticks is not None and ticks >= record.start_ticks:
            members.append(pid)
    return members


def _reap(pid: int) -> None:
    # Our own children that exited stay zombies until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def spawn(
    component: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path | None = None,
    fingerprint: str = "",
) -> ProcessRecord:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {component}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    ticks = process_start_ticks(process.pid) or 0
    return ProcessRecord(
        component=component,
        pid=process.pid,
        pgid=process.pid,
        start_ticks=ticks,
        command=tuple(argv),
        started_at=time.time(),
        fingerprint=fingerprint,
    )


def record_for_pid(component: str, pid: int, command: Sequence[str], fingerprint: str = "") -> ProcessRecord | None:
    """A record for a process we did not spawn directly (the PostgreSQL postmaster)."""
    fields = _stat_fields(pid)
    if not fields:
        return None
    return ProcessRecord(
        component=component,
        pid=pid,
        pgid=int(fields[4]),
        start_ticks=int(fields[21]),
        command=tuple(command),
        started_at=time.time(),
        fingerprint=fingerprint,
    )


def terminate(record: ProcessRecord, timeout: float = 15.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left of it.

    With the leader already dead, its remaining group members are killed at once.
    """
    alive = process_alive(record.pid, record.start_ticks)
    if alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (
        process_alive(record.pid, record.start_ticks) or (alive and remnants(record))
    ):
        time.sleep(0.1)
    if alive or remnants(record):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pgid, signal.SIGKILL)
        for _ in range(50):
            if not remnants(record):
                break
            time.sleep(0.1)
    _reap(record.pid)


def save(path: Path, record: ProcessRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(record.to_json(), encoding="utf-8")
    os.replace(tmp, path)


def load(path: Path) -> ProcessRecord | None:
    try:
        return ProcessRecord.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None
