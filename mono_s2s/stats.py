"""Statistics as pure functions: per-example values in, numbers out. No I/O, no models.

* :func:`bootstrap_ci` -- percentile bootstrap confidence interval of a mean
  (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13).
* :func:`mean_ci` -- the mean with that interval and the sample size, as a dict.

Resampling is vectorised with numpy's ``Generator``: resamples are drawn as a
(n_boot, n) index matrix, in chunks so memory stays bounded for large n.
Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

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
