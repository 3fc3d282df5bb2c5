"""Late entries from the paper tallies: a second estimate of the youngest cohorts', combined with the lag model's.

For a site-day, tallied - entered = entries still to come + doses never entered + the tally's net
counting error. The lag model (:mod:`vaxstudy.estimate.nowcast`) predicts the first term from the entries
already in, and its error on the cohorts of the last week is mostly the sampling error of their lag
shape. The tallies know the whole gap of those days; what they do not know is the part never entered.
That part is learned from the *matured* cohorts (aged ``MATURE`` days or more, whose few entries still
to come the lag model's remainder takes off): per tallied dose, weighted by recency (halving every
``HALF_LIFE`` days, so a share that drifts is followed), per site shrunk towards the province's share
and per weekday towards none (empirical Bayes, method of moments: a site or weekday differs only as far
as the data show beyond their counts' scatter). For a band of young cohorts (``BANDS``, by age at the extract
date), ``late_T = gap - share x tallied``: its error is the realised never-entered count's scatter
about its expectation (over-dispersed: ``phi``, read from the matured days' residuals), the share's
sampling error, and a change of the share the recency weight does not follow, measured by back-testing
the same prediction on older bands (``SHIFTS`` days older, their gap minus the lag model's remainder
standing for what was never entered). The two estimates of a band, whose errors are independent (the
lag model's from the lag shape and the count still to come, the tallies' from what is never entered),
are combined by inverse-variance weights, the lag model's variance from a fixed bootstrap of its fit
plus the count still to come (negative binomial) plus its own error beyond them, the back-test's model
error (the factor each replicate draws on these cohorts, :func:`vaxstudy.estimate.nowcast.expected_late`):
a weight that left it out would put the lag model's whole model error into a combination that trusts it
as if it had none. The band's combined late entries are spread over
its sites in proportion to the lag model's (a district's share of them is the lag model's; in a
replicate, its drawn count's).

What it assumes: the never-entered share (and the tallies' net counting error, which it holds) of the
young cohorts is that of the recent matured ones, up to the drift the back-test shows: a share that
jumps within the last week, unseen in any matured cohort, biases the band by the jump (the weight on
the tallies then errs). Entries of a day without a tally keep the lag model's late entries. Never uses
anything but the export and the tallies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vaxstudy.estimate.data import tally_ok
from vaxstudy.estimate.intervals import site_weights

MATURE = 14  # cohorts this old or older teach the never-entered share (their late entries: the lag model's remainder)
TRAIN = 42  # days of matured cohorts behind the share (weights halve every HALF_LIFE days of age)
HALF_LIFE = 14.0
BANDS = ((0, 7), (7, 14))  # young cohorts by age at the extract date, each combined on its own weight
SHIFTS = (14, 21, 28)  # the share's prediction back-tested on the bands this many days older (drift)
LAG_REPLICATES = 30  # fixed-seed bootstrap of the lag model's fit behind its band variances
HISTORY = MATURE + max(SHIFTS) + TRAIN  # ages of tallied days kept


@dataclass
class TallyData:
    """Tallied site-days of the province's sites aged 0 .. HISTORY - 1 at the extract date.

    site, age, wday: (n,) site index, age in days and weekday (0 = Monday); t: tallied doses; e: distinct entries in;
    scope: the day is in the period (its gap is the band's). ``weights`` holds, once computed,
    per band the tallies' weight and variances of the point (:func:`band_weights`), ``fac`` the
    point's lag factor they were computed with."""

    site: np.ndarray
    age: np.ndarray
    wday: np.ndarray
    t: np.ndarray
    e: np.ndarray
    scope: np.ndarray
    S: int
    weights: dict = field(default_factory=dict)
    fac: np.ndarray | None = None  # the point's lag factor the weights were computed with


def tally_data(site, age, wday, t, e, scope, S: int) -> TallyData | None:
    """Keep the site-days aged 0 .. HISTORY - 1 with a tally; None when no matured day has one."""
    site, age, wday = (np.asarray(a, dtype=np.int64) for a in (site, age, wday))
    t, e, scope = np.asarray(t, dtype=float), np.asarray(e, dtype=float), np.asarray(scope, dtype=bool)
    keep = (age >= 0) & (age < HISTORY) & (t > 0)
    if not (keep & (age >= MATURE)).any():
        return None
    return TallyData(site[keep], age[keep], wday[keep] % 7, t[keep], e[keep], scope[keep], S)


def _share(td: TallyData, rem: np.ndarray, lo_age: int, W: np.ndarray, kappa: float | None = None,
           wday_var: float | None = None):
    """The never-entered share per tallied dose, learned from the days aged lo_age .. lo_age +
    TRAIN - 1 (gap minus the lag model's remainder ``rem``) with the sites weighted by each row of
    W: (B, S) per site (shrunk towards the province's by kappa, given or read from the unweighted
    sites), (B, 7) a factor per weekday (shrunk towards 1, by the weekdays' variance wday_var given or
    read from the unweighted sites), phi, kappa, wday_var and the weight sum."""
    m = (td.age >= lo_age) & (td.age < lo_age + TRAIN)
    w = 0.5 ** ((td.age[m] - lo_age) / HALF_LIFE)
    N = td.t[m] - td.e[m] - rem[m]
    s = td.site[m]
    wN = np.bincount(s, w * N, td.S)
    wt = np.bincount(s, w * td.t[m], td.S)
    p0 = (W @ wN) / np.maximum(W @ wt, 1e-12)  # (B,)
    one = float(wN.sum() / max(wt.sum(), 1e-12))
    phi = max(float((w * (N - one * td.t[m]) ** 2).sum() / max((w * one * td.t[m]).sum(), 1e-12)), 1.0)
    if kappa is None:
        ok = wt > 0
        ps = wN[ok] / wt[ok]
        spread = float((wt[ok] * (ps - one) ** 2).sum()) - (ok.sum() - 1) * phi * max(one, 0.0)
        tau2 = spread / max(float(wt[ok].sum() - (wt[ok] ** 2).sum() / wt[ok].sum()), 1e-12)
        kappa = phi * max(one, 0.0) / tau2 if tau2 > 0 else np.inf
    if np.isfinite(kappa):
        p = (wN[None, :] + kappa * p0[:, None]) / (wt[None, :] + kappa)
    else:
        p = np.broadcast_to(p0[:, None], (len(p0), td.S))
    # weekday: observed over expected never-entered doses per weekday (sites weighted by W), shrunk
    # towards 1 by the weekdays' spread beyond their counts' (method of moments, from the point)
    cell = s * 7 + td.wday[m]
    obs = W @ np.bincount(cell, w * N, td.S * 7).reshape(td.S, 7)
    exp = (W * p) @ np.bincount(cell, w * td.t[m], td.S * 7).reshape(td.S, 7)
    r = np.where(exp > 0, obs / np.where(exp > 0, exp, 1.0), 1.0)
    noise = phi / np.maximum(exp, 1e-12)
    if wday_var is None:
        ok = exp[0] > 0
        wday_var = max(float(np.mean((r[0, ok] - 1.0) ** 2 - noise[0, ok])), 0.0) if ok.any() else 0.0
    g = 1.0 + (r - 1.0) * wday_var / (wday_var + noise)
    return p, g, phi, (kappa, wday_var), float(wt.sum())


def _band_tally(td: TallyData, rem: np.ndarray, lo: int, hi: int, shift: int, W: np.ndarray, prior=None):
    """(B,) late_T of the band aged lo+shift .. hi+shift-1 (only period days unless back-testing),
    its expected never-entered count, and the share's phi, prior (kappa, wday_var: given, or read
    from the unweighted sites) and weight sum."""
    p, g, phi, prior, wsum = _share(td, rem, MATURE + shift, W, *(prior or (None, None)))
    b = (td.age >= lo + shift) & (td.age < hi + shift) & (td.scope | (shift > 0))
    nhat = (p[:, td.site[b]] * g[:, td.wday[b]]) @ td.t[b]
    gap = float((td.t[b] - td.e[b]).sum())
    return gap - nhat, nhat, phi, prior, wsum, b


def _remainder(td: TallyData, fac: np.ndarray) -> np.ndarray:
    """(n,) the lag model's expected entries still to come of each tallied site-day (point factor)."""
    D = len(fac)
    return np.where(td.age < D, td.e * fac[np.minimum(td.age, D - 1)], 0.0)


def _tally_var(phi: float, nhat: float, tallied: float, wsum: float) -> float:
    """Variance of a band's tally estimate: the never-entered count's over-dispersed scatter about its
    expectation nhat, and the share's sampling error (its variance phi x share / weight sum) times the
    band's tallied doses squared."""
    return phi * max(nhat, 0.0) + phi * max(nhat / max(tallied, 1e-12), 0.0) / wsum * tallied**2


def band_weights(td: TallyData, fac: np.ndarray, recent: np.ndarray, lag_boot,
                 miss: tuple[float, int] = (0.0, 0)) -> dict:
    """Per band (lo, hi): the tallies' weight w, phi, the share's priors and the tally estimate's variance,
    from the point's lag factor ``fac`` (D,), the entries per site and age ``recent`` (S, D),
    ``lag_boot(W)`` -> (B, D) factors re-fitted on redrawn sites (the lag model's fit variance) and
    ``miss`` = (sd, ages), the lag model's back-tested error on the cohorts under ``ages`` days."""
    if td.fac is not None:
        return td.weights
    td.fac = fac
    S, D = recent.shape
    rng = np.random.default_rng(20211031)  # fixed: the point does not depend on a run's seed
    boot = lag_boot(site_weights(np.zeros(S), LAG_REPLICATES, rng))  # one stratum: every site alike
    rem = _remainder(td, fac)
    ones = np.ones((1, S))
    out = {}
    for lo, hi in BANDS:
        n = recent[:, lo:min(hi, D)].sum(0)
        if lo >= D or not n.any() or not (td.scope & (td.age >= lo) & (td.age < hi)).any():
            continue
        f = fac[lo:min(hi, D)]
        v_lag = float((boot[:, lo:min(hi, D)] @ n).var(ddof=1) + (n * f * (1 + f)).sum())
        k = max(min(hi, D, miss[1]) - lo, 0)  # the band's ages the model error reaches
        # the replicates draw it as a lognormal factor of mean 1: relative sd √(e^{sd²} − 1)
        v_lag += float(np.expm1(miss[0] ** 2)) * float(f[:k] @ n[:k]) ** 2
        late_t, nhat, phi, prior, wsum, b = _band_tally(td, rem, lo, hi, 0, ones)
        v_tally = _tally_var(phi, float(nhat[0]), float(td.t[b].sum()), wsum)
        drift = []
        for sh in SHIFTS:
            if not (td.age >= MATURE + sh).any():
                continue
            lt, nh, ph, _, ws, bb = _band_tally(td, rem, lo, hi, sh, ones)
            if not bb.any():
                continue
            v = _tally_var(ph, float(nh[0]), float(td.t[bb].sum()), ws)
            drift.append(float((lt[0] - rem[bb].sum()) ** 2) - v)
        v_drift = max(float(np.mean(drift)), 0.0) if drift else 0.0
        v_t = v_tally + v_drift
        # a replicate re-fits the share (its sampling error) and draws the rest: the count's scatter and drift
        out[(lo, hi)] = dict(w=v_lag / (v_lag + v_t) if v_lag + v_t > 0 else 0.0, phi=phi, prior=prior,
                             v_lag=v_lag, v_tally=v_t, v_drift=v_drift,
                             v_noise=phi * max(float(nhat[0]), 0.0) + v_drift)
    td.weights.update(out)
    return out


def band_parts(td: TallyData, fac: np.ndarray, fac_point: np.ndarray, recent: np.ndarray, W: np.ndarray,
               rng: np.random.Generator | None, lag_boot, miss: tuple[float, int] = (0.0, 0)
               ) -> tuple[np.ndarray, np.ndarray]:
    """(B, S) twice: the lag model's expected late entries of the young bands per site (to take off
    its expectation) and the bands' combined late entries per site (to put in their place).

    ``fac`` (B, D): the replicates' lag factors; the combined total of a band goes to its sites in
    proportion to the lag model's part (its expectation in the point, its draw in a replicate). In a replicate (``rng``) the tallies' share is
    re-fitted on the sites weighted by W and the never-entered count's scatter (with the drift's
    variance) drawn about it, the lag part drawn as a count (Poisson), so the replicates' spread
    holds both estimates' errors, each weighted as in the point."""
    B, S = W.shape
    off, put = np.zeros((B, S)), np.zeros((B, S))
    weights = band_weights(td, fac_point, recent, lag_boot, miss)
    D = recent.shape[1]
    rem = _remainder(td, td.fac)
    for (lo, hi), bw in weights.items():
        exp_s = fac[:, lo:min(hi, D)] @ recent[:, lo:min(hi, D)].T  # (B, S)
        lag_s = rng.poisson(np.maximum(exp_s, 0.0)).astype(float) if rng is not None else exp_s
        late_t, *_ = _band_tally(td, rem, lo, hi, 0, W, bw["prior"])
        # entries of the band's days without a tally: the lag model's late entries stand for them
        b = td.scope & (td.age >= lo) & (td.age < min(hi, D))
        untallied = recent[:, lo:min(hi, D)].sum(0) - np.bincount(td.age[b] - lo, td.e[b], min(hi, D) - lo)
        late_t = late_t + fac[:, lo:min(hi, D)] @ np.maximum(untallied, 0.0)
        if rng is not None:
            late_t = late_t - rng.normal(0.0, 1.0, B) * np.sqrt(bw["v_noise"])
        comb = (1.0 - bw["w"]) * lag_s.sum(1) + bw["w"] * np.maximum(late_t, 0.0)
        # to the sites as the lag model's (drawn) counts: a district keeps its own count's scatter
        base = np.where(lag_s.sum(1, keepdims=True) > 0, lag_s, exp_s)
        tot = base.sum(1, keepdims=True)
        share = np.where(tot > 0, base / np.where(tot > 0, tot, 1.0), 1.0 / S)
        off += exp_s
        put += comb[:, None] * share
    return off, put


def tally_days(inp, ent: pd.DataFrame, x, inprov: np.ndarray) -> TallyData | None:
    """The province's tallied site-days (tally and distinct entries ``ent``, in-province rows not
    duplicates) of the last HISTORY days before the extract date x."""
    since = x - np.timedelta64(HISTORY, "D")
    tl = inp.tallies[tally_ok(inp.tallies) & inprov[inp.tallies["site"].to_numpy()]
                     & (inp.tallies["vdate"].to_numpy().astype("datetime64[D]") > since)]
    ent = ent[ent["vdate"].to_numpy().astype("datetime64[D]") > since]
    t = tl.groupby(["site", "vdate"])["doses"].sum()
    if t.empty:
        return None
    sc = tl.groupby(["site", "vdate"])["in_scope"].any()
    e = ent[tally_ok(ent)].groupby(["site", "vdate"]).size()
    j = pd.concat([t.rename("t"), sc.rename("sc"), e.rename("e")], axis=1, join="outer")
    j = j[j["t"].notna()]
    vd = pd.DatetimeIndex(j.index.get_level_values("vdate"))
    age = (x - vd.to_numpy().astype("datetime64[D]")).astype(np.int64)
    return tally_data(j.index.get_level_values("site").to_numpy(), age, vd.dayofweek,
                      j["t"].to_numpy(dtype=float), j["e"].fillna(0.0).to_numpy(dtype=float),
                      j["sc"].fillna(False).to_numpy(dtype=bool), len(inp.sites))
