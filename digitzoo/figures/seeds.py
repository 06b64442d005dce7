"""Test accuracy over seeds: each run a point, each model's mean with its 95 % interval.

One column per model, in the order compared (the first is the reference), in the model's colour:
the points are the seeds' test accuracies (spread sideways a little so that equal values stay
visible), the bar is the mean, the whisker the 95 % confidence interval of the mean (Student's t
over the seeds; none with one seed).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import DigitzooError
from ..stats import CONFIDENCE, t_quantile
from .style import COLORS, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..experiments import SeedComparison

__all__ = ["seeds_figure", "mean_interval"]


def mean_interval(mean: float, std: float, n: int) -> tuple[float, float] | None:
    """The 95 % confidence interval of a mean of ``n`` values with sample deviation ``std``; None for one."""
    if n < 2:
        return None
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * std / math.sqrt(n)
    return mean - half, mean + half


def seeds_figure(comparison: SeedComparison, *, title: str | None = None) -> Figure:
    """Per model: the test accuracy (%) of every seed as points, the mean as a bar and its interval.

    The axes' label (``Axes.get_label()``) is ``"test accuracy by seed"``; its x tick labels name the
    models; the first ``len(models)`` line collections hold the points, in model order.
    """
    models = list(comparison.models)
    if not models:
        raise DigitzooError("a seeds figure needs at least one model")
    seeds = ", ".join(str(s) for s in comparison.seeds)
    figure = new_figure(max(4.6, 1.3 * len(models) + 1.6), 3.6, title=title or f"test accuracy over seeds {seeds}")
    with styled():
        ax = figure.subplots()
        ax.set_label("test accuracy by seed")
        for i, model in enumerate(models):
            color = COLORS[i % len(COLORS)]
            values = [100 * r.test_accuracy for r in model.runs]
            offsets = [i + 0.18 * (k / max(len(values) - 1, 1) - 0.5) for k in range(len(values))]
            ax.scatter(offsets, values, s=18, color=color, alpha=0.8, zorder=3)
            ax.hlines(100 * model.test.mean, i - 0.25, i + 0.25, color=color, linewidth=2.5, zorder=4)
            interval = mean_interval(model.test.mean, model.test.std, model.test.n)
            if interval is not None:
                ax.vlines(i + 0.3, 100 * interval[0], 100 * interval[1], color=color, linewidth=1.5)
        ax.set_xticks(range(len(models)), [m.name for m in models])
        ax.set_xlim(-0.6, len(models) - 0.4)
        ax.set_ylabel("test accuracy (%)")
        ax.set_xlabel("points: seeds · bar: mean · line: 95 % interval", fontsize="small")
    return figure
