"""Upload: local files (under Jupyter's root) to the lake, into a dataset, with metadata and a rule that keeps them.

The sequence is our own, so that nothing is registered before its bytes are in place and
checked: checksum each file (adler32, as Rucio uses), copy it to the chosen RSE through
its storage protocol while checksumming again (a difference: the file changed during the
upload), then register the replicas, attach them to the dataset, set the metadata, and
create one rule on the dataset at that RSE for the lifetime. A failure or a cancel before
registration removes the copied bytes; a failure after it says what Rucio holds.

Before anything is copied, files identical to ones the chosen scope already holds (same
adler32 and size) are reported with their DIDs, and can be attached instead of copied.
Rucio 41 finds them with ``list_dids`` filtering on its own ``adler32`` and ``bytes``
columns, many files per request (a list of filters is an OR).
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..config import UploadConfig
from ..errors import Conflict, DLaaSError, InvalidInput, NotFound, PermissionDenied, Refused
from ..rucio.client import ensure_client_config, prime_rse_info
from .catalogue import MetadataSample, metadata_bulk, metadata_sample, rse_names
from .did import DID, check_scope, name_problem, row_name
from .download_jobs import DONE, FAILED
from .quota import account_is_admin, account_usage, quota_shortfall, quotas_at
from .rules import SECONDS_PER_DAY, check_lifetime, find_rule
from .session import RucioSession
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

log = logging.getLogger("escape_dlaas.upload")

CHUNK_BYTES = 4 * 1024 * 1024
DUPLICATE_QUERY_FILES = 50  # files whose checksums one Rucio listing looks for (an OR of filters)
RULE_COMMENT = "escape-dlaas: upload"
METADATA_TARGETS = ("dataset", "files", "both")
MAX_METADATA_KEYS = 50
MAX_METADATA_TEXT = 1000
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
KEY_TYPES = ("number", "date", "bool", "text")
CLIENT_CONFIG_DIR = Path.home() / ".cache" / "escape-dlaas" / "rucio-client"


# -- local files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFile:
    relative: str  # as the browser names it: relative to Jupyter's root, '/'-separated
    path: Path  # resolved, inside the root
    name: str  # the DID name it gets
    size: int


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def local_files(root: str | os.PathLike[str], paths: Any, max_files: int) -> tuple[list[LocalFile], list[str]]:
    """The files to upload, from paths relative to ``root`` (files, and folders walked); and what was skipped.

    Anything that is, or resolves through a symbolic link to, a place outside ``root`` is
    refused (400), as is an absolute path or one with '..'. Hidden files and folders inside
    a folder, and symbolic links to folders, are skipped (and listed).
    """
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise InvalidInput(
            'send "paths": ["folder/file.fits", ...] (relative to your notebook directory)', field="paths"
        )
    base = Path(os.path.realpath(os.path.expanduser(root)))
    found: list[LocalFile] = []
    skipped: list[str] = []

    def outside(shown: str) -> InvalidInput:
        return InvalidInput(
            f"'{shown[:200]}' is outside your notebook directory; only files under it can be uploaded",
            field="paths",
            reason="outside_root",
        )

    def add(relative: str, candidate: Path) -> None:
        real = Path(os.path.realpath(candidate))
        if not _inside(real, base):
            raise outside(relative)
        if not real.is_file():
            skipped.append(relative)
            return
        found.append(LocalFile(relative, real, candidate.name, real.stat().st_size))
        if len(found) > max_files:
            raise InvalidInput(
                f"at most {max_files} files per upload on this site; upload the rest separately",
                field="paths",
                reason="too_many_files",
            )

    for given in paths:
        relative = given.strip().strip("/") if not given.startswith("/") else given
        parts = relative.split("/")
        if not relative or given.startswith("/") or "\0" in relative or ".." in parts:
            raise outside(given)
        candidate = base.joinpath(*parts)
        real = Path(os.path.realpath(candidate))
        if not _inside(real, base):
            raise outside(given)
        if not real.exists():
            raise NotFound(f"'{relative[:200]}' does not exist in your notebook directory", reason="no_such_file")
        if not real.is_dir():
            add(relative, candidate)
            continue
        for folder, subfolders, names in os.walk(real):
            here = Path(folder)
            inner = here.relative_to(real).as_posix()
            prefix = relative if inner == "." else f"{relative}/{inner}"
            for sub in list(subfolders):
                if sub.startswith(".") or (here / sub).is_symlink():
                    skipped.append(f"{prefix}/{sub}/")
            subfolders[:] = sorted(s for s in subfolders if not s.startswith(".") and not (here / s).is_symlink())
            for name in sorted(names):
                if name.startswith("."):
                    skipped.append(f"{prefix}/{name}")
                    continue
                add(f"{prefix}/{name}", here / name)
    if not found:
        raise InvalidInput("there is no file to upload in what was chosen", field="paths", reason="no_files")
    return _with_names_checked(found), skipped


def _with_names_checked(files: list[LocalFile]) -> list[LocalFile]:
    by_name: dict[str, LocalFile] = {}
    for item in files:
        problem = name_problem(item.name)
        if problem:
            raise InvalidInput(
                f"'{item.relative[:200]}' cannot become a Rucio file name: {problem}; rename it first",
                field="paths",
                reason="invalid_file_name",
            )
        if item.name in by_name:
            raise InvalidInput(
                f"'{by_name[item.name].relative}' and '{item.relative}' would get the same name {item.name} in "
                "the dataset; rename one, or upload them separately",
                field="paths",
                reason="same_name_twice",
            )
        by_name[item.name] = item
    return files


def adler32_hex(value: int) -> str:
    return f"{value & 0xFFFFFFFF:08x}"


def file_checksum(
    path: Path, *, on_bytes: Callable[[int], None] | None = None, cancelled: Callable[[], None] | None = None
) -> tuple[int, str]:
    """(size, adler32) of a file, read in chunks (``cancelled`` may raise between two)."""
    value, size = 1, 0
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            if cancelled is not None:
                cancelled()
            value = zlib.adler32(chunk, value)
            size += len(chunk)
            if on_bytes is not None:
                on_bytes(size)
    return size, adler32_hex(value)


def copy_with_checksum(
    source: Path,
    destination: Path,
    *,
    on_bytes: Callable[[int], None] | None = None,
    cancelled: Callable[[], None] | None = None,
) -> tuple[int, str]:
    """Copy ``source`` to a new ``destination`` in chunks; (size, adler32) of the bytes written."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    value, size = 1, 0
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            if cancelled is not None:
                cancelled()
            writer.write(chunk)
            value = zlib.adler32(chunk, value)
            size += len(chunk)
            if on_bytes is not None:
                on_bytes(size)
    return size, adler32_hex(value)


# -- metadata ------------------------------------------------------------------------------------


def metadata_key_types(sample: MetadataSample) -> dict[str, str]:
    """Each key the catalogue uses, with the type its values have: number, date, bool or text."""
    types = {}
    for key in sorted(sample.values):
        refused = sample.not_comparable.get(key, {})
        if "number" not in refused:
            types[key] = "number"
        elif "date" not in refused:
            types[key] = "date"
        elif "bool" not in refused:
            types[key] = "bool"
        else:
            types[key] = "text"
    return types


def check_metadata(raw: Any, key_types: Mapping[str, str]) -> dict[str, Any]:
    """The metadata to set, checked against the types the catalogue uses for its keys (400 naming the key)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput('send "metadata" as {"key": value, ...}', field="metadata")
    if len(raw) > MAX_METADATA_KEYS:
        raise InvalidInput(f"at most {MAX_METADATA_KEYS} metadata keys per upload", field="metadata")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = f"metadata.{str(key)[:60]}"
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInput(
                f"'{str(key)[:60]}' cannot be a metadata key: use letters, digits and '_' (no '.'), "
                "starting with a letter",
                field=field,
                reason="invalid_metadata",
            )
        kind = key_types.get(key, "text")
        out[key] = _typed_value(key, value, kind, field)
    return out


def _typed_value(key: str, value: Any, kind: str, field: str) -> Any:
    def wrong(expected: str) -> InvalidInput:
        return InvalidInput(
            f"{key} takes {expected} in this catalogue; '{str(value)[:60]}' is not one",
            field=field,
            reason="invalid_metadata",
        )

    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"{key} has no value; give one or leave the key out", field=field, reason="invalid_metadata")
    if kind == "number":
        if isinstance(value, bool):
            raise wrong("a number")
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise wrong("a number, e.g. 150 or 1.5e3") from None
        if isinstance(number, float) and number != number:  # NaN
            raise wrong("a number")
        return number
    if kind == "date":
        text = str(value).strip()
        if not _DATE.match(text):
            raise wrong("a date such as 2025-02-03 (or 2025-02-03T10:00:00)")
        try:
            (
                datetime.fromisoformat(text.replace("Z", "+00:00"))
                if "T" in text or " " in text
                else date.fromisoformat(text)
            )
        except ValueError:
            raise wrong("a real calendar date") from None
        return text
    if kind == "bool":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise wrong("true or false")
    if isinstance(value, (dict, list)):
        raise wrong("a single value")
    if isinstance(value, str) and len(value) > MAX_METADATA_TEXT:
        raise InvalidInput(
            f"{key} is longer than {MAX_METADATA_TEXT} characters", field=field, reason="invalid_metadata"
        )
    return value


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


async def _check_scope_writable(session: RucioSession, scope: Any, account: str) -> str:
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


def _dataset_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("give the dataset to upload into (a new or an existing one)", field="dataset")
    name = value.strip()
    problem = name_problem(name)
    if problem:
        raise InvalidInput(f"'{name[:100]}' cannot be a dataset name: {problem}", field="dataset", reason="invalid_did")
    return name


async def _dataset_state(session: RucioSession, dataset: DID) -> dict[str, Any]:
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


async def _taken_names(session: RucioSession, scope: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """The names of ``names`` that scope already holds: name -> their DID row (bytes, adler32)."""
    rows = await metadata_bulk(session, [DID(scope, n) for n in names], plugin="DID_COLUMN")
    return {str(r.get("name")): r for r in rows.values()}


async def _choose_rse(
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


def _lifetime(config: UploadConfig, value: Any) -> float:
    if value is None or value == "":
        return config.default_lifetime_days
    return check_lifetime(value, "lifetime_days", config.max_lifetime_days)


# -- check ---------------------------------------------------------------------------------------


async def check_upload(
    session: RucioSession, jobs: UploadJobs, root: str, request: Mapping[str, Any]
) -> dict[str, Any]:
    """What an upload would do, nothing changed: each file's checksum, identical files and taken names in the
    scope, the dataset, the RSE and the quota. Checksums are computed on the uploads' pool."""
    config = upload_config(session)
    account = await session.account()
    scope = await _check_scope_writable(session, request.get("scope"), account)
    files, skipped = await jobs.blocking(lambda: local_files(root, request.get("paths"), config.max_files))
    sums = await jobs.blocking(lambda: [file_checksum(f.path) for f in files])
    identical = await identical_in_scope(session, scope, sums)
    taken = await _taken_names(session, scope, [f.name for f in files])
    dataset_name = request.get("dataset") or None
    dataset = await _dataset_state(session, DID(scope, _dataset_name(dataset_name))) if dataset_name else None
    total = sum(size for size, _ in sums)
    items = []
    for item, (size, adler32) in zip(files, sums, strict=True):
        same = taken.get(item.name)
        items.append(
            {
                "path": item.relative,
                "name": item.name,
                "did": f"{scope}:{item.name}",
                "bytes": size,
                "adler32": adler32,
                "identical": identical.get((size, adler32), []),
                "name_taken": same is not None,
                "taken_by_identical": same is not None
                and (int(same.get("bytes") or 0), same.get("adler32")) == (size, adler32),
            }
        )
    answer: dict[str, Any] = {"scope": scope, "files": items, "skipped": skipped, "bytes": total, "dataset": dataset}
    try:
        target, rse = await _choose_rse(
            session, config, request.get("target"), account, DID(scope, dataset_name or "upload"), total
        )
        answer.update(target=target, rse=rse, problem=None)
    except (Refused, InvalidInput) as refusal:
        answer.update(target=request.get("target"), rse=None, problem=refusal.to_dict())
    return answer


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
    scope = await _check_scope_writable(session, request.get("scope"), account)
    files, _ = await jobs.blocking(lambda: local_files(root, request.get("paths"), config.max_files))
    dataset = DID(scope, _dataset_name(request.get("dataset")))
    lifetime = _lifetime(config, request.get("lifetime_days"))
    metadata_on = request.get("metadata_on") or "dataset"
    if metadata_on not in METADATA_TARGETS:
        raise InvalidInput(f"metadata_on must be one of {', '.join(METADATA_TARGETS)}", field="metadata_on")
    key_types = metadata_key_types(await metadata_sample(session))
    metadata = check_metadata(request.get("metadata"), key_types)
    attach = _attach_choices(request.get("attach"), {f.relative for f in files})
    state = await _dataset_state(session, dataset)

    to_upload = [f for f in files if f.relative not in attach]
    taken = await _taken_names(session, scope, [f.name for f in to_upload]) if to_upload else {}
    if taken:
        names = ", ".join(f"{scope}:{n}" for n in sorted(taken)[:5])
        raise Conflict(
            f"The name(s) {names} are already taken in {scope}: Rucio never replaces a file. Attach the existing "
            "file if it is the same, or rename yours.",
            reason="name_taken",
        )
    needed = sum(f.size for f in files)
    target, rse = await _choose_rse(session, config, request.get("target"), account, dataset, needed)
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


def _attach_choices(raw: Any, relatives: set[str]) -> dict[str, str]:
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
