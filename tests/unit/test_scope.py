"""One province scope and one sex rule: the estimate's denominators and the report's
suppression groups count the same residents, with the standardised sex."""

from __future__ import annotations

import duckdb

from vaxstudy.estimate.data import load_inputs
from helpers.estimatedb import make_db
from vaxstudy.report import data as rdata
from vaxstudy.standardize.sex import sex_code

SITES = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000")]
SEXES = ["Nam", "Nữ", "gái", "trai", "NŨ", "M", "x"]


def test_estimate_and_report_count_the_same_residents_with_one_sex_rule(tmp_path):
    pop = [dict(person_id=f"P{i}", sex=s, date_of_birth="1980-01-01") for i, s in enumerate(SEXES)]
    pop += [dict(person_id="E1", province_code=None, district_code="412", sex="F"),  # empty province, district of 40
            dict(person_id="O1", province_code="42", district_code="436"),  # another province
            dict(person_id="C1", date_of_birth="2010-01-01")]  # a child
    v = [dict(record_id="r1", subject_id="s1", person="P0", dose_number=1)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=1)]
    db = make_db(tmp_path / "s.duckdb", pop, v, SITES, tal)
    con = duckdb.connect(str(db))
    try:
        inp = load_inputs(con, "40", "2021-08-01", "2021-08-31")
        groups = rdata.adult_population(con, "40", "2021-08-31")
    finally:
        con.close()
    expected = {f"P{i}": sex_code(s) or "U" for i, s in enumerate(SEXES)} | {"E1": "F"}
    assert len(inp.pop) == len(expected) == int(groups["n"].sum())
    by_sex = groups.groupby("sex")["n"].sum().to_dict()
    want: dict[str, int] = {}
    for s in expected.values():
        want[s] = want.get(s, 0) + 1
    assert by_sex == want and want == {"M": 3, "F": 4, "U": 1}  # gái, NŨ, Nữ and E1; trai, Nam, M; x
    assert sorted(inp.pop["sex"]) == sorted(expected.values())


def test_an_identity_is_in_the_province_of_the_sites_its_rows_were_entered_at():
    from vaxstudy.scope import identity_site_province_sql

    con = duckdb.connect()
    con.execute("CREATE TABLE sites AS SELECT * FROM (VALUES ('S1', '40'), ('S2', ' 4'), ('S3', '42'), "
                "('S4', '00')) t(site_id, province_code)")
    con.execute("CREATE TABLE rows AS SELECT * FROM (VALUES ('a', 'S1'), ('a', 'S3'), ('a', 'S1'), "
                "('b', 'S2'), ('c', 'S4'), ('d', 'S9')) t(ident, site_id)")
    got = dict(con.execute(f"SELECT * FROM ({identity_site_province_sql('rows', 'sites')}) ORDER BY 1").fetchall())
    # the most frequent site's province, zero-padded; an all-zero code is none; an unknown site no row
    assert got == {"a": "40", "b": "04", "c": None}


def test_the_database_ages_the_residents_as_pandas_does():
    """adults_sql (the estimate's and the report's adults) against scope.adults over the same
    residents: birthdays on, before and after the day, 29 February, no date of birth, no sex,
    no district, 17-, 18-, 29-, 30-, 64-, 65-year-olds."""
    from datetime import date

    import pandas as pd

    from vaxstudy import scope

    at = date(2021, 2, 28)
    dobs = ["2003-02-28", "2003-03-01", "2003-02-27", "2004-02-28", "2000-02-29", "1991-03-01", "1991-02-28",
            "1956-03-01", "1956-02-28", "1940-06-30", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE population_std AS SELECT * FROM (VALUES " + ", ".join(
        f"('P{i:02d}', '40', {'NULL' if i == 5 else repr('412')}, {'NULL' if i % 4 == 1 else repr('F')}, "
        f"{'NULL' if d is None else 'DATE ' + repr(d)})" for i, d in enumerate(dobs))
        + ") t(unique_id, province_code, district_code, sex, dob)")
    got = con.execute(scope.adults_sql("40", at)).df()
    want = scope.adults(con.execute(scope.residents_sql("40")).df(), at)[list(got.columns)]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got["age_group"].tolist() == ["18-29"] * 4 + ["30-49", "50-64", "65+", "65+"]
    assert "unknown" in set(got["district_code"]) and "U" in set(got["sex"])


def test_a_person_typed_twice_keeps_the_row_the_window_over_everyone_kept():
    """adults_sql's one row per person (the window over the persons with several rows only)
    against the window over every person it replaced: a person typed three times (districts,
    sexes, dates of birth and NULLs differing), one typed twice the same, one aged 17 in its
    first row and 40 in its second, and persons typed once."""
    from datetime import date

    from vaxstudy import scope

    at = date(2021, 10, 31)
    con = duckdb.connect()
    con.execute("""CREATE TABLE population_std AS SELECT * FROM (VALUES
        ('P1', '40', '413', 'F', DATE '1980-01-01'), ('P1', '40', '412', NULL, DATE '1990-01-01'),
        ('P1', '40', '412', 'M', DATE '1970-05-05'), ('P2', '40', '414', 'M', DATE '1960-01-01'),
        ('P2', '40', '414', 'M', DATE '1960-01-01'), ('P3', '40', NULL, 'F', DATE '2010-01-01'),
        ('P3', '40', '415', 'F', DATE '2010-01-01'), ('P4', '40', '412', NULL, DATE '1981-02-03'),
        ('P5', '40', '416', 'F', DATE '2003-01-01'), ('P6', '40', NULL, 'M', DATE '1950-01-01'),
        ('P7', '40', '413', 'F', DATE '1981-11-01'), ('P7', '40', '413', 'F', DATE '2004-11-01'))
        t(unique_id, province_code, district_code, sex, dob)""")
    got = con.execute(scope.adults_sql("40", at)).fetchall()
    sql = scope.adults_sql("40", at)
    window = sql[:sql.index("many AS")] + """
        a AS (SELECT person_id, district_code, sex, year(DATE '2021-10-31') - year(dob) - CASE WHEN month(dob) > 10
                     OR (month(dob) = 10 AND day(dob) > 31) THEN 1 ELSE 0 END AS age,
                     row_number() OVER (PARTITION BY person_id ORDER BY district_code NULLS LAST,
                                        sex NULLS LAST, dob NULLS LAST) AS k FROM r)
        SELECT person_id, coalesce(district_code, 'unknown'), coalesce(sex, 'U'),
               CASE WHEN age <= 29 THEN '18-29' WHEN age <= 49 THEN '30-49' WHEN age <= 64 THEN '50-64'
               ELSE '65+' END FROM a WHERE k = 1 AND age >= 18 ORDER BY person_id"""
    assert got == con.execute(window).fetchall()
    assert got == [("P1", "412", "M", "50-64"), ("P2", "414", "M", "50-64"), ("P4", "412", "U", "30-49"),
                   ("P5", "416", "F", "18-29"), ("P6", "unknown", "M", "65+"), ("P7", "413", "F", "30-49")]
