"""People outside the register: deduplicate the identities that linked to nobody.

The trained link model's m and u values are reused with ``link_type =
dedupe_only`` (the comparisons are the same, and no further training is needed);
term frequencies are the ones computed on register + registry. The prior is set
by the same fixed-point argument as for the link, over all pairs (a person
may now have several identities): lam = sum p / (n (n - 1) / 2).

Edges for clustering: scored pairs at or above the threshold, plus identities
that share a registry ``subject_id`` (the software's own profile: the doses of
one profile are one person), plus reviewers' ``same`` decisions on pairs
(``must_link``). Connected components then give one cluster per estimated person.
A reviewer's ``different`` (``cannot_link``) is honoured afterwards, only in the few
components that hold both sides: they are re-formed by :func:`constrained_components`
(docs/review.md, *Decisions feed back*). Scoring, clustering and the SQL around them run on
the backend's engine.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

import duckdb

from vaxstudy.link.decide import engine, fixed_point, log2_odds, prob_sql
from vaxstudy.link.rules import blocking_rules
from vaxstudy.link.scoring import scoring_linker
from vaxstudy.link.settings import settings_from_model
from vaxstudy.sql import literal

log = logging.getLogger(__name__)

TF_COLUMNS = ("surname_ascii", "middle_name_ascii", "given_name_ascii")
#: edge weights above any probability: a reviewer's ``same``, then one profile's identities
REVIEW_EDGE = 3.0
SUBJECT_EDGE = 2.0


def dedupe_unlinked(
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    tf_tables: dict[str, str],
    threshold: float,
    *,
    use_subject_edges: bool = True,
    backend: Any = None,
    must_link: str | None = None,
    cannot_link: str | None = None,
    prior: float | None = None,
) -> dict[str, Any]:
    """Cluster the identities in ``dedupe_in`` (unique_id + link columns).

    ``prior`` fixes the pair prior instead of estimating it over ``dedupe_in`` (an
    incremental update, :mod:`vaxstudy.link.update`, re-clusters a part of the unlinked
    identities with the prior the full run estimated over all of them).

    Writes ``dedupe_clusters(ident, cluster)``; returns a small summary. Splink scores and
    clusters on the backend's engine (``backend.splink_api``), the SQL around it runs there
    too (DuckDB on ``con`` by default). ``must_link`` / ``cannot_link`` name working tables of
    identity pairs (ident_l, ident_r) from reviewers' decisions: joined always / never in one
    cluster (pairs with an identity not in ``dedupe_in`` are ignored).
    """
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    be = engine(backend)
    n = be.tables.fetch(con, "SELECT count(*) FROM dedupe_in")[0][0]
    summary: dict[str, Any] = {"n_identities": int(n)}
    be.tables.create_table(con, "dedupe_edges", "SELECT CAST(NULL AS VARCHAR) AS unique_id_l, "
                    "CAST(NULL AS VARCHAR) AS unique_id_r, CAST(NULL AS DOUBLE) AS weight LIMIT 0")
    if n >= 2:
        settings = settings_from_model(model, "dedupe_only", rules=blocking_rules(dedupe=True))
        lam0 = float(settings.get("probability_two_random_records_match", 1e-6))
        linker = scoring_linker(be, con, [("dedupe_in", "unlinked")], settings, tf_tables)
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
        lam = float(prior) if prior is not None else fixed_point(
            lambda lam: be.tables.fetch(con, f"SELECT coalesce(sum({prob_sql('bf', lam)}), 0) FROM dedupe_pairs")[0][0]
            / total, lam0, lo=1e-15, hi=0.5, converged=lambda new, old: abs(new - old) <= 1e-4 * old, max_iter=50)[0]
        summary.update(
            n_pairs_scored=int(be.tables.fetch(con, "SELECT count(*) FROM dedupe_pairs")[0][0]),
            prior=lam,
        )
        be.tables.insert(con, "dedupe_edges", f"SELECT unique_id_l, unique_id_r, {prob_sql('bf', lam)} "
                  f"FROM dedupe_pairs WHERE {prob_sql('bf', lam)} >= {threshold}")
        summary["n_model_edges"] = int(be.tables.fetch(con, "SELECT count(*) FROM dedupe_edges")[0][0])
        linker.table_management.delete_tables_created_by_splink_from_db()
    if use_subject_edges:
        # identities sharing a subject_id: chain each to the subject's first identity
        be.tables.insert(
            con, "dedupe_edges",
            f"""
            SELECT DISTINCT first_ident, ident, CAST({SUBJECT_EDGE!r} AS DOUBLE) FROM (
              SELECT r.ident, min(r.ident) OVER (PARTITION BY r.subject_id) AS first_ident
              FROM link_rows r SEMI JOIN dedupe_in d ON r.ident = d.unique_id
            ) WHERE ident <> first_ident""",
        )
    if must_link:
        be.tables.insert(con, "dedupe_edges", f"""
            SELECT m.ident_l, m.ident_r, CAST({REVIEW_EDGE!r} AS DOUBLE) FROM {must_link} m
            SEMI JOIN dedupe_in a ON a.unique_id = m.ident_l SEMI JOIN dedupe_in b ON b.unique_id = m.ident_r
            WHERE m.ident_l <> m.ident_r""")
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
    if cannot_link:
        summary["review_separated"] = separate_cannot_links(con, be, cannot_link)
    summary["n_clusters"] = int(
        be.tables.fetch(con, "SELECT count(DISTINCT cluster) FROM dedupe_clusters")[0][0]
    )
    api2.delete_tables_created_by_splink_from_db()
    return summary


def constrained_components(
    nodes: Iterable[str], edges: Iterable[tuple[str, str, float]], cannot: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], int]:
    """Clusters of ``nodes`` joined by ``edges`` where no cluster holds both ends of a ``cannot``
    pair: edges are taken strongest first (weight, then ids, so the result is reproducible) and
    an edge that would join two groups holding a ``cannot`` pair is skipped. A record joined to
    both sides of a ``different`` through others therefore ends with the side it has the
    stronger chain of edges to. Returns ({node: its group's smallest node}, edges skipped)."""
    parent: dict[str, str] = {n: n for n in nodes}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    apart: dict[str, set[str]] = {}
    for a, b in cannot:
        if a in parent and b in parent and a != b:
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    skipped = 0
    for a, b, _ in sorted(edges, key=lambda e: (-float(e[2]), str(e[0]), str(e[1]))):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        if rb in apart.get(ra, ()):  # apart is kept on roots
            skipped += 1
            continue
        small, big = sorted((ra, rb))
        parent[big] = small
        moved = apart.pop(big, set())
        for other in moved:
            apart[other].discard(big)
            apart[other].add(small)
        apart.setdefault(small, set()).update(moved)
    groups: dict[str, str] = {}
    for n in parent:
        r = root(n)
        groups[r] = min(groups.get(r, n), n)
    return {n: groups[root(n)] for n in parent}, skipped


def separate_cannot_links(con: duckdb.DuckDBPyConnection, be: Any, cannot_link: str) -> dict[str, int]:
    """Re-form the clusters of ``dedupe_clusters`` that hold both sides of a reviewer's
    ``different`` (:func:`constrained_components` over those clusters' own edges); the other
    clusters are left as connected components. Returns the clusters re-formed and the edges
    dropped."""
    bad = be.tables.fetch(con, f"""
        SELECT DISTINCT a.cluster FROM {cannot_link} x
        JOIN dedupe_clusters a ON a.ident = x.ident_l JOIN dedupe_clusters b ON b.ident = x.ident_r
        WHERE a.cluster = b.cluster""")
    if not bad:
        return {"clusters": 0, "edges_dropped": 0}
    be.tables.create_table(con, "review_bad_clusters", "SELECT * FROM (VALUES "
                           + ", ".join(f"({literal(str(c))})" for (c,) in bad) + ") t(cluster)")
    members = be.tables.fetch(con, "SELECT ident, cluster FROM dedupe_clusters "
                                   "SEMI JOIN review_bad_clusters USING (cluster)")
    edges = be.tables.fetch(con, """
        SELECT e.unique_id_l, e.unique_id_r, e.weight FROM dedupe_edges e
        JOIN dedupe_clusters c ON c.ident = e.unique_id_l SEMI JOIN review_bad_clusters USING (cluster)""")
    cannot = be.tables.fetch(con, f"SELECT ident_l, ident_r FROM {cannot_link}")
    groups, skipped = constrained_components([m[0] for m in members], edges, cannot)
    be.tables.create_table(con, "review_new_clusters", "SELECT * FROM (VALUES "
                           + ", ".join(f"({literal(n)}, {literal('review:' + g)})" for n, g in groups.items())
                           + ") t(ident, cluster)")
    be.tables.create_table(con, "dedupe_clusters", """
        SELECT c.ident, coalesce(n.cluster, c.cluster) AS cluster
        FROM dedupe_clusters c LEFT JOIN review_new_clusters n USING (ident)""")
    return {"clusters": len(bad), "edges_dropped": int(skipped)}
