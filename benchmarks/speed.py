"""How fast digitzoo trains and predicts, against plain-Keras anchors run in the same process tree.

Every row puts a digitzoo measurement beside an anchor measured in the same run, one after the
other, on the same verified MNIST arrays; ``ratio`` is digitzoo's time over the anchor's (below 1:
digitzoo is faster), the median of the ratios of paired repetitions. The anchors are written as
their authors wrote them (``benchmarks/anchors.py``).

==========  ================================================================  ===================
row         digitzoo vs anchor                                                target
==========  ================================================================  ===================
mlp         ``train("mlp", epochs=E)`` seconds per epoch vs the tutorial's     ratio ≤ 0.6, test acc
            3×256 MLP script per epoch (E = ``--epochs``, default 5)          within 0.5 pt
overhead    the same ``train`` vs the mlp and its recipe in plain Keras,       ratio ≤ 1.05
            compiled by ``digitzoo.recipe.compile_model``, bare ``fit``
cnn         ``train("cnn")`` seconds (default recipe) per seed (``--seeds``)  ratio ≤ 0.75,
            vs ONE epoch of keras-io ``mnist_convnet`` as published (its fit  acc ≥ 99.3 % each
            / ``--convnet-epochs``, default 2; 54 000 images, 6 000 held out  seed, mean ≥ 99.35 %
            for validation); the ratio to an epoch on all 60 000 images
            without the split is in the note
demo        tiny + mlp + overfit + cnn, default recipes, empty cache, seconds  ≤ 4 keras-io epochs;
            added up, vs ONE keras-io epoch                                   tiny underfits,
                                                                              overfit overfits,
                                                                              mlp ≥ 97.5 %,
                                                                              cnn ≥ 99.3 %
test-pass   the per-epoch test passes (whole test set, batch 1024) of the     (reported)
            demo's four models, seconds added up, vs their training seconds
            (ratio: the share the learning curves add); per model and epoch
            in the note and the JSON
cnn-best    ``train("cnn-best")`` per seed (only with ``--best``; skipped     acc ≥ 99.6 % each,
            with a note if no such model is registered)                       ≤ 600 s each
determ-     ``train(NAME, deterministic=True)`` vs the same run without, for   same weights in
inistic     mlp and lenet5 (5 epochs) and cnn (its recipe), seed 0: median    every deterministic
            of alternating pairs (--repeat); the ratio is what it costs        run
sweep       ``digitzoo sweep mlp --seeds 0-3 --workers 2`` (E epochs, Ray),   ratio ≤ 0.75
            wall seconds vs the same 4 as ``digitzoo train`` commands one
            after another; beside it the 4 by ``train()`` in one process, and
            Ray's start and stop alone
seeds       ``digitzoo compare mlp mlp-dropout mlp-l2 --seeds 0-4`` from an   (reported)
            empty cache: wall seconds, each model's mean ± sd, the verdicts
predict     ``digitzoo.inference.Predictor`` on one image (p50, p99 over      p50 ≤ 2 ms, p99 ≤ 5 ms;
            300 calls after warm-up) and on all 10 000 test images at once    mlp ≥ 20 000 img/s,
            vs ``model.predict`` on the same model and data                   cnn ≥ 5 000 img/s
startup     ``digitzoo --help``, ``models``, ``kernels`` as subprocesses       ≤ 0.3 s each
            (median of 5) vs ``python -c pass``
litert      each shipped model through LiteRT vs through Keras (``Predictor``)  same digit on every
            on the whole test set: images/s (median of 5) and agreement         image, |Δp| ≤ 1e-4
photo       ``digitzoo predict assets/digits/seven.jpg`` on a fresh install     ≤ 1.5 s, reads 7
            (empty home: shipped weights, LiteRT), median of 3; and
            ``photo runtime``: the same read by a fresh script through LiteRT   same read,
            vs through Keras (``load_model(runtime=...)``), each step timed     |Δp| ≤ 1e-4
serve       ``digitzoo serve`` on a fresh install: seconds from the start until   (reported)
            ``/api/models`` answers, then seven.jpg posted to ``/api/predict``
            (first request, median of the next); Ctrl-C must exit 130
memory      peak RSS of ``digitzoo compare mlp cnn --epochs 1`` training both  (reported)
            in an empty home that holds MNIST
==========  ================================================================  ===================

Warm-up. Training rows count tracing and the first epoch's compilation on both sides: every
side builds a fresh model and its timer runs around the whole ``fit`` (digitzoo's
``train_seconds`` is its ``fit`` less the per-epoch test passes, which the anchors do not make:
the test-pass row reports them). Data preparation is outside the timer on both sides. Before
anything is timed, one tiny fit starts TensorFlow's runtime, so neither side pays the process's
one-time start. Prediction rows warm up both sides first (one image and the whole set once), as
latency after warm-up is what they measure; the ``photo`` rows, fresh processes, are cold throughout.

Repetitions. Timings on a shared machine drift by ±30 %: short rows are repeated in alternating
order and reported as medians with their spread (mlp, overhead and deterministic 5 pairs,
whole-set predictions and start-up 5, photo 3; ``--repeat N`` sets them all); the long rows (cnn, demo, cnn-best) run
once per seed. The demo row counts the cnn (and, with ``--smoke``, the mlp) that an earlier row
trained with the very same recipe, seed and data rather than training it twice; the test-pass
row reads the demo row's four results (and trains them itself when run without it). The memory row
trains one epoch each: the arrays and models it holds are those of the full recipes.

The overhead row compiles its anchor with ``anchors.compile_like_digitzoo``, which calls
``digitzoo.recipe.compile_model`` (optimizer, schedule, loss, ``steps_per_execution``): if digitzoo
moves its compile or fit settings into another public helper, that function is the one to change.

Isolation. The run uses its own temporary ``DIGITZOO_HOME`` (MNIST copied in, models cached there,
deleted afterwards) and never writes to the user's cache. MNIST comes from ``--data``, else
``DIGITZOO_DATA``, else wherever digitzoo finds it. Results are printed as a plain table and
written to ``benchmarks/results/speed-YYYYMMDD-HHMMSS.json`` (``--results DIR`` elsewhere) with the
machine (cores, CPU model, RAM), the library versions and the date.

    make bench                                   # every row but cnn-best (20-30 min on 2 cores)
    make bench BENCH_ARGS="--best"               # and cnn-best, seeds 0,1,2 (about 10 min each)
    make bench-best                              # cnn-best alone
    python benchmarks/speed.py --only mlp,overhead --repeat 5
    python benchmarks/speed.py --only cnn --seeds 0,1,2
    python benchmarks/speed.py --smoke --results /tmp/bench

``--smoke`` runs every row's code path on a tiny setting (2 000 training and 1 000 test images,
one epoch, two repetitions) in a minute or two; its numbers say
nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter, as the CLI does

from speed_report import Row, anchor_summary, machine, median, table, versions, write_json  # noqa: E402
from speed_setup import REPO, Bench, Settings, private_home, save_mnist, warm_up  # noqa: E402

ROWS = (
    "mlp", "overhead", "cnn", "demo", "test-pass", "cnn-best", "deterministic", "sweep", "seeds",
    "predict", "litert", "startup", "photo", "ensemble", "serve", "memory",
)
DEFAULT_ROWS = tuple(r for r in ROWS if r != "cnn-best")
RESULTS = REPO / "benchmarks" / "results"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message}\n")


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be whole numbers separated by commas, got {text!r}") from None
    if any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"must be distinct whole numbers >= 0, got {text!r}")
    return seeds


def _rows(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in ROWS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown row {', '.join(unknown) or text!r}; rows are {', '.join(ROWS)}")
    return names


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="speed.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=_rows, metavar="ROWS", help=f"comma-separated rows among {', '.join(ROWS)}")
    parser.add_argument("--best", action="store_true", help="add the cnn-best row (about 10 min per seed)")
    parser.add_argument("--epochs", type=_count, help="epochs of the mlp rows, both sides (default 5)")
    parser.add_argument("--convnet-epochs", type=_count, help="epochs of the keras-io anchor (default 2)")
    parser.add_argument("--seeds", type=_seeds, help="seeds of cnn (default 0-4 as 0,1,2,3,4) and cnn-best (default 0,1,2)")
    parser.add_argument("--repeat", type=_count, help="repetitions of every short row (default 5, photo 3 …)")
    parser.add_argument("--smoke", action="store_true", help="every row's code path on a tiny setting")
    parser.add_argument(
        "--data", type=Path, metavar="PATH", help="MNIST .npz or IDX folder (default: as digitzoo finds it)"
    )
    parser.add_argument("--results", type=Path, metavar="DIR", default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    if args.data is not None and not args.data.exists():
        parser.error(f"--data {args.data}: no such file or folder")
    if args.results.exists() and not args.results.is_dir():
        parser.error(f"--results {args.results}: not a folder")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    changes = {
        k: v
        for k, v in (("epochs", args.epochs), ("convnet_epochs", args.convnet_epochs))
        if v is not None
    }
    if args.repeat is not None:
        changes.update(dict.fromkeys(("repeat", "set_repeat", "startup_runs", "photo_runs"), args.repeat))
    if args.seeds is not None:
        changes.update(seeds=args.seeds, best_seeds=args.seeds)
    return Settings.smoke_run(**changes) if args.smoke else replace(Settings(), **changes)


def _load(args: argparse.Namespace, settings: Settings):
    from digitzoo.data import load_mnist, stratified_subset

    (x, y), (xt, yt) = arrays = load_mnist(args.data)
    if settings.train_size:
        x, y = stratified_subset(x, y, settings.train_size, seed=0)
    if settings.test_size:
        xt, yt = stratified_subset(xt, yt, settings.test_size, seed=0)
    return arrays, ((x, y), (xt, yt))


def measure(bench: Bench, wanted: tuple[str, ...]) -> list[Row]:
    """The wanted rows in table order. A row that fails is reported as failed; the others still run."""
    from speed_experiments import seeds_row, sweep_row
    from speed_runtime import (
        ensemble_rows, litert_rows, memory_row, photo_rows, predict_rows, serve_row, startup_rows,
    )
    from speed_training import best_row, cnn_row, demo_row, deterministic_rows, mlp_rows, test_pass_row

    steps = {
        "mlp": lambda: mlp_rows(bench, set(wanted)),  # mlp and overhead share digitzoo's runs
        "overhead": lambda: [] if "mlp" in wanted else mlp_rows(bench, set(wanted)),
        "cnn": lambda: [cnn_row(bench)],
        "demo": lambda: [demo_row(bench)],
        "test-pass": lambda: [test_pass_row(bench)],  # the demo row's trainings, if it ran
        "cnn-best": lambda: [best_row(bench)],
        "deterministic": lambda: deterministic_rows(bench),
        "sweep": lambda: [sweep_row(bench)],
        "seeds": lambda: [seeds_row(bench)],
        "predict": lambda: predict_rows(bench),
        "startup": lambda: startup_rows(bench),
        "litert": lambda: litert_rows(bench),
        "photo": lambda: photo_rows(bench),
        "ensemble": lambda: ensemble_rows(bench),
        "serve": lambda: [serve_row(bench)],
        "memory": lambda: [memory_row(bench)],
    }
    rows: list[Row] = []
    for name in ROWS:
        if name not in wanted:
            continue
        try:
            rows += steps[name]()
        except Exception as exc:  # noqa: BLE001 - one broken row must not throw away an hour of others
            traceback.print_exc()
            rows.append(Row(row=name, what=f"the {name} row", error=f"{type(exc).__name__}: {exc}"))
    return rows


def _anchors(bench: Bench) -> dict:
    return {
        key: {
            "name": runs[0].name,
            "epochs": runs[0].epochs,
            "fit_seconds": median([r.fit_seconds for r in runs]),
            "seconds_per_epoch": median([r.seconds_per_epoch for r in runs]),
            "test_accuracy": median([r.test_accuracy for r in runs]),
            "runs": [r.to_dict() for r in runs],
        }
        for key, runs in bench.anchors.items()
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = settings_from(args)
    wanted = args.only or DEFAULT_ROWS + (("cnn-best",) if args.best else ())
    started, clock = datetime.now().astimezone(), time.perf_counter()
    from digitzoo.errors import DigitzooError

    try:
        full, (train, test) = _load(args, settings)
        with tempfile.TemporaryDirectory(prefix="digitzoo-bench-") as tmp, private_home(Path(tmp) / "home") as env:
            home = Path(tmp) / "home"
            save_mnist(full, home / "mnist.npz")
            bench = Bench(settings, train, test, home, env)
            bench.log(f"rows {', '.join(wanted)}; {len(train[0])} training and {len(test[0])} test images")
            warm_up()
            rows = measure(bench, wanted)
            anchors = _anchors(bench)
    except DigitzooError as exc:
        print(f"speed.py: error: {exc}", file=sys.stderr)
        return 1
    report = {
        "benchmark": "speed",
        "date": started.isoformat(timespec="seconds"),
        "command": ["benchmarks/speed.py", *(argv if argv is not None else sys.argv[1:])],
        "settings": asdict(settings),
        "machine": machine(),
        "versions": versions(),
        "anchors": anchors,
        "rows": [row.to_dict() for row in rows],
        "seconds": round(time.perf_counter() - clock, 1),
    }
    path = write_json(args.results, report, started)
    print(table(rows))
    if anchors:
        print(anchor_summary(anchors))
    host = report["machine"]
    print(f"\n{host['cores']} cores, {host['cpu']}; took {report['seconds']:.0f} s; wrote {path}")
    failed = [row.row for row in rows if row.error]
    if failed:
        print(f"speed.py: error: row(s) {', '.join(failed)} failed (traceback above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
