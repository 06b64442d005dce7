"""Test accuracy against each swept field: every trial a point, each model's mean a line.

One panel per field swept, in the order given; x is the field's values (numbers on a numeric
axis, logarithmic when all positive and spanning a factor of ten or more, as learning rates do;
words and booleans one tick each), y the test accuracy in %. Each model has one colour in every
panel: small points are the trials (every seed and every value of the other fields), short bars
the groups' means (model and whole setting, over the seeds), and the line joins the model's mean
over all its trials at each value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DigitzooError
from .style import COLORS, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..sweep import SweepResult

__all__ = ["sweep_figure"]


def sweep_figure(result: SweepResult, *, title: str | None = None) -> Figure:
    """One panel per swept field: test accuracy (%) of every trial and the means, a colour per model.

    Each panel's label (``Axes.get_label()``) is the field's name. Raises ``DigitzooError`` when
    nothing was swept (there is no x axis to draw).
    """
    fields = list(result.fields)
    if not fields:
        raise DigitzooError("a sweep figure needs at least one swept field")
    models = list(dict.fromkeys(t.trial.model for t in result.trials))
    seeds = ", ".join(str(s) for s in result.seeds)
    figure = new_figure(max(4.6, 3.8 * len(fields)), 3.6, title=title or f"sweep: test accuracy, seeds {seeds}")
    with styled():
        axes = figure.subplots(1, len(fields), squeeze=False)[0]
        for ax, field in zip(axes, fields):
            _panel(ax, result, field, models)
        axes[0].set_ylabel("test accuracy (%)")
        axes[-1].legend(fontsize="small", loc="best")
    return figure


def _panel(ax: Any, result: SweepResult, field: str, models: list[str]) -> None:
    values = list(result.fields[field])
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    place = (lambda v: v) if numeric else (lambda v: values.index(v))
    ax.set_label(field)
    for i, model in enumerate(models):
        color = COLORS[i % len(COLORS)]
        trials = [t for t in result.trials if t.trial.model == model]
        ax.scatter([place(t.trial.setting[field]) for t in trials], [100 * t.result.test_accuracy for t in trials],
                   s=12, color=color, alpha=0.45, zorder=3)
        for group in (g for g in result.groups if g.model == model):
            ax.scatter([place(group.setting[field])], [100 * group.stats.test.mean], marker="_", s=160,
                       color=color, linewidths=2, zorder=4)
        means = [_mean([t.result.test_accuracy for t in trials if t.trial.setting[field] == v]) for v in values]
        ax.plot([place(v) for v in values], [100 * m for m in means], color=color, linewidth=1.5, label=model, zorder=2)
    if numeric and _logarithmic(values):
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(range(len(values)), [str(v).lower() if isinstance(v, bool) else str(v) for v in values])
        ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_xlabel(field)
    ax.set_title(f"by {field}")


def _logarithmic(values: Sequence[float]) -> bool:
    return all(v > 0 for v in values) and max(values) / min(values) >= 10


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)
