"""Upload checks before anything is copied: the options offered, the scope and storage writable, the quota
with numbers, the dataset, names taken, and files identical to ones the scope already holds.

Files identical to ones the chosen scope already holds (same adler32 and size) are reported
with their DIDs, and can be attached instead of copied. Rucio 41 finds them with ``list_dids``
filtering on its own ``adler32`` and ``bytes`` columns, many files per request (a list of
filters is an OR).

The check answers within the request's deadline like every other request: it checksums the
files while half of the time left lasts (the rest is for Rucio's answers) and reports the
files it did not reach as not compared; they are then uploaded as new files.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import UploadConfig
from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused
from .catalogue import metadata_bulk, metadata_sample, rse_names
from .did import DID, check_scope, name_problem, row_name
from .quota import account_is_admin, account_usage, quota_shortfall, quotas_at
from .rules import check_lifetime
from .session import RucioSession
from .upload_files import LocalFile, file_checksum, local_files
from .upload_jobs import UploadJobs
from .upload_metadata import metadata_key_types

DUPLICATE_QUERY_FILES = 50  # files whose checksums one Rucio listing looks for (an OR of filters)
CHECKSUM_SHARE = 0.5  # of the request's time left: the rest is for Rucio's answers


# -- what the user may choose ---------------------------------------------------------------------


def upload_config(session: RucioSession) -> UploadConfig:
    config = session.config.upload
    if config is None:
        raise Refused(
            "uploads are not configured on this data lake (its administrators set 'upload' for the instance)",
            reason="upload_not_configured",
        )
    return config


async def writable_scopes(session: RucioSession, account: str) -> list[str]:
    """The scopes the account owns (cached)."""
    key = ("owned_scopes", account)
    cached = session.cache.get(key, 60.0)
    if cached is None:
        cached = sorted(
            await session.rucio(lambda c: list(c.list_scopes_for_account(account)), what="list your scopes")
        )
        session.cache.put(key, cached)
    return list(cached)


async def upload_options(session: RucioSession) -> dict[str, Any]:
    """What the upload dialog offers: scopes, targets, lifetimes and the catalogue's metadata keys with types."""
    config = upload_config(session)
    account = await session.account()
    scopes = await writable_scopes(session, account)
    own = f"user.{account}"
    sample = await metadata_sample(session)
    return {
        "account": account,
        "scopes": scopes,
        "default_scope": own if own in scopes else (scopes[0] if scopes else None),
        "targets": [{"id": t, "rse_expression": e} for t, e in config.targets.items()],
        "default_target": config.default_target,
        "default_lifetime_days": config.default_lifetime_days,
        "max_lifetime_days": config.max_lifetime_days,
        "max_files": config.max_files,
        "metadata_keys": [{"key": k, "type": t} for k, t in sorted(metadata_key_types(sample).items())],
    }


async def check_scope_writable(session: RucioSession, scope: Any, account: str) -> str:
    chosen = check_scope(scope) or f"user.{account}"
    if await account_is_admin(session, account):
        return chosen
    owned = await writable_scopes(session, account)
    if chosen not in owned:
        mine = ", ".join(owned) or "none"
        raise PermissionDenied(
            f"You cannot write into the scope {chosen}: it is not yours. Upload into one of your scopes ({mine}).",
            reason="scope_not_writable",
        )
    return chosen


def checked_dataset_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("give the dataset to upload into (a new or an existing one)", field="dataset")
    name = value.strip()
    problem = name_problem(name)
    if problem:
        raise InvalidInput(f"'{name[:100]}' cannot be a dataset name: {problem}", field="dataset", reason="invalid_did")
    return name


async def dataset_state(session: RucioSession, dataset: DID) -> dict[str, Any]:
    """Whether the dataset exists (and can take files), and the names of the files it has."""
    try:
        row = await session.rucio(lambda c: c.get_did(dataset.scope, dataset.name), what=f"read {dataset}")
    except NotFound:
        return {"did": str(dataset), "exists": False, "files": []}
    kind = str(row.get("type") or "").upper()
    if kind != "DATASET":
        raise Conflict(
            f"The name {dataset} is already taken by a {kind.lower() or 'DID'}; choose another dataset name.",
            reason="name_taken",
        )
    if row.get("open") is False:
        raise Conflict(f"The dataset {dataset} is closed: Rucio adds no files to it.", reason="dataset_closed")
    files = await session.rucio(
        lambda c: [f"{f['scope']}:{f['name']}" for f in c.list_files(dataset.scope, dataset.name)],
        what=f"list the files of {dataset}",
    )
    return {"did": str(dataset), "exists": True, "files": files}


async def identical_in_scope(
    session: RucioSession, scope: str, sums: list[tuple[int, str]]
) -> dict[tuple[int, str], list[str]]:
    """(size, adler32) -> the DIDs of files in ``scope`` with exactly that size and checksum."""
    wanted = list(dict.fromkeys(sums))
    names: list[str] = []
    for start in range(0, len(wanted), DUPLICATE_QUERY_FILES):
        filters = [{"adler32": a, "bytes": b} for b, a in wanted[start : start + DUPLICATE_QUERY_FILES]]
        rows = await session.rucio(
            lambda c, f=filters: list(c.list_dids(scope, f, did_type="file")),  # type: ignore[misc]
            what=f"look for identical files in {scope}",
        )
        names.extend(row_name(r) for r in rows)
    found: dict[tuple[int, str], list[str]] = {}
    if names:
        described = await metadata_bulk(session, [DID(scope, n) for n in dict.fromkeys(names)], plugin="DID_COLUMN")
        for key, row in sorted(described.items()):
            found.setdefault((int(row.get("bytes") or 0), str(row.get("adler32") or "")), []).append(key)
    return found


class _OutOfTime(Exception):
    """The check's share of the request's time is used up."""


async def checksums_in_time(
    session: RucioSession, jobs: UploadJobs, files: Sequence[LocalFile]
) -> list[tuple[int, str] | None]:
    """Each file's (size, adler32) while the check's share of the request's time lasts; None for those not reached.

    Checksums run on the uploads' pool (they read whole files) and stop between two chunks once
    the time is up; the request does not wait for the chunk being read, nor longer for a pool busy
    with uploads.
    """
    with session.budget() as deadline:
        now = time.monotonic()
        stop_at = now + CHECKSUM_SHARE * max(deadline - now, 0.0)
    sums: list[tuple[int, str] | None] = [None] * len(files)
    stop = threading.Event()

    def time_is_up() -> None:
        if stop.is_set() or time.monotonic() >= stop_at:
            raise _OutOfTime

    def compute() -> None:
        # Smallest first: as many files as possible are compared in the time there is.
        for index in sorted(range(len(files)), key=lambda i: files[i].size):
            try:
                sums[index] = file_checksum(files[index].path, cancelled=time_is_up)
            except _OutOfTime:
                return

    try:
        await asyncio.wait_for(jobs.blocking(compute), max(stop_at - time.monotonic(), 0.0))
    except asyncio.TimeoutError:  # in the middle of a chunk, or still waiting for a worker of the pool
        stop.set()
    return list(sums)  # a copy: a checksum still finishing its chunk is not counted


async def taken_names(session: RucioSession, scope: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """The names of ``names`` that scope already holds: name -> their DID row (bytes, adler32)."""
    rows = await metadata_bulk(session, [DID(scope, n) for n in names], plugin="DID_COLUMN")
    return {str(r.get("name")): r for r in rows.values()}


async def choose_rse(
    session: RucioSession, config: UploadConfig, target: Any, account: str, dataset: DID, needed: int
) -> tuple[str, str]:
    """(target id, RSE): the first RSE of the target open for writing with quota left for ``needed`` bytes."""
    chosen = config.default_target if target in (None, "") else target
    if not isinstance(chosen, str) or chosen not in config.targets:
        raise InvalidInput(
            f"unknown upload target {str(target)[:40]!r}; choose one of: {', '.join(config.targets)}",
            field="target",
            reason="invalid_target",
        )
    expression = config.targets[chosen]
    candidates = await rse_names(session, expression)
    if not candidates:
        raise Refused(f"No storage matches the upload target {chosen} ({expression}).", reason="no_rse")
    infos = await session.rucio(lambda c: {r: c.get_rse(r) for r in candidates}, what=f"read the storage of {chosen}")
    writable = [r for r in candidates if infos[r].get("availability_write", True)]
    if not writable:
        raise Refused(
            f"The storage of the upload target {chosen} ({', '.join(candidates)}) is not open for writing right now; "
            "try again later or choose another target.",
            reason="rse_not_writable",
        )
    admin = await account_is_admin(session, account)
    quotas = quotas_at(writable, await account_usage(session, account), needed, admin=admin)
    fitting = [q.rse for q in quotas if q.fits]
    if not fitting:
        raise Refused(quota_shortfall(dataset, quotas) or "Quota exceeded.", reason="quota_exceeded")
    return chosen, fitting[0]


def checked_lifetime(config: UploadConfig, value: Any) -> float:
    if value is None or value == "":
        return config.default_lifetime_days
    return check_lifetime(value, "lifetime_days", config.max_lifetime_days)


def attach_choices(raw: Any, relatives: set[str]) -> dict[str, str]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput('send "attach" as {"path": "scope:name", ...}', field="attach")
    out = {}
    for path, did in raw.items():
        if path not in relatives:
            raise InvalidInput(f"'{str(path)[:100]}' in 'attach' is not one of the files uploaded", field="attach")
        if not isinstance(did, str) or ":" not in did or name_problem(did.split(":", 1)[1]):
            raise InvalidInput(f"'{str(did)[:100]}' in 'attach' is not a DID", field="attach")
        out[path] = did
    return out


# -- check ---------------------------------------------------------------------------------------


async def check_upload(
    session: RucioSession, jobs: UploadJobs, root: str, request: Mapping[str, Any]
) -> dict[str, Any]:
    """What an upload would do, nothing changed: each file's checksum, identical files and taken names in the
    scope, the dataset, the RSE and the quota. Checksums are computed on the uploads' pool."""
    config = upload_config(session)
    account = await session.account()
    scope = await check_scope_writable(session, request.get("scope"), account)
    files, skipped = await jobs.blocking(lambda: local_files(root, request.get("paths"), config.max_files))
    sums = await checksums_in_time(session, jobs, files)
    identical = await identical_in_scope(session, scope, [s for s in sums if s is not None])
    taken = await taken_names(session, scope, [f.name for f in files])
    dataset_name = request.get("dataset") or None
    dataset = await dataset_state(session, DID(scope, checked_dataset_name(dataset_name))) if dataset_name else None
    items = []
    for item, summed in zip(files, sums, strict=True):
        size, adler32 = summed or (item.size, None)
        same = taken.get(item.name)
        items.append(
            {
                "path": item.relative,
                "name": item.name,
                "did": f"{scope}:{item.name}",
                "bytes": size,
                "adler32": adler32,
                "identical": identical.get((size, adler32), []) if adler32 else [],
                "name_taken": same is not None,
                "taken_by_identical": adler32 is not None
                and same is not None
                and (int(same.get("bytes") or 0), same.get("adler32")) == (size, adler32),
            }
        )
    total = sum(summed[0] if summed else item.size for item, summed in zip(files, sums, strict=True))
    answer: dict[str, Any] = {
        "scope": scope,
        "files": items,
        "skipped": skipped,
        # Files whose checksum the check had no time for: not compared with the scope's files.
        "not_compared": [item.relative for item, summed in zip(files, sums, strict=True) if summed is None],
        "bytes": total,
        "dataset": dataset,
    }
    try:
        target, rse = await choose_rse(
            session, config, request.get("target"), account, DID(scope, dataset_name or "upload"), total
        )
        answer.update(target=target, rse=rse, problem=None)
    except (Refused, InvalidInput) as refusal:
        answer.update(target=request.get("target"), rse=None, problem=refusal.to_dict())
    return answer
