"""The reliability diagram: how sure a model was against how often it was right, before and after calibration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .style import new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..calibration import Reliability

__all__ = ["reliability_figure"]

WIDTH, HEIGHT = 8.4, 4.2


def reliability_figure(panels: dict[str, Reliability], *, title: str | None = None) -> Figure:
    """One panel per entry of ``panels`` (``{"uncalibrated": …, "calibrated": …}``), side by side.

    Each bin of confidence is a bar as high as the accuracy of its images; the diagonal is perfect
    calibration, so bars below it are overconfident and above it underconfident; a dot marks each
    bin's mean confidence. The expected
    calibration error (ECE) is in each panel's title, and each bin's share of the images under it.
    """
    figure = new_figure(WIDTH, HEIGHT, title=title)
    with styled():
        axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, (label, table) in zip(axes, panels.items()):
            low, width = table.edges[:-1], np.diff(table.edges)
            filled = table.count > 0
            ax.bar(low[filled], table.accuracy[filled], width=width[filled], align="edge", color="#4c72b0",
                   edgecolor="white", label="accuracy")
            ax.plot([0, 1], [0, 1], color="#888888", linestyle="--", linewidth=1, label="perfectly calibrated")
            # The bin's mean confidence at its height: the gap to the bar's top is the miscalibration.
            ax.scatter(low[filled] + width[filled] / 2, table.confidence[filled], s=10, color="#dd8452", zorder=3,
                       label="mean confidence")
            total = table.count.sum()
            for x, w, n in zip(low[filled], width[filled], table.count[filled]):
                ax.text(x + w / 2, 0.02, f"{n / total:.0%}" if n / total >= 0.005 else "", ha="center",
                        va="bottom", fontsize=6, color="white", rotation=90)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel("confidence (the top probability)")
            ax.set_title(f"{label}: ECE {table.ece:.2%}")
        axes[0].set_ylabel("accuracy of the images in the bin")
        axes[0].legend(loc="upper left", frameon=False, fontsize=7)
    return figure
