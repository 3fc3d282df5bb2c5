"""The tallies' estimate of the youngest cohorts' late entries and its combination with the lag model's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vaxstudy.estimate import nowcast as nc
from vaxstudy.estimate import nowcast_tally as nt

F = np.array([0.5, 0.8] + [1.0] * (nt.HISTORY - 2))  # entered by age a, of the doses that will be
FAC = (1 - F) / F  # the exact lag model: entries still to come per entry in


def _days(S=2, tally=100.0, never=3.0, extra=None):
    """Every site tallies ``tally`` doses a day over HISTORY days, ``never`` of them never entered
    (plus ``extra(age, wday)``), the rest entered with the lags of F."""
    age = np.tile(np.arange(nt.HISTORY), S)
    site = np.repeat(np.arange(S), nt.HISTORY)
    wday = (6 - age) % 7  # the extract date a Sunday
    nev = never + (extra(age, wday) if extra else 0.0)
    e = (tally - nev) * F[age]
    late = (tally - nev) * (1 - F[age])
    td = nt.tally_data(site, age, wday, np.full(len(age), tally), e, age < 31, S)
    recent = np.zeros((S, nt.HISTORY))
    np.add.at(recent, (site, age), e)
    return td, recent, late


def _boot(spread):
    """A stand-in for the lag model's re-fits: its factor scaled by 1 +- spread in turn."""
    return lambda W: FAC[None, :] * (1 + spread * np.where(np.arange(len(W)) % 2, 1.0, -1.0))[:, None]


def test_the_never_entered_share_is_learned_from_the_matured_days():
    td, _, _ = _days()
    p, g, phi, (kappa, wday_var), _ = nt._share(td, np.zeros(len(td.t)), nt.MATURE, np.ones((1, 2)))
    assert np.allclose(p, 0.03) and np.allclose(g, 1.0) and phi == 1.0 and kappa == np.inf and wday_var == 0


def test_the_gap_less_the_share_is_the_late_entries_of_the_young_band():
    td, _, late = _days()
    late_t, nhat, *_ = nt._band_tally(td, nt._remainder(td, FAC), 0, 7, 0, np.ones((1, 2)))
    assert nhat[0] == pytest.approx(2 * 7 * 3.0)
    assert late_t[0] == pytest.approx(late[td.age < 7].sum())  # 2 x 97 x (0.5 + 0.2)


def test_the_combination_leans_on_the_estimate_with_the_smaller_error():
    """A lag model 20% high on the youngest cohort: the tallies pull it back, the more so the more
    its re-fits scatter; the band's total goes to the sites as the lag model spreads it."""
    td, recent, late = _days()
    wrong = FAC.copy()
    wrong[0] *= 1.2
    true_band = late[td.age < 7].sum()
    W = np.ones((1, 2))
    got = {}
    for spread in (0.02, 0.5):
        td.fac, td.weights = None, {}
        off, put = nt.band_parts(td, wrong[None, :], wrong, recent, W, None, _boot(spread))
        w = td.weights[(0, 7)]["w"]
        assert off[0, :].sum() == pytest.approx((recent[:, :7] @ wrong[:7]).sum())
        assert put[0].sum() == pytest.approx((1 - w) * off[0].sum() + w * true_band)
        assert np.allclose(put[0, 0] / put[0].sum(), off[0, 0] / off[0].sum())
        got[spread] = (w, put[0].sum())
    assert got[0.5][0] > 0.95 > got[0.02][0] > 0.0
    assert abs(got[0.5][1] - true_band) < abs(got[0.02][1] - true_band) < off[0].sum() - true_band


def test_a_replicate_carries_both_errors_about_the_point():
    td, recent, _ = _days(S=3)
    W = np.ones((400, 3))
    off, put = nt.band_parts(td, np.repeat(FAC[None, :], 400, 0), FAC, recent, W, np.random.default_rng(1), _boot(0.3))
    point = nt.band_parts(td, FAC[None, :], FAC, recent, np.ones((1, 3)), None, _boot(0.3))[1].sum()
    reps = put.sum(1)
    bw = td.weights[(0, 7)]
    lag_count = (recent[:, :7] @ FAC[:7]).sum()  # Poisson: its variance
    expect = np.sqrt((1 - bw["w"]) ** 2 * lag_count + bw["w"] ** 2 * bw["v_noise"])
    assert reps.mean() == pytest.approx(point, abs=3 * expect / np.sqrt(400))
    assert reps.std() == pytest.approx(expect, rel=0.15)
    # each site keeps its own count's scatter (a district's interval), not only the province's share of it
    assert np.corrcoef(put[:, 0], put[:, 1])[0, 1] < 0.9


def test_a_drifting_share_weighs_the_tallies_less():
    """A never-entered share rising by 2 doses a week: the back-test on older bands shows it."""
    flat, recent, _ = _days()
    drift, recent_d, _ = _days(extra=lambda age, wday: 2.0 * (nt.HISTORY - age) / 7)
    wf = nt.band_weights(flat, FAC, recent, _boot(0.1))[(0, 7)]
    wd = nt.band_weights(drift, FAC, recent_d, _boot(0.1))[(0, 7)]
    assert wf["v_drift"] == 0.0 < wd["v_drift"]
    assert wd["w"] < wf["w"]


def test_the_lag_models_back_tested_error_weighs_it_less():
    """The replicates draw the lag model's back-tested error on the youngest cohorts (a lognormal
    factor of relative sd √(e^{sd²} − 1)): its weight must count that variance too, on every band it
    reaches and no other."""
    fac = FAC + 0.05  # entries still to come at every age, so both bands have late entries
    lag = {}
    for miss in ((0.0, 0), (0.2, 14), (0.2, 7)):
        td, recent, _ = _days()
        lag[miss] = nt.band_weights(td, fac, recent, _boot(0.1), miss)
    for lo, hi in nt.BANDS:
        band = recent[:, lo:hi].sum(0) @ fac[lo:hi]
        added = lag[(0.2, 14)][(lo, hi)]["v_lag"] - lag[(0.0, 0)][(lo, hi)]["v_lag"]
        assert added == pytest.approx(np.expm1(0.04) * band ** 2)
    assert lag[(0.2, 7)][(7, 14)]["v_lag"] == lag[(0.0, 0)][(7, 14)]["v_lag"]  # beyond the ages it reaches
    w = [nt.band_weights(_days()[0], FAC, _days()[1], _boot(0.1), miss)[(0, 7)]["w"] for miss in ((0.0, 0), (0.2, 14))]
    assert 0 < w[0] < w[1] < 1  # the tallies' estimate, unchanged, now weighs more


def test_a_weekday_that_loses_more_doses_is_expected_to_in_the_young_band_too():
    td, _, late = _days(S=4, extra=lambda age, wday: np.where(wday >= 5, 6.0, 0.0))
    p, g, *_ = nt._share(td, np.zeros(len(td.t)), nt.MATURE, np.ones((1, 4)))
    assert g[0, 5] > 1.5 > 1.0 > g[0, 0]
    late_t, *_ = nt._band_tally(td, nt._remainder(td, FAC), 0, 7, 0, np.ones((1, 4)))
    assert late_t[0] == pytest.approx(late[td.age < 7].sum(), rel=0.05)


def test_no_matured_day_no_tally_estimate():
    age = np.arange(nt.MATURE)
    assert nt.tally_data(np.zeros_like(age), age, age % 7, np.full(len(age), 10.0), np.full(len(age), 9.0),
                         np.ones(len(age), bool), 1) is None


def test_the_nowcast_takes_the_tallies_estimate_end_to_end():
    """A site whose tallies hold 4 never-entered doses a day and whose lags are exact: the
    export's own late entries, whatever the weights (both estimates exact)."""
    X = pd.Timestamp("2021-10-31")
    rows = []
    for k in range(60):
        day = X - pd.Timedelta(days=k)
        for lag, n in enumerate((48, 29, 19)):
            if lag <= k:
                rows += [(day, day + pd.Timedelta(days=lag))] * n
    r = pd.DataFrame(rows, columns=["vdate", "entered_date"])
    r["site"], r["is_dup"] = 0, False
    r["in_scope"] = r["vdate"] >= pd.Timestamp("2021-10-01")
    days = pd.date_range(X - pd.Timedelta(days=59), X)
    tal = pd.DataFrame({"site": 0, "vdate": days, "doses": 100, "in_scope": days >= pd.Timestamp("2021-10-01")})
    inp = SimpleNamespace(rows=r, sites=pd.DataFrame({"site_id": ["A"], "in_province": [True]}), tallies=tal,
                          extract_date=X.date())
    ld = nc.lag_data(inp)
    assert ld.tally is not None
    assert nc.expected_late(ld, np.ones((1, 1)))[0, 0] == pytest.approx(29 + 19 + 19, rel=1e-6)
    assert set(ld.tally.weights) == {(0, 7)}  # entries take 2 days at most: no band beyond has late entries
