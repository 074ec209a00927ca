"""The download cache's jobs: one per DID, run on their own small pool, progress read from disk.

Used by download mode (:mod:`.downloads`) on sites without a notebook-local RSE. Progress
is measured from the bytes present in the cache against the sizes Rucio lists, so it needs
no callbacks from the download client. Jobs run on their own small pool: a long download
never takes a worker that searches and status polls need. Nothing here talks to Rucio.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DLaaSError

RUNNING, DONE, FAILED = "RUNNING", "DONE", "FAILED"
log = logging.getLogger("escape_dlaas.downloads")


@dataclass
class DownloadJob:
    did: str
    directory: Path
    files: Mapping[str, int]  # relative path in the directory -> expected bytes
    file_dids: Mapping[str, str] = field(default_factory=dict)  # relative path -> file DID
    state: str = RUNNING
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    def local_paths(self) -> dict[str, str]:
        """File DID -> path, for the files that are complete in the cache."""
        return {
            self.file_dids.get(rel, rel): str(self.directory / rel)
            for rel, size in self.files.items()
            if _complete(self.directory / rel, size)
        }

    def progress(self) -> dict[str, Any]:
        done_files = done_bytes = 0
        for relative, size in self.files.items():
            path = self.directory / relative
            try:
                present = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
            except OSError:
                present = 0
            if present == size:
                done_files += 1
            done_bytes += min(present, size)
        return {
            "did": self.did,
            "state": self.state,
            "error": self.error,
            "directory": str(self.directory),
            "files": {"total": len(self.files), "done": done_files},
            "bytes": {"total": sum(self.files.values()), "done": done_bytes},
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class DownloadManager:
    """Download jobs of one instance, at most ``workers`` at a time."""

    def __init__(self, cache_dir: Path, workers: int = 2):
        self.cache_dir = cache_dir
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="escape-dlaas-download")
        self._jobs: dict[str, DownloadJob] = {}
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def job(self, did: str) -> DownloadJob | None:
        return self._jobs.get(did)

    def jobs(self) -> list[DownloadJob]:
        return list(self._jobs.values())

    def start(
        self,
        did: str,
        subdir: str,
        files: Mapping[str, tuple[str, int]],
        download: Callable[[Path], None],
    ) -> tuple[DownloadJob, bool]:
        """Start (or return the running/finished) job for ``did``; the bool says if it was started now.

        ``files`` maps paths relative to ``cache_dir/subdir`` to (file DID, expected size).
        """
        with self._lock:
            existing = self._jobs.get(did)
            if existing is not None and existing.state in (RUNNING, DONE):
                return existing, False
            directory = self.cache_dir / subdir
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            job = DownloadJob(
                did=did,
                directory=directory,
                files={rel: size for rel, (_, size) in files.items()},
                file_dids={rel: file_did for rel, (file_did, _) in files.items()},
            )
            self._jobs[did] = job
            self._futures[did] = self._pool.submit(self._run, job, download)
            return job, True

    @staticmethod
    def _run(job: DownloadJob, download: Callable[[Path], None]) -> None:
        try:
            download(job.directory)
            missing = [rel for rel, size in job.files.items() if not _complete(job.directory / rel, size)]
            if missing:
                job.state, job.error = FAILED, f"{len(missing)} file(s) did not arrive, e.g. {missing[0]}"
            else:
                job.state = DONE
        except DLaaSError as error:
            job.state, job.error = FAILED, error.message
        except Exception as error:  # the download client raises many kinds; explain, never crash the pool
            log.warning("download of %s failed: %s", job.did, type(error).__name__)
            job.state, job.error = FAILED, f"the download failed: {type(error).__name__}: {error}"
        finally:
            job.finished_at = time.time()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _complete(path: Path, size: int) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size == size
    except OSError:
        return False
