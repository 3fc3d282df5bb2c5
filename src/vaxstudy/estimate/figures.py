"""The figures as metrics.json writes them: rounded to 6 decimals, each rate with its 95% interval
made from its point and replicates (cut to its range, widened for missed links and the links as decided,
out to whole counts)."""

from __future__ import annotations

import math

import numpy as np

from vaxstudy.estimate.ci import centred_ci
from vaxstudy.estimate.coverage import COVERAGE_RATES
from vaxstudy.estimate.rates import RECORD_RATES

NOWCAST_RATES = ("late_entry_rate", "never_entered_rate")
HEADLINE_RATES = (
    "duplicate_subject_rate",
    "duplicate_dose_rate",
    "unlinked_record_rate",
    "missing_entry_rate",
    *NOWCAST_RATES,
    "coverage_dose1",
    "coverage_dose2",
    "coverage_dose1_recorded",
    "coverage_dose2_recorded",
)
SITE_RATES = (*RECORD_RATES, *NOWCAST_RATES)  # rates of the sites' tallies and rows (site's district)
ALL_RATES = (*SITE_RATES, *COVERAGE_RATES)
DECIMALS = 6


def rnd(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    v = round(x, DECIMALS)
    return 0.0 if v == 0 else v


def rnd_down(x: float) -> float:
    """Round an interval's lower end down (the written interval holds the computed one)."""
    v = math.floor(float(x) * 10**DECIMALS + 1e-6) / 10**DECIMALS
    return 0.0 if v == 0 else v


def rnd_up(x: float) -> float:
    v = math.ceil(float(x) * 10**DECIMALS - 1e-6) / 10**DECIMALS
    return 0.0 if v == 0 else v


SAME_AS_POINT = 1e-15  # an interval end this close to the point is the point (floating-point noise, not a width)


def written_ci(point: float, lo: float, hi: float) -> list[float]:
    """The interval as written (6 decimals, ends rounded outwards): an end the computed
    interval holds strictly beyond the point stays beyond the written point, however
    close (a redraw that moves a figure by under 1e-6 one way is not an end); an end that
    *is* the point (nothing can move the figure that way: a degenerate interval, or a share
    of 0 or 1) is written as the point, not rounded away from it (rounded outwards, a
    degenerate interval got a width of 1e-6 with the point at one end). An end within
    ``SAME_AS_POINT`` of the point is the point: sums taken in another order differ by ~1e-17."""
    p, wlo, whi = rnd(point), rnd_down(lo), rnd_up(hi)
    if p is not None:
        if abs(lo - point) <= SAME_AS_POINT:
            lo, wlo = point, p
        if abs(hi - point) <= SAME_AS_POINT:
            hi, whi = point, p
        step = 10.0**-DECIMALS
        if lo < point and wlo >= p:
            wlo = rnd(p - step)
        if hi > point and whi <= p:
            whi = rnd(p + step)
    return [wlo, whi]


SIGNED_RATES = ("missing_entry_rate", "missing_entry_rate_naive", "never_entered_rate")


def _clip_to_range(r: str, lo: float, hi: float) -> tuple[float, float]:
    """A share of residents or rows lies in [0, 1] (missing and never-entered rates may be
    negative, the late-entry rate may exceed 1): a centred interval is cut there, which
    is the one case where the point estimate can be an end (a rate of 0 or 1)."""
    if r in SIGNED_RATES:
        return lo, min(hi, 1.0)
    if r == "late_entry_rate":
        return max(lo, 0.0), hi
    return max(lo, 0.0), min(hi, 1.0)


def _interval(point, reps, fam, j, r, spreads=None) -> tuple[float, float]:
    """The centred interval of rate ``r`` in group j of ``fam``, cut to the rate's range."""
    sp = (spreads or {}).get(fam, {})
    # corrected coverage moves with the links exactly as recorded coverage does (the redraw only
    # changes the recorded count): the recorded figure's exact spread holds for it too
    sp = sp.get(r, sp.get(f"{r}_recorded"))
    lo, hi = centred_ci(point[fam][r][0, j], reps[fam][r][:, j], spread=None if sp is None else sp[:, j])
    if rnd(lo) is None:
        return lo, hi
    return _clip_to_range(r, lo, hi)


def _missed_lower(point, fam, j, r, lo: float) -> float:
    """The unlinked-record rate's lower end lowered to the rows that could be residents the
    linkage missed (missed.py)."""
    b = point[fam].get(f"missed_lo:{r}")
    if b is not None and np.isfinite(b[0, j]):
        return min(lo, max(float(b[0, j]), 0.0))
    return lo


def _missed_upper(point, fam, j, r, hi: float) -> float:
    """The upper end raised to cover residents the linkage may have missed (missed.py): up to
    the bound for recorded coverage, by the same count for corrected coverage (capped at 1)."""
    b = point[fam].get(f"missed_hi:{r}")
    if b is not None and np.isfinite(b[0, j]):
        return max(hi, min(float(b[0, j]), 1.0))
    m = point[fam].get(f"missed:{r}")
    if m is not None and np.isfinite(m[0, j]) and m[0, j] > 0:
        return min(hi + float(m[0, j]), 1.0)
    return hi


WHOLE_TOL = 1e-6  # of a count: a count computed as a sum of shares is whole within this


def whole_counts(point, fam, j, r, lo: float, hi: float) -> tuple[float, float]:
    """The interval's ends moved out to whole counts. Every figure is a count (rows, profiles,
    doses, residents) over a total no draw moves (``den:<rate>``, Estimator.denominators), so its
    truth is a whole number of them, and an interval inside one count's width says the count is
    known to a fraction of one, which no registry is: a district whose uncertain links are all
    near-certain has a redraw spread of a tenth of a profile, and its misses were one profile or
    dose the link model gave no chance (docs/estimation.md, "Whole counts"). Ends already whole
    stay, so a point that is an end (nothing can move it that way) stays one."""
    den = point[fam].get(f"den:{r}")
    if den is None or not np.isfinite(den[0, j]) or den[0, j] <= 0:
        return lo, hi
    n = float(den[0, j])
    return math.floor(lo * n + WHOLE_TOL) / n, math.ceil(hi * n - WHOLE_TOL) / n


def rate_block(point, reps, fam_rec, fam_cov, j_rec, j_cov, rates, spreads=None) -> dict:
    """Each of ``rates`` in one group (j_rec of the record family, j_cov of the coverage one) as
    metrics.json writes it: the rounded point and its interval (None where the group has none)."""
    d = {}
    for r in rates:
        fam, j = (fam_rec, j_rec) if r in SITE_RATES else (fam_cov, j_cov)
        if fam is None or j is None:
            d[r] = None
            d[f"{r}_ci"] = None
            continue
        d[r] = rnd(point[fam][r][0, j])
        lo, hi = _interval(point, reps, fam, j, r, spreads)
        if d[r] is not None and rnd(lo) is not None:
            lo, hi = _missed_lower(point, fam, j, r, lo), _missed_upper(point, fam, j, r, hi)
            # the point counts each uncertain link with its probability, so it is only as good as their
            # calibration, which the data cannot check: the figure of the links as decided is reached
            dec = point[fam].get(f"decided:{r}")
            if dec is not None and np.isfinite(dec[0, j]):
                lo, hi = min(lo, float(dec[0, j])), max(hi, float(dec[0, j]))
            lo, hi = whole_counts(point, fam, j, r, lo, hi)
        d[f"{r}_ci"] = None if rnd(lo) is None or d[r] is None else written_ci(point[fam][r][0, j], lo, hi)
    return d


LINKAGE_ONLY_RATES = tuple(r for r in ALL_RATES if r not in ("coverage_dose1", "coverage_dose2"))


def linkage_only_ci(point, reps, spreads=None) -> dict:
    """Province-level 95% intervals from the link redraw alone (centred on the point estimate,
    see ci.centred_ci). For the record rates and recorded coverage the same question as the
    main intervals (a second draw); for the late entries without the prediction's uncertainty. Not
    for the corrected coverages: their main error is the imputation of doses never entered, which
    the main interval draws; a linkage-only interval would look precise and be wrong."""
    out = {}
    for r in LINKAGE_ONLY_RATES:
        fam = "rec:province" if r in SITE_RATES else "cov:province"
        pt = point[fam][r][0, 0]
        sp = None if r in NOWCAST_RATES else (spreads or {}).get(fam, {}).get(r)
        lo, hi = centred_ci(pt, reps[fam][r][:, 0], spread=None if sp is None else sp[:, 0])
        if rnd(pt) is None or rnd(lo) is None:
            out[r] = None
            continue
        lo, hi = _clip_to_range(r, lo, hi)
        lo, hi = _missed_lower(point, fam, 0, r, lo), _missed_upper(point, fam, 0, r, hi)
        out[r] = written_ci(pt, *whole_counts(point, fam, 0, r, lo, hi))
    return out
