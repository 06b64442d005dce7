"""Where an export may write: what the user keeps is never replaced, and a bad path fails before any work."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from digitzoo.export import MARKER, ExportError, check_output, export_model
from digitzoo.registry import build_model
from digitzoo_cli.main import cli


@pytest.fixture
def no_work(monkeypatch):
    """Any attempt to find, train or convert a model fails the test: the path must be refused first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the export started work before checking its output path")

    for target in ("digitzoo.zoo.resolve", "digitzoo.export._onnx_bytes", "digitzoo.export._tflite_bytes",
                   "digitzoo.export._write_savedmodel"):
        monkeypatch.setattr(target, forbidden)


def _user_project(root: Path) -> Path:
    """The issue's folder: notes and code of the user's own."""
    (root / "proj" / "src").mkdir(parents=True)
    (root / "proj" / "notes.txt").write_text("notes\n")
    (root / "proj" / "src" / "main.py").write_text("code\n")
    return root / "proj"


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_of_the_users_is_never_replaced_by_a_savedmodel(tmp_path, monkeypatch, no_work):
    project = _user_project(tmp_path)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["export", "cnn", "--format", "savedmodel", "-o", "proj", "-q"])

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: proj exists and is not a SavedModel that digitzoo wrote; nothing was written: name a new "
        "folder, or replace this one and everything in it (rerun with --force)\n"
    )
    assert _files(project) == {"notes.txt": "notes\n", "src/main.py": "code\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_the_working_folder_and_its_parents_are_refused_even_with_force(tmp_path, monkeypatch, no_work):
    project = _user_project(tmp_path)
    monkeypatch.chdir(project / "src")
    for output in (".", "..", str(tmp_path)):
        result = CliRunner().invoke(cli, ["export", "cnn", "-f", "savedmodel", "-o", output, "--force"])
        assert result.exit_code == 1
        assert result.stderr == f"Error: {output} holds the working folder and cannot be replaced; name a new folder\n"
    assert _files(project) == {"notes.txt": "notes\n", "src/main.py": "code\n"}


@pytest.mark.parametrize(
    ("format", "output", "message"),
    [
        ("onnx", "out.tflite", "an ONNX file is named *.onnx (not .tflite): out.tflite"),
        ("tflite", "out.onnx", "a LiteRT file is named *.tflite (not .onnx): out.onnx"),
        ("onnx", "out", "an ONNX file is named *.onnx (it has no suffix): out"),
        ("savedmodel", "cnn.onnx", "a SavedModel is a folder, but cnn.onnx is named like a .onnx file"),
        ("savedmodel", "cnn.keras", "a SavedModel is a folder, but cnn.keras is named like a .keras file"),
    ],
)
def test_a_name_that_says_another_format_is_a_usage_error(tmp_path, monkeypatch, no_work, format, output, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["export", "cnn", "-f", format, "-o", output])
    assert result.exit_code == 2
    assert f"Error: Invalid value for --output: {message}\n" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_outputs_that_cannot_be_written_are_named_before_any_work(tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir.onnx").mkdir()
    (tmp_path / "afile").write_text("mine\n")
    cases = {
        "adir.onnx": ("onnx", "Error: adir.onnx is a folder; an ONNX export is a file\n"),
        "afile": ("savedmodel", "Error: afile is a file; a SavedModel is a folder\n"),
        "afile/x.onnx": ("onnx", "Error: cannot write afile/x.onnx: "),
    }
    if Path("/proc/self").is_dir():  # a folder nobody may create files in, root included
        cases["/proc/x.onnx"] = ("onnx", "Error: cannot write /proc/x.onnx: ")
    for output, (format, message) in cases.items():
        result = CliRunner().invoke(cli, ["export", "cnn", "-f", format, "-o", output])
        assert result.exit_code == 1, output
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
        assert ".tmp" not in result.stderr  # the user's path, never a temporary file's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.onnx", "afile"]
    assert (tmp_path / "afile").read_text() == "mine\n"


@pytest.mark.slow
def test_only_a_savedmodel_digitzoo_wrote_is_replaced_without_force(tmp_path):
    model = build_model("tiny", compile=False)
    dest = tmp_path / "tiny-savedmodel"
    export_model(model, dest, format="savedmodel")
    assert (dest / MARKER).is_file() and (dest / "saved_model.pb").is_file()
    first = (dest / MARKER).stat().st_ino

    export_model(model, dest, format="savedmodel")  # an export of digitzoo's own: replaced whole
    assert (dest / MARKER).stat().st_ino != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-savedmodel"]  # no temporary left behind

    (dest / MARKER).unlink()  # an export made before the marker existed is recognised too
    export_model(model, dest, format="savedmodel")
    assert (dest / MARKER).is_file()

    (dest / "notes.txt").write_text("mine\n")  # the user added something: no longer only an export
    with pytest.raises(ExportError, match="is not a SavedModel that digitzoo wrote") as excinfo:
        export_model(model, dest, format="savedmodel")
    assert excinfo.value.remedy == "force"
    assert (dest / "notes.txt").read_text() == "mine\n"

    export_model(model, dest, format="savedmodel", force=True)
    assert not (dest / "notes.txt").exists() and (dest / MARKER).is_file()


def test_an_empty_folder_may_take_the_savedmodel(tmp_path):
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", "savedmodel") == tmp_path / "empty"


@pytest.mark.slow
def test_a_full_disk_is_one_line_naming_the_users_file(tmp_path, monkeypatch):
    def full(src, dest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("digitzoo.files.replace_durably", full)
    dest = tmp_path / "tiny.tflite"
    with pytest.raises(ExportError) as excinfo:
        export_model(build_model("tiny", compile=False), dest, format="tflite")
    assert str(excinfo.value) == f"cannot write {dest}: No space left on device"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_quiet_int8_export_prints_nothing_on_stderr(tmp_path, mnist_npz):
    """The converter's own "fully_quantize: 0, inference_type: 6 …" line included (it prints it from C++)."""
    env = {**os.environ, "DIGITZOO_HOME": str(tmp_path / "home")}
    args = ["export", "tiny", "-f", "tflite", "--quantize", "int8", "-q", "--epochs", "1", "--train-size", "600",
            "--data", str(mnist_npz), "-o", str(tmp_path / "tiny.tflite")]
    done = subprocess.run(
        [sys.executable, "-c", "from digitzoo_cli.main import cli; cli(prog_name='digitzoo')", *args],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "wrote " in done.stdout and (tmp_path / "tiny.tflite").is_file()


def test_calibration_images_with_nan_are_refused_before_any_work(tmp_path, no_work):
    import numpy as np

    from digitzoo.errors import ImageError

    images = np.zeros((4, 28, 28), np.float32)
    images[2, 3, 3] = np.nan
    with pytest.raises(ImageError, match=r"images\[2\] contains NaN or infinite values"):
        export_model("cnn", tmp_path / "cnn.tflite", format="tflite", quantize="int8", representative=images)
    assert list(tmp_path.iterdir()) == []
