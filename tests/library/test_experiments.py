"""compare_seeds: every model on every seed, from the cache when it can, summarised and compared."""

from __future__ import annotations

import pytest

from digitzoo.cache import ModelCache
from digitzoo.errors import DigitzooError, UnknownModelError
from digitzoo.experiments import compare_seeds

pytestmark = pytest.mark.slow  # it trains

_RUN = {"epochs": 1, "train_size": 300}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return ModelCache(tmp_path_factory.mktemp("seeds") / "models")


def test_every_model_runs_on_every_seed_and_is_compared_with_the_first(small_mnist, cache):
    told = []
    comparison = compare_seeds(["tiny", "mlp"], "0-1", data=small_mnist, cache=cache, on_run=told.append, **_RUN)
    assert comparison.seeds == (0, 1)
    assert [m.name for m in comparison.models] == ["tiny", "mlp"]
    assert [(r.name, r.seed) for r in told] == [("tiny", 0), ("tiny", 1), ("mlp", 0), ("mlp", 1)]
    tiny, mlp = comparison.models
    assert tiny.seeds == (0, 1) and tiny.test.n == 2
    assert tiny.test.mean == pytest.approx(sum(r.test_accuracy for r in tiny.runs) / 2)
    assert tiny.runs[0].test_accuracy != tiny.runs[1].test_accuracy  # two seeds, two different runs
    (against,) = comparison.comparisons
    assert (against.reference, against.model, against.difference.test) == ("tiny", "mlp", "paired t")
    assert against.difference.mean == pytest.approx(mlp.test.mean - tiny.test.mean)

    again = compare_seeds(["tiny", "mlp"], [0, 1], data=small_mnist, cache=cache, **_RUN)
    assert all(r.reused for m in again.models for r in m.runs)  # the cache keys by seed
    report = again.to_dict()
    assert report["seeds"] == [0, 1] and report["confidence"] == 0.95
    assert [m["name"] for m in report["models"]] == ["tiny", "mlp"]
    assert set(report["models"][0]) >= {"test_accuracy_mean", "test_accuracy_std", "seeds", "runs", "diagnosis"}
    assert report["models"][1]["runs"][1]["seed"] == 1
    assert report["comparisons"][0]["verdict"] == against.difference.verdict


@pytest.mark.parametrize(
    ("names", "kwargs", "error", "message"),
    [
        (["tiny", "tyni"], {}, UnknownModelError, "unknown model 'tyni'"),
        (["tiny", "tiny"], {}, DigitzooError, "'tiny' is named twice"),
        (["tiny"], {"seeds": "3-1"}, DigitzooError, "runs backwards"),
        (["tiny"], {"seed": 3}, DigitzooError, "give the seeds as seeds="),
        ([], {}, DigitzooError, "at least one model name"),
    ],
)
def test_bad_requests_fail_before_any_training(names, kwargs, error, message, cache, monkeypatch):
    monkeypatch.setattr("digitzoo.experiments.train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(error, match=message):
        compare_seeds(names, **kwargs)
