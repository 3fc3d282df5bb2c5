"""Which rows a province's estimate reads: on a national database, only those that can touch
its figures, and the figures are the same as when reading every row."""

from __future__ import annotations

from vaxstudy.estimate import estimate_db
from vaxstudy.estimate.data import connect, load_inputs
from helpers.estimatedb import make_db

START, END = "2021-03-08", "2021-10-31"


def _national_db(path):
    """Province 40 (site A) and province 42 (site B). Residents P1..P4 of 40 and Q1 of 42."""
    pop = [dict(person_id="P1"), dict(person_id="P2"), dict(person_id="P3"), dict(person_id="P4"),
           dict(person_id="Q1", province_code="42", district_code="436")]
    v = [
        dict(record_id="a1", subject_id="s1", person="P1", dose_number=1, site_id="A"),
        # P1's second dose, given in province 42: counts for 40's coverage
        dict(record_id="b1", subject_id="s1", person="P1", dose_number=2, site_id="B",
             province_code="42", vaccination_date="2021-09-01"),
        # a resident of 42 vaccinated at home: nothing to do with province 40
        dict(record_id="b2", subject_id="s2", person="Q1", dose_number=1, site_id="B", province_code="42"),
        dict(record_id="b3", subject_id="s2", person="Q1", dose_number=2, site_id="B", province_code="42",
             vaccination_date="2021-09-02"),
        # an outsider typed twice, once at A and once at B: both rows belong to the estimate
        dict(record_id="a2", subject_id="s3", person="X1", dose_number=1, site_id="A"),
        dict(record_id="b4", subject_id="s3", person="X1", dose_number=1, site_id="B", province_code="42",
             dup=True),
        # unlinked at B, but its best candidate is P2 of province 40 (the redraw may give it to P2)
        dict(record_id="b5", subject_id="s4", person="X2", dose_number=1, site_id="B", province_code="42",
             cand="P2", cand_q=0.4),
        # unlinked at B, candidate in 42: irrelevant
        dict(record_id="b6", subject_id="s5", person="X3", dose_number=1, site_id="B", province_code="42",
             cand="Q1", cand_q=0.3),
    ]
    sites = [dict(site_id="A", site_name="a", province_code="40", district_code="412", commune_code="1"),
             dict(site_id="B", site_name="b", province_code="42", district_code="436", commune_code="2")]
    tal = [dict(site_id="A", vaccination_date="2021-08-01", dose_number=1, doses_administered=2),
           dict(site_id="B", vaccination_date="2021-08-01", dose_number=1, doses_administered=4)]
    return make_db(path, pop, v, sites, tal)


def test_only_rows_that_can_touch_the_province_are_read(tmp_path):
    db = _national_db(tmp_path / "n.duckdb")
    con = connect(db)
    try:
        rows = load_inputs(con, "40", START, END).rows
    finally:
        con.close()
    assert sorted(rows["record_id"]) == ["a1", "a2", "b1", "b4", "b5"]


def test_the_figures_do_not_depend_on_the_other_provinces_rows(tmp_path):
    """Province 40's metrics from the national database equal those from a database holding
    only the rows that concern it (the 42-only rows removed by hand)."""
    full = estimate_db(_national_db(tmp_path / "n.duckdb"), "40", START, END, tmp_path / "o1",
                       n_boot=200, audit=False)
    import duckdb

    db2 = _national_db(tmp_path / "m.duckdb")
    con = duckdb.connect(str(db2))
    con.execute("DELETE FROM vaccinations WHERE record_id IN ('b2', 'b3', 'b6')")
    con.execute("DELETE FROM record_links WHERE record_id IN ('b2', 'b3', 'b6')")
    con.close()
    cut = estimate_db(db2, "40", START, END, tmp_path / "o2", n_boot=200, audit=False)
    for k in ("coverage_dose1_recorded", "coverage_dose2_recorded", "coverage_dose1_recorded_ci",
              "duplicate_dose_rate", "unlinked_record_rate", "unlinked_record_rate_ci", "missing_entry_rate",
              "coverage_dose1", "coverage_dose1_ci"):
        assert full[k] == cut[k], k
    assert full["coverage_dose2_recorded"] == 0.25  # P1's dose 2 in province 42 counts
    assert full["coverage_dose1_recorded_ci"][1] == 0.5  # b5 may be P2's dose 1
