"""The blocking design on hand-made pairs: every single wrong field leaves a route to the
true register person (the guarantee of docs/linkage.md), each new route reaches a pair no
other first-pass rule reaches, and a very common name gets a second field in the wide pass."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from helpers.linkfake import _std_person
from vaxstudy.link.prepare import open_work_connection, prepare_inputs
from vaxstudy.link.reach import true_pair_table
from vaxstudy.link.rules import PREDICTION_BLOCKING_RULES
from vaxstudy.link.wide import WIDE_BLOCKING_RULES, add_name_block, add_wide_inputs

PID = "040075123456"
DOB = dt.date(1975, 8, 14)
TRUE = dict(surname="Trần", middle="Văn", given="Hùng", dob=DOB, year=1975, prec="day", sex="M",
            idn=None, phone=None, district="412", commune="16480")
# decoys: other residents, so no rule reaches the person through an empty field
DECOYS = [("040075999001", "Lê", "Thị", "Lan", dt.date(1980, 2, 3), "F", "412", "16480"),
          ("040075999002", "Phạm", "Văn", "Nam", dt.date(1975, 1, 5), "M", "414", "16500")]


def _row(**kw):
    f = {**TRUE, **kw}
    return _std_person(None, f["surname"], f["middle"], f["given"], f["dob"], f["year"], f["prec"],
                       f["sex"], f["idn"], f["phone"], f["district"], f["commune"])


YEAR_ONLY = dict(dob=None, prec="year")
NO_ADDRESS = dict(district=None, commune=None)
# one wrong field at a time (sex is in no rule but one; the name parts as typos)
SINGLE_ERRORS = {
    "surname": dict(surname="Trân"[:-1] + "m"),
    "middle": dict(middle="Vn"),
    "middle dropped": dict(middle=""),
    "given": dict(given="Hùg"),
    "name permuted": dict(surname="Văn", middle="Hùng", given="Trần"),
    "day": dict(dob=dt.date(1975, 8, 24)),
    "month": dict(dob=dt.date(1975, 9, 14)),
    "year": dict(dob=dt.date(1976, 8, 14), year=1976),
    "sex": dict(sex="F"),
    "commune (same district)": dict(commune="16481"),
    "commune and district": dict(district="414", commune="16500"),
}
CLASSES = {
    "full date, address": {},
    "full date, no address": NO_ADDRESS,
    "year only, address": YEAR_ONLY,
    "year only, no address": {**YEAR_ONLY, **NO_ADDRESS},
}
# hand-made pairs that, of the first-pass rules, only the named new rule reaches
ONLY = {
    # the year wrong and the commune (same district) wrong
    "name+daymonth+district": dict(dob=dt.date(1985, 8, 14), year=1985, commune="16481"),
    # the year wrong, no address
    "noaddress:name+daymonth": dict(dob=dt.date(1985, 8, 14), year=1985, district=None, commune=None),
    # the year wrong, the middle name dropped and the commune left empty (district kept)
    "nocommune:surname+given+daymonth+district": dict(middle="", dob=dt.date(1985, 8, 14), year=1985,
                                                      commune=None),
    # the lunar birthday across the new year: day, month and year wrong, same decade
    "name+commune+decade": dict(dob=dt.date(1974, 6, 30), year=1974),
    # the name permuted (so the parsed given name differs) and the date wrong
    "id_tail+name": dict(idn="041" + PID[3:], surname="Văn", middle="Hùng", given="Trần",
                         dob=dt.date(1974, 6, 30), year=1974, district="414", commune="16500"),
    # two name parts misspelt, the year wrong, day and month right
    "id_tail+daymonth": dict(idn="041" + PID[3:], surname="Trnn", given="Hùg", dob=dt.date(1985, 8, 14),
                             year=1985, district="414", commune="16500"),
    # the year and the surname wrong, no ID
    "daymonth+given+commune": dict(surname="Trnn", dob=dt.date(1976, 8, 14), year=1976),
    # the year and the given name wrong, no ID
    "daymonth+surname+middle+commune": dict(given="Hùg", dob=dt.date(1976, 8, 14), year=1976),
    "id_tail+given+decade": dict(idn="041" + PID[3:], surname="Trnn", dob=dt.date(1974, 6, 30), year=1974,
                                 district="414", commune="16500"),
}
WIDE_ONLY = {
    # the middle name misspelt, the year wrong and a commune of the same district
    "surname+given+daymonth+district": dict(middle="Vn", dob=dt.date(1985, 8, 14), year=1985, commune="16481"),
    # a year alone, wrong by ten, and the commune of another district: only the whole name
    "name+province": dict(dob=None, year=1965, prec="year", district="414", commune="16500"),
    # several fields wrong at once: the surname misspelt, the middle name dropped, a lunar
    # birthday in the next year; the given name, the commune and the year within one left
    "given+commune+yearnear": dict(surname="Trnn", middle="", dob=dt.date(1976, 6, 30), year=1976),
    # an ID digit slip in the first half, the surname misspelt, the middle name dropped, the
    # date wrong and ten years off, another commune of the same district
    "id_tail+district": dict(idn="041" + PID[3:], surname="Trnn", middle="", dob=dt.date(1965, 6, 30),
                             year=1965, commune="16481"),
    # a year alone with no address (a name, a year, a sex): the second routes of that class,
    # each with the year off by one and one name part wrong
    "yearonly_noaddress:middle+given+year1": dict(YEAR_ONLY, **NO_ADDRESS, year=1976, surname="Trâm"),
    "yearonly_noaddress:surname+given+year1": dict(YEAR_ONLY, **NO_ADDRESS, year=1976, middle="Vn"),
    # the given name's last letter wrong, then its first
    "yearonly_noaddress:surname+middle+given_first+year1": dict(YEAR_ONLY, **NO_ADDRESS, year=1976,
                                                               given="Hùnh"),
    "yearonly_noaddress:surname+middle+given_last+year1": dict(YEAR_ONLY, **NO_ADDRESS, year=1976,
                                                              given="Gùng"),
}


def _cases() -> dict[str, dict]:
    cases = {f"{c} | {e}": {**cv, **ev} for c, cv in CLASSES.items() for e, ev in SINGLE_ERRORS.items()
             if not (cv.get("dob", 1) is None and e in ("day", "month"))
             and not (cv.get("commune", 1) is None and e.startswith("commune"))}
    for e, ev in SINGLE_ERRORS.items():  # a year-only record typed with a wrong year
        if e == "year":
            for c, cv in CLASSES.items():
                if cv.get("dob", 1) is None:
                    cases[f"{c} | year"] = {**cv, "year": 1976}
    cases.update({f"only {k}": v for k, v in ONLY.items()})
    cases.update({f"wide only {k}": v for k, v in WIDE_ONLY.items()})
    return cases


@pytest.fixture(scope="module")
def flags(tmp_path_factory) -> pd.DataFrame:
    """One row per case: the rule flags of its (record, true person) pair."""
    db = tmp_path_factory.mktemp("routes") / "routes.duckdb"
    pop = [_std_person(PID, TRUE["surname"], TRUE["middle"], TRUE["given"], DOB, 1975, "day", "M", PID,
                       None, "412", "16480")]
    pop += [_std_person(p, s, m, g, d, d.year, "day", x, p, None, di, c) for p, s, m, g, d, x, di, c in DECOYS]
    rows, truth = [], []
    for i, (name, kw) in enumerate(_cases().items()):
        r = _row(**kw)
        rid = f"R{i:04d}"
        r.update(unique_id=rid, record_id=rid, subject_id=f"S{i}", dose_number=1,
                 vaccination_date=dt.date(2021, 6, 1), vaccine="AZ", site_id="S1", entered_date=None,
                 _row=i + 1)
        rows.append(r)
        truth.append(dict(record_id=rid, true_person_id=PID, case=name))
    pop_df, vax_df, truth_df = pd.DataFrame(pop), pd.DataFrame(rows), pd.DataFrame(truth)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE population_std AS SELECT * FROM pop_df")
    con.execute("CREATE TABLE vaccinations_std AS SELECT * FROM vax_df")
    con.execute("CREATE TABLE truth AS SELECT * FROM truth_df")
    con.execute("CREATE TABLE sites AS SELECT 'S1' AS site_id, 'TYT' AS site_name, '40' AS province_code, "
                "'412' AS district_code, '16480' AS commune_code")
    con.close()
    con = open_work_connection(db, read_only=True)
    try:
        prepare_inputs(con)
        add_wide_inputs(con)
        true_pair_table(con, "SELECT * FROM proj.truth", None)
        names = {f"f{i}": k for i, k in enumerate(PREDICTION_BLOCKING_RULES)}
        names.update({f"w{i}": f"wide:{k}" for i, k in enumerate(WIDE_BLOCKING_RULES)})
        cols = ", ".join(f'p.{c} AS "{n}"' for c, n in names.items())
        df = con.execute(
            f"SELECT t.case, {cols} "
            "FROM reach_pairs p JOIN link_rows r ON r.ident = p.ident "
            "JOIN proj.truth t ON t.record_id = r.record_id").df()
    finally:
        con.close()
    return df.set_index("case")


def _routes(flags: pd.DataFrame, case: str, prefix: str | None = None) -> list[str]:
    row = flags.loc[case]
    return [k for k, v in row.items()
            if v and (prefix is None or (prefix == "wide") == k.startswith("wide:"))]


@pytest.mark.parametrize("case", [c for c in _cases() if " | " in c])
def test_one_wrong_field_never_removes_the_pair(flags, case):
    routes = _routes(flags, case)
    assert routes, f"{case}: no rule reaches the true pair"
    if case.startswith("full date, address") and not case.endswith("commune and district"):
        # the main class keeps two routes in the first pass alone (a wrong district: one
        # in the first pass, dob + surname + given name, and the wide pass's)
        assert len(_routes(flags, case, "first")) >= 2, (case, routes)
    elif case.startswith("full date, address"):
        assert len(_routes(flags, case, "first")) >= 1 and len(routes) >= 3, (case, routes)
    else:
        # a missing date or address: two routes over both passes (a record with a year alone
        # and no address, a name, a year and a sex, by the rules of that class)
        assert len(routes) >= 2, (case, routes)


@pytest.mark.parametrize("rule", list(ONLY))
def test_each_new_route_reaches_a_pair_no_other_first_pass_rule_does(flags, rule):
    assert _routes(flags, f"only {rule}", "first") == [rule]


@pytest.mark.parametrize("rule", list(WIDE_ONLY))
def test_wide_route_reaches_what_nothing_else_does(flags, rule):
    assert _routes(flags, f"wide only {rule}") == [f"wide:{rule}"]


def test_a_very_common_name_gets_the_district_as_second_field():
    con = duckdb.connect()
    con.execute("CREATE TABLE wide_reg AS SELECT * FROM (VALUES ('a b c', '40', '412'), ('a b c', '40', '414'),"
                " ('x y z', '40', '412')) t(name_key, wide_province, district_code)")
    con.execute("CREATE TABLE wide_vax AS SELECT * FROM (VALUES ('a b c', '40', '412'), ('x y z', '40', NULL))"
                " t(name_key, wide_province, district_code)")
    add_name_block(con, cap=1)
    assert sorted(con.execute("SELECT name_block FROM wide_reg").fetchall()) == [
        ("a b c|412",), ("a b c|414",), ("x y z",)]
    assert sorted(con.execute("SELECT name_block FROM wide_vax").fetchall()) == [("a b c|412",), ("x y z",)]


def test_a_very_common_name_without_address_keeps_the_whole_name_route():
    """A year alone, wrong by ten, no address and a name over the cap: name_block is cut by
    district, which the record has not, so only yearonly_noaddress:name reaches the person."""
    con = duckdb.connect()
    con.execute("CREATE TABLE src_reg AS SELECT * FROM (VALUES ('P1', 'a b c', '412', NULL::DATE, 1975), "
                "('P2', 'a b c', '414', NULL::DATE, 1950)) t(unique_id, name_key, district_code, dob, birth_year)")
    con.execute("CREATE TABLE src_vax AS SELECT * FROM (VALUES ('V1', 'a b c', NULL, NULL::DATE, 1965)) "
                "t(unique_id, name_key, district_code, dob, birth_year)")
    con.execute("CREATE TABLE wide_reg AS SELECT *, '40' AS wide_province, NULL AS yna_province FROM src_reg")
    con.execute("CREATE TABLE wide_vax AS SELECT *, '40' AS wide_province, '40' AS yna_province FROM src_vax")
    add_name_block(con, cap=1)
    hits = {name: con.execute(f"SELECT count(*) FROM wide_reg l JOIN wide_vax r ON {sql} "
                              "WHERE l.unique_id = 'P1'").fetchall()[0][0]
            for name, sql in WIDE_BLOCKING_RULES.items() if name in ("name+province", "yearonly_noaddress:name")}
    assert hits == {"name+province": 0, "yearonly_noaddress:name": 1}
