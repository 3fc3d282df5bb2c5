"""A tiny province built inside each hostile test (a few rows), and helpers to run the CLI
and compute the record rates straight from an ingested database (no linkage: each row
is its own person), so every case runs in well under a second."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

POP = [
    "person_id,full_name,date_of_birth,sex,province_code,district_code,commune_code,phone",
    "040190000001,Nguyễn Thị Hoà,1990-05-01,F,40,412,16681,0912345678",
    "040085000002,Trần Văn An,1985-03-02,M,40,412,16681,0987654321",
    "040070000003,Lê Bảo Phú,1970-12-31,M,40,413,16700,",
]
VAC_HEADER = ("record_id,subject_id,full_name,date_of_birth,sex,id_number,phone,province_code,"
              "district_code,commune_code,vaccination_date,dose_number,vaccine,site_id,entered_date")
VAC = [
    VAC_HEADER,
    "r1,s1,Nguyen Thi Hoa,1990,F,040190000001,0912345678,40,412,16681,2021-07-01,1,AZ,S1,2021-07-02",
    "r2,s2,Tran Van An,02/03/1985,M,,,40,412,16681,2021-07-01,1,AZ,S1,2021-07-01",
    "r3,s3,Le Bao Phu,1970,M,,,40,413,16700,2021-07-02,1,AZ,S2,2021-07-03",
    "r4,s1,Nguyen Thi Hoa,1990,F,,,40,412,16681,2021-08-01,2,AZ,S1,2021-08-01",
]
SITES = [
    "site_id,site_name,province_code,district_code,commune_code",
    "S1,Trạm y tế 1,40,412,16681",
    "S2,Trạm y tế 2,40,413,16700",
]
TALLIES = [
    "site_id,vaccination_date,dose_number,doses_administered",
    "S1,2021-07-01,1,4",
    "S2,2021-07-02,1,2",
    "S1,2021-08-01,2,1",
]
PERIOD = ("2021-06-01", "2021-08-31")


def write_folder(path: Path, **tables: list[str] | str | bytes | None) -> Path:
    """A data folder: the tiny province, with any table replaced (lines, text or bytes;
    None leaves the file out)."""
    path.mkdir(parents=True, exist_ok=True)
    base = {"population": POP, "vaccinations": VAC, "sites": SITES, "tallies": TALLIES}
    for name, content in {**base, **tables}.items():
        if content is None:
            continue
        target = path / (name if "." in name else f"{name}.csv")
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content if isinstance(content, str) else "\n".join(content) + "\n",
                              encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path):
    """``folder(name, **tables)``: write a data folder under tmp_path."""
    return lambda name="data", **tables: write_folder(tmp_path / name, **tables)


def run_cli(*args: str):
    """The CLI in process (typer's CliRunner), wide enough that messages are not wrapped."""
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    res = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    res.flat = " ".join(res.output.split())  # the output with line breaks and runs of spaces as one space
    return res


def accounting(db: Path) -> dict[str, tuple[int, int, int]]:
    """table -> (read, loaded, quarantined) from ingest_log, checked against the tables."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t, read, loaded, quar in con.execute(
                "SELECT table_name, rows_read, rows_loaded, rows_quarantined FROM ingest_log").fetchall():
            assert read == loaded + quar, t
            assert con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == loaded
            assert con.execute("SELECT count(*) FROM quarantine WHERE table_name = ?", [t]).fetchone()[0] == quar
            out[t] = (read, loaded, quar)
        return out
    finally:
        con.close()


def inputs_of(db: Path, province: str = "40", period=PERIOD):
    """The estimate's inputs of an ingested database, each row linked to the register person
    of its id_number where there is one, else its own person (no duplicates)."""
    from vaxstudy.estimate.data import load_inputs

    con = duckdb.connect(str(db))
    try:
        con.execute("""CREATE OR REPLACE TABLE record_links AS
            SELECT v.record_id, p.person_id, CASE WHEN p.person_id IS NOT NULL THEN 1.0 END AS match_probability,
                   coalesce(p.person_id, v.record_id) AS person_key, false AS is_duplicate_dose
            FROM vaccinations v LEFT JOIN population p ON p.person_id = v.id_number""")
        return load_inputs(con, province, *period)
    finally:
        con.close()


def record_rates_of(db: Path, province: str = "40", period=PERIOD) -> dict[str, float]:
    """The record rates of an ingested database (links as in :func:`inputs_of`)."""
    from vaxstudy.estimate.rates import record_rates, record_site_aggregates

    inp = inputs_of(db, province, period)
    agg = record_site_aggregates(inp)
    inprov = inp.sites["in_province"].to_numpy()
    tot = {k: v[inprov].sum() for k, v in agg.items()}
    return {k: float(v) for k, v in record_rates(tot).items()}


def quarantine_rows(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT table_name, row_number, column_name, reason FROM quarantine "
                           "ORDER BY table_name, row_number").fetchall()
    finally:
        con.close()
