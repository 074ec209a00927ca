"""Upload jobs: one per upload, their file work on a small pool of their own, progress counted as bytes go.

The same pattern as the download cache's jobs (:mod:`.download_jobs`): a job object that
says its progress, a pool of its own so that a long upload never takes a worker that
searches and status polls need. An upload also checksums and copies the files itself, so
its progress is counted while the bytes are read, and it can be cancelled between two
chunks. Nothing here talks to Rucio.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import NotFound
from ..resilience import spawn_detached
from .download_jobs import DONE, FAILED, RUNNING

CANCELLED = "CANCELLED"
FINISHED_JOBS_KEPT = 50  # finished uploads whose outcome can still be asked for
T = TypeVar("T")

# What happens to each file (``FileWork.action``) and where it is (``FileWork.state``).
UPLOAD, ATTACH = "upload", "attach"
WAITING, CHECKSUMMING, COPYING, COPIED, REGISTERED, ATTACHED, REMOVED = (
    "WAITING",
    "CHECKSUMMING",
    "COPYING",
    "COPIED",
    "REGISTERED",
    "ATTACHED",
    "REMOVED",
)


class UploadCancelled(Exception):
    """The user cancelled the upload: raised between two chunks of a file."""


@dataclass
class FileWork:
    """One local file of an upload."""

    path: str  # relative to Jupyter's root (as the browser sent it)
    did: str  # scope:name it gets (or the existing DID it is attached as)
    bytes: int
    action: str = UPLOAD
    adler32: str | None = None
    done_bytes: int = 0
    state: str = WAITING

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "did": self.did,
            "bytes": self.bytes,
            "adler32": self.adler32,
            "action": self.action,
            "done_bytes": self.done_bytes,
            "state": self.state,
        }


@dataclass
class UploadJob:
    """An upload's state; the outcome (``dataset``, ``rse``, ``rule``) is filled in as it goes."""

    id: str
    instance: str
    dataset: str
    rse: str
    target: str
    files: list[FileWork]
    state: str = RUNNING
    phase: str = "copying"  # copying -> registering -> finished
    error: str | None = None
    reason: str | None = None
    rule: dict[str, Any] | None = None
    note: str | None = None
    # What Rucio holds although the upload did not finish (said, never silently left).
    left_behind: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        if self.cancel_requested.is_set():
            raise UploadCancelled

    def progress(self) -> dict[str, Any]:
        uploading = [f for f in self.files if f.action == UPLOAD]
        done_states = (COPIED, REGISTERED)
        return {
            "id": self.id,
            "instance": self.instance,
            "state": self.state,
            "phase": self.phase,
            "dataset": self.dataset,
            "rse": self.rse,
            "target": self.target,
            "error": self.error,
            "reason": self.reason,
            "rule": self.rule,
            "note": self.note,
            "left_behind": list(self.left_behind),
            "files": {
                "total": len(uploading),
                "done": sum(1 for f in uploading if f.state in done_states),
                "attached": sum(1 for f in self.files if f.action == ATTACH),
            },
            "bytes": {"total": sum(f.bytes for f in uploading), "done": sum(f.done_bytes for f in uploading)},
            "items": [f.to_json() for f in self.files],
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class UploadJobs:
    """The uploads of one instance; at most ``workers`` files are read or written at a time."""

    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="escape-dlaas-upload")
        self._jobs: dict[str, UploadJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def new_id(self) -> str:
        with self._lock:
            return f"{int(time.time())}-{next(self._ids)}"

    async def blocking(self, func: Callable[[], T]) -> T:
        """Run file work (checksums, copies) on the uploads' own pool: no deadline, never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, func)

    def start(self, job: UploadJob, run: Callable[[UploadJob], Awaitable[None]]) -> None:
        """Run ``run(job)`` in the background, outside the request that started it."""
        self._forget_old()
        self._jobs[job.id] = job
        self._tasks[job.id] = spawn_detached(self._run(job, run))

    async def _run(self, job: UploadJob, run: Callable[[UploadJob], Awaitable[None]]) -> None:
        try:
            await run(job)
        finally:
            job.finished_at = time.time()
            self._tasks.pop(job.id, None)

    async def wait(self, upload_id: str) -> UploadJob:
        """The job once it has finished (for the notebook API, which waits)."""
        job = self.job(upload_id)
        task = self._tasks.get(upload_id)
        if task is not None:
            await asyncio.shield(task)
        return job

    def job(self, upload_id: str) -> UploadJob:
        job = self._jobs.get(upload_id)
        if job is None:
            raise NotFound(f"no upload {str(upload_id)[:40]!r} is known to this server", reason="no_upload")
        return job

    def jobs(self) -> list[UploadJob]:
        return list(self._jobs.values())

    def cancel(self, upload_id: str) -> UploadJob:
        job = self.job(upload_id)
        job.cancel_requested.set()
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in (DONE, FAILED, CANCELLED)]
        for job in sorted(finished, key=lambda j: j.started_at)[: max(0, len(finished) - FINISHED_JOBS_KEPT)]:
            self._jobs.pop(job.id, None)

    def close(self) -> None:
        for job in self._jobs.values():
            job.cancel_requested.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
