"""``digitzoo models``: list the zoo."""

from __future__ import annotations

import json

import click

from digitzoo.registry import ModelSpec, list_models, model_info

from .output import stdout_console

__all__ = ["models"]


@click.command()
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
def models(pattern: str, as_json: bool) -> None:
    """List registered models whose name matches PATTERN (shell-style: 'mlp*').

    "test acc" is the default recipe's test accuracy on MNIST over several seeds, mean ± standard
    deviation in points, as measured for the built-in models ("—": not measured). "shipped
    file" is the test accuracy of the one set of weights that ships with digitzoo (one
    training, seed 0; "—": none ship for that model).

    \b
    Example:
        digitzoo models 'mlp*'
    """
    specs = [model_info(name) for name in list_models(pattern)]
    if as_json:
        click.echo(json.dumps([spec.to_dict() for spec in specs], indent=2))
        return
    if not specs:
        raise click.ClickException(f"no model matches {pattern!r}; try 'digitzoo models' for the full list")
    from rich.table import Table

    table = Table(title="digitzoo models")
    table.add_column("model", style="bold cyan", no_wrap=True)
    table.add_column("source")
    table.add_column("params", justify="right")
    table.add_column("expected")
    table.add_column("test acc", justify="right", no_wrap=True)
    table.add_column("shipped file", justify="right", no_wrap=True)
    table.add_column("default recipe")
    table.add_column("description")
    for spec in specs:
        table.add_row(
            spec.name,
            spec.source,
            f"{spec.params:,}",
            spec.behaviour,
            _measured(spec),
            _pretrained(spec),
            spec.recipe.summary(),
            spec.description,
        )
    stdout_console().print(table)


def _pretrained(spec: ModelSpec) -> str:
    weights = spec.pretrained
    return "—" if weights is None else f"{weights.test_accuracy:.2%}"


def _measured(spec: ModelSpec) -> str:
    measured = spec.measured
    return "—" if measured is None else measured.summary()
