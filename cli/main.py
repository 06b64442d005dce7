"""Entry point of the ``digitzoo`` command.

Start-up time is what a user feels on every call, so nothing is imported before it is needed:
each command's module is imported only when that command runs (or shows its own ``--help``),
and ``digitzoo --help`` lists the commands from the summaries in ``_COMMANDS`` without
importing any of them. Heavy libraries (keras, tensorflow, cv2, numpy, rich) are imported
inside the commands that need them.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import NoReturn

import click

from .params import MODELS_KEY

__all__ = ["cli"]

# name: (module of this package, attribute, the first paragraph of the command's docstring).
# The summary is repeated here so that the overview imports no command; a test checks that
# it matches the docstring.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "models": ("models_cmd", "models", "List registered models whose name matches PATTERN (shell-style: 'mlp*')."),
    "data": ("data_cmd", "data", "Show where MNIST is looked for and which copy would be used, or fetch it."),
    "train": (
        "train_cmd",
        "train",
        "Train model NAME with its recipe (or reuse the cached result) and show its accuracy.",
    ),
    "compare": ("train_cmd", "compare", "Train (or reuse) each model NAMES and compare train and test accuracy."),
    "predict": ("predict_cmd", "predict", "Recognise the handwritten digit in each IMAGE (a photo, scan or drawing)."),
    "filter": ("filter_cmd", "filter_", "Slide a convolution kernel over IMAGE and write the response as a PNG."),
    "kernels": ("filter_cmd", "kernels", "List the named kernels of 'digitzoo filter' with their matrices."),
    "export": (
        "export_cmd",
        "export",
        "Export model NAME (shipped or trained) as a TensorFlow SavedModel, a LiteRT (TFLite) file or ONNX.",
    ),
    "show": ("show_cmd", "show", "Show MNIST digits in the terminal with their labels, or write them as a PNG."),
    "report": (
        "report_cmd",
        "report",
        "Write a report on model NAME: learning curves, confusion matrix, mistakes, per-digit metrics, calibration.",
    ),
    "sweep": (
        "sweep_cmd",
        "sweep",
        "Train (or reuse) every model NAMES on every combination of --set values and every seed.",
    ),
    "serve": ("serve_cmd", "serve", "Serve a local web page: draw a digit, upload a photo, try convolution kernels."),
}


def _route_library_logs() -> None:
    import logging  # only commands that run library code need it

    class _StderrHandler(logging.Handler):
        """Library warnings (a skipped plugin, a source that failed verification) as plain stderr lines."""

        def emit(self, record: logging.LogRecord) -> None:
            click.echo(self.format(record), err=True)

    logger = logging.getLogger("digitzoo")
    if not any(type(h).__name__ == "_StderrHandler" for h in logger.handlers):
        logger.addHandler(_StderrHandler(logging.WARNING))


_show_python_warning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from digitzoo.errors import DigitzooWarning

    if issubclass(category, DigitzooWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _show_python_warning(message, category, filename, lineno, file, line)


class _Group(click.Group):
    """Commands imported on first use; digitzoo's errors become one clean line and exit code 1."""

    def __call__(self, *args, **kwargs):
        """The program's entry point (the test runner calls ``main`` instead, in its own process)."""
        try:
            return self.main(*args, **kwargs)
        except SystemExit as exc:
            if exc.code in (128 + signal.SIGINT, 128 + signal.SIGTERM) and "tensorflow" in sys.modules:
                _exit_at_once(exc.code)
            raise

    def main(self, *args, **kwargs):
        if sys.stdout is None:  # started with descriptor 1 closed (`digitzoo models >&-`)
            _no_output()
        _replace_unencodable_output()
        return super().main(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attribute, _ = _COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f".{module}", __package__), attribute)
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)  # as click.Group does
        rows = []
        for name in names:
            # A stand-in with the same help text shortens it exactly as the real command would.
            command = self.commands.get(name) or click.Command(name, help=_COMMANDS[name][2])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        cmd_name, command, rest = super().resolve_command(ctx, args)
        ctx.meta["digitzoo.command"] = command
        return cmd_name, command, rest

    def invoke(self, ctx: click.Context):
        from digitzoo.errors import DigitzooError, DigitzooWarning

        with warnings.catch_warnings(), _sigterm_raises():
            warnings.simplefilter("always", DigitzooWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except DigitzooError as exc:
                hint = _remedy_hint(exc.remedy, ctx.meta.get("digitzoo.command"), ctx.meta.get(MODELS_KEY, ()))
                raise click.ClickException(f"{exc}{hint}") from exc
            except KeyboardInterrupt:
                _stopped_by("Interrupted", ctx, 128 + signal.SIGINT)
            except _Terminated:
                _stopped_by("Terminated", ctx, 128 + signal.SIGTERM)
            except BrokenPipeError:
                raise  # click ends quietly when the reader of the output has gone (| head)
            except OSError as exc:
                # The library reports the files it knows of; this is the rest (a full disk under
                # stdout …): one line, not a traceback.
                raise click.ClickException(_os_error_message(exc)) from exc


class _Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that cleanup (``finally``, temporary files) runs."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the cleanup too
    raise _Terminated


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only it may handle signals
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped_by(what: str, ctx: click.Context, code: int) -> NoReturn:
    """The conventional exit of a command stopped by a signal: one line, no traceback, 128 + signal."""
    # On a terminal Ctrl-C has just echoed "^C": start a line of our own.
    start = "\n" if sys.stderr is not None and sys.stderr.isatty() else ""
    click.echo(f"{start}{what}", err=True)
    ctx.exit(code)


def _exit_at_once(code: int) -> NoReturn:
    """End a stopped command without the interpreter's teardown, after the cleanup has run.

    TensorFlow's threads (a data pipeline interrupted mid-epoch) can crash the teardown with a
    segmentation fault, which would turn the conventional 130 into -11. The ``finally`` blocks have
    already run; exit functions (a progress bar giving the cursor back) and buffered output still do.
    """
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    os._exit(code)


def _no_output() -> NoReturn:
    """Every command's answer goes to stdout: with none, the command would succeed in silence."""
    if sys.stderr is not None:
        print("Error: standard output is closed, so nothing could be shown", file=sys.stderr)
    sys.exit(1)


def _os_error_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _replace_unencodable_output() -> None:
    """A character the terminal cannot show becomes '?' instead of a UnicodeEncodeError.

    An ASCII or Latin-1 locale cannot encode "×" of a table, nor can any terminal encode a file
    name that was not valid UTF-8; neither is worth losing the output for.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="replace")


# How the command at hand applies a library error's remedy: its own option if it has one, else
# `digitzoo train`'s (predict uses the models train makes).
_REMEDY_OPTIONS = {"retrain": ("retrain", "--retrain"), "data": ("data", "--data PATH"), "force": ("force", "--force")}


def _remedy_hint(remedy: str | None, command: click.Command | None, models: tuple[str, ...]) -> str:
    if remedy not in _REMEDY_OPTIONS or command is None:
        return ""
    option, flag = _REMEDY_OPTIONS[remedy]
    if any(p.name == option for p in command.params):
        return f" (rerun with {flag})"
    if remedy == "force":  # no other command's flag can stand in for it
        return ""
    return f" (run 'digitzoo train {models[0]} {flag}')" if len(models) == 1 else ""


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
