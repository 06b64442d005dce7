"""The model cache: trained models as ``.keras`` files with a JSON sidecar.

A model is stored under a key derived from everything that decides its weights (name, recipe,
builder options, seed, data, and the code: the builder's module and the ``digitzoo.models``
modules it imports, ``recipe.py``, ``training.py``, the subset choice, and the keras, tensorflow
and numpy versions), so the same request reuses it and any change trains anew.

Several processes may save and read the same key at once. Each save writes its model to a new
file named after its content (``NAME-KEY.DIGEST.keras``), then replaces the sidecar
``NAME-KEY.json``, which names that file and its sha256: the sidecar is the single commit point,
so a reader that reads the sidecar and then the file it names sees a matching pair. Writers take a
file lock to publish and to remove model files no sidecar names; readers take no lock.

Every ``.keras`` file digitzoo reads — a cached model, a user's ``--model-file``, the shipped
weights — goes through :func:`digitzoo.contract.load_keras_file`: one set of checks for every way a
model is loaded.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import reprlib
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .contract import load_keras_file
from .errors import CacheError, ModelError, ModelFileError
from .files import atomic_path, file_kind, remove_stale_temporaries, replace_durably, sha256_file, temporary_beside
from .paths import models_dir

__all__ = ["FORMAT", "cache_key", "ModelCache"]

# 2: a share of the training images is held out to calibrate the model (digitzoo.calibration).
FORMAT = 2
#: Seconds a writer waits for another one to finish publishing before giving up.
LOCK_TIMEOUT = 120
# A reader retries while writers keep replacing the entry under it; beyond this many it gives up.
_READ_ATTEMPTS = 5
_LOCK_NAME = ".lock"
# NAME-KEY.DIGEST.keras, or NAME-KEY.keras as caches written before content-named files have it.
_MODEL_FILE = re.compile(r"(?P<stem>.+-[0-9a-f]{16})(?:\.[0-9a-f]{16})?\.keras")

_T = TypeVar("_T")


def cache_key(
    name: str,
    recipe: dict[str, Any],
    seed: int,
    data: str,
    options: dict[str, Any] | None = None,
    builder: str = "",
    deterministic: bool = False,
) -> str:
    """A short hex key for one training run; ``builder`` identifies the code that builds the model.

    A deterministic run is an entry of its own: a request for one must not reuse a run whose weights
    another run would not repeat. Other keys are as they were without the field.
    """
    fields = {
        "format": FORMAT,
        "name": name,
        "recipe": recipe,
        "seed": seed,
        "data": data,
        "options": options or {},
        "builder": builder,
    }
    if deterministic:
        fields["deterministic"] = True
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ModelCache:
    """Trained models kept in ``root`` (default: ``$DIGITZOO_HOME/models``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else models_dir()

    def paths(self, name: str, key: str) -> tuple[Path, Path]:
        """The model file and the sidecar of a cached run.

        The model file is the one the sidecar names; with no readable sidecar it is
        ``NAME-KEY.keras``, which does not exist.
        """
        meta_path = self._sidecar_path(name, key)
        try:
            meta = self._read_sidecar(meta_path)
        except CacheError:
            meta = None
        model_file = meta["file"] if meta is not None else f"{meta_path.stem}.keras"
        return self.root / model_file, meta_path

    def metadata(self, name: str, key: str) -> dict[str, Any] | None:
        """The sidecar of a cached run, or ``None`` if there is no complete one."""
        return self._read_pair(name, key, _present)

    def lookup(self, name: str, key: str) -> dict[str, Any] | None:
        """The sidecar of a cached run whose file still has its recorded sha256, or ``None``."""
        return self._read_pair(name, key, _verified)

    def load(self, name: str, key: str):
        """Load a cached model after checking its sha256 and shapes; ``None`` if it is not cached."""
        entry = self.load_entry(name, key)
        return entry[1] if entry is not None else None

    def load_entry(self, name: str, key: str) -> tuple[dict[str, Any], Any] | None:
        """The sidecar and the model of one cached run, read as a pair; ``None`` if it is not cached.

        Use this rather than :meth:`lookup` then :meth:`load`: another process may replace the
        entry between those two calls.
        """

        def load_verified(meta: dict[str, Any], model_file: Path) -> tuple[dict[str, Any], Any]:
            return _verified(meta, model_file), _load_keras(model_file, name)

        return self._read_pair(name, key, load_verified)

    def save(self, model, name: str, key: str, meta: dict[str, Any], *, keep_existing: bool = False) -> dict[str, Any]:
        """Save ``model`` and its sidecar so readers see the old pair or the new one; returns the sidecar.

        The sidecar returned names the entry's model file as it stands once the save is done, so
        that path exists when it is returned. With ``keep_existing``, an intact entry already under
        ``key`` (another process saved the same run while this one trained) is kept and its
        sidecar returned: the two runs are the same run, and replacing it would delete the file
        the other process has just reported. A failed save leaves the old pair as it was and no
        model file that no sidecar names.

        ``model`` needs a ``save(path)`` method that writes a ``.keras`` file; ``meta`` needs every
        field :meth:`digitzoo.training.TrainResult.from_dict` needs (a ``ValueError`` otherwise).
        Something other than a file where the sidecar goes is a ``CacheError`` (see
        :meth:`check_saveable`); an empty folder there is removed.
        """
        meta_path = self._sidecar_path(name, key)
        # Checked before any work, so that every sidecar written can be read back.
        problem = _sidecar_problem({**meta, "file": f"{meta_path.stem}.keras", "sha256": "0" * 64}, meta_path.stem)
        if problem:
            raise ValueError(f"cannot cache {name!r}: {problem}")
        json.dumps(meta)  # a TypeError now rather than after the model is written
        self.check_saveable(name, key)
        try:
            # The slow part runs unlocked: a hidden temporary that no other writer touches.
            with temporary_beside(self.root / f"{meta_path.stem}.keras", suffix=".keras") as tmp:
                model.save(tmp)
                digest = sha256_file(tmp)
                meta = {**meta, "file": f"{meta_path.stem}.{digest[:16]}.keras", "sha256": digest}
                with self._writing():
                    if keep_existing and (kept := self._intact_entry(meta_path)) is not None:
                        return kept
                    self._make_way_for_sidecar(meta_path)
                    self._publish(tmp, meta, meta_path)
        except OSError as exc:
            raise CacheError(f"cannot save the model in {self.root}: {_reason(exc)}", remedy="home") from None
        return meta

    def check_saveable(self, name: str, key: str) -> None:
        """``CacheError`` if a save under ``key`` would fail on what stands where its sidecar goes.

        A file (a sidecar, damaged or not) is replaced, and so is an empty folder: digitzoo writes
        no folders in the cache, so one named like a sidecar was left by mistake and holds nothing
        to lose. A folder with anything in it, or a pipe, socket or device, is not digitzoo's to
        delete: the user moves it. Call this before training, so that the work is not lost.
        """
        self._check_sidecar_place(self._sidecar_path(name, key))

    def _check_sidecar_place(self, meta_path: Path) -> None:
        try:
            mode = meta_path.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise CacheError(f"cannot save the model in {self.root}: {_reason(exc)}", remedy="home") from None
        # A symbolic link is replaced itself; what it points to is never touched.
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode) or _is_empty_folder(meta_path)):
            raise _not_a_sidecar(meta_path, mode)

    def _publish(self, tmp: Path, meta: dict[str, Any], meta_path: Path) -> None:
        """Move the model file ``tmp`` into place, then write the sidecar naming it (under the lock).

        If the sidecar cannot be written, the model file goes again, unless it was there before
        (the same bytes, which the current sidecar may name).
        """
        model_path = self.root / meta["file"]
        created = not model_path.exists()
        try:
            replace_durably(tmp, model_path)
            with atomic_path(meta_path, suffix=".json") as sidecar_tmp:
                sidecar_tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        except BaseException:
            if created:
                model_path.unlink(missing_ok=True)
            raise

    def _make_way_for_sidecar(self, meta_path: Path) -> None:
        """Remove an empty folder where the sidecar goes (under the lock); anything else stays."""
        self._check_sidecar_place(meta_path)
        if meta_path.is_dir() and not meta_path.is_symlink():
            try:
                meta_path.rmdir()  # refuses a folder that is no longer empty: nothing of the user's goes
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise _not_a_sidecar(meta_path, meta_path.lstat().st_mode) from None
                raise

    def _intact_entry(self, meta_path: Path) -> dict[str, Any] | None:
        """The sidecar at ``meta_path`` if it is complete and its model file has its sha256, else None."""
        try:
            meta = self._read_sidecar(meta_path)
            return _verified(meta, self.root / meta["file"]) if meta is not None else None
        except (CacheError, FileNotFoundError):
            return None

    def entries(self) -> list[dict[str, Any]]:
        """Every valid sidecar in the cache, newest first."""
        metas = []
        for path in self.root.glob("*.json"):
            if path.name.startswith("."):
                continue  # a writer's temporary
            try:
                meta = self._read_sidecar(path)
            except CacheError:
                continue
            if meta is not None:
                metas.append(meta)
        return sorted(metas, key=lambda m: m["saved_at"], reverse=True)

    def _sidecar_path(self, name: str, key: str) -> Path:
        return self.root / f"{name}-{key}.json"

    def _read_sidecar(self, meta_path: Path) -> dict[str, Any] | None:
        """The checked contents of ``meta_path``, ``None`` if it does not exist."""
        try:
            # O_NONBLOCK: a named pipe in its place is reported below, not waited on for ever.
            fd = os.open(meta_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (FileNotFoundError, NotADirectoryError):  # no entry, or no cache folder at all
            return None
        except IsADirectoryError:  # where a folder cannot be opened; on Linux it can, and fstat says so below
            raise _not_a_sidecar(meta_path, meta_path.stat().st_mode) from None
        except OSError as exc:
            raise CacheError(f"cannot read {meta_path}: {_reason(exc)}; retraining replaces it", remedy="retrain") from None
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise _not_a_sidecar(meta_path, mode)
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read()
        except OSError as exc:
            raise CacheError(f"cannot read {meta_path}: {_reason(exc)}; retraining replaces it", remedy="retrain") from None
        finally:
            os.close(fd)
        try:
            meta = json.loads(data)
        except ValueError as exc:  # not JSON, or not UTF-8 text
            raise CacheError(f"{meta_path} is not valid JSON ({exc}); retraining replaces it", remedy="retrain") from None
        problem = _sidecar_problem(meta, meta_path.stem)
        if problem:
            raise CacheError(f"{meta_path} is not a complete digitzoo sidecar: {problem}; retraining replaces it", remedy="retrain")
        return meta

    def _read_pair(self, name: str, key: str, use: Callable[[dict[str, Any], Path], _T]) -> _T | None:
        """``use(sidecar, model_file)`` for the current entry, ``None`` if there is none.

        A writer removes the model file a sidecar named once it has replaced that sidecar; a reader
        caught in between finds the file gone and a new sidecar, and reads again.
        """
        meta_path = self._sidecar_path(name, key)
        for _ in range(_READ_ATTEMPTS):
            meta = self._read_sidecar(meta_path)
            if meta is None:
                return None
            try:
                return use(meta, self.root / meta["file"])
            except FileNotFoundError:
                if self._read_sidecar(meta_path) == meta:
                    return None  # the model file was deleted, not replaced: nothing is cached
        raise CacheError(f"the cached {name!r} model kept being replaced by other processes while it was read; try again")

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the writers' lock; on the way out remove what no sidecar names and killed writers left."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.root / _LOCK_NAME, timeout=LOCK_TIMEOUT)
        try:
            lock.acquire()
        except Timeout:
            raise CacheError(
                f"another process has been saving to the model cache {self.root} for over {LOCK_TIMEOUT} s "
                f"(it holds {lock.lock_file}); try again when it has finished"
            ) from None
        try:
            yield
        finally:
            try:
                self._remove_orphans()
                remove_stale_temporaries(self.root)
            finally:
                lock.release()

    def _remove_orphans(self) -> None:
        """Delete model files that no sidecar names: replaced ones, and those of writers killed
        between publishing a model and its sidecar."""
        for path in self.root.glob("*.keras"):
            match = _MODEL_FILE.fullmatch(path.name)
            if match is not None and not path.name.startswith(".") and self._is_orphan(path, match["stem"]):
                path.unlink(missing_ok=True)

    def _is_orphan(self, model_file: Path, stem: str) -> bool:
        try:
            meta = self._read_sidecar(self.root / f"{stem}.json")
        except CacheError:
            return False  # an unreadable entry stays as it is until retraining replaces it
        return meta is None or meta["file"] != model_file.name


def _not_a_sidecar(meta_path: Path, mode: int) -> CacheError:
    """The error for a sidecar path that holds no file: the same for reading and for saving."""
    if stat.S_ISDIR(mode) and _is_empty_folder(meta_path):
        return CacheError(f"{meta_path} is an empty folder, not a digitzoo sidecar; retraining replaces it", remedy="retrain")
    kind = file_kind(mode)
    return CacheError(
        f"{meta_path} is {kind}, not a digitzoo sidecar, and not digitzoo's to delete; "
        f"move it out of {meta_path.parent} to cache this model"
    )


def _is_empty_folder(path: Path) -> bool:
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def _verified(meta: dict[str, Any], model_file: Path) -> dict[str, Any]:
    if sha256_file(model_file) != meta["sha256"]:
        raise CacheError(
            f"cached model {model_file} does not match the sha256 recorded when it was saved "
            "(the file was changed); retraining replaces it",
            remedy="retrain",
        )
    return meta


def _present(meta: dict[str, Any], model_file: Path) -> dict[str, Any]:
    model_file.stat()  # FileNotFoundError if it is gone
    return meta


def _load_keras(model_file: Path, name: str):
    """The cached model in ``model_file``, checked as every model file is (:func:`load_keras_file`)."""
    try:
        return load_keras_file(model_file, name)  # every registered model takes IMAGE_SHAPE
    except ModelFileError as exc:
        if not model_file.exists():
            raise FileNotFoundError(model_file) from None  # replaced meanwhile: read the new entry
        raise CacheError(f"cannot load the cached model {exc}; retraining replaces it", remedy="retrain") from None
    except ModelError as exc:
        raise CacheError(f"cached model {model_file} does not fit: {exc}; retraining replaces it", remedy="retrain") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_count(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _is_recipe(value: Any) -> bool:
    return isinstance(value, dict) and _is_int(value.get("epochs")) and value["epochs"] >= 1


def _is_finite(value: Any) -> bool:
    try:
        return _is_number(value) and math.isfinite(value)
    except OverflowError:  # an integer too large for a float: nothing digitzoo can show or compare
        return False


def _is_fraction(value: Any) -> bool:
    return _is_finite(value) and 0 <= value <= 1


def _is_non_negative(value: Any) -> bool:
    return _is_finite(value) and value >= 0


def _is_history(value: Any) -> bool:
    """One list per curve: accuracies in [0, 1], losses finite and >= 0, anything else finite."""
    if not isinstance(value, dict):
        return False
    for curve, points in value.items():
        if not (isinstance(curve, str) and isinstance(points, list)):
            return False
        ok = _is_fraction if curve.endswith("accuracy") else _is_non_negative if curve.endswith("loss") else _is_finite
        if not all(map(ok, points)):
            return False
    return True


def _is_versions(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


_FRACTION = (_is_fraction, "a number from 0 to 1")
_NON_NEGATIVE = (_is_non_negative, "a finite number >= 0")
# What digitzoo.training.TrainResult.from_dict needs, as (check, what the check wants). Ranges are
# checked as well as types: an accuracy of 1.5 or a loss of NaN would fail later, far from here.
_REQUIRED: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_is_str, "a string"),
    "params": (_is_count, "a whole number >= 0"),
    "recipe": (_is_recipe, "an object with whole-number epochs >= 1"),
    "options": (lambda v: isinstance(v, dict), "an object"),
    "seed": (_is_count, "a whole number >= 0"),
    "train_size": (_is_count, "a whole number >= 0"),
    "test_size": (_is_count, "a whole number >= 0"),
    "train_accuracy": _FRACTION,
    "train_loss": _NON_NEGATIVE,
    "test_accuracy": _FRACTION,
    "test_loss": _NON_NEGATIVE,
    "train_seconds": _NON_NEGATIVE,
    "history": (_is_history, "an object of lists of finite numbers (accuracies from 0 to 1, losses >= 0)"),
    "data": (_is_str, "a string"),
    "versions": (_is_versions, "an object of strings"),
    "saved_at": (_is_str, "a string"),
    "sha256": (lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None, "64 hex digits"),
}
_OPTIONAL: dict[str, tuple[Callable[[Any], bool], str]] = {
    "test_pass_seconds": _NON_NEGATIVE,
    "key": (_is_str, "a string"),
    "model_path": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "reused": (lambda v: isinstance(v, bool), "true or false"),
    "deterministic": (lambda v: isinstance(v, bool), "true or false"),
}


def _sidecar_problem(meta: Any, stem: str) -> str | None:
    """What is wrong with the parsed sidecar of entry ``stem``, or ``None``."""
    if not isinstance(meta, dict):
        return f"expected a JSON object, got {type(meta).__name__}"
    for field, (ok, what) in [*_REQUIRED.items(), *_OPTIONAL.items()]:
        if field not in meta:
            if field in _REQUIRED:
                return f"{field!r} is missing"
        elif not ok(meta[field]):
            return f"{field!r} must be {what}, got {reprlib.repr(meta[field])}"
    # The model file must be this entry's, in the cache folder: never a path elsewhere.
    file = meta.get("file")
    if not isinstance(file, str) or not re.fullmatch(re.escape(stem) + r"(?:\.[0-9a-f]{16})?\.keras", file):
        return f"'file' must name a {stem}.DIGEST.keras file, got {reprlib.repr(file)}"
    return None
