"""Upload without a lake: which local files, checksums and copies, metadata types, the choice of storage, jobs."""

from __future__ import annotations

import asyncio
import os
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from escape_dlaas.config import parse_upload
from escape_dlaas.domain import upload_checks, upload_files, upload_metadata
from escape_dlaas.domain.catalogue import MetadataSample
from escape_dlaas.domain.upload_jobs import CANCELLED, FileWork, UploadCancelled, UploadJob, UploadJobs
from escape_dlaas.errors import ConfigurationError, InvalidInput, NotFound, PermissionDenied

from .fakes import FakeSession, instance_config

UPLOAD = {"targets": {"USERDISK": "SITE_USERDISK"}, "default_lifetime_days": 10, "max_lifetime_days": 100}


def write(path: Path, data: bytes = b"data") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- which files -------------------------------------------------------------------------------------


def test_files_and_folders_under_the_root_are_found_hidden_ones_skipped(tmp_path: Path) -> None:
    write(tmp_path / "run" / "a.fits", b"aa")
    write(tmp_path / "run" / "sub" / "b.fits", b"bbb")
    write(tmp_path / "run" / ".secret", b"x")
    write(tmp_path / "run" / ".ipynb_checkpoints" / "c.fits")
    write(tmp_path / "single.txt", b"s")
    files, skipped = upload_files.local_files(tmp_path, ["run", "single.txt"], 10)
    assert [(f.relative, f.name, f.size) for f in files] == [
        ("run/a.fits", "a.fits", 2),
        ("run/sub/b.fits", "b.fits", 3),
        ("single.txt", "single.txt", 1),
    ]
    assert sorted(skipped) == ["run/.ipynb_checkpoints/", "run/.secret"]


@pytest.mark.parametrize("given", ["../outside.txt", "/etc/hostname", "a/../../outside.txt", "link.txt", "folder-link"])
def test_anything_outside_the_root_is_refused_symbolic_links_included(tmp_path: Path, given: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = write(tmp_path / "outside.txt")
    os.symlink(outside, root / "link.txt")
    os.symlink(tmp_path, root / "folder-link")
    with pytest.raises(InvalidInput) as caught:
        upload_files.local_files(root, [given if given != "folder-link" else "folder-link/outside.txt"], 10)
    assert caught.value.reason == "outside_root"
    assert "outside your notebook directory" in caught.value.message


def test_a_link_inside_a_chosen_folder_pointing_out_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "data" / "ok.txt")
    os.symlink(write(tmp_path / "secret.txt"), root / "data" / "escape.txt")
    with pytest.raises(InvalidInput) as caught:
        upload_files.local_files(root, ["data"], 10)
    assert caught.value.reason == "outside_root"


@pytest.mark.parametrize(
    ("paths", "reason"),
    [
        ([], None),
        ("a.txt", None),
        ([1], None),
        (["same/a.txt", "other/a.txt"], "same_name_twice"),
        (["bad name.txt"], "invalid_file_name"),
        (["many"], "too_many_files"),
        (["empty"], "no_files"),
    ],
)
def test_what_cannot_be_uploaded_is_refused_saying_why(tmp_path: Path, paths: Any, reason: str | None) -> None:
    write(tmp_path / "same" / "a.txt")
    write(tmp_path / "other" / "a.txt")
    write(tmp_path / "bad name.txt")
    for i in range(4):
        write(tmp_path / "many" / f"f{i}.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput) as caught:
        upload_files.local_files(tmp_path, paths, 3)
    assert caught.value.field == "paths"
    if reason:
        assert caught.value.reason == reason


def test_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        upload_files.local_files(tmp_path, ["nothing"], 3)


# -- checksums and copies ----------------------------------------------------------------------------


def test_checksum_and_copy_agree_with_adler32_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_files, "CHUNK_BYTES", 7)
    data = os.urandom(100)
    source = write(tmp_path / "s.bin", data)
    seen: list[int] = []
    expected = (100, f"{zlib.adler32(data) & 0xFFFFFFFF:08x}")
    assert upload_files.file_checksum(source, on_bytes=seen.append) == expected
    assert seen[-1] == 100
    assert len(seen) == 15
    assert upload_files.copy_with_checksum(source, tmp_path / "deep" / "d.bin") == expected
    assert (tmp_path / "deep" / "d.bin").read_bytes() == data


def test_a_copy_stops_between_two_chunks_when_cancelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_files, "CHUNK_BYTES", 10)
    source = write(tmp_path / "s.bin", b"x" * 100)
    job = UploadJob("1", "t", "s:d", "RSE", "T", [])
    written: list[int] = []

    def on_bytes(done: int) -> None:
        written.append(done)
        if done >= 30:
            job.cancel_requested.set()

    with pytest.raises(UploadCancelled):
        upload_files.copy_with_checksum(source, tmp_path / "d.bin", on_bytes=on_bytes, cancelled=job.check_cancelled)
    assert written == [10, 20, 30]


# -- metadata ------------------------------------------------------------------------------------


def test_key_types_come_from_the_values_the_catalogue_holds() -> None:
    sample = MetadataSample()
    for scope, key, value in [
        ("a", "energy", 120.0),
        ("b", "energy", "150"),
        ("a", "obs_date", "2023-05-12"),
        ("a", "telescope", "lofar"),
        ("a", "calibrated", "true"),
    ]:
        sample.add(scope, key, value)
    assert upload_metadata.metadata_key_types(sample) == {
        "calibrated": "bool",
        "energy": "number",
        "obs_date": "date",
        "telescope": "text",
    }


def test_metadata_values_are_typed_as_the_catalogue_types_their_keys() -> None:
    types = {"energy": "number", "obs_date": "date", "calibrated": "bool"}
    given = {"energy": "1.5e2", "obs_date": "2025-02-03", "calibrated": "yes", "note": "free text", "run": 7}
    assert upload_metadata.check_metadata(given, types) == {
        "energy": 150.0,
        "obs_date": "2025-02-03",
        "calibrated": True,
        "note": "free text",
        "run": 7,
    }
    assert upload_metadata.check_metadata({"energy": 3}, types) == {"energy": 3}


@pytest.mark.parametrize(
    ("metadata", "field", "says"),
    [
        ({"energy": "high"}, "metadata.energy", "energy takes a number"),
        ({"energy": True}, "metadata.energy", "energy takes a number"),
        ({"obs_date": "03/02/2025"}, "metadata.obs_date", "a date such as 2025-02-03"),
        ({"obs_date": "2025-02-30"}, "metadata.obs_date", "a real calendar date"),
        ({"calibrated": "maybe"}, "metadata.calibrated", "true or false"),
        ({"a.b": 1}, "metadata.a.b", "cannot be a metadata key"),
        ({"note": ""}, "metadata.note", "has no value"),
        ({"note": [1]}, "metadata.note", "a single value"),
        ([1], "metadata", "send"),
    ],
)
def test_wrong_metadata_is_refused_naming_the_key(metadata: Any, field: str, says: str) -> None:
    types = {"energy": "number", "obs_date": "date", "calibrated": "bool"}
    with pytest.raises(InvalidInput) as caught:
        upload_metadata.check_metadata(metadata, types)
    assert caught.value.field == field
    assert says in caught.value.message


# -- configuration -----------------------------------------------------------------------------------


def test_the_upload_section_is_validated() -> None:
    config = parse_upload(UPLOAD, "instances[0].upload")
    assert (config.default_target, config.default_lifetime_days, config.max_files) == ("USERDISK", 10.0, 1000)
    assert instance_config(upload=UPLOAD).upload == config
    assert instance_config().upload is None
    for wrong, field in [
        ({"targets": {}}, "instances[0].upload.targets"),
        ({"targets": {"bad id!": "X"}}, "instances[0].upload.targets"),
        ({**UPLOAD, "default_lifetime_days": 500}, "instances[0].upload.default_lifetime_days"),
        ({**UPLOAD, "max_files": 0}, "instances[0].upload.max_files"),
        ({**UPLOAD, "colour": "red"}, "instances[0].upload.colour"),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            parse_upload(wrong, "instances[0].upload")
        assert caught.value.field == field


# -- the lake's answers, scripted --------------------------------------------------------------------


def scripted_session(*, writable: bool = True, used: int = 0, limit: float = 1000.0) -> FakeSession:
    session = FakeSession(instance_config(upload=UPLOAD))
    client = session.client
    client.list_scopes_for_account = lambda account: ["user.alice"]
    client.list_account_attributes = lambda account: [[]]
    client.list_dids = lambda scope, filters, did_type: []
    client.get_metadata_bulk = lambda dids, inherit, plugin: []
    client.list_scopes = lambda: ["user.alice"]
    client.search_dids = lambda *args: iter([])
    client.list_rses = lambda expression=None: [{"rse": "SITE_USERDISK"}]
    client.get_rse = lambda rse: {"rse": rse, "availability_write": writable}
    client.get_local_account_usage = lambda account: [{"rse": "SITE_USERDISK", "bytes": used, "bytes_limit": limit}]
    return session


def check(session: FakeSession, root: Path, **request: Any) -> dict[str, Any]:
    jobs = UploadJobs(workers=1)
    try:
        return asyncio.run(upload_checks.check_upload(session, jobs, str(root), {"paths": ["f.txt"], **request}))  # type: ignore[arg-type]
    finally:
        jobs.close()


def test_the_check_says_which_storage_takes_it(tmp_path: Path) -> None:
    write(tmp_path / "f.txt", b"12345")
    answer = check(scripted_session(), tmp_path)
    assert (answer["scope"], answer["rse"], answer["target"], answer["problem"]) == (
        "user.alice",
        "SITE_USERDISK",
        "USERDISK",
        None,
    )
    assert answer["files"][0]["adler32"] == f"{zlib.adler32(b'12345') & 0xFFFFFFFF:08x}"


def test_the_check_answers_in_time_and_names_the_files_it_could_not_compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "small.txt", b"12345")
    write(tmp_path / "big.bin", b"x" * (3 * 1024 * 1024))
    session = scripted_session()
    # Every chunk read takes 0.2 s: the big file cannot be summed in the check's share of a 1 s request.
    real_checksum = upload_checks.file_checksum

    def slow_checksum(path: Path, **kwargs: Any) -> tuple[int, str]:
        cancelled = kwargs["cancelled"]

        def slow() -> None:
            time.sleep(0.2)
            cancelled()

        return real_checksum(path, cancelled=slow)

    monkeypatch.setattr(upload_checks, "file_checksum", slow_checksum)
    monkeypatch.setattr(upload_files, "CHUNK_BYTES", 1024 * 1024)
    session.config = instance_config(upload=UPLOAD, timeout_seconds=1)
    started = time.monotonic()
    answer = check(session, tmp_path, paths=["small.txt", "big.bin"])
    assert time.monotonic() - started < 1.0
    by_path = {f["path"]: f for f in answer["files"]}
    assert by_path["small.txt"]["adler32"] == f"{zlib.adler32(b'12345') & 0xFFFFFFFF:08x}"
    assert by_path["big.bin"]["adler32"] is None
    assert by_path["big.bin"]["bytes"] == 3 * 1024 * 1024  # its size from the file system
    assert by_path["big.bin"]["identical"] == []
    assert not by_path["big.bin"]["taken_by_identical"]
    assert answer["not_compared"] == ["big.bin"]
    assert answer["bytes"] == 5 + 3 * 1024 * 1024


def test_storage_closed_for_writing_and_a_full_quota_are_explained(tmp_path: Path) -> None:
    write(tmp_path / "f.txt", b"x" * 600)
    closed = check(scripted_session(writable=False), tmp_path)["problem"]
    assert closed["reason"] == "rse_not_writable"
    assert "not open for writing" in closed["message"]
    full = check(scripted_session(used=500, limit=1000), tmp_path)["problem"]
    assert full["reason"] == "quota_exceeded"
    assert "needs 600 B" in full["message"]
    assert "500 B of your 1.0 kB quota on SITE_USERDISK are used (500 B left)" in full["message"]
    unknown = check(scripted_session(), tmp_path, target="NOPE")["problem"]
    assert unknown["field"] == "target"


def test_a_scope_of_someone_else_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "f.txt")
    with pytest.raises(PermissionDenied) as caught:
        check(scripted_session(), tmp_path, scope="lofar")
    assert caught.value.reason == "scope_not_writable"
    assert "user.alice" in caught.value.message


def test_uploads_off_when_not_configured(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="uploads are not configured"):
        asyncio.run(upload_checks.upload_options(FakeSession()))  # type: ignore[arg-type]


# -- jobs --------------------------------------------------------------------------------------------


def test_a_job_counts_its_progress_and_keeps_a_bounded_history(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [
        FileWork("a", "s:a", 10, done_bytes=10, state="COPIED"),
        FileWork("b", "s:b", 30, done_bytes=5, state="COPYING"),
        FileWork("c", "s:c", 7, action="attach"),
    ]
    job = UploadJob("1", "t", "s:d", "RSE", "T", files)
    progress = job.progress()
    assert progress["files"] == {"total": 2, "done": 1, "attached": 1}
    assert progress["bytes"] == {"total": 40, "done": 15}

    monkeypatch.setattr("escape_dlaas.domain.upload_jobs.FINISHED_JOBS_KEPT", 1)
    jobs = UploadJobs(workers=1)

    async def run() -> None:
        async def nothing(job: UploadJob) -> None:
            job.state = CANCELLED

        for i in range(3):
            jobs.start(UploadJob(str(i), "t", "s:d", "RSE", "T", [], started_at=i), nothing)
            await jobs.wait(str(i))
        jobs.start(UploadJob("last", "t", "s:d", "RSE", "T", []), nothing)
        await jobs.wait("last")

    asyncio.run(run())
    assert sorted(j.id for j in jobs.jobs()) == ["2", "last"]
    with pytest.raises(NotFound):
        jobs.job("0")
    jobs.close()
