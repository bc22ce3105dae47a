"""Statistics as pure functions: per-example values in, numbers out. No I/O, no models.

* :func:`bootstrap_ci` -- percentile bootstrap confidence interval of a mean
  (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13).
* :func:`mean_ci` -- the mean with that interval and the sample size, as a dict.
* :func:`paired_comparison` -- baseline vs monotone degradations on the same
  samples: means, bootstrap CIs, Wilcoxon signed-rank (Wilcoxon, 1945) and
  paired t-tests, Cohen's d_z and the matched-pairs rank-biserial correlation
  (Kerby, 2014, "The simple difference formula").
* :func:`improvement_pct` -- relative reduction of degradation, or why it is undefined.
* :func:`mcnemar` -- exact McNemar test on paired attack success / failure.
* :func:`holm` -- Holm (1979) step-down adjusted p-values across attacks.
* :func:`significance_mark` -- ``***`` / ``**`` / ``*`` / ``ns`` / ``n/a``.
* :func:`across_seeds` -- Student-t summary of a few per-seed numbers.
* :func:`minimal_detectable_effect` -- the smallest mean paired difference a
  two-sided paired t-test at level alpha detects with the given power (noncentral t).

Resampling is vectorised with numpy's ``Generator``: resamples are drawn as a
(n_boot, n) index matrix, in chunks so memory stays bounded for large n.
Everything is deterministic for a given ``seed``.

Departure from the seed notebook: it compared the two models with an unpaired
(Welch / independent-samples) t-test. That is wrong here: both models are
attacked on the SAME samples, so the two degradations of a sample are
dependent (a hard sample is hard for both). The right tests work on the
per-sample differences -- the paired t-test and the Wilcoxon signed-rank test
-- which also remove the between-sample variance and so are more powerful.
"""

from __future__ import annotations

import functools
import math
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy import stats as _sps

# Upper bound on the number of indices drawn at once (n_boot * n); 4M int64 = 32 MB.
_MAX_DRAW = 4_000_000


def _as_sample(values: Iterable[float]) -> np.ndarray:
    """``values`` as a 1-d float array; NaN or inf is refused, since it would silently poison every mean."""
    x = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    if x.ndim != 1:
        raise ValueError(f"statistics need a 1-d sequence of values; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("statistics need finite values; got NaN or inf")
    return x


def _check_bootstrap_args(n_boot: int, confidence: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive (got {n_boot})")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence})")


def bootstrap_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement, size ``len(x)``) of the 1-d array ``x``."""
    n = len(x)
    chunk = max(1, _MAX_DRAW // n)
    means = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))  # (chunk, n)
        means[start:stop] = x[idx].mean(axis=1)
    return means


def bootstrap_ci(values: Iterable[float], n_boot: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` for the mean of ``values``.

    ``low`` and ``high`` are the (1 - confidence)/2 and (1 + confidence)/2
    quantiles of the means of ``n_boot`` resamples. With no values the interval
    is ``(nan, nan)``; with one value every resample equals it, so the interval
    is that value on both sides (zero width: one example says nothing about
    spread, so read it together with ``n``).
    """
    _check_bootstrap_args(n_boot, confidence)
    x = _as_sample(values)
    if x.size == 0:
        return (math.nan, math.nan)
    if x.size == 1:
        return (float(x[0]), float(x[0]))
    means = bootstrap_means(x, n_boot, np.random.default_rng(seed))
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(low), float(high))


def mean_ci(values: Iterable[float], n_boot: int = 1000, confidence: float = 0.95,
            seed: int = 0) -> dict[str, float | int]:
    """``{"mean", "ci_low", "ci_high", "n"}`` with the interval of :func:`bootstrap_ci` (mean nan when n=0)."""
    x = _as_sample(values)
    low, high = bootstrap_ci(x, n_boot=n_boot, confidence=confidence, seed=seed)
    mean = float(x.mean()) if x.size else math.nan
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": int(x.size)}


# ---------------------------------------------------------------------------
# Paired comparison of two models on the same samples
# ---------------------------------------------------------------------------

# Spread below this fraction of the inputs' magnitude counts as zero: it is
# floating-point round-off (0.3 - 0.2 != 0.5 - 0.4), not variation. Without the
# guard a "constant" difference gives t ~ 1e15 and p ~ 1e-31 (scipy only warns).
_CONSTANT_RTOL = 1e-12

# Wilcoxon zero handling: "wilcox" (Wilcoxon, 1945) drops zero differences
# before ranking. Chosen because (1) a zero difference carries no sign, so it is
# no evidence for either model; (2) the rank-biserial effect size below ranks
# the same nonzero differences, so test and effect size agree; (3) it is
# scipy's default and the textbook procedure. The price (zeros are discarded,
# which matters when many attacks fail on both models) is made visible by
# reporting ``n_nonzero`` next to ``n``.
WILCOXON_ZERO_METHOD = "wilcox"


def _std(x: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); nan when there are fewer than 2 values."""
    return float(np.std(x, ddof=1)) if x.size >= 2 else math.nan


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _is_constant(x: np.ndarray, scale: float) -> bool:
    """True when ``x`` has no spread beyond round-off relative to ``scale`` (the inputs' magnitude)."""
    return bool(np.ptp(x) <= _CONSTANT_RTOL * scale)


def _signed_rank_sums(d: np.ndarray) -> tuple[float, float]:
    """``(R+, R-)``: sums of the average ranks of |d| over the nonzero differences, split by sign."""
    nz = d[d != 0]
    ranks = _sps.rankdata(np.abs(nz))  # average ranks for ties
    return float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())


def _signed_rank_p(d: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of ``d`` against 0; 1.0 when every difference is zero, nan when empty."""
    if d.size == 0:
        return math.nan
    if not np.any(d != 0):
        # Every pair is tied: no evidence of a difference. (scipy would raise or return nan.)
        return 1.0
    # method="auto": scipy picks the exact null distribution for small samples
    # without ties/zeros and the normal approximation otherwise.
    return float(_sps.wilcoxon(d, zero_method=WILCOXON_ZERO_METHOD, alternative="two-sided").pvalue)


def _t_p(d: np.ndarray, scale: float) -> float:
    """Two-sided one-sample t-test p of ``d`` against 0 (== paired t-test of the pairs), with the edge cases fixed.

    * fewer than 2 values -> nan (no variance estimate);
    * every difference exactly 0 -> 1.0 (no evidence of a difference; scipy returns nan);
    * constant nonzero difference -> nan: t = mean / 0 is undefined, and scipy
      would return nan for an exact constant but a meaningless p ~ 1e-30 for a
      round-off one. Read ``wilcoxon_p`` and ``diff_mean`` instead.
    """
    if d.size < 2:
        return math.nan
    if not np.any(d != 0):
        return 1.0
    if _is_constant(d, scale):
        return math.nan
    return float(_sps.ttest_1samp(d, 0.0).pvalue)


def paired_comparison(a: Iterable[float], b: Iterable[float], n_boot: int = 2000,
                      confidence: float = 0.95, seed: int = 0) -> dict[str, float | int]:
    """Compare baseline values ``a`` with monotone values ``b`` measured on the same samples.

    ``a[i]`` and ``b[i]`` must belong to the same sample (equal lengths, else
    ``ValueError``; NaN or inf also raise). The differences are ``d = a - b``,
    so for degradations a positive ``diff_mean`` means the monotone model
    degraded less. Returned keys (plain Python numbers, nan where undefined):

    * ``n``; ``a_mean``, ``a_std``, ``b_mean``, ``b_std`` (std with ddof=1, nan if n < 2);
    * ``a_ci_low``/``a_ci_high``, ``b_ci_low``/``b_ci_high``: percentile
      bootstrap CI of each mean (:func:`bootstrap_ci`);
    * ``diff_mean``, ``diff_std``, ``diff_ci_low``/``diff_ci_high``: the mean
      paired difference and its bootstrap CI. The three intervals use the same
      ``seed`` and the same n, hence the same resampled sample indices, so they
      come from one paired bootstrap;
    * ``n_nonzero``: pairs with ``d != 0`` (the ones the Wilcoxon test and the
      rank-biserial use);
    * ``wilcoxon_p``: two-sided signed-rank test on ``d``, zeros dropped
      (``WILCOXON_ZERO_METHOD``); 1.0 when all differences are zero; nan when n = 0;
    * ``ttest_p``: two-sided paired t-test (``ttest_rel(a, b)`` == one-sample
      t-test of ``d``); nan if n < 2; 1.0 when all differences are zero; nan
      when the difference is a nonzero constant (zero variance: t undefined);
    * ``cohens_dz``: ``mean(d) / std(d, ddof=1)``; nan when n < 2 or the
      differences are constant (including all zero);
    * ``rank_biserial``: matched-pairs rank-biserial correlation
      ``(R+ - R-) / (R+ + R-)`` over the average ranks of the nonzero |d|,
      in [-1, 1], positive when ``a`` tends to exceed ``b``; nan when no pair differs.

    "Constant" allows round-off: spread at most ``_CONSTANT_RTOL`` times the
    largest |value| of ``a`` and ``b``.
    """
    x = _as_sample(a)
    y = _as_sample(b)
    if x.size != y.size:
        raise ValueError(f"paired comparison needs aligned pairs: len(a)={x.size} != len(b)={y.size}")
    d = x - y
    n = int(d.size)
    scale = float(max(np.abs(x).max(), np.abs(y).max())) if n else 0.0
    a_lo, a_hi = bootstrap_ci(x, n_boot=n_boot, confidence=confidence, seed=seed)
    b_lo, b_hi = bootstrap_ci(y, n_boot=n_boot, confidence=confidence, seed=seed)
    d_lo, d_hi = bootstrap_ci(d, n_boot=n_boot, confidence=confidence, seed=seed)

    n_nonzero = int(np.count_nonzero(d))
    diff_std = _std(d)
    if n < 2 or _is_constant(d, scale):
        cohens_dz = math.nan
    else:
        cohens_dz = float(d.mean() / diff_std)
    r_plus, r_minus = _signed_rank_sums(d)
    rank_biserial = (r_plus - r_minus) / (r_plus + r_minus) if n_nonzero else math.nan

    return {
        "n": n,
        "a_mean": _mean(x), "a_std": _std(x), "b_mean": _mean(y), "b_std": _std(y),
        "a_ci_low": a_lo, "a_ci_high": a_hi, "b_ci_low": b_lo, "b_ci_high": b_hi,
        "diff_mean": _mean(d), "diff_std": diff_std, "diff_ci_low": d_lo, "diff_ci_high": d_hi,
        "n_nonzero": n_nonzero,
        "wilcoxon_p": _signed_rank_p(d),
        "ttest_p": _t_p(d, scale),
        "cohens_dz": cohens_dz,
        "rank_biserial": float(rank_biserial),
    }


IMPROVEMENT_NOT_FINITE = "degradation is not a finite number: no percentage"
IMPROVEMENT_NEAR_ZERO = "baseline degradation ≈ 0: a ratio would be meaningless"
IMPROVEMENT_NEGATIVE = "the baseline was not degraded (attack improved it): a percentage would flip sign"


def improvement_pct(nonmono_mean: float, mono_mean: float,
                    min_baseline: float = 1e-3) -> tuple[float | None, str | None]:
    """``((nonmono - mono) / |nonmono| * 100, None)``, or ``(None, reason)`` when that ratio is undefined.

    Undefined when either mean is not finite, when ``|nonmono_mean| < min_baseline``
    (dividing by ~0 turns noise into huge percentages), or when
    ``nonmono_mean`` is negative (the attack helped the baseline, so "less
    degradation" would read with the wrong sign). So a number comes back only
    for ``nonmono_mean >= min_baseline``.
    """
    if not (math.isfinite(float(min_baseline)) and min_baseline > 0):
        raise ValueError(f"min_baseline must be a positive finite number (got {min_baseline!r}); "
                         "with 0 the ratio could divide by zero")
    try:
        base, mono = float(nonmono_mean), float(mono_mean)
    except (TypeError, ValueError):
        return None, IMPROVEMENT_NOT_FINITE
    if not (math.isfinite(base) and math.isfinite(mono)):
        return None, IMPROVEMENT_NOT_FINITE
    if abs(base) < min_baseline:
        return None, IMPROVEMENT_NEAR_ZERO
    if base < 0:
        return None, IMPROVEMENT_NEGATIVE
    return (base - mono) / abs(base) * 100.0, None


def _as_binary(values: Iterable[object], name: str) -> np.ndarray:
    """``values`` as a 1-d bool array; anything but booleans or 0/1 raises."""
    raw = np.asarray(values if isinstance(values, np.ndarray) else list(values))
    if raw.ndim != 1:
        raise ValueError(f"{name} must be a 1-d sequence of booleans; got shape {raw.shape}")
    if raw.dtype == bool:
        return raw
    if raw.size and (raw.dtype.kind not in "iuf" or not np.all((raw == 0) | (raw == 1))):
        raise ValueError(f"{name} must hold booleans (or 0/1)")
    return raw.astype(bool)


def mcnemar(success_a: Iterable[bool], success_b: Iterable[bool]) -> dict[str, float | int]:
    """Exact McNemar test of paired binary outcomes (e.g. "the attack succeeded" on each sample for each model).

    Keys: ``n``; ``a_rate``, ``b_rate`` (success rates, nan when n = 0);
    ``only_a`` (a succeeded and b did not) and ``only_b``; ``p_value``: the
    two-sided exact binomial test of ``only_a`` out of ``only_a + only_b`` with
    p = 0.5 (concordant pairs carry no information on the difference). No
    discordant pair -> 1.0; n = 0 -> nan (nothing was measured).
    """
    x = _as_binary(success_a, "success_a")
    y = _as_binary(success_b, "success_b")
    if x.size != y.size:
        raise ValueError(f"McNemar needs aligned pairs: len(success_a)={x.size} != len(success_b)={y.size}")
    n = int(x.size)
    only_a = int(np.count_nonzero(x & ~y))
    only_b = int(np.count_nonzero(~x & y))
    if n == 0:
        p = math.nan
    elif only_a + only_b == 0:
        p = 1.0
    else:
        p = float(_sps.binomtest(only_a, only_a + only_b, 0.5, alternative="two-sided").pvalue)
    return {
        "n": n,
        "a_rate": float(x.mean()) if n else math.nan,
        "b_rate": float(y.mean()) if n else math.nan,
        "only_a": only_a,
        "only_b": only_b,
        "p_value": p,
    }


# ---------------------------------------------------------------------------
# Multiple comparisons and display
# ---------------------------------------------------------------------------

def _holm_list(pvalues: Sequence[float | None]) -> list[float]:
    p = np.array([math.nan if v is None else float(v) for v in pvalues], dtype=float)
    present = ~np.isnan(p)
    if np.any((p[present] < 0) | (p[present] > 1)):
        raise ValueError("p-values must lie in [0, 1] (NaN/None = missing)")
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(present)
    m = idx.size
    if m:
        order = idx[np.argsort(p[idx], kind="stable")]
        # The j-th smallest (0-based) p is multiplied by m - j; the running max
        # keeps the adjusted values in the order of the raw ones (step-down).
        scaled = p[order] * (m - np.arange(m))
        out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return [float(v) for v in out]


def holm(pvalues: Sequence[float | None] | Mapping[object, float | None]) -> list[float] | dict:
    """Holm (1979) step-down adjusted p-values, in the input order.

    Controls the family-wise error rate across the attacks without
    Bonferroni's full price. NaN (or None) entries are missing tests: they come
    back NaN and do not count toward m. A dict gives a dict with the same keys.
    """
    if isinstance(pvalues, Mapping):
        keys = list(pvalues)
        return dict(zip(keys, _holm_list([pvalues[k] for k in keys])))
    return _holm_list(list(pvalues))


def significance_mark(p: float | None) -> str:
    """``"***"`` p < 0.001, ``"**"`` p < 0.01, ``"*"`` p < 0.05, ``"ns"`` otherwise, ``"n/a"`` for None/NaN."""
    if p is None or math.isnan(p):
        return "n/a"
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return "ns"


# ---------------------------------------------------------------------------
# Across training seeds
# ---------------------------------------------------------------------------

def across_seeds(values: Iterable[float], confidence: float = 0.95) -> dict[str, float | int]:
    """Summary of one number per training seed (e.g. each seed's mean paired difference).

    Seeds are few, so the interval is Student-t, not bootstrap:
    ``mean ± t_{(1+c)/2, n-1} · std / sqrt(n)``. Keys:

    * ``n_seeds``, ``mean`` (nan when empty), ``std`` (ddof=1, nan when n < 2);
    * ``ci_low``, ``ci_high``: nan when n < 2 (zero width when all seeds agree);
    * ``ttest_p``: one-sample t-test against 0; nan when n < 2 or the values
      are a nonzero constant (zero variance, t undefined); 1.0 when every
      value is exactly 0 (as in :func:`paired_comparison`);
    * ``wilcoxon_p``: one-sample signed-rank test against 0 (zeros dropped);
      nan when n < 2 (one seed says nothing about seed-to-seed spread), 1.0
      when every value is 0. Note the exact test's smallest two-sided p is
      2 / 2**n_nonzero, so with fewer than 6 nonzero seeds it cannot reach 0.05
      (5 seeds: 0.0625) -- "ns" then says little.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence})")
    x = _as_sample(values)
    n = int(x.size)
    mean, std = _mean(x), _std(x)
    if n >= 2:
        half = float(_sps.t.ppf((1.0 + confidence) / 2.0, n - 1)) * std / math.sqrt(n)
        ci_low, ci_high = mean - half, mean + half
    else:
        ci_low = ci_high = math.nan
    scale = float(np.abs(x).max()) if n else 0.0
    return {
        "n_seeds": n,
        "mean": mean,
        "std": std,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "ttest_p": _t_p(x, scale),
        "wilcoxon_p": _signed_rank_p(x) if n >= 2 else math.nan,
    }


# ---------------------------------------------------------------------------
# Power
# ---------------------------------------------------------------------------

def minimal_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true mean paired difference that a two-sided paired t-test at level ``alpha`` detects with
    probability ``power``, for ``n`` pairs whose differences have standard deviation ``sd``.

    Exact for normal differences: the test statistic follows a noncentral t with n - 1
    degrees of freedom and noncentrality ``delta * sqrt(n) / sd``; the MDE is the
    ``delta`` at which the chance of |t| > t_{1-alpha/2} equals ``power`` (solved with
    brentq). The Wilcoxon test, the primary one, has an asymptotic efficiency of at
    least 0.864 against the t-test (Hodges & Lehmann, 1956), so this is the t-test's
    MDE, a lower bound of the signed-rank test's within about 8 % for normal data.
    nan when n < 2 or ``sd`` is not finite; 0 when every difference is the same (sd = 0).
    """
    if not (0.0 < alpha < 1.0 and 0.0 < power < 1.0):
        raise ValueError(f"alpha and power must lie in (0, 1) (got {alpha}, {power})")
    if n < 2 or sd is None or not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 0.0
    return _noncentrality(n - 1, float(alpha), float(power)) * sd / math.sqrt(n)


@functools.lru_cache(maxsize=4096)
def _noncentrality(df: int, alpha: float, power: float) -> float:
    """The noncentrality at which a two-sided t-test with ``df`` degrees of freedom at level ``alpha`` has
    power ``power`` (it does not depend on the SD: cached, since an analysis asks for few distinct (df, alpha))."""
    from scipy.optimize import brentq

    crit = float(_sps.t.ppf(1.0 - alpha / 2.0, df))

    def shortfall(ncp: float) -> float:
        reject = float(_sps.nct.sf(crit, df, ncp) + _sps.nct.cdf(-crit, df, ncp))
        # scipy's noncentral t returns nan far in its tail, where the power is 1 to double precision.
        return (1.0 if math.isnan(reject) else reject) - power

    # The noncentrality needed lies above 0 (power alpha); crit + 8 gives power 1 to within 1e-9 for a
    # normal statistic, and heavy-tailed small-df ones need more: widen until the power is reached.
    upper = crit + 8.0
    for _ in range(60):
        if shortfall(upper) >= 0:
            break
        upper *= 2.0
    return float(brentq(shortfall, 0.0, upper, xtol=1e-10))
