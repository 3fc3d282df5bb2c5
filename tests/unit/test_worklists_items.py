"""Worklist items on a hand-made database: what each list holds, and that its counts are the
estimate's (duplicate subjects, duplicate doses, unlinked rows, tally gap)."""

from __future__ import annotations

import duckdb
import pytest

from vaxstudy.estimate import estimate_db
from helpers.estimatedb import make_db
from vaxstudy.worklists.queries import find_items

START, END = "2021-07-01", "2021-10-31"
SITES = [
    dict(site_id="S1", site_name="Trạm Y tế xã A", province_code="40", district_code="412", commune_code="17000"),
    dict(site_id="S2", site_name="Trạm Y tế xã B", province_code="40", district_code="413", commune_code="17100"),
]


def _db(path):
    """P1 two profiles: A1 (dob typed wrong, entered first) and A2 (agrees with the register);
    P2 dose 1 typed twice (r4 repeats r3); P3 linked with an empty ID and another sex;
    one row nobody in the register (r7, typed province 42) with a candidate P9;
    tallies: S1 dose 1 = 6 (4 distinct entered: gap 2), S2 dose 1 = 1 (2 entered: 1 over)."""
    pop = [dict(person_id=f"04000000000{i}", full_name="Nguyễn Văn An", date_of_birth="1980-01-01", sex="M",
                district_code="412") for i in range(1, 10)]
    p = [x["person_id"] for x in pop]
    v = [
        dict(record_id="r1", subject_id="A1", person=p[0], full_name="Nguyễn Văn An", date_of_birth="02/01/1980",
             id_number=p[0], q=0.999),
        dict(record_id="r2", subject_id="A2", person=p[0], full_name="Nguyễn Văn An", date_of_birth="01/01/1980",
             id_number=p[0], dose_number=2, q=0.995),
        dict(record_id="r3", subject_id="B1", person=p[1], id_number=p[1], full_name="Nguyễn Văn An",
             date_of_birth="01/01/1980"),
        dict(record_id="r4", subject_id="B1", person=p[1], id_number=p[1], full_name="Nguyễn Văn An",
             date_of_birth="01/01/1980", dup=True),
        dict(record_id="r5", subject_id="C1", person=p[2], id_number=None, sex="F", full_name="Nguyen Van An",
             date_of_birth="01/01/1980", q=0.97),
        dict(record_id="r6", subject_id="D1", person=p[3], id_number=p[3], full_name="Nguyễn Văn An",
             date_of_birth="01/01/1980", site_id="S2"),
        dict(record_id="r7", subject_id="E1", person=None, id_number="123456789", province_code="42",
             cand=p[8], cand_q=0.3, cand_any=0.4),
        dict(record_id="r8", subject_id="F1", person=p[4], id_number=p[4], full_name="Nguyễn Văn An",
             date_of_birth="01/01/1980", site_id="S2"),
    ]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=6),
           dict(site_id="S1", vaccination_date="2021-08-01", dose_number=2, doses_administered=1),
           dict(site_id="S2", vaccination_date="2021-08-01", dose_number=1, doses_administered=1)]
    make_db(path, pop, v, SITES, tal)
    from vaxstudy.standardize import standardize_db

    standardize_db(path)
    return path


@pytest.fixture(scope="module")
def items_and_metrics(tmp_path_factory):
    base = tmp_path_factory.mktemp("wl_items")
    db = _db(base / "w.duckdb")
    m = estimate_db(db, "40", START, END, base / "out", seed=1, n_boot=20, audit=False)
    con = duckdb.connect(str(db), read_only=True)
    try:
        items = find_items(con, "40", START, END)
    finally:
        con.close()
    return items, m


def test_duplicate_subject_keeps_the_profile_that_agrees_with_the_register(items_and_metrics):
    items, _ = items_and_metrics
    s = items.subjects
    assert list(s["role"]) == ["keep", "merge"]
    assert s.loc[s["role"] == "keep", "subject_id"].item() == "A2"  # entered second, agrees with the register
    merge = s[s["role"] == "merge"].iloc[0]
    assert merge["subject_id"] == "A1" and merge["target_subject_id"] == "A2"
    assert merge["probability"] == pytest.approx(0.999 * 0.995)
    assert "date_of_birth" in merge["differs"]


def test_duplicate_dose_names_the_row_it_repeats(items_and_metrics):
    d = items_and_metrics[0].doses
    assert list(zip(d["record_id"], d["original_record_id"], d["probability"])) == [("r4", "r3", 1.0)]


def test_identity_lines_carry_current_and_register_values(items_and_metrics):
    i = items_and_metrics[0].identity
    r5 = i[i["record_id"] == "r5"].set_index("field")
    assert r5.loc["id_number", "problem"] == "empty" and r5.loc["id_number", "proposed_value"] == "040000000003"
    assert r5.loc["sex", "problem"] == "differs" and r5.loc["sex", "proposed_value"] == "M"
    assert r5.loc["full_name", "proposed_value"] == "Nguyễn Văn An"
    assert (r5["probability"] == 0.97).all()
    r1 = i[i["record_id"] == "r1"].set_index("field")
    assert list(r1.index) == ["date_of_birth"] and r1.loc["date_of_birth", "proposed_value"] == "1980-01-01"
    assert set(i["record_id"]) == {"r1", "r5"}


def test_unlinked_rows_with_candidate_and_non_resident_flag(items_and_metrics):
    u = items_and_metrics[0].unlinked
    assert list(u["record_id"]) == ["r7"]
    assert u["best_person_id"].item() == "040000000009" and u["non_resident"].item()
    assert u["probability"].item() == pytest.approx(0.6)


def test_tally_gap_lines(items_and_metrics):
    t = items_and_metrics[0].tally
    # S1 dose 1: 6 on paper, r1 r3 r4(dup) r5 r7 -> 4 distinct entered -> 2 to enter
    assert list(zip(t["site_id"], t["dose"], t["tally"], t["distinct"], t["gap"])) == [("S1", 1, 6, 4, 2)]


def test_counts_equal_those_behind_metrics(items_and_metrics):
    items, m = items_and_metrics
    c = items.counts
    assert c["worklist_merge_lines"] == c["duplicate_subjects"] == round(m["duplicate_subject_rate"] * m["n_subjects"])
    assert c["worklist_dose_lines"] == c["duplicate_doses"] == round(m["duplicate_dose_rate"] * m["n_records"])
    assert c["worklist_unlinked_lines"] == c["unlinked_rows"] == round(m["unlinked_record_rate"] * m["n_records"])
    net = c["worklist_doses_to_enter"] - c["worklist_doses_over_tally"]
    assert net == c["tally_gap_net"] == round(m["missing_entry_rate"] * m["n_tally_doses"])
    assert c["worklist_doses_over_tally"] == 1  # S2 dose 1: r6 and r8 entered, 1 on paper


def test_site_days_with_a_quarantined_tally_are_left_out_as_by_the_estimate(tmp_path):
    db = _db(tmp_path / "x.duckdb")
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE tally_excluded_days AS SELECT 'S2' AS site_id, DATE '2021-08-01' AS vaccination_date")
    con.close()
    m = estimate_db(db, "40", START, END, tmp_path / "out", seed=1, n_boot=20, audit=False)
    con = duckdb.connect(str(db), read_only=True)
    try:
        c = find_items(con, "40", START, END).counts
    finally:
        con.close()
    assert c["worklist_doses_over_tally"] == 0  # S2's over-entry is on the excluded day
    net = c["worklist_doses_to_enter"] - c["worklist_doses_over_tally"]
    assert net == c["tally_gap_net"] == round(m["missing_entry_rate"] * m["n_tally_doses"]) == 2


@pytest.mark.parametrize("lang, sheets", [
    ("vi", ["Hướng dẫn", "Trùng đối tượng", "Mũi tiêm nhập trùng", "Thiếu - sai định danh",
            "Không có trong CSDL dân cư", "Liều chưa nhập"]),
    ("en", ["Instructions", "Duplicate subjects", "Duplicate doses", "Missing - wrong identity",
            "Not in the register", "Doses not entered"]),
])
def test_district_workbook_reads_back(items_and_metrics, tmp_path, lang, sheets):
    from openpyxl import load_workbook

    from vaxstudy.worklists.workbook import write_district_workbook

    items, _ = items_and_metrics
    counts = write_district_workbook(items, "412", tmp_path / "d.xlsx", lang)
    assert counts == {"merge_subject": 1, "delete_duplicate_dose": 1, "set_field": 4, "check_residence": 1,
                      "doses_to_enter": 2}
    wb = load_workbook(tmp_path / "d.xlsx")
    assert wb.sheetnames == sheets
    ws = wb[sheets[1]]
    assert ws.freeze_panes == "A4"
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert [r[2] for r in rows] == ["A2", "A1"]  # kept profile first
    assert rows[0][1] == ("Giữ lại hồ sơ này" if lang == "vi" else "Keep this profile")
    ident = wb[sheets[3]]
    values = {(r[0], r[3]): r[6] for r in ident.iter_rows(min_row=4, values_only=True)}
    assert values[("r1", "Ngày sinh" if lang == "vi" else "Date of birth")] == "01/01/1980"
    assert values[("r5", "Giới tính" if lang == "vi" else "Sex")] == ("Nam" if lang == "vi" else "Male")
    tally = wb[sheets[5]]
    assert tally.cell(4, 4).number_format == "DD/MM/YYYY" and tally.cell(4, 8).value == 2
