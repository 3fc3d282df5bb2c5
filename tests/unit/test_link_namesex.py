"""The name parts' sex dependence taken out of the Bayes factors (vaxstudy.link.namesex)."""

from __future__ import annotations

import math

import duckdb
import pytest

from vaxstudy.link import namesex


def _con():
    """A register of 8 persons, 4 women and 4 men: "thi" and "hoa" are women's names only,
    "an" is given to 2 women and 2 men; 3 registry rows; 5 scored pairs, bf 20 each."""
    con = duckdb.connect()
    con.execute("CREATE TABLE link_reg (unique_id VARCHAR, sex VARCHAR, middle_name_ascii VARCHAR, "
                "given_name_ascii VARCHAR)")
    con.executemany("INSERT INTO link_reg VALUES (?, ?, ?, ?)", [
        ("w1", "F", "thi", "hoa"), ("w2", "F", "thi", "hoa"), ("w3", "F", "thi", "an"), ("w4", "F", "thi", "an"),
        ("m1", "M", "van", "an"), ("m2", "M", "van", "an"), ("m3", "M", "van", "hung"), ("m4", "M", "van", "hung"),
    ])
    con.execute("CREATE TABLE link_vax AS SELECT * FROM link_reg LIMIT 0")
    con.executemany("INSERT INTO link_vax VALUES (?, ?, ?, ?)", [
        ("v1", "F", "thi", "hoa"),   # a namesake of w1: both parts women's names
        ("v2", "M", "van", "an"),    # "an" is given to both sexes: only "van" counts
        ("v3", None, "thi", "hoa"),  # sex unknown: no correction
    ])
    con.execute("CREATE TABLE link_pairs (ident VARCHAR, person_id VARCHAR, bf DOUBLE)")
    con.executemany("INSERT INTO link_pairs VALUES (?, ?, 20.0)",
                    [("v1", "w1"), ("v1", "w3"), ("v1", "m1"), ("v2", "m1"), ("v3", "w1")])
    return con


def test_agreeing_sex_specific_names_lose_their_double_count():
    con = _con()
    out = namesex.correct_pairs(con)
    bf = {(r[0], r[1]): r[2] for r in con.execute("SELECT * FROM link_pairs").fetchall()}
    # f(v | F) / f(v) with one pseudo-person split 1/2-1/2: thi (4 + .5) / (4 + 1) / .5 = 1.8, hoa (2.5 / 3) / .5
    thi, hoa = math.log2(1.8), math.log2((2.5 / 3) / 0.5)
    van, an = math.log2(1.8), math.log2((2.5 / 5) / 0.5)  # "an": half of its bearers are men: r = 1
    assert bf[("v1", "w1")] == pytest.approx(20 - thi - hoa)
    assert bf[("v1", "w3")] == pytest.approx(20 - thi)        # the given names differ: only "thi"
    assert bf[("v1", "m1")] == pytest.approx(20.0)            # sexes differ: nothing to correct
    assert bf[("v2", "m1")] == pytest.approx(20 - van - an)
    assert an == pytest.approx(0.0)
    assert bf[("v3", "w1")] == pytest.approx(20.0)            # one sex unknown
    assert out["n_pairs_corrected"] == 3
    assert len(bf) == 5  # no pair lost or doubled


def test_a_name_seen_once_is_not_taken_as_certainly_of_one_sex():
    con = _con()
    namesex.name_sex_table(con)
    r = dict(((v, s), l2r) for _, v, s, l2r in con.execute(
        "SELECT * FROM link_name_sex WHERE part = 'given_name_ascii'").fetchall())
    assert 0 < r[("hoa", "F")] < math.log2(2.0)  # below the 1 / P(F) of a name only women bear
