"""Argument checks shared by the commands."""

from __future__ import annotations

import click

__all__ = ["model_names"]


def model_names(ctx: click.Context, param: click.Parameter, value):
    """Callback for a model-name argument or option (one name or several): a typo fails at once.

    The library raises ``UnknownModelError`` with its suggestions; the group turns that into the
    one-line error every command gives.
    """
    from digitzoo.registry import model_info

    for name in (value,) if isinstance(value, str) else value or ():
        model_info(name)
    return value
