"""A register person without a date of birth (docs/linkage.md, *A register person without a
date of birth*): quarantined and out of the register, kept as a link candidate apart."""

import duckdb
import pytest

from vaxstudy.ingest import ingest
from vaxstudy.standardize import standardize_db
from helpers.ingestdata import POP_ROWS, write_folder

NO_DOB = "040175000009,Phạm Thị Lan,,Nữ,40,412,16681,0987654321"
BAD_DOB = "040175000010,Đỗ Văn Tú,31/02/1975,Nam,40,412,16681,"  # quarantined, but not for a missing date
NO_DOB_DUPLICATE_ID = "040190000001,Nguyễn Thị Hoà,,Nữ,40,412,16681,"  # its person_id is a register person's


def _db(tmp_path):
    data = write_folder(tmp_path / "data", pop=[*POP_ROWS, NO_DOB, BAD_DOB, NO_DOB_DUPLICATE_ID])
    db = tmp_path / "db.duckdb"
    ingest(data, db)
    standardize_db(db)
    return duckdb.connect(str(db), read_only=True)


def test_no_dob_row_is_quarantined_and_kept_apart_with_the_register_standardisation(tmp_path):
    con = _db(tmp_path)
    # out of the register (the denominator) and in the quarantine, with its reason
    assert con.execute("SELECT count(*) FROM population").fetchone() == (3,)
    assert con.execute("SELECT count(*) FROM population_std WHERE unique_id = '040175000009'").fetchone() == (0,)
    assert [("040175000009" in r[0]) for r in con.execute(
        "SELECT raw FROM quarantine WHERE reason = 'missing date_of_birth' ORDER BY row_number").fetchall()] == [
        True, False]
    # kept apart: only the row whose one reason is the missing date, not the unparseable date,
    # nor a row repeating a register person's id
    ids = [r[0] for r in con.execute("SELECT person_id FROM population_incomplete").fetchall()]
    assert ids == ["040175000009"]
    std = con.execute("SELECT unique_id, surname_ascii, given_name_ascii, sex, dob, birth_year, "
                      "id_number, phone, commune_code FROM population_incomplete_std").fetchall()
    assert std == [("040175000009", "pham", "lan", "F", None, None, "040175000009", "0987654321", "16681")]
    # the same columns as the register's, from the same SQL
    cols = lambda t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]  # noqa: E731
    assert cols("population_incomplete_std") == cols("population_std")
    con.close()


def test_incomplete_register_accuracy_scores_the_new_column_apart():
    import pandas as pd

    from vaxstudy.accuracy import incomplete_register_accuracy

    rows = pd.DataFrame({
        "person_id":                     ["a", None, None, None, None, None],
        "incomplete_register_person_id": [None, "x", "y", None, None, "x"],
        "true_person_id":                ["a", "x", "z", "y", None, None],
    })
    acc = incomplete_register_accuracy(rows, {"x", "y"})
    assert acc["incomplete_link_precision"] == 1 / 3  # "x" right; "y" for z and "x" for an outsider wrong
    assert acc["incomplete_link_recall"] == 1 / 2  # of the rows of x and y
    assert acc["found_recall"] == 2 / 4  # a (person_id) and x (new column), of a, x, z, y
    assert incomplete_register_accuracy(rows, None)["incomplete_link_recall"] is None


def test_synth_register_entries_without_dob_with_truth(tmp_path):
    import json

    import pandas as pd

    from vaxstudy.synth import generate

    d = generate(tmp_path / "p", scale=0.001, seed=3, register_dob_missing=0.05)
    pop = pd.read_csv(d / "population.csv", dtype=str, keep_default_na=False)
    no_dob = set(pop.loc[pop["date_of_birth"] == "", "person_id"])
    assert 0.03 < len(no_dob) / len(pop) < 0.07
    truth = pd.read_csv(d / "truth.csv", dtype=str, keep_default_na=False)
    theirs = truth["true_person_id"].isin(no_dob)
    assert theirs.sum() > 0  # the truth still names them
    # the true unlinked rate counts their rows: the register as loaded lacks them
    s = json.loads((d / "truth_summary.json").read_text(encoding="utf-8"))
    assert round(s["unlinked_record_rate"] * s["n_records"]) == int((truth["true_person_id"] == "").sum() + theirs.sum())
    assert s["generator"]["params"]["register_dob_missing"] == 0.05


def test_metrics_split_of_the_unlinked_rows_with_suppression():
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from vaxstudy.estimate.rates import unlinked_split

    def split(n_linked, n_incomplete, n_outside):
        rows = pd.DataFrame({
            "person_id": [1.0] * n_linked + [np.nan] * (n_incomplete + n_outside),
            # a linked row never counts as incomplete, whatever the flag says
            "in_incomplete_register": [True] * n_linked + [True] * n_incomplete + [False] * n_outside})
        return unlinked_split(SimpleNamespace(scope_rows=lambda: rows))

    assert split(50, 12, 30) == {"n_unlinked_records": 42, "in_register_incomplete_entry": 12,
                                 "not_in_register": 30, "suppressed_below": None}
    # a small part is hidden with its complement (the total is published through the rate)
    assert split(50, 3, 30) == {"n_unlinked_records": 33, "in_register_incomplete_entry": None,
                                "not_in_register": None, "suppressed_below": 10}
    assert split(50, 0, 30)["in_register_incomplete_entry"] == 0  # none: nothing to hide


def test_worklists_route_an_incomplete_entry_to_completing_it_and_metrics_count_it(tmp_path):
    from helpers.estimatedb import make_db
    from vaxstudy.estimate import estimate_db
    from vaxstudy.standardize import standardize_db
    from vaxstudy.worklists.corrections import build_corrections
    from vaxstudy.worklists.queries import find_items

    sites = [dict(site_id="S1", site_name="Trạm Y tế xã A", province_code="40", district_code="412",
                  commune_code="17000")]
    pop = [dict(person_id=f"04000000000{i}") for i in range(1, 4)]
    v = [dict(record_id="r1", subject_id="A1", person=pop[0]["person_id"], id_number=pop[0]["person_id"]),
         # r2: its person is in the register without a date of birth (X); r3: nowhere, a candidate P3
         dict(record_id="r2", subject_id="B1", person=None, date_of_birth="03/04/1975"),
         dict(record_id="r3", subject_id="C1", person=None, cand=pop[2]["person_id"], cand_q=0.3, cand_any=0.4)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=3)]
    db = make_db(tmp_path / "w.duckdb", pop, v, sites, tal) or tmp_path / "w.duckdb"
    standardize_db(db)
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE record_links ADD COLUMN incomplete_register_person_id VARCHAR")
    con.execute("ALTER TABLE record_links ADD COLUMN incomplete_register_match_probability DOUBLE")
    con.execute("UPDATE record_links SET incomplete_register_person_id = 'X', "
                "incomplete_register_match_probability = 0.98 WHERE record_id = 'r2'")
    con.close()

    m = estimate_db(db, "40", "2021-07-01", "2021-10-31", tmp_path / "out", seed=1, n_boot=20, audit=False)
    # unchanged: r2 still counts as not found (r3 counts 1 - 0.4: its candidate may be its person)
    assert m["unlinked_record_rate"] == pytest.approx(1.6 / 3, abs=1e-6)
    assert m["unlinked_records"] == {"n_unlinked_records": 2, "in_register_incomplete_entry": None,
                                     "not_in_register": None, "suppressed_below": 10}  # 1 and 1: small
    con = duckdb.connect(str(db), read_only=True)
    try:
        items = find_items(con, "40", "2021-07-01", "2021-10-31")
    finally:
        con.close()
    u = items.unlinked.set_index("record_id")
    assert u.loc["r2", "task"] == "complete_register_entry" and u.loc["r3", "task"] == "check_residence"
    assert u.loc["r2", "probability"] == pytest.approx(0.02)
    c = build_corrections(items).set_index("record_id")
    assert c.loc["r2", "action"] == "complete_register_entry" and c.loc["r2", "target_id"] == "X"
    assert c.loc["r2", "field"] == "date_of_birth" and c.loc["r2", "proposed_value"] == "03/04/1975"
    assert c.loc["r3", "action"] == "check_residence" and c.loc["r3", "target_id"] == pop[2]["person_id"]


def test_privacy_scan_knows_the_register_entries_without_dob(tmp_path):
    from vaxstudy.report import privacy

    db = tmp_path / "p.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE population_incomplete AS SELECT 'Phạm Thị Lan Hương' AS full_name, "
                "'040175000009' AS person_id, '0987654321' AS phone")
    con.close()
    ids = privacy.identifiers_from_db(db)
    f = tmp_path / "r.html"
    f.write_text("<p>Phạm Thị Lan Hương, 040175000009</p>", encoding="utf-8")
    assert sorted(x.kind for x in privacy.scan_files([f], ids)) == ["name", "number"]


def test_record_links_gain_the_columns_on_unlinked_rows_only_in_entry_order():
    from vaxstudy.link.incomplete import add_to_record_links

    con = duckdb.connect()
    con.execute("""CREATE TABLE record_links AS SELECT * FROM (VALUES
        ('r1', 'P1', 0.99, 'P1', FALSE), ('r2', NULL, NULL, 'Ur2', FALSE), ('r3', NULL, NULL, 'Ur2', TRUE),
        ('r4', NULL, NULL, 'Ur4', FALSE)) t(record_id, person_id, match_probability, person_key, is_duplicate_dose)""")
    con.execute("""CREATE TABLE link_rows AS SELECT * FROM (VALUES
        ('r1', 'v1', 4), ('r2', 'v2', 1), ('r3', 'v2', 3), ('r4', 'v4', 2)) t(record_id, ident, _row)""")
    # v1 is linked: a match of its identity must not show; v2's two rows both carry X
    con.execute("CREATE TABLE ident_incomplete AS SELECT * FROM (VALUES ('v1', 'Y', 0.9), ('v2', 'X', 0.97)) "
                "t(ident, person_id, p)")
    assert add_to_record_links(con) == 2
    got = con.execute("SELECT record_id, person_id, incomplete_register_person_id, "
                      "incomplete_register_match_probability FROM record_links ORDER BY rowid").fetchall()
    assert got == [("r2", None, "X", 0.97), ("r4", None, None, None), ("r3", None, "X", 0.97),
                   ("r1", "P1", None, None)]
