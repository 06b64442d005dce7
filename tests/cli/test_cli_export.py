"""`digitzoo export` on the command line: what it writes and says, what it refuses.

The round trips of the files themselves are tests/library/test_export.py's.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from digitzoo.export import INPUT_CONTRACT, ModelSource
from digitzoo.registry import build_model, model_info
from digitzoo_cli.main import cli

pytest.importorskip("onnxruntime", reason='onnxruntime is in the export extra: pip install "digitzoo[export]"')
pytest.importorskip("tf2onnx", reason='tf2onnx is in the export extra: pip install "digitzoo[export]"')


def test_cli_export_writes_the_file_and_says_what_it_takes(monkeypatch, tmp_path):
    model = build_model("mlp")
    chosen = ModelSource(
        name="mlp", model=model, source="cached", recipe=model_info("mlp").recipe.to_dict(), seed=0,
        train_size=60000, test_accuracy=0.98, file="mlp.keras",
    )
    monkeypatch.setattr("digitzoo.zoo.resolve", lambda name, **kwargs: chosen)
    out = tmp_path / "m.onnx"

    result = CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert "input  pixels: float32 (N, 28, 28), raw pixels 0–255, white digit on black" in result.output
    assert (
        "model  mlp: your trained model from the cache, "
        "sgd lr 0.05, batch 256, 30 epochs on 60,000 images, seed 0; test accuracy 98.00%"
    ) in result.output

    result = CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == str(out) and report["source"] == "cached" and report["bytes"] == out.stat().st_size
    assert report["origin"] == {**chosen.to_dict(), "given": {}}
    assert report["input_contract"] == json.loads(json.dumps(INPUT_CONTRACT))


def test_cli_export_refuses_quantizing_onnx():
    result = CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "--quantize", "int8"])
    assert result.exit_code == 2
    assert "Invalid value for --quantize: applies to --format tflite only, not onnx" in result.output
