"""`vaxstudy link --update`: link only the rows an export gained since the previous link run.

A weekly export repeats last week's rows and appends the new ones. Re-linking it all costs
the whole registry × register scoring again; an update scores only what is new:

* the rows are those of the previous run (``link_inputs``: one digest per record, written
  after every link run) plus new record_ids. An earlier row changed or removed, another
  register, other review decisions, reviewers' decisions on duplicate pairs (they re-form
  clusters across the export) or another model refuse the update (:class:`UpdateRefused`
  says which): a full re-link is then needed;
* the identities to decide are the new ones and every identity sharing a registry profile
  (``subject_id``) with them, closed over shared profiles (the subject rescue reads a
  profile's other identities). They are scored against the register, widened, rescued and
  reviewed exactly as :func:`vaxstudy.link.core.link_db` does, with the previous run's
  frozen parameters: model, term frequencies (register + the last full run's identities),
  priors (pi, the unseen identities' prior, the dedupe prior) and threshold; updates in a row
  all keep the last full run's (``base`` in ``link_inputs``);
* every other identity keeps its decision from ``record_links``;
* duplicate clustering is re-run only over the clusters the new identities touch (an edge
  of the dedupe blocking rules to one of its members, or a member among the re-decided
  identities), with the previous run's dedupe prior; every other cluster keeps its key;
* person keys and duplicate-dose flags are then derived over all rows, as in a full run.

The result equals a full re-link that uses those same frozen parameters (``full=True``
computes it: every identity decided, every cluster re-run). It is not a re-estimation: the
priors and term frequencies of a full run drift as rows accumulate; re-link in full now and
then (docs/performance.md, *Periodic use*).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaxstudy.link import prepared
from vaxstudy.link.doses import NO_CANDIDATES_SQL
from vaxstudy.link.prepare import open_work_connection, prepare_inputs, record_key
from vaxstudy.link.run import TABLE as LINK_RUN_TABLE
from vaxstudy.link.run import model_sha256, new_link_run, read_link_run, write_link_run
from vaxstudy.sql import has_table, ident, path_literal, table_columns

log = logging.getLogger(__name__)

#: per-record digests of the rows the current record_links were made from
STATE_TABLE = "link_inputs"
#: one row: which link run the digests belong to, and the digests of its other inputs
META_TABLE = "link_inputs_meta"
UPDATE_SUMMARY_FILE = "link_update.json"


class UpdateRefused(RuntimeError):
    """The previous run cannot be extended: a full re-link is needed (the message says why)."""


@dataclass
class UpdateResult:
    n_records: int
    n_new_records: int
    n_identities_decided: int
    n_dedupe_nodes: int
    n_linked_records: int
    n_persons_est: int
    n_duplicate_doses: int
    threshold: float
    full: bool
    reused_prepared: bool = False  # the term frequencies kept by the previous run were reused
    timings: dict[str, float] = field(default_factory=dict)


def _row_digest_sql(con: Any, schema: str) -> str:
    """SELECT record_id, digest over every standardised column but the entry position
    (_row: a re-sorted export keeps its rows; duplicate flags are re-derived anyway)."""
    cols = table_columns(con, "vaccinations_std", schema)
    hashed = [ident(c) for c in cols if c != "_row"]
    return (f"SELECT {record_key(set(cols))} AS record_id, hash({', '.join(hashed)}) AS digest "
            f"FROM {schema}.vaccinations_std")


def _table_digest(con: Any, table: str, schema: str) -> str:
    """An order-free digest of a whole table (count, xor and sum of the row hashes)."""
    if not has_table(con, table, schema):
        return "absent"
    cols = ", ".join(ident(c) for c in table_columns(con, table, schema))
    n, x, s = con.execute(f"SELECT count(*), bit_xor(hash({cols})), sum(hash({cols}) % 1000000007) "
                          f"FROM {schema}.{table}").fetchall()[0]
    return f"{n}:{x}:{s}"


def _input_digests(con: Any, schema: str) -> dict[str, str]:
    return {"register": _table_digest(con, "population_std", schema),
            "review": _table_digest(con, "review_decisions", schema)}


def record_inputs(db_path: str | Path) -> None:
    """After a link run: the digests of the rows and inputs its record_links were made from
    (what the next ``--update`` compares against)."""
    con = open_work_connection(db_path)
    try:
        con.execute("USE proj")
        run = read_link_run(con)
        if run is None:
            raise RuntimeError(f"{db_path}: no link run to record")
        _write_state(con, "proj", run.linked_at, run.model_sha256, full_run=True)
    finally:
        con.close()


def _write_state(con: Any, schema: str, linked_at: Any, model_sha: str, *, full_run: bool) -> None:
    """The digests of every current row; ``base``: the row was in the last full run (its
    identities are the ones that run's term frequencies were counted over)."""
    base = "TRUE" if full_run else (f"d.record_id IN (SELECT record_id FROM {schema}.{STATE_TABLE} "
                                    "WHERE base)")
    con.execute(f"CREATE OR REPLACE TABLE {schema}._{STATE_TABLE}_new AS "
                f"SELECT d.*, {base} AS base FROM ({_row_digest_sql(con, schema)}) d")
    con.execute(f"DROP TABLE IF EXISTS {schema}.{STATE_TABLE}")
    con.execute(f"ALTER TABLE {schema}._{STATE_TABLE}_new RENAME TO {STATE_TABLE}")
    d = _input_digests(con, schema)
    con.execute(f"CREATE OR REPLACE TABLE {schema}.{META_TABLE} AS SELECT CAST(? AS TIMESTAMP) AS linked_at, "
                "CAST(? AS VARCHAR) AS model_sha256, CAST(? AS VARCHAR) AS register_digest, "
                "CAST(? AS VARCHAR) AS review_digest", [linked_at, model_sha, d["register"], d["review"]])


@dataclass(frozen=True)
class Frozen:
    """The previous run's parameters an update decides with."""

    model: dict[str, Any]
    n_reg: int
    threshold: float
    lam: float
    lam0: float
    pi: float | None
    exclusive: bool
    wide: bool
    prior_unseen: float | None
    dedupe_prior: float | None
    subject_rescue: bool
    name_sex: bool = False  # the Bayes factors corrected for sex-specific names (link/namesex.py)


def _frozen(db_path: Path, link_dir: Path) -> tuple[Frozen, Any]:
    """The previous run's parameters, or :class:`UpdateRefused` naming what is missing."""
    full = "run `vaxstudy link` without --update (a full re-link)"
    con = open_work_connection(db_path, read_only=True)
    try:
        con.execute("USE proj")
        run = read_link_run(con)
        if run is None:
            raise UpdateRefused(f"{db_path} was never linked: {full}")
        if not has_table(con, STATE_TABLE) or not has_table(con, META_TABLE):
            raise UpdateRefused(f"the previous link run of {db_path} did not record its rows "
                                f"(table {STATE_TABLE}): {full}")
        meta = dict(zip(("linked_at", "model_sha256", "register", "review"),
                        con.execute(f"SELECT linked_at, model_sha256, register_digest, review_digest "
                                    f"FROM {META_TABLE}").fetchall()[0]))
        if meta["linked_at"] != run.linked_at or meta["model_sha256"] != run.model_sha256:
            raise UpdateRefused(f"the recorded rows ({STATE_TABLE}, run of {meta['linked_at']}) are not those of "
                                f"the last link run ({run.linked_at}): {full}")
        if has_table(con, "review_decisions", "proj"):
            from vaxstudy.review.pairs import PAIR_KINDS

            kinds = ", ".join(f"'{k}'" for k in PAIR_KINDS)
            if _one(con, f"SELECT count(*) FROM proj.review_decisions WHERE kind IN ({kinds}) "
                         "AND decision IN ('same', 'different')"):
                raise UpdateRefused("reviewers' decisions on duplicate pairs re-form clusters across the "
                                    f"whole export; they are applied by a full re-link: {full}")
        now = _input_digests(con, "proj")
        for what, label in (("register", "the person register (population_std)"),
                            ("review", "the review decisions (review_decisions)")):
            if now[what] != meta[what]:
                raise UpdateRefused(f"{label} changed since the previous link run: {full}")
    finally:
        con.close()
    model_file, summary_file = link_dir / "link_model.json", link_dir / "link_summary.json"
    for f in (model_file, summary_file):
        if not f.is_file():
            raise UpdateRefused(f"the previous run's {f.name} is not in {link_dir}: {full}")
    model = json.loads(model_file.read_text(encoding="utf-8"))
    if model_sha256(model) != run.model_sha256:
        raise UpdateRefused(f"{model_file} is not the model of the previous link run (its hash differs "
                            f"from link_run.model_sha256): {full}")
    s = json.loads(summary_file.read_text(encoding="utf-8"))
    n_reg = int(s["inputs"]["n_register"])
    return Frozen(
        model=model, n_reg=n_reg, threshold=float(run.threshold), lam=float(run.prior),
        lam0=min(0.95 / max(n_reg, 1), 0.5),  # link_db's scoring prior (its 1e-5 cut is taken there)
        pi=s["model"].get("share_with_register_person"), exclusive=bool(s["model"]["exclusive"]),
        wide=bool(s["wide_pass"]["enabled"]), prior_unseen=s["wide_pass"].get("prior_unseen"),
        dedupe_prior=(s.get("dedupe") or {}).get("prior"),
        subject_rescue=bool(s["subject_rescue"]["enabled"]),
        name_sex=s["model"].get("name_sex_dependence") is not None,
    ), run


def _one(con: Any, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def _check_rows(con: Any) -> int:
    """Earlier rows unchanged and present; record ids unique. Returns the new rows' count
    (``upd_new`` holds their record ids)."""
    full = "run `vaxstudy link` without --update (a full re-link)"
    con.execute(f"CREATE OR REPLACE TABLE upd_cur AS {_row_digest_sql(con, 'proj')}")
    n, n_ids = con.execute("SELECT count(*), count(DISTINCT record_id) FROM upd_cur").fetchall()[0]
    if n != n_ids:
        raise UpdateRefused(f"vaccinations_std repeats record ids ({n - n_ids} rows): {full}")
    bad, example = con.execute(
        f"SELECT count(*), min(s.record_id) FROM proj.{STATE_TABLE} s LEFT JOIN upd_cur c USING (record_id) "
        "WHERE c.digest IS DISTINCT FROM s.digest").fetchall()[0]
    if bad:
        raise UpdateRefused(f"{bad} rows of the previous link run changed or left the export "
                            f"(e.g. record_id {example}): {full}")
    con.execute(f"CREATE OR REPLACE TABLE upd_new AS SELECT record_id FROM upd_cur "
                f"ANTI JOIN proj.{STATE_TABLE} USING (record_id)")
    return int(_one(con, "SELECT count(*) FROM upd_new"))


def _identities_to_decide(con: Any, full: bool) -> int:
    """``upd_r``: the new identities and those sharing a profile with them, closed over
    shared profiles (every identity when ``full``)."""
    if full:
        con.execute("CREATE OR REPLACE TABLE upd_r AS SELECT unique_id AS ident FROM link_vax")
        return int(_one(con, "SELECT count(*) FROM upd_r"))
    con.execute("CREATE OR REPLACE TABLE upd_r AS SELECT DISTINCT ident FROM link_rows "
                "WHERE record_id IN (SELECT record_id FROM upd_new)")
    n = -1
    while True:
        m = int(_one(con, "SELECT count(*) FROM upd_r"))
        if m == n:
            return m
        n = m
        con.execute("""
            CREATE OR REPLACE TABLE upd_r AS SELECT DISTINCT ident FROM link_rows
            WHERE ident IN (SELECT ident FROM upd_r)
               OR subject_id IN (SELECT subject_id FROM link_rows WHERE ident IN (SELECT ident FROM upd_r))""")


def _old_decisions(con: Any) -> None:
    """``upd_old``: each earlier identity's decision as record_links holds it (the runner-up
    NULL where an older record_links has none)."""
    second = ("any_value(l.second_person_id) AS second_person_id, "
              "any_value(l.second_match_probability) AS second_match_probability"
              if "second_person_id" in table_columns(con, "record_links", "proj")
              else "NULL::VARCHAR AS second_person_id, NULL::DOUBLE AS second_match_probability")
    con.execute(f"""
        CREATE OR REPLACE TABLE upd_old AS
        SELECT r.ident, any_value(l.person_id) AS person_id, any_value(l.match_probability) AS match_probability,
               any_value(l.person_key) AS person_key, count(DISTINCT l.person_key) AS n_keys,
               any_value(l.best_person_id) AS best_person_id,
               any_value(l.best_match_probability) AS best_match_probability,
               any_value(l.in_register_probability) AS in_register_probability, {second}
        FROM link_rows r JOIN proj.record_links l USING (record_id)
        WHERE r.record_id NOT IN (SELECT record_id FROM upd_new)
        GROUP BY r.ident""")
    n_links, n_state = con.execute(
        f"SELECT (SELECT count(*) FROM proj.record_links), (SELECT count(*) FROM proj.{STATE_TABLE})").fetchall()[0]
    if n_links != n_state or _one(con, "SELECT count(*) FROM upd_old WHERE n_keys > 1"):
        raise UpdateRefused("record_links is not the previous run's (rows or person keys disagree with "
                            f"{STATE_TABLE}): run `vaxstudy link` without --update (a full re-link)")


def _reachable_register(con: Any, settings: dict[str, Any]) -> str:
    """``upd_reg``: the residents some identity of link_vax meets on a prediction rule of
    ``settings`` (register = l, identity = r, as Splink orders the two inputs): the only ones
    Splink can pair, so scoring against them gives the same pairs as the whole register,
    without Splink copying 3.4 M residents with their term frequencies for 1 % of them."""
    from vaxstudy.link.pairs import settings_rules

    reach = " UNION ".join(f"SELECT l.unique_id FROM link_reg l JOIN link_vax r ON {r}"
                           for r in settings_rules(settings))
    con.execute(f"CREATE OR REPLACE TABLE upd_reg AS SELECT * FROM link_reg "
                f"WHERE unique_id IN (SELECT unique_id FROM ({reach}) k)")
    return "upd_reg"


def _score_register(con: Any, be: Any, fz: Frozen, tf_tables: dict[str, str], *, reachable: bool) -> None:
    """First pass over the identities in link_vax: link_pairs, link_best and ident_link, as link_db
    (``reachable``: against :func:`_reachable_register` only, the same pairs)."""
    from vaxstudy.link import decide
    from vaxstudy.link.core import REGISTER, VAX
    from vaxstudy.link.namesex import correct_pairs
    from vaxstudy.link.scoring import scoring_linker
    from vaxstudy.link.settings import settings_from_model

    settings = settings_from_model(fz.model)
    settings["probability_two_random_records_match"] = fz.lam0
    reg = _reachable_register(con, settings) if reachable else "link_reg"
    linker = scoring_linker(be, con, [(reg, REGISTER), ("link_vax", VAX)], settings, tf_tables)
    pred = linker.inference.predict(threshold_match_probability=1e-5, warning_mode="never")
    decide.load_link_pairs(con, be.tables.work_table(con, pred), fz.lam0, VAX, backend=be)
    if fz.name_sex:  # as link_db, the frequencies from the whole register
        correct_pairs(con, reg="link_reg", backend=be)
    decide.best_candidates(con, backend=be)
    p = _p_expr(fz)
    con.execute(f"CREATE OR REPLACE TABLE ident_link AS SELECT ident, person_id, {p} AS match_probability "
                f"FROM link_best WHERE {p} >= {fz.threshold}")


def _p_expr(fz: Frozen) -> str:
    from vaxstudy.link import decide

    return decide.exclusive_prob_sql(fz.pi, fz.n_reg) if fz.exclusive and fz.pi is not None \
        else decide.prob_sql("bf", fz.lam)


def _tf_tables(con: Any, be: Any, fz: Frozen) -> dict[str, str]:
    """Term frequencies over the register and the last full run's identities (link_vax_old),
    the ones that run scored with."""
    from splink import Linker

    from vaxstudy.link.dedupe import TF_COLUMNS
    from vaxstudy.link.settings import settings_from_model

    db_api = be.splink_api(con, ("link_reg", "link_vax_old"))
    linker = Linker([db_api.register("link_reg"), db_api.register("link_vax_old")],
                    be.splink_settings(settings_from_model(fz.model)), log_level=None)
    tf = {}
    for c in TF_COLUMNS:
        name = f"upd_tf_{c}"
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM "
                    f"{be.tables.work_table(con, linker.table_management.compute_tf_table(c))}")
        tf[c] = name
    return tf


def _dedupe_nodes(con: Any, full: bool) -> int:
    """``upd_nodes``: the unlinked identities whose clusters are re-run: the re-decided ones
    left unlinked, plus every member of an earlier cluster that holds a re-decided identity or
    shares a dedupe blocking key with one (every unlinked identity when ``full``)."""
    from vaxstudy.link.rules import blocking_rules

    con.execute("CREATE OR REPLACE TABLE upd_u AS SELECT * FROM link_vax "
                "WHERE unique_id NOT IN (SELECT ident FROM ident_link)")
    if full:
        con.execute("CREATE OR REPLACE TABLE upd_nodes AS SELECT unique_id AS ident FROM upd_u")
        return int(_one(con, "SELECT count(*) FROM upd_nodes"))
    con.execute("""
        CREATE OR REPLACE TABLE upd_uold AS
        SELECT v.*, o.person_key FROM link_vax_all v JOIN upd_old o ON o.ident = v.unique_id
        WHERE o.person_id IS NULL AND o.ident NOT IN (SELECT ident FROM upd_r)""")
    keys = " UNION ".join(
        f"SELECT r.person_key FROM upd_u l JOIN upd_uold r ON {rule} "
        f"UNION SELECT l.person_key FROM upd_uold l JOIN upd_u r ON {rule}"
        for rule in blocking_rules(dedupe=True))
    con.execute(f"""
        CREATE OR REPLACE TABLE upd_touched AS
        SELECT person_key FROM upd_old WHERE person_id IS NULL AND ident IN (SELECT ident FROM upd_r)
        UNION {keys}""")
    con.execute("""
        CREATE OR REPLACE TABLE upd_nodes AS
        SELECT unique_id AS ident FROM upd_u
        UNION SELECT unique_id FROM upd_uold WHERE person_key IN (SELECT person_key FROM upd_touched)""")
    return int(_one(con, "SELECT count(*) FROM upd_nodes"))


def update_links(db_path: str | Path, link_dir: str | Path, *, full: bool = False,
                 memory_limit: str | None = None, backend: Any = None, reuse_prepared: bool = True) -> UpdateResult:
    """Extend the previous link run of ``db_path`` (files in ``link_dir``) to the rows added
    since; ``full`` decides every identity with the same frozen parameters (the reference an
    update must equal). Rewrites record_links (table and Parquet), link_run and the recorded
    inputs; writes link_update.json. Raises :class:`UpdateRefused` when a full re-link is needed.
    ``reuse_prepared``: reuse the term frequencies the previous run kept when they are its
    (:mod:`vaxstudy.link.prepared`; the same result, without counting them again)."""
    from vaxstudy.engines import get_engine
    from vaxstudy.link import decide
    from vaxstudy.link.core import LINKS_FILE, REGISTER, VAX, _quiet_splink
    from vaxstudy.link.dedupe import dedupe_unlinked
    from vaxstudy.link.doses import build_record_links, key_rows
    from vaxstudy.link.incomplete import add_to_record_links, score_incomplete_register
    from vaxstudy.review.decisions import apply_review_decisions

    db_path, link_dir = Path(db_path), Path(link_dir)
    be = get_engine(backend)
    if be.name != "duckdb":
        raise UpdateRefused("`vaxstudy link --update` runs on DuckDB; on Spark re-link in full")
    fz, run = _frozen(db_path, link_dir)
    _quiet_splink()
    timings: dict[str, float] = {}
    t_all = t = time.perf_counter()
    tmp = link_dir / ".update_tmp"
    if memory_limit is None:  # the link's (LinkOptions)
        from vaxstudy.options import LinkOptions

        memory_limit = LinkOptions().memory_limit
    con = open_work_connection(db_path, memory_limit=memory_limit, temp_dir=tmp)
    try:
        n_new = _check_rows(con)
        timings["check"] = time.perf_counter() - t
        t = time.perf_counter()
        prepare_inputs(con, be)
        con.execute("ALTER TABLE link_vax RENAME TO link_vax_all")
        con.execute("CREATE OR REPLACE TABLE link_vax AS SELECT * FROM link_vax_all")
        n_r = _identities_to_decide(con, full)
        _old_decisions(con)
        from vaxstudy.link.dedupe import TF_COLUMNS

        tf_tables = prepared.tf_tables(con, TF_COLUMNS, linked_at=run.linked_at, model_sha=run.model_sha256) \
            if reuse_prepared else None
        reuse = tf_tables is not None
        if tf_tables is None:
            # term frequencies: over the identities of the last full run (not of the updates since)
            con.execute("CREATE OR REPLACE TABLE link_vax_old AS SELECT * FROM link_vax_all WHERE unique_id IN "
                        f"(SELECT ident FROM link_rows WHERE record_id IN (SELECT record_id FROM proj.{STATE_TABLE} "
                        "WHERE base))")
        con.execute("CREATE OR REPLACE TABLE link_vax AS SELECT * FROM link_vax_all "
                    "WHERE unique_id IN (SELECT ident FROM upd_r)")
        con.execute("CREATE OR REPLACE TABLE link_rows_r AS SELECT * FROM link_rows "
                    "WHERE ident IN (SELECT ident FROM upd_r)")
        timings["prepare"] = time.perf_counter() - t

        t = time.perf_counter()
        if tf_tables is None:
            tf_tables = _tf_tables(con, be, fz)
        if n_r:
            # the frozen full re-link (the reference an update must equal) scores the whole register
            _score_register(con, be, fz, tf_tables, reachable=not full)
        else:
            con.execute("CREATE OR REPLACE TABLE ident_link (ident VARCHAR, person_id VARCHAR, "
                        "match_probability DOUBLE)")
            con.execute("CREATE OR REPLACE TABLE link_pairs (ident VARCHAR, person_id VARCHAR, bf DOUBLE)")
        timings["predict"] = time.perf_counter() - t
        t = time.perf_counter()
        wide_summary: dict[str, Any] = {"enabled": fz.wide}
        if fz.wide and n_r:
            from vaxstudy.link.wide import wide_pass

            wide_summary.update(wide_pass(con, be, fz.model, tf_tables, p_expr=_p_expr(fz), threshold=fz.threshold,
                                          vax_source=VAX, register_source=REGISTER, n_reg=fz.n_reg,
                                          exclusive=fz.exclusive, pi=fz.pi, prior_unseen=fz.prior_unseen))
        else:
            con.execute(f"CREATE OR REPLACE TABLE ident_candidate AS {NO_CANDIDATES_SQL}")
        timings["wide_pass"] = time.perf_counter() - t
        t = time.perf_counter()
        n_rescued = decide.subject_rescue(con, rows="link_rows_r", backend=be) if fz.subject_rescue else 0
        review = apply_review_decisions(con, be, rows="link_rows_r")  # link decisions only (_frozen)
        # the earlier identities not re-decided keep their decisions
        con.execute("INSERT INTO ident_link SELECT ident, person_id, match_probability FROM upd_old "
                    "WHERE person_id IS NOT NULL AND ident NOT IN (SELECT ident FROM upd_r)")
        con.execute("INSERT INTO ident_candidate SELECT ident, best_person_id, best_match_probability, "
                    "in_register_probability, second_person_id, second_match_probability FROM upd_old WHERE person_id IS NULL AND best_person_id IS NOT NULL "
                    "AND ident NOT IN (SELECT ident FROM upd_r)")
        n_nodes = _dedupe_nodes(con, full)
        con.execute("CREATE OR REPLACE TABLE dedupe_in AS SELECT * FROM link_vax_all "
                    "WHERE unique_id IN (SELECT ident FROM upd_nodes)")
        dd = dedupe_unlinked(con, fz.model, tf_tables, fz.threshold, backend=be, prior=fz.dedupe_prior,
                             must_link=review.must_link, cannot_link=review.cannot_link)
        if not full:  # the clusters not re-run keep their person keys
            con.execute("INSERT INTO dedupe_clusters SELECT ident, person_key FROM upd_old "
                        "WHERE person_id IS NULL AND ident NOT IN (SELECT ident FROM upd_r) "
                        "AND ident NOT IN (SELECT ident FROM upd_nodes)")
        timings["dedupe"] = time.perf_counter() - t

        t = time.perf_counter()
        key_rows(con, backend=be)
        build_record_links(con, "link_rows_keyed", candidates=True, backend=be,
                           dose_decisions=review.dose_decisions)
        # register persons without a date of birth: every unlinked identity scored again (few)
        score_incomplete_register(con, be, fz.model, tf_tables, threshold=fz.threshold, exclusive=fz.exclusive,
                                  vax="link_vax_all", register_source=REGISTER, vax_source=VAX)
        add_to_record_links(con, be)
        missing = _one(con, "SELECT count(*) FROM link_rows_keyed WHERE person_key IS NULL")
        if missing:  # every row must have a person: a bug, never silently a merged NULL cluster
            raise RuntimeError(f"update left {missing} rows without a person key")
        con.execute("CREATE OR REPLACE TABLE proj.record_links AS SELECT * FROM record_links")
        con.execute(f"COPY (SELECT * FROM proj.record_links ORDER BY rowid) TO "
                    f"{path_literal(link_dir / LINKS_FILE)} (FORMAT PARQUET)")
        new_run = new_link_run(threshold=fz.threshold, prior=fz.lam, model=fz.model, engine=be.name,
                               options={**run.options, "update": {"full": full, "n_new_records": n_new,
                                                                  "previous_run": str(run.linked_at)}})
        write_link_run(con, new_run, table=f"proj.{LINK_RUN_TABLE}")
        _write_state(con, "proj", new_run.linked_at, new_run.model_sha256, full_run=False)
        if reuse:  # the last full run's term frequencies, kept for the next update
            prepared.retie(con, linked_at=new_run.linked_at)
        else:
            prepared.save(con, tf_tables, linked_at=new_run.linked_at, model_sha=new_run.model_sha256)
        stats = con.execute("SELECT count(*), count(person_id), count(DISTINCT person_key), "
                            "count(*) FILTER (WHERE is_duplicate_dose) FROM record_links").fetchall()[0]
        timings["record_links"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t_all
        res = UpdateResult(n_records=int(stats[0]), n_new_records=n_new, n_identities_decided=n_r,
                           n_dedupe_nodes=n_nodes, n_linked_records=int(stats[1]), n_persons_est=int(stats[2]),
                           n_duplicate_doses=int(stats[3]), threshold=fz.threshold, full=full,
                           reused_prepared=reuse,
                           timings={k: round(v, 3) for k, v in timings.items()})
        summary = {**res.__dict__, "previous_run": str(run.linked_at), "subject_rescued": n_rescued,
                   "review_decisions": review.summary, "wide_pass": wide_summary, "dedupe": dd,
                   "frozen": {"threshold": fz.threshold, "prior": fz.lam, "pi": fz.pi,
                              "prior_unseen": fz.prior_unseen, "dedupe_prior": fz.dedupe_prior}}
        (link_dir / UPDATE_SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return res
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
