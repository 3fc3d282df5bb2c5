"""The 95% interval of one figure from its replicates, centred on the point estimate, and the
percentile interval it starts from (the rules of :mod:`vaxstudy.estimate.intervals`' docstring)."""

from __future__ import annotations

import numpy as np


def centred_ci(point: float, reps: np.ndarray, level: float = 0.95, spread: tuple[float, float, float] | None = None
               ) -> tuple[float, float]:
    """95% interval of one figure from its replicates (1-D), centred on ``point``: the wider,
    on each side, of the basic bootstrap's (point - (median - lower percentile), point +
    (upper percentile - median)) and the normal one (point -/+ 1.96 sd), kept within the
    range the replicates (and the point) reach; extended to the percentile interval where
    that reaches further (see the module's docstring). With the point the redraw's
    expectation, it is strictly inside whenever the replicates vary. ``spread``: (sd,
    lowest, highest) of the redraw known exactly (:func:`redraw_spread`, relative to the
    point), used where it is wider than the replicates show. NaN replicates are ignored;
    (nan, nan) if all are."""
    lo, hi = percentile_ci(reps, level)
    med = percentile_ci(reps, 0.0)[0]
    lo, hi, med = float(lo), float(hi), float(med)
    if not (np.isfinite(lo) and np.isfinite(point)):
        return float("nan"), float("nan")
    from statistics import NormalDist

    sd, floor, ceil = float(np.nanstd(reps)), min(float(np.nanmin(reps)), point), max(float(np.nanmax(reps)), point)
    if spread is not None and np.all(np.isfinite(spread)):
        sd = max(sd, float(spread[0]))
        floor, ceil = min(floor, point + float(spread[1])), max(ceil, point + float(spread[2]))
    half = NormalDist().inv_cdf(0.5 + level / 2) * sd
    # never beyond what the redraw (or the point) reaches: a redraw that can only add
    # links cannot put the figure below what the thresholded links give
    return (min(max(min(point - (med - lo), point - half), floor), lo),
            max(min(max(point + (hi - med), point + half), ceil), hi))


def percentile_ci(reps: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0, ignoring NaN replicates (NaN if all are)."""
    a = (1 - level) / 2 * 100
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanpercentile(reps, a, axis=0)
            hi = np.nanpercentile(reps, 100 - a, axis=0)
    return lo, hi
