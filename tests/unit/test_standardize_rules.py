"""Date-of-birth, ID, phone, sex and admin-code rules, each run through DuckDB on literals."""

import datetime as dt

import duckdb
import pytest

from vaxstudy.standardize.admin import code_sql, commune_valid_sql, register_geo
from vaxstudy.standardize.dates import parse_dobs
from vaxstudy.standardize.ids import id_sql
from vaxstudy.standardize.phones import (OLD_MOBILE_PREFIXES, phone_convert_sql, phone_fields_sql,
                                         phone_national_sql)
from vaxstudy.standardize.sex import sex_sql


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    register_geo(c)
    yield c
    c.close()


def ev(con, expr, *values):
    """Evaluate a SQL expression with $1.. bound to values."""
    return con.execute(f"SELECT {expr}", list(values)).fetchone()[0]


D = dt.date


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("1990-05-01", (D(1990, 5, 1), 1990, "day", False)),
        ("1990/5/1", (D(1990, 5, 1), 1990, "day", False)),
        ("1990-05-01 00:00:00", (D(1990, 5, 1), 1990, "day", False)),
        ("01/05/1990", (D(1990, 5, 1), 1990, "day", True)),       # 1 May, could be 5 Jan
        ("25/03/1980", (D(1980, 3, 25), 1980, "day", False)),
        ("07/07/1990", (D(1990, 7, 7), 1990, "day", False)),      # same either way
        ("1-5-1990", (D(1990, 5, 1), 1990, "day", True)),
        ("25.3.1980", (D(1980, 3, 25), 1980, "day", False)),
        ("1/5/90", (D(1990, 5, 1), 1990, "day", True)),           # d/m/yy, 19yy
        ("15/8/05", (D(2005, 8, 15), 2005, "day", False)),        # yy <= 21 -> 20yy
        ("03/25/1980", (D(1980, 3, 25), 1980, "day", False)),     # month-first only reading
        ("1990", (None, 1990, "year", None)),
        ("31/02/1990", (None, 1990, "year", None)),               # impossible date keeps the year
        ("13/13/1990", (None, 1990, "year", None)),
        ("1850", (None, None, None, None)),
        ("2030-01-01", (None, None, None, None)),
        ("abc", (None, None, None, None)),
        ("", (None, None, None, None)),
    ],
)
def test_dob(typed, expected):
    assert parse_dobs([typed])[typed] == expected


CCCD_F_1990 = "040190123456"  # Nghệ An, female, 1900s, '90
CCCD_M_2003 = "001203123456"  # Hà Nội, male, 2000s, '03


@pytest.mark.parametrize(
    "typed, sex, year, expected",
    [
        (CCCD_F_1990, "F", 1990, (CCCD_F_1990, "CCCD", "40", True)),
        ("040 190 123 456", "F", 1990, (CCCD_F_1990, "CCCD", "40", True)),
        (CCCD_F_1990, "M", 1990, (CCCD_F_1990, "CCCD", "40", False)),   # sex digit disagrees
        (CCCD_F_1990, "F", 1991, (CCCD_F_1990, "CCCD", "40", False)),   # year digits disagree
        (CCCD_F_1990, None, 1990, (CCCD_F_1990, "CCCD", "40", True)),   # checks what is known
        (CCCD_F_1990, None, None, (CCCD_F_1990, "CCCD", "40", None)),
        (CCCD_M_2003, "M", 2003, (CCCD_M_2003, "CCCD", "01", True)),
        (CCCD_M_2003, "M", 1903, (CCCD_M_2003, "CCCD", "01", False)),   # century digit matters
        ("099190123456", "F", 1990, ("099190123456", "CCCD", None, True)),  # 99 is no province
        ("40190123456", "F", 1990, (CCCD_F_1990, "CCCD", "40", True)),  # leading 0 lost in Excel
        ("40190123456.0", "F", 1990, (CCCD_F_1990, "CCCD", "40", True)),
        ("186123456", "M", 1990, ("186123456", "CMND", None, None)),
        ("12345", "M", 1990, ("12345", "invalid", None, None)),
        ("", "M", 1990, (None, None, None, None)),
        (None, "M", 1990, (None, None, None, None)),
    ],
)
def test_id(con, typed, sex, year, expected):
    e = id_sql("a", "b", "c")
    cols = ", ".join(e[k] for k in ("id_number", "id_type", "id_province_code", "id_consistent"))
    got = con.execute(
        f"SELECT {cols} FROM (SELECT CAST($1 AS VARCHAR) a, CAST($2 AS VARCHAR) b, CAST($3 AS INTEGER) c)",
        [typed, sex, year],
    ).fetchone()
    assert got == expected


@pytest.mark.parametrize(
    "typed, phone, valid",
    [
        ("0912345678", "0912345678", True),
        ("091 234 5678", "0912345678", True),
        ("091.234.5678", "0912345678", True),
        ("+84912345678", "0912345678", True),
        ("84912345678", "0912345678", True),
        ("0084 912 345 678", "0912345678", True),
        ("912345678", "0912345678", True),          # leading zero lost in a spreadsheet
        ("01689123456", "0389123456", True),        # Viettel 0168 -> 038
        ("01202345678", "0702345678", True),        # MobiFone 0120 -> 070
        ("01232345678", "0832345678", True),        # VinaPhone 0123 -> 083
        ("01862345678", "0562345678", True),        # Vietnamobile 0186 -> 056
        ("01992345678", "0592345678", True),        # Gmobile 0199 -> 059
        ("+841689123456", "0389123456", True),
        ("02383123456", "02383123456", True),       # Nghệ An landline kept
        ("0123", None, False),
        ("01112345678", None, False),               # 011x was never a mobile prefix
        ("abc", None, False),
        ("", None, None),
        (None, None, None),
    ],
)
def test_phone(con, typed, phone, valid):
    assert phones(con, [typed]) == [(phone, valid)]


def phones(con, typed_values):
    """(phone, phone_valid) per typed value, through the same three SQL stages as standardize_db."""
    f = phone_fields_sql("c", "typed")
    con.execute("CREATE OR REPLACE TEMP TABLE _ph(i INTEGER, typed VARCHAR)")
    con.executemany("INSERT INTO _ph VALUES (?, ?)", list(enumerate(typed_values)))
    return con.execute(
        f"""SELECT {f['phone']}, {f['phone_valid']} FROM (
                SELECT i, typed, {phone_convert_sql('n')} AS c FROM (
                    SELECT i, typed, {phone_national_sql('typed')} AS n FROM _ph)) ORDER BY i"""
    ).fetchall()


def test_every_old_prefix_converts(con):
    got = phones(con, [old + "1234567" for old in OLD_MOBILE_PREFIXES])
    assert got == [(new + "1234567", True) for new in OLD_MOBILE_PREFIXES.values()]
    assert len(OLD_MOBILE_PREFIXES) == 21


@pytest.mark.parametrize(
    "typed, sex",
    [("Nam", "M"), ("NAM", "M"), ("nam ", "M"), ("M", "M"), ("male", "M"), ("1", "M"), ("Trai", "M"),
     ("Nữ", "F"), ("nữ", "F"), ("Nu", "F"), ("F", "F"), ("female", "F"), ("0", "F"), ("Gái", "F"),
     ("N/A", None), ("", None), (None, None), ("x", None)],
)
def test_sex(con, typed, sex):
    assert ev(con, sex_sql("CAST($1 AS VARCHAR)"), typed) == sex


@pytest.mark.parametrize(
    "typed, width, code",
    [("40", 2, "40"), ("1", 2, "01"), ("1.0", 2, "01"), ("412", 3, "412"), ("1", 3, "001"),
     ("16681", 5, "16681"), ("4", 5, "00004"), (" 16681 ", 5, "16681"), ("123456", 5, None),
     ("Nghe An", 2, None), ("", 2, None), (None, 3, None)],
)
def test_code_padding(con, typed, width, code):
    assert ev(con, code_sql("CAST($1 AS VARCHAR)", width), typed) == code


def test_commune_valid(con):
    from vaxstudy import geo

    row = geo.communes().iloc[0]
    other_district = geo.districts().query("district_code != @row.district_code").iloc[0].district_code
    def valid(commune, district):
        return con.execute(
            f"""SELECT {commune_valid_sql('c', 'd', 'g.district_code')}
                FROM (SELECT CAST($1 AS VARCHAR) c, CAST($2 AS VARCHAR) d) LEFT JOIN _geo_communes g
                ON g.commune_code = c""", [commune, district]).fetchone()[0]

    assert valid(row.commune_code, row.district_code) is True
    assert valid(row.commune_code, other_district) is False
    assert valid("99999", row.district_code) is False
    assert valid(row.commune_code, None) is False
    assert valid(None, row.district_code) is None
