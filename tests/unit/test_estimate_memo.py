"""What a further period of one province reuses (estimate_db's memo) gives the same figures as
a fresh estimate, and nothing is reused once the database changed."""

from __future__ import annotations

import duckdb

from helpers.estimatedb import make_db
from vaxstudy.estimate import estimate_db
from vaxstudy.estimate.data import connect, period_shared

SITES = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000"),
         dict(site_id="S2", site_name="b", province_code="42", district_code="436", commune_code="18000")]


def _db(path):
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i % 3}", dose_number=1 + i % 2,
              vaccination_date=f"2021-0{8 + i % 2}-{1 + i:02d}", entered_date=f"2021-0{8 + i % 2}-{2 + i:02d}",
              site_id="S1" if i % 4 else "S2") for i in range(8)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-02", dose_number=1, doses_administered=3)]
    return make_db(path, [dict(person_id=f"P{i}") for i in range(3)], v, SITES, tal)


def test_a_further_period_with_the_memo_equals_a_fresh_estimate(tmp_path):
    db = _db(tmp_path / "m.duckdb")
    memo: dict = {}
    estimate_db(db, "40", "2021-08-01", "2021-08-31", tmp_path / "aug", n_boot=20, memo=memo)
    assert {"scope_warnings", "sites", "export_date"} <= set(memo["values"])
    again = estimate_db(db, "40", "2021-09-01", "2021-09-30", tmp_path / "sep", n_boot=20, memo=memo)
    fresh = estimate_db(db, "40", "2021-09-01", "2021-09-30", tmp_path / "sep2", n_boot=20)
    assert again == fresh
    # another province of the same database, or the database changed: nothing reused
    con = connect(db)
    assert period_shared(memo, con, "42") == {}
    con.close()
    memo2: dict = {}
    con = connect(db)
    period_shared(memo2, con, "40")["sites"] = "stale"
    con.close()
    w = duckdb.connect(str(db))
    w.execute("CREATE TABLE touched AS SELECT 1 AS x")
    w.close()
    con = connect(db)
    assert period_shared(memo2, con, "40") == {}
    con.close()
