"""Linkage inputs built from the standardised tables (vaxstudy.link.prepare)."""

from __future__ import annotations

import datetime as dt

import duckdb

from helpers.linkfake import make_std_db
from vaxstudy.link.prepare import open_work_connection, prepare_inputs


def test_identities_group_rows_and_derived_columns(tmp_path):
    db = tmp_path / "p.duckdb"
    make_std_db(db, n_persons=60, seed=3)
    con = open_work_connection(db, read_only=True)
    n = prepare_inputs(con)
    assert n["link_rows"] == con.execute("SELECT count(*) FROM proj.vaccinations_std").fetchall()[0][0]
    # rows of one identity share every compared column; identities are fewer than rows
    assert n["link_vax"] < n["link_rows"]
    assert con.execute(
        "SELECT count(*) FROM link_rows r LEFT JOIN link_vax v ON v.unique_id = r.ident "
        "WHERE v.unique_id IS NULL").fetchall()[0][0] == 0
    # the register's id_number is its person_id (a CCCD) and yields the 6-digit prefix
    row = con.execute("SELECT unique_id, id_number, id_type, id_prefix FROM link_reg LIMIT 1").fetchall()[0]
    assert row[0] == row[1] and row[2] == "CCCD" and row[3] == row[1][:6]
    con.close()


def test_missing_columns_are_filled_and_swaps_derived(tmp_path):
    db = tmp_path / "m.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        """CREATE TABLE population_std AS SELECT '040180123456' AS unique_id,
           'nguyen' AS surname, 'van' AS middle_name, 'an' AS given_name,
           'nguyen' AS surname_ascii, 'van' AS middle_name_ascii, 'an' AS given_name_ascii,
           DATE '1980-03-07' AS dob, 'M' AS sex"""
    )
    con.execute(
        """CREATE TABLE vaccinations_std AS SELECT 'R1' AS unique_id, 'R1' AS record_id, 'S1' AS subject_id,
           'an' AS surname, 'nguyen' AS middle_name, 'van' AS given_name,
           'an' AS surname_ascii, 'nguyen' AS middle_name_ascii, 'van' AS given_name_ascii,
           NULL::DATE AS dob, 1980 AS birth_year, '' AS phone, 1 AS dose_number, 1 AS _row"""
    )
    con.close()
    con = open_work_connection(db, read_only=True)
    prepare_inputs(con)
    reg = con.execute("SELECT name_ascii, dob_swapped, birth_year, dob_precision, name_rot FROM link_reg").fetchall()[0]
    assert reg == ("nguyen van an", dt.date(1980, 7, 3), 1980, "day", "van an nguyen")
    vax = con.execute(
        "SELECT name_ascii, name_rot, year_only_birth_year, dob_precision, phone, id_number FROM link_vax"
    ).fetchall()[0]
    # typed given-name-first: rotating the typed name gives back the register order
    assert vax == ("an nguyen van", "nguyen van an", 1980, "year", None, None)
    con.close()
