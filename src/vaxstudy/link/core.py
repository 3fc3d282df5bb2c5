"""link_db: the whole linkage stage, from *_std tables to record_links."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vaxstudy.link import decide, prepared
from vaxstudy.link.dedupe import TF_COLUMNS, dedupe_unlinked
from vaxstudy.link.doses import NO_CANDIDATES_SQL, build_record_links, key_rows
from vaxstudy.link.incomplete import add_to_record_links, score_incomplete_register
from vaxstudy.link.namesex import correct_pairs
from vaxstudy.link.prepare import open_work_connection, prepare_inputs
from vaxstudy.link.run import TABLE as LINK_RUN_TABLE
from vaxstudy.link.run import new_link_run, write_link_run
from vaxstudy.link.settings import build_settings, settings_from_model
from vaxstudy.options import LinkOptions
from vaxstudy.review.decisions import apply_review_decisions
from vaxstudy.sql import path_literal

log = logging.getLogger(__name__)

REGISTER = "register"
VAX = "vaccinations"
MODEL_FILE = "link_model.json"
SUMMARY_FILE = "link_summary.json"
LINKS_FILE = "record_links.parquet"


@dataclass
class LinkResult:
    out_dir: Path
    n_records: int
    n_identities: int
    n_register: int
    n_linked_records: int
    n_persons_est: int
    n_duplicate_doses: int
    threshold: float
    prior: float
    model_path: Path
    parquet_path: Path
    summary_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    comparisons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _load_model(model_path: str | Path) -> dict[str, Any]:
    return settings_from_model(json.loads(Path(model_path).read_text(encoding="utf-8")))


def _predict_in_chunks(linker: Any, db_api: Any, backend: Any, con: Any, n_chunks: int) -> tuple[Any, int]:
    """Score the pairs in ``n_chunks`` slices of the registry side (the right input), one
    slice's blocked pairs at a time, and union the kept pairs on the engine.

    Returns (predictions as one Splink table, comparisons scored). The union is built the
    way Splink's own chunked ``predict`` builds it (a ``__splink__df_predict`` table, which
    the Spark backend materialises), so charts that take predictions accept it."""
    from splink.internals.pipeline import CTEPipeline

    parts, n_comparisons = [], 0
    for i in range(1, n_chunks + 1):
        chunk = {"left_chunk": (1, 1), "right_chunk": (i, n_chunks)}
        blocked = linker.inference.compute_blocked_pairs_for_predict_chunk(**chunk)  # cached
        n_comparisons += backend.tables.count_rows(con, blocked)
        parts.append(linker.inference.predict_chunk(**chunk, threshold_match_probability=1e-5,
                                                    warning_mode="never"))
        blocked.drop_table_from_database_and_remove_from_cache()  # the big table of the slice
    pipeline = CTEPipeline()
    pipeline.enqueue_sql(" UNION ALL ".join(f"SELECT * FROM {p.physical_name}" for p in parts),
                         "__splink__df_predict")
    pred = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    for p in parts:
        p.drop_table_from_database_and_remove_from_cache()
    return pred, n_comparisons


def link_db(db_path: str | Path, out_dir: str | Path, options: LinkOptions | None = None, *,
            backend: Any = None) -> LinkResult:
    """Link every vaccination row to its register person, deduplicate the rest.

    Reads ``population_std`` and ``vaccinations_std`` from ``db_path``; writes
    ``record_links`` there and, in ``out_dir``: record_links.parquet,
    link_model.json (reusable with ``model_path``), link_summary.json (threshold
    and its justification, prior, counts, timings) and diagnostics/.

    ``options`` (:class:`vaxstudy.options.LinkOptions`, default: its defaults) say how:
    ``model_path`` reuses a saved model, ``threshold`` overrides the automatic choice
    (recorded as such). The run itself (threshold, prior, model hash, engine, options) is
    the ``link_run`` table (:func:`vaxstudy.link.run.read_link_run`).
    ``backend`` (a :mod:`vaxstudy.engines` engine, or a name: then the engine is started
    here and closed at the end) is the engine Splink scores on; the default is DuckDB in
    this process. ``n_chunks`` > 1 scores the register × registry pairs in that many slices of the
    registry identities (Splink's ``predict_chunk``): only one slice's blocked pairs and
    comparison vectors exist at a time; the kept pairs of the slices are unioned, so the
    links are the same as in one pass (docs/spark.md, *Chunked prediction*).
    ``wide`` runs the second, wider pass over the identities left unlinked
    (:mod:`vaxstudy.link.wide`): recovered links, and every unlinked row's best register
    candidate in record_links (best_person_id, best_match_probability).
    """
    o = options or LinkOptions()
    model_path, seed, threshold, n_chunks = o.model_path, o.seed, o.threshold, o.n_chunks
    from splink import Linker

    from vaxstudy.engines import get_engine

    own_engine = backend is None or isinstance(backend, str)
    backend = get_engine(backend)

    _quiet_splink()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".link_tmp"
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    con = open_work_connection(db_path, memory_limit=o.memory_limit, temp_dir=tmp)
    try:
        t = time.perf_counter()
        prepared.clear(con)  # an earlier run's kept inputs: replaced at the end (on DuckDB)
        counts = prepare_inputs(con, backend)
        timings["prepare"] = time.perf_counter() - t
        n_reg, n_vax, n_rows = counts["link_reg"], counts["link_vax"], counts["link_rows"]
        lam0 = min(0.95 / max(n_reg, 1), 0.5)

        db_api = backend.splink_api(con, ("link_reg", "link_vax"))
        reg = db_api.register("link_reg", dataset_display_name=REGISTER)
        vax = db_api.register("link_vax", dataset_display_name=VAX)
        smoothed: list[str] = []
        if model_path is not None:
            settings: Any = _load_model(model_path)
            trained = False
        else:
            settings = backend.splink_settings(build_settings(probability_two_random_records_match=lam0))
            trained = True

        def new_linker(model: Any) -> Any:
            return Linker([reg, vax], model, log_level=None)

        if trained:
            from vaxstudy.link.train import scoring_m_probabilities, smooth_m_probabilities, train_model

            t = time.perf_counter()
            linker, train_times = train_model(new_linker(settings), new_linker, seed=seed,
                                              u_max_pairs=o.u_max_pairs, em_max_pairs=o.em_max_pairs,
                                              u_chunks=o.u_chunks)
            timings.update(train_times)
            settings = linker.misc.save_model_to_json(None)
            smoothed = smooth_m_probabilities(settings, floor=o.m_floor, scoring_m=scoring_m_probabilities(linker))
            timings["train"] = time.perf_counter() - t
        # EM may move the prior; ours is set before scoring (on the trained model, floored)
        settings["probability_two_random_records_match"] = lam0
        linker = new_linker(settings if trained else backend.splink_settings(settings))
        _quiet_splink()

        t = time.perf_counter()
        tf_tables = {c: backend.tables.work_table(con, linker.table_management.compute_tf_table(c))
                     for c in TF_COLUMNS}
        if n_chunks == 1 and backend.name == "duckdb":  # the same pairs and scores, faster (link/pairs.py)
            from vaxstudy.link.pairs import predict_pairs

            pred, n_comparisons = predict_pairs(con, linker.misc.save_model_to_json(None), tf_tables,
                                                left="link_reg", right="link_vax", left_name=REGISTER,
                                                right_name=VAX, threshold_match_probability=1e-5,
                                                prefix="link_first")
        elif n_chunks == 1:
            blocked = linker.inference.compute_blocked_pairs_for_predict()  # cached for predict
            n_comparisons = backend.tables.count_rows(con, blocked)
            pred = linker.inference.predict(threshold_match_probability=1e-5, warning_mode="never")
        else:
            pred, n_comparisons = _predict_in_chunks(linker, db_api, backend, con, int(n_chunks))
        timings["predict"] = time.perf_counter() - t
        # From here on every step is SQL in the DuckDB dialect over working tables, run by the
        # backend's engine where the scored pairs are (backend.create_table / insert / fetch);
        # only counts, the fixed points' sums and the threshold curve come to the driver.
        pred_table = backend.tables.work_table(con, pred)
        n_link_pairs = backend.tables.fetch(con, f"SELECT count(*) FROM {pred_table}")[0][0]

        t = time.perf_counter()
        decide.load_link_pairs(con, pred_table, lam0, VAX, backend=backend)
        name_sex = correct_pairs(con, backend=backend) if o.name_sex else None
        decide.best_candidates(con, backend=backend)
        lam, lam_hist = decide.refine_prior(con, lam0, n_reg, n_vax, backend=backend)
        pi = None
        if o.exclusive:
            pi, pi_hist = decide.refine_pi(con, min(lam * n_reg, 0.99), n_reg, n_vax, backend=backend)
            lam = pi / n_reg
            p = decide.exclusive_prob_sql(pi, n_reg)
        else:
            p = decide.prob_sql("bf", lam)
        backend.tables.create_table(
            con, "link_best",
            """
            SELECT b.*, r.n_rows FROM link_best b
            JOIN (SELECT ident, count(*) AS n_rows FROM link_rows GROUP BY ident) r USING (ident)""",
        )
        curve = decide.threshold_curve(con, "link_best", lam, p_expr=p, backend=backend)
        choice = decide.choose_threshold(curve)
        if threshold is not None:
            choice = {**choice, "threshold": float(threshold), "rule": "given by the user"}
        thr = float(choice["threshold"])
        backend.tables.create_table(
            con, "ident_link",
            f"""
            SELECT ident, person_id, {p} AS match_probability FROM link_best WHERE {p} >= {thr}""",
        )
        timings["decide"] = time.perf_counter() - t

        model = backend.portable_model(linker.misc.save_model_to_json(None))
        model["probability_two_random_records_match"] = lam
        model_file = out / MODEL_FILE
        model_file.write_text(json.dumps(model, indent=2), encoding="utf-8")

        t = time.perf_counter()
        wide_summary: dict[str, Any] = {"enabled": bool(o.wide)}
        if o.wide:
            from vaxstudy.link.wide import wide_pass

            wide_summary.update(wide_pass(con, backend, model, tf_tables, p_expr=p, threshold=thr,
                                          vax_source=VAX, register_source=REGISTER,
                                          n_reg=n_reg, exclusive=o.exclusive, pi=pi))
        else:
            backend.tables.create_table(con, "ident_candidate", NO_CANDIDATES_SQL)
        timings["wide_pass"] = time.perf_counter() - t

        # Rows of a profile whose other identities link to exactly one person.
        t = time.perf_counter()
        n_rescued = 0
        if o.subject_rescue:
            n_rescued = decide.subject_rescue(con, backend=backend)
        # reviewers' same/different decisions (vaxstudy review score) override the model's links
        review = apply_review_decisions(con, backend)

        backend.tables.create_table(
            con, "dedupe_in",
            "SELECT * FROM link_vax v "
            "WHERE NOT EXISTS (SELECT 1 FROM ident_link il WHERE il.ident = v.unique_id)",
        )
        dd = dedupe_unlinked(con, model, tf_tables, thr, backend=backend,
                             must_link=review.must_link, cannot_link=review.cannot_link)
        timings["dedupe"] = time.perf_counter() - t

        key_rows(con, backend=backend)
        build_record_links(con, "link_rows_keyed", candidates=True, backend=backend,
                           dose_decisions=review.dose_decisions)
        t = time.perf_counter()  # register persons without a date of birth: a column apart
        incomplete = score_incomplete_register(con, backend, model, tf_tables, threshold=thr, exclusive=o.exclusive,
                                               register_source=REGISTER, vax_source=VAX)
        incomplete["n_records"] = add_to_record_links(con, backend)
        timings["incomplete_register"] = time.perf_counter() - t
        # the one table that comes back: into the project database (the estimate stage reads
        # it there), in entry order, then the Parquet copy from it
        links = backend.tables.to_duckdb(con, "record_links", "proj.record_links")
        parquet = out / LINKS_FILE
        con.execute(
            f"COPY (SELECT * FROM {links} ORDER BY rowid) TO {path_literal(parquet)} "
            "(FORMAT PARQUET)"
        )
        run = new_link_run(
            threshold=thr, prior=lam, model=model, engine=backend.name,
            options={"seed": seed, "threshold_given": threshold, "model_reused": str(model_path) if model_path else None,
                     "subject_rescue": o.subject_rescue, "u_max_pairs": o.u_max_pairs, "em_max_pairs": o.em_max_pairs,
                     "u_chunks": o.u_chunks,
                     "m_floor": o.m_floor, "exclusive": o.exclusive, "name_sex": o.name_sex, "n_chunks": int(n_chunks), "wide": o.wide})
        write_link_run(con, run, table=f"proj.{LINK_RUN_TABLE}")
        if backend.name == "duckdb":  # what a later `link --update` need not prepare again
            t = time.perf_counter()
            prepared.save(con, tf_tables, linked_at=run.linked_at, model_sha=run.model_sha256)
            timings["keep_prepared"] = time.perf_counter() - t
        stats = backend.tables.fetch(
            con,
            """SELECT count(*), count(person_id), count(DISTINCT person_key),
                      count(*) FILTER (WHERE is_duplicate_dose) FROM record_links""",
        )[0]
        results_extra = (
            backend.tables.fetch(con, "SELECT coalesce(sum(1 - match_probability), 0) FROM record_links "
                               "WHERE person_id IS NOT NULL")[0][0],
            backend.tables.fetch(con, "SELECT coalesce(sum(best_match_probability), 0) FROM record_links "
                               "WHERE person_id IS NULL")[0][0],
        )
        timings["total_link_dedupe"] = time.perf_counter() - t_all

        if o.diagnostics:
            from vaxstudy.link.diagnostics import write_diagnostics

            t = time.perf_counter()
            try:
                diag = write_diagnostics(linker, con, out / "diagnostics", lam=lam, threshold=thr,
                                         predictions=pred, seed=seed, p_expr=p,
                                         model=model, backend=backend)
            except Exception as exc:  # diagnostics must never sink a run
                log.warning("diagnostics failed: %s", exc)
                diag = {"error": type(exc).__name__}
            timings["diagnostics"] = time.perf_counter() - t

        summary = {
            "diagnostics": diag if o.diagnostics else None,
            "inputs": {"n_register": n_reg, "n_records": n_rows, "n_identities": n_vax},
            "model": {
                "trained_here": trained,
                "model_path": str(model_file),
                "reused_from": str(model_path) if model_path else None,
                "seed": seed,
                "m_floor": o.m_floor,
                "m_floored_levels": smoothed,
                "prior_initial": lam0,
                "prior": lam,
                "prior_iterations": len(lam_hist) - 1,
                "prior_method": "fixed point lam = sum of best-candidate probabilities "
                "/ (n_register * n_identities)",
                "exclusive": o.exclusive,
                "share_with_register_person": pi,
                # the Bayes factors divided by the name parts' sex dependence (link/namesex.py)
                "name_sex_dependence": name_sex,
            },
            "decision": {**choice, "threshold_curve": curve},
            "comparisons": {
                "register_link_scored": int(n_comparisons),
                "register_link_pairs_kept": int(n_link_pairs),
                "register_link_chunks": int(n_chunks),
                "wide_pass_scored": wide_summary.get("n_pairs_blocked"),
                "dedupe_scored": dd.get("n_pairs_blocked"),
            },
            "wide_pass": wide_summary,
            "incomplete_register": incomplete,
            "subject_rescue": {"enabled": o.subject_rescue, "n_identities": int(n_rescued)},
            "review_decisions": review.summary,
            "dedupe": dd,
            "results": {
                "n_records": int(stats[0]),
                "n_linked_records": int(stats[1]),
                "n_persons_est": int(stats[2]),
                "n_duplicate_doses": int(stats[3]),
                # of the unlinked rows: the person found in the register without a date of birth
                "n_unlinked_in_register_incomplete": int(incomplete["n_records"]),
                "expected_false_links": float(results_extra[0]),
                # rows left unlinked whose best register candidate is the person, expected
                "expected_missed_links": float(results_extra[1]),
            },
            # where each step ran; driver_tables: what the DuckDB working connection holds at
            # the end (on Spark: none of the working tables, only the wide pass's district list)
            "engines": {
                "prepare": backend.name,
                "scoring": backend.name,
                "decisions": backend.name,
                "wide_pass": backend.name,
                "dedupe": backend.name,
                "record_links": backend.name,
                "driver_tables": sorted(r[0] for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                ).fetchall()),
            },
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
        }
        summary_file = out / SUMMARY_FILE
        summary_file.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return LinkResult(
            out_dir=out,
            n_records=int(stats[0]),
            n_identities=int(n_vax),
            n_register=int(n_reg),
            n_linked_records=int(stats[1]),
            n_persons_est=int(stats[2]),
            n_duplicate_doses=int(stats[3]),
            threshold=thr,
            prior=lam,
            model_path=model_file,
            parquet_path=parquet,
            summary_path=summary_file,
            timings=timings,
            comparisons={
                "register_link_scored": int(n_comparisons),
                "register_link_pairs_kept": int(n_link_pairs),
                "dedupe_scored": int(dd.get("n_pairs_blocked") or 0),
            },
        )
    finally:
        backend.tables.drop_tables(con)
        con.close()
        if own_engine:
            backend.close()
        shutil.rmtree(tmp, ignore_errors=True)
