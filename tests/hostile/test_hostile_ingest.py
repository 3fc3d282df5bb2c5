"""Hostile inputs at ingest (issue 17): each ends in a clear message (file, column, example
values) with a non-zero exit, or in quarantined rows with their reason and figures equal to
those of the cleaned input; rows read = loaded + quarantined throughout."""

from __future__ import annotations

import math

import pytest
from conftest import (POP, SITES, TALLIES, VAC, VAC_HEADER, accounting, quarantine_rows, record_rates_of,
                      run_cli)

from vaxstudy.ingest import IngestError, ingest


def _lit(s):
    return "'" + s.replace("'", "''") + "'"


def _ingest(data, tmp_path, name="db.duckdb"):
    db = tmp_path / name
    ingest(data, db)
    return db


# -- codes: one normal form everywhere ------------------------------------------------------


def test_site_codes_differing_in_case_and_spaces_match(folder, tmp_path):
    clean = _ingest(folder("clean"), tmp_path, "clean.duckdb")
    messy_vac = [VAC[0]] + [ln.replace(",S1,", ", s1 ,").replace(",S2,", ",s2,") for ln in VAC[1:]]
    messy = folder("messy", vaccinations=messy_vac,
                   sites=[SITES[0], " s1 ,Trạm y tế 1,40,412,16681", "S2,Trạm y tế 2,40,413,16700"],
                   tallies=[TALLIES[0], "s1,2021-07-01,1,4", "S2 ,2021-07-02,1,2", "\ts1,2021-08-01,2,1"])
    db = _ingest(messy, tmp_path, "messy.duckdb")
    assert accounting(db) == accounting(clean)
    assert quarantine_rows(db) == []
    a, b = record_rates_of(clean), record_rates_of(db)
    assert a["missing_entry_rate"] == pytest.approx(1 - 4 / 7)
    assert a == b


def test_gso_codes_are_one_normal_form():
    import duckdb

    from vaxstudy.codes import gso_code, gso_code_sql, site_code, site_code_sql

    for raw, width, want in [("4", 2, "04"), ("40.0", 2, "40"), (" 412 ", 3, "412"), ("4012", 2, None),
                             ("x1", 2, None), ("", 2, None)]:
        assert gso_code(raw, width) == want
        assert duckdb.sql(f"SELECT {gso_code_sql(_lit(raw), width)}").fetchall()[0][0] == want
    for raw, want in [(" s1\t", "S1"), ("TYT40001", "TYT40001"), ("  ", None)]:
        assert site_code(raw) == want
        assert duckdb.sql(f"SELECT {site_code_sql(_lit(raw))}").fetchall()[0][0] == want


# -- references: unknown sites ---------------------------------------------------------------


def test_rows_and_tallies_at_unknown_sites_are_quarantined(folder, tmp_path):
    data = folder(vaccinations=VAC + ["r5,s5,Ho Van Ba,1980,M,,,40,412,16681,2021-07-01,1,AZ,S9,2021-07-01"],
                  tallies=TALLIES + ["S9,2021-07-01,1,30"])
    res = ingest(data, tmp_path / "db.duckdb")
    acc = accounting(tmp_path / "db.duckdb")
    assert acc["vaccinations"] == (5, 4, 1) and acc["tallies"] == (4, 3, 1)
    q = quarantine_rows(tmp_path / "db.duckdb")
    assert ("vaccinations", 5, "site_id", "site_id not in sites: 'S9'") in q
    assert ("tallies", 4, "site_id", "site_id not in sites: 'S9'") in q
    from vaxstudy.report.data import generic_reason

    assert generic_reason(q[0][3]) == "site_id not in sites"  # one line in the report, whatever the site
    assert any("site(s) not in sites quarantined, e.g. site_id 'S9'" in n for n in res.notes)
    # the figures are those of the input without the unknown site
    assert record_rates_of(tmp_path / "db.duckdb") == record_rates_of(_ingest(folder("clean"), tmp_path, "c.duckdb"))


def test_cli_prints_the_unknown_site_note(folder, tmp_path):
    data = folder(tallies=TALLIES + ["S9,2021-07-01,1,30"])
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "db.duckdb")
    assert r.exit_code == 0, r.output
    assert "tallies: 1 row(s) at site(s) not in sites quarantined, e.g. site_id 'S9'" in r.output


# -- a quarantined tally leaves both sides of missing_entry_rate ------------------------------


@pytest.mark.parametrize("count", ["four", "-3"])
def test_quarantined_tally_site_day_leaves_numerator_and_denominator(folder, tmp_path, count):
    bad = [TALLIES[0], f"S1,2021-07-01,1,{count}", TALLIES[2], TALLIES[3]]
    db = _ingest(folder("bad", tallies=bad), tmp_path, "bad.duckdb")
    assert accounting(db)["tallies"] == (3, 2, 1)
    assert quarantine_rows(db) == [("tallies", 1, "doses_administered",
                                    f"doses_administered={count} is not a count >= 0")]
    # the same figure as an input without that site-day at all (its 2 rows, its tally)
    without = folder("without", vaccinations=[ln for ln in VAC if ",2021-07-01,1,AZ,S1," not in ln],
                     tallies=[TALLIES[0], TALLIES[2], TALLIES[3]])
    ref = record_rates_of(_ingest(without, tmp_path, "ref.duckdb"))
    got = record_rates_of(db)
    assert got["missing_entry_rate"] == pytest.approx(ref["missing_entry_rate"]) == pytest.approx(1 - 2 / 3)
    assert got["missing_entry_rate_naive"] == pytest.approx(ref["missing_entry_rate_naive"])
    # the other record rates keep every row (r1 is linked, r2-r4 are not)
    assert got["unlinked_record_rate"] == 0.75 and ref["unlinked_record_rate"] == 1.0


def test_quarantined_tally_site_day_leaves_the_coverage_correction(folder, tmp_path):
    """Corrected coverage imputes missing doses from tally minus entries: a site-day whose
    tally was quarantined takes no part (its entries are not set against a tally of 0)."""
    from conftest import inputs_of

    from vaxstudy.estimate.coverage import coverage_parts

    bad = _ingest(folder("bad", tallies=[TALLIES[0], "S1,2021-07-01,1,", TALLIES[2], TALLIES[3]]),
                  tmp_path, "bad.duckdb")
    without = _ingest(folder("without", vaccinations=[ln for ln in VAC if ",2021-07-01,1,AZ,S1," not in ln],
                             tallies=[TALLIES[0], TALLIES[2], TALLIES[3]]), tmp_path, "ref.duckdb")
    got, ref = coverage_parts(inputs_of(bad)), coverage_parts(inputs_of(without))
    assert got.c.sum() == pytest.approx(ref.c.sum()) and got.undercount.tolist() == ref.undercount.tolist()
    assert got.tally.sum() == ref.tally.sum() == 3
    assert got.rec[0].sum() == 1 and ref.rec[0].sum() == 0  # r1's dose is still recorded


# -- impossible date orders --------------------------------------------------------------------


def test_impossible_date_orders_are_quarantined_with_their_reason(folder, tmp_path):
    vac = VAC + [
        "r5,s5,Ho Van Ba,2022,M,,,40,412,16681,2021-07-01,1,AZ,S1,2021-07-01",        # born (year) after
        "r6,s6,Ho Van Ca,15/07/2021,M,,,40,412,16681,2021-07-01,1,AZ,S1,2021-07-01",  # born (day) after
        "r7,s7,Ho Van Da,1980,M,,,40,412,16681,2021-07-05,1,AZ,S1,2021-07-04",        # entered before given
        "r8,s8,Ho Van Ea,,M,,,40,412,16681,2021-07-05,1,AZ,S1,2021-07-05",            # unknown birth: kept
    ]
    db = _ingest(folder(vaccinations=vac), tmp_path)
    assert accounting(db)["vaccinations"] == (8, 5, 3)
    reasons = {r[1]: (r[2], r[3]) for r in quarantine_rows(db)}
    assert reasons[5] == ("vaccination_date", "vaccinated before birth: vaccination_date=2021-07-01 "
                                              "earlier than date_of_birth=2022")
    assert reasons[6][1].startswith("vaccinated before birth") and "15/07/2021" in reasons[6][1]
    assert reasons[7] == ("entered_date", "entered before given: entered_date=2021-07-04 "
                                          "earlier than vaccination_date=2021-07-05")
    assert 8 not in reasons


# -- empty and unusable tables ------------------------------------------------------------------


@pytest.mark.parametrize("table", ["population", "vaccinations", "sites", "tallies"])
def test_header_only_table_stops_at_ingest(folder, tmp_path, table):
    header = {"population": POP, "vaccinations": VAC, "sites": SITES, "tallies": TALLIES}[table][:1]
    data = folder(**{table: header})
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "db.duckdb")
    assert r.exit_code == 1
    assert f"{table}.csv: table '{table}' has a header" in r.output and "no data rows" in r.output
    assert "Traceback" not in r.output


def test_table_with_no_usable_row_stops_and_points_to_the_quarantine(folder, tmp_path):
    data = folder(vaccinations=[VAC_HEADER, "r1,s1,A,1990,F,,,40,412,16681,31/31/2021,1,AZ,S1,"])
    with pytest.raises(IngestError, match=r"vaccinations\.csv: none of the 1 row\(s\) of table 'vaccinations' "
                                          r"is usable \('unparseable date vaccination_date=31/31/2021"):
        ingest(data, tmp_path / "db.duckdb")
    assert (tmp_path / "quarantine.csv").exists()


# -- columns.yaml --------------------------------------------------------------------------------


@pytest.mark.parametrize("yaml_text, message", [
    ("vaccinations:\n  colums:\n    Ngay tiem: vaccination_date\n",
     r"vaccinations\.colums: unknown key; did you mean 'columns'\?"),
    ("population:\n  header_row: 3\n",
     r"population\.header_row: unknown key; valid keys: file, encoding, sheet, columns, date_formats"),
    ("vaccination:\n  file: x.csv\n", r"unknown table 'vaccination'; did you mean 'vaccinations'\?"),
    ("vaccinations:\n  columns:\n    Ngay tiem: vacination_date\n",
     r"maps 'Ngay tiem' to 'vacination_date', not a column of 'vaccinations'; did you mean 'vaccination_date'\?"),
    ("tallies:\n  date_formats:\n    vaccination_dat: '%d.%m.%Y'\n",
     r"tallies\.date_formats names 'vaccination_dat'.*did you mean 'vaccination_date'\?"),
    ("sites:\n  encoding: klingon\n", r"unknown encoding 'klingon'"),
])
def test_columns_yaml_typos_are_refused_with_the_nearest_key(folder, tmp_path, yaml_text, message):
    data = folder()
    (data / "columns.yaml").write_text(yaml_text, encoding="utf-8")
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "db.duckdb")
    assert r.exit_code == 1
    import re

    assert re.search(message, r.flat), r.output
    assert "columns.yaml" in r.output and "Traceback" not in r.output


def test_unmapped_columns_are_listed_in_the_summary(folder, tmp_path):
    vac = [VAC[0] + ",Ghi chu,Ngay tiem"] + [ln + ",x,y" for ln in VAC[1:]]
    data = folder(vaccinations=vac)
    res = ingest(data, tmp_path / "db.duckdb")
    assert res["vaccinations"].unmapped == ("Ghi chu", "Ngay tiem")
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "db2.duckdb")
    assert r.exit_code == 0 and "Ghi chu, Ngay tiem" in r.output and "columns not used" in r.output


# -- files that are no table ----------------------------------------------------------------------


@pytest.mark.parametrize("name, content, said", [
    ("vaccinations.csv", bytes(range(256)) * 40, "vaccinations.csv: this .csv file is binary data, not text"),
    ("vaccinations.csv", b"PK\x03\x04" + b"\x00" * 200,
     "is an Excel workbook or another ZIP archive; if it is the table, name it vaccinations.xlsx"),
    ("sites.csv", b"PAR1" + b"\x00\x01" * 100, "sites.csv: this .csv file is a Parquet file"),
])
def test_binary_files_give_an_actionable_message(folder, tmp_path, name, content, said):
    table = name.split(".")[0]
    data = folder(**{table: None})
    (data / name).write_bytes(content)
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "db.duckdb")
    assert r.exit_code == 1
    out = r.flat
    assert said in out and "export the table as CSV (UTF-8), Parquet or XLSX" in out
    for noise in ("Traceback", "auto_detect", "Options", "sniff"):
        assert noise not in out


def test_accounting_holds_on_a_mix_of_bad_rows(folder, tmp_path):
    vac = VAC + ["r5,s5,X,1980,M,,,40,412,16681,2021-07-01,0,AZ,S1,",  # dose 0
                 "r6,s6,X,1980,M,,,40,412,16681,2021-07-01,1,AZ,,",     # no site
                 "r1,s1,X,1980,M,,,40,412,16681,2021-07-01,1,AZ,S1,"]   # repeated record_id
    db = _ingest(folder(vaccinations=vac), tmp_path)
    read, loaded, quar = accounting(db)["vaccinations"]
    assert (read, loaded, quar) == (7, 4, 3)
    assert not math.isnan(record_rates_of(db)["missing_entry_rate"])


def test_the_new_quarantine_reasons_read_in_the_report_language(folder, tmp_path):
    from vaxstudy.report.data import generic_reason
    from vaxstudy.report.i18n import reason_label

    vac = VAC + ["r5,s5,X,2022,M,,,40,412,16681,2021-07-01,1,AZ,S1,2021-07-01",
                 "r6,s6,X,1980,M,,,40,412,16681,2021-07-05,1,AZ,S1,2021-07-04",
                 "r7,s7,X,1980,M,,,40,412,16681,2021-07-05,1,AZ,S9,2021-07-05"]
    reasons = [r[3] for r in quarantine_rows(_ingest(folder(vaccinations=vac), tmp_path))]
    labels = [reason_label(generic_reason(r), "vi") for r in reasons]
    assert labels == ["Ngày tiêm trước ngày sinh", "Ngày nhập trước ngày tiêm",
                      "Mã điểm tiêm không có trong danh sách điểm tiêm"]
