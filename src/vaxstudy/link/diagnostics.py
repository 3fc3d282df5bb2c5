"""Diagnostics an analyst needs to trust (or distrust) a linkage run.

Written to ``<out>/diagnostics/``, never printed:

* ``match_weights.{html,json}``   Splink's match-weight chart of the model;
* ``m_u_parameters.{html,json}``  m and u probabilities of every level;
* ``match_weights_histogram.{html,json}``  scored register pairs by weight;
* ``waterfall_borderline.{html,json}``  waterfall charts of a seeded sample of
  borderline best candidates (match weights only: no personal data);
* ``clerical_review.csv``  the most uncertain record → person decisions with
  both sides' fields side by side, for clerical review. It holds personal
  data: it is a file for authorised reviewers and is never logged.

The JSON files are Vega-Lite specs with their data, so the report can embed or
re-plot them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import duckdb

from vaxstudy.link.decide import prob_sql
from vaxstudy.link.settings import settings_from_model
from vaxstudy.sql import literal, path_literal

log = logging.getLogger(__name__)

REVIEW_FIELDS = (
    "name_norm",
    "dob",
    "birth_year",
    "dob_precision",
    "sex",
    "id_number",
    "phone",
    "district_code",
    "commune_code",
)
SEP = "-__-"  # Splink's separator in composite unique ids


def _save_chart(chart: Any, path_stem: Path) -> None:
    chart.save(str(path_stem.with_suffix(".html")))
    path_stem.with_suffix(".json").write_text(
        json.dumps(chart.chart_dict, default=str), encoding="utf-8"
    )


def clerical_review(
    con: duckdb.DuckDBPyConnection, out_file: Path, lam: float, threshold: float, n: int = 500,
    p_expr: str | None = None, backend: Any = None,
) -> int:
    """Export the ``n`` best-candidate decisions nearest the threshold (in log-odds), chosen
    on the backend's engine; only those ``n`` rows come to DuckDB for the CSV."""
    from vaxstudy.link.decide import engine

    be = engine(backend)
    p = p_expr or prob_sql("bf", lam)
    logit_t = f"log2({threshold} / (1 - {threshold}))"
    fields_l = ", ".join(f"v.{c} AS record_{c}" for c in REVIEW_FIELDS)
    fields_r = ", ".join(f"r.{c} AS register_{c}" for c in REVIEW_FIELDS)
    be.tables.create_table(
        con, "clerical",
        f"""
        WITH rows AS (
          SELECT ident, min(record_id) AS first_record_id, count(*) AS n_rows
          FROM link_rows GROUP BY ident)
        SELECT rows.first_record_id AS record_id, rows.n_rows, b.person_id AS candidate_person_id,
               {p} AS match_probability,
               b.bf + ({_log2_odds(lam)!r}) AS match_weight,
               b.bf - b.second_bf AS margin_over_runner_up, b.n_candidates,
               {p} >= {threshold} AS linked,
               {fields_l}, {fields_r}
        FROM link_best b
        JOIN rows USING (ident)
        JOIN link_vax v ON v.unique_id = b.ident
        JOIN link_reg r ON r.unique_id = b.person_id
        ORDER BY abs(log2(greatest({p}, 1e-300) / greatest(1 - {p}, 1e-300)) - {logit_t}), b.ident
        LIMIT {int(n)}""",
    )
    local = be.tables.to_duckdb(con, "clerical")
    con.execute(f"COPY {local} TO {path_literal(out_file)} (HEADER, DELIMITER ',')")
    return con.execute(f"SELECT count(*) FROM {local}").fetchall()[0][0]


def _log2_odds(p: float) -> float:
    from vaxstudy.link.decide import log2_odds

    return log2_odds(p)


def waterfall_sample(
    model: dict[str, Any],
    con: duckdb.DuckDBPyConnection,
    out_stem: Path,
    lam: float,
    *,
    seed: int = 1,
    n: int = 12,
    p_expr: str | None = None,
    backend: Any = None,
) -> int:
    """Waterfall charts for a seeded sample of borderline best candidates.

    Backend-neutral: whatever engine scored the run, the chart is drawn by a DuckDB
    linker built from ``model`` (the trained model in the DuckDB dialect, as saved in
    link_model.json by ``Backend.portable_model``), re-scoring only the sampled pairs
    from the working tables of ``con``. The sample is drawn on the backend's engine (the
    hash differs between engines, so the sampled pairs do) and copied to ``con``."""
    from splink import DuckDBAPI, Linker

    from vaxstudy.link.decide import engine

    if model.get("sql_dialect", "duckdb") != "duckdb":
        raise ValueError(f"waterfall_sample needs the DuckDB-dialect model, not {model['sql_dialect']!r}")

    p = p_expr or prob_sql("bf", lam)
    be = engine(backend)
    be.tables.create_table(
        con, "borderline_pairs",
        f"""
        SELECT '0' AS match_key, 'register{SEP}' || person_id AS join_key_l,
               'vaccinations{SEP}' || ident AS join_key_r
        FROM link_best WHERE {p} BETWEEN 0.02 AND 0.98
        ORDER BY hash(ident || {literal(int(seed))}) LIMIT {int(n)}""",
    )
    be.tables.to_duckdb(con, "borderline_pairs")
    k = con.execute("SELECT count(*) FROM borderline_pairs").fetchall()[0][0]
    if k == 0:
        return 0
    model = settings_from_model(model, prior=lam, retain_columns=True)
    api = DuckDBAPI(connection=con)
    reg = api.register("link_reg", dataset_display_name="register")
    vax = api.register("link_vax", dataset_display_name="vaccinations")
    wl = Linker([reg, vax], model, log_level=None)
    wl.table_management.register_blocked_pairs_for_predict(api.register("borderline_pairs"))
    pred = wl.inference.predict(warning_mode="never")
    records = pred.as_record_list()
    chart = wl.visualisations.waterfall_chart(records, filter_nulls=False, remove_sensitive_data=True)
    _save_chart(chart, out_stem)
    api.delete_tables_created_by_splink_from_db()
    return k


def write_diagnostics(
    linker: Any,
    con: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    lam: float,
    threshold: float,
    predictions: Any = None,
    seed: int = 1,
    n_review: int = 500,
    p_expr: str | None = None,
    model: dict[str, Any] | None = None,
    backend: Any = None,
) -> dict[str, Any]:
    """Every diagnostic, each allowed to fail alone. ``model``: the trained model in the
    DuckDB dialect (``Backend.portable_model``), for the waterfall; by default the
    linker's own, which is only right when the linker runs on DuckDB."""
    if model is None:
        model = linker.misc.save_model_to_json(None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done: dict[str, Any] = {}
    steps = [
        ("match_weights", lambda: _save_chart(
            linker.visualisations.match_weights_chart(), out / "match_weights")),
        ("m_u_parameters", lambda: _save_chart(
            linker.visualisations.m_u_parameters_chart(), out / "m_u_parameters")),
    ]
    if predictions is not None:
        def _hist() -> None:
            # weights as scored, i.e. with the initial prior (see link_summary.json)
            _save_chart(linker.visualisations.match_weights_histogram(predictions),
                        out / "match_weights_histogram")
        steps.append(("match_weights_histogram", _hist))
    steps.append(("waterfall_borderline", lambda: waterfall_sample(
        model, con, out / "waterfall_borderline", lam, seed=seed, p_expr=p_expr, backend=backend)))
    steps.append(("clerical_review", lambda: clerical_review(
        con, out / "clerical_review.csv", lam, threshold, n=n_review, p_expr=p_expr,
        backend=backend)))
    for name, fn in steps:
        try:
            res = fn()
            done[name] = True if res is None else res
        except Exception as exc:  # one failed chart must not hide the others
            log.warning("diagnostic %s failed: %s", name, str(exc)[:200])
            done[name] = f"failed: {type(exc).__name__}"
    return done
