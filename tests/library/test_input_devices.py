"""Devices and pipes given where a file is expected: refused with one line, never read to the end.

A device reports size 0, so no size check holds for it, and /dev/zero never ends: read whole, it
used to fill the memory and end in a MemoryError traceback. The commands' own test files hold the
cases of predict, filter and data; this one holds train's ``--data``.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from digitzoo_cli.main import cli

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")


def test_train_with_a_device_as_data_is_a_one_line_error(homes):
    result = CliRunner().invoke(cli, ["train", "tiny", "--data", "/dev/zero"])
    assert result.exit_code == 1
    assert result.stderr == "Error: /dev/zero: is a character device, not an .npz file\n"
    assert result.stdout == ""
    assert not (homes / "home" / "models").exists()  # nothing half-written


def test_a_device_as_a_kernel_file_is_refused(tmp_path):
    from digitzoo.errors import KernelError
    from digitzoo.image.kernels import load_kernel, resolve_kernel

    for read in (load_kernel, resolve_kernel):
        with pytest.raises(KernelError) as info:
            read("/dev/zero")
        assert str(info.value) == "/dev/zero: is a character device, not a kernel file"
    with pytest.raises(KernelError) as info:
        resolve_kernel(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: is a folder, not a kernel file"


def test_filter_with_a_device_as_the_kernel_says_what_it_is(tmp_path):
    """Kernel errors are --kernel's usage errors; /dev/zero used to be "unknown kernel '/dev/zero'"."""
    image = tmp_path / "edge.png"
    image.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
        "3a7e9b550000000a4944415478da63f80f00010101001b5f5b6a0000000049454e44ae426082"
    ))  # fmt: skip
    result = CliRunner().invoke(cli, ["filter", str(image), "-k", "/dev/zero", "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: Invalid value for '--kernel': /dev/zero: is a character device, not a kernel file\n")
    assert not (tmp_path / "out.png").exists()


def test_a_kernel_file_over_the_limit_or_claiming_more_than_it_holds_is_not_read(tmp_path, monkeypatch):
    from digitzoo.errors import KernelError
    from digitzoo.image import kernels

    monkeypatch.setattr(kernels, "MAX_KERNEL_FILE_BYTES", 1_000_000)
    text = tmp_path / "big.txt"
    text.write_text("0 " * 750_000)
    with pytest.raises(KernelError) as info:
        kernels.load_kernel(text)
    assert str(info.value) == f"{text}: the file is 1.5 MB (at most 1.0 MB); no kernel is that large"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
    claim = tmp_path / "claim.npy"
    claim.write_bytes(b"\x93NUMPY\x01\x00" + len(header.ljust(118) + "\n").to_bytes(2, "little")
                      + (header.ljust(118) + "\n").encode() + bytes(8))
    with pytest.raises(KernelError) as info:
        kernels.load_kernel(claim)
    assert str(info.value) == (
        f"{claim}: the .npy header claims shape (100000, 100000) of float64, more than the file's 137 bytes hold"
    )
