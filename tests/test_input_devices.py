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
