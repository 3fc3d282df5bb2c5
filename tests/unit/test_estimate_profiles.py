"""The second-profile prior of the link redraw (estimate/profiles.py) and the namesake branch of
an unlinked row's flip (intervals.flip_deltas): hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from vaxstudy.estimate import flips as fl
from vaxstudy.estimate import intervals as iv
from vaxstudy.estimate.profiles import ProfilePrior, adjusted_probabilities, odds_scaled, profile_prior

NAN = float("nan")


def _rows(spec):
    """(subject, person_key, person_id or None, q, cand_person_id, cand_q, cand_any) per row, in
    entry order; codes as the estimate's (person_key = person_id for a linked row)."""
    df = pd.DataFrame(spec, columns=["subject_id", "person_key", "person_id", "q", "cand_person_id",
                                     "cand_q", "cand_any"])
    df["row"] = np.arange(len(df))
    df["site"] = 0
    for c in ("person_id", "q", "cand_person_id", "cand_q", "cand_any"):
        df[c] = df[c].astype(float)
    return df


def test_odds_scaled():
    assert odds_scaled(np.array([0.5]), 0.1)[0] == pytest.approx(0.1 / 1.1)
    assert odds_scaled(np.array([0.999]), 0.01)[0] == pytest.approx(9.99 / 10.99)
    np.testing.assert_array_equal(odds_scaled(np.array([0.0, 1.0]), 0.01), [0.0, 1.0])


def test_prior_is_the_odds_of_a_second_profile_against_the_share_profiled():
    # 10 linked profiles of 9 persons (person 1 has two), 20 register entries; one unlinked
    spec = [(s, s if s > 1 else 1, s if s > 1 else 1, 0.99, None, None, None) for s in range(0, 10)]
    spec[0] = (0, 1, 1, 0.99, None, None, None)
    spec.append((50, 100, None, None, 3, 0.2, 0.3))
    pr = profile_prior(_rows(spec), 20, np.arange(5))
    d, f = 1.5 / 11, 9 / 20
    assert pr.dup_share == pytest.approx(d)
    assert pr.profiled_share == pytest.approx(f)
    assert pr.factor == pytest.approx((d / (1 - d)) / (f / (1 - f)))
    # never raised above the model's own odds
    assert profile_prior(_rows(spec), 10_000, np.arange(5)).factor == 1.0


def test_the_less_certain_profile_and_a_taken_candidate_are_scaled():
    spec = [
        (0, 1, 1, 0.999, None, None, None),  # person 1's most certain profile: kept
        (1, 1, 1, 0.9, None, None, None),  # its second profile: scaled
        (1, 1, 1, 0.9, None, None, None),
        (2, 2, 2, 0.95, None, None, None),  # person 2: one profile, kept
        (3, 100, None, None, 2, 0.3, 0.6),  # unlinked, best candidate 2 has a profile: scaled
        (4, 101, None, None, 7, 0.3, NAN),  # unlinked, candidate 7 has none: kept
    ]
    q, cq, ca = adjusted_probabilities(_rows(spec), ProfilePrior(0.1, NAN, NAN, 4))
    np.testing.assert_allclose(q[:4], [0.999, 0.9 / 1.9, 0.9 / 1.9, 0.95])  # odds 9 x 0.1 = 0.9
    new = 0.1 * 0.3 / (0.1 * 0.3 + 0.7)
    assert cq[4] == pytest.approx(new)
    assert ca[4] == pytest.approx(0.6 - 0.3 + new)  # the namesakes' share is unchanged
    assert cq[5] == 0.3 and np.isnan(ca[5])
    q1, cq1, _ = adjusted_probabilities(_rows(spec), ProfilePrior(1.0, NAN, NAN, 4))
    np.testing.assert_array_equal(q1[:4], [0.999, 0.9, 0.9, 0.95])


def test_a_namesake_branch_repeats_no_dose():
    # one unlinked row, flip probability 0.8 of which 0.25 to its best candidate, who holds the
    # same dose already: the duplicate-dose count rises by the best branch only
    flips = pd.DataFrame({"row": [0], "linked": [False], "q": [0.2], "q_any": [0.8]})
    contrib = pd.DataFrame({"u": [0, 0], "kind": ["dup", "unl"], "site": [0, 0], "cell": [-1, -1],
                            "value": [1.0, -1.0], "part": [fl.PART_BEST, fl.PART_ANY]})
    lf = fl.LinkFlips(flips=flips, contrib=contrib)
    sub, F, F_best, _ = iv.expected_flips(lf)
    rec, _ = iv.flip_deltas(sub, F, 1, 1, F_best)
    assert rec["dup"][0, 0] == pytest.approx(0.2)
    assert rec["unl"][0, 0] == pytest.approx(-0.8)
    # drawn: the row flips, to a namesake (not its best candidate)
    rec, _ = iv.flip_deltas(lf, np.array([[True]]), 1, 1, np.array([[False]]))
    assert rec["dup"][0, 0] == 0.0 and rec["unl"][0, 0] == -1.0
    sd, lo, hi = iv.redraw_spread(lf, "dup", np.ones((1, 1)), col="site")
    assert sd[0] == pytest.approx(np.sqrt(0.2 * 0.8))


def test_linked_profiles_from_a_subject_table_already_made():
    """The estimate's own subject table (every row in scope) serves as the profiles' table: the
    same profiles as the table made here, and the given table is the one read."""
    from vaxstudy.estimate.profiles import linked_profiles
    from vaxstudy.estimate.rates import subject_table

    rows = _rows([(0, 1, 1, 0.99, None, None, None), (1, 1, 1, 0.9, None, None, None),
                  (2, 100, None, None, 1, 0.3, 0.4), (0, 1, 1, 0.99, None, None, None)])
    own = linked_profiles(rows)
    pd.testing.assert_frame_equal(linked_profiles(rows, subject_table(rows)), own)
    assert own["subject_id"].tolist() == [0, 1] and own["is_dup_subject"].tolist() == [False, True]
    given = subject_table(rows.iloc[[0, 2]])  # another table: only its profiles come back
    assert linked_profiles(rows, given)["subject_id"].tolist() == [0]
