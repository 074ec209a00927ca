"""Reading and writing secret files: permissions, symlinks, atomic replacement."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from escape_dlaas.auth.files import read_private_text, stamp, write_private_file
from escape_dlaas.errors import ConfigurationError


def private_file(path, text, mode=0o600):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_reads_and_strips_a_private_file(tmp_path):
    path = private_file(tmp_path / "t", "  abc.def \n\n")
    text, file_stamp = read_private_text(path, what="token file", refuse_bits=0o077)
    assert text == "abc.def"
    assert file_stamp == stamp(path)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602])
def test_refuses_a_world_readable_or_writable_file(tmp_path, mode):
    path = private_file(tmp_path / "t", "abc", mode)
    with pytest.raises(ConfigurationError, match=r"chmod 600") as refused:
        read_private_text(path, what="token file", refuse_bits=0o006)
    assert oct(mode)[2:] in refused.value.message


def test_group_bits_are_refused_only_when_asked(tmp_path):
    path = private_file(tmp_path / "t", "abc", 0o640)
    assert read_private_text(path, what="token file", refuse_bits=0o006)[0] == "abc"
    with pytest.raises(ConfigurationError, match="0640"):
        read_private_text(path, what="client secret", refuse_bits=0o077)


def test_refuses_a_symlink_even_to_a_private_file(tmp_path):
    target = private_file(tmp_path / "real", "abc")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        read_private_text(link, what="token file", refuse_bits=0o006)


def test_refuses_non_regular_files_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read_private_text(fifo, what="token file", refuse_bits=0o006)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read_private_text(tmp_path, what="token file", refuse_bits=0o006)


def test_refuses_a_file_of_another_user_when_ownership_matters(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    path = private_file(tmp_path / "t", "abc")
    os.chown(path, 4242, -1)
    assert read_private_text(path, what="t", refuse_bits=0o006)[0] == "abc"
    with pytest.raises(ConfigurationError, match="another user"):
        read_private_text(path, what="t", refuse_bits=0o006, require_owner=True)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_private_text(tmp_path / "absent", what="t", refuse_bits=0o006)


def test_refuses_huge_and_binary_files(tmp_path):
    big = private_file(tmp_path / "big", "x" * 70_000)
    with pytest.raises(ConfigurationError, match="too large"):
        read_private_text(big, what="t", refuse_bits=0o006)
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00")
    binary.chmod(0o600)
    with pytest.raises(ConfigurationError, match="UTF-8"):
        read_private_text(binary, what="t", refuse_bits=0o006)


def test_write_creates_private_file_in_private_dir_without_newline(tmp_path):
    directory = tmp_path / "tokens" / "nested"
    path = write_private_file(directory, "rucio.token", "abc.def.ghi")
    assert path == directory / "rucio.token"
    assert path.read_bytes() == b"abc.def.ghi"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(os.listdir(directory)) == ["rucio.token"]  # no temporary file left behind


def test_write_tightens_an_existing_directory_and_replaces_atomically(tmp_path):
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    write_private_file(directory, "t", "first")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    inode_before = (directory / "t").stat().st_ino
    write_private_file(directory, "t", "second")
    assert (directory / "t").read_text() == "second"
    assert (directory / "t").stat().st_ino != inode_before  # a new file moved in, not rewritten in place


def test_write_replaces_a_symlink_instead_of_following_it(tmp_path):
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (directory / "t").symlink_to(victim)
    write_private_file(directory, "t", "token")
    assert victim.read_text() == "keep me"
    assert not (directory / "t").is_symlink()
    assert (directory / "t").read_text() == "token"


def test_write_refuses_a_symlinked_directory_and_bad_names(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ConfigurationError, match="not a link"):
        write_private_file(link, "t", "token")
    for name in ("", "a/b", "..", "."):
        with pytest.raises(ValueError, match="plain file name"):
            write_private_file(real, name, "token")


def test_concurrent_readers_never_see_a_partial_token(tmp_path):
    directory = tmp_path / "tokens"
    tokens = ["A" * 4000, "B" * 4000]
    write_private_file(directory, "t", tokens[0])
    seen: set[str] = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.add(read_private_text(directory / "t", what="t", refuse_bits=0o077)[0])

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(200):
        write_private_file(directory, "t", tokens[i % 2])
    stop.set()
    thread.join()
    assert seen <= set(tokens)
