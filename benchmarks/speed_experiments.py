"""The experiment rows: a sweep on Ray against the same trials one after another, and compare --seeds.

Both run the commands a user runs, as whole processes, each in a digitzoo home of its own (an empty
cache, MNIST passed with ``--data``), and through ``tools/loopback_only.py`` where ``unshare``
exists, so that the embedded Ray is not reachable from the network while it runs (the namespace
costs nothing measurable; both sides of the sweep row run in one).
"""

from __future__ import annotations

import functools
import json
import sys

from speed_report import Row, at_most
from speed_runtime import _failure, run
from speed_setup import REPO, Bench

__all__ = ["TRIALS", "sweep_row", "seeds_row"]

TRIALS = 4
_SEQUENTIAL = """
import sys
from digitzoo import train
epochs, trials, data = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
size = int(sys.argv[4]) if len(sys.argv) > 4 else None
for seed in range(trials):
    r = train("mlp", epochs=epochs, seed=seed, data=data, train_size=size, load=False)
    print(r.test_accuracy, r.train_seconds)
"""
_RAY_START = """
import time
from digitzoo.ray_runner import _connected, local_cores
started = time.perf_counter()
with _connected(None, local_cores()):
    up = time.perf_counter()
print(up - started, time.perf_counter() - up)
"""


@functools.lru_cache(maxsize=1)
def _namespaces() -> bool:
    sys.path.insert(0, str(REPO / "tools"))
    import loopback_only

    return loopback_only.works()


def _isolated(command: list[str]) -> list[str]:
    if not _namespaces():
        return command
    return [sys.executable, str(REPO / "tools" / "loopback_only.py"), *command]


def _home(bench: Bench, name: str) -> dict[str, str]:
    home = bench.home.parent / name
    home.mkdir()
    return {**bench.env, "DIGITZOO_HOME": str(home)}


def sweep_row(bench: Bench) -> Row:
    """4 mlp trials as one sweep on Ray (--workers 2) vs the same 4 as ``digitzoo train`` commands one
    after another; beside it, the 4 trained one after another by ``train()`` in one process."""
    epochs, data = bench.settings.epochs, str(bench.home / "mnist.npz")
    size = ["--train-size", str(bench.settings.train_size)] if bench.settings.train_size else []
    what = f"`sweep mlp --seeds 0-{TRIALS - 1} --workers 2`, {epochs} epochs"
    bench.log(f"sweep row: {TRIALS} `digitzoo train mlp` commands one after another")
    env = _home(bench, "commands")
    commands = [run(_isolated([bench.cli(), "train", "mlp", "--epochs", str(epochs), "--seed", str(seed), "--data", data,
                               "-q", *size]), env) for seed in range(TRIALS)]
    if failed := next((c for c in commands if c.code != 0), None):
        return Row(row="sweep", what=what, error=f"digitzoo train: {_failure(failed)}")
    bench.log(f"sweep row: the same {TRIALS} by train() in one process")
    script = [sys.executable, "-c", _SEQUENTIAL, str(epochs), str(TRIALS), data, *size[1:]]
    sequential = run(_isolated(script), _home(bench, "sequential"))
    if sequential.code != 0:
        return Row(row="sweep", what=what, error=f"train() one after another: {_failure(sequential)}")
    bench.log(f"sweep row: the same {TRIALS} as a sweep on Ray, two at once")
    args = ["sweep", "mlp", "--seeds", f"0-{TRIALS - 1}", "--epochs", str(epochs), "--workers", "2", "--json",
            "--data", data, *size]
    parallel = run(_isolated([bench.cli(), *args]), _home(bench, "sweep"))
    if parallel.code != 0:
        return Row(row="sweep", what=what, error=f"digitzoo sweep: {_failure(parallel)}")
    bench.log("sweep row: Ray's start and stop alone")
    ray = run(_isolated([sys.executable, "-c", _RAY_START]), bench.env)
    start, stop = (float(v) for v in ray.stdout.split()) if ray.code == 0 else (None, None)
    ours = [t["test_accuracy"] for t in json.loads(parallel.stdout)["trials"]]
    theirs = [float(line.split()[0]) for line in sequential.stdout.split("\n") if line.strip()]
    one_by_one = sum(c.seconds for c in commands)
    ratio, in_process = parallel.seconds / one_by_one, parallel.seconds / sequential.seconds
    ray_note = f"Ray took {start:.1f} s to start and {stop:.1f} s to stop" if start is not None else "Ray's start not measured"
    return Row(
        row="sweep",
        what=what,
        value=parallel.seconds,
        anchor=f"{TRIALS} `digitzoo train` commands one after another",
        anchor_value=one_by_one,
        ratio=ratio,
        test_accuracy=sum(ours) / len(ours),
        checks=[at_most("ratio", round(ratio, 2), 0.75)],
        details={
            "train_command_seconds": [c.seconds for c in commands],
            "in_process_seconds": sequential.seconds,
            "ratio_to_in_process": in_process,
            "ray_start_seconds": start,
            "ray_stop_seconds": stop,
            "sweep_test_accuracies": ours,
            "sequential_test_accuracies": theirs,
            "sweep_peak_rss_mb": parallel.peak_rss_mb,
        },
        note=(f"whole processes, TensorFlow's import included; against the {TRIALS} trained by train() one after "
              f"another in one process ({sequential.seconds:.1f} s) the ratio is {in_process:.2f}; {ray_note}"),
    )


def seeds_row(bench: Bench) -> Row:
    """``digitzoo compare mlp mlp-dropout mlp-l2 --seeds 0-4`` from an empty cache: wall seconds and its verdicts."""
    seeds = "0-1" if bench.settings.smoke else "0-4"
    extra = ["--epochs", "1", "--train-size", str(bench.settings.train_size)] if bench.settings.smoke else []
    what = f"`compare mlp mlp-dropout mlp-l2 --seeds {seeds}`, empty cache"
    bench.log(f"seeds row: {what}")
    args = ["compare", "mlp", "mlp-dropout", "mlp-l2", "--seeds", seeds, "--json", "--data", str(bench.home / "mnist.npz")]
    done = run([bench.cli(), *args, *extra], _home(bench, "seeds"))
    if done.code != 0:
        return Row(row="seeds", what=what, error=f"digitzoo compare: {_failure(done)}")
    report = json.loads(done.stdout)
    models = {m["name"]: m for m in report["models"]}
    verdicts = {c["model"]: c for c in report["comparisons"]}
    trainings = sum(len(m["runs"]) for m in report["models"])
    return Row(
        row="seeds",
        what=what,
        value=done.seconds,
        test_accuracy=models["mlp"]["test_accuracy_mean"],
        details={"trainings": trainings, "models": report["models"], "comparisons": report["comparisons"]},
        note="; ".join(
            [f"{trainings} trainings"]
            + [f"{name} {100 * m['test_accuracy_mean']:.2f}% ± {100 * m['test_accuracy_std']:.2f}" for name, m in models.items()]
            + [f"{name} {100 * c['mean']:+.2f} pt: {c['verdict']}" for name, c in verdicts.items()]
        ),
    )

