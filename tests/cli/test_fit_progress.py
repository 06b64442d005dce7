"""The training progress display, on a terminal and off one."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from digitzoo import build_model
from digitzoo_cli.fit_progress import fit_progress


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_reports_every_epoch(terminal):
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100)
    model = build_model("tiny")
    x = np.random.default_rng(0).integers(0, 256, size=(64, 28, 28)).astype("float32")
    y = np.eye(10, dtype="float32")[np.arange(64) % 10]
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[fit_progress(console, "tiny")])
    text = out.getvalue()
    if terminal:
        assert "tiny: trained 2 epochs in" in text
    else:
        lines = text.strip().splitlines()
        assert [line.split("  ")[0] for line in lines] == ["tiny: epoch 1/2", "tiny: epoch 2/2"]
        assert all("loss " in line and "acc " in line for line in lines)


@pytest.mark.slow
def test_the_bar_says_it_advances_in_chunks():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    model = build_model("tiny")
    steps = model.steps_per_execution
    assert steps > 1
    x = np.zeros((64, 28, 28), "float32")
    y = np.eye(10, dtype="float32")[np.arange(64) % 10]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[fit_progress(console, "tiny")])
    assert f"batches (by {steps})" in out.getvalue()
