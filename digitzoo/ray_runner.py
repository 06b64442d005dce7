"""Sweep trials on Ray: several at once on this machine's cores, or on every machine of a Ray cluster.

:class:`RayRunner` is a :class:`digitzoo.sweep.Runner`. Trials already in the cache are reused here,
in the driver, without starting Ray; the others become Ray tasks. No file system is shared: the
driver puts the verified training arrays into Ray's object store once, each task trains one trial
with :func:`digitzoo.training.train` (no cache of its own) and sends back its numbers and its
``.keras`` file, and the driver writes that pair into its own cache, atomically and under the
cache's lock, as each trial ends. So a sweep stopped at any point keeps every finished trial, and
a worker needs digitzoo installed, nothing else.

With no address, an embedded Ray starts for the sweep and stops after it: its own temporary folder,
a token of its own for Ray's authentication (its ports are open to the network, as Ray's always
are, but useless without the token), and no dashboard or usage statistics. With an address (or
``$RAY_ADDRESS``) the driver joins that cluster and leaves it running.

Ray retries a task whose worker process died (killed, out of memory) up to :data:`RETRIES` times;
a trial that raises is reported as a :class:`digitzoo.sweep.TrialError` and the others go on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import platform
import re
import secrets
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._tensorflow import filtered_stderr
from .cache import ModelCache
from .errors import DigitzooError, describe_exception
from .plan import plan_training
from .sweep import LocalRunner, Runner, Trial, TrialError, TrialRun, run_trial, trial_options
from .training import TrainResult, train

__all__ = ["RAY_HINT", "RETRIES", "RayRunner", "choose_runner", "ray_installed", "local_cores"]

RAY_HINT = 'running trials in parallel or on a cluster needs the ray extra: pip install "digitzoo[ray]"'
#: How many times Ray reruns a trial whose worker process died before the sweep reports it failed.
RETRIES = 2
_log = logging.getLogger("digitzoo.ray")
# Seconds between checks for Ctrl-C while waiting for trials.
_POLL = 0.5
# What Ray's core prints on the driver's stderr while it starts or joins: nothing a user acts on.
_NOISE = re.compile(
    r"^\[[-\d :,]+ [IW] \d+ \d+\] (network_util|core_worker|gcs_client|accessor|client)\S*\.cc:\d+:"
    r"|^\d{4}-\d\d-\d\d [\d:,]+\s+INFO "
)
# Arguments of train() that stay with the driver: the cache is the driver's, the data travels by
# the object store, and a remote trial always trains.
_DRIVER_ONLY = ("cache", "data", "retrain", "load", "use_cache", "callbacks", "options")


def ray_installed() -> bool:
    """Whether the ``ray`` extra is installed (without importing Ray, which takes a second)."""
    return importlib.util.find_spec("ray") is not None


def local_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class RayRunner:
    """Run trials as Ray tasks: ``workers`` at once (``None``: one per core here, one per CPU of the
    cluster), on an embedded Ray or on the cluster at ``address``."""

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        if not ray_installed():
            raise DigitzooError(RAY_HINT)
        self.workers = workers
        self.address = address or os.environ.get("RAY_ADDRESS") or None

    def run(
        self,
        trials: Sequence[Trial],
        train_kwargs: Mapping[str, Any],
        callbacks: Callable[[Trial], Sequence[Any]] | None = None,
        on_started: Callable[[Trial], None] | None = None,
    ) -> Iterator[TrialRun | TrialError]:
        cache = train_kwargs.get("cache") or ModelCache()
        data = train_kwargs.get("data")
        if isinstance(data, (str, os.PathLike)) or (data is None and os.environ.get("DIGITZOO_DATA")):
            # A named file is read and verified once here, not once per trial (the same cache keys).
            train_kwargs = {**train_kwargs, "data": _arrays(data)}
        missing: list[tuple[Trial, str]] = []
        for trial in trials:
            key = _key(trial, train_kwargs)
            if train_kwargs.get("retrain") or cache.lookup(trial.model, key) is None:
                missing.append((trial, key))
            else:  # cached: read here, no Ray needed
                if on_started is not None:
                    on_started(trial)
                yield run_trial(trial, **train_kwargs)
        if not missing:
            return
        if self.address is None and min(self.workers or local_cores(), len(missing)) == 1:
            # One trial at a time on this machine: in this process, with its progress bars, no Ray.
            yield from LocalRunner().run([t for t, _ in missing], train_kwargs, callbacks, on_started)
            return
        with _connected(self.address, max(self.workers or 1, local_cores())) as ray:
            yield from _Scheduler(ray, self.workers, cache, train_kwargs, on_started).run(missing)


def choose_runner(workers: int | None = None, address: str | None = None) -> Runner:
    """The runner for ``workers`` trials at once (``None``: one per core) here, or on the Ray cluster at
    ``address`` (``None``: ``$RAY_ADDRESS`` if set).

    Without the ``ray`` extra that is :class:`LocalRunner`, and asking for more than one worker or
    for a cluster raises ``DigitzooError`` saying what to install.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise DigitzooError(f"workers must be a whole number from 1, got {workers!r}")
    if not ray_installed():
        if address is not None or (workers or 1) > 1:
            raise DigitzooError(RAY_HINT)
        return LocalRunner()
    if address is None and workers == 1:
        return LocalRunner()
    return RayRunner(workers=workers, address=address)


# The arguments of train() that the plan (and so the cache key) depends on, besides seed and options.
_PLANNED = ("epochs", "train_size", "batch_size", "learning_rate", "data", "deterministic")


def _key(trial: Trial, train_kwargs: Mapping[str, Any]) -> str:
    given = {k: v for k, v in train_kwargs.items() if k in _PLANNED}
    return plan_training(trial.model, seed=trial.seed, options=trial_options(trial, train_kwargs), **given).key


class _Scheduler:
    """Keeps ``concurrency`` trials on the cluster, saves each as it ends, cancels the rest on the way out."""

    def __init__(self, ray, workers: int | None, cache: ModelCache, train_kwargs: Mapping[str, Any], on_started) -> None:
        self.ray, self.cache, self.on_started = ray, cache, on_started
        self.retrain = bool(train_kwargs.get("retrain"))
        self.remote_kwargs = {k: v for k, v in train_kwargs.items() if k not in _DRIVER_ONLY}
        self.options = dict(train_kwargs.get("options") or {})
        self.data = _arrays(train_kwargs.get("data"))
        self.workers = workers
        # A deterministic trial keeps TensorFlow's own thread count, as `train` on that node would:
        # the split of a sum over threads changes its last bits, so a share of the cores would give
        # other weights than the same run outside the sweep.
        self.deterministic = bool(train_kwargs.get("deterministic"))

    def run(self, missing: list[tuple[Trial, str]]) -> Iterator[TrialRun | TrialError]:
        ray = self.ray
        concurrency, cpus = _shares(ray, self.workers, len(missing))
        task = ray.remote(_train_remote).options(num_cpus=cpus, max_retries=RETRIES, retry_exceptions=False)
        data = ray.put(self.data)  # once, whatever the number of trials
        waiting, running = deque(missing), {}
        try:
            while waiting or running:
                while waiting and len(running) < concurrency:
                    trial, key = waiting.popleft()
                    kwargs = {**self.remote_kwargs, "options": {**self.options, **trial.train_arguments()["options"]}}
                    running[task.remote(trial, kwargs, data, None if self.deterministic else cpus)] = (trial, key)
                    if self.on_started is not None:
                        self.on_started(trial)
                done, _ = ray.wait(list(running), num_returns=1, timeout=_POLL)
                for ref in done:
                    trial, key = running.pop(ref)
                    yield self._finish(ref, trial, key)
        finally:
            for ref in running:  # Ctrl-C or an error here: no trial goes on without a driver to save it
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)

    def _finish(self, ref, trial: Trial, key: str) -> TrialRun | TrialError:
        ray = self.ray
        try:
            out = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if exc.cause is not None else exc
            message = str(cause) if isinstance(cause, DigitzooError) else describe_exception(cause)
            return TrialError(trial, message, _node_of(exc))
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OutOfMemoryError) as exc:
            return TrialError(trial, f"its worker died {RETRIES + 1} times ({type(exc).__name__})", "?")
        meta, node = out["meta"], out["node"]
        if meta["key"] != key:
            return TrialError(
                trial, "the worker's digitzoo differs from this one (another version or code); install the same on every node", node
            )
        saved = self.cache.save(_ModelFile(out["model"]), trial.model, key, meta, keep_existing=not self.retrain)
        result = TrainResult.from_dict(meta)
        result.model_path = str(self.cache.root / saved["file"])
        return TrialRun(trial=trial, result=result, node=node, node_id=out["node_id"])


def _node_of(exc) -> str:
    return getattr(exc, "ip", None) or "?"


class _ModelFile:
    """A trained model's ``.keras`` bytes, with the ``save(path)`` that :meth:`ModelCache.save` calls."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def save(self, path) -> None:
        Path(path).write_bytes(self.content)


def _train_remote(trial: Trial, kwargs: dict[str, Any], data, threads: int | None) -> dict[str, Any]:
    """One trial on a Ray worker: train on ``data`` with ``threads`` TensorFlow threads (None: TensorFlow's
    default); the numbers and the file back."""
    import ray

    if threads is not None:
        _limit_threads(threads)
    result = train(trial.model, seed=trial.seed, data=data, use_cache=False, load=True, **kwargs)
    with tempfile.TemporaryDirectory(prefix="digitzoo-trial-") as folder:
        path = Path(folder) / "model.keras"
        result.model.save(path)
        content = path.read_bytes()
    result.model = None
    return {
        "meta": result.to_dict(),
        "model": content,
        "node": platform.node(),
        "node_id": ray.get_runtime_context().get_node_id(),
    }


def _limit_threads(threads: int) -> None:
    """TensorFlow's thread pools sized to this trial's share of the cores (before its first operation)."""
    from ._tensorflow import import_quietly

    import_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # this worker process ran a trial of the same sweep before: already set
        pass


def _arrays(data):
    """The training arrays to ship: the ones given, or the file named (or MNIST) read and verified here."""
    if data is None or isinstance(data, (str, os.PathLike)):
        from .data import load_mnist

        return load_mnist(data)
    return data


def _shares(ray, workers: int | None, trials: int) -> tuple[int, int]:
    """How many trials run at once and how many CPUs each claims (and uses as TensorFlow threads)."""
    nodes = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU", 0) >= 1]
    total = int(sum(nodes))
    if total < 1:
        raise DigitzooError("the Ray cluster has no CPUs to train on")
    concurrency = max(1, min(workers or total, trials))
    # No more than the smallest node has, so that every node can take a trial.
    cpus = max(1, min(total // concurrency, int(min(nodes))))
    return concurrency, cpus


@contextlib.contextmanager
def _connected(address: str | None, workers: int) -> Iterator[Any]:
    """Ray, started here for the block (``address`` None) or joined at ``address``; shut down or left after."""
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    folder = None
    if address is None:
        folder = tempfile.mkdtemp(prefix="digitzoo-ray-")
        # A token of its own: an embedded Ray listens on the network, so nobody else may join it.
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    try:
        with _environment(env):
            import ray

            _start(ray, address, workers, folder)
            try:
                with _raylet_messages_to_log():
                    yield ray
            finally:
                with filtered_stderr(_NOISE):
                    ray.shutdown()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _start(ray, address: str | None, workers: int, folder: str | None) -> None:
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    try:
        with filtered_stderr(_NOISE):
            if address is None:
                ray.init(address="local", num_cpus=workers, include_dashboard=False, _temp_dir=folder, **quiet)
            else:
                ray.init(address=address, **quiet)
    except Exception as exc:  # Ray raises a dozen types here (no token, wrong token, no cluster …)
        if address is None:
            raise DigitzooError(f"could not start Ray on this machine: {describe_exception(exc)}") from None
        raise DigitzooError(
            f"could not join the Ray cluster at {address}: {describe_exception(exc)}; check the address and, "
            "with token authentication, that RAY_AUTH_MODE=token and the cluster's token (RAY_AUTH_TOKEN or "
            "RAY_AUTH_TOKEN_PATH) are set here as on the cluster"
        ) from None


@contextlib.contextmanager
def _raylet_messages_to_log() -> Iterator[None]:
    """Inside the block, the raylet's messages to the driver go to the ``digitzoo.ray`` logger, not stdout.

    Ray prints them on stdout, where they would break ``--json``; the one a sweep meets ("a worker
    died", which Ray then retries) is reported as a failed trial if the retries run out. Ray has no
    setting for this, so its printing function is wrapped for the length of the sweep.
    """
    from ray._private import worker

    printing = getattr(worker, "print_to_stdstream", None)
    if printing is None:  # another Ray: leave it as it is
        yield
        return

    def to_log(data, *args, **kwargs):
        if data.get("pid") != "raylet":
            return printing(data, *args, **kwargs)
        for line in data.get("lines", ()):
            _log.info("raylet: %s", line)

    worker.print_to_stdstream = to_log
    try:
        yield
    finally:
        worker.print_to_stdstream = printing


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set inside the block (Ray's processes inherit them), as before after."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
