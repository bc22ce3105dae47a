"""Paired tests, effect sizes, McNemar, Holm and per-seed summaries: checked against scipy or by hand."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mono_s2s.stats import (
    IMPROVEMENT_NEAR_ZERO,
    IMPROVEMENT_NEGATIVE,
    IMPROVEMENT_NOT_FINITE,
    across_seeds,
    holm,
    improvement_pct,
    mcnemar,
    paired_comparison,
    significance_mark,
)

PAIRED_KEYS = {
    "n", "a_mean", "a_std", "b_mean", "b_std", "a_ci_low", "a_ci_high", "b_ci_low", "b_ci_high",
    "diff_mean", "diff_std", "diff_ci_low", "diff_ci_high", "n_nonzero", "wilcoxon_p", "ttest_p",
    "cohens_dz", "rank_biserial",
}


def assert_plain_json(result: dict) -> None:
    """Every value a plain Python int/float (not numpy), and the dict JSON-serialisable (nan allowed)."""
    for key, value in result.items():
        assert type(value) in (int, float), (key, type(value))
    json.dumps(result, allow_nan=True)


def assert_nan(value: float) -> None:
    assert isinstance(value, float) and math.isnan(value)


# --------------------------------------------------------------------------- paired_comparison

def test_paired_matches_scipy_on_a_random_sample():
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 0.5, size=30)
    b = a - rng.normal(0.2, 0.3, size=30)
    r = paired_comparison(a, b, n_boot=500, seed=3)
    assert set(r) == PAIRED_KEYS
    d = [x - y for x, y in zip(a.tolist(), b.tolist())]
    assert r["n"] == 30 and r["n_nonzero"] == 30
    assert r["a_mean"] == pytest.approx(statistics.fmean(a.tolist()))
    assert r["b_mean"] == pytest.approx(statistics.fmean(b.tolist()))
    assert r["a_std"] == pytest.approx(statistics.stdev(a.tolist()))
    assert r["b_std"] == pytest.approx(statistics.stdev(b.tolist()))
    assert r["diff_mean"] == pytest.approx(statistics.fmean(d))
    assert r["diff_std"] == pytest.approx(statistics.stdev(d))
    assert r["ttest_p"] == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert r["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(a, b).pvalue, rel=1e-12)
    assert r["cohens_dz"] == pytest.approx(statistics.fmean(d) / statistics.stdev(d))
    assert_plain_json(r)


def test_paired_intervals_are_one_paired_bootstrap():
    """a, b and d intervals come from the same resampled sample indices (computed here by hand)."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=12)
    b = rng.normal(size=12)
    n_boot, seed = 400, 11
    r = paired_comparison(a, b, n_boot=n_boot, confidence=0.9, seed=seed)
    idx = np.random.default_rng(seed).integers(0, 12, size=(n_boot, 12))
    for values, prefix in ((a, "a"), (b, "b"), (a - b, "diff")):
        low, high = np.quantile(values[idx].mean(axis=1), [0.05, 0.95])
        assert r[f"{prefix}_ci_low"] == pytest.approx(low)
        assert r[f"{prefix}_ci_high"] == pytest.approx(high)
    assert r["diff_ci_low"] <= r["diff_mean"] <= r["diff_ci_high"]


def test_direction_baseline_worse_gives_positive_difference():
    a = [0.9, 0.8, 1.2, 0.7, 1.1, 0.95]  # baseline degrades more
    b = [0.3, 0.5, 0.2, 0.4, 0.6, 0.1]
    r = paired_comparison(a, b, n_boot=200)
    assert r["diff_mean"] > 0 and r["cohens_dz"] > 0 and r["rank_biserial"] == 1.0
    flipped = paired_comparison(b, a, n_boot=200)
    assert flipped["diff_mean"] < 0 and flipped["cohens_dz"] < 0 and flipped["rank_biserial"] == -1.0


def test_rank_biserial_by_hand_with_tied_abs_differences():
    # d = [1, -2, 2, 3]: |d| ranks 1, 2.5, 2.5, 4 (the tie shares ranks 2 and 3).
    # R+ = 1 + 2.5 + 4 = 7.5, R- = 2.5  ->  (7.5 - 2.5) / 10 = 0.5.
    a = [1.0, 0.0, 2.0, 3.0]
    b = [0.0, 2.0, 0.0, 0.0]
    r = paired_comparison(a, b, n_boot=100)
    assert r["rank_biserial"] == pytest.approx(0.5)
    # scipy's two-sided statistic is min(R+, R-) = 2.5: the same ranks.
    d = np.subtract(a, b)
    assert scipy_stats.wilcoxon(d).statistic == pytest.approx(2.5)
    assert r["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(d).pvalue)
    # d = [1, 2, 3, 6]: mean 3, var = (4 + 1 + 0 + 9) / 3.
    dz = paired_comparison([1, 2, 3, 6], [0, 0, 0, 0], n_boot=100)["cohens_dz"]
    assert dz == pytest.approx(3 / math.sqrt(14 / 3))


def test_zero_differences_are_dropped_by_the_signed_rank_test():
    a = [1.0, 0.0, 2.0, 3.0, 5.0, 5.0]
    b = [0.0, 2.0, 0.0, 0.0, 5.0, 5.0]  # last two pairs tie
    r = paired_comparison(a, b, n_boot=100)
    assert r["n"] == 6 and r["n_nonzero"] == 4
    assert r["rank_biserial"] == pytest.approx(0.5)  # same as without the zeros
    d = np.subtract(a, b)
    assert r["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(d, zero_method="wilcox").pvalue)
    assert r["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(d[d != 0]).pvalue)
    assert r["ttest_p"] == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)


def test_wilcoxon_with_many_ties_and_zeros_matches_scipy():
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(0.5, 0.4, size=60), 1)
    b = np.round(a - rng.normal(0.1, 0.2, size=60), 1)
    r = paired_comparison(a, b, n_boot=100)
    d = a - b
    assert 0 < r["n_nonzero"] < 60
    assert r["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(d, zero_method="wilcox").pvalue, rel=1e-12)


def test_small_sample_exact_p_by_hand():
    # 3 positive distinct differences: exact two-sided p = 2 * (1/2)**3 = 0.25.
    r = paired_comparison([3.0, 2.0, 5.0], [1.0, 1.5, 1.0], n_boot=100)
    assert r["wilcoxon_p"] == pytest.approx(0.25)
    assert r["ttest_p"] == pytest.approx(scipy_stats.ttest_rel([3.0, 2.0, 5.0], [1.0, 1.5, 1.0]).pvalue)


def test_all_equal_samples():
    a = [0.2, 0.5, 0.5, 0.9]
    r = paired_comparison(a, list(a), n_boot=100)
    assert r["n_nonzero"] == 0 and r["diff_mean"] == 0.0 and r["diff_std"] == 0.0
    assert (r["diff_ci_low"], r["diff_ci_high"]) == (0.0, 0.0)
    assert r["wilcoxon_p"] == 1.0 and r["ttest_p"] == 1.0
    assert_nan(r["cohens_dz"])
    assert_nan(r["rank_biserial"])
    assert r["a_mean"] == r["b_mean"] == pytest.approx(0.525)
    assert_plain_json(r)


def test_constant_nonzero_difference():
    b = [0.2, 0.4, 0.6, 0.3, 0.7]
    a = [x + 0.1 for x in b]  # constant up to round-off
    r = paired_comparison(a, b, n_boot=100)
    assert r["diff_mean"] == pytest.approx(0.1)
    assert r["n_nonzero"] == 5
    assert_nan(r["ttest_p"])  # t = mean / 0: undefined, not p ~ 1e-30
    assert_nan(r["cohens_dz"])
    assert r["rank_biserial"] == 1.0
    assert r["wilcoxon_p"] == pytest.approx(2 / 2 ** 5)  # exact, all five signs positive
    assert_plain_json(r)


def test_single_and_empty_pairs():
    one = paired_comparison([0.7], [0.2], n_boot=100)
    assert one["n"] == 1 and one["diff_mean"] == pytest.approx(0.5)
    for key in ("a_std", "b_std", "diff_std", "ttest_p", "cohens_dz"):
        assert_nan(one[key])
    assert one["wilcoxon_p"] == 1.0  # one sign out of one: the exact two-sided p is 1
    assert one["rank_biserial"] == 1.0
    assert_plain_json(one)

    empty = paired_comparison([], [], n_boot=100)
    assert empty["n"] == 0 and empty["n_nonzero"] == 0
    for key in PAIRED_KEYS - {"n", "n_nonzero"}:
        assert_nan(empty[key])
    assert_plain_json(empty)


@pytest.mark.parametrize("a, b", [
    ([1.0, math.nan, 2.0], [1.0, 1.0, 1.0]),
    ([1.0, 2.0, 3.0], [1.0, math.inf, 1.0]),
    ([1.0, 2.0, 3.0], [1.0, 2.0]),
])
def test_paired_rejects_nonfinite_and_misaligned(a, b):
    with pytest.raises(ValueError):
        paired_comparison(a, b)


# --------------------------------------------------------------------------- improvement_pct

def test_improvement_pct_values():
    assert improvement_pct(0.5, 0.2) == (pytest.approx(60.0), None)
    assert improvement_pct(0.5, 0.7) == (pytest.approx(-40.0), None)  # monotone degraded more
    assert improvement_pct(2.0, -1.0) == (pytest.approx(150.0), None)  # attack helped the monotone model
    assert improvement_pct(1e-3, 0.0) == (pytest.approx(100.0), None)  # at the threshold: defined


@pytest.mark.parametrize("base, mono, kwargs, reason", [
    (1e-4, 0.0, {}, IMPROVEMENT_NEAR_ZERO),
    (0.0, 0.3, {}, IMPROVEMENT_NEAR_ZERO),
    (-1e-4, 0.0, {}, IMPROVEMENT_NEAR_ZERO),
    (0.05, 0.0, {"min_baseline": 0.1}, IMPROVEMENT_NEAR_ZERO),
    (-0.5, -0.2, {}, IMPROVEMENT_NEGATIVE),
    (math.nan, 0.1, {}, IMPROVEMENT_NOT_FINITE),
    (0.5, math.inf, {}, IMPROVEMENT_NOT_FINITE),
    (None, 0.1, {}, IMPROVEMENT_NOT_FINITE),
])
def test_improvement_pct_undefined(base, mono, kwargs, reason):
    assert improvement_pct(base, mono, **kwargs) == (None, reason)


def test_improvement_pct_rejects_nonpositive_threshold():
    with pytest.raises(ValueError):
        improvement_pct(0.0, 0.0, min_baseline=0.0)


# --------------------------------------------------------------------------- mcnemar

def test_mcnemar_known_discordant_counts():
    # 5 both succeed, 8 only a, 2 only b, 5 neither.
    a = [True] * 5 + [True] * 8 + [False] * 2 + [False] * 5
    b = [True] * 5 + [False] * 8 + [True] * 2 + [False] * 5
    r = mcnemar(a, b)
    assert r == {"n": 20, "a_rate": pytest.approx(13 / 20), "b_rate": pytest.approx(7 / 20),
                 "only_a": 8, "only_b": 2, "p_value": pytest.approx(112 / 1024)}
    # 112/1024 = 2 * (C(10,8) + C(10,9) + C(10,10)) / 2**10; and scipy agrees.
    assert r["p_value"] == pytest.approx(scipy_stats.binomtest(8, 10, 0.5).pvalue)
    assert_plain_json(r)
    # 0/1 integers work the same; swapping the models swaps the counts, not p.
    swapped = mcnemar([int(x) for x in b], [int(x) for x in a])
    assert (swapped["only_a"], swapped["only_b"]) == (2, 8)
    assert swapped["p_value"] == pytest.approx(r["p_value"])


def test_mcnemar_without_discordant_pairs_and_empty():
    r = mcnemar([True, False, True], [True, False, True])
    assert r["only_a"] == r["only_b"] == 0 and r["p_value"] == 1.0
    empty = mcnemar([], [])
    assert empty["n"] == 0
    assert_nan(empty["p_value"])
    assert_nan(empty["a_rate"])
    assert_plain_json(empty)


@pytest.mark.parametrize("a, b", [([True, False], [True]), ([0, 2], [1, 0]), ([0.5, 1], [1, 0])])
def test_mcnemar_rejects_bad_input(a, b):
    with pytest.raises(ValueError):
        mcnemar(a, b)


# --------------------------------------------------------------------------- holm

def test_holm_textbook_example():
    # sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> cummax 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_nan_none_ties_and_cap():
    out = holm([0.01, math.nan, 0.04, None, 0.03, 0.005])  # NaN/None: not counted in m
    assert out[0] == pytest.approx(0.03) and out[2] == pytest.approx(0.06)
    assert out[4] == pytest.approx(0.06) and out[5] == pytest.approx(0.02)
    assert math.isnan(out[1]) and math.isnan(out[3])
    assert holm([0.02, 0.02, 0.5]) == pytest.approx([0.06, 0.06, 0.5])
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([]) == []
    assert all(type(v) is float for v in holm(np.array([0.1, 0.2])))


def test_holm_dict_in_dict_out():
    out = holm({"hotflip": 0.01, "trigger": 0.04, "ood": math.nan, "evo": 0.03, "inject": 0.005})
    assert list(out) == ["hotflip", "trigger", "ood", "evo", "inject"]
    assert out["hotflip"] == pytest.approx(0.03) and out["trigger"] == pytest.approx(0.06)
    assert out["evo"] == pytest.approx(0.06) and out["inject"] == pytest.approx(0.02)
    assert math.isnan(out["ood"])
    json.dumps(out, allow_nan=True)


@pytest.mark.parametrize("bad", [[0.1, 1.5], [-0.01], [math.inf]])
def test_holm_rejects_out_of_range(bad):
    with pytest.raises(ValueError):
        holm(bad)


# --------------------------------------------------------------------------- significance_mark

@pytest.mark.parametrize("p, mark", [
    (0.0, "***"), (0.0009, "***"), (0.001, "**"), (0.0099, "**"), (0.01, "*"), (0.0499, "*"),
    (0.05, "ns"), (0.9, "ns"), (1.0, "ns"), (None, "n/a"), (math.nan, "n/a"), (np.float64("nan"), "n/a"),
])
def test_significance_mark(p, mark):
    assert significance_mark(p) == mark


# --------------------------------------------------------------------------- across_seeds

def test_across_seeds_matches_scipy():
    values = [0.1, 0.3, 0.2, 0.4, 0.25]
    r = across_seeds(values, confidence=0.9)
    assert r["n_seeds"] == 5
    assert r["mean"] == pytest.approx(statistics.fmean(values))
    assert r["std"] == pytest.approx(statistics.stdev(values))
    low, high = scipy_stats.t.interval(0.9, df=4, loc=statistics.fmean(values),
                                       scale=statistics.stdev(values) / math.sqrt(5))
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert r["ttest_p"] == pytest.approx(scipy_stats.ttest_1samp(values, 0.0).pvalue)
    assert r["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(values).pvalue)
    assert r["wilcoxon_p"] == pytest.approx(2 / 2 ** 5)  # 5 positive seeds: the smallest exact p
    assert_plain_json(r)


def test_across_seeds_edge_cases():
    one = across_seeds([0.3])
    assert one["n_seeds"] == 1 and one["mean"] == pytest.approx(0.3)
    for key in ("std", "ci_low", "ci_high", "ttest_p", "wilcoxon_p"):
        assert_nan(one[key])
    assert_plain_json(one)

    empty = across_seeds([])
    assert empty["n_seeds"] == 0
    for key in ("mean", "std", "ci_low", "ci_high", "ttest_p", "wilcoxon_p"):
        assert_nan(empty[key])

    zeros = across_seeds([0.0, 0.0, 0.0])
    assert zeros["ttest_p"] == 1.0 and zeros["wilcoxon_p"] == 1.0
    assert (zeros["ci_low"], zeros["ci_high"]) == (0.0, 0.0)

    const = across_seeds([0.2, 0.2, 0.2])
    assert_nan(const["ttest_p"])
    assert const["ci_low"] == pytest.approx(0.2) and const["ci_high"] == pytest.approx(0.2)
    assert const["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon([0.2, 0.2, 0.2]).pvalue)
    assert_plain_json(const)

    with pytest.raises(ValueError):
        across_seeds([0.1, math.nan])
