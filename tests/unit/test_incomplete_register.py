"""A register person without a date of birth (docs/linkage.md, *A register person without a
date of birth*): quarantined and out of the register, kept as a link candidate apart."""

import duckdb

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
