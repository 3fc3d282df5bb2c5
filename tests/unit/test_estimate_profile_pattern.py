"""The dose pattern as evidence for a second profile's link (estimate/profile_pattern.py and its use
in estimate/profiles.adjusted_probabilities): hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from vaxstudy.estimate import profile_pattern as pp
from vaxstudy.estimate.profiles import ProfilePrior, adjusted_probabilities, odds_scaled

NAN = float("nan")


def _doses(spec):
    """(key, site, dose, day, gid) per linked row of the persons' other profiles."""
    df = pd.DataFrame(spec, columns=["key", "site", "dose", "day", "gid"])
    return df.assign(area=df["site"])


def _probe(spec):
    return pd.DataFrame(spec, columns=["key", "site", "dose", "day", "gid"]).assign(area=lambda d: d["site"])


def test_the_same_dose_again_or_the_next_one_at_the_same_site_is_the_pattern():
    doses = _doses([(1, 5, 1, 100, 10), (2, 5, 2, 130, 20)])
    probe = _probe([
        (1, 5, 1, 101, 11),  # person 1: dose 1 typed again a day later, same site -> yes
        (1, 5, 1, 103, 12),  # three days later: another dose 1, not a retyping -> no
        (1, 5, 2, 130, 13),  # the next dose 30 days later -> yes
        (1, 5, 2, 105, 14),  # the next dose 5 days later: too soon -> no
        (1, 5, 2, 300, 15),  # 200 days later: too late -> no
        (1, 6, 2, 130, 16),  # another site -> no
        (1, 5, 1, 100, 10),  # the same profile as the dose it would match -> no
        (2, 5, 1, 100, 17),  # person 2: dose 1 thirty days before their dose 2 -> yes
        (3, 5, 1, 100, 18),  # person 3 has no other profile -> no
    ])
    np.testing.assert_array_equal(pp.hits(probe, doses), [1, 0, 1, 0, 0, 0, 0, 1, 0])


def test_a_profile_has_the_pattern_when_any_of_its_rows_has_it():
    doses = _doses([(1, 5, 1, 100, 10)])
    probe = _probe([(1, 5, 3, 10, 11), (1, 5, 2, 130, 11), (1, 5, 3, 10, 12)])
    np.testing.assert_array_equal(pp.hits(probe, doses), [1, 1, 0])


def test_the_factor_is_m_over_u_when_present_and_the_complements_when_absent():
    ev = pp.PatternEvidence(0.98, 0.01, pp.MIN_SURE, 100)
    np.testing.assert_allclose(ev.factor(np.array([True, False])), [98.0, 0.02 / 0.99])
    few = pp.PatternEvidence(0.98, 0.01, pp.MIN_SURE - 1, 100)
    np.testing.assert_array_equal(few.factor(np.array([True, False])), [1.0, 1.0])


def test_m_from_the_sure_profiles_and_u_from_random_other_persons_of_the_area():
    n = 40
    # n persons at site 0, each with a first profile (dose 1, day 0) and a sure second profile
    # (dose 1 typed again the same day): all have the pattern with their own person
    doses = _doses([(k, 0, 1, 0, 1000 + k) for k in range(n)])
    probe = _probe([(k, 0, 1, 0, 2000 + k) for k in range(n)])
    h = pp.hits(probe, doses)
    assert h.all()
    ev = pp.pattern_evidence(probe, h, np.ones(n, bool), doses)
    assert ev.n_sure == n
    assert ev.m == pytest.approx((n + 0.5) / (n + 1))
    # another person's dose 1 on the same day at the same site is the pattern too: u is high here
    assert ev.u == pytest.approx((ev.n_probe + 0.5) / (ev.n_probe + 1))
    # spread over 40 different days, another person's dose matches none of them
    doses2 = _doses([(k, 0, 1, 10 * k, 1000 + k) for k in range(n)])
    probe2 = _probe([(k, 0, 1, 10 * k, 2000 + k) for k in range(n)])
    ev2 = pp.pattern_evidence(probe2, pp.hits(probe2, doses2), np.ones(n, bool), doses2)
    assert ev2.n_probe > n // 2
    assert ev2.u == pytest.approx(0.5 / (ev2.n_probe + 1))
    # uncertain profiles do not measure m
    assert pp.pattern_evidence(probe2, pp.hits(probe2, doses2), np.zeros(n, bool), doses2).n_sure == 0


def _rows(n_sure: int):
    """n_sure persons, each at a site of their own, with a first profile (dose 1, day 0) and a sure
    second profile (dose 2 on day 28, same site); person 900 with a first profile and two uncertain second profiles, one
    with the pattern (dose 2 on day 28) and one without (dose 1 on day 200); an unlinked row whose
    best candidate is person 900, with the pattern."""
    spec = []
    for k in range(n_sure):
        spec.append((10 * k, k, k, 0.999999, NAN, NAN, NAN, 1, 0, k))
        spec.append((10 * k + 1, k, k, 0.999999, NAN, NAN, NAN, 2, 28, k))
    spec += [(9000, 900, 900, 0.999999, NAN, NAN, NAN, 1, 0, 999),
             (9001, 900, 900, 0.9, NAN, NAN, NAN, 2, 28, 999),  # the pattern
             (9002, 900, 900, 0.9, NAN, NAN, NAN, 1, 200, 999),  # none
             (9003, 5000, NAN, NAN, 900, 0.3, 0.4, 1, 0, 999)]  # unlinked, the same dose again
    df = pd.DataFrame(spec, columns=["subject_id", "person_key", "person_id", "q", "cand_person_id", "cand_q",
                                     "cand_any", "dose", "day", "site"])
    df["row"] = np.arange(len(df))
    df["vdate"] = pd.Timestamp("2021-07-01") + pd.to_timedelta(df.pop("day"), unit="D")
    return df


def test_the_pattern_moves_second_profiles_both_ways_from_the_prior_alone():
    rows = _rows(pp.MIN_SURE + 10)
    prior = ProfilePrior(0.05, NAN, NAN, 0)
    one_area = np.zeros(len(rows), dtype=np.int64)  # u's random others: anyone else, at another site
    q0, c0, a0 = adjusted_probabilities(rows, prior, pattern=False)
    q1, c1, a1 = adjusted_probabilities(rows, prior, area=one_area)
    i_yes, i_no, i_un = len(rows) - 3, len(rows) - 2, len(rows) - 1
    assert q0[i_yes] == pytest.approx(odds_scaled(np.array([0.9]), 0.05)[0])
    assert q1[i_yes] > q0[i_yes] and q1[i_no] < q0[i_no]
    assert c1[i_un] > c0[i_un]
    assert a1[i_un] - c1[i_un] == pytest.approx(0.4 - 0.3)  # the namesakes' share is unchanged
    assert q1[i_yes] > 0.9  # m / u (~ 80) outweighs the prior's 1 / 20
    # each person's first profile is not moved; the sure second profiles, with the pattern, stay sure
    first = np.r_[np.arange(0, len(rows) - 4, 2), len(rows) - 4]
    np.testing.assert_array_equal(q1[first], rows["q"].to_numpy()[first])
    assert (q1[1: len(rows) - 4: 2] > 0.99999).all()


def test_too_few_sure_second_profiles_leave_the_prior_alone():
    rows = _rows(pp.MIN_SURE - 5)
    prior = ProfilePrior(0.05, NAN, NAN, 0)
    one_area = np.zeros(len(rows), dtype=np.int64)
    for a, b in zip(adjusted_probabilities(rows, prior, area=one_area),
                    adjusted_probabilities(rows, prior, pattern=False)):
        np.testing.assert_array_equal(a, b)


EV = pp.PatternEvidence(0.99, 0.005, 100, 100)


def test_the_unlinked_rows_prior_is_fitted_to_their_pattern_not_to_the_links_model():
    # 8 of 40 unlinked rows have the pattern with their profiled candidate, all with a low model
    # probability; the 32 without it have a higher one: the model does not rank them
    cq = np.r_[np.full(8, 0.01), np.full(32, 0.4)]
    hit = np.r_[np.ones(8, bool), np.zeros(32, bool)]
    prior = pp.taken_prior(cq, hit, EV)
    np.testing.assert_allclose(prior, prior[0])  # b = 0: the model's probability carries nothing here
    post = odds_scaled(prior, EV.factor(hit))
    assert post[:8].sum() > 7.5 and post[8:].sum() < 0.5  # about the 8 with the pattern
    assert odds_scaled(cq[:8], 0.05 * EV.factor(hit[:8])).sum() < 1.0  # what r (1/20) and the factor gave
    # where the model ranks them (pattern rows high), its probability keeps a say
    ranked = pp.taken_prior(np.r_[np.full(8, 0.4), np.full(32, 0.001)], hit, EV)
    assert ranked[0] > ranked[-1]
    assert pp.taken_prior(cq[: pp.MIN_TAKEN - 1], hit[: pp.MIN_TAKEN - 1], EV) is None
    assert pp.taken_prior(cq, hit, pp.PatternEvidence(0.99, 0.005, pp.MIN_SURE - 1, 100)) is None


def test_unlinked_rows_with_a_profiled_candidate_get_the_fitted_prior_in_adjusted_probabilities():
    n = pp.MIN_SURE + 10
    rows = _rows(n).iloc[: 2 * n]  # the sure persons 0..n-1, each at site k with dose 1 on day 0
    extra = [(20000 + j, 30000 + j, NAN, NAN, j, 0.01 if j < 8 else 0.4, NAN, 1, 0 if j < 8 else 60, j)
             for j in range(n)]  # the first 8: dose 1 again on day 0 at the candidate's site
    ex = pd.DataFrame(extra, columns=["subject_id", "person_key", "person_id", "q", "cand_person_id", "cand_q",
                                      "cand_any", "dose", "day", "site"])
    ex["vdate"] = pd.Timestamp("2021-07-01") + pd.to_timedelta(ex.pop("day"), unit="D")
    rows = pd.concat([rows, ex], ignore_index=True).assign(row=lambda d: np.arange(len(d)))
    prior = ProfilePrior(0.05, NAN, NAN, 0)
    one_area = np.zeros(len(rows), dtype=np.int64)
    _, c1, _ = adjusted_probabilities(rows, prior, area=one_area)
    un = np.arange(2 * n, len(rows))
    assert c1[un[:8]].min() > 0.9  # r and the factor alone: about 0.1 each
    assert c1[un[8:]].max() < 0.05
