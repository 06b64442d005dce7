"""Model plugins: packages that add to the zoo through the ``digitzoo.models`` entry points.

Built-in models register through the same path. Entry points load once, lazily, the first
time the zoo is read. Each entry point names a module whose import registers models with
``@register_model``, or a callable that is handed a ``register`` function
(``register(builder, name=..., description=..., params=..., recipe=..., behaviour=...)``) and
registers through it, as ``llm`` hands its plugins one.

A plugin is a stranger's code: whatever it raises while loading (even ``sys.exit()``), it is
skipped with one warning and the rest of the zoo works; only Ctrl-C stops everything. What it
prints goes to stderr, so that output meant for a pipe stays clean.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from .errors import describe_exception
from .registration import BUILTIN_SOURCE, registered, registering_from, unregister

__all__ = ["ENTRY_POINT_GROUP", "PluginFailure", "load_plugins", "plugin_failures"]

ENTRY_POINT_GROUP = "digitzoo.models"
_BUILTIN_MODULE = "digitzoo.models"

log = logging.getLogger("digitzoo")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was skipped, and why."""

    entry_point: str
    distribution: str
    error: str


# Reentrant: a plugin that reads the zoo while it is imported comes back into load_plugins
# from the same thread, which must not wait for itself.
_lock = threading.RLock()
_loaded = False
_loading = False
# Entry points loaded or skipped, kept across an interrupted load: a retry calls none twice
# and tries again the one that was interrupted.
_tried: set[tuple[str, str]] = set()
_failures: list[PluginFailure] = []


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "unknown"


def _load_one(ep: EntryPoint) -> None:
    source = BUILTIN_SOURCE if ep.value == _BUILTIN_MODULE else _distribution(ep)
    try:
        with registering_from(source) as register, contextlib.redirect_stdout(sys.stderr):
            loaded = ep.load()
            if callable(loaded):
                loaded(register) if _takes_an_argument(loaded) else loaded()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a broken plugin must not take the zoo, or the program, down with it
        failure = PluginFailure(ep.name, _distribution(ep), describe_exception(exc))
        _failures.append(failure)
        log.warning("digitzoo: skipped plugin %r from %s: %s", ep.name, failure.distribution, failure.error)


def _takes_an_argument(function) -> bool:
    """Whether an entry point's callable wants ``register`` (older plugins register by decorator)."""
    import inspect

    try:
        return bool(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return False


def _load_all() -> None:
    eps = list(entry_points(group=ENTRY_POINT_GROUP))
    builtin = [ep for ep in eps if ep.value == _BUILTIN_MODULE]
    if not builtin:
        # Running from a source tree that was never installed: no metadata, same models.
        with registering_from(BUILTIN_SOURCE):
            importlib.import_module(_BUILTIN_MODULE)
    _load_each(builtin)
    others = [ep for ep in eps if ep.value != _BUILTIN_MODULE]
    if others:
        # A plugin may import Keras, and so TensorFlow, at module level: the same quiet import.
        with _quiet_tensorflow():
            _load_each(others)


def _load_each(eps: list[EntryPoint]) -> None:
    for ep in eps:
        if (ep.name, ep.value) in _tried:  # the same distribution found twice on sys.path
            continue
        _load_one(ep)
        _tried.add((ep.name, ep.value))


@contextlib.contextmanager
def _quiet_tensorflow():
    """TensorFlow's start-up lines stay off stderr if the block imports it, as in ``import_quietly``."""
    from ._tensorflow import NOISE, filtered_stderr

    if "tensorflow" in sys.modules:  # imported quietly already: nothing more will be said
        yield
        return
    with filtered_stderr(NOISE):
        try:
            yield
        finally:
            if "tensorflow" in sys.modules:  # its CUDA probe speaks at the first device look-up
                with contextlib.suppress(Exception):
                    sys.modules["tensorflow"].config.list_physical_devices("GPU")


def load_plugins() -> None:
    """Import every ``digitzoo.models`` entry point, once.

    A plugin may read the zoo while it is imported (to reuse a built-in recipe, say): it then
    sees the built-in models and the plugins loaded before it.
    """
    global _loaded, _loading
    if _loaded:
        return
    with _lock:
        if _loaded or _loading:  # loaded by another thread meanwhile, or a plugin asking mid-load
            return
        _loading = True
        try:
            _load_all()
            _loaded = True
        finally:
            _loading = False


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to load, in the order they were tried."""
    load_plugins()
    return list(_failures)


def _forget_plugins() -> None:
    """Drop every plugin model and load entry points again on next use (for tests)."""
    global _loaded
    with _lock:
        for name in [n for n, spec in registered().items() if spec.source != BUILTIN_SOURCE]:
            unregister(name)
        _failures.clear()
        _tried.clear()
        _loaded = False
