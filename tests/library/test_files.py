"""Atomic writes: all or nothing, with ordinary permissions."""

from __future__ import annotations

import os

import pytest

from digitzoo.files import atomic_path


def test_a_failed_write_leaves_the_old_file(tmp_path):
    dest = tmp_path / "result.png"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(dest, suffix=".png") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert dest.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["result.png"]


def test_new_files_follow_the_umask_and_old_ones_keep_their_mode(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "new.png") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.png").stat().st_mode & 0o777 == 0o644
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"x")
    kept.chmod(0o640)
    with atomic_path(kept) as tmp:
        tmp.write_bytes(b"y")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_bytes() == b"y"


def test_stale_temporaries_of_a_killed_writer_are_removed_and_fresh_ones_kept(tmp_path):
    from digitzoo.files import STALE_AFTER, remove_stale_temporaries

    stale = tmp_path / ".cnn-1f.keras.k3x9.tmp.keras"  # as atomic_path names them
    fresh = tmp_path / ".cnn-1f.json.q8z1.tmp.json"
    for path in (stale, fresh, tmp_path / "cnn-1f.keras", tmp_path / ".profile"):
        path.write_bytes(b"x")
    old = os.stat(fresh).st_mtime - STALE_AFTER - 1
    os.utime(stale, (old, old))
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(os.listdir(tmp_path)) == [".cnn-1f.json.q8z1.tmp.json", ".profile", "cnn-1f.keras"]
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_a_temporary_that_cannot_be_prepared_is_not_left_behind(tmp_path, monkeypatch):
    def refuse(path, mode):
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(PermissionError):
        with atomic_path(tmp_path / "result.png") as tmp:
            tmp.write_bytes(b"never")
    assert os.listdir(tmp_path) == []


def test_a_destination_that_cannot_be_written_is_an_oserror_with_nothing_left(tmp_path):
    (tmp_path / "file").write_bytes(b"in the way")
    with pytest.raises(OSError):
        with atomic_path(tmp_path / "file" / "result.png"):
            pass
    (tmp_path / "folder.png").mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        with atomic_path(tmp_path / "folder.png") as tmp:
            tmp.write_bytes(b"new")
    assert sorted(os.listdir(tmp_path)) == ["file", "folder.png"] and os.listdir(tmp_path / "folder.png") == []


def test_read_regular_file_reads_at_most_the_limit_and_only_regular_files(tmp_path):
    from digitzoo.files import FileTooLargeError, NotRegularFileError, read_regular_file

    path = tmp_path / "data.bin"
    path.write_bytes(b"12345")
    assert read_regular_file(path, 5) == b"12345"
    with pytest.raises(FileTooLargeError) as info:
        read_regular_file(path, 4)
    assert (info.value.size, info.value.limit) == (5, 4)
    with pytest.raises(NotRegularFileError) as info:
        read_regular_file(tmp_path, 4)
    assert info.value.kind == "a folder"
    if os.path.exists("/dev/zero"):
        with pytest.raises(NotRegularFileError) as info:
            read_regular_file("/dev/zero", 4)
        assert info.value.kind == "a character device" and str(info.value) == "/dev/zero: is a character device, not a regular file"
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "missing", 4)
