"""Upload to the real lake: a folder with metadata is found by the panel's search and can be made available
elsewhere; identical files are found by checksum and attached; every refusal is explained and nothing is
left half-registered."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from escape_dlaas.domain import upload, upload_checks
from escape_dlaas.lake.configs import USERDISK
from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import call

pytestmark = pytest.mark.integration


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "notebooks"
    path.mkdir()
    return path


@pytest.fixture
def jp_server_config(lake_info: Any, root: Path) -> dict[str, Any]:
    config = lake_server_config(lake_info, root)
    targets = config["DLaaS"]["instances"][0]["upload"]["targets"]
    # two more targets, for the refusals: a small quota (CHEAP), and storage Rucio's policy keeps users from (SAFE)
    targets.update({"CHEAP": "ESCAPE-CHEAP", "SAFE": "ESCAPE-SAFE"})
    return config


def unique() -> str:
    return uuid.uuid4().hex[:10]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


async def finished(jp_fetch: Any, upload_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code, answer = await call(jp_fetch, "uploads", upload_id)
        assert code == 200, answer
        if answer["upload"]["state"] != "RUNNING":
            return answer["upload"]
        assert time.monotonic() < deadline, answer
        await asyncio.sleep(0.2)


async def uploaded(jp_fetch: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Start an upload and wait for it to finish; it must have done so."""
    code, started = await call(jp_fetch, "uploads", method="POST", body=body)
    assert code == 202, started
    done = await finished(jp_fetch, started["upload"]["id"])
    assert done["state"] == "DONE", done
    return done


async def test_a_folder_with_metadata_is_found_by_search_and_made_available_elsewhere(
    jp_fetch: Any, root: Path, lake_info: Any
) -> None:
    tag = unique()
    write(root / "results" / f"spectrum_{tag}.fits", f"spectrum {tag}\n".encode() * 100)
    write(root / "results" / f"model_{tag}.json", json.dumps({"tag": tag}).encode())
    write(root / "results" / ".ipynb_checkpoints" / "x.json", b"{}")

    code, options = await call(jp_fetch, "upload", "options")
    assert code == 200, options
    assert options["default_scope"] == "user.alice"
    assert options["default_target"] == "USERDISK"
    types = {k["key"]: k["type"] for k in options["metadata_keys"]}
    assert (types["energy"], types["obs_date"], types["telescope"]) == ("number", "date", "text")

    dataset = f"results_{tag}"
    code, check = await call(
        jp_fetch, "upload", "check", method="POST", body={"paths": ["results"], "dataset": dataset}
    )
    assert code == 200, check
    assert sorted(f["path"] for f in check["files"]) == [f"results/model_{tag}.json", f"results/spectrum_{tag}.fits"]
    assert check["skipped"] == ["results/.ipynb_checkpoints/"]
    assert all(f["identical"] == [] and not f["name_taken"] for f in check["files"])
    assert check["dataset"] == {"did": f"user.alice:{dataset}", "exists": False, "files": []}
    assert (check["rse"], check["problem"]) == (USERDISK, None)

    body = {
        "paths": ["results"],
        "dataset": dataset,
        "lifetime_days": 2,
        "metadata": {"telescope": "lofar", "energy": "151.5", "obs_date": "2026-11-30", "target": tag},
        "metadata_on": "both",
    }
    code, started = await call(jp_fetch, "uploads", method="POST", body=body)
    assert code == 202, started
    done = await finished(jp_fetch, started["upload"]["id"])
    assert done["state"] == "DONE", done
    assert done["files"] == {"total": 2, "done": 2, "attached": 0}
    assert done["bytes"]["done"] == done["bytes"]["total"] == check["bytes"]
    assert done["rule"]["rse_expression"] == USERDISK, done
    assert done["rule"]["expires_at"], done
    assert done["left_behind"] == []
    assert {i["did"] for i in done["items"]} == {f"user.alice:spectrum_{tag}.fits", f"user.alice:model_{tag}.json"}

    # the panel's metadata search finds it at once, a number compared as a number
    code, found = await call(
        jp_fetch, "search", params={"scope": "user.alice", "type": "dataset", "filter": f"target={tag},energy>150"}
    )
    assert code == 200, found
    assert [i["did"] for i in found["items"]] == [f"user.alice:{dataset}"]
    assert found["items"][0]["metadata"]["energy"] == 151.5
    code, details = await call(jp_fetch, "did", "files", params={"did": f"user.alice:{dataset}"})
    assert code == 200, details
    assert len(details["files"]) == 2

    # making it available at the notebook copies it there from the user disk
    code, made = await call(
        jp_fetch, "rules", method="POST", body={"did": f"user.alice:{dataset}", "target": "notebook"}
    )
    assert code == 201, made
    deadline = time.monotonic() + 40
    while True:
        code, paths = await call(jp_fetch, "did", "paths", params={"did": f"user.alice:{dataset}"})
        assert code == 200, paths
        if len(paths.get("paths", {})) == 2 and not paths.get("missing"):
            break
        assert time.monotonic() < deadline, paths
        await asyncio.sleep(0.5)
    copied = Path(paths["paths"][f"user.alice:spectrum_{tag}.fits"]).read_bytes()
    assert copied == (root / "results" / f"spectrum_{tag}.fits").read_bytes()


async def test_identical_files_are_found_by_checksum_and_attached_instead_of_copied(jp_fetch: Any, root: Path) -> None:
    tag = unique()
    content = f"calibrated table {tag}\n".encode() * 50
    write(root / "first" / f"table_{tag}.csv", content)
    await uploaded(jp_fetch, {"paths": [f"first/table_{tag}.csv"], "dataset": f"first_{tag}"})

    # the same bytes under another name, next to a new file
    write(root / "second" / f"copy_{tag}.csv", content)
    write(root / "second" / f"new_{tag}.csv", b"something else " + tag.encode())
    code, check = await call(
        jp_fetch, "upload", "check", method="POST", body={"paths": ["second"], "dataset": f"second_{tag}"}
    )
    assert code == 200, check
    by_path = {f["path"]: f for f in check["files"]}
    assert by_path[f"second/copy_{tag}.csv"]["identical"] == [f"user.alice:table_{tag}.csv"]
    assert by_path[f"second/new_{tag}.csv"]["identical"] == []

    body = {
        "paths": ["second"],
        "dataset": f"second_{tag}",
        "attach": {f"second/copy_{tag}.csv": f"user.alice:table_{tag}.csv"},
    }
    code, started = await call(jp_fetch, "uploads", method="POST", body=body)
    assert code == 202, started
    done = await finished(jp_fetch, started["upload"]["id"])
    assert done["state"] == "DONE", done
    assert done["files"] == {"total": 1, "done": 1, "attached": 1}
    code, files = await call(jp_fetch, "did", "files", params={"did": f"user.alice:second_{tag}"})
    assert code == 200, files
    assert sorted(f["did"] for f in files["files"]) == [f"user.alice:new_{tag}.csv", f"user.alice:table_{tag}.csv"]

    # the name is taken now: uploading other bytes under it is refused before anything is copied
    write(root / "third" / f"table_{tag}.csv", b"different")
    code, refused = await call(
        jp_fetch, "uploads", method="POST", body={"paths": [f"third/table_{tag}.csv"], "dataset": f"third_{tag}"}
    )
    assert (code, refused["reason"]) == (409, "name_taken"), refused
    assert f"user.alice:table_{tag}.csv" in refused["message"]


async def test_files_the_check_had_no_time_to_compare_are_named_and_uploaded_as_new(
    jp_fetch: Any, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = unique()
    content = f"raw events {tag}\n".encode() * 50
    write(root / "kept" / f"events_{tag}.dat", content)
    await uploaded(jp_fetch, {"paths": [f"kept/events_{tag}.dat"], "dataset": f"kept_{tag}"})

    # as if the files were too large to checksum within the request's timeout
    monkeypatch.setattr(upload_checks, "CHECKSUM_SHARE", 0.0)
    write(root / "again" / f"events_copy_{tag}.dat", content)
    code, check = await call(
        jp_fetch, "upload", "check", method="POST", body={"paths": ["again"], "dataset": f"again_{tag}"}
    )
    assert code == 200, check
    assert check["not_compared"] == [f"again/events_copy_{tag}.dat"]
    (item,) = check["files"]
    assert (item["adler32"], item["identical"], item["bytes"]) == (None, [], len(content))
    assert check["bytes"] == len(content)
    assert (check["rse"], check["problem"]) == (USERDISK, None)

    done = await uploaded(jp_fetch, {"paths": ["again"], "dataset": f"again_{tag}"})
    assert done["files"] == {"total": 1, "done": 1, "attached": 0}


async def test_paths_outside_the_notebook_directory_are_refused(jp_fetch: Any, root: Path, tmp_path: Path) -> None:
    secret = write(tmp_path / "outside.txt", b"not yours")
    os.symlink(secret, root / "link.txt")
    os.symlink(tmp_path, root / "linked-folder")
    for paths in (["../outside.txt"], ["/etc/hostname"], ["link.txt"], ["linked-folder/outside.txt"]):
        code, refused = await call(jp_fetch, "uploads", method="POST", body={"paths": paths, "dataset": "x"})
        assert (code, refused["reason"]) == (400, "outside_root"), (paths, refused)
    code, missing = await call(jp_fetch, "upload", "check", method="POST", body={"paths": ["nothing-here"]})
    assert code == 404, missing


async def test_refusals_are_explained_before_anything_is_copied(jp_fetch: Any, root: Path) -> None:
    tag = unique()
    write(root / f"big_{tag}.bin", os.urandom(150_000))
    body = {"paths": [f"big_{tag}.bin"], "dataset": f"big_{tag}"}

    code, refused = await call(jp_fetch, "uploads", method="POST", body={**body, "scope": "lofar"})
    assert (code, refused["reason"]) == (403, "scope_not_writable"), refused
    assert "user.alice" in refused["message"]

    code, refused = await call(jp_fetch, "uploads", method="POST", body={**body, "target": "CHEAP"})
    assert (code, refused["reason"]) == (422, "quota_exceeded"), refused
    assert "needs 150 kB" in refused["message"]
    assert "100 kB quota on ESCAPE-CHEAP" in refused["message"]

    code, refused = await call(
        jp_fetch, "uploads", method="POST", body={**body, "metadata": {"energy": "high", "obs_date": "2026-02-30"}}
    )
    assert (code, refused["field"]) == (400, "metadata.energy"), refused

    code, refused = await call(jp_fetch, "uploads", method="POST", body={**body, "lifetime_days": 10_000})
    assert (code, refused["field"]) == (400, "lifetime_days"), refused


async def test_storage_that_refuses_users_leaves_nothing_registered(jp_fetch: Any, root: Path, lake_info: Any) -> None:
    tag = unique()
    write(root / f"safe_{tag}.txt", b"to a disk users may not write to")
    body = {"paths": [f"safe_{tag}.txt"], "dataset": f"safe_{tag}", "target": "SAFE"}
    code, started = await call(jp_fetch, "uploads", method="POST", body=body)
    assert code == 202, started
    done = await finished(jp_fetch, started["upload"]["id"])
    assert (done["state"], done["reason"]) == ("FAILED", "rse_not_writable"), done
    assert "ESCAPE-SAFE does not take your files" in done["error"]
    assert done["left_behind"] == []
    assert done["items"][0]["state"] == "REMOVED"
    safe = next(r.path for r in lake_info.rses if r.name == "ESCAPE-SAFE")
    assert not list(Path(safe).rglob(f"safe_{tag}.txt")), "the copied bytes are removed"
    code, missing = await call(jp_fetch, "did", params={"did": f"user.alice:safe_{tag}"})
    assert code == 404, missing


async def test_a_file_that_changes_during_the_upload_is_not_registered(
    jp_fetch: Any, root: Path, lake_info: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = unique()
    source = write(root / f"growing_{tag}.log", b"line\n" * 1000)
    original = upload.copy_with_checksum

    def while_it_grows(src: Path, dst: Path, **kwargs: Any) -> tuple[int, str]:
        with open(src, "ab") as more:
            more.write(b"one more line\n")
        return original(src, dst, **kwargs)

    monkeypatch.setattr(upload, "copy_with_checksum", while_it_grows)
    code, started = await call(
        jp_fetch, "uploads", method="POST", body={"paths": [source.name], "dataset": f"growing_{tag}"}
    )
    assert code == 202, started
    done = await finished(jp_fetch, started["upload"]["id"])
    assert (done["state"], done["reason"]) == ("FAILED", "file_changed"), done
    assert f"{source.name} changed while it was being uploaded" in done["error"]
    userdisk = next(r.path for r in lake_info.rses if r.name == USERDISK)
    assert not list(Path(userdisk).rglob(source.name))
    code, missing = await call(jp_fetch, "did", params={"did": f"user.alice:{source.name}"})
    assert code == 404, missing


async def test_a_cancelled_upload_registers_nothing(jp_fetch: Any, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = unique()
    write(root / f"slow_{tag}.bin", b"x" * 10_000)

    def slow_copy(src: Path, dst: Path, *, on_bytes: Any, cancelled: Any) -> tuple[int, str]:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(b"x" * 100)
        on_bytes(100)
        while True:  # a copy that goes on until cancelled
            cancelled()
            time.sleep(0.02)

    monkeypatch.setattr(upload, "copy_with_checksum", slow_copy)
    code, started = await call(
        jp_fetch, "uploads", method="POST", body={"paths": [f"slow_{tag}.bin"], "dataset": f"slow_{tag}"}
    )
    assert code == 202, started
    upload_id = started["upload"]["id"]
    deadline = time.monotonic() + 10
    while (await call(jp_fetch, "uploads", upload_id))[1]["upload"]["bytes"]["done"] < 100:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    code, cancelling = await call(jp_fetch, "uploads", upload_id, method="DELETE")
    assert code == 200, cancelling
    done = await finished(jp_fetch, upload_id)
    assert done["state"] == "CANCELLED", done
    assert "nothing was registered" in done["error"]
    code, missing = await call(jp_fetch, "did", params={"did": f"user.alice:slow_{tag}"})
    assert code == 404, missing


def test_the_notebook_api_uploads_with_metadata_and_attaches_identical_files(lake_info: Any, tmp_path: Path) -> None:
    from escape_dlaas import DataLake

    tag = unique()
    folder = tmp_path / f"derived_{tag}"
    write(folder / f"events_{tag}.h5", f"events {tag}\n".encode() * 30)
    with DataLake(config=lake_info.jupyter_config) as lake:
        done = lake.upload(folder, f"derived_{tag}", lifetime_days=1, metadata={"energy": 42, "target": tag})
        assert done["state"] == "DONE", done
        assert done["rule"]["rse_expression"] == USERDISK
        found = list(lake.search(scope="user.alice", filters=f"target={tag}", type="dataset"))
        assert [row["did"] for row in found] == [f"user.alice:derived_{tag}"]

        # the same bytes again, elsewhere: attached, not copied
        again = lake.upload(folder / f"events_{tag}.h5", f"again_{tag}")
        assert again["state"] == "DONE", again
        assert again["files"] == {"total": 0, "done": 0, "attached": 1}


@pytest.mark.usefixtures("generic_lake")
def test_uploads_work_on_rucios_stock_generic_policy(generic_lake_info: Any, tmp_path: Path) -> None:
    from escape_dlaas import DataLake

    tag = unique()
    source = write(tmp_path / f"generic_{tag}.txt", f"generic {tag}".encode())
    with DataLake(config=generic_lake_info.jupyter_config) as lake:
        done = lake.upload(source, f"generic_{tag}", metadata={"target": tag})
        assert done["state"] == "DONE", done
        assert done["rule"]["expires_at"], done
        details = lake.describe(f"user.alice:generic_{tag}")
        assert details["metadata"]["target"] == tag
