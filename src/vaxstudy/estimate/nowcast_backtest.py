"""The nowcast's own error, back-tested on the export as it stood some days before the extract date.

The bootstrap of :mod:`vaxstudy.estimate.nowcast` shows the fit's sampling error and how far the
stretch reaches, not a change of the lags the weekly tilt does not follow (a change of the last
days). Re-running the nowcast on the export of 3, 5 and 7 days earlier, and counting what then
came, measures the model's miss whatever its cause. Part of that miss is noise the bootstrap
already carries (the count still to come, the fit's sampling error); what is left beyond it, the
model error, is drawn by each replicate on the late entries whose error it measures: those of the
cohorts under BACKTEST_REACH days (the ages its predicted entries reach).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from vaxstudy.estimate.intervals import site_weights
from vaxstudy.estimate.nowcast import STRETCHES, WEEK, LagData, cohort_cdfs, lag_data

# the nowcast re-run this many days before the extract date: the recent past, the likeliest guide to the
# extract's own phase (re-runs 10 and 14 days back measured a surge that was over by the extract)
BACKTEST_DAYS = (3, 5, 7)
# the ages the back-test's predicted entries reach: its cohorts aged 0..WEEK-1, entered within 7 days
BACKTEST_REACH = WEEK + max(BACKTEST_DAYS)
BACKTEST_BOOT = 30  # site redraws of each back-test's fit (its sampling error), the stretches in turn
BACKTEST_SEED = 0  # its own fixed draw: the estimate stays reproducible, the main bootstrap's draws unchanged


@dataclass(frozen=True)
class Backtest:
    """error: root mean square of log(observed / predicted) over the back-tests; model_error: the
    part of it the bootstrap does not carry, sqrt(max(0, mean of log^2 - its expected noise)), the
    relative sd each replicate draws on the late entries of the cohorts under BACKTEST_REACH days."""

    error: float = 0.0
    model_error: float = 0.0


def backtest(inp, horizons=BACKTEST_DAYS, young: int = WEEK) -> Backtest:
    """How far the nowcast missed on this export's own recent past: for each h, the export as it
    stood h days before the extract date predicts the entries of its cohorts then aged 0..young-1
    that arrive within the h days, and the export shows how many did. ``error``: the root mean
    square of log(observed / predicted) over the horizons (0 where none can be measured), the
    model's error on the youngest cohorts whatever its cause. ``model_error``: what that leaves
    beyond the noise the bootstrap already draws, the count's own (how many of the doses still
    owed arrive within h days) and the fit's (the back-test re-fitted on redrawn sites, the
    stretches in turn), each as a relative variance of its prediction."""
    X = inp.extract_date
    if X is None or inp.rows.empty:
        return Backtest()
    rows = inp.rows
    inprov = inp.sites["in_province"].to_numpy()
    ent = rows[(~rows["is_dup"].to_numpy()) & inprov[rows["site"].to_numpy()]]
    ed = pd.to_datetime(ent["entered_date"])
    vd = pd.to_datetime(ent["vdate"])
    x = pd.Timestamp(X)
    strata = inp.sites["district_code"].to_numpy() if "district_code" in inp.sites else np.zeros(len(inp.sites))
    rng = np.random.default_rng(BACKTEST_SEED)
    logs, excess = [], []
    for h in horizons:
        xp = x - pd.Timedelta(days=h)
        past = ent[(ed.isna() | (ed <= xp)).to_numpy()].assign(in_scope=True)
        ld = lag_data(SimpleNamespace(rows=past, sites=inp.sites, tallies=inp.tallies.iloc[:0],
                                      extract_date=xp.date()))
        ages = [a for a in range(young) if a < ld.recent.shape[1]]
        if not ages:
            continue
        # the point's model average, and its count's variance
        pred, count_var = np.mean([_due_within(ld, ages, h, cohort_cdfs(ld, ages, st)) for st in STRETCHES], 0)
        W = site_weights(strata, BACKTEST_BOOT, rng)
        pick = np.arange(BACKTEST_BOOT) % len(STRETCHES)
        reps = np.concatenate([_due_within(ld, ages, h, cohort_cdfs(ld, ages, st, W[pick == i]))[0]
                               for i, st in enumerate(STRETCHES)])
        age = (xp - vd).dt.days.to_numpy()
        obs = int(((age >= 0) & (age < young) & (ed > xp) & (ed <= x)).to_numpy().sum())
        if pred > 0 and obs > 0:
            logs.append(np.log(obs / pred))
            excess.append(logs[-1] ** 2 - (count_var + float(np.var(reps))) / pred**2)
    if not logs:
        return Backtest()
    return Backtest(float(np.sqrt(np.mean(np.square(logs)))), float(np.sqrt(max(0.0, np.mean(excess)))))


def _due_within(ld: LagData, ages: list, h: int, F: np.ndarray):
    """Entries the cohorts aged ``ages`` are expected to add within h days under the lag CDFs F
    ((len(ages), D+1), or (B, len(ages), D+1) for B fits), and the variance of that count given
    the entries already in: of a cohort's n entries by age a, the N - n still owed are negative
    binomial (n, F(a)) and each arrives within h days with chance r = (F(a+h) - F(a)) / (1 - F(a)),
    so with q = (F(a+h) - F(a)) / F(a) the count has mean n q and variance n q (1 - r) + n q^2 / (1 - F(a))."""
    F = F[None] if F.ndim == 2 else F
    D = F.shape[-1] - 1
    a = np.asarray(ages)
    n = ld.recent[:, a].sum(0)
    Fa, Fh = F[:, np.arange(len(a)), np.minimum(a, D)], F[:, np.arange(len(a)), np.minimum(a + h, D)]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(Fa > 0, (Fh - Fa) / np.where(Fa > 0, Fa, 1.0), 0.0)
        r = np.where(Fa < 1, (Fh - Fa) / np.where(Fa < 1, 1.0 - Fa, 1.0), 0.0)
        v = np.where(Fa < 1, n * q * (1 - r) + n * q**2 / np.where(Fa < 1, 1.0 - Fa, 1.0), 0.0)
    mean = (n * q).sum(-1)
    return (float(mean[0]), float(v[0].sum())) if len(mean) == 1 else (mean, v.sum(-1))
