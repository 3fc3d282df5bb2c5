"""Candidate pairs made here, scored by Splink (DuckDB): the same pairs and scores as Splink's
own blocking and ``predict``, in about three quarters of the time at full scale.

Splink makes each blocking rule's pairs disjoint from the earlier rules' by re-testing every
earlier rule on each joined pair (``AND NOT (rule 1 OR rule 2 ...)``): with the first pass's
22 rules that re-testing cost more than the joins themselves (measured at scale 1.0: 23.9
CPU-seconds for the blocking, 11.9 for the 22 joins alone). Its scoring then joins the pairs
twice to the concatenation of both inputs, the whole register included (4.5 million rows
at full scale, 2.0 million of them in some pair). Here each rule is joined once on row
numbers, a pair keeps its first rule (Splink's ``match_key``) through one GROUP BY, and
Splink scores the pairs (``register_blocked_pairs_for_predict``) against the register rows
that appear in them, with the term frequencies of the whole inputs registered beside.
Docs: docs/linkage.md, *Speed and memory*."""

from __future__ import annotations

from typing import Any

from vaxstudy.sql import ident, literal

#: Splink's separator in the composite ids of its blocked-pairs table (source dataset, id)
SEP = "-__-"


def settings_rules(settings: dict[str, Any]) -> list[str]:
    """The prediction blocking rules of a Splink settings dict, as SQL conditions."""
    return [r["blocking_rule"] if isinstance(r, dict) else str(r)
            for r in settings["blocking_rules_to_generate_predictions"]]


def candidate_pairs(con: Any, rules: list[str], left: str, right: str, out: str) -> int:
    """``out``\\ (lr, rr, k): the row numbers of the ``left`` (alias l) and ``right`` (alias r)
    tables joined by any of ``rules`` (SQL conditions), each pair once with the index of the
    first rule that joins it. Returns the number of pairs."""
    joins = "\nUNION ALL\n".join(
        f"SELECT l.rowid AS lr, r.rowid AS rr, {i} AS k FROM {ident(left)} l JOIN {ident(right)} r ON {rule}"
        for i, rule in enumerate(rules))
    con.execute(f"CREATE OR REPLACE TABLE {ident(out)} AS SELECT lr, rr, min(k) AS k FROM ({joins}) GROUP BY lr, rr")
    return int(con.execute(f"SELECT count(*) FROM {ident(out)}").fetchall()[0][0])


def predict_pairs(con: Any, settings: dict[str, Any], tf_tables: dict[str, str], *,
                  left: str, right: str, left_name: str, right_name: str,
                  threshold_match_probability: float | None, prefix: str,
                  score_left: str | None = None, score_row: str = "score_row") -> tuple[Any, int]:
    """Splink's prediction of the link_only model ``settings`` (l = ``left``, r = ``right``,
    named ``left_name`` < ``right_name`` as Splink orders them) over the pairs its prediction
    blocking rules join.

    ``left`` and ``right`` are DuckDB tables of ``con``; ``tf_tables`` maps a column to its
    term-frequency table over the whole inputs. ``score_left``: the table the left rows are
    scored from, by unique_id, when ``left`` holds only what the rules join on (the wide
    pass's register keys: the register is not copied with every compared column); ``left``'s
    column ``score_row`` then holds the row's rowid in ``score_left``. Working
    tables are named ``prefix``\_*. Returns (predictions as a Splink table, pairs scored)."""
    from splink import DuckDBAPI, Linker

    if not left_name < right_name:
        raise ValueError(f"Splink orders link_only inputs by name: {left_name!r} must sort before {right_name!r}")
    cand, paired, blocked = f"{prefix}_cand", f"{prefix}_left", f"{prefix}_blocked"
    n = candidate_pairs(con, settings_rules(settings), left, right, cand)
    # the left rows in some pair: a view of ``left`` (nothing copied); from ``score_left`` a
    # table, since Splink reads its left input twice (once per side it prunes) and finding the
    # rows there is a join on unique_id over the whole of ``score_left``
    if score_left is None:
        con.execute(f"CREATE OR REPLACE VIEW {ident(paired)} AS SELECT * FROM {ident(left)} "
                    f"WHERE rowid IN (SELECT lr FROM {ident(cand)})")
    else:
        con.execute(f"CREATE OR REPLACE TABLE {ident(paired)} AS SELECT * FROM {ident(score_left)} "
                    f"WHERE rowid IN (SELECT l.{ident(score_row)} FROM {ident(cand)} c "
                    f"JOIN {ident(left)} l ON l.rowid = c.lr)")
    con.execute(
        f"""CREATE OR REPLACE TABLE {ident(blocked)} AS
        SELECT CAST(c.k AS VARCHAR) AS match_key,
               {literal(left_name + SEP)} || CAST(l.unique_id AS VARCHAR) AS join_key_l,
               {literal(right_name + SEP)} || CAST(r.unique_id AS VARCHAR) AS join_key_r
        FROM {ident(cand)} c JOIN {ident(left)} l ON l.rowid = c.lr JOIN {ident(right)} r ON r.rowid = c.rr""")
    # the scoring linker needs no rules (the pairs are given) and its inputs may lack the
    # columns only the rules join on
    scoring = {**settings, "blocking_rules_to_generate_predictions": []}
    api = DuckDBAPI(connection=con)
    linker = Linker([api.register(paired, dataset_display_name=left_name),
                     api.register(right, dataset_display_name=right_name)], scoring, log_level=None)
    for col, table in tf_tables.items():
        linker.table_management.register_term_frequency_lookup(api.register(table), col)
    linker.table_management.register_blocked_pairs_for_predict(api.register(blocked))
    pred = linker.inference.predict(threshold_match_probability=threshold_match_probability,
                                    warning_mode="never")
    # the scored pairs are a table of their own: the pairs and the view need not hold memory
    con.execute(f"DROP {'VIEW' if score_left is None else 'TABLE'} {ident(paired)}")
    for t in (blocked, cand):
        con.execute(f"DROP TABLE {ident(t)}")
    return pred, n
