"""``digitzoo data``: the source table, JSON, fetching, and one-line errors."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo import data
from digitzoo_cli.main import cli


pytestmark = pytest.mark.usefixtures("homes")


@pytest.fixture
def cached(homes, mnist_npz):
    """The tmp digitzoo cache, holding verified MNIST."""
    cache = homes / "home" / "mnist.npz"
    cache.parent.mkdir()
    shutil.copy(mnist_npz, cache)
    return cache


def test_data_shows_the_sources_and_the_choice(cached):
    result = CliRunner().invoke(cli, ["data"])
    assert result.exit_code == 0, result.output
    for name in ("digitzoo cache", "keras cache", "download"):
        assert name in result.stdout
    assert result.stdout.rstrip().endswith(f"load_mnist would use the digitzoo cache ({cached})")


def test_data_without_local_copy_says_it_would_download(homes):
    result = CliRunner().invoke(cli, ["data"])
    assert result.exit_code == 0, result.output
    assert "No verified local copy: load_mnist would download MNIST (download)" in result.stdout


def test_data_json(cached):
    result = CliRunner().invoke(cli, ["data", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(s["name"], s["exists"], s["verified"]) for s in report["sources"]] == [
        ("digitzoo cache", True, True),
        ("keras cache", False, None),
        ("download", False, None),
    ]
    assert report["sources"][0]["location"] == str(cached)


def test_data_with_a_good_data_path(mnist_npz):
    result = CliRunner().invoke(cli, ["data", "--json", "--data", str(mnist_npz)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sources"][0]["name"] == "data path" and report["sources"][0]["verified"] is True
    assert report["would_use"] == f"load_mnist would use {mnist_npz}"


def test_data_with_a_missing_data_path_is_a_one_line_error(homes):
    result = CliRunner().invoke(cli, ["data", "--data", "missing.npz"])
    assert result.exit_code == 1
    assert result.output == "Error: MNIST data path missing.npz: no such file or directory\n"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_data_with_a_device_as_the_data_path_is_a_one_line_error(homes):
    """/dev/zero reports size 0 and has no end: it used to be read into a MemoryError traceback."""
    result = CliRunner().invoke(cli, ["data", "--data", "/dev/zero"])
    assert result.exit_code == 1
    assert result.output == "Error: /dev/zero: is a character device, not an .npz file\n"


def test_data_with_a_corrupted_data_path(homes, mnist_npz):
    bad = homes / "bad.npz"
    with np.load(mnist_npz) as npz:
        arrays = dict(npz)
    arrays["y_test"][0] = (arrays["y_test"][0] + 1) % 10
    np.savez(bad, **arrays)
    result = CliRunner().invoke(cli, ["data", "--data", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}: y_test is not MNIST (sha256 ")
    assert result.output.count("\n") == 1


def test_fetch_with_a_cache_needs_no_network(cached):
    result = CliRunner().invoke(cli, ["data", "--fetch"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"MNIST is verified and cached at {cached}\n"
    assert "verifying..." in result.stderr  # plain progress lines: stderr is not a terminal


def test_fetch_json(cached):
    result = CliRunner().invoke(cli, ["data", "--fetch", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"path": str(cached), "fingerprint": data.MNIST_FINGERPRINT}


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("warning: ")]


def test_fetch_offline_is_an_error_that_says_what_to_do(homes):
    result = CliRunner().invoke(cli, ["data", "--fetch"])
    assert result.exit_code == 1
    assert "warning: skipping the download: offline (test)\n" in result.stderr  # said as it happens
    [error] = _error_lines(result.stderr)
    assert error.startswith("Error: MNIST is not available; tried ")
    assert "download (nowhere): offline (test)" in error
    assert error.endswith("or set DIGITZOO_DATA to that path")  # --data cannot be combined with --fetch
    assert result.stdout == ""


def test_a_command_with_data_option_names_it_when_mnist_is_missing(homes):
    result = CliRunner().invoke(cli, ["train", "tiny", "--quiet"])
    assert result.exit_code == 1
    [error] = _error_lines(result.stderr)
    assert error.startswith("Error: MNIST is not available; tried ")
    assert error.endswith("or set DIGITZOO_DATA to that path (rerun with --data PATH)")


def test_fetch_into_a_home_that_is_a_file_fails_before_downloading(homes):
    (homes / "home").write_text("not a folder")
    result = CliRunner().invoke(cli, ["data", "--fetch"])
    assert result.exit_code == 1
    home = homes / "home"
    expected = f"Error: cannot save MNIST in {home}: not a folder; point $DIGITZOO_HOME at a writable folder\n"
    assert result.stderr == expected


def test_fetch_shows_skipped_sources_as_warnings(homes, mnist_npz):
    keras = homes / "keras" / "datasets" / "mnist.npz"
    keras.parent.mkdir(parents=True)
    shutil.copy(mnist_npz, keras)  # not Keras's file, so its sha256 is refused
    result = CliRunner().invoke(cli, ["data", "--fetch"])
    assert result.exit_code == 1
    assert "warning: skipping the keras cache: " in result.stderr


def test_fetch_and_data_cannot_be_combined(mnist_npz):
    result = CliRunner().invoke(cli, ["data", "--fetch", "--data", str(mnist_npz)])
    assert result.exit_code == 2
    assert "Invalid value for --data: cannot be combined with --fetch" in result.output
