"""Argument checks shared by the commands."""

from __future__ import annotations

import math

import click

__all__ = ["MODELS_KEY", "model_names", "figure_path", "finite"]

#: ``ctx.meta`` key of the model names the command was given (a tuple), for error hints.
MODELS_KEY = "digitzoo.models"


def model_names(ctx: click.Context, param: click.Parameter, value):
    """Callback for a model-name argument or option (one name or several): a typo fails at once.

    The library raises ``UnknownModelError`` with its suggestions; the group turns that into the
    one-line error every command gives.
    """
    from digitzoo.registry import model_info

    names = (value,) if isinstance(value, str) else tuple(value or ())
    for name in names:
        model_info(name)
    ctx.meta[MODELS_KEY] = names
    return value


def figure_path(ctx: click.Context, param: click.Parameter, value):
    """Callback for an option naming a figure file: a name that cannot be written fails before the work."""
    if value is None:
        return value
    from digitzoo.errors import DigitzooError
    from digitzoo.figures import check_figure_path

    try:
        check_figure_path(value)
    except DigitzooError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Callback for a number option: ``FloatRange`` lets NaN through (every comparison with it is false)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value}", ctx=ctx, param=param)
    return value
