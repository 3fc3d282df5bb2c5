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
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule,
            estimate_without_term_frequencies=True,
            max_pairs=em_max_pairs,
            record_sample_proportion=0.05,
        )
        times[f"em_session_{i}"] = time.perf_counter() - t
    return times
