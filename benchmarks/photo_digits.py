"""How well digitzoo reads photos of handwriting: synthetic photos of MNIST test digits.

Draws MNIST *test* digits as ink on paper and chalk on boards (``digitzoo.image.synthetic``), reads
them back with ``digitzoo.predict`` and the zoo's trained model, and reports

* single-digit accuracy over photos of one digit,
* exact-match rate over photos of tidy rows of 2–6 digits (on one baseline, small gaps; every
  digit right, none missed or extra),
* exact-match rate over free-form rows of 2–5 digits, written as on a blank page (each digit at its
  own height and size, gaps up to three digit widths, turned up to 15°, some rows on a slant), and
* how often a broken single digit (cut by one to three blank lines) is read as that one digit,

with a breakdown by condition, beside the model's accuracy on the same digits as raw 28×28 MNIST
(what the photo pipeline could at best reach). The model is the one ``digitzoo predict`` uses:
by default the most accurate shipped model; ``--model NAME`` the cached trained one, else its
shipped weights, else trained first. Each photo is read as ``predict`` reads it, deciding
between one digit and a row from the ink; ``--reading forced`` tells it which instead.

    python benchmarks/photo_digits.py                      # 2000 singles, 500 of each kind of row, 500 broken
    python benchmarks/photo_digits.py --singles 300 --rows 100 --model mlp
    python benchmarks/photo_digits.py --save-failures /tmp/misread
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter, as the CLI does

from digitzoo.data import load_mnist
from digitzoo.errors import DigitzooError
from digitzoo.image.synthetic import synthetic_photos
from digitzoo.predict import classify, load_model, predict_stages, read_digits

_CHUNK = 100  # photos whose pipeline stages are held in memory at once
_GROUPS = ("surface", "size", "rotation", "lighting", "ink")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--singles", type=int, default=2000, help="photos of one digit (default 2000)")
    parser.add_argument("--rows", type=int, default=500, help="photos of 2-6 digits in a tidy row (default 500)")
    parser.add_argument("--free", type=int, default=500, help="photos of 2-5 digits in a free-form row (default 500)")
    parser.add_argument("--broken", type=int, default=500, help="photos of one broken digit (default 500)")
    parser.add_argument("--model", help="zoo model (default: the most accurate shipped one)")
    parser.add_argument(
        "--reading", choices=("auto", "forced"), default="auto",
        help="auto: decide one digit or a row from the ink, as predict does; forced: told which (default auto)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the photo generator (default 0)")
    parser.add_argument("--save-failures", type=Path, metavar="DIR", help="write every misread photo here")
    parser.add_argument("--save-photos", type=Path, metavar="DIR", help="write every photo here, named by its label")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    if min(args.singles, args.rows, args.free, args.broken) < 0:
        parser.error("--singles, --rows, --free and --broken must be 0 or more")
    try:
        return _run(args)
    except DigitzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:

    (_, _), (x_test, y_test) = load_mnist()
    model = load_model(args.model)
    started = time.perf_counter()
    report = {"model": args.model or f"default ({model.name})", "reading": args.reading, "seed": args.seed}
    auto = args.reading == "auto"
    records = {}
    # (count, generator seed, digits per photo, layout); the seeds keep each set's photos fixed
    for kind, (count, seed, digits, layout) in {
        "singles": (args.singles, args.seed, (1, 1), "tidy"),
        "rows": (args.rows, args.seed + 1, (2, 6), "tidy"),
        "free_rows": (args.free, args.seed + 2, (2, 5), "free"),
        "broken": (args.broken, args.seed + 3, (1, 1), "broken"),
    }.items():
        photos = synthetic_photos(x_test, y_test, count, seed=seed, digits=digits, layout=layout)
        records[kind] = list(_read(model, photos, multi=None if auto else digits[0] > 1))
    report["seconds"] = round(time.perf_counter() - started, 1)
    for kind, found in records.items():
        report[kind] = _summary(found)
        if kind.endswith("rows"):
            report[kind]["digits_read"] = sum(len(r["read"]) == len(r["label"]) for r in found) / max(len(found), 1)
        else:
            report[kind]["read_as_one"] = sum(len(r["read"]) == 1 for r in found) / max(len(found), 1)
    everything = [r for found in records.values() for r in found]
    report["raw_mnist_accuracy"] = _raw_accuracy(model, x_test, y_test)
    if args.save_failures:
        _save(args.save_failures, [r for r in everything if r["read"] != r["label"]], failures=True)
    if args.save_photos:
        _save(args.save_photos, everything)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _read(model, photos, *, multi: bool | None):
    """Each photo's label, what was read, and its conditions; in chunks, so memory stays small."""
    chunk = []
    for photo in photos:
        chunk.append(photo)
        if len(chunk) == _CHUNK:
            yield from _read_chunk(model, chunk, multi)
            chunk = []
    yield from _read_chunk(model, chunk, multi)


def _read_chunk(model, photos, multi):
    stages, found = [], []
    for photo in photos:
        try:
            stages.append(read_digits(photo.image, multi=multi))
            found.append(photo)
        except DigitzooError as exc:  # a photo the pipeline refuses counts as misread
            yield _record(photo, "", str(exc))
    for photo, prediction in zip(found, predict_stages(model, stages)):
        yield _record(photo, prediction.digits, "", prediction.reading)


def _record(photo, read: str, error: str, reading: str = "") -> dict:
    return {"label": photo.label, "read": read, "error": error, "reading": reading, "conditions": photo.conditions, "photo": photo}


def _summary(records: list[dict]) -> dict:
    right = [r["read"] == r["label"] for r in records]
    summary = {"photos": len(records), "correct": int(sum(right)), "accuracy": float(np.mean(right)) if right else 0.0}
    for group in _GROUPS:
        counts = defaultdict(lambda: [0, 0])
        for record, ok in zip(records, right):
            key = str(record["conditions"][group])
            counts[key][0] += ok
            counts[key][1] += 1
        summary[group] = {k: {"photos": n, "accuracy": c / n} for k, (c, n) in sorted(counts.items())}
    return summary


def _raw_accuracy(model, x_test, y_test) -> float:
    """The model on all raw 28×28 MNIST test digits: about the best the photos can do."""
    guesses = classify(model, x_test, top=1)
    return float(np.mean([g.digit == int(label) for g, label in zip(guesses, y_test)]))


def _save(folder: Path, records: list[dict], *, failures: bool = False) -> None:
    """Photos as files: ``single-0003-7.jpg``, ``row-0011-40215.png``, ``free-…``, ``broken-…``;
    failures also say what was read."""
    folder.mkdir(parents=True, exist_ok=True)
    counters = defaultdict(int)
    for record in records:
        photo = record["photo"]
        layout = photo.style.layout
        kind = layout if layout != "tidy" else "single" if len(photo.label) == 1 else "row"
        name = f"{kind}-{counters[kind]:04d}-{photo.label}"
        counters[kind] += 1
        if failures:
            name += f"-read-{record['read'] or 'nothing'}"
        (folder / f"{name}{photo.extension}").write_bytes(photo.data)


_TITLES = {
    "singles": "single-digit photos",
    "rows": "tidy rows of 2-6 digits, exact match",
    "free_rows": "free-form rows of 2-5, exact match",
    "broken": "broken single digits",
}


def _print(report: dict) -> None:
    print(f"model {report['model']}, reading {report['reading']}, generator seed {report['seed']}, "
          f"{report['seconds']} s to make and read")
    print(f"{'raw MNIST test set (28×28)':40}{report['raw_mnist_accuracy']:.2%}")
    for kind, title in _TITLES.items():
        summary = report[kind]
        print(f"{title:40}{summary['accuracy']:.2%}  ({summary['correct']}/{summary['photos']})")
        if "digits_read" in summary:
            print(f"{'  with the right number of digits':40}{summary['digits_read']:.2%}")
        elif kind == "broken":
            print(f"{'  read as one digit':40}{summary['read_as_one']:.2%}")
    for kind, title in _TITLES.items():
        print(f"\n{title.split(',')[0]} by condition:")
        for group in _GROUPS:
            cells = "  ".join(f"{k} {v['accuracy']:.1%} ({v['photos']})" for k, v in report[kind][group].items())
            print(f"  {group:9} {cells}")


if __name__ == "__main__":
    sys.exit(main())
