"""Upload: local files (under Jupyter's root) to the lake, into a dataset, with metadata and a rule that keeps them.

The sequence is our own, so that nothing is registered before its bytes are in place and
checked: checksum each file (adler32, as Rucio uses), copy it to the chosen RSE through
its storage protocol while checksumming again (a difference: the file changed during the
upload), then register the replicas, attach them to the dataset, set the metadata, and
create one rule on the dataset at that RSE for the lifetime. A failure or a cancel before
registration removes the copied bytes; a failure after it says what Rucio holds.

The checks before are in ``upload_checks``, the local files and their checksums in
``upload_files``, the metadata's types in ``upload_metadata``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Conflict, DLaaSError, InvalidInput, NotFound, PermissionDenied
from ..rucio.client import ensure_client_config, prime_rse_info
from .catalogue import metadata_bulk, metadata_sample
from .did import DID
from .download_jobs import DONE, FAILED
from .rules import SECONDS_PER_DAY, find_rule
from .session import RucioSession
from .upload_checks import (
    attach_choices,
    check_scope_writable,
    checked_dataset_name,
    checked_lifetime,
    choose_rse,
    dataset_state,
    taken_names,
    upload_config,
)
from .upload_files import copy_with_checksum, file_checksum, local_files
from .upload_jobs import (
    ATTACH,
    ATTACHED,
    CANCELLED,
    CHECKSUMMING,
    COPIED,
    COPYING,
    REGISTERED,
    REMOVED,
    UPLOAD,
    FileWork,
    UploadCancelled,
    UploadJob,
    UploadJobs,
)
from .upload_metadata import METADATA_TARGETS, check_metadata, metadata_key_types

log = logging.getLogger("escape_dlaas.upload")

RULE_COMMENT = "escape-dlaas: upload"
CLIENT_CONFIG_DIR = Path.home() / ".cache" / "escape-dlaas" / "rucio-client"


# -- start ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadPlan:
    scope: str
    dataset: DID
    dataset_exists: bool
    dataset_files: frozenset[str]
    target: str
    rse: str
    lifetime_seconds: int
    metadata: Mapping[str, Any]
    metadata_on: str
    account: str


async def start_upload(session: RucioSession, jobs: UploadJobs, root: str, request: Mapping[str, Any]) -> UploadJob:
    """Check the request (a 4xx for anything Rucio would refuse that can be known now), then upload in the background.

    ``request``: ``paths``, ``scope``, ``dataset``, ``target``, ``lifetime_days``, ``metadata``,
    ``metadata_on`` (dataset, files or both) and ``attach`` ({path: existing DID} for files to attach
    instead of copying: they are checked to be identical before).
    """
    config = upload_config(session)
    account = await session.account()
    scope = await check_scope_writable(session, request.get("scope"), account)
    files, _ = await jobs.blocking(lambda: local_files(root, request.get("paths"), config.max_files))
    dataset = DID(scope, checked_dataset_name(request.get("dataset")))
    lifetime = checked_lifetime(config, request.get("lifetime_days"))
    metadata_on = request.get("metadata_on") or "dataset"
    if metadata_on not in METADATA_TARGETS:
        raise InvalidInput(f"metadata_on must be one of {', '.join(METADATA_TARGETS)}", field="metadata_on")
    key_types = metadata_key_types(await metadata_sample(session))
    metadata = check_metadata(request.get("metadata"), key_types)
    attach = attach_choices(request.get("attach"), {f.relative for f in files})
    state = await dataset_state(session, dataset)

    to_upload = [f for f in files if f.relative not in attach]
    taken = await taken_names(session, scope, [f.name for f in to_upload]) if to_upload else {}
    if taken:
        names = ", ".join(f"{scope}:{n}" for n in sorted(taken)[:5])
        raise Conflict(
            f"The name(s) {names} are already taken in {scope}: Rucio never replaces a file. Attach the existing "
            "file if it is the same, or rename yours.",
            reason="name_taken",
        )
    needed = sum(f.size for f in files)
    target, rse = await choose_rse(session, config, request.get("target"), account, dataset, needed)
    plan = UploadPlan(
        scope=scope,
        dataset=dataset,
        dataset_exists=state["exists"],
        dataset_files=frozenset(state["files"]),
        target=target,
        rse=rse,
        lifetime_seconds=int(lifetime * SECONDS_PER_DAY),
        metadata=metadata,
        metadata_on=metadata_on,
        account=account,
    )
    job = UploadJob(
        id=jobs.new_id(),
        instance=session.config.name,
        dataset=str(dataset),
        rse=rse,
        target=target,
        files=[
            FileWork(
                f.relative,
                attach.get(f.relative) or f"{scope}:{f.name}",
                f.size,
                ATTACH if f.relative in attach else UPLOAD,
            )
            for f in files
        ],
    )
    paths = {f.relative: f.path for f in files}
    jobs.start(job, lambda j: _run(session, jobs, plan, paths, j))
    return job


# -- the job -------------------------------------------------------------------------------------


async def _run(
    session: RucioSession, jobs: UploadJobs, plan: UploadPlan, paths: Mapping[str, Path], job: UploadJob
) -> None:
    copied: dict[str, tuple[Any, str]] = {}  # path -> (protocol, pfn) of bytes written but not registered
    try:
        await _verify_attached(session, jobs, paths, job)
        if any(f.action == UPLOAD for f in job.files):
            await jobs.blocking(lambda: ensure_client_config(CLIENT_CONFIG_DIR))  # the storage layer reads rucio.cfg
            await session.rucio(lambda c: prime_rse_info(c, [plan.rse]), what=f"read the storage {plan.rse}")
            for work in job.files:
                if work.action == UPLOAD:
                    job.check_cancelled()
                    copied[work.path] = await _copy_one(jobs, session.config.vo, plan, paths[work.path], work, job)
        job.check_cancelled()
        job.phase = "registering"
        await _register(session, plan, job, copied)
        job.state, job.phase = DONE, "finished"
    except UploadCancelled:
        await _remove_copies(jobs, copied, job)
        job.state, job.phase = CANCELLED, "finished"
        job.error = "The upload was cancelled; nothing was registered in the lake."
    except DLaaSError as error:
        await _remove_copies(jobs, copied, job)
        job.state, job.phase, job.error, job.reason = FAILED, "finished", error.message, error.reason
    except Exception as error:  # the storage layer raises many kinds: explain, never lose the job
        log.warning("upload %s failed: %s", job.id, type(error).__name__)
        await _remove_copies(jobs, copied, job)
        job.state, job.phase, job.reason = FAILED, "finished", "upload_failed"
        job.error = f"The upload failed: {type(error).__name__}: {str(error)[:300]}"
    finally:
        if job.left_behind and job.state != DONE:
            job.error = f"{job.error} {_left_behind_words(job)}"


def _left_behind_words(job: UploadJob) -> str:
    shown = ", ".join(job.left_behind[:5]) + (" …" if len(job.left_behind) > 5 else "")
    return (
        f"Already registered in Rucio and left there: {shown}. Without a rule, Rucio may delete their "
        "replicas; upload again to the same dataset (identical files are attached) or ask the data lake's "
        "administrators to remove them."
    )


async def _verify_attached(session: RucioSession, jobs: UploadJobs, paths: Mapping[str, Path], job: UploadJob) -> None:
    """Files to attach instead of copying must be identical to the DID chosen (same size and adler32)."""
    chosen = [f for f in job.files if f.action == ATTACH]
    if not chosen:
        return
    dids = [DID(*f.did.split(":", 1)) for f in chosen]
    rows = await metadata_bulk(session, dids, plugin="DID_COLUMN")
    for work in chosen:
        work.state = CHECKSUMMING
        size, adler32 = await jobs.blocking(lambda w=work: file_checksum(paths[w.path], cancelled=job.check_cancelled))  # type: ignore[misc]
        work.adler32 = adler32
        row = rows.get(work.did)
        if row is None:
            raise NotFound(f"{work.did}, to attach instead of {work.path}, does not exist.", reason="did_not_found")
        if (int(row.get("bytes") or 0), row.get("adler32")) != (size, adler32):
            raise Conflict(
                f"{work.path} is not identical to {work.did} (size or adler32 differ); upload it instead.",
                reason="not_identical",
            )


async def _copy_one(
    jobs: UploadJobs, vo: str, plan: UploadPlan, path: Path, work: FileWork, job: UploadJob
) -> tuple[Any, str]:
    """Checksum the file, copy it to the RSE while checksumming again; the two must agree."""

    def count(done: int) -> None:
        work.done_bytes = done

    work.state = CHECKSUMMING
    before = await jobs.blocking(lambda: (file_checksum(path, cancelled=job.check_cancelled), _stamp(path)))
    (size, adler32), stamp = before
    work.adler32, work.bytes = adler32, size
    work.state = COPYING
    name = work.did.split(":", 1)[1]

    def write() -> tuple[Any, str, tuple[int, str]]:
        from rucio.rse import rsemanager

        settings = rsemanager.get_rse_info(plan.rse, vo=vo)
        protocol = rsemanager.create_protocol(settings, "write", auth_token=None)  # never the Rucio token
        pfn = next(
            iter(rsemanager.lfns2pfns(settings, [{"scope": plan.scope, "name": name}], operation="write").values())
        )
        if protocol.attributes.get("scheme") == "file":
            written = copy_with_checksum(
                path, Path(protocol.pfn2path(pfn)), on_bytes=count, cancelled=job.check_cancelled
            )
        else:  # another storage: its own client copies, progress comes per file
            protocol.connect()
            protocol.put(path.name, pfn, str(path.parent))
            stat = protocol.stat(pfn)
            written = (int(stat.get("filesize", -1)), str(stat.get("adler32", "")))
            count(size)
        return protocol, pfn, written

    protocol, pfn, written = await jobs.blocking(write)
    after = await jobs.blocking(lambda: _stamp(path))
    if written != (size, adler32) or after != stamp:
        await jobs.blocking(lambda: _delete(protocol, pfn))
        raise Conflict(
            f"{work.path} changed while it was being uploaded (adler32 {adler32} before, {written[1]} of what was "
            "copied); its copy was removed and nothing was registered. Upload it again once it is complete.",
            reason="file_changed",
        )
    work.state = COPIED
    return protocol, pfn


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _delete(protocol: Any, pfn: str) -> None:
    try:
        protocol.delete(pfn)
    except Exception as error:  # the storage may refuse; the caller says what is left
        log.warning("could not remove an unregistered upload copy: %s", type(error).__name__)


async def _remove_copies(jobs: UploadJobs, copied: Mapping[str, tuple[Any, str]], job: UploadJob) -> None:
    """Remove the bytes copied for files that were not registered."""
    for work in job.files:
        if work.path in copied and work.state == COPIED:
            protocol, pfn = copied[work.path]
            await jobs.blocking(lambda p=protocol, f=pfn: _delete(p, f))  # type: ignore[misc]
            work.state = REMOVED


async def _register(session: RucioSession, plan: UploadPlan, job: UploadJob, copied: Mapping[str, Any]) -> None:
    """Dataset, replicas, attachment, metadata, rule: each step says what it left if a later one fails."""
    dataset = plan.dataset
    uploaded = [f for f in job.files if f.action == UPLOAD]
    if uploaded:
        replicas = [
            {"scope": plan.scope, "name": f.did.split(":", 1)[1], "bytes": f.bytes, "adler32": f.adler32}
            for f in uploaded
        ]
        try:
            await session.rucio(
                lambda c: c.add_replicas(plan.rse, replicas),
                what=f"register the files at {plan.rse}",
                retry_transient=False,
            )
        except PermissionDenied as refused:
            raise PermissionDenied(
                f"{plan.rse} does not take your files: Rucio refuses to register them there ({refused.message}). "
                "Nothing was registered; choose another upload target.",
                reason="rse_not_writable",
            ) from None
        for work in uploaded:
            work.state = REGISTERED
        job.left_behind = [f.did for f in uploaded]
    if not plan.dataset_exists:
        await session.rucio(
            lambda c: c.add_did(dataset.scope, dataset.name, "DATASET"), what=f"create the dataset {dataset}"
        )
        job.left_behind.append(f"the dataset {dataset} (without a rule)")
    members = [f for f in job.files if f.did not in plan.dataset_files]
    if members:
        dids = [dict(zip(("scope", "name"), f.did.split(":", 1), strict=True)) for f in members]
        await session.rucio(
            lambda c: c.attach_dids(dataset.scope, dataset.name, dids), what=f"attach the files to {dataset}"
        )
    for work in job.files:
        if work.action == ATTACH:
            work.state = ATTACHED
    if plan.metadata:
        targets = ([dataset.as_dict()] if plan.metadata_on in ("dataset", "both") else []) + (
            [{"scope": plan.scope, "name": f.did.split(":", 1)[1]} for f in uploaded]
            if plan.metadata_on in ("files", "both")
            else []
        )
        bulk = [{**t, "meta": dict(plan.metadata)} for t in targets]
        await session.rucio(lambda c: c.set_dids_metadata_bulk(bulk), what=f"set the metadata of {dataset}")
    job.rule = await _keep(session, plan, job)
    job.left_behind = []


async def _keep(session: RucioSession, plan: UploadPlan, job: UploadJob) -> dict[str, Any]:
    """The account's rule on the dataset at the RSE: a new one for the lifetime, or the one there already."""
    existing = await find_rule(session, plan.dataset, plan.account, plan.rse)
    if existing is not None:
        job.note = f"Your rule {existing.id} on {plan.dataset} at {plan.rse} keeps the new files too."
        return existing.to_json()
    ids = await session.rucio(
        lambda c: c.add_replication_rule(
            [plan.dataset.as_dict()],
            1,
            plan.rse,
            lifetime=plan.lifetime_seconds,
            grouping="DATASET",
            comment=RULE_COMMENT,
        ),
        what=f"create the rule that keeps {plan.dataset} at {plan.rse}",
    )
    rule = await find_rule(session, plan.dataset, plan.account, plan.rse)
    return rule.to_json() if rule is not None else {"id": ids[0], "rse_expression": plan.rse}


# -- progress ------------------------------------------------------------------------------------


def upload_progress(jobs: UploadJobs, upload_id: str | None) -> list[dict[str, Any]]:
    return [j.progress() for j in (jobs.jobs() if upload_id is None else [jobs.job(upload_id)])]


def cancel_upload(jobs: UploadJobs, upload_id: str) -> dict[str, Any]:
    """Ask the upload to stop: before registration nothing stays; once registration began it finishes."""
    job = jobs.cancel(upload_id)
    answer = job.progress()
    if job.phase == "registering":
        answer["note"] = "Too late to cancel: the files are being registered; the upload finishes."
    return answer
