"""The late-entry nowcast on hand-made lags: a known lag distribution, right-truncated."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vaxstudy.estimate import nowcast as nc
from vaxstudy.estimate import nowcast_backtest as nbt

X = pd.Timestamp("2021-10-31")


@pytest.fixture(autouse=True)
def _lag_model_alone(monkeypatch):
    """These cases test the lag model; the tallies' second estimate of the youngest cohorts is
    tested in test_nowcast_tally.py."""
    monkeypatch.setattr(nc.ntally, "tally_days", lambda *a, **k: None)
P = (0.5, 0.3, 0.2)  # P(lag = 0, 1, 2 days) of the doses that are entered


def _inputs(n_days=30, per_day=100, extract=X, window=nc.DEFAULT_WINDOW):
    """One site; every day ``per_day`` doses entered with lags P exactly, as the export of
    ``extract`` holds them (lags beyond the extract date not yet in)."""
    rows = []
    for k in range(n_days):
        day = X - pd.Timedelta(days=k)
        for lag, p in enumerate(P):
            if day + pd.Timedelta(days=lag) <= extract:
                rows += [(day, day + pd.Timedelta(days=lag))] * int(round(per_day * p))
    r = pd.DataFrame(rows, columns=["vdate", "entered_date"])
    r["site"], r["is_dup"], r["in_scope"] = 0, False, True
    days = pd.date_range(X - pd.Timedelta(days=n_days - 1), X)
    tal = pd.DataFrame({"site": 0, "vdate": days, "doses": per_day, "in_scope": True})
    sites = pd.DataFrame({"site_id": ["A"], "in_province": [True]})
    return SimpleNamespace(rows=r, sites=sites, tallies=tal, extract_date=extract.date())


def test_reverse_hazard_recovers_a_truncated_lag_distribution():
    ld = nc.lag_data(_inputs())
    F = nc.lag_cdf(ld.num.sum(0), ld.den.sum(0))
    assert np.allclose(F, np.cumsum(P))  # 0.5, 0.8, 1.0
    assert np.allclose(nc.cohort_cdf(ld, 0), np.cumsum(P))  # the last cohort's own (volume-model) F
    s = nc.lag_summary(ld)
    assert (s["F_0d"], s["F_1d"], s["F_3d"], s["cohort_age_days"]) == (0.5, 0.8, 1.0, 0)
    # the naive CDF of the lags in the export (truncation ignored) is biased towards short lags
    r = _inputs().rows
    lag = (r["entered_date"] - r["vdate"]).dt.days
    assert (lag == 0).mean() > 0.5 + 0.005


def test_expected_late_entries_of_the_last_days():
    ld = nc.lag_data(_inputs())
    late = nc.expected_late(ld, np.ones((1, 1)))
    # day X: 50 in, 50 to come; day X-1: 80 in, 20 to come; older days complete
    assert late[0, 0] == pytest.approx(70.0)


def test_a_later_extract_leaves_fewer_late_entries():
    """Same doses, export taken a day after the last dose: only the day-2 lags are still out."""
    ld = nc.lag_data(_inputs(extract=X + pd.Timedelta(days=1)))
    assert nc.expected_late(ld, np.ones((1, 1)))[0, 0] == pytest.approx(20.0)
    ld = nc.lag_data(_inputs(extract=X + pd.Timedelta(days=2)))
    assert nc.expected_late(ld, np.ones((1, 1)))[0, 0] == pytest.approx(0.0)


def _backlog(short_per_day=None):
    """Until 30 days ago 100 doses a day, all typed the same day; since then 300 a day with
    lags P (150 + 60 entries still to come on the last two days)."""
    inp = _inputs(n_days=30, per_day=300)
    old_days = pd.date_range(X - pd.Timedelta(days=90), X - pd.Timedelta(days=30))
    old = pd.DataFrame({"vdate": np.repeat(old_days, 100)})
    old["entered_date"], old["site"], old["is_dup"], old["in_scope"] = old["vdate"], 0, False, True
    inp.rows = pd.concat([inp.rows, old], ignore_index=True)
    inp.tallies = pd.concat([inp.tallies, pd.DataFrame(
        {"site": 0, "vdate": old_days, "doses": 100, "in_scope": True})], ignore_index=True)
    return inp


def test_the_recent_days_get_their_own_lags():
    """The short lags' trend over the cohorts' dates gives the last month its own (longer)
    lags: about 150 + 60 entries still to come, where a lag distribution pooled over the
    older cohorts too says far fewer. Nothing about volume is used: the same estimate with
    the old days' tallies raised to the recent volume (a volume model would see no change
    in load and give the pooled lags)."""
    inp = _backlog()
    inp.tallies["doses"] = inp.tallies["doses"] * 4 // 3  # a quarter never entered: no cap
    ld = nc.lag_data(inp)
    late = nc.expected_late(ld, np.ones((1, 1)))[0, 0]
    assert late == pytest.approx(210, rel=0.05)
    F_pooled = nc.lag_cdf(ld.num.sum(0), ld.den.sum(0))
    pooled_late = 150 * (1 - F_pooled[0]) / F_pooled[0] + 240 * (1 - F_pooled[1]) / F_pooled[1]
    assert pooled_late < 0.8 * late
    inp.tallies.loc[inp.tallies["vdate"] <= X - pd.Timedelta(days=30), "doses"] = 400
    assert nc.expected_late(nc.lag_data(inp), np.ones((1, 1)))[0, 0] == pytest.approx(late)


def test_late_entries_never_exceed_the_doses_not_entered():
    """Tallies of 260 on the last two days: 110 + 20 doses lack, so at most 130 can still come
    (the lag model alone says ~210); a day with more entries than its tally (an undercount)
    does not lower that bound."""
    inp = _backlog()
    inp.tallies.loc[inp.tallies["vdate"] == X - pd.Timedelta(days=10), "doses"] = 100
    last2 = inp.tallies["vdate"] >= X - pd.Timedelta(days=1)
    inp.tallies.loc[last2, "doses"] = 260
    ld = nc.lag_data(inp)
    assert nc.expected_late(ld, np.ones((1, 1)))[0, 0] == pytest.approx(130.0)
    draws = nc.expected_late(ld, np.ones((200, 1)), np.random.default_rng(0))
    assert draws.max() <= 130.0 + 1e-9


def test_the_same_sites_vary_only_by_the_count_still_to_come():
    """The trend's parameter uncertainty comes from re-fitting it on redrawn sites; with the
    sites held (one site, weight 1) a replicate varies only by the Poisson count of the late
    entries, centred on the point. Drawing the trend from its posterior as well counted the
    parameter uncertainty twice (variance 1.5x the count's here; intervals 2-4x too wide)."""
    inp = _inputs(n_days=60, per_day=20)
    inp.tallies["doses"] = 40  # half never entered: the cap does not bind
    ld = nc.lag_data(inp)
    pt = nc.expected_late(ld, np.ones((1, 1)))[0, 0]
    draws = nc.expected_late(ld, np.ones((4000, 1)), np.random.default_rng(3))[:, 0]
    assert nc.expected_late(ld, np.ones((3, 1)))[:, 0] == pytest.approx([pt] * 3)  # no rng: fixed
    assert draws.mean() == pytest.approx(pt, rel=0.03)
    assert 0.9 <= draws.var() / pt <= 1.1


def test_bootstrap_weights_reestimate_the_distribution():
    """Two sites with different lags: weighting one of them twice moves F towards its lags."""
    a, b = _inputs(), _inputs()
    b.rows = b.rows.assign(entered_date=b.rows["vdate"], site=1)  # site 1 types everything the same day
    inp = SimpleNamespace(rows=pd.concat([a.rows, b.rows], ignore_index=True),
                          sites=pd.DataFrame({"site_id": ["A", "B"], "in_province": [True, True]}),
                          tallies=a.tallies, extract_date=a.extract_date)
    ld = nc.lag_data(inp)
    late = nc.expected_late(ld, np.array([[1.0, 1.0], [2.0, 1.0], [0.0, 1.0]]))
    assert late[1, 0] > late[0, 0] > late[2, 0] == pytest.approx(0.0, abs=1e-5)


def test_no_extract_date_no_late_entries():
    inp = _inputs()
    inp.extract_date = None
    assert nc.expected_late(nc.lag_data(inp), np.ones((1, 1)))[0, 0] == 0.0


def test_a_replicate_draws_the_realised_count_still_to_come():
    """The truth is the number of doses still to come, a count around its expectation: with
    ``rng`` the replicates are whole numbers spread at least like a Poisson count (without
    the count's noise a district with few late entries held its truth in 71% of runs)."""
    inp = _inputs(n_days=60, per_day=2000)
    inp.tallies["doses"] = 4000
    ld = nc.lag_data(inp)
    pt = nc.expected_late(ld, np.ones((1, 1)))[0, 0]
    draws = nc.expected_late(ld, np.ones((2000, 1)), np.random.default_rng(5))[:, 0]
    assert np.allclose(draws, np.round(draws))
    assert draws.var() >= 0.9 * pt


def _stretched(n_days=60, per_day=1000, young=14, old_rate=1.2, new_rate=0.6, D=6):
    """One site; lags 0..D-1 with shares proportional to exp(-rate * d): ``old_rate`` for the
    cohorts older than ``young`` days, ``new_rate`` (longer lags: a backlog) for the young
    ones. Returns the export at X and the true number of entries still to come."""
    def shares(rate):
        w = np.exp(-rate * np.arange(D))
        return w / w.sum()
    rows, still = [], 0.0
    for k in range(n_days):
        day = X - pd.Timedelta(days=k)
        p = shares(new_rate if k < young else old_rate)
        for lag, q in enumerate(p):
            m = int(round(per_day * q))
            if lag <= k:
                rows += [(day, day + pd.Timedelta(days=lag))] * m
            else:
                still += m
    r = pd.DataFrame(rows, columns=["vdate", "entered_date"])
    r["site"], r["is_dup"], r["in_scope"] = 0, False, True
    days = pd.date_range(X - pd.Timedelta(days=n_days - 1), X)
    tal = pd.DataFrame({"site": 0, "vdate": days, "doses": 2 * per_day, "in_scope": True})
    sites = pd.DataFrame({"site_id": ["A"], "in_province": [True]})
    return SimpleNamespace(rows=r, sites=sites, tallies=tal, extract_date=X.date()), still


def test_a_recent_backlog_reaches_the_longer_lags_of_the_young_cohorts():
    """The lags of the last two weeks' doses are stretched. A cohort 4 days old shows its
    lags 0-4 only; its lag 5 is still to come. The shared lag shape, stretched week by week
    from what each week's cohorts show of their short lags, carries the stretch to the lags
    not yet seen (truth within 3%); a lag's hazard learned only from cohorts old enough to
    show it (the older weeks' shape, pooled) misses most of it."""
    inp, still = _stretched()
    ld = nc.lag_data(inp)
    late = nc.expected_late(ld, np.ones((1, 1)))[0, 0]
    assert late == pytest.approx(still, rel=0.03)
    F_pooled = nc.lag_cdf(ld.num.sum(0), ld.den.sum(0))
    pooled = (ld.recent[0] * (1 - F_pooled[:-1]) / F_pooled[:-1]).sum()
    assert pooled < 0.85 * still
    # no change of the lags: the same estimate as the plain reverse hazard
    inp, still = _stretched(young=0)
    assert nc.expected_late(nc.lag_data(inp), np.ones((1, 1)))[0, 0] == pytest.approx(still, rel=0.01)


def test_the_point_and_interval_carry_how_far_the_stretch_reaches(monkeypatch):
    """A backlog that stretches all 12 lags, not only the first week's: the fit with the tilt
    up to lag 7 alone is ~5% short of the 5,050 entries still to come, and its interval misses
    them (the second week's shortfall of the held-out sets). Averaged over the reaches of
    STRETCHES the point comes closer, and the replicates taking the reaches in turn hold them."""
    from vaxstudy.estimate.ci import centred_ci

    # lags 0-11, shares exp(-0.5 d) for cohorts older than 14 days, exp(-0.3 d) for the young
    inp, still = _stretched(per_day=2000, D=12, old_rate=0.5, new_rate=0.3)
    ld = nc.lag_data(inp)
    one = float(ld.recent[0] @ nc.late_factor(ld, np.ones((1, 1)), nc.STRETCHES[0])[0])
    pt = nc.expected_late(ld, np.ones((1, 1)))[0, 0]
    assert 0.93 * still < one < 0.96 * still < pt < still
    reps = nc.expected_late(ld, np.ones((150, 1)), np.random.default_rng(3))[:, 0]
    lo, hi = centred_ci(pt, reps)
    assert lo < pt < hi and lo <= still <= hi
    monkeypatch.setattr(nc, "STRETCHES", nc.STRETCHES[:1])
    reps = nc.expected_late(ld, np.ones((150, 1)), np.random.default_rng(3))[:, 0]
    assert nc.expected_late(ld, np.ones((1, 1)))[0, 0] == pytest.approx(one)
    assert centred_ci(one, reps)[1] < still


def test_the_backtest_measures_the_nowcasts_own_recent_misses():
    """The nowcast re-run 3, 5 and 7 days before the extract predicts the entries its young
    cohorts then still owed; the export shows how many came. Lags that never change: it is exact
    (error 0). A backlog that began 5 to 10 days before the extract stretched the lags of cohorts
    the earlier runs took for ordinary: they under-predicted, by ~50-70% (log scale), far beyond
    the noise of these large counts, so nearly all of it is model error. One that began two weeks
    before is learned by then (the weekly tilt), and a change of the last 3 days only is not in
    the past it can see (error 0): that case stays uncovered."""
    b = nbt.backtest(_inputs(n_days=40))
    assert b.error < 1e-6 and b.model_error == 0.0
    for young in (5, 7, 10):
        b = nbt.backtest(_stretched(young=young)[0])
        assert 0.4 < b.error < 0.8
        assert b.error * 0.98 < b.model_error <= b.error
    assert nbt.backtest(_stretched(young=14)[0]).model_error < 0.01
    inp, _ = _stretched(young=3)
    assert nbt.backtest(inp).error < 1e-6
    inp.extract_date = None
    assert nbt.backtest(inp) == nbt.Backtest()


def test_the_backtests_own_noise_is_not_counted_as_model_error():
    """Ten small sites whose lags never change: each day's entries are a random draw from the same
    lag shares, so the back-tests miss by their counts' and the fit's noise alone. That noise is
    what the bootstrap already draws; the model error is what the misses leave beyond it. Over 20
    such provinces the back-test's error averages ~0.15 (log scale) and the model error ~0.05 (not
    0: the root of a positive part); counting the whole error as the model's drew every miss twice."""
    rng = np.random.default_rng(5)
    errs, models = [], []
    for _ in range(20):
        site, k, lag = [], [], []
        for s in range(10):
            for d in range(40):
                n = rng.poisson(10)
                site += [s] * n
                k += [d] * n
                lag += list(rng.choice(len(P), size=n, p=P))
        k, lag = np.array(k), np.array(lag)
        day = X - pd.to_timedelta(k, unit="D")
        seen = lag <= k
        inp = _inputs(n_days=40)
        inp.rows = pd.DataFrame({"vdate": day[seen], "entered_date": (day + pd.to_timedelta(lag, unit="D"))[seen],
                                 "site": np.array(site)[seen], "is_dup": False, "in_scope": True})
        inp.sites = pd.DataFrame({"site_id": [f"S{j}" for j in range(10)], "in_province": True})
        b = nbt.backtest(inp)
        errs.append(b.error)
        models.append(b.model_error)
    assert 0.08 < np.mean(errs) < 0.25
    assert np.mean(models) < 0.5 * np.mean(errs)


def _two_sites(per_day_tally=(100, 200)):
    """Two sites with the same lags P and the same doses entered every day; site 1 tallies twice
    what it enters (half its doses never entered), so its late entries per tallied dose are half
    site 0's."""
    a, b = _inputs(), _inputs()
    b.rows = b.rows.assign(site=1)
    tb = b.tallies.assign(site=1, doses=per_day_tally[1])
    return SimpleNamespace(rows=pd.concat([a.rows, b.rows], ignore_index=True),
                           sites=pd.DataFrame({"site_id": ["A", "B"], "in_province": [True, True]}),
                           tallies=pd.concat([a.tallies.assign(doses=per_day_tally[0]), tb], ignore_index=True),
                           extract_date=a.extract_date)


def test_a_replicate_predicts_these_sites_late_entries_not_another_draw_of_sites():
    """The site redraw re-fits the lag model; the late entries still to come are those of the
    province's own sites, each once. Both sites have the same lags, so a replicate fitted on site 0
    twice (site 1 left out) predicts the same late entries, 70 at each site, and the same rate,
    140 / 9,000 tallied. Before, the replicate also weighted the sites' late entries and tallies:
    70 x 2 / (3,000 x 2), twice the province's rate (another province, not this one's figure)."""
    from vaxstudy.estimate.metrics import Estimator
    from vaxstudy.estimate.rates import RECORD_QUANTITIES

    inp = _two_sites()
    est = Estimator.__new__(Estimator)
    est.S, est.lags, est.cgroups, est.backtest = 2, nc.lag_data(inp), {}, nbt.Backtest()
    est.rgroups = {"province": (["40"], np.ones((2, 1)))}
    est.agg = {k: np.zeros(2) for k in RECORD_QUANTITIES}
    est.agg["tally"] = np.array([3000.0, 6000.0])
    point = est.evaluate(np.ones((1, 2)))["rec:province"]["late_entry_rate"][0, 0]
    rep = est.evaluate(np.ones((1, 2)), W_fit=np.array([[2.0, 0.0]]))["rec:province"]["late_entry_rate"][0, 0]
    assert point == pytest.approx(140 / 9000)
    assert rep == pytest.approx(point)


def test_the_model_error_is_drawn_on_the_late_entries_the_backtest_measures():
    """The back-test measures the nowcast's miss on what its cohorts aged 0-6 enter within 7 days,
    so at ages up to 13: each replicate draws that model error, one factor of mean 1 on the late
    entries of the cohorts under 14 days old, and the count still to come around it. Every day 50
    doses typed the same day and 50 thirty days later: at the extract the cohorts aged 0-29 owe 50
    each, 700 of them the cohorts under 14 days. With a model error of 0.1 the replicates' sd is
    sqrt(1,500 + (0.1 x 700)^2) ~ 80 (without it, the count's sqrt(1,500) ~ 39; on all 1,500 late
    entries ~ 155), and their mean stays the point's 1,500."""
    rows = []
    for k in range(90):
        day = X - pd.Timedelta(days=k)
        rows += [(day, day)] * 50 + ([(day, day + pd.Timedelta(days=30))] * 50 if k >= 30 else [])
    r = pd.DataFrame(rows, columns=["vdate", "entered_date"]).assign(site=0, is_dup=False, in_scope=True)
    tal = pd.DataFrame({"site": 0, "vdate": pd.date_range(X - pd.Timedelta(days=89), X), "doses": 200,
                        "in_scope": True})  # room beyond the late entries: the cap on them never binds
    ld = nc.lag_data(SimpleNamespace(rows=r, sites=pd.DataFrame({"site_id": ["A"], "in_province": [True]}),
                                     tallies=tal, extract_date=X.date()))
    assert nbt.BACKTEST_REACH == 14
    W = np.ones((600, 1))
    reps = nc.expected_late(ld, W, np.random.default_rng(1), (0.1, nbt.BACKTEST_REACH))[:, 0]
    assert nc.expected_late(ld, np.ones((1, 1)))[0, 0] == pytest.approx(1500.0, rel=0.02)
    assert reps.mean() == pytest.approx(1500.0, rel=0.015)
    assert reps.std() == pytest.approx(np.sqrt(1500 + 70.0**2), rel=0.1)
    plain = nc.expected_late(ld, W, np.random.default_rng(1))[:, 0]
    assert plain.std() == pytest.approx(np.sqrt(1500), rel=0.1)
