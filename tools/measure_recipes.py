"""Measure each built-in recipe over several seeds and write digitzoo/measured.json (run by hand; committed).

    python tools/measure_recipes.py [NAME ...] [--seeds SPEC] [--workers N]
    python tools/measure_recipes.py --markdown      # the README's table, from measured.json

Trains (or reuses from the model cache) every built-in model (default: all of them) with its
registered recipe once per seed — 0-4, and 0-2 for cnn-best, whose runs take ten minutes each —
through ``digitzoo sweep``'s library (so ``--workers 2`` runs two at once on Ray, each trial on its
share of the cores, whose last bits then differ from a plain ``train``'s), and records per
model the statistics ``digitzoo compare NAME --seeds SPEC`` shows: mean, standard deviation,
min and max of the test accuracy, the mean train accuracy and seconds per run, with the recipe and
parameter count they belong to, the date, the library versions and the command that measured them. Entries of other models are
kept. ``digitzoo models`` and the README state these figures; a recipe that changes loses its
figure until it is measured again.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import date

from digitzoo.files import atomic_path
from digitzoo.measured import MEASURED_FILE
from digitzoo.provenance import recorded_versions
from digitzoo.ray_runner import choose_runner
from digitzoo.registration import BUILTIN_SOURCE
from digitzoo.registry import list_models, model_info
from digitzoo.sweep import run_sweep

SEEDS = "0-4"
#: Models whose runs are long measure fewer seeds (three is the least a spread means anything with).
FEWER_SEEDS = {"cnn-best": "0-2"}


def measure(name: str, seeds: str, workers: int | None) -> dict:
    spec = model_info(name)

    def told(run):
        accuracy = getattr(getattr(run, "result", None), "test_accuracy", None)
        print(f"{run.trial.name}: " + (f"{accuracy:.2%}" if accuracy is not None else f"failed: {run.error}"),
              file=sys.stderr, flush=True)

    result = run_sweep([name], seeds=seeds, runner=choose_runner(workers), on_trial=told)
    if result.failed:
        sys.exit(f"{name}: {len(result.failed)} runs failed: {result.failed[0].error}")
    (group,) = result.groups
    stats = group.stats
    return {
        "recipe": spec.recipe.to_dict(),
        "params": spec.params,
        "seeds": list(result.seeds),
        "test_accuracy_mean": stats.test.mean,
        "test_accuracy_std": stats.test.std,
        "test_accuracy_min": stats.test.min,
        "test_accuracy_max": stats.test.max,
        "train_accuracy_mean": stats.train.mean,
        "seconds_per_run": stats.seconds.mean,
        "runs": [{"seed": r.trial.seed, "test_accuracy": r.result.test_accuracy} for r in group.runs],
        "date": date.today().isoformat(),
        "versions": recorded_versions(),
    }


def markdown() -> str:
    """A row per measured built-in model, as the README shows them."""
    lines = ["| model | seeds | test acc ± sd | min–max | train acc | shipped file (seed 0) |", "| --- | --- | --- | --- | --- | --- |"]
    for name in list_models():
        spec = model_info(name)
        m = spec.measured
        if m is None:
            continue
        shipped = f"{spec.pretrained.test_accuracy:.2%}" if spec.pretrained is not None else "—"
        seeds = f"{m.seeds[0]}–{m.seeds[-1]}" if list(m.seeds) == list(range(m.seeds[0], m.seeds[-1] + 1)) else ", ".join(map(str, m.seeds))
        lines.append(
            f"| `{name}` | {seeds} | {m.test_accuracy_mean:.2%} ± {100 * m.test_accuracy_std:.2f} | "
            f"{m.test_accuracy_min:.2%}–{m.test_accuracy_max:.2%} | {m.train_accuracy_mean:.2%} | {shipped} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="measure_recipes.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="built-in models (default: all)")
    parser.add_argument("--seeds", metavar="SPEC", help=f"seeds of every model (default {SEEDS}, cnn-best 0-2)")
    parser.add_argument("--workers", type=int, default=None, help="trials at once (default: one per core)")
    parser.add_argument("--markdown", action="store_true", help="print the measured figures as a Markdown table")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown())
        return 0
    names = args.names or [n for n in list_models() if model_info(n).source == BUILTIN_SOURCE]
    try:
        entries = json.loads(MEASURED_FILE.read_text())["models"]
    except FileNotFoundError:
        entries = {}
    command = shlex.join(["python", "tools/measure_recipes.py", *(argv if argv is not None else sys.argv[1:])])
    for name in names:
        # Each entry names the command that measured it: --workers changes the threads of a trial,
        # and with them the last bits of its accuracy.
        entries[name] = {**measure(name, args.seeds or FEWER_SEEDS.get(name, SEEDS), args.workers), "command": command}
        document = {"format": 1, "models": dict(sorted(entries.items()))}
        with atomic_path(MEASURED_FILE, suffix=".json") as tmp:  # after each model: hours are not lost
            tmp.write_text(json.dumps(document, indent=2) + "\n")
        entry = entries[name]
        print(f"{name}: {entry['test_accuracy_mean']:.2%} ± {100 * entry['test_accuracy_std']:.2f} "
              f"over seeds {args.seeds or FEWER_SEEDS.get(name, SEEDS)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
