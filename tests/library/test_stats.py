"""Statistics over seeds: summaries, the difference of two models with its interval, and the verdict."""

from __future__ import annotations

import math

import pytest

from digitzoo.errors import DigitzooError
from digitzoo.stats import (
    BETTER,
    NO_INTERVAL,
    WITHIN_NOISE,
    WORSE,
    difference,
    parse_seeds,
    summarize,
    t_quantile,
)

# Student's t quantiles from printed tables (0.975 for 1, 2, 4 and 10 degrees of freedom).
T_975 = {1: 12.706204736, 2: 4.302652730, 4: 2.776445105, 10: 2.228138852}


@pytest.mark.parametrize(("spec", "seeds"), [("0-4", (0, 1, 2, 3, 4)), ("0,3,7", (0, 3, 7)), (" 2 - 3 , 9", (2, 3, 9)),
                                              ("5", (5,)), (range(3), (0, 1, 2))])
def test_seed_specs(spec, seeds):
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize(
    ("spec", "message"),
    [("4-0", "runs backwards"), ("a", "seeds must look like 0-4 or 0,3,7; 'a' is neither"), ("0,,1", "'' is neither"),
     ("1,1", "seed 1 is named twice"), ("0-200", "at most 100 seeds"), ([-1], "from 0 to 4294967295"),
     ("4294967296", "from 0 to 4294967295"), ([], "no seeds given"), ([True], "got True")],
)
def test_bad_seed_specs_are_refused_naming_the_part(spec, message):
    with pytest.raises(DigitzooError, match=message):
        parse_seeds(spec)


def test_a_summary_is_the_mean_and_the_sample_deviation():
    s = summarize([0.98, 0.99, 1.0])
    assert (s.n, s.min, s.max) == (3, 0.98, 1.0)
    assert s.mean == pytest.approx(0.99) and s.std == pytest.approx(0.01)  # sqrt((1e-4 + 0 + 1e-4) / 2)
    assert summarize([0.5]).std == 0.0
    with pytest.raises(DigitzooError):
        summarize([0.5, math.nan])


@pytest.mark.parametrize("df", sorted(T_975))
def test_t_quantiles_match_the_tables(df):
    assert t_quantile(0.975, df) == pytest.approx(T_975[df], abs=1e-8)
    assert t_quantile(0.025, df) == pytest.approx(-T_975[df], abs=1e-8)
    assert t_quantile(0.5, df) == pytest.approx(0.0, abs=1e-12)


def test_a_paired_difference_within_noise_by_hand():
    # Differences 1, 2, 3 points: mean 2, sd 1, half width t(0.975, 2) * 1 / sqrt(3).
    reference = {0: 0.90, 1: 0.90, 2: 0.90}
    other = {0: 0.91, 1: 0.92, 2: 0.93}
    d = difference(reference, other)
    half = T_975[2] * 0.01 / math.sqrt(3)
    assert (d.test, d.n, d.verdict) == ("paired t", 3, WITHIN_NOISE)
    assert d.mean == pytest.approx(0.02) and d.low == pytest.approx(0.02 - half) and d.high == pytest.approx(0.02 + half)


def test_a_clearly_better_and_a_clearly_worse_model():
    reference = {s: 0.97 for s in range(5)}
    better = {s: 0.98 + 0.0001 * s for s in range(5)}  # one point up on every seed, a little spread
    assert difference(reference, better).verdict == BETTER
    assert difference(better, reference).verdict == WORSE


def test_pairing_removes_what_the_seeds_share():
    # Both models move together from seed to seed; the other is always 0.1 point better.
    reference = {0: 0.970, 1: 0.980, 2: 0.975, 3: 0.985}
    other = {s: v + 0.001 for s, v in reference.items()}
    assert difference(reference, other).verdict == BETTER  # a Welch test would call this noise


def test_without_shared_seeds_welch_is_used():
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = [0.97, 0.98, 0.975], [0.99, 0.985]
    d = difference(dict(enumerate(a)), {10 + i: v for i, v in enumerate(b)})
    expected = scipy_stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert d.test == "Welch t" and d.low == pytest.approx(expected.low) and d.high == pytest.approx(expected.high)


def test_one_seed_has_no_interval_and_says_so():
    d = difference({0: 0.97}, {0: 0.99})
    assert (d.low, d.high, d.test, d.verdict) == (None, None, None, NO_INTERVAL)
    assert d.mean == pytest.approx(0.02)
