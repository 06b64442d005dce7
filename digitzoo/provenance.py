"""What decides a trained model's weights besides its recipe, seed and data: the code and libraries.

The model cache keys on :func:`code_fingerprint`, so editing any of that code, or upgrading a
library that trains, trains the model anew.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

__all__ = ["code_fingerprint", "recorded_versions"]

_RECORDED_PACKAGES = ("digitzoo", "keras", "tensorflow", "numpy")
# The libraries whose code computes the weights: a new version may initialise or train differently.
_WEIGHT_PACKAGES = ("keras", "tensorflow", "numpy")
# digitzoo code outside the builder that decides the weights: compile_model and the training loop.
_TRAINING_MODULES = ("digitzoo.recipe", "digitzoo.training")
# Modules of this package a builder imports are part of the model (the shared input rescaling …).
_MODELS_PACKAGE = "digitzoo.models"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def recorded_versions() -> dict[str, str]:
    """The versions of digitzoo and the libraries it trains with, as a result records them."""
    return {package: _version(package) for package in _RECORDED_PACKAGES}


def code_fingerprint(builder: Any) -> str:
    """sha256 of all the code that decides the weights of what ``builder`` builds: edit any, train anew.

    That is the builder's module and the ``digitzoo.models`` modules it imports (directly or
    through one another), ``digitzoo.recipe`` (compile_model), ``digitzoo.training`` (the training loop),
    how the training subset is drawn, and the versions of keras, tensorflow and numpy.
    """
    from .data import stratified_subset

    module = inspect.getmodule(builder)
    modules = ([module, *_model_modules(module)] if module is not None else []) + [
        importlib.import_module(name) for name in _TRAINING_MODULES
    ]
    parts: dict[str, Any] = {m.__name__: _source(m) for m in modules}
    parts["stratified_subset"] = _source(stratified_subset)
    parts["versions"] = {package: _version(package) for package in _WEIGHT_PACKAGES}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _source(obj: Any) -> str:
    """The source code of a module or function; empty if there is none (defined interactively)."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _model_modules(module: ModuleType) -> list[ModuleType]:
    """The ``digitzoo.models`` modules that ``module`` imports, directly or through one another."""
    found: dict[str, ModuleType] = {}
    todo = [module]
    while todo:
        for name in _imported_names(todo.pop()):
            if not name.startswith(f"{_MODELS_PACKAGE}.") or name in found:
                continue
            try:
                found[name] = importlib.import_module(name)
            except ImportError:
                continue  # the ``x`` of ``from m import x`` names no module
            todo.append(found[name])
    return [found[name] for name in sorted(found)]


def _imported_names(module: ModuleType) -> set[str]:
    """Absolute names ``module`` imports anywhere in its source; ``from m import x`` gives m and m.x."""
    try:
        tree = ast.parse(_source(module))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), module.__package__)
            except (ImportError, ValueError):
                continue
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names
