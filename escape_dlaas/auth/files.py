"""Reading and writing small secret files (tokens, passwords, client secrets) safely.

Paths come from the administrator's configuration or the WLCG conventions, never
from the browser. A symlink, a non-regular file or a file others can read is
refused: a token someone else can read is already leaked, and one someone else
can replace lets them choose who we act as.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError

MAX_SECRET_BYTES = 64 * 1024  # far above any real token; stops us reading a huge file by mistake


@dataclass(frozen=True)
class FileStamp:
    """What changes when a file is rewritten (in place or by rename) or re-permissioned."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    mode: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStamp:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


def stamp(path: Path) -> FileStamp:
    """The file's stamp without following a symlink; FileNotFoundError if absent."""
    return FileStamp.of(os.lstat(path))


def _mode_text(mode: int) -> str:
    return oct(stat.S_IMODE(mode))[2:].rjust(4, "0")


def read_private_text(
    path: Path,
    *,
    what: str,
    refuse_bits: int,
    require_owner: bool = False,
) -> tuple[str, FileStamp]:
    """Read a secret file; return its text stripped of surrounding whitespace, and its stamp.

    ``refuse_bits``: permission bits that make the file unacceptable (e.g. ``0o077``
    for "only the owner may read it", ``0o006`` for "not world-readable/writable").
    Raises FileNotFoundError when the file does not exist (the caller says what that
    means) and ConfigurationError when it exists but must not be used.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # O_NONBLOCK: a FIFO must not hang us
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as error:
        if os.path.islink(path):
            raise ConfigurationError(
                f"{what} {path} is a symbolic link; refusing to follow it. Point the configuration at the real file."
            ) from None
        raise ConfigurationError(f"{what} {path} cannot be read: {error.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigurationError(f"{what} {path} is not a regular file; refusing to read it.")
        if st.st_mode & refuse_bits:
            allowed = _mode_text(0o666 & ~refuse_bits)
            raise ConfigurationError(
                f"{what} {path} has permissions {_mode_text(st.st_mode)}, which let other users read or change it. "
                f"Make it private (at most {allowed}, e.g. `chmod 600 {path}`)."
            )
        if require_owner and st.st_uid != os.geteuid():
            raise ConfigurationError(f"{what} {path} belongs to another user (uid {st.st_uid}); refusing to use it.")
        if st.st_size > MAX_SECRET_BYTES:
            raise ConfigurationError(f"{what} {path} is {st.st_size} bytes: too large to be a token or secret.")
        data = os.read(fd, MAX_SECRET_BYTES + 1)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{what} {path} is not UTF-8 text.") from None
    return text.strip(), FileStamp.of(st)


def write_private_file(directory: Path, name: str, content: str) -> Path:
    """Atomically write ``content`` (as is: no newline added) to ``directory/name``.

    The directory is created 0700 if needed and must be a real directory owned by
    us; the file is created 0600 without following symlinks and moved into place
    with os.replace, so a reader never sees a half-written token.
    """
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise ValueError(f"not a plain file name: {name!r}")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise ConfigurationError(
            f"token directory {directory} cannot be used ({error.strerror}); it must be a real directory, not a link."
        ) from None
    try:
        st = os.fstat(dir_fd)
        if st.st_uid != os.geteuid():
            raise ConfigurationError(f"token directory {directory} belongs to another user; refusing to write there.")
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.fchmod(dir_fd, 0o700)
        temp_name = f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(
            temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd
        )
        try:
            try:
                os.fchmod(fd, 0o600)  # the umask could only remove bits, but be explicit
                data = memoryview(content.encode("utf-8"))
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)
    return directory / name
