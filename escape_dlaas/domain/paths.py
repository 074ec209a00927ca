"""Where a DID's files are on the notebook's disk: PFNs of the notebook-local RSE mapped into its mount.

The paths handed out are those of the DID's browsable folder (:mod:`.dataset_folders`),
which links to the replicas under the names Rucio knows; the real replica paths come
along. On a site without a notebook-local RSE (download mode) the paths are those of the
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
from .dataset_folders import DatasetFolders, LocalFile, SyncResult, sync_folder
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


async def local_paths(
    session: RucioSession, did: DID, downloads: DownloadManager | None, root_dir: str | None = None
) -> dict[str, Any]:
    """Where to open the files of ``did``: the answer of ``GET did/paths`` (and of the Python API).

    ``paths`` maps each file DID at the notebook to the path to open: its link in the DID's
    folder under ``root_dir`` (Jupyter's root), or its replica's path when there is no such
    folder; ``replica_paths`` are the replicas' own paths; ``missing`` the file DIDs not at
    the notebook; ``directory`` the DID's folder (else the replicas' common folder);
    ``folder_problem`` says, in plain words, what kept files out of the folder.
    """
    local = session.config.notebook_local
    if local is None:
        job = downloads.job(str(did)) if downloads else None
        if job is None:
            raise Refused(
                f"this site has no notebook-local storage; download {did} first",
                reason="no_notebook_storage",
            )
        paths = await session.blocking(job.local_paths, service="the download cache")
        return {
            "did": str(did),
            "paths": paths,
            "replica_paths": dict(paths),
            "missing": sorted(set(job.file_dids.values()) - set(paths)),
            "directory": str(job.directory),
            "folder_problem": None,
        }
    files = await notebook_files(session, did)
    replica_paths = {f.did: f.path for f in files if f.path}
    missing = {f.did for f in files if not f.path}
    answer: dict[str, Any] = {
        "did": str(did),
        "paths": dict(replica_paths),
        "replica_paths": replica_paths,
        "missing": sorted(missing),
        "directory": common_directory(list(replica_paths.values())),
        "folder_problem": None,
    }
    folders = DatasetFolders.of(session.config, root_dir)
    if folders is not None and files:
        synced = await sync_folder(session, folders, did, files)
        for gone in synced.vanished:
            # Rucio still lists the replica, but its file is not there: not at the notebook for the user
            replica_paths.pop(gone, None)
            answer["paths"].pop(gone, None)
            missing.add(gone)
        answer["paths"].update(synced.linked)
        answer["missing"] = sorted(missing)
        answer["directory"] = synced.directory or common_directory(list(replica_paths.values()))
        answer["folder_problem"] = folder_problem(folders, synced)
    return answer


async def notebook_files(session: RucioSession, did: DID) -> list[LocalFile]:
    """The files of ``did`` (itself for a file), each with its replica's path when AVAILABLE at the notebook."""
    local = session.config.notebook_local
    files = await session.rucio(lambda c: list(c.list_files(did.scope, did.name)), what=f"list the files of {did}")
    replicas = await file_replicas(session, files, did) if files else []
    out = []
    for replica in replicas:
        here = file_state(replica.get("states") or {}, local.rse if local else None) == AVAILABLE
        path = local_path(local, replica) if here else None
        out.append(LocalFile(row_key(replica), str(replica["scope"]), str(replica["name"]), path))
    return out


def folder_problem(folders: DatasetFolders, synced: SyncResult) -> str | None:
    """What kept files out of the DID's folder, for a person; None when nothing did."""
    parts = []
    if synced.problem:
        parts.append(f"No folder of links: {synced.problem}; the paths are the replicas' own.")
    if synced.vanished:
        parts.append(
            f"{len(synced.vanished)} file(s) Rucio lists at the notebook are not on its storage "
            f"({', '.join(synced.vanished[:3])}{', ...' if len(synced.vanished) > 3 else ''}): "
            "make the data available again, or tell the site's data managers."
        )
    if synced.blocked and not synced.problem:
        parts.append(
            f"{len(synced.blocked)} file(s) have no link in {folders.base} (a name that cannot be a file "
            "name here, or something else already has it); their paths are the replicas' own."
        )
    return " ".join(parts) or None


def common_directory(paths: list[str]) -> str | None:
    """The folder holding all ``paths`` (a single file's own folder)."""
    if not paths:
        return None
    common = os.path.commonpath(paths)
    return common if len(paths) > 1 else str(Path(common).parent)
