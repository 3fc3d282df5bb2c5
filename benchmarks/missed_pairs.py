"""The true pairs a link run missed, characterised against the truth (no personal data out).

    python benchmarks/missed_pairs.py RUN_DIR [--json OUT]

``RUN_DIR`` is a scenario folder kept by ``benchmarks/robustness.py --keep`` (``data/`` with
the truth, ``db.duckdb``, ``out/record_links.parquet``). Each true (identity, register
person) pair whose identity is not linked to that person is put in one class: *linked
elsewhere* (to another person), *reached, scored low* (a candidate of either pass, left
unlinked), *unreached* (no blocking rule of either pass generated it). For each class:
how many of the ten fields (surname, middle name, given name, day, month, year, sex,
commune, ID, phone) differ from the register person's and how many cannot be compared
(empty on one side, or a CMND against the register's CCCD), and the most frequent field-agreement patterns (vaxstudy.link.reach's symbols).

*Could a careful human link it?* Read as: a clerk who searches the province's register
by the given name in the record's district, by the whole name (any order), by the date
of birth, by the ID's second half and by the phone, and counts for each person found the
fields that agree (a name part one or two edits off, a year one or ten off and an ID one
digit off count as agreeing), links when the true person agrees on at least
``--min-agree`` of the fields both sides carry *and* every other person found agrees on
at least ``--margin`` fewer. It is a rule about what the record still says, not about
what any blocking reaches; its candidate search is far wider than the linkage can afford
(the whole province by date of birth or by name).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FIELDS = ("surname", "middle", "given", "day", "month", "year", "sex", "commune", "id", "phone")
#: agreement symbols a human would read as "the same field, typed with a slip"
AGREEING = ("same", "near", "permuted", "one digit", "off by 1", "off by 10")
#: a field that cannot be compared: empty on one side, or an ID of another kind (a CMND
#: against the register's CCCD: a true number of the person, just not the register's)
UNCOMPARABLE = ("missing", "other kind")


def _agree_count_sql(prefix: str = "agree_") -> tuple[str, str, str]:
    """SQL for (fields agreeing, fields differing, fields missing) over the agree_* columns."""
    ok = " + ".join(f"CASE WHEN {prefix}{f} IN {AGREEING} THEN 1 ELSE 0 END" for f in FIELDS)
    bad = " + ".join(f"CASE WHEN {prefix}{f} NOT IN {AGREEING + UNCOMPARABLE} THEN 1 ELSE 0 END" for f in FIELDS)
    miss = " + ".join(f"CASE WHEN {prefix}{f} IN {UNCOMPARABLE} THEN 1 ELSE 0 END" for f in FIELDS)
    return ok, bad, miss


def analyse(run: Path, *, min_agree: int = 6, margin: int = 2, top: int = 12) -> dict:
    import duckdb

    from vaxstudy.link.prepare import open_work_connection, prepare_inputs
    from vaxstudy.link.reach import AGREEMENT_SQL, reach_summary, true_pair_table
    from vaxstudy.link.wide import add_wide_inputs
    from vaxstudy.sql import path_literal

    links = run / "out" / "record_links.parquet"
    truth = next(p for p in (run / "data" / "truth.parquet", run / "data" / "truth.csv") if p.exists())
    reader = "read_parquet" if truth.suffix == ".parquet" else "read_csv_auto"
    con = open_work_connection(run / "db.duckdb", memory_limit="3GB", read_only=True)
    try:
        prepare_inputs(con)
        add_wide_inputs(con)
        links_sql = f"SELECT * FROM read_parquet({path_literal(links)})"
        n_true = true_pair_table(con, f"SELECT * FROM {reader}({path_literal(truth)})", links_sql)
        summary = reach_summary(con)
        con.execute(f"""CREATE TEMP TABLE ident_links AS
            SELECT r.ident, any_value(CAST(k.person_id AS VARCHAR)) FILTER (WHERE k.person_id IS NOT NULL) AS person_id,
                   any_value(CAST(k.best_person_id AS VARCHAR)) AS best_person_id
            FROM link_rows r JOIN ({links_sql}) k ON CAST(k.record_id AS VARCHAR) = r.record_id GROUP BY r.ident""")
        first = " OR ".join(c[0] for c in con.execute(
            "SELECT column_name FROM (DESCRIBE reach_pairs) WHERE regexp_matches(column_name, '^f[0-9]+$')").fetchall())
        wide = " OR ".join(c[0] for c in con.execute(
            "SELECT column_name FROM (DESCRIBE reach_pairs) WHERE regexp_matches(column_name, '^w[0-9]+$')").fetchall())
        ok, bad, miss = _agree_count_sql()
        con.execute(f"""CREATE TEMP TABLE missed AS
            SELECT p.*, CASE WHEN k.person_id IS NOT NULL THEN 'linked elsewhere'
                             WHEN ({first}) OR (to_wide AND ({wide})) THEN 'reached, scored low'
                             ELSE 'unreached' END AS class,
                   k.best_person_id = p.person_id AS best_is_true,
                   {ok} AS n_agree, {bad} AS n_differ, {miss} AS n_missing
            FROM reach_pairs p LEFT JOIN ident_links k USING (ident)
            WHERE k.person_id IS DISTINCT FROM p.person_id""")
        n_missed = con.execute("SELECT count(*) FROM missed").fetchall()[0][0]
        # the clerk's search: register persons of the province found by given name + district,
        # whole name, date of birth, ID second half or phone, each scored on the ten fields
        agree = ", ".join(f"{sql} AS agree_{k}" for k, sql in AGREEMENT_SQL.items())
        keys = ("given_name_ascii = r.given_name_ascii AND l.district_code = r.district_code",
                "name_key = r.name_key", "dob = r.dob", "id_tail = r.id_tail", "phone = r.phone")
        searches = " UNION ".join(
            "SELECT r.ident, r.true_id, l.unique_id AS cand_id FROM mr r JOIN wide_reg l "
            f"ON l.wide_province = r.wide_province AND l.{k}" for k in keys)
        con.execute(f"""CREATE TEMP TABLE clerk AS
            WITH m AS (SELECT DISTINCT ident, person_id FROM missed),
            mr AS (SELECT m.ident, m.person_id AS true_id, r.* EXCLUDE (unique_id)
                   FROM m JOIN wide_vax r ON r.unique_id = m.ident),
            cand AS ({searches}
                UNION SELECT ident, person_id, person_id FROM m)
            SELECT c.ident, c.true_id, c.cand_id, {agree}
            FROM cand c JOIN wide_reg l ON l.unique_id = c.cand_id JOIN wide_vax r ON r.unique_id = c.ident""")
        ok_c, _, _ = _agree_count_sql()
        con.execute(f"""CREATE TEMP TABLE clerk_scores AS
            SELECT ident, true_id, max(CASE WHEN cand_id = true_id THEN n END) AS n_true,
                   coalesce(max(CASE WHEN cand_id <> true_id THEN n END), 0) AS n_other,
                   count(*) AS n_found
            FROM (SELECT *, {ok_c} AS n FROM clerk) GROUP BY ident, true_id""")
        con.execute(f"""CREATE TEMP TABLE missed2 AS SELECT m.*, s.n_other, s.n_found,
                   (m.n_agree >= {int(min_agree)} AND s.n_true - s.n_other >= {int(margin)}) AS human
            FROM missed m JOIN clerk_scores s ON s.ident = m.ident AND s.true_id = m.person_id""")
        out: dict = {"run": run.name, "n_true_pairs": n_true, "n_missed_pairs": int(n_missed),
                     "reach": {k: summary[k] for k in ("reached_first_pass", "reached", "n_unreached")},
                     "clerk_rule": {"min_agree": min_agree, "margin": margin}, "classes": []}
        for cls, n, n_h, best in con.execute(
                "SELECT class, count(*), count(*) FILTER (WHERE human), count(*) FILTER (WHERE best_is_true) "
                "FROM missed2 GROUP BY class ORDER BY 2 DESC").fetchall():
            hist = con.execute(
                "SELECT n_differ, n_missing, count(*), count(*) FILTER (WHERE human) FROM missed2 WHERE class = ? "
                "GROUP BY ALL ORDER BY 1, 2", [cls]).fetchall()
            cols = ", ".join(f"agree_{f}" for f in AGREEMENT_SQL)
            pats = con.execute(
                f"SELECT {cols}, count(*) AS n, count(*) FILTER (WHERE human) FROM missed2 WHERE class = ? "
                f"GROUP BY ALL ORDER BY n DESC, {cols} LIMIT {int(top)}", [cls]).fetchall()
            out["classes"].append({
                "class": cls, "n": int(n), "human_linkable": int(n_h), "best_candidate_is_true": int(best),
                "by_fields_differing": [{"differ": a, "missing": b, "n": int(c), "human_linkable": int(d)}
                                        for a, b, c, d in hist],
                "top_patterns": [{"n": int(p[-2]), "human_linkable": int(p[-1]),
                                  "fields": {k: v for k, v in zip(AGREEMENT_SQL, p[:-2]) if v != "same"}}
                                 for p in pats]})
        return out
    finally:
        con.close()


def show(res: dict) -> None:
    print(f"{res['run']}: {res['n_true_pairs']:,} true pairs, {res['n_missed_pairs']:,} missed; reach {res['reach']}")
    print(f"clerk's rule: >= {res['clerk_rule']['min_agree']} of the 10 fields agree and every other person "
          f"found >= {res['clerk_rule']['margin']} fewer")
    for c in res["classes"]:
        print(f"\n## {c['class']}: {c['n']:,} pairs, {c['human_linkable']:,} linkable by the clerk's rule, "
              f"best candidate the true person for {c['best_candidate_is_true']:,}")
        print("| fields differing | fields not comparable | pairs | clerk-linkable |\n|---:|---:|---:|---:|")
        for h in c["by_fields_differing"]:
            print(f"| {h['differ']} | {h['missing']} | {h['n']:,} | {h['human_linkable']:,} |")
        for p in c["top_patterns"]:
            print(f"   {p['n']:>5} ({p['human_linkable']} clerk) ", " ".join(f"{k}:{v}" for k, v in p["fields"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--min-agree", type=int, default=6)
    ap.add_argument("--margin", type=int, default=2)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    res = analyse(a.run, min_agree=a.min_agree, margin=a.margin)
    show(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
