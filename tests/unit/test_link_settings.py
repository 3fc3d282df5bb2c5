"""The comparison levels of the link model, evaluated on hand-made record pairs."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest

from vaxstudy.link.rules import PREDICTION_BLOCKING_RULES, TRAINING_BLOCKING_RULES
from vaxstudy.link.settings import LINK_COLUMNS, build_settings


def _rec(**kw):
    base = dict(
        name_norm="nguyễn thị hoà", surname="nguyễn", middle_name="thị", given_name="hoà",
        surname_ascii="nguyen", middle_name_ascii="thi", given_name_ascii="hoa",
        name_ascii="nguyen thi hoa", dob=dt.date(1980, 3, 7), birth_year=1980,
        dob_precision="day", sex="F", id_number="040180123456", id_type="CCCD",
        phone="0912345678", district_code="412", commune_code="16681",
        dob_swapped=dt.date(1980, 7, 3), id_prefix="040180", name_key="hoa nguyen thi",
        name_rot="thi hoa nguyen", year_only_birth_year=None, dob_no_address=None,
        year_no_address=None, birth_md=307, md_no_address=None, birth_decade=198,
        id_head="12:040180", id_tail="12:23456",
    )
    base.update(kw)
    if "name_key" not in kw:  # as prepare.py derives it: the ASCII name's words sorted
        parts = (base["surname_ascii"], base["middle_name_ascii"], base["given_name_ascii"])
        base["name_key"] = " ".join(sorted(" ".join(p for p in parts if p).split()))
    return base


def _ids(idn: str) -> dict:
    """The ID columns as prepare.py derives them from ``idn``."""
    n, h = len(idn), len(idn) // 2
    return dict(id_number=idn, id_type={12: "CCCD", 9: "CMND"}.get(n, "invalid"),
                id_prefix=idn[:6] if n == 12 else None, id_head=f"{n}:{idn[:h]}",
                id_tail=f"{n}:{idn[h + 1:]}")


def _level(comparison: str, left: dict, right: dict) -> str:
    """Label of the level a pair falls in."""
    settings = build_settings().get_settings("duckdb")
    comp = next(c for c in settings.comparisons if c.output_column_name == comparison)
    cols = [c for c in LINK_COLUMNS if c != "unique_id"]
    con = duckdb.connect()
    types = {"dob": "DATE", "dob_swapped": "DATE", "birth_year": "INTEGER",
             "year_only_birth_year": "INTEGER", "dob_no_address": "DATE", "year_no_address": "INTEGER",
             "birth_md": "INTEGER", "md_no_address": "INTEGER", "birth_decade": "INTEGER"}
    sel = ", ".join(
        f"CAST(? AS {types.get(c, 'VARCHAR')}) AS \"{c}_{side}\""
        for side in ("l", "r") for c in cols
    )
    params = [left[c] for c in cols] + [right[c] for c in cols]
    gamma = con.execute(f"SELECT {comp._case_statement} FROM (SELECT {sel})", params).fetchall()[0][0]
    levels = {lvl.comparison_vector_value: lvl.label_for_charts for lvl in comp.comparison_levels}
    return levels[gamma]


def test_name_levels_ascii_and_rotation():
    a = _rec()
    assert _level("surname", a, _rec(surname="nguyen")) == "surname exact (ASCII)"
    rotated = _rec(surname_ascii="hoa", middle_name_ascii="nguyen thi", given_name_ascii="thi",
                   name_ascii="hoa nguyen thi", name_rot="nguyen thi hoa")
    assert _level("surname", a, rotated) == "name parts typed in another order"
    # the given-name comparison does not count the rotation a second time
    assert "another order" in _level("given_name", a, rotated)
    typo = _rec(surname_ascii="nguyn", name_ascii="nguyn thi hoa", name_rot="thi hoa nguyn",
                name_key="hoa nguyn thi")
    assert _level("surname", a, typo) == "surname ASCII one edit"
    assert _level("given_name", a, _rec(given_name_ascii="lan")) == "All other comparisons"
    assert _level("middle_name", a, _rec(middle_name_ascii="")) == "middle_name empty on one side"
    # a middle name with a word added
    assert _level("middle_name", a, _rec(middle_name_ascii="ngoc thi")).endswith("the other's words")
    # any other order of the words, not only the rotation (given name first)
    perm = _rec(surname_ascii="thi", middle_name_ascii="hoa", given_name_ascii="nguyen",
                name_ascii="thi hoa nguyen", name_rot="hoa nguyen thi")
    assert _level("surname", a, perm) == "name parts typed in another order"
    assert "another order" in _level("middle_name", a, perm)
    assert _level("surname", a, _rec(surname_ascii=None)) == "surname missing"


def test_diacritics_comparison_only_where_ascii_agrees():
    a = _rec(name_norm="lê thị hà", name_ascii="le thi ha")
    assert _level("name_diacritics", a, _rec(name_norm="lê thị hạ", name_ascii="le thi ha")) == (
        "diacritics differ")
    assert _level("name_diacritics", a, _rec(name_norm="lê thị hà", name_ascii="le thi ha")) == (
        "diacritics agree")
    # typed without diacritics: not comparable, weight 0
    assert _level("name_diacritics", a, _rec(name_norm="le thi ha", name_ascii="le thi ha")).startswith(
        "not comparable")


def test_dob_levels():
    a = _rec()
    assert _level("dob", a, _rec()) == "dob exact"
    swapped = _rec(dob=dt.date(1980, 7, 3), dob_swapped=dt.date(1980, 3, 7))
    assert _level("dob", a, swapped) == "dob day/month swapped"
    year_only = _rec(dob=None, dob_swapped=None, dob_precision="year", year_only_birth_year=1980)
    assert _level("dob", a, year_only).startswith("year-only dob")
    # the 01/01 placeholder counts as a year alone; the lunar birthday as a near date
    assert _level("dob", a, _rec(dob=dt.date(1980, 1, 1), birth_md=101, dob_swapped=None)).startswith(
        "year-only dob")
    lunar = _rec(dob=dt.date(1980, 1, 25), birth_md=125, dob_swapped=None)
    assert _level("dob", a, lunar).startswith("dob within 60 days")
    across = _rec(dob=dt.date(1979, 12, 20), birth_year=1979, birth_md=1220, dob_swapped=None)
    assert _level("dob", _rec(dob=dt.date(1980, 1, 30), birth_md=130), across).startswith("dob within 60 days")
    off10 = _rec(dob=dt.date(1990, 3, 7), birth_year=1990, dob_swapped=None)
    assert _level("dob", a, off10) == "dob: two of day, month, year agree"
    assert _level("dob", a, _rec(dob=dt.date(1980, 3, 9), dob_swapped=None)) == (
        "dob: two of day, month, year agree")
    assert _level("dob", a, _rec(dob=dt.date(1981, 9, 9), birth_year=1981, dob_swapped=None)) == (
        "birth year +/- 1")
    assert _level("dob", a, _rec(dob=None, birth_year=None)) == "dob missing"
    # a year typed alone with one digit of it wrong (or +/- 1 across a decade): its own level,
    # not "different"; two digits wrong is different, and full dates keep the levels above
    agree = "year-only dob (or the 01/01 placeholder), year agrees"
    slip = "year-only dob (or 01/01), the year one digit off or +/- 1"
    assert _level("dob", a, year_only) == agree
    for year, want in ((1990, slip), (1970, slip), (1985, slip), (1979, slip), (1991, "All other comparisons"),
                       (2080, "All other comparisons")):
        typed = _rec(dob=None, dob_swapped=None, birth_md=None, dob_precision="year", birth_year=year,
                     year_only_birth_year=year)
        assert _level("dob", a, typed) == want, year
    assert _level("dob", a, _rec(dob=dt.date(1990, 1, 1), birth_year=1990, birth_md=101,
                                 dob_swapped=None)) == slip
    assert _level("dob", a, _rec(dob=dt.date(1985, 9, 9), birth_year=1985, dob_swapped=None)) == (
        "All other comparisons")


def test_id_levels():
    a = _rec()
    assert _level("id_number", a, _rec()) == "id exact"
    assert _level("id_number", a, _rec(**_ids("040180123465"))) == "id one digit off"
    # any digit, the province of birth and the sex/century digit included; a swap across
    # the halves' boundary
    for typed in ("050180123456", "041180123456", "040181123456", "040181023456", "040180123546"):
        assert _level("id_number", a, _rec(**_ids(typed))) == "id one digit off", typed
    assert _level("id_number", a, _rec(**_ids("040180654321"))).startswith("CCCD prefix")
    assert _level("id_number", a, _rec(id_number="040180999999")).startswith("CCCD prefix")
    cmnd = _rec(id_number="186123456", id_type="CMND", id_prefix=None)
    assert _level("id_number", a, cmnd).startswith("id types differ")
    other = _rec(id_number="040091999999", id_prefix="040091")
    assert _level("id_number", a, other) == "All other comparisons"


def test_phone_and_residence_levels():
    a = _rec()
    assert _level("phone", a, _rec(phone="0912345679")) == "phone one digit off"
    assert _level("residence", a, _rec(commune_code="16684")) == "same district"
    assert _level("residence", a, _rec(commune_code=None, district_code=None)) == "residence missing"


@pytest.mark.parametrize("rule", list(PREDICTION_BLOCKING_RULES.values()) + list(TRAINING_BLOCKING_RULES))
def test_blocking_rules_are_equi_joins(rule):
    # every conjunct is an equality, so DuckDB can hash-join it, or a filter on the registry
    # side alone (pushed below the join); at least one equality
    parts = rule.split(" AND ")
    assert any("=" in p for p in parts)
    for part in parts:
        assert " OR " not in part
        assert "=" in part or re.fullmatch(r'r\."\w+" IS NULL', part), part


def test_within_edits_is_damerau_levenshtein_at_most_k():
    """The Levenshtein-first form gives DuckDB's damerau_levenshtein(a, b) <= k on substitutions,
    insertions, deletions, adjacent swaps, two of them, far strings, '' and NULL."""
    import duckdb

    from vaxstudy.link.settings import within_edits

    pairs = [("hung", "hung"), ("hung", "hugn"), ("hung", "hng"), ("hung", "hungg"), ("hung", "lung"),
             ("hung", "uhgn"), ("hung", "hnug"), ("040075123456", "040075123465"),
             ("040075123456", "040057123456"), ("040075123456", "041075123456"), ("040075123456", "040075654321"),
             ("van an nguyen", "an nguyen van"), ("thi hoa le", "thi hao le"), ("thi hoa le", "hti hao le"),
             ("", "a"), ("", ""), (None, "a"), ("ab", "ba"), ("abcd", "badc"), ("abcd", "dcba")]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a VARCHAR, b VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", pairs)
    for k in (1, 2):
        got = con.execute(f"SELECT coalesce({within_edits('a', 'b', k)}, FALSE), "
                          f"coalesce(damerau_levenshtein(a, b) <= {k}, FALSE) FROM t").fetchall()
        assert [g for g, _ in got] == [d for _, d in got], k
        assert any(g for g, _ in got) and not all(g for g, _ in got)


def test_em_name_blocks_hold_the_whole_name():
    """An EM block on the date of birth and the given name alone let through namesakes that,
    the name parts being sex-specific, agree on sex and middle name: EM took them for matches
    and learnt that a different district, phone or ID costs a match little. Every training
    block holds the ID or the whole name."""
    for rule in TRAINING_BLOCKING_RULES:
        assert 'l."id_number" = r."id_number"' in rule or 'l."name_ascii" = r."name_ascii"' in rule, rule
