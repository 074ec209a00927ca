"""A folder per DID that a person can browse: links named as in Rucio to the replicas next to the notebook.

Rucio lays out the notebook's storage by hash (``lofar/54/e1/<file>``), which shows nothing
useful in a file browser. When the paths of a DID are asked, its folder under Jupyter's root
(``<root>/data-lake/<scope>/<dataset>/<file>``; ``<root>/data-lake/<scope>/<file>`` for a
file DID) gets one symbolic link per file whose replica there is AVAILABLE, with an absolute
target, so the links work wherever the storage is mounted.

Kept in sync at two moments, both off the event loop and serialised per instance:

- asking a DID's paths (:func:`escape_dlaas.domain.paths.local_paths`) syncs that DID's
  folder with Rucio: links added for the files available, removed for those that are not
  (any more), replaced when a replica moved; links whose replica file is gone are removed;
- the panel's availability poll (:func:`tidy_soon`, at most every :data:`TIDY_INTERVAL_SECONDS`)
  removes, in the whole folder, the links whose replica file is gone (Rucio deletes the
  replicas of rules that ended), then the folders left empty. This needs no Rucio call.

Safety: a name from Rucio becomes a path only through :func:`name_segments` ('/' keeps
sub-folders; empty, '.', '..' and NUL are refused); folders are opened one at a time
relative to their parent without following symbolic links, so nothing is written outside
the folder even when a part of it is swapped for a link; an existing link is never
followed, and is replaced or removed only when it points into the notebook's storage;
anything else in the way is left alone (that file then keeps its real path).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from ..config import InstanceConfig
from ..errors import DLaaSError
from .did import DID
from .session import RucioSession

log = logging.getLogger("escape_dlaas.dataset_folders")

FILE_SYSTEM = "the notebook file system"
TIDY_INTERVAL_SECONDS = 30.0
NAME_MAX = 255  # bytes in one path component on the usual Linux file systems
_LOCK = ("dataset_folders",)  # one writer per instance: syncs and tidies never overlap
_TIDIED = "dataset_folders_tidied"  # cache key: when the last tidy started
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_running: set[asyncio.Task[int]] = set()  # tidies under way (a reference keeps them alive)


@dataclass(frozen=True)
class LocalFile:
    """A file of a DID, and its replica's path next to the notebook when it is AVAILABLE there."""

    did: str
    scope: str
    name: str
    path: str | None


@dataclass(frozen=True)
class FileLink:
    """Where one file's link goes under the dataset folder, and its target (None: the file is not here)."""

    did: str
    segments: tuple[str, ...]
    target: str | None


@dataclass(frozen=True)
class FolderPlan:
    """The links wanted for one DID; ``folder`` (segments under the base folder) holds them."""

    folder: tuple[str, ...]
    links: tuple[FileLink, ...]
    is_collection: bool
    unnamed: tuple[str, ...] = ()  # files whose Rucio name cannot be a path here


@dataclass
class SyncResult:
    linked: dict[str, str] = field(default_factory=dict)  # file DID -> absolute path of its link
    vanished: list[str] = field(default_factory=list)  # Rucio says AVAILABLE, but the file is not on disk
    blocked: list[str] = field(default_factory=list)  # no link: something not ours has the name, or no safe name
    directory: str | None = None  # the DID's folder, when it holds a link
    problem: str | None = None  # why there is no folder at all


def name_segments(name: str) -> tuple[str, ...] | None:
    """A Rucio scope or name as path components, or None when it cannot safely be one.

    Some naming schemas put '/' in names: they become sub-folders. Empty components are
    dropped; '.', '..', NUL and components longer than the file system allows are refused.
    """
    parts = tuple(part for part in name.split("/") if part)
    if not parts or any(p in (".", "..") or "\0" in p or len(p.encode()) > NAME_MAX for p in parts):
        return None
    return parts


def _inside(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip("/") + "/")


class _InTheWay(Exception):
    """A component of a folder's path is not a real folder (a file, or a symbolic link)."""


class DatasetFolders:
    """The browsable folders of one instance: ``<root>/<folder>`` with links into ``mount``."""

    def __init__(self, root: str, folder: str, mount: str):
        self.root = os.path.abspath(os.path.expanduser(root))
        self.folder = tuple(folder.split("/"))
        self.base = os.path.join(self.root, *self.folder)
        self.mount = os.path.abspath(mount)

    @classmethod
    def of(cls, config: InstanceConfig, root_dir: str | None) -> DatasetFolders | None:
        """The instance's folders under Jupyter's root; None without notebook storage, root or folder."""
        local = config.notebook_local
        if local is None or not local.folder or not root_dir:
            return None
        return cls(root_dir, local.folder, str(local.mount_path))

    def path(self, segments: Sequence[str]) -> str:
        return os.path.join(self.base, *segments)

    def plan(self, did: DID, files: Sequence[LocalFile]) -> FolderPlan:
        """Where each file of ``did`` is linked: a collection's in its own folder, a file DID in its scope's."""
        scope, name = name_segments(did.scope), name_segments(did.name)
        is_collection = not (len(files) == 1 and files[0].did == str(did))
        if scope is None or name is None:
            return FolderPlan((), (), is_collection, tuple(f.did for f in files))
        folder = scope + name if is_collection else scope + name[:-1]
        links, unnamed = [], []
        for f in files:
            own = name_segments(f.name)
            # a container may hold files of other scopes: each such scope gets a sub-folder
            other_scope = name_segments(f.scope) if is_collection and f.scope != did.scope else ()
            if own is None or other_scope is None:
                unnamed.append(f.did)
                continue
            target = os.path.abspath(f.path) if f.path else None
            linkable = target is not None and _inside(target, self.mount)
            links.append(FileLink(f.did, folder + other_scope + own, target if linkable else None))
        return FolderPlan(folder, tuple(links), is_collection, tuple(unnamed))

    # Everything below runs on a worker thread, one call at a time per instance.

    def sync(self, plan: FolderPlan) -> SyncResult:
        """Make the DID's folder hold a link per available file, and nothing stale of ours."""
        result = SyncResult(blocked=list(plan.unnamed))
        if not plan.folder:
            return result  # the DID's own name cannot be a folder: nothing to do
        try:
            with self._opened_base(create=any(link.target for link in plan.links)) as base:
                if base is None:
                    return result  # no folder yet and nothing to link
                by_parent: dict[tuple[str, ...], list[FileLink]] = {}
                for link in plan.links:
                    by_parent.setdefault(link.segments[:-1], []).append(link)
                for parent, links in by_parent.items():
                    self._sync_links(base, parent, links, result)
                if plan.is_collection:
                    self._tidy_below(base, plan.folder)
                for depth in range(len(plan.folder), 0, -1):
                    if not self._remove_if_empty(base, plan.folder[:depth]):
                        break
        except _InTheWay as blocked:
            result.linked.clear()
            result.problem = f"{blocked} is not a plain folder (a file or a link): no links are made through it"
        except OSError as error:
            result.linked.clear()
            result.problem = f"cannot write in {self.base}: {error.strerror or error}"
        if result.linked:
            result.directory = self.path(plan.folder)
        return result

    def tidy(self) -> int:
        """Remove the links whose replica file is gone, then the empty folders; the number of links removed."""
        try:
            with self._opened_base(create=False) as base:
                return 0 if base is None else self._tidy_tree(base, self.base)
        except (_InTheWay, OSError) as error:
            log.warning("could not tidy %s: %s", self.base, error)
            return 0

    @contextmanager
    def _opened_base(self, create: bool) -> Iterator[int | None]:
        """The base folder, opened (None when missing and not created); the root may be a link, the rest not."""
        root = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            base = _open_path(root, self.root, self.folder, create)
        finally:
            os.close(root)
        try:
            yield base
        finally:
            if base is not None:
                os.close(base)

    def _sync_links(self, base: int, parent: tuple[str, ...], links: list[FileLink], result: SyncResult) -> None:
        """Link (or unlink) the files whose links live in the folder ``parent``."""
        targets: dict[FileLink, str | None] = {}
        for link in links:
            if link.target is not None and not os.path.exists(link.target):
                result.vanished.append(link.did)
                targets[link] = None
            else:
                targets[link] = link.target
        wanted = any(targets.values())
        try:
            directory = _open_path(base, self.base, parent, wanted)
        except _InTheWay:
            result.blocked.extend(link.did for link, target in targets.items() if target)
            return
        if directory is None:
            return  # no folder, so no stale link either
        where = self.path(parent)
        try:
            for link, target in targets.items():
                leaf = link.segments[-1]
                if target is None:
                    self._remove_ours(directory, where, leaf, only_dangling=False)
                elif self._place(directory, where, leaf, target):
                    result.linked[link.did] = self.path(link.segments)
                else:
                    result.blocked.append(link.did)
        finally:
            os.close(directory)

    def _ours(self, directory: int, where: str, leaf: str) -> str | None:
        """The target of the link ``leaf`` when it is one of ours (pointing into the mount), else None."""
        try:
            info = os.stat(leaf, dir_fd=directory, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not stat.S_ISLNK(info.st_mode):
            return None
        target = os.path.normpath(os.path.join(where, os.readlink(leaf, dir_fd=directory)))
        return target if _inside(target, self.mount) else None

    def _place(self, directory: int, where: str, leaf: str, target: str) -> bool:
        """Link ``leaf`` to ``target``; False when something that is not ours has the name."""
        try:
            current = os.readlink(leaf, dir_fd=directory)
        except FileNotFoundError:
            os.symlink(target, leaf, dir_fd=directory)
            return True
        except OSError:
            return False  # not a link (EINVAL): a file or folder someone else put there
        if current == target:
            return True
        if self._ours(directory, where, leaf) is None:
            return False  # a link elsewhere: never replaced
        # the replica moved: swap the link in one step
        temporary = f".escape-dlaas-{secrets.token_hex(8)}"
        os.symlink(target, temporary, dir_fd=directory)
        os.replace(temporary, leaf, src_dir_fd=directory, dst_dir_fd=directory)
        return True

    def _remove_ours(self, directory: int, where: str, leaf: str, *, only_dangling: bool) -> bool:
        target = self._ours(directory, where, leaf)
        if target is None or (only_dangling and os.path.exists(target)):
            return False
        os.unlink(leaf, dir_fd=directory)
        return True

    def _tidy_below(self, base: int, segments: tuple[str, ...]) -> None:
        try:
            folder = _open_path(base, self.base, segments, False)
        except _InTheWay:
            return
        if folder is not None:
            try:
                self._tidy_tree(folder, self.path(segments))
            finally:
                os.close(folder)

    def _tidy_tree(self, directory: int, where: str) -> int:
        """Below ``directory``: remove our links whose target is gone, then the folders left empty."""
        removed = 0
        with os.scandir(directory) as scan:
            entries = [(e.name, e.is_symlink(), e.is_dir(follow_symlinks=False)) for e in scan]
        for name, is_link, is_dir in entries:
            if is_link:
                removed += self._remove_ours(directory, where, name, only_dangling=True)
            elif is_dir:
                try:
                    below = os.open(name, _DIR_FLAGS, dir_fd=directory)
                except OSError:
                    continue  # swapped for something else meanwhile: left alone
                try:
                    removed += self._tidy_tree(below, os.path.join(where, name))
                finally:
                    os.close(below)
                with suppress(OSError):  # not empty: kept
                    os.rmdir(name, dir_fd=directory)
        return removed

    def _remove_if_empty(self, base: int, segments: tuple[str, ...]) -> bool:
        """Remove the folder ``segments`` if empty; whether it is gone (so that its parent may be next)."""
        try:
            parent = _open_path(base, self.base, segments[:-1], False)
        except _InTheWay:
            return False
        if parent is None:
            return True
        try:
            os.rmdir(segments[-1], dir_fd=parent)
        except FileNotFoundError:
            return True
        except OSError:
            return False  # not empty, or not a folder: kept
        finally:
            os.close(parent)
        return True


def _open_path(parent: int, parent_path: str, segments: Sequence[str], create: bool) -> int | None:
    """Open the folder ``segments`` below ``parent`` one component at a time, never following a link.

    Missing folders are made (0755) when ``create``, else None is answered. A component
    that is a file or a link raises :class:`_InTheWay`: nothing below it is touched.
    """
    current = os.dup(parent)
    path = parent_path
    try:
        for segment in segments:
            path = os.path.join(path, segment)
            below = _open_below(current, segment, create, path)
            if below is None:
                return None
            os.close(current)
            current = below
        opened, current = current, -1
        return opened
    finally:
        if current != -1:
            os.close(current)


def _open_below(parent: int, segment: str, create: bool, path: str) -> int | None:
    for attempt in (1, 2):
        try:
            return os.open(segment, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create or attempt == 2:
                return None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _InTheWay(path) from None
            raise
        with suppress(FileExistsError):
            os.mkdir(segment, 0o755, dir_fd=parent)
    return None


async def sync_folder(
    session: RucioSession, folders: DatasetFolders, did: DID, files: Sequence[LocalFile]
) -> SyncResult:
    """Sync the folder of ``did`` (see :meth:`DatasetFolders.sync`) off the event loop."""
    plan = folders.plan(did, files)
    async with session.serialised(_LOCK):
        return await session.blocking(lambda: folders.sync(plan), service=FILE_SYSTEM)


def tidy_soon(session: RucioSession, root_dir: str | None) -> asyncio.Task[int] | None:
    """Start a tidy of the instance's folders in the background, at most every TIDY_INTERVAL_SECONDS."""
    folders = DatasetFolders.of(session.config, root_dir)
    if folders is None or session.cache.get(_TIDIED, TIDY_INTERVAL_SECONDS) is not None:
        return None
    session.cache.put(_TIDIED, True)
    task = asyncio.ensure_future(tidy(session, folders))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def tidy(session: RucioSession, folders: DatasetFolders) -> int:
    """Remove the links whose replica file is gone, and empty folders; never raises (it runs unasked)."""
    try:
        async with session.serialised(_LOCK):
            return await session.blocking(folders.tidy, service=FILE_SYSTEM)
    except DLaaSError as error:
        log.warning("could not tidy %s: %s", folders.base, error.message)
    except Exception:
        log.exception("could not tidy %s", folders.base)
    return 0
