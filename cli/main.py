"""Entry point of the ``digitzoo`` command.

Heavy libraries (keras, tensorflow, cv2) are imported inside the commands that need them,
so ``digitzoo --help`` and ``digitzoo models`` stay instant.
"""

from __future__ import annotations

import logging
import os
import warnings

import click

from digitzoo.errors import DigitzooError, DigitzooWarning

from .data_cmd import data
from .filter_cmd import filter_, kernels
from .models_cmd import models
from .predict_cmd import predict
from .train_cmd import compare, train

__all__ = ["cli"]


class _StderrHandler(logging.Handler):
    """Library warnings (a skipped plugin, a source that failed verification) as plain stderr lines."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _route_library_logs() -> None:
    logger = logging.getLogger("digitzoo")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler(logging.WARNING))


_show_python_warning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, DigitzooWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _show_python_warning(message, category, filename, lineno, file, line)


class _Group(click.Group):
    """Turns digitzoo's own errors into one clean line and exit code 1, warnings into plain lines."""

    def invoke(self, ctx: click.Context):
        with warnings.catch_warnings():
            warnings.simplefilter("always", DigitzooWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except DigitzooError as exc:
                raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="digitzoo")
def cli() -> None:
    """Handwritten-digit recognition with Keras: a model zoo, training and comparison.

    \b
    Example:
        digitzoo compare tiny mlp overfit cnn
    """
    # TensorFlow's C++ start-up chatter (no GPU found …) says nothing a user can act on.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _route_library_logs()


for _command in (models, data, train, compare, predict, filter_, kernels):
    cli.add_command(_command)
