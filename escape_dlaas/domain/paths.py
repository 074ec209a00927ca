"""Where a DID's files are on the notebook's disk: PFNs of the notebook-local RSE mapped into its mount.

On a site without a notebook-local RSE (download mode) the paths are those of the
download cache. Mapping is pure string work; a path outside the mount is never given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..config import NotebookLocalConfig
from ..errors import Refused
from .availability import AVAILABLE, file_state
from .did import DID, row_key
from .download_jobs import DownloadManager
from .session import RucioSession


async def file_replicas(session: RucioSession, files: list[dict[str, Any]], did: DID) -> list[dict[str, Any]]:
    """The replicas of ``files`` (rows with scope and name) in every state, with ``file://`` PFNs
    when the site has a notebook-local RSE (those are the ones :func:`local_path` maps)."""
    schemes = ["file"] if session.config.notebook_local else None
    return await session.rucio(
        lambda c: list(
            c.list_replicas(
                [{"scope": f["scope"], "name": f["name"]} for f in files],
                schemes=schemes,
                all_states=True,
                ignore_availability=True,
            )
        ),
        what=f"list the replicas of {did}",
    )


def local_path(local: NotebookLocalConfig | None, replica: Mapping[str, Any]) -> str | None:
    """Map the notebook RSE's PFN of a file to the path the notebook can open."""
    if local is None:
        return None
    for pfn, info in (replica.get("pfns") or {}).items():
        if info.get("rse") != local.rse:
            continue
        path = unquote(urlparse(pfn).path)
        prefix = local.pfn_prefix
        if prefix is None:
            prefix = str(local.mount_path)
        prefix = "/" + prefix.strip("/")
        if path != prefix and not path.startswith(prefix + "/"):
            continue
        # Pure string normalisation: no file system access on the event loop.
        mount = os.path.normpath(local.mount_path)
        candidate = os.path.normpath(os.path.join(mount, path[len(prefix) :].lstrip("/")))
        if not candidate.startswith(mount + os.sep):
            continue  # never hand out a path outside the mount ('..' in a PFN)
        return candidate
    return None


async def local_paths(session: RucioSession, did: DID, downloads: DownloadManager | None) -> dict[str, Any]:
    """``paths`` (file DID -> local path), ``missing`` file DIDs and the common ``directory``."""
    local = session.config.notebook_local
    if local is None:
        job = downloads.job(str(did)) if downloads else None
        if job is None:
            raise Refused(
                f"this site has no notebook-local storage; download {did} first",
                reason="no_notebook_storage",
            )
        paths = await session.blocking(job.local_paths, service="the download cache")
        missing = sorted(set(job.file_dids.values()) - set(paths))
        return {"did": str(did), "paths": paths, "missing": missing, "directory": str(job.directory)}
    files = await session.rucio(lambda c: list(c.list_files(did.scope, did.name)), what=f"list the files of {did}")
    replicas = await file_replicas(session, files, did) if files else []
    paths = {}
    missing = []
    for replica in replicas:
        key = row_key(replica)
        here = file_state(replica.get("states") or {}, local.rse) == AVAILABLE
        path = local_path(local, replica) if here else None
        if path:
            paths[key] = path
        else:
            missing.append(key)
    return {
        "did": str(did),
        "paths": paths,
        "missing": sorted(missing),
        "directory": common_directory(list(paths.values())),
    }


def common_directory(paths: list[str]) -> str | None:
    """The folder holding all ``paths`` (a single file's own folder)."""
    if not paths:
        return None
    common = os.path.commonpath(paths)
    return common if len(paths) > 1 else str(Path(common).parent)
