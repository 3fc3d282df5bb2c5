"""standardize_db end to end on a small ingested folder: the design.md columns and values."""

import datetime as dt

import duckdb
import pytest

from vaxstudy.ingest import ingest
from vaxstudy.standardize import PERSON_COLUMNS, VACCINATION_EXTRA, standardize_db
from helpers.ingestdata import write_folder

DESIGN_PERSON_COLUMNS = [
    "unique_id", "name_original", "name_norm", "name_ascii", "surname", "middle_name", "given_name",
    "surname_ascii", "middle_name_ascii", "given_name_ascii", "dob", "birth_year", "dob_precision",
    "dob_ambiguous", "sex", "id_number", "id_type", "id_province_code", "id_consistent", "phone",
    "phone_valid", "province_code", "district_code", "commune_code", "commune_valid",
]


@pytest.fixture(scope="module")
def std_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("std")
    vac = [
        "r1,s1,NGUYỄN THỊ HOÀ,01/05/1990,Nữ,040 190 000 001,+84 912 345 678,40,412,16681,2021-07-01,1,AZ,S1,",
        "r2,s1,Nguyen Thi Hoa,1990,F,040190000001,01689123456,40,412,16681,2021-08-15,2,AZ,S1,",
        "r3,s2,Trần Văn An,2/3/85,1,186123456,abc,40,412,16681,2021-09-01,1,Pfizer,S1,",
        "r4,s3,Lê,,,,,,,,2021-09-01,1,Pfizer,S1,",
    ]
    data = write_folder(tmp / "data", vac=vac)
    db = tmp / "db.duckdb"
    ingest(data, db)
    standardize_db(db)
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def cols(con, table):
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def test_columns_are_those_of_design(std_db):
    assert list(PERSON_COLUMNS) == DESIGN_PERSON_COLUMNS
    assert cols(std_db, "population_std") == DESIGN_PERSON_COLUMNS
    assert cols(std_db, "vaccinations_std") == DESIGN_PERSON_COLUMNS + list(VACCINATION_EXTRA)


def test_one_row_per_key(std_db):
    assert std_db.execute("SELECT count(*), count(DISTINCT unique_id) FROM population_std").fetchone() == (3, 3)
    assert std_db.execute("SELECT count(*), count(DISTINCT unique_id) FROM vaccinations_std").fetchone() == (4, 4)


def row(con, table, uid):
    cur = con.execute(f"SELECT * FROM {table} WHERE unique_id = ?", [uid])
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


def test_vaccination_values(std_db):
    r1 = row(std_db, "vaccinations_std", "r1")
    assert (r1["name_original"], r1["name_norm"], r1["name_ascii"]) == ("NGUYỄN THỊ HOÀ", "nguyễn thị hòa", "nguyen thi hoa")
    assert (r1["surname"], r1["middle_name"], r1["given_name"]) == ("nguyễn", "thị", "hòa")
    assert (r1["dob"], r1["birth_year"], r1["dob_precision"], r1["dob_ambiguous"]) == (dt.date(1990, 5, 1), 1990, "day", True)
    assert (r1["sex"], r1["id_number"], r1["id_type"], r1["id_province_code"], r1["id_consistent"]) == (
        "F", "040190000001", "CCCD", "40", True)
    assert (r1["phone"], r1["phone_valid"]) == ("0912345678", True)
    assert (r1["province_code"], r1["district_code"], r1["commune_code"], r1["commune_valid"]) == ("40", "412", "16681", True)
    assert (r1["record_id"], r1["subject_id"], r1["dose_number"], r1["_row"]) == ("r1", "s1", 1, 1)

    r2 = row(std_db, "vaccinations_std", "r2")
    assert r2["name_norm"] == "nguyen thi hoa" and r2["dob"] is None and r2["dob_precision"] == "year"
    assert r2["phone"] == "0389123456"

    r3 = row(std_db, "vaccinations_std", "r3")
    assert (r3["dob"], r3["sex"], r3["id_type"], r3["id_consistent"], r3["phone"], r3["phone_valid"]) == (
        dt.date(1985, 3, 2), "M", "CMND", None, None, False)

    r4 = row(std_db, "vaccinations_std", "r4")
    assert (r4["surname"], r4["given_name"], r4["birth_year"], r4["sex"], r4["id_number"], r4["commune_valid"]) == (
        "", "lê", None, None, None, None)


def test_population_values(std_db):
    p = row(std_db, "population_std", "040190000001")
    assert (p["name_norm"], p["dob"], p["birth_year"], p["dob_ambiguous"], p["sex"]) == (
        "nguyễn thị hòa", dt.date(1990, 5, 1), 1990, False, "F")
    assert (p["id_number"], p["id_type"], p["id_consistent"]) == ("040190000001", "CCCD", True)
    q = row(std_db, "population_std", "040070000003")
    assert q["phone"] == "0389123456" and q["phone_valid"] is True


def test_register_and_registry_spellings_meet(std_db):
    """The point of it all: the same woman typed two ways standardises to one name."""
    pop = row(std_db, "population_std", "040190000001")
    vac = row(std_db, "vaccinations_std", "r1")
    assert pop["name_norm"] == vac["name_norm"] and pop["name_ascii"] == vac["name_ascii"]


def test_missing_db(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `vaxstudy ingest` first"):
        standardize_db(tmp_path / "none.duckdb")
