"""How every command ends when it is stopped or its output cannot be written: a line, a code, no traceback.

Each case runs ``digitzoo`` in its own process, as a shell would, since signals, closed pipes and
terminal encodings belong to a process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import TESTS, plugin_on_path, sigint_at_default

# The real command group, with one more command that waits: it stands for any long command.
_WAITING = textwrap.dedent(
    """
    import sys, time
    import click
    from digitzoo_cli.main import cli

    @cli.command()
    def wait():
        try:
            print("ready", flush=True)
            time.sleep(60)
        finally:
            print("cleaned up", flush=True)

    cli(prog_name="digitzoo")
    """
)


def _digitzoo(*args: str, code: str = "from digitzoo_cli.main import cli; cli(prog_name='digitzoo')", **options):
    return subprocess.Popen([sys.executable, "-c", code, *args], text=True, preexec_fn=sigint_at_default, **options)


@pytest.mark.parametrize(("sent", "code", "line"), [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")])
def test_a_stopped_command_exits_128_plus_the_signal_after_cleaning_up(sent, code, line):
    process = _digitzoo("wait", code=_WAITING, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline() == "ready\n"
    process.send_signal(sent)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code
    assert err == f"{line}\n"
    assert out == "cleaned up\n"  # finally blocks ran: temporary files are removed, not left behind


@pytest.mark.slow
def test_ctrl_c_during_training_exits_130_and_saves_nothing(tmp_path, mnist_npz):
    args = ["train", "tiny", "--epochs", "500", "--train-size", "1000", "--data", str(mnist_npz)]
    env = dict(os.environ, DIGITZOO_HOME=str(tmp_path))
    process = _digitzoo(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    for progress in process.stderr:
        if progress.startswith("tiny: epoch 2/"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err.splitlines()[-1] == "Interrupted" and "Traceback" not in err
    assert out == ""
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".keras", ".json")]  # no model, no sidecar


def test_an_encoding_that_lacks_a_character_shows_a_question_mark(tmp_path):
    # A plugin model whose description an ASCII locale cannot encode.
    plugin_on_path(
        tmp_path,
        "zoo_wide",
        """
        from digitzoo import Recipe, register_model

        @register_model("wide", description="One Dense layer: 28×28 → 10.", params=7850, recipe=Recipe(),
                        behaviour="underfits")
        def wide():
            raise NotImplementedError
        """,
    )
    env = dict(os.environ, PYTHONIOENCODING="ascii", PYTHONPATH=str(tmp_path))
    process = _digitzoo("models", "wide", stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "28?28" in out and "? 10." in out and "×" not in out  # the table wraps the description


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_to_a_full_disk_is_a_one_line_error():
    with open("/dev/full", "w") as full:
        process = _digitzoo("models", stdout=full, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == "Error: No space left on device\n"


@pytest.mark.parametrize("args", [["models"], ["predict", "--json", "x.png"], ["--help"]])
def test_a_closed_stdout_is_an_error_not_a_silent_success(args):
    code = "from digitzoo_cli.main import cli; cli(prog_name='digitzoo')"
    # As a shell runs `digitzoo models >&-`: the program starts with descriptor 1 closed.
    command = ["sh", "-c", 'exec "$0" "$@" >&-', sys.executable, "-c", code, *args]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == "Error: standard output is closed, so nothing could be shown\n"


def test_a_reader_that_has_gone_ends_the_command_quietly():
    """`digitzoo models | head -1`: once head has gone, there is nothing to say to anyone."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    process = _digitzoo("models", "--json", stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == ""


@pytest.mark.slow
def test_the_signal_tests_hold_when_the_suite_runs_in_the_background(tmp_path):
    """`make test &` starts pytest with SIGINT ignored; the tests above must not depend on how they were started."""
    ignored = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731 -- what a shell does for `&`
    serve_test = str(TESTS / "web" / "test_web_serve.py")
    selected = "test_a_stopped_command_exits_128_plus_the_signal_after_cleaning_up and 130 or signal and Interrupted"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, serve_test, "-k", selected],
        capture_output=True, text=True, preexec_fn=ignored, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


_INTERRUPTED_WITH_TENSORFLOW = textwrap.dedent(
    """
    import atexit, sys, threading, time, types
    from digitzoo_cli.main import cli

    sys.modules.setdefault("tensorflow", types.ModuleType("tensorflow"))  # as after any training
    atexit.register(lambda: print("exit functions ran", flush=True))
    # A thread still working, as TensorFlow's are: the interpreter's teardown would wait for it.
    threading.Thread(target=lambda: (time.sleep(1), print("teardown waited for a thread", flush=True))).start()

    @cli.command()
    def stop():
        raise KeyboardInterrupt

    cli(prog_name="digitzoo")
    """
)


def test_a_stopped_command_with_tensorflow_loaded_skips_the_teardown_but_not_the_exit_functions():
    """TensorFlow's threads can crash the interpreter's teardown after Ctrl-C (exit -11 instead of 130)."""
    process = _digitzoo("stop", code=_INTERRUPTED_WITH_TENSORFLOW, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (130, "Interrupted\n")
    assert out == "exit functions ran\n"  # the teardown, and the crash it could bring, never came
