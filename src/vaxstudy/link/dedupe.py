"""People outside the register: deduplicate the identities that linked to nobody.

The trained link model's m and u values are reused with ``link_type =
dedupe_only`` (the comparisons are the same, and no further training is needed);
term frequencies are the ones computed on register + registry. The prior is set
by the same fixed-point argument as for the link, over all pairs (a person
may now have several identities): lam = sum p / (n (n - 1) / 2).

Edges for clustering: scored pairs at or above the threshold, plus identities
that share a registry ``subject_id`` (the software's own profile: the doses of
one profile are one person). Connected components then give one cluster per
estimated person. Scoring, clustering and the SQL around them run on the backend's engine.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from vaxstudy.link.decide import engine, fixed_point, log2_odds, prob_sql
from vaxstudy.link.settings import blocking_rules, settings_from_model

log = logging.getLogger(__name__)

TF_COLUMNS = ("surname_ascii", "middle_name_ascii", "given_name_ascii")


def dedupe_unlinked(
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    tf_tables: dict[str, str],
    threshold: float,
    *,
    use_subject_edges: bool = True,
    backend: Any = None,
) -> dict[str, Any]:
    """Cluster the identities in ``dedupe_in`` (unique_id + link columns).

    Writes ``dedupe_clusters(ident, cluster)``; returns a small summary. Splink scores and
    clusters on the backend's engine (``backend.splink_api``), the SQL around it runs there
    too (DuckDB on ``con`` by default).
    """
    from splink import Linker
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    be = engine(backend)
    n = be.tables.fetch(con, "SELECT count(*) FROM dedupe_in")[0][0]
    summary: dict[str, Any] = {"n_identities": int(n)}
    be.tables.create_table(con, "dedupe_edges", "SELECT CAST(NULL AS VARCHAR) AS unique_id_l, "
                    "CAST(NULL AS VARCHAR) AS unique_id_r LIMIT 0")
    if n >= 2:
        settings = settings_from_model(model, "dedupe_only", rules=blocking_rules(dedupe=True))
        lam0 = float(settings.get("probability_two_random_records_match", 1e-6))
        db_api = be.splink_api(con, ("dedupe_in", *tf_tables.values()))
        sdf = db_api.register("dedupe_in", dataset_display_name="unlinked")
        linker = Linker(sdf, be.splink_settings(settings), log_level=None)
        for col, table in tf_tables.items():
            linker.table_management.register_term_frequency_lookup(db_api.register(table), col)
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        summary["n_pairs_blocked"] = int(be.tables.count_rows(con, blocked))
        pred = linker.inference.predict(threshold_match_weight=-20, warning_mode="never")
        pred_table = be.tables.work_table(con, pred)
        be.tables.create_table(
            con, "dedupe_pairs",
            f"""
            SELECT unique_id_l, unique_id_r, match_weight - ({log2_odds(lam0)!r}) AS bf
            FROM {pred_table}""",
        )
        total = n * (n - 1) / 2.0
        lam, _ = fixed_point(
            lambda lam: be.tables.fetch(con, f"SELECT coalesce(sum({prob_sql('bf', lam)}), 0) FROM dedupe_pairs")[0][0]
            / total, lam0, lo=1e-15, hi=0.5, converged=lambda new, old: abs(new - old) <= 1e-4 * old, max_iter=50)
        summary.update(
            n_pairs_scored=int(be.tables.fetch(con, "SELECT count(*) FROM dedupe_pairs")[0][0]),
            prior=lam,
        )
        be.tables.insert(con, "dedupe_edges", f"SELECT unique_id_l, unique_id_r FROM dedupe_pairs "
                  f"WHERE {prob_sql('bf', lam)} >= {threshold}")
        summary["n_model_edges"] = int(be.tables.fetch(con, "SELECT count(*) FROM dedupe_edges")[0][0])
        linker.table_management.delete_tables_created_by_splink_from_db()
    if use_subject_edges:
        # identities sharing a subject_id: chain each to the subject's first identity
        be.tables.insert(
            con, "dedupe_edges",
            """
            SELECT DISTINCT first_ident, ident FROM (
              SELECT r.ident, min(r.ident) OVER (PARTITION BY r.subject_id) AS first_ident
              FROM link_rows r SEMI JOIN dedupe_in d ON r.ident = d.unique_id
            ) WHERE ident <> first_ident""",
        )
    summary["n_edges"] = int(be.tables.fetch(con, "SELECT count(*) FROM dedupe_edges")[0][0])
    if n == 0:
        be.tables.create_table(con, "dedupe_clusters", "SELECT CAST(NULL AS VARCHAR) AS ident, "
                        "CAST(NULL AS VARCHAR) AS cluster LIMIT 0")
        return summary
    be.tables.create_table(con, "dedupe_nodes", "SELECT unique_id FROM dedupe_in")
    api2 = be.splink_api(con, ("dedupe_nodes", "dedupe_edges"))
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes=api2.register("dedupe_nodes"),
        edges=api2.register("dedupe_edges"),
        db_api=api2,
        node_id_column_name="unique_id",
    )
    be.tables.create_table(
        con, "dedupe_clusters",
        f"SELECT unique_id AS ident, cluster_id AS cluster FROM {be.tables.work_table(con, clusters)}",
    )
    summary["n_clusters"] = int(
        be.tables.fetch(con, "SELECT count(DISTINCT cluster) FROM dedupe_clusters")[0][0]
    )
    api2.delete_tables_created_by_splink_from_db()
    return summary
