"""The nowcast's own error, back-tested on the export as it stood some days before the extract date.

The bootstrap of :mod:`vaxstudy.estimate.nowcast` shows the fit's sampling error and how far the
stretch reaches, not a change of the lags the weekly tilt does not follow (a change of the last
days). Re-running the nowcast on the export of 7, 10 and 14 days earlier, and counting what then
came, measures the model's miss whatever its cause: the late entries' interval is at least that
wide on the part of them it measures (:func:`young_late`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from vaxstudy.estimate.nowcast import STRETCHES, WEEK, LagData, cohort_cdfs, lag_data, late_factor

BACKTEST_DAYS = (7, 10, 14)  # the nowcast re-run this many days before the extract date (backtest_error)
# the ages the back-test's predicted entries reach: its cohorts aged 0..WEEK-1, entered within 14 days
BACKTEST_REACH = WEEK + max(BACKTEST_DAYS)


def young_late(ld: LagData, young: int = BACKTEST_REACH) -> np.ndarray:
    """(S,) expected late entries of the cohorts aged under ``young`` days at the extract date (the
    point's fit, each site once): by default the part of the late entries whose error
    :func:`backtest_error` measures. It back-tests the cohorts aged 0..6 over the next 7-14 days,
    so their entries at ages up to 20: the second week's lags, where a backlog that stretches
    them makes most of the model's miss (docs/estimation.md, "where the early extracts' shortfall
    comes from": cohorts aged 7-13 at the extract), are in what it measures."""
    D = ld.recent.shape[1]
    if D == 0:
        return np.zeros(ld.recent.shape[0])
    fac = late_factor(ld, np.ones((1, ld.recent.shape[0])))[0, : min(young, D)]
    return ld.recent[:, : len(fac)] @ fac


def backtest_error(inp, horizons=BACKTEST_DAYS, young: int = WEEK) -> float:
    """How far the nowcast missed on this export's own recent past: for each h, the export as it
    stood h days before the extract date predicts the entries of its cohorts then aged 0..young-1
    that arrive within the h days, and the export shows how many did. Root mean square of
    log(observed / predicted) over the horizons (0 where none can be measured): the model's error
    on the youngest cohorts, whatever its cause (a change the tilt does not follow), which the
    bootstrap of the fit cannot show."""
    X = inp.extract_date
    if X is None or inp.rows.empty:
        return 0.0
    rows = inp.rows
    inprov = inp.sites["in_province"].to_numpy()
    ent = rows[(~rows["is_dup"].to_numpy()) & inprov[rows["site"].to_numpy()]]
    ed = pd.to_datetime(ent["entered_date"])
    vd = pd.to_datetime(ent["vdate"])
    x = pd.Timestamp(X)
    logs = []
    for h in horizons:
        xp = x - pd.Timedelta(days=h)
        past = ent[(ed.isna() | (ed <= xp)).to_numpy()].assign(in_scope=True)
        ld = lag_data(SimpleNamespace(rows=past, sites=inp.sites, tallies=inp.tallies.iloc[:0],
                                      extract_date=xp.date()))
        ages = [a for a in range(young) if a < ld.recent.shape[1]]
        if not ages:
            continue
        pred = np.mean([_due_within(ld, ages, h, st) for st in STRETCHES])  # the point's model average
        age = (xp - vd).dt.days.to_numpy()
        obs = int(((age >= 0) & (age < young) & (ed > xp) & (ed <= x)).to_numpy().sum())
        if pred > 0 and obs > 0:
            logs.append(np.log(obs / pred))
    return float(np.sqrt(np.mean(np.square(logs)))) if logs else 0.0


def _due_within(ld: LagData, ages: list, h: int, stretch: tuple) -> float:
    """Entries the cohorts aged ``ages`` are expected to add within h days, under one stretch."""
    F = cohort_cdfs(ld, ages, stretch)
    D = F.shape[1] - 1
    return sum(ld.recent[:, a].sum() * (F[i, min(a + h, D)] - F[i, min(a, D)]) / F[i, min(a, D)]
               for i, a in enumerate(ages) if F[i, min(a, D)] > 0)
