"""Register persons without a date of birth, as candidates of the rows the link leaves unlinked.

The contract makes ``date_of_birth`` required in the register: ingest quarantines a register
row without one and it stays out of ``population_std``, of every denominator and of
``record_links.person_id`` (which means "a person of the denominator"). Its vaccination rows
are still not "outside the register": the person is there, the entry incomplete. So the
identities still unlinked at the end of the link (after the wide pass, the subject rescue and
the reviewers' decisions) are scored, with the same trained model and term frequencies,
against the register rows quarantined *only* for a missing date of birth
(``population_incomplete_std``, :func:`vaxstudy.ingest.incomplete_register_sql`), on routes
without a date (name, ID and its halves, phone, name parts in the commune). An identity whose
best such candidate clears the link threshold carries it in ``record_links`` as
``incomplete_register_person_id`` with ``incomplete_register_match_probability``, never in
``person_id``: no figure moves, the count is reported beside them (docs/linkage.md, *A
register person without a date of birth*).

The probability is the link's own decision rule over a register of its own: the exclusive
model (one person at most per identity, candidates competing) with a prior re-estimated over
the leftover identities by the wide pass's fixed point (:func:`vaxstudy.link.wide._leftover_prior`),
since those identities are the ones no complete register person was found for.
"""

from __future__ import annotations

from typing import Any

from vaxstudy.link.decide import best_candidates, engine, exclusive_prob_sql, log2_odds, prob_sql
from vaxstudy.link.prepare import _layered_select
from vaxstudy.link.scoring import scoring_linker
from vaxstudy.link.settings import settings_from_model
from vaxstudy.link.wide import _leftover_prior, add_province_columns
from vaxstudy.sql import has_table, literal, table_columns

#: the project table of the register rows without a date of birth (standardised)
SOURCE = "population_incomplete_std"
#: the link's columns for them (record_links)
COLUMNS = {"incomplete_register_person_id": "VARCHAR", "incomplete_register_match_probability": "DOUBLE"}

# incomplete register = l ("register" < "vaccinations"), registry identity = r. The register
# side is small (a fraction of a percent of residents), so loose routes stay cheap.
BLOCKING_RULES: dict[str, str] = {
    "name+province": 'l."name_key" = r."name_key" AND l."wide_province" = r."wide_province"',
    "id": 'l."id_number" = r."id_number"',
    "id_head+surname": 'l."id_head" = r."id_head" AND l."surname_ascii" = r."surname_ascii"',
    "id_head+given": 'l."id_head" = r."id_head" AND l."given_name_ascii" = r."given_name_ascii"',
    "id_tail": 'l."id_tail" = r."id_tail"',
    "phone": 'l."phone" = r."phone"',
    "surname+given+commune": ('l."surname_ascii" = r."surname_ascii" AND l."given_name_ascii" = '
                              'r."given_name_ascii" AND l."commune_code" = r."commune_code"'),
    "surname+middle+commune": ('l."surname_ascii" = r."surname_ascii" AND l."middle_name_ascii" = '
                               'r."middle_name_ascii" AND l."commune_code" = r."commune_code"'),
    "middle+given+commune": ('l."middle_name_ascii" = r."middle_name_ascii" AND l."given_name_ascii" = '
                             'r."given_name_ascii" AND l."commune_code" = r."commune_code"'),
}


def _empty(be: Any, con: Any) -> None:
    be.tables.create_table(con, "ident_incomplete", "SELECT CAST(NULL AS VARCHAR) AS ident, "
                           "CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS p LIMIT 0")


def score_incomplete_register(
    con: Any, backend: Any, model: dict[str, Any], tf_tables: dict[str, str], *, threshold: float,
    exclusive: bool = True, vax: str = "link_vax", links: str = "ident_link",
    register_source: str = "register", vax_source: str = "vaccinations",
) -> dict[str, Any]:
    """``ident_incomplete(ident, person_id, p)``: the identities of ``vax`` not in ``links``
    whose best candidate among the register rows without a date of birth has p >= ``threshold``.
    Returns the summary for link_summary.json (``incomplete_register``)."""
    be = engine(backend)
    summary: dict[str, Any] = {"rules": dict(BLOCKING_RULES), "n_register_incomplete": 0,
                               "n_identities_scored": 0, "n_pairs_blocked": 0, "n_linked_identities": 0}
    _empty(be, con)
    if getattr(be, "name", None) != "duckdb":  # the table is read from the project file in SQL
        summary["note"] = "not scored on this engine (DuckDB only)"
        return summary
    if not has_table(con, SOURCE, "proj"):  # a database standardised before this existed
        summary["note"] = f"no {SOURCE} table: standardise again to score them"
        return summary
    cols = set(table_columns(con, SOURCE, "proj"))
    be.tables.create_table(con, "inc_reg0", _layered_select(
        f"proj.{SOURCE}", cols, register=True, extra=["CAST(unique_id AS VARCHAR) AS unique_id"],
        duckdb_trim=True))
    n_inc = int(be.tables.fetch(con, "SELECT count(*) FROM inc_reg0")[0][0])
    summary["n_register_incomplete"] = n_inc
    if not n_inc:
        return summary
    add_province_columns(con, vax, "inc_vax", vax=True, backend=be,
                         where=f"NOT EXISTS (SELECT 1 FROM {links} il WHERE il.ident = v.unique_id)")
    n_left = int(be.tables.fetch(con, "SELECT count(*) FROM inc_vax")[0][0])
    summary["n_identities_scored"] = n_left
    if not n_left:
        return summary
    add_province_columns(con, "inc_reg0", "inc_reg", vax=False, backend=be)

    prior = float(model["probability_two_random_records_match"])
    settings = settings_from_model(model, rules=list(BLOCKING_RULES.values()))
    linker = scoring_linker(be, con, [("inc_reg", register_source), ("inc_vax", vax_source)], settings, tf_tables)
    summary["n_pairs_blocked"] = int(backend.tables.count_rows(
        con, linker.inference.compute_blocked_pairs_for_predict()))
    pred = backend.tables.work_table(con, linker.inference.predict(threshold_match_probability=1e-5,
                                                                   warning_mode="never"))
    v = literal(vax_source)
    be.tables.create_table(
        con, "inc_pairs",
        f"""
        SELECT CASE WHEN source_dataset_l = {v} THEN unique_id_l ELSE unique_id_r END AS ident,
               CASE WHEN source_dataset_l = {v} THEN unique_id_r ELSE unique_id_l END AS person_id,
               match_weight - ({log2_odds(prior)!r}) AS bf
        FROM {pred} WHERE match_weight IS NOT NULL""",
    )
    linker.table_management.delete_tables_created_by_splink_from_db()
    best_candidates(con, pairs="inc_pairs", out="inc_best", backend=be)
    x = _leftover_prior(con, be, n_left, n_inc, exclusive, table="inc_best")
    p = exclusive_prob_sql(x, n_inc) if exclusive else prob_sql("bf", x)
    be.tables.create_table(con, "ident_incomplete",
                           f"SELECT ident, person_id, {p} AS p FROM inc_best WHERE {p} >= {float(threshold)!r}")
    summary.update(
        n_pairs_kept=int(be.tables.fetch(con, "SELECT count(*) FROM inc_pairs")[0][0]),
        n_with_candidate=int(be.tables.fetch(con, "SELECT count(*) FROM inc_best")[0][0]),
        prior=x, prior_kind="share of the leftover identities with such a person" if exclusive
        else "pair prior over the leftover identities",
        n_linked_identities=int(be.tables.fetch(con, "SELECT count(*) FROM ident_incomplete")[0][0]),
    )
    return summary


def add_to_record_links(con: Any, backend: Any = None, *, rows: str = "link_rows") -> int:
    """``record_links`` with :data:`COLUMNS` appended: an unlinked row's incomplete register
    person from ``ident_incomplete`` (:func:`score_incomplete_register`; NULL elsewhere), in
    entry order. Returns the number of rows found."""
    be = engine(backend)
    be.tables.create_table(
        con, "record_links",
        f"""
        SELECT rl.*, CAST(CASE WHEN rl.person_id IS NULL THEN i.person_id END AS VARCHAR)
                       AS incomplete_register_person_id,
               CAST(CASE WHEN rl.person_id IS NULL THEN i.p END AS DOUBLE)
                       AS incomplete_register_match_probability
        FROM record_links rl JOIN {rows} r USING (record_id)
        LEFT JOIN ident_incomplete i ON i.ident = r.ident
        ORDER BY r._row NULLS LAST, rl.record_id""",
    )
    return int(be.tables.fetch(con, "SELECT count(incomplete_register_person_id) FROM record_links")[0][0])
