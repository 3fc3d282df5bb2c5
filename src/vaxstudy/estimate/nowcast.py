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
older cohorts is too short for them. So for the short lags (d <= ``SHORT_LAGS``)
the reverse hazard follows a *local linear trend in the cohort's date*:
``logit g(d, t) = a_d + b_d (z_t - mean z)``, z_t = the cohort's date in weeks,
fitted on the cohorts aged d .. d + ``window`` days (the youngest that can
show lag d; their weight halving every ``HALF_LIFE`` days of age, a local linear
fit) and extrapolated to the younger cohorts (ridge ``RIDGE_B`` on b_d:
a prior sd of one logit per week, so a window without a trend gives the plain
windowed estimate); the longer lags (catch-up batches) use the plain reverse
hazard over a longer window. The trend assumes nothing about *why* lags change
(an earlier version regressed on the cohort's tallied volume, which is how
the synthetic generator makes its lags and flattered the benchmark).

**Uncertainty of the truncated tail.** The hazards of a young cohort's
unobserved lags are an extrapolation of the trend; its error grows with the
distance. Each bootstrap replicate re-fits the trend on its redrawn sites
(:func:`expected_late` with the replicate's site weights): the spread of those
fits is the sampling error of (a_d, b_d), site clustering included, and the
extrapolation carries it (the slope's error times the distance). It then draws
each site's late entries as a Poisson count around their expectation, since the
truth is the realised number still to come (the predictive interval of a
nowcast; it matters in districts with few late entries). An earlier version
also drew (a_d, b_d) from the fit's binomial Laplace posterior in each replicate:
that counted the same parameter uncertainty twice (once through the re-fit on
redrawn sites, once through the posterior) and made the intervals 2-4 times too
wide (4.0 points at +0 days for a rate of 5%, holding the truth in every run).
Not covered: a trend that is not linear over the last four weeks (model error).

What it assumes: lags do not depend on whether a dose is ever entered (a dose
that will never be typed is not "very late"); a linear trend of each short
lag's reverse hazard over the last four weeks holds for the days still being
typed; one distribution for all sites (the synthetic data give no site or
district lag effect to learn, and per-district estimates of the rare long
lags would mostly add noise). Days after the extract date (a period ending
after the export) have no entry at all: their tallies count wholly as not yet
entered. Rows without an entered_date count as entered, with no lag.

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
SHORT_LAGS = 21  # lags 1..SHORT_LAGS follow a trend in the cohort's date
MAX_LAG = 180  # lags beyond this are taken as this (bulk imports months later)
HALF_LIFE = 14.0  # days: a cohort's weight in the trend's fit halves every two weeks of age
RIDGE_B = 1.0  # prior precision of the trend's slope (logit per week): prior sd 1 logit a week
NEWTON_STEPS = 25
DESCRIPTION = (
    "doses of the period tallied but not entered by extract_date that are expected to be entered later: "
    "entries per day x (1 - F_t(age)) / F_t(age), F_t the entry-lag distribution by the reverse-time hazard "
    "over the cohorts old enough to show each lag; lags 1-21 follow a logistic trend in the cohort's date "
    "(cohorts aged d .. d + window_days, extrapolated to younger ones), longer lags pooled over 56 days; never "
    "more than the doses tallied but not entered. Each bootstrap replicate re-fits it on its redrawn sites (the "
    "extrapolated tail's uncertainty) and draws the late entries as a Poisson count per site. F_<d>d: F of the "
    "youngest cohort with entries"
)


@dataclass
class LagData:
    """Per-site counts behind the nowcast (S sites, lags 0..D, ages 0..D-1, M = short lags).

    num, den: (S, D+1) entries with lag d / with lag <= d among the cohorts aged
      d .. d + LONG_WINDOW (plain reverse hazard, for the long lags);
    num_v, den_v: (S, M, K) the same for lag d = 1..M, per cohort age d + k (k < K);
    z_fit: (M, K) centred date (weeks) of those cohorts; z_target: (M, D) of the cohort
      aged a, centred like lag d's;
    recent: (S, D) entries in scope of cohorts aged a at the extract date;
    after: (S,) tallied doses of the period's days after the extract date;
    short: (S,) tallied doses in scope minus the distinct entries in scope, summed over
      the site-days where it is positive (the most that can still come: a day with more
      entries than its tally is a paper undercount, not room for late entries).
    """

    num: np.ndarray
    den: np.ndarray
    num_v: np.ndarray
    den_v: np.ndarray
    z_fit: np.ndarray
    z_target: np.ndarray
    recent: np.ndarray
    after: np.ndarray
    short: np.ndarray | None = None

    @property
    def max_lag(self) -> int:
        return self.num.shape[1] - 1


def _cohort_time(n_ages: int) -> np.ndarray:
    """The date of the cohort aged 0..n_ages-1 at the extract date, in weeks (later = higher)."""
    return -np.arange(n_ages, dtype=float) / 7.0


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
    zall = _cohort_time(M + K + D)
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
    sc_all = ent["in_scope"].to_numpy() & tally_ok(ent)
    short = _short(t_scope, ent[sc_all], S)
    return LagData(num, den, num_v, den_v, z_fit, z_target, recent, after, short)


def _short(tallies: pd.DataFrame, entries: pd.DataFrame, S: int) -> np.ndarray:
    """Per site: sum over its days of max(0, tallied - entered)."""
    t = tallies.groupby(["site", "vdate"])["doses"].sum()
    e = entries.groupby(["site", "vdate"]).size()
    j = pd.concat([t.rename("t"), e.rename("e")], axis=1).fillna(0.0)
    gap = np.maximum(j["t"] - j["e"], 0.0)
    return np.bincount(j.index.get_level_values("site").to_numpy(dtype=np.int64), weights=gap.to_numpy(),
                       minlength=S)


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


def trend_hazards(n: np.ndarray, m: np.ndarray, z: np.ndarray, z_target: np.ndarray) -> np.ndarray:
    """Reverse hazards of lags 1..M for each target cohort, from a logistic trend in the date.

    n, m: (B, M, K) entries with lag d / with lag <= d per cohort; z: (M, K) centred date of
    those cohorts; z_target: (M, A) of the target cohorts. Returns (B, M, A). Newton steps
    on logit g = a + b z with a ridge RIDGE_B on b (vectorised over B and M), the cohorts
    weighted by 0.5 ** (k / HALF_LIFE) from the youngest (k = 0): a local linear fit that
    follows a recent change of the lags sooner."""
    kw = 0.5 ** (np.arange(n.shape[-1]) / HALF_LIFE)
    n, m = n * kw, m * kw
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
        g = trend_hazards(n, m, ld.z_fit, ld.z_target)  # (B, M, D)
        later = (np.arange(1, M + 1)[:, None] > ages[None, :])  # lag d > age a
        logF = logF + (np.log1p(-g) * later[None]).sum(1)
    F = np.exp(logF)
    return np.where(F > 0, (1.0 - F) / np.where(F > 0, F, 1.0), 0.0)


def expected_late(ld: LagData, W: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """(B, S) expected late entries per site (the site counted once) for each row of site
    weights W (B x S): F (the short lags' trend included) is re-estimated from the weighted
    sites of each replicate; with ``rng`` each replicate draws the count still to come."""
    if ld.recent.shape[1] == 0:
        return np.broadcast_to(ld.after, W.shape).copy()
    if rng is None and W.shape[0] > 1 and (W == W[:1]).all():  # every replicate the same: once
        return np.broadcast_to(expected_late(ld, W[:1]), W.shape).copy()
    late = late_factor(ld, W) @ ld.recent.T + ld.after[None, :]
    if rng is not None:
        # the doses still to come are a count, not their expectation: a replicate draws it
        # (Poisson per site) so the interval holds the realised late entries of a district
        # with few of them, not only their expected number (a nowcast's predictive interval)
        late = rng.poisson(np.maximum(late, 0.0)).astype(float)
    if ld.short is not None:
        # no more late entries than the (replicate's) sites lack: tallied doses not entered.
        # Binds rarely at the point; it stops a few extreme replicates of the tail (the
        # factor is convex in the hazards) from running away.
        tot, cap = (W * late).sum(1), np.maximum((W * ld.short).sum(1), 0.0)
        scale = np.where(tot > cap, cap / np.where(tot > 0, tot, 1.0), 1.0)
        late = late * scale[:, None]
    return late


def cohort_cdf(ld: LagData, age: int) -> np.ndarray:
    """F(d), d = 0..D, of the cohort aged ``age`` at the extract date (its own date on the trend)."""
    S, D = ld.num.shape[0], ld.recent.shape[1]
    W = np.ones((1, S))
    lp = np.log1p(-reverse_hazard(W @ ld.num, W @ ld.den))[0]  # (D+1,)
    M = ld.num_v.shape[1]
    if M:
        n = (W @ ld.num_v.reshape(S, -1)).reshape(1, M, -1)
        m = (W @ ld.den_v.reshape(S, -1)).reshape(1, M, -1)
        lp[1 : M + 1] = np.log1p(-trend_hazards(n, m, ld.z_fit, ld.z_target[:, [min(age, D - 1)]])[0, :, 0])
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
