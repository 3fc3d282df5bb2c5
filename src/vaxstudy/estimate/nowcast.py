"""Late entries: how many of the period's tallied-but-not-entered doses will still be typed in.

A dose given on day t and typed in L days later is in the export of day X only
if ``t + L <= X``: the entry lags are *right-truncated* at the extract date, so
the doses of the last days of the period look missing although most of them
are only late. As in the nowcasting of case reports (Lawless 1994; Kalbfleisch
& Lawless 1991), the lag distribution F is estimated from the lags observed,
each lag d only from the cohorts (days t) old enough to show it (``X - t >= d``),
through the *reverse-time hazard*

    g(d) = P(L = d | L <= d) = #(entries with lag d) / #(entries with lag <= d),
    both over the cohorts aged d .. d + window days at X,
    F(D) = 1,  F(d - 1) = F(d) * (1 - g(d)),

so no cohort is used for a lag it could not yet show. A day t with n entries
by X then holds ``n * (1 - F_t(a)) / F_t(a)`` more entries still to come
(a = X - t): the *expected late entries*; ``late_entry_rate`` is their sum over
the period's days and the province's sites, / tallied doses, and
``never_entered_rate = missing_entry_rate - late_entry_rate``.

**Backlog.** Lags grow when a mass campaign outruns data entry, and the last
days of a period are often its busiest: a lag distribution averaged over
older cohorts is too short for them (on synthetic October data, a 28-day
average missed a third of the late entries). So for the short lags
(d <= ``SHORT_LAGS``) the reverse hazard is a logistic regression on the
cohort's *volume*, z_t = log of the province's tallied doses per day over the
7 days to t (known for every day, entered or not):
``logit g(d, t) = a_d + b_d (z_t - mean z)``, fitted on the cohorts aged
d .. d + ``window`` days (ridge on b_d, so a window without volume change gives
the plain windowed estimate); the longer lags (catch-up batches) use the plain
reverse hazard over a longer window. This is the generator's own mechanism on
the synthetic data (lag scaled by load), which flatters the benchmark there.

What it assumes: lags do not depend on whether a dose is ever entered (a dose
that will never be typed is not "very late"); the lag's dependence on volume
in the last weeks holds for the days still being typed; one distribution for
all sites (the synthetic data give no site or district lag effect to learn,
and per-district estimates of the rare long lags would mostly add noise). Days
after the extract date (a period ending after the export) have no entry at
all: their tallies count wholly as not yet entered. Rows without an
entered_date count as entered, with no lag.

The interval (site bootstrap, F re-estimated in each replicate) carries the
sampling error of the sites and of F, **not** the model's error: on 20 held-out
synthetic provinces the late-entry rate was biased low by 0.1-0.3 point once
the extract is a few days after the period, and its interval held the truth
in 0-65% of runs there (docs/estimation.md).

Everything is kept as per-site matrices (sites x lag, sites x age), so the
bootstrap of :mod:`vaxstudy.estimate.intervals` redraws sites and re-estimates F
in each replicate with two matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxstudy.estimate.data import Inputs, tally_ok

DEFAULT_WINDOW = 28  # days of cohorts behind each short lag's regression
LONG_WINDOW = 56  # days of cohorts behind each long lag's reverse hazard
SHORT_LAGS = 21  # lags 1..SHORT_LAGS follow the cohort's volume
MAX_LAG = 180  # lags beyond this are taken as this (bulk imports months later)
RIDGE_B = 1.0  # prior precision of the volume slope (logit per unit of log volume)
NEWTON_STEPS = 25


@dataclass
class LagData:
    """Per-site counts behind the nowcast (S sites, lags 0..D, ages 0..D-1, M = short lags).

    num, den: (S, D+1) entries with lag d / with lag <= d among the cohorts aged
      d .. d + LONG_WINDOW (plain reverse hazard, for the long lags);
    num_v, den_v: (S, M, K) the same for lag d = 1..M, per cohort age d + k (k < K);
    z_fit: (M, K) centred log volume of those cohorts; z_target: (M, D) of the cohort
      aged a, centred like lag d's;
    recent: (S, D) entries in scope of cohorts aged a at the extract date;
    after: (S,) tallied doses of the period's days after the extract date.
    """

    num: np.ndarray
    den: np.ndarray
    num_v: np.ndarray
    den_v: np.ndarray
    z_fit: np.ndarray
    z_target: np.ndarray
    recent: np.ndarray
    after: np.ndarray

    @property
    def max_lag(self) -> int:
        return self.num.shape[1] - 1


def _volume(inp, x: np.datetime64, n_ages: int) -> np.ndarray:
    """log of the province's tallied doses per day over the 7 days to each cohort, by age
    at x (0..n_ages-1); 0 where nothing was tallied."""
    inprov = inp.sites["in_province"].to_numpy()
    t = inp.tallies[inprov[inp.tallies["site"].to_numpy()]]
    age = (x - t["vdate"].to_numpy().astype("datetime64[D]")).astype(np.int64)
    ok = (age >= 0) & (age < n_ages + 6)
    daily = np.bincount(age[ok], weights=t["doses"].to_numpy(dtype=float)[ok], minlength=n_ages + 6)
    # the 7 days to a cohort: itself and the 6 days before it (ages a .. a + 6)
    c = np.concatenate([[0.0], np.cumsum(daily)])
    week = c[np.arange(n_ages) + 7] - c[np.arange(n_ages)]
    return np.log(np.maximum(week / 7.0, 1.0))


def lag_data(inp: Inputs, window: int = DEFAULT_WINDOW) -> LagData:
    """Count, per site, what the reverse-time hazard and the nowcast need."""
    S = len(inp.sites)
    X = inp.extract_date
    rows = inp.rows
    inprov = inp.sites["in_province"].to_numpy()
    ent = rows[(~rows["is_dup"].to_numpy()) & inprov[rows["site"].to_numpy()]]
    # site-days whose tally was quarantined are out of missing_entry_rate, so out of the nowcast's
    # counts too (their lags still inform F)
    t_scope = inp.tallies[inp.tallies["in_scope"].to_numpy() & tally_ok(inp.tallies)]
    if X is None or ent.empty:
        z = np.zeros((0, 1))
        return LagData(np.zeros((S, 1)), np.zeros((S, 1)), np.zeros((S, 0, 1)), np.zeros((S, 0, 1)),
                       z, np.zeros((0, 0)), np.zeros((S, 0)), np.zeros(S))
    x = np.datetime64(X, "D")
    vd = ent["vdate"].to_numpy().astype("datetime64[D]")
    age = (x - vd).astype(np.int64)
    has = ent["entered_date"].notna().to_numpy()
    lag = np.zeros(len(ent), dtype=np.int64)
    lag[has] = (pd.to_datetime(ent["entered_date"][has]).to_numpy().astype("datetime64[D]") - vd[has]).astype(np.int64)
    lag = np.clip(lag, 0, MAX_LAG)
    D = int(min(MAX_LAG, max(1, lag[has].max() if has.any() else 1)))
    lag = np.minimum(lag, D)
    site = ent["site"].to_numpy()
    keep = has & (age >= 0)
    s, a, l = site[keep], age[keep], lag[keep]
    # cohorts usable for lag d: aged >= d at X (l <= a always holds for a row in the export)
    top = D + LONG_WINDOW + 1
    cnt = pd.DataFrame({"s": s, "a": np.minimum(a, top), "l": l}).value_counts().rename("n").reset_index()
    num, den = np.zeros((S, D + 1)), np.zeros((S, D + 1))
    cs, ca, cl, cn = (cnt[c].to_numpy() for c in ("s", "a", "l", "n"))
    for d in range(D + 1):
        use = (ca >= d) & (ca <= d + LONG_WINDOW)
        np.add.at(num[:, d], cs[use & (cl == d)], cn[use & (cl == d)])
        np.add.at(den[:, d], cs[use & (cl <= d)], cn[use & (cl <= d)])
    M, K = min(SHORT_LAGS, D), window + 1
    num_v, den_v = np.zeros((S, M, K)), np.zeros((S, M, K))
    zall = _volume(inp, x, M + K + D)
    z_fit, z_target = np.zeros((M, K)), np.zeros((M, D))
    for i, d in enumerate(range(1, M + 1)):
        k = ca - d
        use = (k >= 0) & (k < K) & (cl <= d)
        np.add.at(den_v[:, i, :], (cs[use], k[use]), cn[use])
        use &= cl == d
        np.add.at(num_v[:, i, :], (cs[use], k[use]), cn[use])
        zz = zall[d : d + K]
        z_fit[i] = zz - zz.mean()
        z_target[i] = zall[:D] - zz.mean()
    sc = ent["in_scope"].to_numpy() & tally_ok(ent) & (age >= 0) & (age < D)
    recent = np.zeros((S, D))
    np.add.at(recent, (site[sc], age[sc]), 1.0)
    after = np.bincount(t_scope["site"].to_numpy(),
                        weights=(t_scope["doses"].to_numpy(dtype=float)
                                 * (t_scope["vdate"].to_numpy().astype("datetime64[D]") > x)), minlength=S)
    return LagData(num, den, num_v, den_v, z_fit, z_target, recent, after)


def reverse_hazard(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """g(d) = num / den (0 where den is 0), clipped below 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(g, 0.0, 1.0 - 1e-9)


def lag_cdf(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """F(d) = P(lag <= d | entered), d = 0..D, from plain reverse-hazard counts (..., D+1)."""
    g = reverse_hazard(num, den)
    surv = 1.0 - g[..., 1:]
    F = np.ones(num.shape)
    F[..., :-1] = np.flip(np.cumprod(np.flip(surv, axis=-1), axis=-1), axis=-1)
    return F


def volume_hazards(n: np.ndarray, m: np.ndarray, z: np.ndarray, z_target: np.ndarray) -> np.ndarray:
    """Reverse hazards of lags 1..M for each target cohort, from a logistic regression on volume.

    n, m: (B, M, K) entries with lag d / with lag <= d per cohort; z: (M, K) centred log
    volume of those cohorts; z_target: (M, A) of the target cohorts. Returns (B, M, A).
    Newton steps on logit g = a + b z with a ridge RIDGE_B on b (vectorised over B and M)."""
    tot_n, tot_m = n.sum(-1), m.sum(-1)
    g0 = np.clip(np.where(tot_m > 0, tot_n / np.where(tot_m > 0, tot_m, 1.0), 0.0), 1e-9, 1 - 1e-9)
    a, b = np.log(g0 / (1 - g0)), np.zeros_like(g0)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(a[..., None] + b[..., None] * z)))
        r = n - m * p
        w = m * p * (1 - p)
        ga, gb = r.sum(-1), (r * z).sum(-1) - RIDGE_B * b
        haa, hab, hbb = w.sum(-1) + 1e-9, (w * z).sum(-1), (w * z * z).sum(-1) + RIDGE_B
        det = haa * hbb - hab * hab
        a = np.clip(a + (hbb * ga - hab * gb) / det, -30, 30)
        b = np.clip(b + (haa * gb - hab * ga) / det, -10, 10)
    g = 1.0 / (1.0 + np.exp(-(a[..., None] + b[..., None] * z_target)))
    g = np.where(tot_m[..., None] > 0, g, 0.0)
    return np.clip(g, 0.0, 1.0 - 1e-9)


def late_factor(ld: LagData, W: np.ndarray) -> np.ndarray:
    """(B, D): (1 - F_t(a)) / F_t(a) for the cohort aged a, entries still to come per entry
    already in, with F re-estimated from the sites weighted by each row of W (B x S)."""
    B, D = W.shape[0], ld.recent.shape[1]
    M = ld.num_v.shape[1]
    gp = reverse_hazard(W @ ld.num, W @ ld.den)  # (B, D+1)
    lp = np.log1p(-gp)
    suffix = np.concatenate([np.flip(np.cumsum(np.flip(lp, -1), -1), -1), np.zeros((B, 1))], -1)  # sum d >= j
    ages = np.arange(D)
    logF = suffix[:, np.maximum(ages + 1, M + 1)]  # long lags (d > M) beyond the age
    if M:
        S = W.shape[1]
        n = (W @ ld.num_v.reshape(S, -1)).reshape(B, M, -1)
        m = (W @ ld.den_v.reshape(S, -1)).reshape(B, M, -1)
        g = volume_hazards(n, m, ld.z_fit, ld.z_target)  # (B, M, D)
        later = (np.arange(1, M + 1)[:, None] > ages[None, :])  # lag d > age a
        logF = logF + (np.log1p(-g) * later[None]).sum(1)
    F = np.exp(logF)
    return np.where(F > 0, (1.0 - F) / np.where(F > 0, F, 1.0), 0.0)


def expected_late(ld: LagData, W: np.ndarray) -> np.ndarray:
    """(B, S) expected late entries per site (the site counted once) for each row of site
    weights W (B x S): F is re-estimated from the weighted sites of each replicate."""
    if ld.recent.shape[1] == 0:
        return np.broadcast_to(ld.after, W.shape).copy()
    if W.shape[0] > 1 and (W == W[:1]).all():  # every replicate the same sites: estimate once
        return np.broadcast_to(expected_late(ld, W[:1]), W.shape).copy()
    return late_factor(ld, W) @ ld.recent.T + ld.after[None, :]


def cohort_cdf(ld: LagData, age: int) -> np.ndarray:
    """F(d), d = 0..D, of the cohort aged ``age`` at the extract date (its own volume)."""
    S, D = ld.num.shape[0], ld.recent.shape[1]
    W = np.ones((1, S))
    lp = np.log1p(-reverse_hazard(W @ ld.num, W @ ld.den))[0]  # (D+1,)
    M = ld.num_v.shape[1]
    if M:
        n = (W @ ld.num_v.reshape(S, -1)).reshape(1, M, -1)
        m = (W @ ld.den_v.reshape(S, -1)).reshape(1, M, -1)
        lp[1 : M + 1] = np.log1p(-volume_hazards(n, m, ld.z_fit, ld.z_target[:, [min(age, D - 1)]])[0, :, 0])
    suffix = np.concatenate([np.flip(np.cumsum(np.flip(lp))), [0.0]])  # sum over lags >= j
    return np.exp(suffix[1:])  # F(d) = prod over lags > d


def lag_summary(ld: LagData) -> dict:
    """The lag distribution of the youngest cohort with entries (the busiest days' backlog),
    for the method block: F at a few lags, and which cohort."""
    out: dict = {"max_lag_days": int(ld.max_lag)}
    has = np.flatnonzero(ld.recent.sum(axis=0) > 0) if ld.recent.shape[1] else np.array([], dtype=int)
    if not len(has):
        return out
    a0 = int(has[0])
    F = cohort_cdf(ld, a0)
    out.update({f"F_{d}d": round(float(min(max(F[min(d, len(F) - 1)], 0.0), 1.0)), 6) for d in (0, 1, 3, 7, 14, 30)})
    out["cohort_age_days"] = a0
    return out
