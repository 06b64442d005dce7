"""The model cache: trained models as ``.keras`` files with a JSON sidecar.

A model is stored under a key derived from everything that decides its weights (name,
recipe, builder options, the builder's source, seed, data), so the same request reuses it and
any change trains anew.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import CacheError
from .files import atomic_path, sha256_file
from .paths import models_dir

__all__ = ["FORMAT", "cache_key", "ModelCache"]

FORMAT = 1


def cache_key(
    name: str,
    recipe: dict[str, Any],
    seed: int,
    data: str,
    options: dict[str, Any] | None = None,
    builder: str = "",
) -> str:
    """A short hex key for one training run; ``builder`` identifies the code that builds the model."""
    blob = json.dumps(
        {
            "format": FORMAT,
            "name": name,
            "recipe": recipe,
            "seed": seed,
            "data": data,
            "options": options or {},
            "builder": builder,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ModelCache:
    """Trained models kept in ``root`` (default: ``$DIGITZOO_HOME/models``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else models_dir()

    def paths(self, name: str, key: str) -> tuple[Path, Path]:
        stem = f"{name}-{key}"
        return self.root / f"{stem}.keras", self.root / f"{stem}.json"

    def metadata(self, name: str, key: str) -> dict[str, Any] | None:
        """The sidecar of a cached run, or ``None`` if there is no complete one."""
        model_path, meta_path = self.paths(name, key)
        if not (model_path.exists() and meta_path.exists()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise CacheError(f"cannot read {meta_path}: {exc}; retraining replaces it", remedy="retrain") from None
        if not isinstance(meta, dict) or "sha256" not in meta:
            raise CacheError(f"{meta_path} is not a digitzoo sidecar; retraining replaces it", remedy="retrain")
        return meta

    def lookup(self, name: str, key: str) -> dict[str, Any] | None:
        """The sidecar of a cached run whose file still has its recorded sha256, or ``None``."""
        meta = self.metadata(name, key)
        if meta is None:
            return None
        model_path, _ = self.paths(name, key)
        if sha256_file(model_path) != meta["sha256"]:
            raise CacheError(
                f"cached model {model_path} does not match the sha256 recorded when it was saved "
                "(the file was changed); retraining replaces it",
                remedy="retrain",
            )
        return meta

    def load(self, name: str, key: str):
        """Load a cached model after checking its sha256; ``None`` if it is not cached."""
        if self.lookup(name, key) is None:
            return None
        model_path, _ = self.paths(name, key)
        import keras

        try:
            # safe_mode refuses to deserialise arbitrary code (lambdas) from the file.
            return keras.saving.load_model(model_path, compile=False, safe_mode=True)
        except Exception as exc:
            raise CacheError(f"cannot load {model_path}: {exc}; retraining replaces it", remedy="retrain") from None

    def save(self, model, name: str, key: str, meta: dict[str, Any]) -> dict[str, Any]:
        """Save ``model`` and its sidecar atomically; returns the sidecar as written."""
        model_path, meta_path = self.paths(name, key)
        with atomic_path(model_path, suffix=".keras") as tmp:
            model.save(tmp)
            digest = sha256_file(tmp)
        meta = {**meta, "file": model_path.name, "sha256": digest}
        with atomic_path(meta_path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return meta

    def entries(self) -> list[dict[str, Any]]:
        """Every readable sidecar in the cache, newest first."""
        metas = []
        for path in self.root.glob("*.json"):
            try:
                metas.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        return sorted(metas, key=lambda m: m.get("saved_at", ""), reverse=True)
