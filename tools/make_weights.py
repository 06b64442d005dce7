"""Make the pretrained weights shipped in digitzoo/weights/ (run by hand; the files are committed).

    python tools/make_weights.py [NAME ...] [--out FOLDER] [--litert-only]

Trains each model (default: every shipped one — mlp, cnn, cnn-best, cnn-best-ensemble) with its registered recipe
and seed 0 through digitzoo.training.train on MNIST, so a run already in the model cache is reused,
and writes NAME.keras (the trained model without optimizer state, zip-deflated) and its entry in manifest.json:
sha256, size, train/test accuracy and loss, recipe, seed, training time, library versions, date,
the data fingerprint and the command that remakes it. Entries of other models are kept.
Beside each it writes NAME.tflite, the same model converted by digitzoo.export for the LiteRT
runtime that predict uses (its sha256 and size under "litert"); --litert-only remakes just these
from the .keras files already in the folder, without training.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import zipfile
from pathlib import Path
from typing import Any

from digitzoo.export import export_model
from digitzoo.files import atomic_path, sha256_file
from digitzoo.registry import model_info
from digitzoo.training import train
from digitzoo.weights.manifest import MANIFEST_FORMAT, MANIFEST_NAME, WEIGHTS_DIR, WEIGHTS_TAG

SHIPPED = ("mlp", "cnn", "cnn-best", "cnn-best-ensemble")
SEED = 0


def make(name: str, out: Path) -> dict[str, Any]:
    """Train (or reuse) ``name``, write ``out/NAME.keras`` and return its manifest entry."""
    import keras

    result = train(name, seed=SEED, load=False)
    if result.model_path is None:
        sys.exit(f"{name}: the run was not cached, so there is no file to ship")
    # The cached file holds the optimizer's state too (it is saved compiled); loading it uncompiled
    # and saving again leaves only the weights a user needs, a third of the size for Adam.
    model = keras.saving.load_model(result.model_path, compile=False, safe_mode=True)
    dest = out / f"{name}.keras"
    with atomic_path(dest, suffix=".keras") as tmp:
        model.save(tmp)
        _deflate(tmp)
    return {
        "file": dest.name,
        "sha256": sha256_file(dest),
        "size": dest.stat().st_size,
        "train_accuracy": result.train_accuracy,
        "train_loss": result.train_loss,
        "test_accuracy": result.test_accuracy,
        "test_loss": result.test_loss,
        "recipe": result.recipe,
        "seed": result.seed,
        "train_seconds": round(result.train_seconds, 2),
        "versions": result.versions,
        "date": result.saved_at,
        "data": result.data,
        "command": f"python tools/make_weights.py {shlex.quote(name)}",
        "litert": make_litert(model, name, out),
        "temperature": result.temperature,
        "held_out_size": result.held_out_size,
        "train_size": result.train_size,
        "members": ensemble.size if (ensemble := model_info(name).ensemble) else 1,
    }


def _deflate(path: Path) -> None:
    """Recompress the .keras zip (Keras stores it uncompressed): the HDF5 inside shrinks by about a
    quarter, and Keras reads either."""
    packed = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            out.writestr(item.filename, source.read(item.filename))
    packed.replace(path)


def make_litert(model: Any, name: str, out: Path) -> dict[str, Any]:
    """Write ``out/NAME.tflite`` from the Keras ``model`` and return its ``litert`` manifest field."""
    dest = export_model(model, out / f"{name}.tflite", format="tflite")
    return {"file": dest.name, "sha256": sha256_file(dest), "size": dest.stat().st_size}


def remake_litert(name: str, out: Path) -> dict[str, Any]:
    """The manifest entry of ``name`` in ``out`` with its LiteRT file made anew from ``out/NAME.keras``."""
    import keras

    entry = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))["models"][name]
    model = keras.saving.load_model(out / entry["file"], compile=False, safe_mode=True)
    return dict(entry, litert=make_litert(model, name, out))


def write_manifest(out: Path, entries: dict[str, dict[str, Any]]) -> Path:
    """Merge ``entries`` into ``out/manifest.json`` (other models' entries stay) and write it atomically."""
    path = out / MANIFEST_NAME
    models: dict[str, Any] = {}
    if path.exists():
        models = json.loads(path.read_text(encoding="utf-8"))["models"]
    models.update(entries)
    manifest = {"format": MANIFEST_FORMAT, "weights": WEIGHTS_TAG, "models": dict(sorted(models.items()))}
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"models to make (default: {' '.join(SHIPPED)})")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder of the weights and manifest")
    parser.add_argument(
        "--litert-only", action="store_true", help="only remake the .tflite files from the .keras files, no training"
    )
    args = parser.parse_args(argv)
    entries = {}
    for name in args.names or SHIPPED:
        entries[name] = entry = remake_litert(name, args.out) if args.litert_only else make(name, args.out)
        print(f"{name}: test accuracy {entry['test_accuracy']:.4f}, {entry['size'] / 1e6:.2f} MB", flush=True)
    print(f"wrote {write_manifest(args.out, entries)}")


if __name__ == "__main__":
    main()
