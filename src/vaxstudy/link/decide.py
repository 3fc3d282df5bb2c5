"""From scored pairs to decisions: best candidate, prior, threshold.

All of it is SQL in the DuckDB dialect over the working tables, run by the backend's
engine (``backend.create_table`` / ``fetch``: DuckDB on the working connection by default,
Spark with the Spark backend); only scalars and the threshold curve come back. Probabilities are
recomputed from each pair's prior-free log2 Bayes factor (``bf``), so the
prior can be re-estimated after prediction without scoring again.

*Prior.* In the registry→register linkage each identity has at most one true
register person. With ``lam`` the probability that a random (register,
identity) pair matches, the expected number of matched identities is
``sum_i p_i(lam)`` over each identity's best candidate, and ``lam`` must equal
that sum over ``n_reg * n_vax``. :func:`refine_prior` iterates this fixed
point (an EM step on the mixing weight alone).

*Threshold.* With calibrated probabilities the model's own expected confusion
counts at a threshold ``t`` are, weighting each identity by its number of
rows: TP = sum p (p >= t), FP = sum (1 - p) (p >= t), FN = sum p (p < t).
:func:`choose_threshold` takes the ``t`` maximising the estimated F1, tie-broken
towards 0.5 (the Bayes decision minimising expected errors).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import duckdb

from vaxstudy.sql import literal


def engine(backend: Any = None) -> Any:
    """The backend that runs the working-table SQL: DuckDB on the given connection by default."""
    if backend is None:
        from vaxstudy.engines import DuckDBBackend

        return DuckDBBackend()
    return backend


def log2_odds(p: float) -> float:
    return math.log2(p / (1.0 - p))


def prob_sql(bf: str, lam: float) -> str:
    """SQL for the match probability from a log2 Bayes factor and prior lam."""
    return f"(1.0 / (1.0 + pow(2.0, -({bf} + ({log2_odds(lam)!r})))))"


def load_link_pairs(
    con: duckdb.DuckDBPyConnection, predictions: str, prior: float, vax_source: str,
    *, backend: Any = None,
) -> None:
    """link_pairs(ident, person_id, bf) from Splink's prediction table."""
    engine(backend).tables.create_table(
        con, "link_pairs",
        f"""
        SELECT CASE WHEN source_dataset_l = {literal(vax_source)} THEN unique_id_l ELSE unique_id_r END
                 AS ident,
               CASE WHEN source_dataset_l = {literal(vax_source)} THEN unique_id_r ELSE unique_id_l END
                 AS person_id,
               match_weight - ({log2_odds(prior)!r}) AS bf
        FROM {predictions}""",
    )


def best_candidates(
    con: duckdb.DuckDBPyConnection, pairs: str = "link_pairs", out: str = "link_best",
    *, backend: Any = None,
) -> None:
    """``out`` (link_best) from the scored ``pairs`` (link_pairs): per identity its
    best register candidate, the runner-up (``second_person_id``) and its bf, the number of candidates scored (ties broken by person_id, deterministic) and
    ``bf_rest``, log2 of the summed Bayes factors of all the other candidates
    (NULL when there is none)."""
    engine(backend).tables.create_table(
        con, out,
        f"""
        SELECT ident, person_id, bf, second_bf, second_person_id, n_candidates,
               CASE WHEN rel_sum - 1.0 > 1e-12 THEN bf + log2(rel_sum - 1.0) END AS bf_rest
        FROM (
          SELECT ident, person_id, bf,
                 lead(bf) OVER w AS second_bf, lead(person_id) OVER w AS second_person_id,
                 count(*) OVER (PARTITION BY ident) AS n_candidates,
                 sum(pow(2.0, bf - mx)) OVER (PARTITION BY ident) AS rel_sum,
                 row_number() OVER w AS rk
          FROM (SELECT *, max(bf) OVER (PARTITION BY ident) AS mx FROM {pairs})
          WINDOW w AS (PARTITION BY ident ORDER BY bf DESC, person_id)
        ) WHERE rk = 1""",
    )


def exclusive_prob_sql(pi: float, n_reg: int, bf: str = "bf", bf_rest: str = "bf_rest") -> str:
    """P(best candidate is the person) when an identity has at most one register
    person: with prior pi that it has one, spread evenly (lam = pi / n_reg),
    p = lam B / ((1 - pi) + lam (B + R)), B the best candidate's Bayes factor
    and R the sum over the other candidates scored."""
    lam = pi / n_reg
    k = (1.0 - pi) / lam
    return (f"(1.0 / (1.0 + ({k!r}) * pow(2.0, -({bf})) "
            f"+ COALESCE(pow(2.0, ({bf_rest}) - ({bf})), 0.0)))")


def runner_up_prob_sql(p: str = "p") -> str:
    """SQL for the runner-up's probability from the best candidate's ``p`` (over a table of
    :func:`best_candidates`): in the exclusive model an identity's candidates share one
    denominator, so their probabilities stand as their Bayes factors, p2 = p B2 / B (NULL
    without a runner-up). With independent pairs (``exclusive`` off) it is the same share."""
    return f"CASE WHEN second_person_id IS NOT NULL THEN ({p}) * pow(2.0, second_bf - bf) END"


# log2 of the summed Bayes factors of all an identity's candidates (best + the rest)
LSE_SQL = ("CASE WHEN bf_rest IS NULL THEN bf ELSE greatest(bf, bf_rest) "
           "+ log2(1 + pow(2.0, -abs(bf - bf_rest))) END")


def has_person_sql(pi: float, n_reg: int) -> str:
    """SQL for P(the identity has a register person) over its scored candidates (exclusive
    model, prior pi spread evenly): lam S / ((1 - pi) + lam S), S = sum of their Bayes factors."""
    k = (1.0 - pi) / (pi / n_reg)
    return f"(1.0 / (1.0 + ({k!r}) * pow(2.0, -({LSE_SQL}))))"


def refine_pi(
    con: duckdb.DuckDBPyConnection, pi0: float, n_reg: int, n_vax: int,
    *, max_iter: int = 100, tol: float = 1e-6, backend: Any = None,
) -> tuple[float, list[float]]:
    """Fixed point pi = mean over identities of P(the identity has a register
    person) = lam S / ((1 - pi) + lam S), S its candidates' summed Bayes factors
    (identities with no candidate contribute 0)."""
    be = engine(backend)
    return fixed_point(
        lambda pi: be.tables.fetch(con, f"SELECT coalesce(sum({has_person_sql(pi, n_reg)}), 0) FROM link_best")[0][0]
        / n_vax, pi0, lo=1e-9, hi=1 - 1e-9, converged=lambda new, old: abs(new - old) <= tol, max_iter=max_iter)


def refine_prior(
    con: duckdb.DuckDBPyConnection,
    lam0: float,
    n_reg: int,
    n_vax: int,
    *,
    max_iter: int = 50,
    tol: float = 1e-4,
    backend: Any = None,
) -> tuple[float, list[float]]:
    """Fixed point lam = sum_i p_i(lam) / (n_reg * n_vax) over best candidates."""
    be = engine(backend)
    total = float(n_reg) * float(n_vax)
    return fixed_point(
        lambda lam: be.tables.fetch(con, f"SELECT coalesce(sum({prob_sql('bf', lam)}), 0) FROM link_best")[0][0]
        / total, lam0, lo=1e-15, hi=0.5, converged=lambda new, old: abs(new - old) <= tol * old, max_iter=max_iter)


def fixed_point(step: Callable[[float], float], x0: float, *, lo: float, hi: float,
                converged: Callable[[float, float], bool], max_iter: int) -> tuple[float, list[float]]:
    """Iterate x <- clip(step(x), lo, hi) from ``x0`` until ``converged(new, old)`` or
    ``max_iter`` steps; (the last x, every x). The one fixed-point routine of the link
    priors: the first pass's lam and pi, the wide pass's leftover prior, dedupe's lam."""
    x, hist = x0, [x0]
    for _ in range(max_iter):
        new = min(max(step(x), lo), hi)
        hist.append(new)
        done = converged(new, x)
        x = new
        if done:
            break
    return x, hist


def threshold_curve(
    con: duckdb.DuckDBPyConnection, table: str, lam: float, weight: str = "n_rows",
    *, p_expr: str | None = None, backend: Any = None,
) -> list[dict[str, float]]:
    """Estimated precision/recall/F1 at a grid of thresholds (model's own view)."""
    be = engine(backend)
    grid = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]
    p = p_expr or prob_sql("bf", lam)
    # the whole curve in one pass over the table (one job on Spark, not one per threshold)
    cols = ["sum(w * p)"] + [
        f"coalesce(sum(w * p) FILTER (WHERE p >= {t}), 0), "
        f"coalesce(sum(w * (1 - p)) FILTER (WHERE p >= {t}), 0), "
        f"coalesce(sum(w) FILTER (WHERE p >= {t}), 0)"
        for t in grid
    ]
    row = be.tables.fetch(con, f"SELECT {', '.join(cols)} FROM (SELECT {weight} AS w, {p} AS p FROM {table})")[0]
    tot = row[0] or 0.0
    rows = []
    for i, t in enumerate(grid):
        tp, fp, n = row[1 + 3 * i: 4 + 3 * i]
        prec = tp / (tp + fp) if tp + fp > 0 else 1.0
        rec = tp / tot if tot > 0 else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
        rows.append(
            dict(threshold=t, est_precision=prec, est_recall=rec, est_f1=f1, est_links=n)
        )
    return rows


def choose_threshold(curve: list[dict[str, float]]) -> dict[str, Any]:
    best = max(curve, key=lambda r: (round(r["est_f1"], 6), -abs(r["threshold"] - 0.5)))
    return {
        "threshold": best["threshold"],
        "est_precision": best["est_precision"],
        "est_recall": best["est_recall"],
        "est_f1": best["est_f1"],
        "rule": "maximise the model's estimated F1 over best candidates "
        "(expected TP = sum p, FP = sum 1-p above the threshold, FN = sum p below; "
        "rows weighted), ties towards 0.5; truth is never used",
    }


def subject_rescue(con: duckdb.DuckDBPyConnection, *, rows: str = "link_rows", links: str = "ident_link",
                   backend: Any = None) -> int:
    """Link the identities of a registry profile (``subject_id``) left unlinked when the
    profile's other identities link to exactly one person; the rescued links go into
    ``links`` (and ``ident_rescue``). Uses only the model's links in ``links`` (called before
    any rescue), so an identity's rescue depends on the identities sharing a profile with it
    and nothing else. Returns the identities rescued."""
    be = engine(backend)
    be.tables.create_table(
        con, "ident_rescue",
        f"""
        WITH open_subj AS (  -- the profiles with an identity left unlinked: the others rescue nobody
          SELECT DISTINCT subject_id FROM {rows} r
          WHERE NOT EXISTS (SELECT 1 FROM {links} il WHERE il.ident = r.ident)),
        subj AS (
          SELECT r.subject_id, min(l.person_id) AS person_id,
                 count(DISTINCT l.person_id) AS n_persons,
                 max(l.match_probability) AS match_probability
          FROM {rows} r JOIN {links} l USING (ident)
          WHERE r.subject_id IN (SELECT subject_id FROM open_subj)
          GROUP BY r.subject_id),
        cand AS (
          SELECT r.ident, min(s.person_id) AS person_id,
                 count(DISTINCT s.person_id) AS n_persons,
                 max(s.n_persons) AS max_subject_persons,
                 max(s.match_probability) AS match_probability
          FROM {rows} r JOIN subj s USING (subject_id)
          WHERE NOT EXISTS (SELECT 1 FROM {links} il WHERE il.ident = r.ident)
          GROUP BY r.ident)
        SELECT ident, person_id, match_probability FROM cand
        WHERE n_persons = 1 AND max_subject_persons = 1""",
    )
    n = int(be.tables.fetch(con, "SELECT count(*) FROM ident_rescue")[0][0])
    be.tables.insert(con, links, "SELECT * FROM ident_rescue")
    return n
