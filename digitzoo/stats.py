"""Statistics of runs over several seeds: a summary per model and the difference between two models.

One training run is a sample, not a property of its recipe: the same recipe and seed give
different accuracies on different machines (parallel reductions add in another order). So a
figure is reported as the mean over seeds with its spread, and a difference between two models
comes with a 95 % confidence interval and a verdict in words.

The difference is estimated with Student's t: **paired** over the seeds both models ran (the same
seed draws the same subset and batch order, so pairing removes that shared part of the noise),
and with **Welch's** unequal-variance test when fewer than two seeds are shared but each model has
at least two runs. With one run a side there is no interval, and the verdict says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from .errors import DigitzooError
from .recipe import MAX_SEED

__all__ = [
    "MAX_SEEDS",
    "CONFIDENCE",
    "BETTER",
    "WORSE",
    "WITHIN_NOISE",
    "NO_INTERVAL",
    "Summary",
    "Difference",
    "parse_seeds",
    "summarize",
    "difference",
    "t_quantile",
]

#: At most this many seeds in one request: each is a training run.
MAX_SEEDS = 100
CONFIDENCE = 0.95
BETTER = "better"
WORSE = "worse"
WITHIN_NOISE = "within noise"
NO_INTERVAL = "one seed: no interval"

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (n − 1; 0 for one value), minimum and maximum of ``n`` values."""

    n: int
    mean: float
    std: float
    min: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """``mean`` of other − reference, its interval [``low``, ``high``] (``None`` without one), the
    ``test`` that gave it (``"paired t"``, ``"Welch t"`` or ``None``), the ``n`` values it rests on
    (pairs, or the smaller side for Welch) and the ``verdict`` in words."""

    mean: float
    low: float | None
    high: float | None
    test: str | None
    n: int
    verdict: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_seeds(spec: str | Iterable[int]) -> tuple[int, ...]:
    """The seeds ``spec`` names, in order: ``"0-4"``, ``"0,3,7"``, ``"0-2,9"``, or the integers themselves.

    Each seed is a whole number from 0 to 2**32 − 1, none twice, at most :data:`MAX_SEEDS`;
    anything else raises ``DigitzooError`` naming the part that is wrong.
    """
    if isinstance(spec, str):
        seeds: list[int] = []
        for part in spec.split(","):
            match = _RANGE.match(part)
            if not match:
                raise DigitzooError(f"seeds must look like 0-4 or 0,3,7; {part.strip()!r} is neither")
            first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
            if last < first:
                raise DigitzooError(f"seed range {part.strip()!r} runs backwards")
            if last - first >= MAX_SEEDS:
                raise DigitzooError(f"at most {MAX_SEEDS} seeds, got {last - first + 1} in {part.strip()!r}")
            seeds.extend(range(first, last + 1))
    else:
        seeds = list(spec)
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise DigitzooError(f"a seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    if not seeds:
        raise DigitzooError("no seeds given")
    if len(set(seeds)) != len(seeds):
        twice = sorted({s for s in seeds if seeds.count(s) > 1})
        raise DigitzooError(f"seed {twice[0]} is named twice")
    if len(seeds) > MAX_SEEDS:
        raise DigitzooError(f"at most {MAX_SEEDS} seeds, got {len(seeds)}")
    return tuple(seeds)


def summarize(values: Sequence[float]) -> Summary:
    """The :class:`Summary` of one or more finite values."""
    values = [float(v) for v in values]
    if not values or not all(math.isfinite(v) for v in values):
        raise DigitzooError(f"a summary needs one or more finite values, got {values!r}")
    n = len(values)
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return Summary(n=n, mean=mean, std=std, min=min(values), max=max(values))


def difference(reference: Mapping[int, float], other: Mapping[int, float]) -> Difference:
    """How ``other``'s values (by seed) differ from ``reference``'s, with a 95 % interval and a verdict."""
    if not reference or not other:
        raise DigitzooError("a difference needs at least one run on each side")
    shared = sorted(set(reference) & set(other))
    if len(shared) >= 2:
        deltas = summarize([other[s] - reference[s] for s in shared])
        half = t_quantile(0.5 + CONFIDENCE / 2, deltas.n - 1) * deltas.std / math.sqrt(deltas.n)
        return _judged(deltas.mean, half, "paired t", deltas.n)
    a, b = summarize(list(reference.values())), summarize(list(other.values()))
    mean = b.mean - a.mean
    if a.n < 2 or b.n < 2:
        return Difference(mean=mean, low=None, high=None, test=None, n=min(a.n, b.n), verdict=NO_INTERVAL)
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    spread = math.sqrt(va + vb)
    if spread == 0:
        return _judged(mean, 0.0, "Welch t", min(a.n, b.n))
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))  # Welch–Satterthwaite
    return _judged(mean, t_quantile(0.5 + CONFIDENCE / 2, df) * spread, "Welch t", min(a.n, b.n))


def _judged(mean: float, half: float, test: str, n: int) -> Difference:
    low, high = mean - half, mean + half
    verdict = BETTER if low > 0 else WORSE if high < 0 else WITHIN_NOISE
    return Difference(mean=mean, low=low, high=high, test=test, n=n, verdict=verdict)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (fractional for Welch)."""
    if not 0 < p < 1 or not df > 0:
        raise DigitzooError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p!r}, df={df!r}")
    from scipy.stats import t  # only a comparison of seeds pays for importing it

    return float(t.ppf(p, df))
