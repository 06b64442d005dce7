"""``digitzoo data``: where MNIST is found, and fetching it into the cache."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digitzoo.errors import DataError

from .output import stderr_console, stdout_console
from .progress import ProgressReporter

if TYPE_CHECKING:
    from digitzoo.data import SourceStatus

__all__ = ["data"]


@click.command()
@click.option(
    "--data",
    # Not named "data": cli.main would then suggest "rerun with --data PATH" when MNIST is missing,
    # and --data cannot be combined with --fetch.
    "data_path",
    type=click.Path(exists=False, path_type=Path),
    help="An mnist.npz or a folder of MNIST IDX files (default: $DIGITZOO_DATA, then the caches).",
)
@click.option("--fetch", is_flag=True, help="Download MNIST into the digitzoo cache if it is not there yet.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
def data(data_path: Path | None, fetch: bool, as_json: bool) -> None:
    """Show where MNIST is looked for and which copy would be used, or fetch it.

    Every copy is checked against the pinned sha256 of the MNIST arrays before use.

    \b
    Example:
        digitzoo data --fetch
    """
    if fetch:
        if data_path is not None:
            raise click.BadParameter("cannot be combined with --fetch (fetch fills the cache)", param_hint="--data")
        _fetch(as_json)
        return
    # digitzoo.data pulls in numpy and the network stack: only this command pays for it.
    from digitzoo.data import mnist_status

    statuses = mnist_status(data_path)
    explicit = next((s for s in statuses if s.kind == "path"), None)
    if explicit is not None and not explicit.verified:
        raise DataError(explicit.detail)  # load_mnist would fail the same way
    verdict = _verdict(statuses)
    if as_json:
        rows = [{**asdict(s), "location": str(s.location)} for s in statuses]
        click.echo(json.dumps({"sources": rows, "would_use": verdict}, indent=2))
        return
    from rich.table import Table

    table = Table("source")
    table.add_column("location", overflow="fold")  # paths wrap rather than lose their middle
    table.add_column("present")
    table.add_column("verified")
    table.add_column("detail", overflow="fold")
    for s in statuses:
        present = "remote" if s.kind == "download" else _yes_no(s.exists)
        table.add_row(s.name, str(s.location), present, _yes_no(s.verified), s.detail)
    stdout_console().print(table)
    click.echo(verdict)


def _fetch(as_json: bool) -> None:
    from digitzoo.data import MNIST_FINGERPRINT, fetch_mnist

    with ProgressReporter(stderr_console()) as progress:
        path = fetch_mnist(progress=progress)
    if as_json:
        click.echo(json.dumps({"path": str(path), "fingerprint": MNIST_FINGERPRINT}))
    else:
        click.echo(f"MNIST is verified and cached at {path}")


def _verdict(statuses: list[SourceStatus]) -> str:
    """One line saying which source ``load_mnist`` would use now."""
    explicit = next((s for s in statuses if s.kind == "path"), None)
    if explicit is not None:
        return f"load_mnist would use {explicit.location}"
    cached = next((s for s in statuses if s.kind == "cache" and s.verified), None)
    if cached is not None:
        return f"load_mnist would use the {cached.name} ({cached.location})"
    remote = ", then ".join(s.name for s in statuses if s.kind == "download")
    return f"No verified local copy: load_mnist would download MNIST ({remote}); `digitzoo data --fetch` does it now."


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"
