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

__all__ = ["litert_rows", "memory_row", "photo_rows", "predict_rows", "run", "serve_row", "startup_rows"]

SET_TARGETS = {"mlp": 20_000, "cnn": 5_000}  # images/s over the whole test set


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


# Run in a fresh interpreter with an empty home: the photo read as `digitzoo predict` reads it,
# through one runtime, each step timed. The probabilities let the two runtimes be compared.
_PHOTO_PARTS = """
import json, sys, time
t0 = time.perf_counter()
from digitzoo.calibration import Calibrated
from digitzoo.predict import load_model, predict_stages, read_digits
t1 = time.perf_counter()
model = load_model(sys.argv[3] if len(sys.argv) > 3 else None, runtime=sys.argv[2])
t2 = time.perf_counter()
stages = read_digits(sys.argv[1])
t3 = time.perf_counter()
read = predict_stages(model, [stages], top=10)[0]
t4 = time.perf_counter()
predict_stages(model, [stages])
t5 = time.perf_counter()
print(json.dumps({
    "read": read.digits,
    "model": type(model.model if isinstance(model, Calibrated) else model).__name__,
    "calibrated": isinstance(model, Calibrated),
    "tensorflow_imported": "tensorflow" in sys.modules,
    "probabilities": [dict(g.top) for g in read.guesses],
    "parts": {"import digitzoo.predict": t1 - t0, "load the model": t2 - t1, "image pipeline": t3 - t2,
              "inference, first call": t4 - t3, "inference, warm": t5 - t4},
}))
"""


def _fresh_env(bench: Bench) -> dict[str, str]:
    """A home with neither MNIST nor a cached model: what a fresh install has."""
    home = bench.home.parent / "fresh-home"
    home.mkdir(exist_ok=True)
    return {**bench.env, "DIGITZOO_HOME": str(home)}


def photo_rows(bench: Bench) -> list[Row]:
    """``digitzoo predict seven.jpg`` on a fresh install, and the same read through each runtime.

    ``photo``: the command's wall time, no MNIST and no cache, so it reads with the shipped
    weights (LiteRT). ``photo runtime``: the same read as a fresh script through LiteRT and through
    Keras (``load_model(runtime=...)``), alternating, each step timed apart; the ratio is LiteRT's
    wall over Keras's, and the read and the largest probability difference must agree.
    """
    s, exe, env = bench.settings, bench.cli(), _fresh_env(bench)
    shown = ["digitzoo", "predict", str(PHOTO.relative_to(REPO))]
    walls, reads, failure = [], [], ""
    scripts = {"auto": [], "keras": []}
    for rep in range(s.photo_runs):
        bench.log(f"photo: run {rep + 1}/{s.photo_runs}")
        if exe is not None:
            finished = run([exe, "predict", str(PHOTO), "--json"], env)
            walls.append(finished.seconds)
            if finished.code:
                failure = _failure(finished)
            else:
                reads.append(json.loads(finished.stdout)[0]["digits"])
        for runtime in ("auto", "keras") if rep % 2 == 0 else ("keras", "auto"):
            finished = run([sys.executable, "-c", _PHOTO_PARTS, str(PHOTO), runtime], env)
            if finished.code:
                raise RuntimeError(f"the {runtime} photo script failed: {_failure(finished)}")
            scripts[runtime].append((finished.seconds, json.loads(finished.stdout)))
    value = None if failure or not walls else median(walls)
    photo = Row(
        row="photo",
        what=f"wall time of `{' '.join(shown)}` as a subprocess on a fresh install (no MNIST, empty cache)",
        value=value,
        checks=[at_most("wall", value, 1.5, " s"), equals("read", reads[-1] if reads else None, "7")],
        samples=walls,
        details={"command": shown, "reads": reads},
        note="no `digitzoo` command found" if exe is None else failure,
    )
    return [photo, _runtime_photo_row(scripts)]


def _runtime_photo_row(scripts: dict[str, list]) -> Row:
    lite, keras = scripts["auto"], scripts["keras"]
    parts = {
        side: {k: median([r["parts"][k] for _, r in runs]) for k in runs[0][1]["parts"]}
        for side, runs in (("litert", lite), ("keras", keras))
    }
    last_lite, last_keras = lite[-1][1], keras[-1][1]
    diff = max(
        abs(p[str(d)] - q[str(d)])
        for p, q in zip(last_lite["probabilities"], last_keras["probabilities"])
        for d in range(10)
    )
    value, anchor = median([w for w, _ in lite]), median([w for w, _ in keras])
    breakdown = "; ".join(
        f"{side}: " + ", ".join(f"{k} {v:.3f} s" for k, v in steps.items()) for side, steps in parts.items()
    )
    return Row(
        row="photo runtime",
        what="the photo read by a fresh script with the shipped weights through LiteRT vs through Keras, wall s",
        value=value,
        anchor="Keras runtime",
        anchor_value=anchor,
        ratio=median([a / b for (a, _), (b, _) in zip(lite, keras)]),
        checks=[
            equals("same read", last_lite["read"] == last_keras["read"], True),
            at_most("max |Δp|", diff, 1e-4),
            equals("TensorFlow imported by LiteRT side", last_lite["tensorflow_imported"], False),
        ],
        samples=[w for w, _ in lite],
        details={"anchor_samples": [w for w, _ in keras], "parts_seconds": parts, "max_abs_diff": diff,
                 "reads": {"litert": last_lite["read"], "keras": last_keras["read"]},
                 "models": {"litert": last_lite["model"], "keras": last_keras["model"]}},
        note=f"read {last_lite['read']!r}; {breakdown}",
    )


def ensemble_rows(bench: Bench) -> list[Row]:
    """The shipped ensemble beside the shipped model it averages, both through LiteRT.

    ``ensemble accuracy``: test accuracy (target 99.7 %) against its member's. ``ensemble photo``:
    the photo read by a fresh script on a fresh install (target ≤ 1 s), alternating with the member.
    """
    from digitzoo.weights import load_pretrained, shipped

    ensembles = [info for info in shipped().values() if info.members > 1]
    if not ensembles:
        return [Row(row="ensemble accuracy", what="the shipped ensemble", note="no ensemble is shipped")]
    info = ensembles[0]
    member = _member_of(info.name)
    x, y = bench.test
    models = {name: load_pretrained(name, runtime="litert") for name in (info.name, member)}
    accuracy = {name: float(np.mean(model(x).argmax(1) == y)) for name, model in models.items()}  # and warm-up
    seconds = {info.name: [], member: []}
    for rep in range(bench.settings.set_repeat):
        for name in (info.name, member) if rep % 2 == 0 else (member, info.name):
            seconds[name].append(_ms(lambda: models[name](x)) / 1000)
    env, walls, reads = _fresh_env(bench), {info.name: [], member: []}, []
    for rep in range(bench.settings.photo_runs):
        bench.log(f"ensemble: photo run {rep + 1}/{bench.settings.photo_runs}")
        for name in (info.name, member) if rep % 2 == 0 else (member, info.name):
            finished = run([sys.executable, "-c", _PHOTO_PARTS, str(PHOTO), "auto", name], env)
            if finished.code:
                raise RuntimeError(f"the {name} photo script failed: {_failure(finished)}")
            walls[name].append(finished.seconds)
            if name == info.name:
                reads.append(json.loads(finished.stdout)["read"])
    value, anchor = median(walls[info.name]), median(walls[member])
    return [
        Row(
            row="ensemble accuracy",
            what=f"shipped {info.name} vs shipped {member} through LiteRT: seconds to read {len(x):,} test "
            "images, and the test accuracy",
            value=median(seconds[info.name]),
            anchor=member,
            anchor_value=median(seconds[member]),
            ratio=median([a / b for a, b in zip(seconds[info.name], seconds[member])]),
            test_accuracy=accuracy[info.name],
            checks=[at_least("test accuracy", accuracy[info.name], 0.997)],
            samples=seconds[info.name],
            details={"anchor_samples": seconds[member], "anchor_test_accuracy": accuracy[member],
                     "size": info.litert["size"], "members": info.members},
            note=f"{accuracy[info.name]:.2%} vs {accuracy[member]:.2%}; tflite {info.litert['size'] / 1e6:.2f} MB",
        ),
        Row(
            row="ensemble photo",
            what=f"the photo read by a fresh script (LiteRT, fresh install) with {info.name} vs {member}, wall s",
            value=value,
            anchor=member,
            anchor_value=anchor,
            ratio=median([a / b for a, b in zip(walls[info.name], walls[member])]),
            checks=[at_most("wall", value, 1.0, " s"), equals("read", reads[-1], "7")],
            samples=walls[info.name],
            details={"anchor_samples": walls[member], "reads": reads},
        ),
    ]


def _member_of(name: str) -> str:
    from digitzoo.registry import model_info

    return model_info(name).ensemble.member


def litert_rows(bench: Bench) -> list[Row]:
    """Each shipped model through LiteRT vs Keras (``Predictor``) on the test set: speed and agreement."""
    from digitzoo.inference import Predictor
    from digitzoo.weights import load_pretrained, shipped

    s = bench.settings
    x, _ = bench.test
    rows = []
    for name, info in shipped().items():
        if info.litert is None:
            continue
        bench.log(f"litert: {name}")
        lite, keras = load_pretrained(name, runtime="litert"), Predictor(load_pretrained(name))
        ours, theirs = lite(x), keras(x)  # warm-up, and the outputs compared
        lite_s, keras_s = [], []
        for rep in range(s.set_repeat):
            sides = [(lite, lite_s), (keras, keras_s)]
            for fn, times in sides if rep % 2 == 0 else reversed(sides):
                times.append(_ms(lambda: fn(x)) / 1000)
        diff = float(np.abs(ours - theirs).max())
        differ = int((ours.argmax(1) != theirs.argmax(1)).sum())
        rows.append(
            Row(
                row=f"litert {name}",
                what=f"shipped {name} through LiteRT vs Keras (Predictor) on {len(x):,} test images, images/s",
                value=len(x) / median(lite_s),
                unit="img/s",
                anchor="Keras Predictor",
                anchor_value=len(x) / median(keras_s),
                ratio=median([a / b for a, b in zip(lite_s, keras_s)]),
                checks=[equals("digits that differ", differ, 0), at_most("max |Δp|", diff, 1e-4)],
                samples=[len(x) / t for t in lite_s],
                details={"anchor_samples": [len(x) / t for t in keras_s], "max_abs_diff": diff, "size": info.litert["size"]},
                note=f"max |Δp| {diff:.1e}, {differ} digits differ, file {info.litert['size'] / 1e6:.2f} MB",
            )
        )
    return rows


def serve_row(bench: Bench) -> Row:
    """``digitzoo serve`` on a fresh install: seconds until it answers, then a photo per request."""
    import signal
    import socket
    import urllib.request
    import uuid

    exe, env = bench.cli(), _fresh_env(bench)
    what = "`digitzoo serve` on a fresh install: seconds until /api/models answers; POST seven.jpg to /api/predict"
    if exe is None:
        return Row(row="serve", what=what, note="no `digitzoo` command found")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="seven.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + PHOTO.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{url}/api/predict", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    bench.log("serve: starting digitzoo serve")
    started = time.perf_counter()
    process = subprocess.Popen([exe, "serve", "--port", str(port), "--quiet"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = None
        while ready is None and time.perf_counter() - started < 120 and process.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/api/models", timeout=5):
                    ready = time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        requests, read = [], None
        for _ in range(max(5, bench.settings.photo_runs)) if ready is not None else ():
            t = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                read = json.load(response)["digits"]
            requests.append(time.perf_counter() - t)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    return Row(
        row="serve",
        what=what,
        value=ready,
        checks=[equals("read", read, "7"), equals("exit code on Ctrl-C", code, 130)],
        samples=[ready] if ready is not None else [],
        details={"request_seconds": requests, "first_request": requests[0] if requests else None,
                 "request_median": median(requests[1:]) if len(requests) > 1 else None},
        note=(f"first request {requests[0] * 1000:.0f} ms, then median {median(requests[1:]) * 1000:.0f} ms"
              if len(requests) > 1 else "the server did not answer"),
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
