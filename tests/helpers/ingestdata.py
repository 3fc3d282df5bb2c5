"""A small data folder in the contract's layout, for the ingest and standardise tests."""

import duckdb

POP_HEADER = "person_id,full_name,date_of_birth,sex,province_code,district_code,commune_code,phone"
POP_ROWS = [
    "040190000001,Nguyễn Thị Hoà,1990-05-01,Nữ,40,412,16681,0912345678",
    "040085000002,Trần Văn An,02/03/1985,Nam,40,412,16681,",
    "040070000003,Lê Văn Bình,1970-12-31,Nam,40,412,16681,01689123456",
]
VAC_HEADER = ("record_id,subject_id,full_name,date_of_birth,sex,id_number,phone,province_code,"
              "district_code,commune_code,vaccination_date,dose_number,vaccine,site_id,entered_date")
VAC_ROWS = [
    "r1,s1,Nguyen Thi Hoa,1990,F,040190000001,+84912345678,40,412,16681,2021-07-01,1,AZ,S1,2021-07-02",
    "r2,s1,Nguyễn Thị Hòa,01/05/1990,Nữ,040190000001,,40,412,16681,15/08/2021,2,AZ,S1,",
    "r3,s2,Tran Van An,1985,Nam,,,40,412,16681,2021-09-01,1,Pfizer,S1,",
]
SITES = "site_id,site_name,province_code,district_code,commune_code\nS1,Trạm y tế xã,40,412,16681\n"
TALLIES = "site_id,vaccination_date,dose_number,doses_administered\nS1,2021-07-01,1,10\nS1,15/08/2021,2,12\n"


def write_folder(path, pop=None, vac=None, sites=SITES, tallies=TALLIES, encoding="utf-8"):
    """A data folder of CSVs; pop / vac are lists of data lines (header added)."""
    path.mkdir(parents=True, exist_ok=True)
    files = {
        "population.csv": "\n".join([POP_HEADER, *(POP_ROWS if pop is None else pop)]) + "\n",
        "vaccinations.csv": "\n".join([VAC_HEADER, *(VAC_ROWS if vac is None else vac)]) + "\n",
        "sites.csv": sites,
        "tallies.csv": tallies,
    }
    for name, text in files.items():
        if text is not None:
            (path / name).write_bytes(text.encode(encoding) if encoding != "cp1258" else to_cp1258(text))
    return path


def to_cp1258(text):
    """Encode as Windows-1258 spells Vietnamese (the package's one rule for it)."""
    from vaxstudy.worklists.apply import cp1258_form

    return cp1258_form(text).encode("cp1258")


def counts_identity(result):
    for t in result.tables.values():
        assert t.rows_read == t.rows_loaded + t.rows_quarantined, t


def table(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchdf()
    finally:
        con.close()


# ----------------------------------------------------------------- happy paths
