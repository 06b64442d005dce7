"""``digitzoo serve``: the local web page to draw a digit, read a photo and try kernels."""

from __future__ import annotations


import click

from .params import finite, model_names

__all__ = ["serve"]


def _host_names(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from digitzoo.web.hosts import host_name

    try:
        return tuple(host_name(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; other than loopback, other machines can reach the page.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--model",
    "-m",
    callback=model_names,
    help="Zoo model to read digits with: your trained one if cached, else its shipped weights (never trained "
    "here). Default: the most accurate shipped model.",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(0.001, 1024),
    default=10,
    show_default=True,
    callback=finite,
    help="Refuse uploads (request bodies) larger than this.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    callback=_host_names,
    metavar="NAME",
    help="Also answer requests for this host name (repeatable), e.g. a DNS name of this machine. "
    "Always answered: localhost, 127.0.0.1, ::1 and --host; with --host 0.0.0.0 or ::, also any IP "
    "address and this machine's host name. Other names get 421, so no other site can read the API.",
)
@click.option("--quiet", "-q", is_flag=True, help="No request log; only warnings and errors.")
def serve(
    host: str, port: int, model: str | None, max_upload_mb: float, allow_hosts: tuple[str, ...], quiet: bool
) -> None:
    """Serve a local web page: draw a digit, upload a photo, try convolution kernels.

    The page and its JSON API (/api/predict, /api/filter, /api/models, /api/kernels; schema at
    /openapi.json) run on this machine only unless --host names another address. Only requests
    for localhost, the loopback addresses and --host are answered, a guard against DNS rebinding;
    --allow-host names more. The model is loaded once at start; Ctrl-C stops the server.

    \b
    Example:
        digitzoo serve
        digitzoo serve --port 8080 --model mlp
        digitzoo serve --host 0.0.0.0 --allow-host digits.example.org
    """
    from digitzoo.web.server import is_loopback, serve as run

    def ready(url: str, name: str) -> None:
        click.echo(f"digitzoo serve: {url} (model {name}; Ctrl-C stops)")
        if not is_loopback(host):
            click.echo(f"warning: listening on {host}: the page is reachable from other machines", err=True)

    run(
        host,
        port,
        model,
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
        allowed_hosts=allow_hosts,
        quiet=quiet,
        on_ready=ready,
    )
