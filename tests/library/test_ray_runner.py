"""digitzoo.ray_runner without starting Ray: which runner a request gets, and each trial's share of the CPUs.

The sweeps that start Ray are in tests/cli/test_cli_sweep_ray.py, in a network namespace of their own.
"""

from __future__ import annotations

import pytest

from digitzoo import ray_runner
from digitzoo.errors import DigitzooError
from digitzoo.ray_runner import RAY_HINT, RayRunner, _shares, choose_runner
from digitzoo.sweep import LocalRunner, TrialError, run_sweep


@pytest.fixture
def no_ray_address(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def test_one_worker_here_trains_in_this_process_and_more_go_to_ray(no_ray_address):
    assert isinstance(choose_runner(1), LocalRunner)
    runner = choose_runner(3)
    assert isinstance(runner, RayRunner) and runner.workers == 3 and runner.address is None
    assert isinstance(choose_runner(), RayRunner)  # default: one per core
    joined = choose_runner(1, "10.0.0.5:6379")
    assert isinstance(joined, RayRunner) and joined.address == "10.0.0.5:6379"


def test_ray_address_in_the_environment_is_a_cluster_to_join(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert choose_runner(1).address == "10.0.0.5:6379"
    assert choose_runner(None, "10.0.0.9:6379").address == "10.0.0.9:6379"


def test_without_ray_one_worker_still_runs_and_more_say_what_to_install(monkeypatch, no_ray_address):
    monkeypatch.setattr(ray_runner, "ray_installed", lambda: False)
    assert isinstance(choose_runner(), LocalRunner)
    assert isinstance(choose_runner(1), LocalRunner)
    for workers, address in ((2, None), (1, "10.0.0.5:6379")):
        with pytest.raises(DigitzooError, match="needs the ray extra: pip install"):
            choose_runner(workers, address)
    with pytest.raises(DigitzooError) as raised:
        RayRunner(2)
    assert str(raised.value) == RAY_HINT


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_whole_number_from_one(workers, no_ray_address):
    with pytest.raises(DigitzooError, match="workers must be a whole number from 1"):
        choose_runner(workers)


class _Cluster:
    """What _shares reads of Ray: the nodes and their CPUs."""

    def __init__(self, *cpus: float, dead: float = 0) -> None:
        self._nodes = [{"Alive": True, "Resources": {"CPU": c}} for c in cpus]
        if dead:
            self._nodes.append({"Alive": False, "Resources": {"CPU": dead}})

    def nodes(self):
        return self._nodes


@pytest.mark.parametrize(
    ("cpus", "workers", "trials", "expected"),
    [
        ((2,), 2, 4, (2, 1)),  # this machine, two at once: one core each
        ((8,), 2, 4, (2, 4)),  # two at once on eight cores: four threads each
        ((2,), 2, 1, (1, 2)),  # one trial left: it gets every core
        ((1, 1), None, 4, (2, 1)),  # a cluster: one trial a CPU by default
        ((4, 2), 2, 10, (2, 2)),  # never more than the smallest node has: every node can take one
        ((4, 4, 0.5), 1, 3, (1, 4)),  # a node without a whole CPU takes no trial
        ((2,), 5, 9, (5, 1)),  # more workers than CPUs: one each, Ray queues the rest
    ],
)
def test_each_trial_claims_its_share_of_the_cpus(cpus, workers, trials, expected):
    assert _shares(_Cluster(*cpus, dead=16), workers, trials) == expected


def test_a_cluster_without_cpus_is_refused():
    with pytest.raises(DigitzooError, match="no CPUs"):
        _shares(_Cluster(), None, 3)


def test_a_trial_that_raises_is_reported_and_the_others_go_on(monkeypatch):
    from digitzoo.training import TrainResult

    def train(name, *, seed, options, **kwargs):
        if seed == 1:
            raise DigitzooError("training 'tiny' diverged")
        return TrainResult.from_dict(_RESULT | {"seed": seed})

    monkeypatch.setattr("digitzoo.sweep.train", train)
    told = []
    result = run_sweep(["tiny"], seeds="0-2", on_trial=told.append)
    assert [t.trial.seed for t in result.trials] == [0, 2]
    (failed,) = result.failed
    assert isinstance(failed, TrialError) and failed.trial.seed == 1 and failed.error == "training 'tiny' diverged"
    assert result.to_dict()["failed"] == [
        {"model": "tiny", "setting": {}, "seed": 1, "error": "training 'tiny' diverged", "node": failed.node}
    ]
    assert len(told) == 3 and result.groups[0].stats.test.n == 2


_RESULT = {
    "name": "tiny", "params": 3190, "recipe": {"epochs": 1}, "options": {}, "seed": 0, "train_size": 300,
    "test_size": 10000, "train_accuracy": 0.5, "train_loss": 1.0, "test_accuracy": 0.5, "test_loss": 1.0,
    "train_seconds": 0.1, "history": {}, "data": "x", "versions": {}, "saved_at": "",
}
