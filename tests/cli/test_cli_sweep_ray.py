"""digitzoo sweep on Ray: an embedded Ray, a two-node cluster joined by address, a killed worker, Ctrl-C.

Every Ray here runs in a network namespace whose only interface is loopback (see ray_helpers), in a
``digitzoo`` process of its own: the command as a user runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ray_helpers import (
    CLUSTER,
    RAY,
    digitzoo,
    loopback_only,
    namespaces_work,
    processes_with,
    short_temp_folder,
    stop_group,
    wait_for_none,
)

from helpers import sigint_at_default

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not namespaces_work(), reason="Ray is kept off the network in a user and network namespace"),
]

_TIMEOUT = 300


@pytest.fixture
def ray_env(homes, tmp_path, mnist_npz):
    """The environment of a sweep on Ray: the test's homes, a HOME and TMPDIR of its own, MNIST at hand."""
    temp = short_temp_folder()
    (tmp_path / "user").mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "HOME": str(tmp_path / "user"), "DIGITZOO_DATA": str(mnist_npz)}
    env.pop("RAY_ADDRESS", None)
    yield env
    left = wait_for_none(str(temp))
    shutil.rmtree(temp, ignore_errors=True)
    assert not left, f"Ray processes left behind: {left}"


def _models(env) -> list:
    return sorted((Path(env["DIGITZOO_HOME"]) / "models").glob("*.keras"))


def _half_written(env) -> list:
    """Anything in the cache folder but finished pairs (temporaries start with a dot)."""
    folder = Path(env["DIGITZOO_HOME"]) / "models"
    return [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"]


_TINY = ["sweep", "tiny", "--set", "epochs=1,2", "--seeds", "0-1", "--train-size", "300"]


def test_a_sweep_on_an_embedded_ray_caches_every_trial_and_a_rerun_trains_none(ray_env):
    run = subprocess.run(
        loopback_only(*digitzoo(*_TINY, "--workers", "2", "--json")),
        env=ray_env, capture_output=True, text=True, timeout=_TIMEOUT,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert len(report["trials"]) == 4 and not any(t["reused"] for t in report["trials"])
    assert all(t["node_id"] for t in report["trials"])  # they ran on Ray
    assert [(g["setting"], g["seeds"]) for g in sorted(report["groups"], key=lambda g: g["setting"]["epochs"])] == [
        ({"epochs": 1}, [0, 1]),
        ({"epochs": 2}, [0, 1]),
    ]
    for group in report["groups"]:
        runs = [t["test_accuracy"] for t in report["trials"] if t["setting"] == group["setting"]]
        assert group["test_accuracy_mean"] == pytest.approx(sum(runs) / 2)
    assert len(_models(ray_env)) == 4 and not _half_written(ray_env)
    assert sorted(t["model_path"] for t in report["trials"]) == [str(p) for p in _models(ray_env)]
    # Ray's own start-up lines stay off the terminal: only digitzoo's lines.
    lines = run.stderr.splitlines()
    assert all(line.startswith("trial ") for line in lines[:-1]) and lines[-1] == "4 of 4 trials trained, 0 reused, 0 failed"
    assert not list(Path(ray_env["TMPDIR"]).iterdir())  # the embedded Ray's folder went with it

    again = subprocess.run(loopback_only(*digitzoo(*_TINY, "--workers", "2")), env=ray_env,
                           capture_output=True, text=True, timeout=_TIMEOUT)
    assert again.returncode == 0, again.stderr
    assert "0 of 4 trials trained, 4 reused, 0 failed" in again.stderr
    assert "│ tiny  │ epochs=1 │     2 │" in again.stdout and "│ tiny  │ epochs=2 │     2 │" in again.stdout


def test_a_sweep_joins_a_two_node_cluster_with_token_authentication(ray_env, tmp_path):
    # What docs/models.md tells a user to do: a token made once, RAY_AUTH_MODE=token everywhere.
    env = {**ray_env, "RAY_AUTH_MODE": "token"}
    made = subprocess.run([RAY, "get-auth-token", "--generate"], env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert (Path(env["HOME"]) / ".ray" / "auth_token").is_file()
    without_token = {"HOME": str(tmp_path), "RAY_AUTH_MODE": "token"}  # a machine without the token file
    script = (
        f"{' '.join(digitzoo(*_TINY, '--address', '{address}'))} --json > {tmp_path / 'sweep.json'} && "
        f"env HOME={without_token['HOME']} {' '.join(digitzoo(*_TINY, '--address', '{address}', '--retrain'))}"
    )
    run = subprocess.run(
        loopback_only(sys.executable, CLUSTER, str(Path(env["TMPDIR"]) / "c"), "sh", "-c", script),
        env=env, capture_output=True, text=True, timeout=_TIMEOUT,
    )
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert len(report["trials"]) == 4 and not report["failed"]
    assert len({t["node_id"] for t in report["trials"]}) == 2  # one CPU a node: both nodes trained
    assert len(_models(env)) == 4 and all(Path(t["model_path"]).is_file() for t in report["trials"])
    # Joined without the token: one line saying what to set, nothing trained.
    assert run.returncode == 1, run.stderr
    error = run.stderr.splitlines()[-1]
    assert error.startswith("Error: could not join the Ray cluster at 127.0.0.1:"), run.stderr
    assert "RAY_AUTH_MODE=token and the cluster's token" in error


def _started(cmd, env) -> subprocess.Popen:
    return subprocess.Popen(
        loopback_only(*cmd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=sigint_at_default,
    )


def _wait_for_line(process: subprocess.Popen, text: str) -> list[str]:
    seen = []
    for line in process.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never printed {text!r}: {''.join(seen)}")


def test_a_trial_whose_worker_is_killed_is_retried_and_the_sweep_completes(ray_env):
    sweep = _started(digitzoo("sweep", "mlp", "--seeds", "0-1", "--epochs", "2", "--train-size", "3000",
                              "--workers", "2", "--json"), ray_env)
    try:
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and sweep.poll() is None:
            workers = [p for p in processes_with(ray_env["TMPDIR"]) if "ray::_train_remote" in p]
            if workers:
                killed = int(workers[0].split(":")[0])
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        out, err = sweep.communicate(timeout=_TIMEOUT)
    finally:
        stop_group(sweep)
    assert killed is not None, "no trial was seen running"
    assert sweep.returncode == 0, err
    report = json.loads(out)
    assert len(report["trials"]) == 2 and not report["failed"]
    assert len(_models(ray_env)) == 2 and not _half_written(ray_env)


def test_ctrl_c_stops_a_sweep_keeps_finished_trials_and_leaves_no_ray_behind(ray_env):
    args = ["sweep", "tiny", "--set", "epochs=1,40", "--seeds", "0-1", "--train-size", "3000", "--workers", "2"]
    sweep = _started(digitzoo(*args), ray_env)
    try:
        seen = _wait_for_line(sweep, "trial 2/4")  # the two short trials ended; the long ones run
        os.killpg(sweep.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
        _, rest = sweep.communicate(timeout=120)
        err = "".join(seen) + rest
    finally:
        stop_group(sweep)
    assert sweep.returncode == 130, err
    *trials, last = err.splitlines()
    assert last == "Interrupted" and all(line.startswith("trial ") for line in trials), err  # nothing from Ray
    assert len(_models(ray_env)) == 2 and not _half_written(ray_env)
    assert not list(Path(ray_env["TMPDIR"]).iterdir())


def _weights(path) -> list:
    import keras

    return [w.copy() for w in keras.models.load_model(path).get_weights()]


def test_a_deterministic_sweep_trains_what_train_would_on_this_machine(ray_env):
    # Two trials at once get a core each, but a deterministic one keeps the thread count that a
    # plain `train` has here: a sum split over other threads ends in other last bits.
    common = ["--epochs", "1", "--train-size", "3000", "--deterministic"]
    run = subprocess.run(
        loopback_only(*digitzoo("sweep", "cnn", "--seeds", "0-1", "--workers", "2", *common, "--json")),
        env=ray_env, capture_output=True, text=True, timeout=_TIMEOUT,
    )
    assert run.returncode == 0, run.stderr
    (swept,) = [t for t in json.loads(run.stdout)["trials"] if t["seed"] == 0]
    assert swept["node_id"] and swept["deterministic"]
    on_ray = _weights(swept["model_path"])
    again = subprocess.run(digitzoo("train", "cnn", "--seed", "0", *common, "--retrain", "--json"),
                           env=ray_env, capture_output=True, text=True, timeout=_TIMEOUT)
    assert again.returncode == 0, again.stderr
    (trained,) = json.loads(again.stdout)
    assert trained["deterministic"] and trained["test_accuracy"] == swept["test_accuracy"]
    assert all((a == b).all() for a, b in zip(on_ray, _weights(trained["model_path"])))
