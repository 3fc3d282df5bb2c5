"""Measure the prediction blocking rules: comparisons generated and, with truth,
the share of true (identity, register person) pairs each rule and their union
reach. Used by benchmarks/bench_link.py --blocking and reported in
docs/linkage.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaxstudy.link.prepare import open_work_connection, prepare_inputs
from vaxstudy.link.settings import PREDICTION_BLOCKING_RULES
from vaxstudy.sql import path_literal


def _truth_sql(truth_dir: Path | None) -> str | None:
    if truth_dir is None:
        return None
    for ext, reader in (("parquet", "read_parquet({p})"),
                        ("csv", "read_csv({p}, all_varchar = true, header = true)")):
        f = Path(truth_dir) / f"truth.{ext}"
        if f.exists():
            return reader.format(p=path_literal(f))
    return None


def blocking_report(
    db_path: str | Path, truth_dir: str | Path | None = None, *, memory_limit: str = "6GB"
) -> dict[str, Any]:
    """Per rule: comparisons and (with truth) true pairs reached; plus the union."""
    con = open_work_connection(db_path, memory_limit=memory_limit, read_only=True)
    try:
        counts = prepare_inputs(con)
        tsql = _truth_sql(Path(truth_dir) if truth_dir else None)
        if tsql is None and "truth" in {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'proj'").fetchall()}:
            tsql = "proj.truth"
        has_truth = tsql is not None
        if has_truth:
            con.execute(
                f"""CREATE TABLE true_pairs AS
                SELECT DISTINCT r.ident, CAST(t.true_person_id AS VARCHAR) AS person_id
                FROM link_rows r JOIN {tsql} t ON CAST(t.record_id AS VARCHAR) = r.record_id
                WHERE NULLIF(CAST(t.true_person_id AS VARCHAR), '') IS NOT NULL
                  AND CAST(t.true_person_id AS VARCHAR) IN (SELECT unique_id FROM link_reg)"""
            )
            n_true = con.execute("SELECT count(*) FROM true_pairs").fetchall()[0][0]
        rules = []
        reached = []
        for name, rule in PREDICTION_BLOCKING_RULES.items():
            n_cmp = con.execute(
                f"SELECT count(*) FROM link_reg l JOIN link_vax r ON {rule}"
            ).fetchall()[0][0]
            row: dict[str, Any] = {"rule": name, "sql": rule, "comparisons": int(n_cmp)}
            if has_truth:
                n_hit = con.execute(
                    f"""SELECT count(*) FROM true_pairs p
                    JOIN link_reg l ON l.unique_id = p.person_id
                    JOIN link_vax r ON r.unique_id = p.ident
                    WHERE COALESCE({rule}, FALSE)"""
                ).fetchall()[0][0]
                reached.append(f"COALESCE({rule}, FALSE)")
                n_union = con.execute(
                    f"""SELECT count(*) FROM true_pairs p
                    JOIN link_reg l ON l.unique_id = p.person_id
                    JOIN link_vax r ON r.unique_id = p.ident
                    WHERE {' OR '.join(reached)}"""
                ).fetchall()[0][0]
                row.update(true_pairs_share=n_hit / n_true if n_true else None,
                           cumulative_reach=n_union / n_true if n_true else None)
            rules.append(row)
        if has_truth:
            conds = [f"COALESCE({r}, FALSE)" for r in PREDICTION_BLOCKING_RULES.values()]
            for i, row in enumerate(rules):
                others = " OR ".join(c for j, c in enumerate(conds) if j != i) or "FALSE"
                n_only = con.execute(
                    f"""SELECT count(*) FROM true_pairs p
                    JOIN link_reg l ON l.unique_id = p.person_id
                    JOIN link_vax r ON r.unique_id = p.ident
                    WHERE {conds[i]} AND NOT ({others})"""
                ).fetchall()[0][0]
                row["true_pairs_only_this_rule"] = n_only / n_true if n_true else None
        # distinct pairs over all rules, as Splink will score them
        union_sql = " UNION ".join(
            f"SELECT l.unique_id AS a, r.unique_id AS b FROM link_reg l JOIN link_vax r ON {rule}"
            for rule in PREDICTION_BLOCKING_RULES.values()
        )
        n_union_cmp = con.execute(f"SELECT count(*) FROM ({union_sql})").fetchall()[0][0]
        out: dict[str, Any] = {
            "n_register": counts["link_reg"],
            "n_identities": counts["link_vax"],
            "n_rows": counts["link_rows"],
            "rules": rules,
            "union_comparisons": int(n_union_cmp),
        }
        if has_truth:
            out["n_true_pairs"] = int(n_true)
            out["union_reach"] = rules[-1]["cumulative_reach"] if rules else None
        return out
    finally:
        con.close()
