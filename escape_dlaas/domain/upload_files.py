"""Local files to upload: those chosen under Jupyter's root (nothing outside it), their adler32, the chunked copy."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from .did import name_problem

CHUNK_BYTES = 4 * 1024 * 1024


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
