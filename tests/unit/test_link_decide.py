"""Best candidate, prior fixed point and threshold choice (vaxstudy.link.decide)."""

from __future__ import annotations

import math

import duckdb
import pytest

from vaxstudy.link import decide


def _con_with_pairs(rows):
    con = duckdb.connect()
    con.execute("CREATE TABLE link_pairs (ident VARCHAR, person_id VARCHAR, bf DOUBLE)")
    con.executemany("INSERT INTO link_pairs VALUES (?, ?, ?)", rows)
    return con


def test_best_candidate_is_highest_bf_with_deterministic_ties():
    con = _con_with_pairs([("a", "p2", 10.0), ("a", "p1", 10.0), ("a", "p3", 3.0), ("b", "p9", -2.0)])
    decide.best_candidates(con)
    best = dict((r[0], r[1:]) for r in con.execute(
        "SELECT ident, person_id, bf, second_bf, n_candidates FROM link_best").fetchall())
    assert best["a"] == ("p1", 10.0, 10.0, 3)  # tie broken by person_id
    assert best["b"] == ("p9", -2.0, None, 1)


def test_prob_sql_matches_bayes_rule():
    con = duckdb.connect()
    lam = 1e-4
    bf = 15.0
    p = con.execute(f"SELECT {decide.prob_sql(str(bf), lam)}").fetchall()[0][0]
    odds = 2**bf * lam / (1 - lam)
    assert p == pytest.approx(odds / (1 + odds), rel=1e-12)


def test_refine_prior_recovers_share_of_matches():
    # 1000 identities against 10_000 register persons; 900 have a decisive
    # best candidate (bf 40), 100 only a poor one (bf 0): lam -> 900 / 1e7.
    rows = [(f"i{i}", f"p{i}", 40.0) for i in range(900)] + [(f"j{i}", f"q{i}", 0.0) for i in range(100)]
    con = _con_with_pairs(rows)
    decide.best_candidates(con)
    lam, hist = decide.refine_prior(con, 1e-4, n_reg=10_000, n_vax=1_000)
    assert lam == pytest.approx(900 / 1e7, rel=1e-3)
    assert len(hist) >= 2


def test_threshold_curve_and_choice():
    con = duckdb.connect()
    # model probabilities 0.999 (x90), 0.6 (x5), 0.2 (x5): every weight 1
    lam = 0.5  # log2 odds 0, so bf is the log2 odds of p
    rows = [(math.log2(p / (1 - p)), 1) for p in [0.999] * 90 + [0.6] * 5 + [0.2] * 5]
    con.execute("CREATE TABLE b (bf DOUBLE, n_rows INTEGER)")
    con.executemany("INSERT INTO b VALUES (?, ?)", rows)
    curve = decide.threshold_curve(con, "b", lam)
    at = {r["threshold"]: r for r in curve}
    tp = 90 * 0.999 + 5 * 0.6
    assert at[0.5]["est_precision"] == pytest.approx(tp / 95)
    assert at[0.5]["est_recall"] == pytest.approx(tp / (tp + 5 * 0.2))
    choice = decide.choose_threshold(curve)
    best_f1 = max(r["est_f1"] for r in curve)
    assert choice["est_f1"] == pytest.approx(best_f1)
    assert "truth is never used" in choice["rule"]


def test_exclusive_probability_splits_between_equal_candidates():
    # two candidates with the same Bayes factor: neither can be more than half
    rows = [("a", "p1", 30.0), ("a", "p2", 30.0), ("b", "p3", 30.0)]
    con = _con_with_pairs(rows)
    decide.best_candidates(con)
    pi, n_reg = 0.9, 1_000_000
    p = dict(con.execute(
        f"SELECT ident, {decide.exclusive_prob_sql(pi, n_reg)} FROM link_best").fetchall())
    lam = pi / n_reg
    b = 2.0**30
    assert p["b"] == pytest.approx(lam * b / ((1 - pi) + lam * b))
    assert p["a"] == pytest.approx(lam * b / ((1 - pi) + 2 * lam * b))
    assert p["a"] < 0.5 < p["b"]


def test_refine_pi_recovers_share_with_a_register_person():
    # 950 identities with a decisive candidate, 50 with none worth the name
    rows = [(f"i{i}", f"p{i}", 60.0) for i in range(950)] + [(f"j{i}", f"q{i}", -30.0) for i in range(50)]
    con = _con_with_pairs(rows)
    decide.best_candidates(con)
    pi, _ = decide.refine_pi(con, 0.5, n_reg=100_000, n_vax=1_000)
    assert pi == pytest.approx(0.95, abs=1e-3)


def test_subject_rescue_links_an_identity_only_when_its_profile_points_at_one_person():
    """Profile S1: a linked to p1, b unlinked -> b rescued to p1. S2: c -> p1, d -> p2, e unlinked
    -> no rescue (two persons). S3: nothing linked. S4: everything linked (nothing to rescue)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE link_rows (ident VARCHAR, subject_id VARCHAR)")
    con.executemany("INSERT INTO link_rows VALUES (?, ?)", [
        ("a", "S1"), ("a", "S1"), ("b", "S1"), ("c", "S2"), ("d", "S2"), ("e", "S2"),
        ("f", "S3"), ("g", "S3"), ("h", "S4"), ("i", "S4"), ("j", None), ("k", None)])
    con.execute("CREATE TABLE ident_link (ident VARCHAR, person_id VARCHAR, match_probability DOUBLE)")
    con.executemany("INSERT INTO ident_link VALUES (?, ?, ?)", [
        ("a", "p1", 0.9), ("c", "p1", 0.8), ("d", "p2", 0.95), ("h", "p3", 0.99), ("i", "p3", 0.97), ("j", "p4", 0.9)])
    assert decide.subject_rescue(con) == 1
    assert con.execute("SELECT * FROM ident_rescue").fetchall() == [("b", "p1", 0.9)]
    assert con.execute("SELECT person_id FROM ident_link WHERE ident = 'b'").fetchall() == [("p1",)]


def test_the_runner_up_shares_the_identitys_probability_as_the_best_does():
    """best_candidates keeps the runner-up; runner_up_prob_sql gives it the exclusive model's
    probability, lam B2 / ((1 - pi) + lam S), the same denominator as the best candidate's."""
    rows = [("a", "p1", 20.0), ("a", "p2", 18.0), ("a", "p3", 5.0), ("b", "p9", 20.0)]
    con = _con_with_pairs(rows)
    decide.best_candidates(con)
    pi, n_reg = 0.9, 1_000_000
    p = decide.exclusive_prob_sql(pi, n_reg)
    got = {r[0]: r[1:] for r in con.execute(
        f"SELECT ident, second_person_id, {decide.runner_up_prob_sql(p)} FROM link_best").fetchall()}
    lam = pi / n_reg
    s = 2.0**20 + 2.0**18 + 2.0**5
    assert got["a"][0] == "p2"
    assert got["a"][1] == pytest.approx(lam * 2.0**18 / ((1 - pi) + lam * s), rel=1e-12)
    assert got["b"] == (None, None)  # no runner-up
