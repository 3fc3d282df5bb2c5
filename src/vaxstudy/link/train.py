"""Unsupervised training of the register-link model (no labels)."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from vaxstudy.link.rules import TRAINING_BLOCKING_RULES

log = logging.getLogger(__name__)


def train_model(
    linker: Any,
    new_linker: Callable[[dict[str, Any]], Any],
    *,
    seed: int = 1,
    u_max_pairs: float = 2e6,
    em_max_pairs: float = 3e5,
    u_chunks: int = 4,
) -> tuple[Any, dict[str, float]]:
    """Estimate u by random sampling, then m by EM on sampled blocked pairs.

    ``u_chunks``: the sampled pairs are counted in that many slices (Splink's ``num_chunks``:
    a small probe slice first, then stop once every level is seen 100 times), which bounds
    memory at scale; 1 counts them in one query per comparison, which suits small data on an
    engine with a high cost per query (Spark).

    The prior (probability two random records match) is not trained here: it is
    set from the data after prediction by :func:`vaxstudy.link.decide.refine_prior`.
    ``new_linker(model)`` makes a linker on the same inputs from a saved model: an EM
    session that fails leaves Splink's linker with part of its comparisons, so training
    goes on with a linker made from the model saved before it. Returns the trained
    linker and the seconds each step took.
    """
    times: dict[str, float] = {}
    t = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(
        max_pairs=u_max_pairs, seed=seed, num_chunks=u_chunks
    )
    times["u_random_sampling"] = time.perf_counter() - t
    for i, rule in enumerate(TRAINING_BLOCKING_RULES, start=1):
        t = time.perf_counter()
        snapshot = linker.misc.save_model_to_json(None)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule,
                estimate_without_term_frequencies=True,
                max_pairs=em_max_pairs,
                record_sample_proportion=0.05,
            )
        except ValueError as exc:
            # Splink refuses an m probability that underflowed to 0 (a level
            # seen only among clear non-matches of this block). The levels
            # this session would refine keep their values from the others.
            linker = new_linker(snapshot)
            log.warning("EM session %d (%s) skipped: %s", i, rule, str(exc)[:120])
            times[f"em_session_{i}_skipped"] = 1.0
        times[f"em_session_{i}"] = time.perf_counter() - t
    return linker, times


def scoring_m_probabilities(linker: Any) -> dict[tuple[str, int], float]:
    """(comparison, comparison vector value) -> the m probability ``linker`` scores that level
    with, from its public model-parameter records: a level EM left without an estimate has
    Splink's placeholder there, which a saved model leaves out."""
    return {(r.comparison_name, r.comparison_vector_value): r.m_probability
            for r in linker.visualisations.match_weights_chart().raw_records
            if not r.is_null_level and r.comparison_vector_value >= 0 and r.m_probability is not None}


def smooth_m_probabilities(model: dict[str, Any], floor: float = 1e-4,
                           scoring_m: dict[tuple[str, int], float] | None = None) -> list[str]:
    """Give every comparison level of ``model`` (a saved model, changed in place) an m
    probability of at least ``floor``.

    EM on synthetic or clean data drives the m of levels that never occur among
    matches of the training blocks to exactly 0 (or leaves them unobserved),
    which would make one unseen kind of error veto a link whatever the other
    evidence. A floor (renormalised per comparison) bounds the penalty of a
    disagreement at log2(floor / u); it acts like a small pseudo-count.
    Levels with m fixed in the settings are left alone. ``scoring_m``
    (:func:`scoring_m_probabilities`) gives the m each level was scored with, where the
    saved model has none. Returns the levels changed.
    """
    scoring_m = scoring_m or {}
    changed = []
    for cc in model["comparisons"]:
        name = cc["output_column_name"]
        not_null = [cl for cl in cc["comparison_levels"] if not cl.get("is_null_level")]
        # Splink numbers the levels that are not the null level from the top: n-1, ..., 0
        m_of = {id(cl): scoring_m.get((name, len(not_null) - 1 - k), cl.get("m_probability"))
                for k, cl in enumerate(not_null)}
        levels = [cl for cl in not_null if not cl.get("fix_m_probability")]
        if not levels:
            continue
        vals = []
        for cl in levels:
            m = m_of[id(cl)]
            if m is None or m < floor:
                changed.append(f"{name}: {cl.get('label_for_charts', cl['sql_condition'])}")
                m = floor
            vals.append(m)
        fixed_mass = sum(m_of[id(cl)] or 0.0 for cl in not_null if cl.get("fix_m_probability"))
        scale = (1.0 - fixed_mass) / sum(vals)
        for cl, m in zip(levels, vals):
            cl["m_probability"] = m * scale
    return changed
