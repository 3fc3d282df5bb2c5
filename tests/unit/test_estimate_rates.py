"""Record rates, counts, scope, schema and determinism of `estimate_db` on hand-made tables."""

from __future__ import annotations

import json

import jsonschema
import pytest

from vaxstudy.estimate import estimate_db, validate_metrics
from helpers.estimatedb import make_db

START, END = "2021-07-01", "2021-10-31"
SITES = [
    dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000"),
    dict(site_id="S2", site_name="b", province_code="40", district_code="413", commune_code="17100"),
    dict(site_id="S9", site_name="z", province_code="42", district_code="436", commune_code="18000"),
]


def case_a(path):
    """20 adult residents (10 per district), a child, someone of another province.

    Rows: P1 doses 1+2 (one profile); P2 dose 1 and dose 2 under a second
    profile; P3 dose 1 typed twice; P4 dose 1; an outsider (not in the
    register) dose 1 — all at S1 (district 412). P11 doses 1+2 and P12 dose 1
    at S2 (413). Tallies: S1 6 dose-1 / 2 dose-2; S2 4 / 1.
    """
    pop = [
        dict(person_id=f"P{i}", district_code="412" if i <= 10 else "413", sex="M" if i % 2 else "F",
             date_of_birth="1990-05-05" if i % 3 else "1950-02-02")
        for i in range(1, 21)
    ]
    pop += [dict(person_id="C1", date_of_birth="2010-01-01"), dict(person_id="Z1", province_code="42")]
    v = []

    def add(rid, subj, person, dose, site="S1", **kw):
        v.append(dict(record_id=rid, subject_id=subj, person=person, dose_number=dose, site_id=site, **kw))

    add("r1", "A1", "P1", 1)
    add("r2", "A1", "P1", 2)
    add("r3", "A2", "P2", 1)
    add("r4", "A3", "P2", 2)
    add("r5", "A4", "P3", 1)
    add("r6", "A4", "P3", 1, dup=True)
    add("r7", "A5", "P4", 1)
    add("r8", "A6", None, 1)
    add("r9", "B1", "P11", 1, "S2")
    add("r10", "B1", "P11", 2, "S2")
    add("r11", "B2", "P12", 1, "S2")
    tal = [
        dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=6),
        dict(site_id="S1", vaccination_date="2021-08-01", dose_number=2, doses_administered=2),
        dict(site_id="S2", vaccination_date="2021-08-01", dose_number=1, doses_administered=4),
        dict(site_id="S2", vaccination_date="2021-08-01", dose_number=2, doses_administered=1),
    ]
    return make_db(path, pop, v, SITES, tal)


@pytest.fixture(scope="module")
def metrics_a(tmp_path_factory):
    d = tmp_path_factory.mktemp("case_a")
    db = case_a(d / "a.duckdb")
    return estimate_db(db, "40", START, END, d / "out", n_boot=50), d


def test_province_rates_known_answers(metrics_a):
    m, _ = metrics_a
    assert (m["n_records"], m["n_subjects"], m["n_persons_est"]) == (11, 8, 7)
    assert m["duplicate_subject_rate"] == pytest.approx(1 / 8)
    assert m["duplicate_dose_rate"] == pytest.approx(round(1 / 11, 6))
    assert m["unlinked_record_rate"] == pytest.approx(round(1 / 11, 6))
    # 13 tallied; 11 rows, one a repeated dose -> 10 distinct events entered
    assert m["missing_entry_rate"] == pytest.approx(round(3 / 13, 6))
    assert m["missing_entry_rate_naive"] == pytest.approx(round(2 / 13, 6))
    assert m["n_population"] == 20  # the child and the other province's resident are out
    assert m["coverage_dose1_recorded"] == pytest.approx(6 / 20)
    assert m["coverage_dose2_recorded"] == pytest.approx(3 / 20)
    # S1 misses one dose 1, 4/5 of S1's entered dose-1 events are residents; S2 misses two, all residents
    assert m["coverage_dose1"] == pytest.approx((6 + 0.8 + 2) / 20)
    assert m["coverage_dose2"] == pytest.approx(3 / 20)


def test_district_rates_use_site_district_and_residence(metrics_a):
    m, _ = metrics_a
    d412, d413 = m["by_district"]["412"], m["by_district"]["413"]
    assert (d412["n_records"], d412["n_subjects"], d412["n_persons_est"]) == (8, 6, 5)
    assert d412["duplicate_subject_rate"] == pytest.approx(round(1 / 6, 6))
    assert d412["duplicate_dose_rate"] == pytest.approx(1 / 8)
    assert d412["missing_entry_rate"] == pytest.approx(1 / 8)
    assert d412["missing_entry_rate_naive"] == pytest.approx(0.0)
    assert d413["missing_entry_rate"] == pytest.approx(0.4)
    assert d412["coverage_dose1_recorded"] == pytest.approx(0.4)
    assert d412["coverage_dose1"] == pytest.approx(0.48)
    assert d413["coverage_dose1"] == pytest.approx(0.4)
    # one site per district: the site bootstrap cannot vary, links are certain
    assert d412["missing_entry_rate_ci"] == [0.125, 0.125]
    assert set(m["by_sex"]) == {"M", "F"} and set(m["by_age_group"]) == {"18-29", "30-49", "50-64", "65+"}
    assert m["by_age_group"]["18-29"]["coverage_dose1"] is None  # nobody aged 18-29
    assert m["by_age_group"]["65+"]["n_population"] == 6


def test_rate_has_ci_beside_it_and_validates(metrics_a):
    m, d = metrics_a
    for k in ("duplicate_subject_rate", "duplicate_dose_rate", "unlinked_record_rate", "missing_entry_rate",
              "coverage_dose1", "coverage_dose2", "coverage_dose1_recorded", "coverage_dose2_recorded"):
        assert k in m and f"{k}_ci" in m
        lo, hi = m[f"{k}_ci"]
        assert lo <= hi
    on_disk = json.loads((d / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert on_disk == m
    validate_metrics(on_disk)
    assert (d / "out" / "data_quality" / "validity.parquet").exists()


def test_schema_rejects_broken_metrics(metrics_a):
    m, _ = metrics_a
    bad = json.loads(json.dumps(m))
    del bad["coverage_dose1_ci"]
    with pytest.raises(jsonschema.ValidationError):
        validate_metrics(bad)
    bad = json.loads(json.dumps(m))
    bad["duplicate_dose_rate"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        validate_metrics(bad)
    bad = json.loads(json.dumps(m))
    bad["by_district"]["412"]["unexpected"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_metrics(bad)


def test_scope_period_province_and_cumulative_coverage(tmp_path):
    pop = [dict(person_id=f"P{i}") for i in range(1, 5)]
    v = [
        # before the period: not a record in scope, but a dose for coverage
        dict(record_id="a", subject_id="s1", person="P1", dose_number=1, vaccination_date="2021-05-01"),
        # in the period, repeats P1's dose 1 entered before it: not a duplicate *in scope*
        dict(record_id="b", subject_id="s1", person="P1", dose_number=1, vaccination_date="2021-08-01", dup=True),
        dict(record_id="c", subject_id="s2", person="P2", dose_number=1),
        # another province's site: out of scope for record rates, counts for coverage
        dict(record_id="d", subject_id="s3", person="P3", dose_number=1, site_id="S9"),
        # after period_end: ignored
        dict(record_id="e", subject_id="s4", person="P4", dose_number=1, vaccination_date="2021-11-05"),
    ]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=2),
           dict(site_id="S1", vaccination_date="2021-05-01", dose_number=1, doses_administered=1)]
    db = make_db(tmp_path / "s.duckdb", pop, v, SITES, tal)
    m = estimate_db(db, "40", START, END, tmp_path / "out", n_boot=20)
    assert m["n_records"] == 2
    assert m["duplicate_dose_rate"] == 0.0
    assert m["missing_entry_rate"] == 0.0  # 2 tallied in the period, 2 distinct events
    assert m["coverage_dose1_recorded"] == pytest.approx(3 / 4)  # P1, P2, P3; not P4
    # coverage counts the duplicate b once: the earlier row a is the dose entered
    assert m["coverage_dose1"] == pytest.approx(3 / 4)


def test_same_inputs_same_bytes_other_seed_other_interval(tmp_path):
    pop = [dict(person_id=f"P{i}") for i in range(400)]
    sites = [dict(site_id=f"S{j}", site_name="x", province_code="40", district_code="412", commune_code="1")
             for j in range(8)]
    v, tal = [], []
    for i in range(400):
        s = f"S{i % 8}"
        v.append(dict(record_id=f"r{i}", subject_id=f"u{i}", person=f"P{i}", dose_number=1, site_id=s,
                      q=0.7 if i % 5 == 0 else 1.0))
    for j in range(8):
        tal.append(dict(site_id=f"S{j}", vaccination_date="2021-08-01", dose_number=1, doses_administered=50 + j))
    db = make_db(tmp_path / "d.duckdb", pop, v, sites, tal)
    estimate_db(db, "40", START, END, tmp_path / "o1", seed=3, n_boot=100)
    estimate_db(db, "40", START, END, tmp_path / "o2", seed=3, n_boot=100)
    m3 = estimate_db(db, "40", START, END, tmp_path / "o3", seed=4, n_boot=100)
    b1 = (tmp_path / "o1" / "metrics.json").read_bytes()
    assert b1 == (tmp_path / "o2" / "metrics.json").read_bytes()
    m1 = json.loads(b1)
    # what the replicates draw moves with the seed (links of q = 0.7); the missing-entry rate of
    # these rows and tallies, with no uncertain duplicate, is known exactly whatever the seed
    assert m1["unlinked_record_rate_ci"] != m3["unlinked_record_rate_ci"]
    assert m1["missing_entry_rate_ci"] == m3["missing_entry_rate_ci"] == [m1["missing_entry_rate"]] * 2
    assert list(m1) == sorted(m1)


def test_empty_period_and_unknown_province_give_nulls_not_errors(metrics_a, tmp_path):
    _, d = metrics_a
    db = d / "a.duckdb"
    m = estimate_db(db, "40", "2021-01-01", "2021-01-31", tmp_path / "e1", n_boot=20, audit=False)
    assert m["n_records"] == 0 and m["duplicate_dose_rate"] is None and m["duplicate_dose_rate_ci"] is None
    assert m["coverage_dose1"] == 0.0  # nobody vaccinated by the end of January
    from vaxstudy.validate import EmptyScope

    # a province with neither residents nor sites: the run could only be empty, so it stops
    with pytest.raises(EmptyScope, match="province 38 .* no residents in population and no sites"):
        estimate_db(db, "38", START, END, tmp_path / "e2", n_boot=20, audit=False)
    assert not (tmp_path / "e2" / "metrics.json").exists()


def test_resident_without_province_code_counts_by_district(tmp_path):
    pop = [dict(person_id="P1"), dict(person_id="P2", province_code=None),  # 412 is a district of 40
           dict(person_id="P3", province_code=None, district_code="436")]  # 436 is not
    v = [dict(record_id="a", subject_id="s1", person="P2", dose_number=1)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=1)]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=20, audit=False)
    assert m["n_population"] == 2 and m["coverage_dose1_recorded"] == 0.5


def test_subject_table_by_group_equals_one_table_per_group():
    """The district subject counts in one pass: the same subjects, persons, ranks and sites
    as one table built from each district's rows apart."""
    import numpy as np
    import pandas as pd

    from vaxstudy.estimate.rates import subject_table

    rng = np.random.default_rng(3)
    n = 400
    scope = pd.DataFrame({"subject_id": rng.integers(0, 120, n), "person_key": rng.integers(0, 60, n),
                          "row": rng.permutation(n), "site": rng.integers(0, 9, n)})
    dist = np.asarray(["d1", "d2", "d3"])[scope["site"].to_numpy() % 3]
    dist[rng.random(n) < 0.2] = "d2"  # some subjects' rows in two districts
    one = subject_table(scope, by=dist).drop(columns="_by")
    cols = ["subject_id", "person_key", "first_row", "site", "n_rows", "person_rank", "is_dup_subject"]
    apart = pd.concat([subject_table(g) for _, g in scope.groupby(dist, sort=True)], ignore_index=True)
    key = ["subject_id", "first_row"]
    assert one[cols].sort_values(key, ignore_index=True).equals(apart[cols].sort_values(key, ignore_index=True))
    assert one["is_dup_subject"].sum() > 0 and len(one) > scope["subject_id"].nunique()


def test_ids_are_coded_as_pandas_factorize_codes_them():
    """factorize_text (Arrow's dictionary encoding) gives pd.factorize's codes: first
    appearance order across the parts, -1 for None and NaN, '' a value."""
    import numpy as np
    import pandas as pd

    from vaxstudy.estimate.data import factorize_text

    parts = [pd.Series(["b", "a", None, "b", ""], dtype="str"), pd.Series([None, "c", "a", np.nan], dtype=object),
             pd.Series(["c", "d"], dtype="str"), pd.Series([None, None], dtype=object)]
    want, _ = pd.factorize(pd.concat(parts, ignore_index=True).astype(object), use_na_sentinel=True)
    got = factorize_text(parts)
    assert got.tolist() == want.tolist() == [0, 1, -1, 0, 2, -1, 3, 1, -1, 3, 4, -1, -1]


def test_ids_are_coded_from_empty_and_many_chunk_arrow_columns():
    """A query with no row (an empty period) gives Arrow-backed columns of no chunk, a
    concatenation gives several: both are coded like any other column."""
    import pandas as pd
    import pyarrow as pa

    from vaxstudy.estimate.data import factorize_text

    empty = pd.Series(pa.chunked_array([], type=pa.string()).to_pandas())
    one = pd.Series(pa.chunked_array([pa.array(["x", None])]).to_pandas())
    many = pd.concat([one, pd.Series(pa.chunked_array([pa.array(["y", "x"])]).to_pandas())], ignore_index=True)
    assert factorize_text([empty, one, empty, many]).tolist() == [0, -1, 0, -1, 1, 0]
    assert factorize_text([empty]).tolist() == []
