"""Local paths: the notebook RSE's PFNs mapped into the mount, never outside it; the DID's folder; download mode's cache."""

from __future__ import annotations

import pytest

from escape_dlaas.domain.did import DID
from escape_dlaas.domain.download_jobs import DownloadManager
from escape_dlaas.domain.paths import common_directory, local_path, local_paths
from escape_dlaas.errors import Refused

from .fakes import FakeSession, instance_config


@pytest.fixture
def config(tmp_path):
    return instance_config(notebook_local={"rse": "NB", "mount_path": str(tmp_path / "mnt"), "pfn_prefix": "/rucio/nb"})


def replica(pfn, rse="NB", name="f", states=None):
    return {"scope": "s", "name": name, "pfns": {pfn: {"rse": rse}}, "states": states or {rse: "AVAILABLE"}}


def test_pfn_under_the_prefix_maps_into_the_mount(config, tmp_path):
    assert local_path(config.notebook_local, replica("file://localhost/rucio/nb/ska/ab/cd/f.fits")) == str(
        tmp_path / "mnt" / "ska" / "ab" / "cd" / "f.fits"
    )
    # percent-encoded PFNs are decoded
    assert local_path(config.notebook_local, replica("file://localhost/rucio/nb/a%20b.fits")) == str(
        tmp_path / "mnt" / "a b.fits"
    )


@pytest.mark.parametrize(
    "pfn",
    [
        "file://localhost/rucio/nb/../../etc/passwd",
        "file://localhost/rucio/nb/ska/../../../etc/passwd",
        "file://localhost/rucio/nbx/f.fits",
        "file://localhost/elsewhere/f.fits",
        "file://localhost/rucio/nb",
    ],
)
def test_nothing_outside_the_mount_or_prefix(config, pfn):
    assert local_path(config.notebook_local, replica(pfn)) is None


def test_other_rses_and_sites_without_notebook_storage_give_no_path(config):
    assert local_path(config.notebook_local, replica("file://localhost/rucio/nb/f", rse="SAFE")) is None
    assert local_path(None, replica("file://localhost/rucio/nb/f")) is None


def test_the_common_directory_of_the_paths():
    assert common_directory([]) is None
    assert common_directory(["/m/ska/f.fits"]) == "/m/ska"
    assert common_directory(["/m/ska/a/f.fits", "/m/ska/b/g.fits"]) == "/m/ska"


@pytest.mark.asyncio
async def test_a_collections_paths_and_what_is_missing(config, tmp_path):
    session = FakeSession(config)
    session.client.list_files = lambda scope, name: [{"scope": "s", "name": n} for n in ("f1", "f2", "f3")]
    session.client.list_replicas = lambda dids, schemes, all_states, ignore_availability: [
        replica("file://localhost/rucio/nb/ska/f1", name="f1"),
        replica("file://localhost/rucio/nb/ska/f2", name="f2", states={"NB": "COPYING"}),
        replica("file://localhost/rucio/nb/../f3", name="f3"),
    ]
    answer = await local_paths(session, DID("s", "ds"), None)
    assert answer == {
        "did": "s:ds",
        "paths": {"s:f1": str(tmp_path / "mnt" / "ska" / "f1")},
        "replica_paths": {"s:f1": str(tmp_path / "mnt" / "ska" / "f1")},
        "missing": ["s:f2", "s:f3"],
        "directory": str(tmp_path / "mnt" / "ska"),
        "folder_problem": None,
    }


@pytest.mark.asyncio
async def test_the_paths_lead_into_the_datasets_own_folder(config, tmp_path):
    """Not Rucio's hashed folders: <root>/data-lake/<scope>/<dataset>/<file>, links to the replicas."""
    mount, root = tmp_path / "mnt", tmp_path / "root"
    for name in ("f1", "f2"):
        (mount / "ska" / name[-1]).mkdir(parents=True)
        (mount / "ska" / name[-1] / name).write_bytes(name.encode())
    root.mkdir()
    session = FakeSession(config)
    session.client.list_files = lambda scope, name: [{"scope": "s", "name": n} for n in ("f1", "f2", "f3")]
    session.client.list_replicas = lambda dids, schemes, all_states, ignore_availability: [
        replica("file://localhost/rucio/nb/ska/1/f1", name="f1"),
        replica("file://localhost/rucio/nb/ska/2/f2", name="f2"),
        replica("file://localhost/rucio/nb/ska/3/f3", name="f3", states={"NB": "COPYING"}),
    ]
    answer = await local_paths(session, DID("s", "ds"), None, str(root))
    folder = root / "data-lake" / "s" / "ds"
    assert answer == {
        "did": "s:ds",
        "paths": {"s:f1": str(folder / "f1"), "s:f2": str(folder / "f2")},
        "replica_paths": {"s:f1": str(mount / "ska" / "1" / "f1"), "s:f2": str(mount / "ska" / "2" / "f2")},
        "missing": ["s:f3"],
        "directory": str(folder),
        "folder_problem": None,
    }
    assert (folder / "f2").read_bytes() == b"f2"
    # the replica of f2 disappears (a rule ended, Rucio does not know yet): its link goes, the answer says so
    (mount / "ska" / "2" / "f2").unlink()
    answer = await local_paths(session, DID("s", "ds"), None, str(root))
    assert answer["paths"] == {"s:f1": str(folder / "f1")}
    assert answer["replica_paths"] == {"s:f1": str(mount / "ska" / "1" / "f1")}
    assert answer["missing"] == ["s:f2", "s:f3"]
    assert "1 file(s) Rucio lists at the notebook are not on its storage (s:f2)" in answer["folder_problem"]
    assert sorted(p.name for p in folder.iterdir()) == ["f1"]


@pytest.mark.asyncio
async def test_without_a_usable_folder_the_paths_are_the_replicas_own(config, tmp_path):
    mount, root = tmp_path / "mnt", tmp_path / "root"
    (mount / "ska").mkdir(parents=True)
    (mount / "ska" / "f1").write_bytes(b"x")
    root.mkdir()
    (root / "data-lake").symlink_to(tmp_path)
    session = FakeSession(config)
    session.client.list_files = lambda scope, name: [{"scope": "s", "name": "f1"}]
    session.client.list_replicas = lambda dids, schemes, all_states, ignore_availability: [
        replica("file://localhost/rucio/nb/ska/f1", name="f1")
    ]
    answer = await local_paths(session, DID("s", "ds"), None, str(root))
    assert answer["paths"] == answer["replica_paths"] == {"s:f1": str(mount / "ska" / "f1")}
    assert answer["directory"] == str(mount / "ska")
    assert answer["folder_problem"].startswith(f"No folder of links: {root / 'data-lake'} is not a plain folder")


@pytest.mark.asyncio
async def test_download_mode_answers_from_the_download_cache(tmp_path):
    session = FakeSession(instance_config())
    with pytest.raises(Refused) as caught:
        await local_paths(session, DID("s", "ds"), None)
    assert "download s:ds first" in caught.value.message
    downloads = DownloadManager(tmp_path / "cache")
    try:
        job, started = downloads.start("s:ds", "ds", {"ds/f1": ("s:f1", 2), "ds/f2": ("s:f2", 3)}, lambda base: None)
        assert started
        (job.directory / "ds").mkdir(parents=True)
        (job.directory / "ds" / "f1").write_bytes(b"12")
        answer = await local_paths(session, DID("s", "ds"), downloads)
    finally:
        downloads.close()
    assert answer == {
        "did": "s:ds",
        "paths": {"s:f1": str(job.directory / "ds" / "f1")},
        "replica_paths": {"s:f1": str(job.directory / "ds" / "f1")},
        "missing": ["s:f2"],
        "directory": str(job.directory),
        "folder_problem": None,
    }
    assert session.calls == [], "download mode does not ask Rucio"
