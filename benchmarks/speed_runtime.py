"""The rows of the speed benchmark that use trained models: prediction, start-up, a photo, memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from anchors import keras_predict
from speed_report import Row, at_least, at_most, equals, median
from speed_setup import PHOTO, REPO, Bench

__all__ = ["memory_row", "photo_row", "predict_rows", "run", "startup_rows"]

SET_TARGETS = {"mlp": 20_000, "cnn": 5_000}  # images/s over the whole test set
_IMPORT_TIMES = (
    "import json, time; t0 = time.perf_counter(); import tensorflow; t1 = time.perf_counter(); import keras; "
    "t2 = time.perf_counter(); print(json.dumps({'tensorflow': t1 - t0, 'keras': t2 - t1}))"
)


@dataclass
class Finished:
    """A subprocess that ran to its end: wall seconds, exit code, peak RSS (MB), its output."""

    seconds: float
    code: int
    peak_rss_mb: float
    stdout: str
    stderr: str


def run(command: list[str], env: dict[str, str]) -> Finished:
    """Run ``command`` and time it; ``os.wait4`` gives the peak RSS of this child alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        # ru_maxrss is in kilobytes on Linux (bytes on macOS).
        rss = usage.ru_maxrss / (1024**2 if sys.platform == "darwin" else 1024)
        stdout, stderr = (f.read().decode(errors="replace") for f in (out, err))
        return Finished(seconds, process.returncode, rss, stdout, stderr)


def _failure(finished: Finished) -> str:
    lines = [line for line in finished.stderr.strip().splitlines() if line.strip()]
    return f"exit code {finished.code}: {lines[-1] if lines else 'no message'}"


# --------------------------------------------------------------------------------------------
# Prediction


def _model(bench: Bench, name: str):
    """A model trained earlier in this run, else a freshly built one (speed does not depend on weights)."""
    for (trained, seed, _), result in bench.trained.items():
        if trained == name and seed == 0 and result.model is not None:
            return result.model, f"trained in this run ({result.epochs} epochs on {result.train_size} images)"
    import keras

    from digitzoo import build_model

    keras.utils.set_random_seed(0)
    return build_model(name, compile=False), "untrained weights (speed does not depend on them)"


def _predictor_class():
    try:
        from digitzoo.inference import Predictor
    except ImportError as exc:
        return None, f"digitzoo.inference.Predictor is not importable ({exc}): anchor only"
    return Predictor, ""


def _ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def predict_rows(bench: Bench) -> list[Row]:
    """One image (p50, p99) and the whole test set (images/s) for mlp and cnn, vs ``model.predict``.

    Both sides are warmed up first (one image and the whole set once), so tracing is excluded on
    both; calls then alternate between digitzoo and the anchor.
    """
    predictor_class, missing = _predictor_class()
    rows = []
    for name in ("mlp", "cnn"):
        model, origin = _model(bench, name)
        rows += _predict_model(bench, name, model, origin, predictor_class, missing)
    return rows


def _predict_model(bench, name, model, origin, predictor_class, missing) -> list[Row]:
    s = bench.settings
    x, y = bench.test
    bench.log(f"prediction: {name} ({origin})")
    predictor, build_seconds = None, None
    if predictor_class is not None:
        started = time.perf_counter()
        predictor = predictor_class(model)
        build_seconds = time.perf_counter() - started
        predictor(x[0])
        predictor(x)
    keras_predict(model, x[:1])
    keras_predict(model, x)

    ours, theirs = [], []
    for i in range(s.single_calls):
        image = x[i % len(x)]
        if predictor is not None:
            ours.append(_ms(lambda: predictor(image)))
        theirs.append(_ms(lambda: keras_predict(model, image[None])))

    our_sets, their_sets = [], []
    for rep in range(s.set_repeat):
        sides = [("ours", our_sets), ("theirs", their_sets)]
        for side, times in sides if rep % 2 == 0 else reversed(sides):
            if side == "ours" and predictor is not None:
                times.append(_ms(lambda: predictor(x)) / 1000)
            elif side == "theirs":
                times.append(_ms(lambda: keras_predict(model, x)) / 1000)
    common = {"model": name, "weights": origin, "predictor_build_seconds": build_seconds}
    return [
        _single_row(name, ours, theirs, common, missing),
        _set_row(name, x, y, model, predictor, our_sets, their_sets, common, missing),
    ]


def _percentiles(ms: list[float]) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(ms, q)) for q in (50, 90, 99)} | {"max": max(ms), "calls": len(ms)}


def _single_row(name, ours, theirs, common, missing) -> Row:
    anchor = _percentiles(theirs)
    mine = _percentiles(ours) if ours else {}
    p50, p99 = mine.get("p50"), mine.get("p99")
    return Row(
        row=f"predict-1 {name}",
        what=f"Predictor({name}) on one (28, 28) image, p50 in ms after warm-up vs model.predict on one image",
        value=p50,
        unit="ms",
        anchor="model.predict",
        anchor_value=anchor["p50"],
        ratio=p50 / anchor["p50"] if p50 is not None else None,
        checks=[at_most("p50", p50, 2, " ms"), at_most("p99", p99, 5, " ms")],
        details={**common, "digitzoo_ms": mine, "anchor_ms": anchor},
        note=missing or f"p99 {p99:.2f} ms (anchor p99 {anchor['p99']:.1f} ms)",
    )


def _set_row(name, x, y, model, predictor, our_sets, their_sets, common, missing) -> Row:
    theirs = keras_predict(model, x)
    details = {
        **common,
        "images": len(x),
        "anchor_seconds": their_sets,
        "anchor_test_accuracy": float(np.mean(np.argmax(theirs, 1) == y)),
    }
    rate = accuracy = ratio = None
    if predictor is not None:
        probabilities = np.asarray(predictor(x)).reshape(-1, 10)
        accuracy = float(np.mean(np.argmax(probabilities, 1) == y))
        difference = float(np.max(np.abs(probabilities - theirs)))
        details.update(digitzoo_seconds=our_sets, max_probability_difference=difference)
        rate = len(x) / median(our_sets)
        ratio = median([a / b for a, b in zip(our_sets, their_sets)])
    return Row(
        row=f"predict-set {name}",
        what=f"Predictor({name}) on all {len(x):,} test images at once, images/s, vs model.predict",
        value=rate,
        unit="img/s",
        anchor="model.predict",
        anchor_value=len(x) / median(their_sets),
        ratio=ratio,
        test_accuracy=accuracy,
        checks=[at_least("images/s", rate, SET_TARGETS[name])],
        samples=[len(x) / t for t in our_sets],
        details=details,
        note=missing,
    )


# --------------------------------------------------------------------------------------------
# Start-up, a photo, memory


def startup_rows(bench: Bench) -> list[Row]:
    """Wall time of three instant commands as subprocesses vs ``python -c pass``."""
    exe = bench.cli()
    commands = {"--help": ["--help"], "models": ["models"], "kernels": ["kernels"]}
    baseline, times, codes, failures = [], {k: [] for k in commands}, {k: [] for k in commands}, {}
    for rep in range(bench.settings.startup_runs):
        bench.log(f"start-up: run {rep + 1}/{bench.settings.startup_runs}")
        baseline.append(run([sys.executable, "-c", "pass"], bench.env).seconds)
        for key, args in commands.items():
            if exe is None:
                continue
            finished = run([exe, *args], bench.env)
            times[key].append(finished.seconds)
            codes[key].append(finished.code)
            if finished.code:
                failures[key] = _failure(finished)
    rows = []
    for key in commands:
        value = median(times[key]) if times[key] else None
        ratios = [a / b for a, b in zip(times[key], baseline)]
        rows.append(
            Row(
                row=f"startup {key}",
                what=f"wall time of `digitzoo {key}` as a subprocess vs `python -c pass`",
                value=value,
                anchor="python -c pass",
                anchor_value=median(baseline),
                ratio=median(ratios) if ratios else None,
                checks=[at_most("wall", value, 0.3, " s"), equals("exit code", max(codes[key], default=None), 0)],
                samples=times[key],
                details={"anchor_samples": baseline},
                note="no `digitzoo` command found beside this Python" if exe is None else failures.get(key, ""),
            )
        )
    return rows


def photo_row(bench: Bench) -> Row:
    """``digitzoo predict seven.jpg`` with a cached model, and where its time goes."""
    from digitzoo.predict import predict_stages, read_digits
    from digitzoo.training import train

    s, name = bench.settings, bench.settings.photo_model
    note = ""
    if train(name, cache=bench.cache, only_cached=True, load=False) is None:
        bench.log(f"photo: caching {name!r} with its default recipe, as `digitzoo predict` looks it up")
        trained = train(name, cache=bench.cache)
        note = f"{name} trained first for this row ({trained.train_seconds:.0f} s, not counted); "
    exe = bench.cli()
    if exe is None:
        return Row(row="photo", what="digitzoo predict of one photo", note="no `digitzoo` command found")

    command = [exe, "predict", str(PHOTO)] + (["--model", name] if name != "cnn" else [])  # as a user types it
    walls, imports, loads, pipeline, cold, warm, failure = [], [], [], [], [], [], ""
    for rep in range(s.photo_runs):
        bench.log(f"photo: run {rep + 1}/{s.photo_runs}")
        finished = run(command, bench.env)
        walls.append(finished.seconds)
        if finished.code:
            failure = _failure(finished)
        imported = run([sys.executable, "-c", _IMPORT_TIMES], bench.env)
        imports.append(json.loads(imported.stdout) if imported.code == 0 else {"tensorflow": None, "keras": None})
        started = time.perf_counter()
        model = train(name, cache=bench.cache, only_cached=True).model
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        stages = read_digits(PHOTO)
        pipeline.append(time.perf_counter() - started)
        cold.append(_ms(lambda: predict_stages(model, [stages])) / 1000)
        warm.append(_ms(lambda: predict_stages(model, [stages])) / 1000)
    read = predict_stages(model, [stages])[0].digits
    parts = {
        "import tensorflow": _median_of(imports, "tensorflow"),
        "then import keras": _median_of(imports, "keras"),
        "load cached model": median(loads),
        "image pipeline": median(pipeline),
        "inference, first call": median(cold),
        "inference, warm": median(warm),
    }
    breakdown = ", ".join(f"{k} {v:.3f} s" for k, v in parts.items() if v is not None)
    shown = ["digitzoo", "predict", str(PHOTO.relative_to(REPO)), *command[3:]]
    return Row(
        row="photo",
        what=f"wall time of `{' '.join(shown)}` (cached model) as a subprocess",
        value=None if failure else median(walls),
        samples=walls,
        details={"parts_seconds": parts, "read": read, "model": name, "command": shown},
        note=note + (failure or f"read {read!r}; {breakdown}"),
    )


def _median_of(records: list[dict], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None]
    return median(values) if values else None


def memory_row(bench: Bench) -> Row:
    """Peak RSS of ``digitzoo compare mlp cnn`` training both in an empty home that holds MNIST."""
    exe = bench.cli()
    args = ["compare", "mlp", "cnn", "-q", *bench.settings.memory_args]
    what = f"peak RSS of `digitzoo {' '.join(args)}`, training both from an empty cache"
    if exe is None:
        return Row(row="memory", what=what, note="no `digitzoo` command found")
    home = bench.home.parent / "memory-home"
    home.mkdir(exist_ok=True)
    (home / "mnist.npz").symlink_to(bench.home / "mnist.npz")
    bench.log(f"memory: digitzoo {' '.join(args)}")
    finished = run([exe, *args], {**bench.env, "DIGITZOO_HOME": str(home)})
    return Row(
        row="memory",
        what=what,
        value=finished.peak_rss_mb if finished.code == 0 else None,
        unit="MB",
        details={"command": ["digitzoo", *args], "wall_seconds": finished.seconds, "exit_code": finished.code},
        note=_failure(finished) if finished.code else f"took {finished.seconds:.0f} s",
    )
