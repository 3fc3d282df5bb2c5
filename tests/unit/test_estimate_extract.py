"""The extract date: rows entered after it do not exist for the run."""

from __future__ import annotations

from vaxstudy.estimate import estimate_db
from helpers.estimatedb import make_db

START, END = "2021-07-01", "2021-08-31"


def _db(path):
    pop = [dict(person_id=f"P{i}") for i in range(1, 5)]
    v = [
        dict(record_id="r1", subject_id="s1", person="P1", entered_date="2021-08-01"),
        dict(record_id="r2", subject_id="s2", person="P2", entered_date="2021-08-03"),
        dict(record_id="r3", subject_id="s3", person="P3", entered_date="2021-08-10"),
        dict(record_id="r4", subject_id="s4", person="P4", entered_date=None),  # date unknown: kept
    ]
    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="1")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=5)]
    return make_db(path, pop, v, sites, tal)


def test_default_extract_date_is_the_latest_entry(tmp_path):
    m = estimate_db(_db(tmp_path / "a.duckdb"), "40", START, END, tmp_path / "o", n_boot=50, audit=False)
    assert m["extract_date"] == "2021-08-10"
    assert m["n_records"] == 4
    assert abs(m["missing_entry_rate"] - (1 - 4 / 5)) < 1e-9


def test_rows_entered_after_the_extract_date_are_left_out(tmp_path):
    m = estimate_db(_db(tmp_path / "a.duckdb"), "40", START, END, tmp_path / "o", n_boot=50,
                    extract_date="2021-08-05")
    assert m["extract_date"] == "2021-08-05"
    assert m["n_records"] == 3  # r3 (entered 2021-08-10) is not in the export of 2021-08-05
    assert abs(m["coverage_dose1_recorded"] - 3 / 4) < 1e-9
    assert abs(m["missing_entry_rate"] - (1 - 3 / 5)) < 1e-9
