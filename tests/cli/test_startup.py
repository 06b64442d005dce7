"""What the quick commands import: each runs in a fresh interpreter, as a user's shell would run it.

Start-up time itself is measured by hand (see the commit log), not here: these tests pin down
the imports that made it slow.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from digitzoo_cli.main import _COMMANDS, cli

from helpers import plugin_on_path

HEAVY = ("tensorflow", "keras", "cv2", "numpy")

_PROBE = textwrap.dedent(
    """
    import json, sys
    from digitzoo_cli.main import cli
    try:
        cli.main(sys.argv[1:], prog_name="digitzoo")
    except SystemExit as exit:
        code = exit.code
    print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
    """
)


def _run(*args: str, pythonpath: Path | None = None) -> tuple[str, set[str]]:
    """Run ``digitzoo ARGS`` in a new interpreter; its stdout and the top-level packages it imported."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["exit"] == 0, done.stderr
    return done.stdout, set(report["modules"])


def _packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_imports_no_command_and_nothing_heavy():
    out, modules = _run("--help")
    assert "kernels" in out and "models" in out
    assert _packages(modules).isdisjoint(HEAVY + ("rich",))
    assert not {m for m in modules if m.endswith("_cmd")}
    assert "digitzoo" not in modules


def test_models_imports_nothing_heavy_and_no_other_command():
    out, modules = _run("models")
    assert "mlp" in out and "cnn" in out
    assert _packages(modules).isdisjoint(HEAVY)
    assert {m for m in modules if m.endswith("_cmd")} == {"digitzoo_cli.models_cmd"}


def test_models_lists_a_plugin_from_its_entry_point_without_heavy_imports(tmp_path):
    # A plugin whose builder imports Keras when called, as the built-in models do.
    plugin_on_path(
        tmp_path,
        "zoo_lazy",
        """
        from digitzoo import Recipe, register_model

        @register_model("lazy-softmax", description="One Dense layer.", params=7850,
                        recipe=Recipe(), behaviour="underfits")
        def lazy_softmax():
            import keras
            raise NotImplementedError
        """,
    )
    out, modules = _run("models", "--json", pythonpath=tmp_path)
    sources = {m["name"]: m["source"] for m in json.loads(out)}
    assert sources["lazy-softmax"] == "zoo-lazy"
    assert sources["mlp"] == "built-in"
    assert _packages(modules).isdisjoint(HEAVY)


def test_kernels_needs_numpy_but_nothing_else_heavy():
    out, modules = _run("kernels")
    assert "vertical" in out
    # The named kernels are numpy arrays (digitzoo.image.kernels), so numpy is the one heavy import.
    assert "numpy" in modules
    assert _packages(modules).isdisjoint(("tensorflow", "keras", "cv2"))


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_help_summaries_match_the_commands(name):
    command = cli.get_command(None, name)
    assert command is not None
    assert inspect.cleandoc(command.help).split("\n\n")[0] == _COMMANDS[name][2]


def test_every_command_is_listed():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1].split()
    assert set(_COMMANDS) <= set(listed)


# TensorFlow's start-up lines as TensorFlow 2.21 printed them on a CPU-only machine, and the
# oneDNN notice of other builds.
TF_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795956838.095256    6398 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "I0000 00:00:1795956838.221034    6398 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "E0000 00:00:1795956841.371713    6398 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1721812345.123456    4321 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
]
NOISE_MARKS = ("oneDNN", "cudart_stub", "absl::InitializeLog", "cuInit", "cpu_feature_guard")


@pytest.mark.parametrize("line", TF_NOISE)
def test_the_known_start_up_lines_are_noise(line):
    from digitzoo._tensorflow import NOISE

    assert NOISE.search(line)


@pytest.mark.parametrize(
    "line",
    [
        # Fatal: why the process is about to die.
        "F0000 00:00:1795956838.221034    6398 cpu_feature_guard.cc:81] The TensorFlow library was compiled to use "
        "AVX instructions, but these aren't available on your machine.",
        "UserWarning: Protobuf gencode version 5.28.0 is exactly one major version older than the runtime version",
        "E0000 00:00:1795956841.371713    6398 some_op.cc:52] out of memory",
    ],
)
def test_other_lines_are_not_noise(line):
    from digitzoo._tensorflow import NOISE

    assert not NOISE.search(line)


def _fake_tensorflow(folder: Path, ending: str) -> Path:
    """A ``tensorflow`` package that prints what the real one does while it loads, then ``ending``."""
    package = folder / "tensorflow"
    package.mkdir()
    noise = "".join(f"{line}\n" for line in TF_NOISE).encode()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            f"""
            import os, sys
            os.write(2, {noise!r})
            os.write(2, b"a line of the native library that matters\\n")
            print("a Python warning", file=sys.stderr)
            {ending}

            class config:
                @staticmethod
                def list_physical_devices(kind=None):
                    os.write(2, {noise!r})
                    return []
            """
        )
    )
    return folder


def _import_quietly(pythonpath: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from digitzoo._tensorflow import import_quietly\n"
        "import_quietly()\n"
        "print('imported', file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_import_quietly_drops_tensorflows_lines_and_keeps_the_rest(tmp_path):
    done = _import_quietly(_fake_tensorflow(tmp_path, ""))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["a line of the native library that matters", "a Python warning", "imported"]


def test_a_failing_import_still_shows_its_message(tmp_path):
    ending = "raise ImportError('libtensorflow_framework.so.2: cannot open shared object file')"
    done = _import_quietly(_fake_tensorflow(tmp_path, ending))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[:2] == ["a line of the native library that matters", "a Python warning"]
    assert lines[-1] == "ImportError: libtensorflow_framework.so.2: cannot open shared object file"
    assert not any(mark in done.stderr for mark in NOISE_MARKS)


def test_an_import_that_kills_the_process_still_shows_its_last_words(tmp_path):
    fatal = (
        "F0000 00:00:1795956838.221034    6398 cpu_feature_guard.cc:81] The TensorFlow library was compiled to "
        "use AVX instructions, but these aren't available on your machine."
    )
    done = _import_quietly(_fake_tensorflow(tmp_path, f"os.write(2, {(fatal + chr(10)).encode()!r}); os.abort()"))
    assert done.returncode == -signal.SIGABRT
    assert fatal in done.stderr.splitlines()
    assert "a line of the native library that matters" in done.stderr


@pytest.mark.slow
def test_the_python_api_shows_no_tensorflow_start_up_lines():
    # TensorFlow tries CUDA ("failed call to cuInit") when it first looks for devices, not on import.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = "from digitzoo import build_model; build_model('tiny')(__import__('numpy').zeros((1, 28, 28)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert not any(mark in done.stderr for mark in NOISE_MARKS), done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [False, True])
def test_train_shows_no_tensorflow_start_up_lines(tmp_path, mnist_npz, quiet):
    args = ["train", "tiny", "--epochs", "1", "--train-size", "200", "--data", str(mnist_npz), *(["-q"] if quiet else [])]
    env = dict(os.environ, DIGITZOO_HOME=str(tmp_path))
    command = [sys.executable, "-c", "from digitzoo_cli.main import cli; cli(prog_name='digitzoo')", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "digitzoo train" in done.stdout and "tiny" in done.stdout
    if quiet:
        assert done.stderr == ""
    else:
        assert done.stderr.splitlines()[0].startswith("tiny: epoch 1/1")
        assert not [line for line in done.stderr.splitlines() if any(mark in line for mark in NOISE_MARKS)]


def test_tensorflows_retracing_warning_is_not_shown(caplog):
    """Many trainings in one process (compare --seeds) make TensorFlow warn of retracing: noise to a user."""
    import logging

    from digitzoo._tensorflow import import_quietly

    import_quietly()
    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 13 calls to <function f> triggered tf.function retracing. Tracing is expensive")
        logger.warning("another warning")
    assert [r.getMessage() for r in caplog.records if r.name == "tensorflow"] == ["another warning"]
