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
