"""Blocking reach, measured: the share of true (identity, register person) pairs that the
candidate generation of both passes puts in front of the model, and how the fields of the
pairs it never reached agree (a pattern of symbols, never a value).

A pair the blocking never generates cannot be linked whatever the model says, and the
model cannot see it either (its own recall estimate is blind to it), so this is measured
against truth rather than assumed. The rules are re-applied to the true pairs only (cheap
at any scale): the first pass's ``rules.PREDICTION_BLOCKING_RULES`` to every identity,
the wide pass's ``wide.WIDE_BLOCKING_RULES`` to the identities the first pass did not link,
taken from ``record_links`` as those not linked to another person than the true one (an
identity the first pass linked to the wrong person never reaches the wide pass).
"""

from __future__ import annotations

from typing import Any

import duckdb

#: field -> SQL giving its agreement symbol over a true pair (l = register, r = registry)
_NAME_SYM = (
    "CASE WHEN l.{c} IS NULL OR r.{c} IS NULL OR l.{c} = '' OR r.{c} = '' THEN 'missing' "
    "WHEN l.{c} = r.{c} THEN 'same' "
    "WHEN damerau_levenshtein(l.{c}, r.{c}) <= 2 THEN 'near' ELSE 'differs' END"
)
AGREEMENT_SQL: dict[str, str] = {
    "name_order": "CASE WHEN l.name_ascii = r.name_ascii THEN 'same' "
                  "WHEN l.name_key = r.name_key THEN 'permuted' ELSE 'differs' END",
    "surname": _NAME_SYM.format(c="surname_ascii"),
    "middle": _NAME_SYM.format(c="middle_name_ascii"),
    "given": _NAME_SYM.format(c="given_name_ascii"),
    "day": "CASE WHEN r.dob IS NULL OR l.dob IS NULL THEN 'missing' "
           "WHEN day(l.dob) = day(r.dob) THEN 'same' ELSE 'differs' END",
    "month": "CASE WHEN r.dob IS NULL OR l.dob IS NULL THEN 'missing' "
             "WHEN month(l.dob) = month(r.dob) THEN 'same' ELSE 'differs' END",
    "year": "CASE WHEN r.birth_year IS NULL OR l.birth_year IS NULL THEN 'missing' "
            "WHEN l.birth_year = r.birth_year THEN 'same' "
            "WHEN abs(l.birth_year - r.birth_year) = 1 THEN 'off by 1' "
            "WHEN abs(l.birth_year - r.birth_year) = 10 THEN 'off by 10' ELSE 'differs' END",
    "sex": "CASE WHEN l.sex IS NULL OR r.sex IS NULL THEN 'missing' "
           "WHEN l.sex = r.sex THEN 'same' ELSE 'differs' END",
    "id": "CASE WHEN l.id_number IS NULL OR r.id_number IS NULL THEN 'missing' "
          "WHEN l.id_number = r.id_number THEN 'same' "
          "WHEN r.id_type <> l.id_type THEN 'other kind' "
          "WHEN damerau_levenshtein(l.id_number, r.id_number) <= 1 THEN 'one digit' "
          "ELSE 'differs' END",
    "phone": "CASE WHEN l.phone IS NULL OR r.phone IS NULL THEN 'missing' "
             "WHEN l.phone = r.phone THEN 'same' ELSE 'differs' END",
    "commune": "CASE WHEN l.commune_code IS NULL OR r.commune_code IS NULL THEN 'missing' "
               "WHEN l.commune_code = r.commune_code THEN 'same' ELSE 'differs' END",
    "district": "CASE WHEN l.district_code IS NULL OR r.district_code IS NULL THEN 'missing' "
                "WHEN l.district_code = r.district_code THEN 'same' ELSE 'differs' END",
}


def _rule_flags(rules: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    return [(f"{prefix}{i}", f"COALESCE({sql}, FALSE)") for i, sql in enumerate(rules.values())]


def true_pair_table(con: duckdb.DuckDBPyConnection, truth_sql: str, links_sql: str | None) -> int:
    """``reach_pairs``: the true (identity, register person) pairs of the prepared inputs
    (link_reg / link_vax / link_rows of prepare.py, plus wide_reg / wide_vax with the
    province), each with one boolean column per first-pass (``f0``, ``f1``...) and wide
    (``w0``...) rule, ``to_wide`` (the identity may reach the wide pass) and the agreement
    symbols. Returns the number of pairs."""
    from vaxstudy.link.rules import PREDICTION_BLOCKING_RULES
    from vaxstudy.link.wide import WIDE_BLOCKING_RULES

    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE reach_truth AS
        SELECT DISTINCT r.ident, CAST(t.true_person_id AS VARCHAR) AS person_id
        FROM link_rows r JOIN ({truth_sql}) t ON CAST(t.record_id AS VARCHAR) = r.record_id
        WHERE NULLIF(CAST(t.true_person_id AS VARCHAR), '') IS NOT NULL
          AND CAST(t.true_person_id AS VARCHAR) IN (SELECT unique_id FROM link_reg)"""
    )
    if links_sql is None:
        to_wide = "TRUE"
    else:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE reach_elsewhere AS
            SELECT DISTINCT r.ident, k.person_id FROM link_rows r
            JOIN ({links_sql}) k ON CAST(k.record_id AS VARCHAR) = r.record_id
            WHERE k.person_id IS NOT NULL"""
        )
        to_wide = ("NOT EXISTS (SELECT 1 FROM reach_elsewhere e WHERE e.ident = p.ident "
                   "AND e.person_id <> p.person_id)")
    flags = _rule_flags(PREDICTION_BLOCKING_RULES, "f") + _rule_flags(WIDE_BLOCKING_RULES, "w")
    cols = ", ".join(f"{sql} AS {name}" for name, sql in flags)
    agree = ", ".join(f"{sql} AS agree_{k}" for k, sql in AGREEMENT_SQL.items())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE reach_pairs AS
        SELECT p.ident, p.person_id, {cols}, {to_wide} AS to_wide, {agree}
        FROM reach_truth p
        JOIN wide_reg l ON l.unique_id = p.person_id
        JOIN wide_vax r ON r.unique_id = p.ident"""
    )
    return int(con.execute("SELECT count(*) FROM reach_pairs").fetchall()[0][0])


def reach_summary(con: duckdb.DuckDBPyConnection, *, max_patterns: int = 25) -> dict[str, Any]:
    """Shares reached (first pass, both passes), per rule (its share and the share only it
    reaches), and the agreement patterns of the unreached pairs, most frequent first."""
    from vaxstudy.link.rules import PREDICTION_BLOCKING_RULES
    from vaxstudy.link.wide import WIDE_BLOCKING_RULES

    first = [f"f{i}" for i in range(len(PREDICTION_BLOCKING_RULES))]
    wide = [f"w{i}" for i in range(len(WIDE_BLOCKING_RULES))]
    any_first = " OR ".join(first) or "FALSE"
    any_wide = f"(to_wide AND ({' OR '.join(wide) or 'FALSE'}))"
    reached = f"({any_first} OR {any_wide})"
    n, n_first, n_both = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {any_first}), count(*) FILTER (WHERE {reached}) "
        "FROM reach_pairs").fetchall()[0]
    per_rule = []
    names = [("first", k, c) for k, c in zip(PREDICTION_BLOCKING_RULES, first)]
    names += [("wide", k, c) for k, c in zip(WIDE_BLOCKING_RULES, wide)]
    all_cols = first + [f"(to_wide AND {c})" for c in wide]
    for j, (pass_, name, col) in enumerate(names):
        this = all_cols[j]
        others = " OR ".join(c for i, c in enumerate(all_cols) if i != j) or "FALSE"
        hit, only = con.execute(
            f"SELECT count(*) FILTER (WHERE {this}), count(*) FILTER (WHERE {this} AND NOT ({others})) "
            "FROM reach_pairs").fetchall()[0]
        per_rule.append({"pass": pass_, "rule": name, "share": hit / n if n else None,
                         "only_this_rule": only / n if n else None})
    fields = list(AGREEMENT_SQL)
    rows = con.execute(
        f"SELECT {', '.join('agree_' + f for f in fields)}, count(*) AS n FROM reach_pairs "
        f"WHERE NOT {reached} GROUP BY ALL ORDER BY n DESC, {', '.join('agree_' + f for f in fields)} "
        f"LIMIT {int(max_patterns)}"
    ).fetchall()
    patterns = [{"n": int(r[-1]), "fields": dict(zip(fields, r[:-1]))} for r in rows]
    return {
        "unit": "true (identity, register person) pairs; an identity is a distinct set of typed fields",
        "n_true_pairs": int(n),
        "reached_first_pass": n_first / n if n else None,
        "reached": n_both / n if n else None,
        "n_unreached": int(n - n_both),
        "rules": per_rule,
        "unreached_patterns": patterns,
    }


def blocking_reach(db_path: Any, truth_sql: str, links_sql: str | None = None, *,
                   memory_limit: str = "4GB", max_patterns: int = 25) -> dict[str, Any]:
    """Reach of both passes' candidate generation on the project database ``db_path``
    (population_std, vaccinations_std) against ``truth_sql`` (record_id, true_person_id);
    ``links_sql`` (record_id, person_id: record_links) tells which identities the wide
    pass saw. Nothing personal in the result."""
    from vaxstudy.link.prepare import open_work_connection, prepare_inputs
    from vaxstudy.link.wide import add_wide_inputs

    con = open_work_connection(db_path, memory_limit=memory_limit, read_only=True)
    try:
        prepare_inputs(con)
        add_wide_inputs(con)
        true_pair_table(con, truth_sql, links_sql)
        return reach_summary(con, max_patterns=max_patterns)
    finally:
        con.close()
