"""A multi-file dataset made available on the real lake gets a folder a person can browse.

``data-lake/<scope>/<dataset>/`` under Jupyter's root, one link per file to its replica on the
notebook's storage (whose own layout is Rucio's hash: ``ska/3f/a2/<file>``); the links go when
the replicas do.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path

import pytest

from escape_dlaas.domain import dataset_folders
from tests.fixtures_lake import lake_server_config

from .test_extension_lake import call, wait_for_state

pytestmark = pytest.mark.integration


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "notebooks"
    path.mkdir()
    return path


@pytest.fixture
def jp_server_config(lake_info, root):
    return lake_server_config(lake_info, root)


async def a_multi_file_dataset(jp_fetch) -> tuple[dict, dict[str, str]]:
    """A seeded SKA dataset of several files that no other test makes available, and its files' names."""
    code, found = await call(jp_fetch, "search", params={"q": "ska:AA05_obs_*", "type": "dataset"})
    assert code == 200, found
    for item in found["items"]:
        code, files = await call(jp_fetch, "did", "files", params={"did": item["did"]})
        assert code == 200, files
        if len(files["files"]) >= 2:
            return item, {f["did"]: f["name"] for f in files["files"]}
    raise AssertionError(f"no dataset of several files in {[i['did'] for i in found['items']]}")


async def wait_until(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_a_dataset_gets_a_browsable_folder_kept_in_sync(jp_fetch, lake_info, root, monkeypatch):
    dataset, names = await a_multi_file_dataset(jp_fetch)
    did, scope, name = dataset["did"], dataset["scope"], dataset["name"]
    code, made = await call(
        jp_fetch, "rules", method="POST", body={"did": did, "target": "notebook", "lifetime_days": 1}
    )
    assert code in (200, 201), made
    await wait_for_state(jp_fetch, did, "AVAILABLE")

    code, answer = await call(jp_fetch, "did", "paths", params={"did": did})
    assert code == 200, answer
    folder = root / "data-lake" / scope / name
    assert answer["directory"] == str(folder)
    assert answer["relative_directory"] == f"data-lake/{scope}/{name}"
    assert answer["missing"] == []
    assert answer["folder_problem"] is None
    assert sorted(answer["paths"]) == sorted(answer["replica_paths"]) == sorted(names)
    mount = lake_info.notebook_local.path
    for file_did, path in answer["paths"].items():
        link, replica = Path(path), Path(answer["replica_paths"][file_did])
        assert link == folder / names[file_did], "one link per file, named as in Rucio"
        assert link.is_symlink()
        assert replica.is_relative_to(mount)
        assert replica.parent != mount / scope, "the replicas themselves are in Rucio's hashed folders"
        assert os.readlink(link) == str(replica)
        assert link.read_bytes() == replica.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted(names.values())

    # what the file browser shows: Jupyter's contents API lists and reads the links
    listing = json.loads((await jp_fetch("api", "contents", answer["relative_directory"])).body)
    assert sorted(entry["name"] for entry in listing["content"]) == sorted(names.values())
    one = next(iter(answer["paths"]))
    opened = json.loads((await jp_fetch("api", "contents", f"{answer['relative_directory']}/{names[one]}")).body)
    assert base64.b64decode(opened["content"]) == Path(answer["replica_paths"][one]).read_bytes()

    # asking again changes nothing
    inodes = {p: os.lstat(p).st_ino for p in answer["paths"].values()}
    code, again = await call(jp_fetch, "did", "paths", params={"did": did})
    assert again == answer
    assert {p: os.lstat(p).st_ino for p in again["paths"].values()} == inodes

    # the rule ends and the replicas go (Rucio's reaper, simulated: the lake runs none): the poll removes the links
    code, cancelled = await call(jp_fetch, "rules", made["rule"]["id"], method="DELETE")
    assert code == 200, cancelled
    monkeypatch.setattr(dataset_folders, "TIDY_INTERVAL_SECONDS", 0.0)
    replicas = [Path(p) for p in answer["replica_paths"].values()]
    aside = {r: r.with_name(r.name + ".aside") for r in replicas}
    try:
        first, *others = replicas
        first.rename(aside[first])
        code, _ = await call(jp_fetch, "availability", method="POST", body={"dids": [did]})
        assert code == 200
        gone_link = folder / first.name
        await wait_until(lambda: not os.path.lexists(gone_link), "the link to the vanished replica stays")
        assert all((folder / r.name).is_symlink() for r in others), "the other links stay"
        # and the paths say so, until the replica is back
        code, partly = await call(jp_fetch, "did", "paths", params={"did": did})
        (first_did,) = [d for d, p in answer["replica_paths"].items() if Path(p) == first]
        assert partly["missing"] == [first_did]
        assert first_did not in partly["paths"]
        assert first_did in partly["folder_problem"]
        for replica in others:
            replica.rename(aside[replica])
        code, _ = await call(jp_fetch, "availability", method="POST", body={"dids": [did]})
        await wait_until(lambda: not folder.exists(), "the dataset's folder stays without any link")
        assert not (root / "data-lake" / scope).exists(), "the scope's folder went with it"
        assert (root / "data-lake").is_dir()
    finally:
        for replica, moved in aside.items():
            if moved.exists():
                moved.rename(replica)
    code, back = await call(jp_fetch, "did", "paths", params={"did": did})
    assert back["paths"] == answer["paths"], "the replicas are back: so are the links"
