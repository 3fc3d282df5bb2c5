"""Ingest: readers, encodings, columns.yaml, every failure mode with its message, and the
rows read = loaded + quarantined identity on broken inputs built here."""

import datetime as dt
import json
import unicodedata

import duckdb
import pandas as pd
import pytest

from vaxstudy.ingest import IngestError, detect_encoding, ingest
from helpers.ingestdata import write_folder, counts_identity, table, POP_ROWS, VAC_HEADER, VAC_ROWS, SITES, TALLIES


def test_clean_folder_loads_typed_tables(tmp_path):
    data = write_folder(tmp_path / "data")
    res = ingest(data, tmp_path / "db.duckdb")
    counts_identity(res)
    assert {t: (c.rows_read, c.rows_loaded, c.rows_quarantined) for t, c in res.tables.items()} == {
        "population": (3, 3, 0), "vaccinations": (3, 3, 0), "sites": (1, 1, 0), "tallies": (2, 2, 0)}
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'vaccinations'").fetchall())
    assert types["vaccination_date"] == "DATE" and types["dose_number"] == "INTEGER"
    assert types["date_of_birth"] == "VARCHAR" and types["entered_date"] == "DATE"
    v = con.execute("SELECT record_id, vaccination_date, _row, _source FROM vaccinations ORDER BY _row").fetchall()
    assert v[1] == ("r2", dt.date(2021, 8, 15), 2, "vaccinations.csv")  # dd/mm/yyyy accepted
    p = con.execute("SELECT date_of_birth FROM population WHERE person_id = '040085000002'").fetchone()
    assert p == (dt.date(1985, 3, 2),)
    log = con.execute("SELECT table_name, rows_read, rows_loaded, rows_quarantined, length(sha256) "
                      "FROM ingest_log ORDER BY table_name").fetchall()
    assert ("population", 3, 3, 0, 64) in log
    con.close()
    assert (tmp_path / "quarantine.csv").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_encodings_detected_and_nfc(tmp_path, encoding):
    data = write_folder(tmp_path / "data", encoding=encoding)
    assert detect_encoding(data / "population.csv").replace("_", "-").startswith(
        {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16", "cp1258": "cp1258"}[encoding])
    res = ingest(data, tmp_path / "db.duckdb")
    counts_identity(res)
    names = table(tmp_path / "db.duckdb", "SELECT full_name FROM population ORDER BY _row")["full_name"].tolist()
    assert names == ["Nguyễn Thị Hoà", "Trần Văn An", "Lê Văn Bình"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


def test_semicolon_delimiter(tmp_path):
    data = write_folder(tmp_path / "data")
    (data / "sites.csv").write_text(SITES.replace(",", ";"), encoding="utf-8")
    res = ingest(data, tmp_path / "db.duckdb")
    assert res["sites"].rows_loaded == 1
    assert table(tmp_path / "db.duckdb", "SELECT site_name FROM sites").iloc[0, 0] == "Trạm y tế xã"


def test_xlsx_with_title_rows_and_parquet(tmp_path):
    data = write_folder(tmp_path / "data", vac=None)
    (data / "vaccinations.csv").unlink()
    (data / "tallies.csv").unlink()
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["BÁO CÁO TIÊM CHỦNG COVID-19 — TỈNH NGHỆ AN"])
    ws.append(["Xuất ngày 01/11/2021"])
    ws.append([])
    ws.append(VAC_HEADER.split(","))
    ws.append(["r1", "s1", "Nguyễn Thị Hoà", "1990", "Nữ", "040190000001", "0912345678", "40", "412",
               "16681", dt.datetime(2021, 7, 1), 1, "AZ", "S1", None])
    ws.append(["r2", "s1", "Nguyễn Thị Hoà", "1990", "Nữ", "040190000001", None, 40, 412,
               16681, "15/08/2021", 2.0, "AZ", "S1", dt.datetime(2021, 8, 16)])
    ws.append(["r3", "s2", "X", "1990", "Nữ", None, None, 40, 412, 16681, "2021-08-15", 1.5, "AZ", "S1", None])
    wb.save(data / "vaccinations.xlsx")
    pd.DataFrame({"site_id": ["S1", "S1"], "vaccination_date": [dt.date(2021, 7, 1), dt.date(2021, 8, 15)],
                  "dose_number": [1, 2], "doses_administered": [10, 12]}).to_parquet(data / "tallies.parquet")
    res = ingest(data, tmp_path / "db.duckdb")
    counts_identity(res)
    assert (res["vaccinations"].rows_read, res["vaccinations"].rows_loaded) == (3, 2)
    v = table(tmp_path / "db.duckdb", "SELECT * FROM vaccinations ORDER BY _row")
    assert v["vaccination_date"].tolist() == [pd.Timestamp("2021-07-01"), pd.Timestamp("2021-08-15")]
    assert v["dose_number"].tolist() == [1, 2]
    assert v["province_code"].tolist() == ["40", "40"]
    assert v["_row"].tolist() == [1, 2]
    q = table(tmp_path / "db.duckdb", "SELECT * FROM quarantine")
    assert q["row_number"].tolist() == [3] and "dose_number=1.5" in q["reason"].iloc[0]
    t = table(tmp_path / "db.duckdb", "SELECT * FROM tallies ORDER BY _row")
    assert t["doses_administered"].tolist() == [10, 12] and t["_row"].tolist() == [1, 2]


def test_columns_yaml_renames_and_date_formats(tmp_path):
    data = write_folder(tmp_path / "data")
    (data / "vaccinations.csv").write_text(
        "Ma,Ho so,Ho ten,Ngay tiem,Mui,Diem tiem\n"
        "r1,s1,Nguyễn Thị Hoà,07-01-2021,1,S1\n"      # month-first: only valid with the format
        "r2,s1,Nguyễn Thị Hoà,08-15-2021,2,S1\n"
        "r3,s2,Lê Văn Bình,2021-09-01,1,S1\n", encoding="utf-8")  # ISO (spreadsheet cells) still read
    (data / "columns.yaml").write_text(
        "vaccinations:\n"
        "  columns: {Ma: record_id, 'Ho so': subject_id, 'Ho ten': full_name, 'Ngay tiem': vaccination_date,\n"
        "            Mui: dose_number, 'Diem tiem': site_id}\n"
        "  date_formats: {vaccination_date: '%m-%d-%Y'}\n", encoding="utf-8")
    res = ingest(data, tmp_path / "db.duckdb")
    assert res["vaccinations"].rows_loaded == 3
    v = table(tmp_path / "db.duckdb", "SELECT vaccination_date, phone FROM vaccinations ORDER BY _row")
    assert v["vaccination_date"].tolist() == [pd.Timestamp("2021-07-01"), pd.Timestamp("2021-08-15"),
                                              pd.Timestamp("2021-09-01")]
    assert v["phone"].isna().all()  # optional columns absent from the file are NULL


# ----------------------------------------------------------------- stops


def test_missing_table(tmp_path):
    data = write_folder(tmp_path / "data", tallies=None)
    with pytest.raises(IngestError, match=r"table 'tallies' not found: expected tallies\.csv"):
        ingest(data, tmp_path / "db.duckdb")


def test_missing_required_column(tmp_path):
    data = write_folder(tmp_path / "data")
    (data / "tallies.csv").write_text("site_id,vaccination_date,dose_number,so_lieu\nS1,2021-07-01,1,3\n")
    with pytest.raises(IngestError) as err:
        ingest(data, tmp_path / "db.duckdb")
    msg = str(err.value)
    assert "tallies.csv" in msg and "['doses_administered']" in msg and "so_lieu" in msg


def test_duplicate_person_id(tmp_path):
    data = write_folder(tmp_path / "data", pop=POP_ROWS + [
        "040190000001,Nguyễn Thị Hoà B,1991-05-01,Nữ,40,412,16681,",
        "040085000002,Trần Văn An,1985-03-02,Nam,40,412,16681,",
    ])
    with pytest.raises(IngestError) as err:
        ingest(data, tmp_path / "db.duckdb")
    msg = str(err.value)
    assert "population.csv" in msg and "'person_id'" in msg and "2 value(s) repeat" in msg
    assert "'040190000001' at rows [1, 4]" in msg and "'040085000002' at rows [2, 5]" in msg


def test_bad_columns_yaml(tmp_path):
    data = write_folder(tmp_path / "data")
    (data / "columns.yaml").write_text("vacinations:\n  columns: {a: b}\n")
    with pytest.raises(IngestError, match="unknown table"):
        ingest(data, tmp_path / "db.duckdb")


def test_cli_reports_error_without_traceback(tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    data = write_folder(tmp_path / "data", sites=None)
    r = CliRunner().invoke(app, ["ingest", "--data", str(data), "--db", str(tmp_path / "db.duckdb")])
    assert r.exit_code == 1
    out = r.output + (r.stderr if hasattr(r, "stderr") else "")
    assert "ingest failed" in out and "sites" in out and "Traceback" not in out


# ----------------------------------------------------------------- quarantine


BROKEN_VAC = [
    VAC_ROWS[0],                                                                          # 1 ok
    "r2,s1,X,1990,F,,,40,412,16681,2021-13-45,1,AZ,S1,",                                   # 2 impossible ISO date
    "r3,s1,X,1990,F,,,40,412,16681,hôm qua,1,AZ,S1,",                                      # 3 unparseable
    "r4,s1,X,1990,F,,,40,412,16681,15/08/2019,1,AZ,S1,",                                   # 4 before any COVID vaccine
    "r5,s1,X,1990,F,,,40,412,16681,2021-08-15,0,AZ,S1,",                                   # 5 dose 0
    "r6,s1,X,1990,F,,,40,412,16681,2021-08-15,1.5,AZ,S1,",                                 # 6 dose 1.5
    "r7,s1,X,1990,F,,,40,412,16681,2021-08-15,hai,AZ,S1,",                                 # 7 dose text
    "r8,s1,X,1990,F,,,40,412,16681,2021-08-15,2,AZ,S1",                                    # 8 too few fields
    "r9,s1,X,1990,F,,,40,412,16681,2021-08-15,2,AZ,S1,,extra",                             # 9 too many fields
    "r1,s9,X,1990,F,,,40,412,16681,2021-08-15,2,AZ,S1,",                                   # 10 duplicate record_id
    "r11,,X,1990,F,,,40,412,16681,2021-08-15,2,AZ,S1,",                                    # 11 missing subject_id
    "r12,s1,X,1990,F,,,40,412,16681,,2,AZ,S1,",                                            # 12 missing date
    "r13,s1,X,1990,F,,,40,412,16681,2021-08-15,2,AZ,S1,not a date",                        # 13 ok, entered_date NULL
    VAC_ROWS[2].replace("r3,", "r14,"),                                                    # 14 ok
]
EXPECTED_REASONS = {
    2: ("vaccination_date", "unparseable date vaccination_date=2021-13-45"),
    3: ("vaccination_date", "unparseable date vaccination_date=hôm qua"),
    4: ("vaccination_date", "impossible date vaccination_date=15/08/2019"),
    5: ("dose_number", "dose_number=0 is not an integer >= 1"),
    6: ("dose_number", "dose_number=1.5 is not an integer >= 1"),
    7: ("dose_number", "dose_number=hai is not an integer >= 1"),
    8: (None, "too few fields"),
    9: (None, "too many fields"),
    10: ("record_id", "duplicate record_id r1 (first at row 1)"),
    11: ("subject_id", "missing subject_id"),
    12: ("vaccination_date", "missing vaccination_date"),
}


def test_quarantine_reasons_rows_and_identity(tmp_path):
    data = write_folder(tmp_path / "data", vac=BROKEN_VAC, pop=POP_ROWS + [
        "040190000009,Bad Date,31/02/1990,Nữ,40,412,16681,",
        "040190000010,Future,2090-01-01,Nữ,40,412,16681,",
        ",No Id,1990-01-01,Nữ,40,412,16681,",
    ], tallies=TALLIES + "S1,2021-07-02,1,mười\nS1,2021-07-03,1,-3\nS1,2021-07-04,1,7\n")
    db = tmp_path / "out" / "db.duckdb"
    res = ingest(data, db)
    counts_identity(res)
    got = {t: (c.rows_read, c.rows_loaded, c.rows_quarantined) for t, c in res.tables.items()}
    assert got == {"population": (6, 3, 3), "vaccinations": (14, 3, 11), "sites": (1, 1, 0), "tallies": (5, 3, 2)}

    q = table(db, "SELECT * FROM quarantine WHERE table_name = 'vaccinations' ORDER BY row_number")
    assert q["row_number"].tolist() == sorted(EXPECTED_REASONS)
    for _, r in q.iterrows():
        col, reason = EXPECTED_REASONS[r.row_number]
        assert reason in r.reason, (r.row_number, r.reason)
        assert (r.column_name if isinstance(r.column_name, str) else None) == col
        raw = json.loads(r.raw)
        assert raw  # the row as read, for the user to fix
    # a row with too few fields keeps its text
    assert json.loads(q.set_index("row_number").loc[8, "raw"])["csv_line"].startswith("r8,")

    v = table(db, "SELECT record_id, _row, entered_date FROM vaccinations ORDER BY _row")
    assert v["record_id"].tolist() == ["r1", "r13", "r14"]
    assert v["_row"].tolist() == [1, 13, 14]  # data-row numbers survive the rejected lines
    assert v["entered_date"].isna().tolist() == [False, True, True]

    qp = table(db, "SELECT row_number, reason FROM quarantine WHERE table_name = 'population' ORDER BY 1")
    assert qp["row_number"].tolist() == [4, 5, 6]
    assert "unparseable date date_of_birth=31/02/1990" in qp["reason"][0]
    assert "impossible date date_of_birth=2090-01-01" in qp["reason"][1]
    assert "missing person_id" in qp["reason"][2]
    qt = table(db, "SELECT row_number, reason FROM quarantine WHERE table_name = 'tallies' ORDER BY 1")
    assert qt["row_number"].tolist() == [3, 4]
    assert "doses_administered=mười is not a count >= 0" in qt["reason"][0]
    assert "doses_administered=-3 is not a count >= 0" in qt["reason"][1]

    csv = pd.read_csv(tmp_path / "out" / "quarantine.csv")
    assert len(csv) == 16 and set(csv.columns) == {"table_name", "source_file", "row_number", "column_name",
                                                   "reason", "raw"}
    log = table(db, "SELECT * FROM ingest_log").set_index("table_name")
    assert (log["rows_read"] == log["rows_loaded"] + log["rows_quarantined"]).all()
    assert log.loc["vaccinations", "rows_quarantined"] == 11


def test_quarantine_path_option_and_reingest_replaces(tmp_path):
    data = write_folder(tmp_path / "data", vac=BROKEN_VAC)
    db = tmp_path / "db.duckdb"
    ingest(data, db, quarantine_path=tmp_path / "q" / "bad.csv")
    assert (tmp_path / "q" / "bad.csv").exists()
    write_folder(tmp_path / "data")
    res = ingest(data, db)
    assert res.rows_quarantined == 0
    assert table(db, "SELECT count(*) FROM quarantine").iloc[0, 0] == 0
    assert table(db, "SELECT count(*) FROM vaccinations").iloc[0, 0] == 3


def test_utf16_without_bom_detected(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("a,b\nNguyễn,1\n".encode("utf-16-le"))
    assert detect_encoding(p) == "utf-16-le"


def test_columns_yaml_file_entry_and_bad_target(tmp_path):
    data = write_folder(tmp_path / "data")
    (data / "sites.csv").rename(data / "danh_sach_diem_tiem.csv")
    (data / "columns.yaml").write_text("sites:\n  file: danh_sach_diem_tiem.csv\n")
    assert ingest(data, tmp_path / "db.duckdb")["sites"].source_file == "danh_sach_diem_tiem.csv"
    (data / "columns.yaml").write_text("sites:\n  file: missing.csv\n")
    with pytest.raises(IngestError, match=r"missing\.csv: file named for table 'sites'"):
        ingest(data, tmp_path / "db.duckdb")
    (data / "columns.yaml").write_text("sites:\n  file: danh_sach_diem_tiem.csv\n  columns: {site_name: ten_diem}\n")
    with pytest.raises(IngestError, match=r"sites.columns maps 'site_name' to 'ten_diem', not a column of 'sites'"):
        ingest(data, tmp_path / "db.duckdb")


def test_cp1258_after_a_long_ascii_start(tmp_path):
    """Non-UTF-8 bytes far beyond the detection sample still switch the file to cp1258."""
    ascii_rows = [f"0400{i:08d},Nguyen Van A,1990-01-01,Nam,40,412,16681," for i in range(9000)]
    data = write_folder(tmp_path / "data", pop=ascii_rows + ["040199999999,Nguyễn Thị Hoà,1990-05-01,Nữ,40,412,16681,"],
                        encoding="cp1258")
    assert (data / "population.csv").stat().st_size > 256 * 1024
    assert detect_encoding(data / "population.csv") == "cp1258"
    res = ingest(data, tmp_path / "db.duckdb")
    assert res["population"].rows_loaded == 9001
    last = table(tmp_path / "db.duckdb", "SELECT full_name FROM population WHERE _row = 9001").iloc[0, 0]
    assert last == "Nguyễn Thị Hoà"


def test_empty_and_corrupt_files(tmp_path):
    data = write_folder(tmp_path / "data")
    (data / "sites.csv").write_text("")
    with pytest.raises(IngestError, match=r"sites\.csv: empty file"):
        ingest(data, tmp_path / "db.duckdb")
    (data / "sites.csv").unlink()
    (data / "sites.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(IngestError, match=r"sites\.parquet: this \.parquet file is text, not Parquet"):
        ingest(data, tmp_path / "db.duckdb")
    (data / "sites.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(IngestError, match=r"sites\.parquet: cannot read as Parquet: [^\n]*; export the table"):
        ingest(data, tmp_path / "db.duckdb")


def test_cli_prints_the_row_accounting(tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    data = write_folder(tmp_path / "data", vac=BROKEN_VAC)
    r = CliRunner().invoke(app, ["ingest", "--data", str(data), "--db", str(tmp_path / "db.duckdb")],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if "vaccinations" in ln)
    assert [c.strip() for c in line.split("│") if c.strip()] == ["vaccinations", "vaccinations.csv", "14", "3", "11", "-"]
    assert "quarantined with their reasons" in r.output
    r2 = CliRunner().invoke(app, ["standardize", "--db", str(tmp_path / "db.duckdb")], env={"COLUMNS": "200"})
    assert r2.exit_code == 0, r2.output
    assert "vaccinations_std" in r2.output


def test_repeated_keys_first_row_kept_every_repeat_named(tmp_path):
    """A key met again is quarantined at each repeat with its first row: three times, written with
    spaces around it, site codes in another case; empty keys are missing, never repeats. Every
    line reads (no rejected line), so the rows come straight from the read file."""
    vac = [VAC_ROWS[0],                                        # 1 r1 kept
           VAC_ROWS[1].replace("r2,", " r1 ,"),                # 2 r1 again (trimmed)
           VAC_ROWS[2],                                        # 3 r3 kept
           VAC_ROWS[2].replace("r3,", ",").replace("Tran", "A"),   # 4 empty record_id
           VAC_ROWS[2].replace("r3,", ",").replace("Tran", "B"),   # 5 empty again: missing, not a repeat
           VAC_ROWS[0],                                        # 6 r1 a third time
           VAC_ROWS[2].replace("r3,", "r7,")]                  # 7 kept
    sites = SITES + " s1 ,Again,40,412,16681\nS2,Other,40,412,16681\ns2,Other again,40,412,16681\n"
    db = tmp_path / "db.duckdb"
    res = ingest(write_folder(tmp_path / "data", vac=vac, sites=sites), db)
    counts_identity(res)
    q = table(db, "SELECT table_name, row_number, reason FROM quarantine ORDER BY 1, 2")
    assert [tuple(r) for r in q.itertuples(index=False)] == [
        ("sites", 2, "duplicate site_id S1 (first at row 1)"),
        ("sites", 4, "duplicate site_id S2 (first at row 3)"),
        ("vaccinations", 2, "duplicate record_id r1 (first at row 1)"),
        ("vaccinations", 4, "missing record_id"),
        ("vaccinations", 5, "missing record_id"),
        ("vaccinations", 6, "duplicate record_id r1 (first at row 1)"),
    ]
    v = table(db, "SELECT record_id, _row FROM vaccinations")  # stored in file order
    assert v["record_id"].tolist() == ["r1", "r3", "r7"] and v["_row"].tolist() == [1, 3, 7]
    assert table(db, "SELECT site_id FROM sites")["site_id"].tolist() == ["S1", "S2"]
