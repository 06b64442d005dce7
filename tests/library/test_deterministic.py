"""train(deterministic=True): the same seed gives the same weights, recorded as such, in an entry of its own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitzoo.cache import ModelCache
from digitzoo.errors import DigitzooError
from digitzoo.plan import plan_training
from digitzoo.training import train

pytestmark = pytest.mark.slow


def _weights(result):
    return [np.asarray(w) for w in result.model.get_weights()]


def test_two_deterministic_runs_give_the_same_weights_and_accuracy(small_mnist, homes):
    from tensorflow.python.framework import config as tf_config

    first = train("lenet5", epochs=1, data=small_mnist, deterministic=True)
    again = train("lenet5", epochs=1, data=small_mnist, deterministic=True, retrain=True)
    assert first.deterministic and again.deterministic
    assert not again.reused
    assert all(np.array_equal(a, b) for a, b in zip(_weights(first), _weights(again)))
    assert (first.test_accuracy, first.train_accuracy, first.history) == (again.test_accuracy, again.train_accuracy, again.history)
    assert not tf_config.is_op_determinism_enabled()  # process-wide, so put back after the training
    sidecar = json.loads(next(ModelCache().root.glob("lenet5-*.json")).read_text())
    assert sidecar["deterministic"] is True


def test_a_deterministic_run_is_an_entry_of_its_own(small_mnist):
    usual = plan_training("tiny", data=small_mnist)
    exact = plan_training("tiny", data=small_mnist, deterministic=True)
    assert exact.key != usual.key and exact.deterministic and not usual.deterministic
    assert plan_training("tiny", data=small_mnist, deterministic=False).key == usual.key


def test_deterministic_takes_true_or_false():
    with pytest.raises(DigitzooError, match="deterministic must be True or False"):
        plan_training("tiny", deterministic="yes")
