"""Dataset folders: a browsable folder of links per DID, safe names, kept in sync, never writing elsewhere."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest

from escape_dlaas.config import parse_instances
from escape_dlaas.domain import dataset_folders
from escape_dlaas.domain.dataset_folders import DatasetFolders, LocalFile, name_segments, sync_folder, tidy_soon
from escape_dlaas.domain.did import DID
from escape_dlaas.errors import ConfigurationError

from .fakes import FakeSession, instance_config


@pytest.fixture
def mount(tmp_path):
    path = tmp_path / "mnt"
    path.mkdir()
    return path


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def folders(root, mount):
    return DatasetFolders(str(root), "data-lake", str(mount))


def replica(mount, name, data=b"bytes of the replica"):
    """A replica file in Rucio's hashed layout on the notebook's storage."""
    path = mount / "s" / name[:2] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def files_of(mount, *names, scope="s", missing=()):
    return [LocalFile(f"{scope}:{n}", scope, n, None if n in missing else replica(mount, n, n.encode())) for n in names]


def tree(directory):
    """Every path below ``directory`` (links not followed), relative, sorted."""
    out = []
    for parent, dirs, names in os.walk(directory):
        out += [os.path.relpath(os.path.join(parent, n), directory) for n in dirs + names]
    return sorted(out)


# naming


@pytest.mark.parametrize(
    ("name", "segments"),
    [
        ("f.fits", ("f.fits",)),
        ("L2023_712342_HBA", ("L2023_712342_HBA",)),
        ("/belle/MC/run1/f.root", ("belle", "MC", "run1", "f.root")),  # schemas with '/' keep sub-folders
        ("a//b/", ("a", "b")),
        ("...", ("...",)),
        ("x" * 255, ("x" * 255,)),
    ],
)
def test_names_become_path_components(name, segments):
    assert name_segments(name) == segments


@pytest.mark.parametrize("name", ["", "/", ".", "..", "a/../b", "../../etc/passwd", "a/./b", "a\0b", "x" * 256])
def test_names_that_could_leave_the_folder_are_refused(name):
    assert name_segments(name) is None


def test_a_dataset_gets_its_own_folder_and_a_file_its_scopes(folders, mount):
    files = files_of(mount, "f1", "f2")
    plan = folders.plan(DID("s", "ds"), files)
    assert plan.is_collection
    assert plan.folder == ("s", "ds")
    assert [(link.did, link.segments, link.target) for link in plan.links] == [
        ("s:f1", ("s", "ds", "f1"), files[0].path),
        ("s:f2", ("s", "ds", "f2"), files[1].path),
    ]
    (single,) = files_of(mount, "f.fits")
    plan = folders.plan(DID("s", "f.fits"), [single])
    assert not plan.is_collection
    assert plan.folder == ("s",)
    assert [link.segments for link in plan.links] == [("s", "f.fits")]


def test_a_containers_files_of_other_scopes_get_a_sub_folder(folders, mount):
    files = [*files_of(mount, "a"), *files_of(mount, "b", scope="other")]
    plan = folders.plan(DID("s", "container"), files)
    assert [link.segments for link in plan.links] == [("s", "container", "a"), ("s", "container", "other", "b")]


def test_unsafe_names_and_replicas_outside_the_mount_get_no_link(folders, mount, tmp_path):
    plan = folders.plan(DID("s", ".."), files_of(mount, "f1"))
    assert plan.links == ()
    assert plan.unnamed == ("s:f1",)
    outside = tmp_path / "elsewhere"
    outside.write_bytes(b"x")
    files = [LocalFile("s:../up", "s", "../up", replica(mount, "up")), LocalFile("s:o", "s", "o", str(outside))]
    plan = folders.plan(DID("s", "ds"), files)
    assert plan.unnamed == ("s:../up",)
    (link,) = plan.links
    assert link.target is None, "a path outside the notebook's storage is never a link target"


# syncing


def test_sync_links_every_available_file_readably(folders, mount, root):
    files = files_of(mount, "f1", "f2", "f3", missing=("f3",))
    result = folders.sync(folders.plan(DID("s", "ds"), files))
    folder = root / "data-lake" / "s" / "ds"
    assert result.directory == str(folder)
    assert result.linked == {"s:f1": str(folder / "f1"), "s:f2": str(folder / "f2")}
    assert (result.vanished, result.blocked, result.problem) == ([], [], None)
    for f in files[:2]:
        link = folder / f.name
        assert link.is_symlink()
        assert os.readlink(link) == f.path, "absolute targets: the links work wherever the storage is"
        assert link.read_bytes() == f.name.encode()
    assert tree(root) == ["data-lake", "data-lake/s", "data-lake/s/ds", "data-lake/s/ds/f1", "data-lake/s/ds/f2"]
    for made in ("data-lake", "data-lake/s", "data-lake/s/ds"):
        assert stat.S_IMODE((root / made).stat().st_mode) == 0o755 & ~current_umask()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_sync_is_idempotent(folders, mount, root):
    plan = folders.plan(DID("s", "ds"), files_of(mount, "f1", "f2"))
    first = folders.sync(plan)
    inodes = {p: os.lstat(p).st_ino for p in first.linked.values()}
    again = folders.sync(plan)
    assert again == first
    assert {p: os.lstat(p).st_ino for p in again.linked.values()} == inodes, "links are kept, not remade"


def test_a_file_that_is_no_longer_available_loses_its_link_and_empty_folders_go(folders, mount, root):
    files = files_of(mount, "f1", "f2")
    folders.sync(folders.plan(DID("s", "ds"), files))
    later = [files[0], LocalFile("s:f2", "s", "f2", None)]
    result = folders.sync(folders.plan(DID("s", "ds"), later))
    assert list(result.linked) == ["s:f1"]
    assert tree(root / "data-lake") == ["s", "s/ds", "s/ds/f1"]
    nothing = [LocalFile(f.did, f.scope, f.name, None) for f in files]
    result = folders.sync(folders.plan(DID("s", "ds"), nothing))
    assert (result.linked, result.directory) == ({}, None)
    assert tree(root / "data-lake") == [], "the dataset's and the scope's folders went with their last link"
    assert os.path.exists(files[1].path), "the replicas themselves are never touched"


def test_a_file_did_is_linked_in_its_scopes_folder(folders, mount, root):
    (single,) = files_of(mount, "f.fits")
    result = folders.sync(folders.plan(DID("s", "f.fits"), [single]))
    assert result.directory == str(root / "data-lake" / "s")
    assert result.linked == {"s:f.fits": str(root / "data-lake" / "s" / "f.fits")}
    gone = LocalFile(single.did, "s", "f.fits", None)
    assert folders.sync(folders.plan(DID("s", "f.fits"), [gone])).linked == {}
    assert tree(root / "data-lake") == []


def test_a_moved_replica_gets_its_link_replaced(folders, mount, root):
    (f,) = files_of(mount, "f1")
    folders.sync(folders.plan(DID("s", "ds"), [f]))
    moved = mount / "s" / "zz" / "f1"
    moved.parent.mkdir()
    os.rename(f.path, moved)
    result = folders.sync(folders.plan(DID("s", "ds"), [LocalFile("s:f1", "s", "f1", str(moved))]))
    link = root / "data-lake" / "s" / "ds" / "f1"
    assert os.readlink(link) == str(moved)
    assert result.linked == {"s:f1": str(link)}
    assert tree(root / "data-lake" / "s" / "ds") == ["f1"], "no temporary link is left behind"


def test_a_replica_rucio_lists_but_whose_file_is_gone_is_reported_and_unlinked(folders, mount, root):
    files = files_of(mount, "f1", "f2")
    plan = folders.plan(DID("s", "ds"), files)
    folders.sync(plan)
    os.unlink(files[1].path)
    result = folders.sync(plan)
    assert result.vanished == ["s:f2"]
    assert list(result.linked) == ["s:f1"]
    assert tree(root / "data-lake" / "s" / "ds") == ["f1"]


def test_a_did_whose_name_cannot_be_a_folder_touches_nothing(folders, mount, root):
    files = files_of(mount, "f1")
    folders.sync(folders.plan(DID("s", "ds"), files))
    os.unlink(files[0].path)  # a dangling link is left for the tidy
    result = folders.sync(folders.plan(DID("s", "a/../.."), files_of(mount, "f2")))
    assert (result.linked, result.blocked, result.directory) == ({}, ["s:f2"], None)
    assert tree(root / "data-lake") == ["s", "s/ds", "s/ds/f1"]


# kept in sync without Rucio: the tidy


def test_tidy_removes_links_whose_replica_is_gone_and_empty_folders(folders, mount, root):
    ds1 = files_of(mount, "a1", "a2")
    ds2 = files_of(mount, "b1")
    folders.sync(folders.plan(DID("s", "ds1"), ds1))
    folders.sync(folders.plan(DID("s", "ds2"), ds2))
    assert folders.tidy() == 0, "nothing is gone yet"
    os.unlink(ds1[0].path)
    os.unlink(ds2[0].path)  # e.g. Rucio's reaper, once the rule ended
    assert folders.tidy() == 2
    assert tree(root / "data-lake") == ["s", "s/ds1", "s/ds1/a2"]
    assert folders.tidy() == 0


def test_tidy_without_a_folder_does_nothing(folders, root):
    assert folders.tidy() == 0
    assert tree(root) == []


# never outside the folder, never through someone else's link


def test_a_link_of_someone_else_is_neither_followed_nor_replaced(folders, mount, root, tmp_path):
    files = files_of(mount, "f1", "f2")
    folder = root / "data-lake" / "s" / "ds"
    folder.mkdir(parents=True)
    precious = tmp_path / "precious"
    precious.write_bytes(b"mine")
    os.symlink(precious, folder / "f1")  # a link out of the notebook's storage
    (folder / "f2").write_bytes(b"a file of the user's")
    os.symlink(tmp_path / "gone", folder / "dangling")  # dangling, but not into the storage
    result = folders.sync(folders.plan(DID("s", "ds"), files))
    assert result.linked == {}
    assert sorted(result.blocked) == ["s:f1", "s:f2"]
    assert os.readlink(folder / "f1") == str(precious)
    assert precious.read_bytes() == b"mine"
    assert (folder / "f2").read_bytes() == b"a file of the user's"
    assert folders.tidy() == 0
    assert (folder / "dangling").is_symlink(), "only links into the notebook's storage are ever removed"
    # a file that is not available does not remove someone else's link of that name either
    gone = [LocalFile(f.did, f.scope, f.name, None) for f in files]
    folders.sync(folders.plan(DID("s", "ds"), gone))
    assert os.readlink(folder / "f1") == str(precious)


def test_a_folder_swapped_for_a_link_is_not_written_through(folders, mount, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "data-lake").mkdir()
    os.symlink(outside, root / "data-lake" / "s")  # the scope's folder now points elsewhere
    result = folders.sync(folders.plan(DID("s", "ds"), files_of(mount, "f1")))
    assert result.linked == {}
    assert result.blocked == ["s:f1"]
    assert result.directory is None
    assert list(outside.iterdir()) == []
    assert folders.tidy() == 0
    assert list(outside.iterdir()) == []


def test_a_data_lake_folder_that_is_a_link_is_refused_with_a_reason(folders, mount, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "data-lake")
    result = folders.sync(folders.plan(DID("s", "ds"), files_of(mount, "f1")))
    assert result.linked == {}
    assert result.problem is not None
    assert str(root / "data-lake") in result.problem
    assert list(outside.iterdir()) == []


def test_a_data_lake_folder_that_is_a_file_is_refused_with_a_reason(folders, mount, root):
    (root / "data-lake").write_bytes(b"notes")
    result = folders.sync(folders.plan(DID("s", "ds"), files_of(mount, "f1")))
    assert result.linked == {}
    assert "not a plain folder" in (result.problem or "")
    assert (root / "data-lake").read_bytes() == b"notes"


def test_a_root_that_cannot_be_written_is_a_problem_not_an_error(folders, mount, root, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    plan = folders.plan(DID("s", "ds"), files_of(mount, "f1"))
    monkeypatch.setattr(os, "mkdir", refused)  # as for a read-only root (the tests may run as root)
    result = folders.sync(plan)
    assert result.linked == {}
    assert result.problem == f"cannot write in {root / 'data-lake'}: Permission denied"


# the domain functions, with a session


@pytest.fixture
def session(mount):
    return FakeSession(instance_config(notebook_local={"rse": "NB", "mount_path": str(mount)}))


def test_the_folders_of_an_instance(session, root):
    made = DatasetFolders.of(session.config, str(root))
    assert made is not None
    assert made.base == str(root / "data-lake")
    assert DatasetFolders.of(session.config, None) is None
    assert DatasetFolders.of(instance_config(), str(root)) is None, "download mode has no folders"
    off = instance_config(notebook_local={"rse": "NB", "mount_path": "/m", "folder": False})
    assert DatasetFolders.of(off, str(root)) is None


@pytest.mark.asyncio
async def test_sync_folder_runs_off_the_loop_under_the_instances_lock(session, mount, root):
    ran_under_lock = []
    folders = DatasetFolders.of(session.config, str(root))
    assert folders is not None

    async def blocking(func, *, service="Rucio", executor=None):
        ran_under_lock.append((service, session.serialised(("dataset_folders",)).locked()))
        return func()

    session.blocking = blocking
    result = await sync_folder(session, folders, DID("s", "ds"), files_of(mount, "f1"))
    assert list(result.linked) == ["s:f1"]
    assert ran_under_lock == [("the notebook file system", True)]


@pytest.mark.asyncio
async def test_the_availability_poll_tidies_at_most_every_interval(session, mount, root, monkeypatch):
    folders = DatasetFolders.of(session.config, str(root))
    assert folders is not None
    files = files_of(mount, "f1", "f2")
    folders.sync(folders.plan(DID("s", "ds"), files))
    os.unlink(files[0].path)
    task = tidy_soon(session, str(root))
    assert task is not None
    assert await task == 1
    assert tree(root / "data-lake") == ["s", "s/ds", "s/ds/f2"]
    assert tidy_soon(session, str(root)) is None, "within the interval the poll does not tidy again"
    monkeypatch.setattr(dataset_folders, "TIDY_INTERVAL_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    os.unlink(files[1].path)
    task = tidy_soon(session, str(root))
    assert task is not None
    assert await task == 1
    assert tree(root / "data-lake") == []
    assert tidy_soon(session, None) is None, "no root, no folders"


@pytest.mark.asyncio
async def test_a_tidy_that_fails_is_logged_never_raised(session, root, caplog):
    from escape_dlaas.errors import ServiceTimeout

    folders = DatasetFolders.of(session.config, str(root))
    assert folders is not None

    async def hung(func, *, service="Rucio", executor=None):
        raise ServiceTimeout(f"{service} did not answer within 35 s.", service=service)

    session.blocking = hung
    assert await dataset_folders.tidy(session, folders) == 0
    assert "the notebook file system did not answer" in caplog.text


# configuration


def local_instance(name, **local):
    return {
        "name": name,
        "rucio_url": "http://127.0.0.1:1",
        "token_sources": [{"type": "env", "variable": "T"}],
        "notebook_local": {"rse": "NB", "mount_path": "/m", **local},
    }


def folder_of(raw):
    (inst,), _ = parse_instances([raw])
    assert inst.notebook_local is not None
    return inst.notebook_local.folder


def test_the_folder_is_data_lake_unless_chosen_or_turned_off():
    assert folder_of(local_instance("a")) == "data-lake"
    for off in (False, None, ""):
        assert folder_of(local_instance("a", folder=off)) is None
    assert folder_of(local_instance("a", folder="./shared//lake/")) == "shared/lake"


def test_several_instances_get_a_folder_each():
    a, b, c = parse_instances(
        [local_instance("a"), local_instance("b"), local_instance("c", folder="mine")],
    )[0]
    assert [i.notebook_local.folder for i in (a, b, c) if i.notebook_local] == ["data-lake/a", "data-lake/b", "mine"]


@pytest.mark.parametrize(
    ("instances", "field"),
    [
        ([local_instance("a", folder="../up")], "instances[0].notebook_local.folder"),
        ([local_instance("a", folder="/abs")], "instances[0].notebook_local.folder"),
        ([local_instance("a", folder="a/../../b")], "instances[0].notebook_local.folder"),
        ([local_instance("a", folder=3)], "instances[0].notebook_local.folder"),
        ([local_instance("a", folder=True)], "instances[0].notebook_local.folder"),
        (
            [local_instance("a", folder="lake"), local_instance("b", folder="lake/b")],
            "instances[1].notebook_local.folder",
        ),
        (
            [local_instance("a", folder="lake"), local_instance("b", folder="lake")],
            "instances[1].notebook_local.folder",
        ),
    ],
)
def test_bad_folders_are_refused_naming_the_key(instances, field):
    with pytest.raises(ConfigurationError) as caught:
        parse_instances(instances)
    assert caught.value.field == field
