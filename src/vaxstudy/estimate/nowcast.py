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
older cohorts is too short for them. A cohort aged a shows its lags 0..a only,
so a lag d is seen d days after the doses: a model that learns each lag's
hazard from the cohorts old enough to show it (the previous version: a linear
trend per lag in the cohort's date) sees a backlog that began a week ago in the
short lags only, and extrapolates the longer ones from before it (on the
synthetic province the young cohorts' lags 8-12 came out 0.5-1.5 logit too
rare: late entries 0.2-0.4 point low at +0 days). So the short lags
(d <= ``SHORT_LAGS``, given d <= M) share **one shape, stretched week by week**:
``log P(d | t) = beta_d + theta_w h(d) + eta_w [d = 0] + const``, w = the cohort's
week of age, h(d) = min(d, 7) (or a reach of ``STRETCHES``, below): a backlog slows the
typing of every pending dose of a week (a geometric queue's log-shares tilt linearly in
d: theta), and may move the same-day share (eta). A week's tilt is learned from the lags
its own cohorts already show (a cohort 4 days old shows the ratios of lags 0-4), and
carried to its lags not yet seen. The full tilt stops near a week's lag: rows typed later
are mostly catch-up batches (a missed sheet, a bulk import) whose timing need not scale
with the queue; tilting lags up to 21 over-stretched them (+0.42 point on 8 dev seeds). Weeks are tied
by a random walk (sd ``TILT_SD`` per week), the oldest week at 0; cohorts weigh
0.5 ** (age / ``HALF_LIFE``); the fit is the conditional likelihood of each
cohort's lags given lag <= its age (right truncation, no cohort total needed).
The longer lags (> M) use the plain reverse hazard over a longer window.
Nothing about *why* lags change is used (an earlier version regressed on the
cohort's tallied volume, which is how the synthetic generator makes its lags
and flattered the benchmark). Not seen: a change of the last 2-3 days only (its
cohorts show too few lags; it is averaged with the rest of their week).

**Uncertainty of the truncated tail.** The hazards of a young cohort's
unobserved lags come from the fitted shape and tilt. Each bootstrap replicate
re-fits them on its redrawn sites (:func:`expected_late` with the replicate's
site weights): the spread of those fits is their sampling error, site
clustering included. The late entries it predicts are those of the province's
own sites, each once (the redraw is the fit's, not another set of sites). It then draws
each site's late entries as a Poisson count around their expectation, since the
truth is the realised number still to come (the predictive interval of a
nowcast; it matters in districts with few late entries). Drawing the fit's parameters
from its posterior as well counted their uncertainty twice (intervals 2-4 times too wide).
**How far the stretch reaches** past a week is a fit choice the data do not pin down (the
profile likelihood of a slope carried on beyond lag 7 ranged over 0-1 across development
seeds). The cap of 7 alone left the late entries 3-10% short at +3 and +7 days on every set
(the cohorts aged 7-13, waiting for lags 8-16), a cap of 5 was 5-11% short on every
development set, a cap of 9 or a quarter of the slope beyond 7 within a few percent either
way (docs/estimation.md). So the model is averaged over
``STRETCHES``: the tilt up to lag 7, up to lag 9, and up to lag 7 with a quarter of its slope
beyond. The point is the mean of their late entries, and the bootstrap's replicates take them
in turn, so their spread holds that model uncertainty too. Not covered: a stretch reaching
well beyond these, or a lag shape that changes otherwise than by the tilt.

What it assumes: lags do not depend on whether a dose is ever entered (a dose
that will never be typed is not "very late"); a week's lags stretch together
(a tilt of the first week's lags) and a week's short lags show how its longer
ones will stretch; one distribution for all sites (the synthetic data give no site or
district lag effect to learn, and per-district estimates of the rare long
lags would mostly add noise). Days after the extract date (a period ending
after the export) have no entry at all: their tallies count wholly as not yet
entered. Rows without an entered_date count as entered, with no lag.

**The tallies' second estimate** (:mod:`vaxstudy.estimate.nowcast_tally`): for the cohorts under
two weeks old, tallied - entered - the never-entered share learned from the matured cohorts is a
second estimate of their late entries with an independent error; each week's band is combined
with the lag model's by inverse variance, in the point and in every replicate.

Everything is kept as per-site matrices (sites x lag, sites x age), so the
bootstrap of :mod:`vaxstudy.estimate.intervals` redraws sites and re-estimates F
in each replicate with two matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxstudy.estimate import nowcast_tally as ntally
from vaxstudy.estimate.data import Inputs, tally_ok

DEFAULT_WINDOW = 28  # cohorts aged 0 .. SHORT_LAGS + window behind the short lags' shape
LONG_WINDOW = 56  # days of cohorts behind each long lag's reverse hazard
SHORT_LAGS = 21  # lags 0..SHORT_LAGS: one shape, tilted week by week
MAX_LAG = 180  # lags beyond this are taken as this (bulk imports months later)
HALF_LIFE = 14.0  # days: a cohort's weight in the short lags' fit halves every two weeks of age
TILT_LAGS = 7  # the tilt stretches lags up to a week; later shares move with lag 7's (catch-up batches)
# how far a backlog's stretch reaches is a fit choice the data do not pin down: (cap, rho) stretches
# lags up to cap with the week's tilt and the lags beyond at rho times its slope. The point is the
# mean of their late entries; the bootstrap's replicates take them in turn (model uncertainty)
STRETCHES = ((TILT_LAGS, 0.0), (9, 0.0), (TILT_LAGS, 0.25))
WEEK = 7  # cohorts of the same week of age share their tilt (a weekday mix averages out)
TILT_SD = 0.5  # prior sd of a week's change of the tilt (log-ratio of successive lags' shares)
SAME_DAY_SD = 0.5  # prior sd of a week's change of the same-day share (log-odds)
NEWTON_STEPS = 25
DESCRIPTION = (
    "doses of the period tallied but not entered by extract_date that are expected to be entered later: "
    "entries per day x (1 - F_t(age)) / F_t(age), F_t the entry-lag distribution by the reverse-time hazard "
    "over the cohorts old enough to show each lag; lags 0-21 share one shape (cohorts aged 0 .. 21 + window_days), "
    "stretched week by week (a log-linear tilt of the lags and a same-day shift per cohort week, tied by a random "
    "walk, each week's learned from the short lags its cohorts show), longer lags pooled over 56 days; never "
    "more than the doses tallied but not entered. How far the tilt reaches is not identified (model uncertainty): "
    "the point is the mean over three reaches (lags 0-7; lags 0-9; lags 0-7 and a quarter of its slope beyond), "
    "and each bootstrap replicate re-fits one of them in turn on its redrawn sites (the extrapolated tail's "
    "uncertainty), and draws the late entries of the province's own sites, each once, as a "
    "Poisson count per site, and the model's own error: the nowcast re-run on the export 3, 5 and 7 days before "
    "the extract date misses by backtest_error, of which backtest_model_error is beyond the noise of its count "
    "and fit; each replicate draws a factor of that relative sd on the late entries of the cohorts under 14 days "
    "old, the ages its predicted entries reach. "
    "The cohorts aged 0-6 and 7-13 days are each combined by inverse variance with a second estimate from the tallies: "
    "tallied - entered - the never-entered share per tallied dose of the cohorts aged 14-55 days (recent ones weighing "
    "more, per site and weekday shrunk to the province's), whose variance includes the share's drift back-tested on older "
    "cohorts. F_<d>d: F of the youngest cohort with entries"
)


@dataclass
class LagData:
    """Per-site counts behind the nowcast (S sites, lags 0..D, ages 0..D-1, M = short lags).

    num, den: (S, D+1) entries with lag d / with lag <= d among the cohorts aged
      d .. d + LONG_WINDOW (plain reverse hazard, for the long lags);
    cnt: (S, T, M+1) entries of the cohort aged a (a < T = M + window + 1) with lag d <= M
      (the short lags' shape, fitted with a tilt per cohort week);
    recent: (S, D) entries in scope of cohorts aged a at the extract date;
    after: (S,) tallied doses of the period's days after the extract date;
    short: (S,) tallied doses in scope minus the distinct entries in scope, summed over
      the site-days where it is positive (the most that can still come: a day with more
      entries than its tally is a paper undercount, not room for late entries).
    """

    num: np.ndarray
    den: np.ndarray
    cnt: np.ndarray
    recent: np.ndarray
    after: np.ndarray
    short: np.ndarray | None = None
    tally: ntally.TallyData | None = None  # the tallied site-days behind the young cohorts' second estimate

    @property
    def max_lag(self) -> int:
        return self.num.shape[1] - 1


def lag_data(inp: Inputs, window: int = DEFAULT_WINDOW) -> LagData:
    """Count, per site, what the reverse-time hazard and the nowcast need."""
    S = len(inp.sites)
    X = inp.extract_date
    rows = inp.rows
    inprov = inp.sites["in_province"].to_numpy()
    used = [c for c in ("vdate", "entered_date", "site", "in_scope", "tally_ok") if c in rows.columns]
    ent = rows.loc[(~rows["is_dup"].to_numpy()) & inprov[rows["site"].to_numpy()], used]  # the columns read
    # site-days whose tally was quarantined are out of missing_entry_rate, so out of the nowcast's
    # counts too (their lags still inform F)
    t_scope = inp.tallies[inp.tallies["in_scope"].to_numpy() & tally_ok(inp.tallies)]
    if X is None or ent.empty:
        return LagData(np.zeros((S, 1)), np.zeros((S, 1)), np.zeros((S, 1, 1)), np.zeros((S, 0)), np.zeros(S))
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
    M = min(SHORT_LAGS, D)
    T = M + window + 1  # cohorts aged 0 .. M + window: each shows its lags 0 .. min(age, M)
    num, den, cnt_s = lag_counts(s, np.minimum(a, top), l, S, D, M, T)
    sc = ent["in_scope"].to_numpy() & tally_ok(ent) & (age >= 0) & (age < D)
    recent = np.bincount(site[sc] * D + age[sc], minlength=S * D).astype(float).reshape(S, D)
    after = np.bincount(t_scope["site"].to_numpy(),
                        weights=(t_scope["doses"].to_numpy(dtype=float)
                                 * (t_scope["vdate"].to_numpy().astype("datetime64[D]") > x)), minlength=S)
    sc_all = ent["in_scope"].to_numpy() & tally_ok(ent)
    short = _short(t_scope, ent[sc_all], S)
    return LagData(num, den, cnt_s, recent, after, short, ntally.tally_days(inp, ent, x, inprov))


def lag_counts(s: np.ndarray, a: np.ndarray, l: np.ndarray, S: int, D: int, M: int, T: int):
    """num, den (S, D+1) and cnt (S, T, M+1) of :class:`LagData` from the entries' site s, age a
    and lag l (l <= D): lag d counts the cohorts aged d .. d + LONG_WINDOW, num[s, d] its entries
    of lag d and den[s, d] those of lag <= d, so an entry adds to den from d = max(l, a - window)
    to min(a, D) (a difference summed along d); cnt the entries of the cohorts aged < T with
    lag <= M. Counted with bincount: whole numbers, the same in any order."""
    one = (a >= l) & (a <= l + LONG_WINDOW)
    num = np.bincount(s[one] * (D + 1) + l[one], minlength=S * (D + 1)).astype(float).reshape(S, D + 1)
    lo, hi = np.maximum(l, a - LONG_WINDOW), np.minimum(a, D)
    ok = lo <= hi
    step = (np.bincount(s[ok] * (D + 2) + lo[ok], minlength=S * (D + 2))
            - np.bincount(s[ok] * (D + 2) + hi[ok] + 1, minlength=S * (D + 2)))
    den = np.cumsum(step.reshape(S, D + 2), axis=1)[:, : D + 1].astype(float)
    use = (a < T) & (l <= M)
    cnt = np.bincount((s[use] * T + a[use]) * (M + 1) + l[use], minlength=S * T * (M + 1))
    return num, den, cnt.astype(float).reshape(S, T, M + 1)


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


def _design(T: int, M: int, stretch: tuple = STRETCHES[0]) -> np.ndarray:
    """x[a, d, p] of the short lags' model: p < M the shape of lag d = 1..M (lag 0 the
    reference); then per cohort week k but the oldest (reference 0) the tilt
    (min(d, cap) + rho * max(d - cap, 0)) * [week = k], (cap, rho) = ``stretch``, and the
    same-day shift [d = 0] * [week = k]."""
    K = (T - 1) // WEEK
    x = np.zeros((T, M + 1, M + 2 * K))
    x[:, np.arange(1, M + 1), np.arange(M)] = 1.0
    wk = np.arange(T) // WEEK
    cap, rho = stretch
    d = np.arange(M + 1)
    for k in range(K):
        x[wk == k, :, M + k] = np.minimum(d, cap) + rho * np.maximum(d - cap, 0)
        x[wk == k, 0, M + K + k] = 1.0
    return x


def _penalty(M: int, nb: int) -> np.ndarray:
    """Random-walk precision on the weekly tilts and same-day shifts (each week's from the
    next older one's, the oldest week at 0); a tiny ridge keeps empty lags' shapes finite."""
    K = nb - 1
    R = np.zeros((K + 1, K + 1))
    for k in range(K):  # week k differs from week k + 1 (week K = the oldest, fixed at 0)
        R[k, k] += 1.0
        R[k + 1, k + 1] += 1.0
        R[k, k + 1] -= 1.0
        R[k + 1, k] -= 1.0
    R = R[:K, :K]
    P = np.zeros((M + 2 * K, M + 2 * K))
    P[np.arange(M), np.arange(M)] = 1e-6
    P[M : M + K, M : M + K] = R / TILT_SD**2
    P[M + K :, M + K :] = R / SAME_DAY_SD**2
    return P


def short_lag_shape(n: np.ndarray, ages: np.ndarray | None = None, stretch: tuple = STRETCHES[0]) -> np.ndarray:
    """(B, T, M+1): P(lag = d | lag <= M) of the cohort aged a, from the entries n (B, T, M+1)
    of the cohorts aged a = 0..T-1 (lags d <= min(a, M) observed).

    log P(d) = beta_d + theta_w h(d) + eta_w [d = 0] + const, w = the cohort's
    week of age, h(d) = min(d, cap) + rho max(d - cap, 0) for (cap, rho) = ``stretch``:
    one lag shape for all cohorts, stretched (theta) and its same-day share
    moved (eta) week by week, the weeks tied by a random walk. Fitted by the conditional
    likelihood of each cohort's lags given that they are <= its age (right truncation),
    Newton steps vectorised over B (warm-started from the fit of the summed counts), the
    cohorts weighted by 0.5 ** (age / HALF_LIFE)."""
    B, T, D1 = n.shape
    M = D1 - 1
    ages = np.arange(T) if ages is None else ages
    obs = np.arange(D1)[None, :] <= np.minimum(ages, M)[:, None]  # (T, D1)
    n = n * (0.5 ** (ages / HALF_LIFE))[None, :, None] * obs
    x = _design(T, M, stretch)
    wk = np.arange(T) // WEEK
    nb = int(wk.max()) + 1
    xw = np.stack([x[wk == k][0] for k in range(nb)])  # (nb, D1, P): x depends on the week only
    P = x.shape[-1]
    pen = _penalty(M, nb)
    if B > 1:
        th = np.repeat(_fit(n.sum(0, keepdims=True), obs, x, xw, wk, pen, None), B, 0)
    else:
        th = None
    th = _fit(n, obs, x, xw, wk, pen, th)
    eta = np.einsum("tdp,bp->btd", x, th)
    pi = np.exp(eta - eta.max(-1, keepdims=True))
    return pi / pi.sum(-1, keepdims=True)


def _fit(n, obs, x, xw, wk, pen, th):
    """Newton steps of :func:`short_lag_shape` (parameters (B, P)); ``th`` = a start or None."""
    B, T, D1 = n.shape
    M, P, nb = D1 - 1, x.shape[-1], xw.shape[0]
    N = n.sum(-1)  # (B, T)
    if th is None:
        tot = n.sum(1)
        th = np.zeros((B, P))
        th[:, :M] = np.log((tot[:, 1:] + 0.5) / (tot[:, :1] + 0.5))
    xf = xw.reshape(nb * D1, P)
    xr = x.reshape(T * D1, P)
    rw = np.zeros((B, nb, D1))
    for k in range(nb):
        rw[:, k] = n[:, wk == k].sum(1)
    for _ in range(NEWTON_STEPS):
        eta = np.where(obs, (th @ xr.T).reshape(B, T, D1), -np.inf)
        pi = np.exp(eta - eta.max(-1, keepdims=True))
        pi /= pi.sum(-1, keepdims=True)
        c = N[..., None] * pi
        cw = np.zeros((B, nb, D1))
        for k in range(nb):
            cw[:, k] = c[:, wk == k].sum(1)
        grad = np.einsum("bkd,kdp->bp", rw - cw, xw) - th @ pen
        # batched matmuls: the same sums as einsum's, which loops in C without BLAS (20x slower here)
        mu = np.matmul(pi.transpose(1, 0, 2), x).transpose(1, 0, 2)  # (B, T, P)
        H = (xf.T[None] * cw.reshape(B, 1, -1)) @ xf - (mu * N[..., None]).transpose(0, 2, 1) @ mu + pen
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        th = np.clip(th + np.clip(step, -5.0, 5.0), -30.0, 30.0)
        if np.abs(step).max() < 1e-7:
            break
    return th


def late_factor(ld: LagData, W: np.ndarray, stretch: tuple | None = None) -> np.ndarray:
    """(B, D): (1 - F_t(a)) / F_t(a) for the cohort aged a, entries still to come per entry
    already in, with F re-estimated from the sites weighted by each row of W (B x S); the
    mean over ``STRETCHES`` unless one ``stretch`` is given."""
    if stretch is None:
        return np.mean([late_factor(ld, W, s) for s in STRETCHES], axis=0)
    D = ld.recent.shape[1]
    logF = _log_cdf(ld, W, stretch)[:, :D]
    F = np.exp(logF)
    return np.where(F > 0, (1.0 - F) / np.where(F > 0, F, 1.0), 0.0)


def _fitted_lags(ld: LagData, W: np.ndarray, stretch: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """The lag model fitted on the sites weighted by each row of W (B x S), for :func:`_log_cdf` and
    :func:`cohort_cdfs`: (B, D+2) the long lags' log reverse-hazard survivals summed over d >= j
    (0 beyond D), and (B, T, M+1) the short lags' shape per cohort age (None without short lags)."""
    B, S = W.shape
    gp = reverse_hazard(W @ ld.num, W @ ld.den)  # (B, D+1)
    lp = np.log1p(-gp)
    suffix = np.concatenate([np.flip(np.cumsum(np.flip(lp, -1), -1), -1), np.zeros((B, 1))], -1)  # sum d >= j
    M = ld.cnt.shape[2] - 1
    if not M:
        return suffix, None
    T = ld.cnt.shape[1]
    return suffix, short_lag_shape((W @ ld.cnt.reshape(S, -1)).reshape(B, T, M + 1), stretch=stretch)


def _log_cdf(ld: LagData, W: np.ndarray, stretch: tuple) -> np.ndarray:
    """(B, D+1): log F_t(a) of the cohort aged a = 0..D at the extract date: the long lags'
    reverse hazards beyond max(a, M), times P(lag <= a | lag <= M) of the cohort's own week."""
    suffix, pi = _fitted_lags(ld, W, stretch)
    ages = np.arange(ld.num.shape[1])
    M = ld.cnt.shape[2] - 1
    logF = suffix[:, np.maximum(ages + 1, M + 1)]
    if pi is not None:
        Q = np.cumsum(pi[:, :M, :], -1)[:, np.arange(M), np.arange(M)]  # (B, M): P(lag <= a | <= M), a < M
        logF[:, :M] += np.log(np.maximum(Q, 1e-300))
    return logF


def expected_late(ld: LagData, W: np.ndarray, rng: np.random.Generator | None = None,
                  miss: tuple[float, int] = (0.0, 0)) -> np.ndarray:
    """(B, S) expected late entries per site (the site counted once) for each row of site
    weights W (B x S): F (the short lags' shape and tilts included) is re-estimated from the weighted
    sites of each replicate; with ``rng`` each replicate draws the count still to come, and with
    ``miss`` = (sd, ages) the model's own error beyond the fit's (nowcast_backtest.Backtest.model_error):
    one lognormal factor of mean 1 and relative sd ~sd per replicate on the late entries of the
    cohorts under ``ages`` days, the same for every site (a model's miss is the province's). The
    weights are the lag model's fit only: the late entries still to come are those of *these*
    sites, each once (a replicate that also weighted the sites' late entries by W measured how
    another set of sites would differ: between 20 and 35% of a district's sd at full scale)."""
    if ld.recent.shape[1] == 0:
        return np.broadcast_to(ld.after, W.shape).copy()
    if rng is None and W.shape[0] > 1 and (W == W[:1]).all():  # every replicate the same: once
        return np.broadcast_to(expected_late(ld, W[:1]), W.shape).copy()
    fac = _replicate_factor(ld, W, rng is not None)
    late = fac @ ld.recent.T + ld.after[None, :]
    if rng is not None and miss[0] > 0:
        sd, young = miss[0], min(miss[1], fac.shape[1])
        # from a child stream: every other draw of the bootstrap stays as it was without the miss
        g = np.exp(sd * rng.spawn(1)[0].standard_normal((W.shape[0], 1)) - sd**2 / 2)
        late = late + (g - 1.0) * (fac[:, :young] @ ld.recent[:, :young].T)
        fac = np.concatenate([fac[:, :young] * g, fac[:, young:]], axis=1)  # the late entries drawn on
    put = None
    if ld.tally is not None:  # the youngest cohorts' part: combined with the tallies' estimate
        point = late_factor(ld, np.ones((1, ld.recent.shape[0])))[0] if ld.tally.fac is None else None
        off, put = ntally.band_parts(ld.tally, fac, point, ld.recent, W, None if rng is None else rng.spawn(1)[0],
                                     lambda Wb: _replicate_factor(ld, Wb, True), miss)
        late = late - off
    if rng is not None:
        # the doses still to come are a count, not their expectation: a replicate draws it
        # (Poisson per site) so the interval holds the realised late entries of a district
        # with few of them, not only their expected number (a nowcast's predictive interval)
        late = rng.poisson(np.maximum(late, 0.0)).astype(float)
    if put is not None:
        late = np.maximum(late + put, 0.0)
    if ld.short is not None:
        # no more late entries than the sites lack: tallied doses not entered. Binds rarely at
        # the point; it stops a few extreme replicates of the tail (the factor is convex in the
        # hazards) from running away.
        tot, cap = late.sum(1), max(float(ld.short.sum()), 0.0)
        scale = np.where(tot > cap, cap / np.where(tot > 0, tot, 1.0), 1.0)
        late = late * scale[:, None]
    return late


def _replicate_factor(ld: LagData, W: np.ndarray, mix: bool) -> np.ndarray:
    """late_factor of each row of W; with ``mix`` (bootstrap replicates) row b fits the short
    lags with STRETCHES[b % len], so the replicates' spread holds how far the stretch reaches
    (model uncertainty) besides the fit's sampling error. Without it (the point) each row is
    the mean over STRETCHES."""
    if not mix or W.shape[0] == 1 or len(STRETCHES) == 1:
        return late_factor(ld, W)
    pick = np.arange(W.shape[0]) % len(STRETCHES)
    fac = np.empty((W.shape[0], ld.recent.shape[1]))
    for i, st in enumerate(STRETCHES):
        if (pick == i).any():
            fac[pick == i] = late_factor(ld, W[pick == i], st)
    return fac


def cohort_cdf(ld: LagData, age: int) -> np.ndarray:
    """F(d), d = 0..D, of the cohort aged ``age`` at the extract date (its own week's lag shape)."""
    return cohort_cdfs(ld, [age])[0]


def cohort_cdfs(ld: LagData, ages, stretch: tuple | None = None, W: np.ndarray | None = None) -> np.ndarray:
    """(len(ages), D+1): F(d) of the cohorts aged ``ages`` at the extract date, one fit per
    ``stretch`` (the mean over ``STRETCHES`` unless one is given); with site weights W (B x S)
    and one ``stretch``, (B, len(ages), D+1): the fit on each row's sites."""
    if stretch is None:
        return np.mean([cohort_cdfs(ld, ages, st) for st in STRETCHES], axis=0)
    Wb = np.ones((1, ld.num.shape[0])) if W is None else W
    M = ld.cnt.shape[2] - 1
    suffix, pi = _fitted_lags(ld, Wb, stretch)
    F = np.repeat(np.exp(suffix[:, None, 1:]), len(ages), 1)  # F(d) = prod over lags > d
    if pi is not None:
        T = ld.cnt.shape[1]
        for i, a in enumerate(ages):
            F[:, i, :M] = F[:, i, M : M + 1] * np.cumsum(pi[:, min(a, T - 1)], -1)[:, :M]
    return F[0] if W is None else F


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
