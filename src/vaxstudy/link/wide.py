"""A second, wider look for the identities the first pass left unlinked.

The prediction blocking rules (rules.PREDICTION_BLOCKING_RULES) are chosen to be
cheap over every registry identity, so each needs an exact date of birth, ID, phone or
name key together with an address. A resident whose record breaks all of them at once
(a rotated name with a typo, an old CMND number and a wrong commune; a year-only birth
date, no address and a misspelt surname) is never scored and silently counts as
"outside the register". Those records are few, so they can afford wider blocks: each
rule below keeps one reliable field and drops a different fragile one, and only the
province (or, for year-only birth dates, the commune) limits the block, so the pass stays
bounded at national scale.

The pairs are scored with the same trained model and term frequencies, merged with the
pairs the first pass already scored for these identities, and decided exactly as the
first pass decides (best candidate, exclusive probability, same threshold):

* a best candidate at or above the threshold becomes a link (a first-pass miss recovered);
* otherwise the identity keeps its best candidate and that candidate's probability,
  which ``record_links`` carries as ``best_person_id`` / ``best_match_probability`` for
  the unlinked rows. The estimate stage redraws those links from their probabilities, so
  the intervals of the recorded coverage and the unlinked-record rate see the residents
  the linkage may have missed (vaxstudy.estimate.intervals).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import duckdb

from vaxstudy.link.decide import (
    best_candidates,
    fixed_point,
    engine,
    exclusive_prob_sql,
    has_person_sql,
    log2_odds,
    prob_sql,
    runner_up_prob_sql,
)
from vaxstudy.link.scoring import scoring_linker
from vaxstudy.link.settings import settings_from_model
from vaxstudy.scope import identity_site_province_sql
from vaxstudy.sql import has_table, literal, table_columns

log = logging.getLogger(__name__)

# Register = l ("register" < "vaccinations"), registry identity = r, as in settings.py.
WIDE_BLOCKING_RULES: dict[str, str] = {
    # any name, any commune: names mangled (rotation + typo) and a wrong commune
    "dob+province": 'l."dob" = r."dob" AND l."wide_province" = r."wide_province"',
    "swapped_dob+province": (
        'l."dob_swapped" = r."dob" AND l."wide_province" = r."wide_province"'
    ),
    # year-only or wrong dates of birth, with one name part misspelt
    "year+middle+given+province": (
        'l."birth_year" = r."birth_year" AND l."middle_name_ascii" = r."middle_name_ascii" '
        'AND l."given_name_ascii" = r."given_name_ascii" AND l."wide_province" = r."wide_province"'
    ),
    "year+surname+given+province": (
        'l."birth_year" = r."birth_year" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."given_name_ascii" = r."given_name_ascii" AND l."wide_province" = r."wide_province"'
    ),
    # surname + middle name + year, in the district (a misspelt given name with the day and
    # month wrong); in the province only for records without address (below): a full date
    # with the given name wrong keeps the first pass's date + surname + middle name rules and
    # the wide dob + province, and the province-wide block ("Nguyễn Văn", born 1975) was half
    # the wide pass's pairs
    "year+surname+middle+district": (
        'l."birth_year" = r."birth_year" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."middle_name_ascii" = r."middle_name_ascii" AND l."district_code" = r."district_code"'
    ),
    # surname and given name with day and month, in the district: a wrong year together
    # with a middle name absent, added or misspelt and a wrong commune (two wrong fields and
    # a third; the first pass holds this route only for records without a commune, since for
    # every record it made 1.27 million chance pairs at full scale; here it is joined for the
    # leftovers only)
    "surname+given+daymonth+district": (
        'l."surname_ascii" = r."surname_ascii" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."birth_md" = r."birth_md" AND l."district_code" = r."district_code"'
    ),
    # -- several fields wrong at once (the middle name dropped or changed, so the whole name
    # and its sorted key differ; a lunar birthday or a year one or ten off; a CMND or no ID;
    # docs/linkage.md, *Every kind at once*). The given name in the commune with the year
    # one digit off or within one (1975 ~ 1976, 1978, 1985): survives the surname, the middle
    # name, the day and the month together; and the ID's second half in the district (a
    # digit slip in the first half) whatever the name and date say. For the leftovers only:
    # over every identity they made 315,000 and 72,000 pairs at scale 0.1
    "given+commune+yearnear": (
        'l."given_name_ascii" = r."given_name_ascii" AND l."commune_code" = r."commune_code" '
        'AND (abs(l."birth_year" - r."birth_year") <= 1 OR floor(l."birth_year" / 10) = floor(r."birth_year" / 10) '
        'OR l."birth_year" % 10 = r."birth_year" % 10)'
    ),
    "id_tail+district": 'l."id_tail" = r."id_tail" AND l."district_code" = r."district_code"',
    # a year-only birth date and a name mangled beyond every name rule (rotated and
    # misspelt): the commune and sex are what is left
    "yearonly+commune+sex": (
        'l."birth_year" = r."year_only_birth_year" AND l."commune_code" = r."commune_code" '
        'AND l."sex" = r."sex"'
    ),
    # the whole name and nothing of the date: a wrong year on a year-only or address-less
    # record; a name shared by more than NAME_BLOCK_CAP residents of the province is joined
    # within its district instead (name_block, see add_name_block)
    "name+province": 'l."name_block" = r."name_block" AND l."wide_province" = r."wide_province"',
    # -- a year alone and no address (a name, a year, a sex): second routes for one wrong
    # field. They join on ``yna_province``, the province of such records only (NULL
    # elsewhere), so they stay as small as that class (a few records in a thousand): surname,
    # middle name and year (a wrong given name); two name parts and the year within one (a
    # wrong surname or middle name; also a year off by one); surname, middle name and the
    # given name's first or last letter, the year within one (a misspelt given name: one
    # edit leaves its first or its last letter); and the whole name in the province without name_block's district cap (a wrong year with a very
    # common name: such a record has no district to cut the block by)
    "yearonly_noaddress:surname+middle+year": (
        'l."birth_year" = r."birth_year" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."middle_name_ascii" = r."middle_name_ascii" AND l."wide_province" = r."yna_province"'
    ),
    "yearonly_noaddress:middle+given+year1": (
        'l."middle_name_ascii" = r."middle_name_ascii" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."wide_province" = r."yna_province" AND abs(l."birth_year" - r."birth_year") <= 1'
    ),
    "yearonly_noaddress:surname+given+year1": (
        'l."surname_ascii" = r."surname_ascii" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."wide_province" = r."yna_province" AND abs(l."birth_year" - r."birth_year") <= 1'
    ),
    "yearonly_noaddress:surname+middle+given_first+year1": (
        'l."surname_ascii" = r."surname_ascii" AND l."middle_name_ascii" = r."middle_name_ascii" '
        'AND l."given_first" = r."given_first" AND l."wide_province" = r."yna_province" '
        'AND abs(l."birth_year" - r."birth_year") <= 1'
    ),
    "yearonly_noaddress:surname+middle+given_last+year1": (
        'l."surname_ascii" = r."surname_ascii" AND l."middle_name_ascii" = r."middle_name_ascii" '
        'AND l."given_last" = r."given_last" AND l."wide_province" = r."yna_province" '
        'AND abs(l."birth_year" - r."birth_year") <= 1'
    ),
    "yearonly_noaddress:name": 'l."name_key" = r."name_key" AND l."wide_province" = r."yna_province"',
}

#: the columns add_province_columns makes (the rest of what the rules join on is copied)
_MADE = ("wide_province", "given_first", "given_last", "yna_province", "name_block")


def register_join_columns() -> list[str]:
    """unique_id and the register columns the wide rules join on (register = l): all the
    wide pass copies of the register where the pairs are scored from link_reg itself."""
    cols = {c for rule in WIDE_BLOCKING_RULES.values() for c in re.findall(r'\bl\."(\w+)"', rule)}
    return ["unique_id", *sorted(cols - set(_MADE))]


#: register residents of a province sharing one whole name above which the wide pass's
#: name-only block is cut by district
NAME_BLOCK_CAP = 200


def _district_province_table(con: duckdb.DuckDBPyConnection) -> None:
    """wide_geo(district_code, province_code), the GSO list (705 rows), in the DuckDB working
    connection; an engine that reads it copies it over."""
    from vaxstudy.geo import districts

    d = districts()[["district_code", "province_code"]]
    con.register("_geo_dp", d)
    con.execute("CREATE OR REPLACE TABLE wide_geo AS SELECT * FROM _geo_dp")
    con.unregister("_geo_dp")


def _site_province_sql(con: duckdb.DuckDBPyConnection, rows: str = "link_rows") -> str:
    """ident -> the province of the sites its rows were entered at (:mod:`vaxstudy.scope`), over
    ``rows`` (link_rows or a part of it); an empty query when the project has no site list or
    its rows no site_id."""
    if not has_table(con, "sites", "proj") or "site_id" not in table_columns(con, "vaccinations_std", "proj"):
        return "SELECT NULL::VARCHAR AS ident, NULL::VARCHAR AS site_province LIMIT 0"
    return identity_site_province_sql(rows, "proj.sites")


def add_province_columns(con: duckdb.DuckDBPyConnection, source: str, dest: str, *, vax: bool,
                         backend: Any = None, where: str = "TRUE",
                         name_block_cap: int | None = None, keep: list[str] | None = None,
                         row: str | None = None) -> None:
    """``dest``: the rows of ``source`` (link_reg or link_vax, alias ``v``) satisfying ``where``,
    with ``wide_province``: the province of the typed district, else (registry rows only)
    of the sites the identity's rows were entered at; the given name's first and last
    letters; and ``yna_province``, the same province on rows with a year of birth alone and
    no address only (NULL elsewhere), which the rules of that class join on. With
    ``name_block_cap``, also ``name_block`` (:func:`add_name_block`) from ``wide_name_freq``
    (:func:`add_name_freq`), in the same statement: the register is copied once. ``keep``:
    the columns of ``source`` copied (default all); ``row``: also ``source``'s rowid, as that
    column (scoring from ``source`` then selects its rows by number)."""
    be = engine(backend)
    _district_province_table(con)
    site = ""
    prov = "g.province_code"
    if vax:
        # the sites of the selected identities' rows only (the leftovers: 3% of the rows)
        rows = "link_rows" if where == "TRUE" else (
            f"(SELECT * FROM link_rows WHERE ident IN (SELECT v.unique_id FROM {source} v WHERE {where}))")
        site = f"LEFT JOIN ({_site_province_sql(con, rows)}) sp ON sp.ident = v.unique_id"
        prov = "coalesce(g.province_code, sp.site_province)"
    yna = "v.dob IS NULL AND v.district_code IS NULL AND v.commune_code IS NULL"
    block, freq = "", ""
    if name_block_cap is not None:
        block = f", {_name_block_sql(name_block_cap)} AS name_block"
        freq = f"LEFT JOIN wide_name_freq f ON f.name_key = v.name_key AND f.wide_province = {prov}"
    be.tables.create_table(
        con, dest,
        f"""
        SELECT {', '.join(f'v.{c}' for c in keep) if keep else 'v.*'}, {prov} AS wide_province,
               {f'v.rowid AS {row},' if row else ''}
               left(v.given_name_ascii, 1) AS given_first, right(v.given_name_ascii, 1) AS given_last,
               CASE WHEN {yna} THEN {prov} END AS yna_province{block}
        FROM {source} v
        LEFT JOIN wide_geo g ON g.district_code = v.district_code
        {site}
        {freq}
        WHERE {where}""",
    )


def _name_block_sql(cap: int) -> str:
    """The name_block of a row ``v`` joined to its name's frequency ``f`` (wide_name_freq)."""
    return (f"CASE WHEN f.n > {int(cap)} THEN v.name_key || '|' || coalesce(v.district_code, '') "
            "ELSE v.name_key END")


def add_name_freq(con: duckdb.DuckDBPyConnection, *, backend: Any = None, reg: str = "link_reg") -> None:
    """``wide_name_freq(name_key, wide_province, n)``: register residents sharing a whole name
    in a province (from ``reg`` and the district list, without copying the register)."""
    be = engine(backend)
    _district_province_table(con)
    be.tables.create_table(
        con, "wide_name_freq",
        f"SELECT v.name_key, g.province_code AS wide_province, count(*) AS n FROM {reg} v "
        "JOIN wide_geo g ON g.district_code = v.district_code WHERE v.name_key IS NOT NULL "
        "GROUP BY v.name_key, g.province_code")


def add_wide_inputs(con: duckdb.DuckDBPyConnection, *, backend: Any = None, where: str = "TRUE",
                    cap: int = NAME_BLOCK_CAP, register: bool = True) -> None:
    """wide_vax (the identities of link_vax satisfying ``where``) and, with ``register``,
    wide_reg, each with the province columns and ``name_block`` in one statement."""
    add_name_freq(con, backend=backend)
    add_province_columns(con, "link_vax", "wide_vax", vax=True, backend=backend, where=where,
                         name_block_cap=cap)
    if register:
        add_province_columns(con, "link_reg", "wide_reg", vax=False, backend=backend, name_block_cap=cap)


def add_name_block(con: duckdb.DuckDBPyConnection, *, backend: Any = None,
                   reg: str = "wide_reg", vax: str = "wide_vax", cap: int = NAME_BLOCK_CAP) -> None:
    """``name_block`` on both wide inputs: the sorted whole name, with the district added
    where more than ``cap`` register residents of the province share the name, so one very
    common name cannot make a runaway block (it gets a second field instead of being
    dropped; a record with such a name and no district is then not reached by this rule).
    (For tables built by hand; the link builds them with :func:`add_wide_inputs`.)"""
    be = engine(backend)
    be.tables.create_table(con, "wide_name_freq",
                    f"SELECT name_key, wide_province, count(*) AS n FROM {reg} "
                    "WHERE name_key IS NOT NULL GROUP BY name_key, wide_province")
    for t in (reg, vax):
        be.tables.create_table(
            con, t,
            f"""
            SELECT v.*, {_name_block_sql(cap)} AS name_block
            FROM {t} v LEFT JOIN wide_name_freq f
              ON f.name_key = v.name_key AND f.wide_province = v.wide_province""",
        )


def _leftover_prior(con: Any, be: Any, n_left: int, n_reg: int, exclusive: bool,
                    *, where: str = "TRUE", max_iter: int = 100, tol: float = 1e-6,
                    table: str = "wide_best") -> float:
    """The prior over the leftover identities, from their candidates in ``table`` (wide_best)
    (identities with no candidate count as having no register person): with
    ``exclusive``, pi = the mean P(the identity has a register person) (decide.refine_pi);
    else lam = sum p / (n_reg * n_left) (decide.refine_prior).

    Floored at one resident among the leftovers (pi = 1 / n_left): when the leftovers hold
    only one or two residents, their pooled evidence may not lift the fixed point off zero
    (it converges to 0 whenever the mean Bayes factor per register person is below 1),
    and a zero prior would rule out every recovery and every candidate."""
    if n_left == 0:
        return 1e-9
    floor = 1.0 / n_left if exclusive else 1.0 / (n_left * n_reg)
    def step(x: float) -> float:
        if exclusive:
            q = f"SELECT coalesce(sum({has_person_sql(x, n_reg)}), 0) FROM {table} WHERE {where}"
            return be.tables.fetch(con, q)[0][0] / n_left
        q = f"SELECT coalesce(sum({prob_sql('bf', x)}), 0) FROM {table} WHERE {where}"
        return be.tables.fetch(con, q)[0][0] / (n_reg * n_left)

    x, _ = fixed_point(step, 0.5 if exclusive else 0.5 / n_reg, lo=1e-9 if exclusive else 1e-15,
                       hi=1 - 1e-9 if exclusive else 0.5, max_iter=max_iter,
                       converged=lambda new, old: abs(new - old) <= max(tol * max(old, 1e-12), 1e-12))
    return max(x, floor)


def wide_pass(
    con: duckdb.DuckDBPyConnection,
    backend: Any,
    model: dict[str, Any],
    tf_tables: dict[str, str],
    *,
    p_expr: str,
    threshold: float,
    vax_source: str = "vaccinations",
    register_source: str = "register",
    n_reg: int | None = None,
    exclusive: bool = True,
    pi: float | None = None,
    prior_unseen: float | None = None,
) -> dict[str, Any]:
    """Score the identities not in ``ident_link`` with WIDE_BLOCKING_RULES.

    Inserts recovered links into ``ident_link`` and writes ``ident_candidate(ident,
    best_person_id, best_match_probability, in_register_probability, second_person_id,
    second_match_probability)`` for every identity still unlinked that has
    a scored candidate (from either pass); the runner-up's probability is the best one's times
    the ratio of their Bayes factors (exact in the exclusive model, the default). ``p_expr`` is the first pass's probability
    expression over ``bf``/``bf_rest`` (so the decision is the same); ``model`` the
    trained model in the DuckDB dialect, its prior being the one ``bf`` is taken against.
    Returns a summary for link_summary.json. The SQL runs on the backend's engine.

    With ``n_reg`` (the register's size), identities for which the first pass kept no
    pair ("unseen": none scored, or every pair below its 1e-5 cut) get a prior of their own, re-estimated over them by the first pass's
    fixed point: finding no register person on any first-pass block (ID, phone, exact
    birth date with a name and an address, ...) is evidence in itself, which their wide
    pairs do not carry; under the first pass's prior (~0.97 of identities have a register
    person) a lone candidate of an outsider looks near certain. Identities the first pass
    did score keep its prior: their probabilities already rest on that evidence.
    Without ``n_reg``, ``p_expr`` is used for all.

    ``ident_candidate`` also holds ``in_register_probability``: P(the identity has some
    register person) over all its candidates (the best being the likeliest), which the
    estimate's redraw uses (namesakes split the best candidate's probability, not this).
    ``pi`` is the first pass's prior share (exclusive model). ``prior_unseen`` fixes the
    unseen identities' prior instead of estimating it (an incremental update scores a few
    identities with the prior the full run estimated, :mod:`vaxstudy.link.update`).
    """
    be = engine(backend)
    add_wide_inputs(con, backend=be, register=False,
                    where="NOT EXISTS (SELECT 1 FROM ident_link il WHERE il.ident = v.unique_id)")
    n_left = be.tables.fetch(con, "SELECT count(*) FROM wide_vax")[0][0]
    summary: dict[str, Any] = {"rules": dict(WIDE_BLOCKING_RULES), "n_identities": int(n_left)}
    prior = float(model["probability_two_random_records_match"])
    be.tables.create_table(con, "wide_pairs", "SELECT CAST(NULL AS VARCHAR) AS ident, "
                    "CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS bf LIMIT 0")
    if n_left:
        own_pairs = be.name == "duckdb"  # the same pairs and scores, faster (link/pairs.py)
        add_province_columns(con, "link_reg", "wide_reg", vax=False, backend=be, name_block_cap=NAME_BLOCK_CAP,
                             keep=register_join_columns() if own_pairs else None,
                             row="score_row" if own_pairs else None)
        settings = settings_from_model(model, rules=list(WIDE_BLOCKING_RULES.values()))
        linker = None
        if own_pairs:
            from vaxstudy.link.pairs import predict_pairs

            pred, summary["n_pairs_blocked"] = predict_pairs(
                con, settings, tf_tables, left="wide_reg", right="wide_vax", left_name=register_source,
                right_name=vax_source, threshold_match_probability=1e-5, prefix="wide_scored",
                score_left="link_reg")
        else:
            linker = scoring_linker(be, con, [("wide_reg", register_source), ("wide_vax", vax_source)],
                                    settings, tf_tables)
            blocked = linker.inference.compute_blocked_pairs_for_predict()
            summary["n_pairs_blocked"] = backend.tables.count_rows(con, blocked)
            pred = linker.inference.predict(threshold_match_probability=1e-5, warning_mode="never")
        pred_table = backend.tables.work_table(con, pred)
        be.tables.insert(
            con, "wide_pairs",
            f"""
            SELECT CASE WHEN source_dataset_l = {literal(vax_source)} THEN unique_id_l ELSE unique_id_r END,
                   CASE WHEN source_dataset_l = {literal(vax_source)} THEN unique_id_r ELSE unique_id_l END,
                   match_weight - ({log2_odds(prior)!r})
            FROM {pred_table}""",
        )
        if linker is not None:
            linker.table_management.delete_tables_created_by_splink_from_db()
        else:
            pred.drop_table_from_database_and_remove_from_cache()
    summary["n_pairs_kept"] = int(be.tables.fetch(con, "SELECT count(*) FROM wide_pairs")[0][0])
    # every pair scored for these identities, by either pass (a pair both passes
    # scored has the same Bayes factor: same model, same term frequencies)
    be.tables.create_table(
        con, "wide_all_pairs",
        """
        SELECT ident, person_id, max(bf) AS bf FROM (
          SELECT p.ident, p.person_id, p.bf FROM link_pairs p SEMI JOIN wide_vax w ON w.unique_id = p.ident
          UNION ALL SELECT ident, person_id, bf FROM wide_pairs)
        GROUP BY ident, person_id""",
    )
    best_candidates(con, pairs="wide_all_pairs", out="wide_best", backend=be)
    be.tables.create_table(
        con, "wide_best",
        "SELECT b.*, EXISTS (SELECT 1 FROM link_pairs lp WHERE lp.ident = b.ident) AS seen "
        "FROM wide_best b",
    )
    p_any = p_expr
    if n_reg:
        n_unseen = be.tables.fetch(
            con, "SELECT count(*) FROM wide_vax w WHERE NOT EXISTS "
            "(SELECT 1 FROM link_pairs lp WHERE lp.ident = w.unique_id)")[0][0]
        if prior_unseen is None:
            prior_unseen = _leftover_prior(con, be, int(n_unseen), int(n_reg), exclusive, where="NOT seen")
        summary.update(n_unseen=int(n_unseen), prior_unseen=prior_unseen)
        if exclusive:
            p_unseen = exclusive_prob_sql(prior_unseen, n_reg)
            p_expr = f"CASE WHEN seen THEN {p_expr} ELSE {p_unseen} END"
            if pi is not None:
                p_any = (f"CASE WHEN seen THEN {has_person_sql(pi, n_reg)} "
                         f"ELSE {has_person_sql(prior_unseen, n_reg)} END")
        else:
            p_expr = f"CASE WHEN seen THEN {p_expr} ELSE {prob_sql('bf', prior_unseen)} END"
            p_any = p_expr
    be.tables.create_table(con, "wide_best",
                    f"SELECT *, {p_expr} AS p, greatest({p_any}, {p_expr}) AS p_any FROM wide_best")
    n_new = be.tables.fetch(con, f"SELECT count(*) FROM wide_best WHERE p >= {threshold}")[0][0]
    be.tables.insert(con, "ident_link", f"SELECT ident, person_id, p FROM wide_best WHERE p >= {threshold}")
    be.tables.create_table(
        con, "ident_candidate",
        f"""
        SELECT ident, person_id AS best_person_id, p AS best_match_probability,
               p_any AS in_register_probability, second_person_id,
               {runner_up_prob_sql("p")} AS second_match_probability
        FROM wide_best WHERE p < {threshold}""",
    )
    cand = be.tables.fetch(
        con, "SELECT count(*), coalesce(sum(best_match_probability), 0), "
        "coalesce(sum(in_register_probability), 0) FROM ident_candidate"
    )[0]
    summary.update(
        n_linked=int(n_new),
        n_with_candidate=int(cand[0]),
        expected_missed_links=float(cand[1]),
        expected_residents_unlinked=float(cand[2]),
    )
    return summary
