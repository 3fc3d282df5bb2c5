"""Unsupervised training of the register-link model (no labels)."""

from __future__ import annotations

import logging
import time
from typing import Any

from vaxstudy.link.settings import TRAINING_BLOCKING_RULES

log = logging.getLogger(__name__)


def train_model(
    linker: Any,
    *,
    seed: int = 1,
    u_max_pairs: float = 2e6,
    em_max_pairs: float = 3e5,
) -> dict[str, float]:
    """Estimate u by random sampling, then m by EM on sampled blocked pairs.

    The prior (probability two random records match) is not trained here: it is
    set from the data after prediction by :func:`vaxstudy.link.decide.refine_prior`.
    Returns the seconds each step took.
    """
    times: dict[str, float] = {}
    t = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(
        max_pairs=u_max_pairs, seed=seed, num_chunks=4
    )
    times["u_random_sampling"] = time.perf_counter() - t
    for i, rule in enumerate(TRAINING_BLOCKING_RULES, start=1):
        t = time.perf_counter()
        # Splink's EM session filters the linker's comparisons in place and only
        # restores them on success: keep a copy to restore after a failure.
        snapshot = linker._settings_obj.core_model_settings.copy()
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
            linker._settings_obj.core_model_settings = snapshot
            log.warning("EM session %d (%s) skipped: %s", i, rule, str(exc)[:120])
            times[f"em_session_{i}_skipped"] = 1.0
        times[f"em_session_{i}"] = time.perf_counter() - t
    return times


def smooth_m_probabilities(linker: Any, floor: float = 1e-4) -> list[str]:
    """Give every comparison level an m probability of at least ``floor``.

    EM on synthetic or clean data drives the m of levels that never occur among
    matches of the training blocks to exactly 0 (or leaves them unobserved),
    which would make one unseen kind of error veto a link whatever the other
    evidence. A floor (renormalised per comparison) bounds the penalty of a
    disagreement at log2(floor / u); it acts like a small pseudo-count.
    Levels with m fixed in the settings are left alone. Returns the levels
    changed.
    """
    changed = []
    for cc in linker._settings_obj.comparisons:
        levels = [cl for cl in cc._comparison_levels_excluding_null if not cl._fix_m_probability]
        if not levels:
            continue
        vals = []
        for cl in levels:
            m = cl.m_probability
            if m is None or m < floor:
                changed.append(f"{cc.output_column_name}: {cl.label_for_charts}")
                m = floor
            vals.append(m)
        fixed_mass = sum(
            cl.m_probability or 0.0
            for cl in cc._comparison_levels_excluding_null
            if cl._fix_m_probability
        )
        scale = (1.0 - fixed_mass) / sum(vals)
        for cl, m in zip(levels, vals):
            cl.m_probability = m * scale
    return changed
