"""The ensemble: members trained (or reused) with their own seeds, averaged, exported as one file."""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo.cache import ModelCache
from digitzoo.calibration import Calibrated
from digitzoo.ensemble import Ensemble, member_seeds
from digitzoo.export import export_model, load_exported
from digitzoo.inference import predict_proba
from digitzoo.registry import model_info
from digitzoo.report import REPORT_FILES, build_report, write_report
from digitzoo.training import train


def test_an_ensemble_names_its_members_and_their_seeds():
    ensemble = model_info("cnn-best-ensemble").ensemble
    assert ensemble == Ensemble("cnn-best", 3)
    assert member_seeds(ensemble, 7) == [7, 8, 9]
    with pytest.raises(ValueError, match="at least 2 members"):
        Ensemble("cnn", 1)


@pytest.mark.slow
def test_the_ensemble_averages_its_members_calibrated_probabilities_and_exports_as_one_file(small_mnist, tmp_path):
    cache = ModelCache(tmp_path / "models")
    run = {"epochs": 1, "train_size": 1500, "data": small_mnist, "cache": cache}
    ensemble = train("cnn-best-ensemble", seed=4, **run)
    assert not ensemble.reused and 0 < ensemble.temperature
    members = [train("cnn-best", seed=seed, **run) for seed in (4, 5, 6)]
    assert all(m.reused for m in members)  # trained for the ensemble, each with its own seed
    assert len({m.test_accuracy for m in members}) > 1  # different seeds, different models

    pixels = small_mnist[1][0][:300]
    average = np.mean([predict_proba(Calibrated(m.model, m.temperature), pixels) for m in members], axis=0)
    own = predict_proba(ensemble.model, pixels)
    np.testing.assert_allclose(own, average, atol=1e-5)
    assert train("cnn-best-ensemble", seed=4, **run).reused

    calibrated = predict_proba(Calibrated(ensemble.model, ensemble.temperature), pixels)
    for format in ("tflite", "onnx"):
        path = export_model(Calibrated(ensemble.model, ensemble.temperature), tmp_path / f"e.{format}", format=format)
        assert path.is_file()  # one file
        np.testing.assert_allclose(load_exported(path)(pixels), calibrated, atol=1e-4)
    plain = export_model(ensemble.model, tmp_path / "plain.tflite", format="tflite")
    np.testing.assert_allclose(load_exported(plain)(pixels), own, atol=1e-4)

    # A report: everything but learning curves, which an ensemble has none of (its members trained).
    report = build_report(ensemble, small_mnist[1])
    paths = write_report(report, tmp_path / "report")
    assert sorted(paths) == sorted(kind for kind in REPORT_FILES if kind != "curves")
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == sorted(p.name for p in paths.values())
    assert "digitzoo report cnn-best --seed N" in paths["markdown"].read_text()
