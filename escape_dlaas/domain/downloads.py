"""Download mode: fetch a DID's files into the server's cache with rucio-clients' DownloadClient.

For sites without a notebook-local RSE. Rucio checks embargoes on rules only, so a
download checks the DID's metadata first. The Rucio token goes to Rucio only, never to
a storage endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import PermissionDenied, Refused
from ..rucio.client import TokenClient, ensure_client_config, prime_rse_info
from ..rucio.errors import translate_rucio_error
from .did import DID, row_key
from .download_jobs import FAILED, DownloadManager
from .embargo import embargo_in_force, today_utc
from .paths import file_replicas
from .session import RucioSession


def embargo_refusal(did: str, metadata: Mapping[str, Any], today: date | None = None) -> PermissionDenied | None:
    """Rucio checks embargoes on rules; a download bypasses rules, so we check the metadata here."""
    embargo = embargo_in_force([(did, metadata)], today or today_utc())
    if embargo is None:
        return None
    if embargo.until is None:
        return PermissionDenied(f"{did} carries an embargo ({embargo.value}) that cannot be read; not downloading it")
    return PermissionDenied(
        f"{did} is embargoed until {embargo.until.isoformat()}; it cannot be downloaded before then"
    )


async def start_download(session: RucioSession, downloads: DownloadManager | None, did: DID) -> dict[str, Any]:
    """Fetch a DID's files into the cache in the background: ``{"download": progress, "started": bool}``."""
    if downloads is None:
        raise Refused(
            "this site has no download cache (download_cache is not configured); use make available instead",
            reason="no_download_cache",
        )
    existing = downloads.job(str(did))
    if existing is not None and existing.state != FAILED:
        return {"download": existing.progress(), "started": False}
    meta = await session.rucio(lambda c: c.get_metadata(did.scope, did.name, plugin="ALL"), what=f"read {did}")
    refusal = embargo_refusal(str(did), meta)
    if refusal is not None:
        raise refusal
    files = await session.rucio(lambda c: list(c.list_files(did.scope, did.name)), what=f"list the files of {did}")
    is_file = str(meta.get("did_type", "")).upper() == "FILE"
    # Where DownloadClient puts files under its base dir: <scope>/<file> for a file DID,
    # <collection name>/<file> for a collection.
    folder = did.scope if is_file else did.name.lstrip("/").split("/")[-1]
    expected = {f"{folder}/{f['name'].split('/')[-1]}": (row_key(f), int(f.get("bytes") or 0)) for f in files}
    replicas = await file_replicas(session, files, did) if files else []
    source_rses = sorted(
        {rse for r in replicas for rse, state in (r.get("states") or {}).items() if state == "AVAILABLE"}
    )
    token, account = await session.rucio_token()
    config, log = session.config, session.log

    def download(base_dir: Path) -> None:
        from rucio.client.downloadclient import DownloadClient

        ensure_client_config(downloads.cache_dir / ".rucio-client")
        client = TokenClient(config)
        client.set_credentials(token, account)
        prime_rse_info(client, source_rses)
        downloader = DownloadClient(client=client, logger=log, tracing=False)
        downloader.auth_token = None  # never hand the Rucio token to a storage endpoint
        try:
            downloader.download_dids([{"did": str(did), "base_dir": str(base_dir)}], num_threads=2)
        except Exception as error:
            raise translate_rucio_error(error, f"download {did}", token) from None

    job, started = downloads.start(str(did), did.scope, expected, download)
    return {"download": job.progress(), "started": started}


async def download_progress(
    session: RucioSession, downloads: DownloadManager | None, did: DID | None
) -> list[dict[str, Any]]:
    """Progress of one DID's download, or of all (an empty list on a site without a download cache)."""
    if downloads is None:
        return []
    jobs = downloads.jobs() if did is None else [j for j in [downloads.job(str(did))] if j]
    # progress() looks at the files in the cache: file system work, off the event loop
    return await session.blocking(lambda: [j.progress() for j in jobs], service="the download cache")
