"""Data-quality audit tables on a hand-made registry with known faults."""

from __future__ import annotations

import pandas as pd
import pytest

from vaxstudy.estimate import estimate_db
from vaxstudy.estimate.audit_checks import TIDY_COLUMNS
from vaxstudy.estimate.quality import min_interval, vaccine_family
from helpers.estimatedb import make_db

START, END = "2021-03-08", "2021-10-31"
SITES = [
    dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000"),
    dict(site_id="S2", site_name="b", province_code="40", district_code="413", commune_code="17100"),
]


def _row(rid, person, dose, day, entered, site="S1", **kw):
    return dict(record_id=rid, subject_id=f"s-{person}", person=person, dose_number=dose,
                vaccination_date=day, entered_date=entered, site_id=site, **kw)


def _std(rid, dob, id_type="CCCD", consistent=True, phone_valid=True):
    return dict(unique_id=rid, record_id=rid, dob=pd.Timestamp(dob).date(), birth_year=int(dob[:4]),
                id_type=id_type, id_consistent=consistent, phone_valid=phone_valid, commune_valid=True,
                commune_code="17000")


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    d = tmp_path_factory.mktemp("dq")
    pop = [dict(person_id=f"P{i}") for i in range(1, 8)]
    v = [
        _row("r1", "P1", 1, "2021-08-01", "2021-08-01"),
        _row("r2", "P1", 2, "2021-08-15", "2021-08-20"),  # 14 days after AstraZeneca dose 1: too soon
        _row("r3", "P2", 2, "2021-08-10", "2021-09-20"),  # no dose 1; entered 41 days late
        _row("r4", "P3", 1, "2021-08-01", None, full_name=""),  # a child, ID digits disagree
        _row("r5", "P4", 1, "2021-02-01", "2021-02-01"),  # before the campaign (and the period)
        _row("r6", "P5", 1, "2021-09-01", "2021-08-30"),  # vaccinated after it was entered
        _row("r7", "P6", 1, "2021-08-01", "2021-08-01", site="S2"),  # before birth
    ]
    std = [
        _std("r1", "1980-01-01"), _std("r2", "1980-01-01"), _std("r3", "1970-01-01", id_type="invalid"),
        _std("r4", "2010-01-01", consistent=False), _std("r5", "1975-01-01"), _std("r6", "1960-01-01"),
        _std("r7", "2021-12-01", phone_valid=False),
    ]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=10)]
    tal += [dict(site_id="S2", vaccination_date=f"2021-07-{day:02d}", dose_number=1, doses_administered=2)
            for day in range(1, 21)]
    tal += [dict(site_id="S2", vaccination_date="2021-07-25", dose_number=1, doses_administered=40)]
    db = make_db(d / "dq.duckdb", pop, v, SITES, tal, vaccinations_std=std)
    m = estimate_db(db, "40", START, END, d / "out", n_boot=20)
    tables = {p.stem: pd.read_parquet(p) for p in (d / "out" / "data_quality").glob("*.parquet")}
    return m, tables


def _prov(tables, domain, check):
    t = tables[domain]
    row = t[(t["check"] == check) & (t["unit_type"] == "province")]
    assert len(row) == 1, check
    return row.iloc[0]


def test_validity_known_answers(audit):
    _, t = audit
    expect = {
        "id_invalid": (1, 6),
        "id_inconsistent": (1, 6),
        "phone_invalid": (1, 6),
        "age_outside_target": (2, 6),
        "vaccinated_before_birth": (1, 6),
        "dose2_too_soon": (1, 1),
        "dose2_without_dose1": (1, 2),
        "before_campaign": (1, 7),
        "after_period": (0, 7),
        "vaccinated_after_entry": (1, 6),
    }
    for check, (num, den) in expect.items():
        r = _prov(t, "validity", check)
        assert (r["numerator"], r["denominator"]) == (num, den), check


def test_completeness_and_timeliness(audit):
    _, t = audit
    assert _prov(t, "completeness", "empty:full_name")["value"] == pytest.approx(1 / 6)
    assert _prov(t, "completeness", "empty:entered_date")["value"] == pytest.approx(1 / 6)
    site = t["completeness"]
    s1 = site[(site["check"] == "empty:full_name") & (site["unit_id"] == "S1")].iloc[0]
    assert (s1["numerator"], s1["denominator"]) == (1, 5)
    # lags (days) of in-period rows with an entered date: 0, 5, 41, -2, 0
    assert _prov(t, "timeliness", "entered_within_1d")["value"] == pytest.approx(3 / 5)
    assert _prov(t, "timeliness", "entered_within_7d")["value"] == pytest.approx(4 / 5)
    assert _prov(t, "timeliness", "entered_within_30d")["value"] == pytest.approx(4 / 5)
    assert _prov(t, "timeliness", "entry_lag_median_days")["value"] == 0
    dist = t["entry_lag_distribution"]
    prov = dist[dist["unit_type"] == "province"].set_index("lag_bin")["n"]
    assert prov.to_dict() == {"negative": 1, "0": 2, "2-7": 1, "31-60": 1}


def test_consistency_verification_factor_dropout_outliers(audit):
    m, t = audit
    c = t["consistency"]
    vf = c[(c["check"] == "verification_factor") & (c["unit_id"] == "S1")].iloc[0]
    assert (vf["numerator"], vf["denominator"], vf["value"]) == (5, 10, 0.5)  # r1-r4, r6 against 10 tallied
    drop = _prov(t, "consistency", "dropout_registry")
    assert (drop["numerator"], drop["denominator"]) == (2, 4)  # 4 first doses, 2 second
    od = t["outlier_site_days"]
    assert list(od["site_id"]) == ["S2"] and str(od["vaccination_date"].iloc[0]) == "2021-07-25"
    assert od["series"].iloc[0] == "tallies"
    assert m["data_quality"]["n_outlier_site_days"] == 1


def test_tidy_shape_and_worst_sites(audit):
    m, t = audit
    for k in ("completeness", "validity", "consistency", "timeliness"):
        assert list(t[k].columns) == TIDY_COLUMNS
        assert set(t[k]["unit_type"]) <= {"site", "district", "province"}
        assert not t[k].duplicated(["check", "unit_type", "unit_id"]).any()
    ws = t["worst_sites"]
    assert list(ws["rank"]) == [1, 2] and ws["score"].is_monotonic_decreasing
    assert [w["site_id"] for w in m["data_quality"]["worst_sites"]] == list(ws["site_id"])[:10]
    assert m["data_quality"]["validity"]["dose2_without_dose1"] == 0.5


def test_vaccine_families_and_intervals():
    v = pd.Series(["AstraZeneca", "Vero Cell (Sinopharm)", "Pfizer-BioNTech", "Moderna", "Sputnik V", None, "xyz"])
    assert list(vaccine_family(v)) == ["astrazeneca", "sinopharm", "pfizer", "moderna", "sputnik", None, None]
    assert list(min_interval(v)) == [28, 21, 21, 28, 21, 21, 21]


def test_checks_that_do_not_apply_and_dose_intervals(tmp_path):
    """The audit's SQL counts a check only where it applies: a row without a standardised row,
    a birth year without a date, a commune flag without a commune; dose 2 against the vaccine
    of the person's earliest dose 1 (Pfizer 21 - 4 days, AstraZeneca 28 - 4), wherever it was."""
    from vaxstudy.estimate.data import connect, load_inputs
    from vaxstudy.estimate.quality import audit as run_audit

    v = [
        _row("a1", "P1", 1, "2021-08-01", "2021-08-01", vaccine="Pfizer"),
        _row("a2", "P1", 2, "2021-08-19", "2021-08-19"),  # 18 days after Pfizer: not too soon
        _row("b1", "P2", 1, "2021-07-20", "2021-07-20", site="S2"),  # AstraZeneca, at the other site
        _row("b2", "P2", 2, "2021-08-10", "2021-08-11"),  # 21 days after AstraZeneca: too soon
        _row("b0", "P2", 1, "2021-09-01", "2021-09-01"),  # a later dose 1 does not count
        _row("c1", "P3", 1, "2021-08-02", None),  # no standardised row: no id/phone/commune/age check
    ]
    std = [
        dict(unique_id="a1", record_id="a1", dob=None, birth_year=2010, id_type=None, id_consistent=None,
             phone_valid=None, commune_valid=False, commune_code=None),  # aged 11 by the year alone
        _std("a2", "1980-01-01"), _std("b1", "1980-01-01"), _std("b2", "1980-01-01"), _std("b0", "1980-01-01"),
    ]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=1)]
    db = make_db(tmp_path / "dq2.duckdb", [dict(person_id=f"P{i}") for i in (1, 2, 3)], v, SITES, tal,
                 vaccinations_std=std)
    con = connect(db)
    try:
        t = run_audit(con, load_inputs(con, "40", START, END))
    finally:
        con.close()
    expect = {
        "id_invalid": (0, 4),  # a1 has no id_type, c1 no standardised row
        "phone_invalid": (0, 4),
        "commune_invalid": (0, 4),  # a1's flag has no commune to judge
        "age_outside_target": (1, 5),  # a1 by its birth year; c1 unknown
        "vaccinated_before_birth": (0, 5),
        "dose2_too_soon": (1, 2),
        "dose2_without_dose1": (0, 2),
        "vaccinated_after_entry": (0, 5),  # c1 has no entered_date
    }
    for check, (num, den) in expect.items():
        r = _prov(t, "validity", check)
        assert (r["numerator"], r["denominator"]) == (num, den), check
    assert tuple(_prov(t, "timeliness", "entered_date_missing")[["numerator", "denominator"]]) == (1, 6)
    assert _prov(t, "timeliness", "entry_lag_p90_days")["value"] == pytest.approx(0.6)  # lags 0 0 0 0 1
