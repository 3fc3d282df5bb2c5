"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_province(tmp_path_factory) -> Path:
    """A small synthetic Nghệ An (scale 0.003 ≈ 10k residents, seed 7, CSV, default period), generated once.

    Returns the data folder (population, vaccinations, sites, tallies, truth,
    truth_summary.json and the hidden truth parquet files). Treat it as read-only.
    """
    from vaxstudy.synth import generate

    out = tmp_path_factory.mktemp("small_province")
    return generate(out, province="40", scale=0.003, seed=7, period=("2021-03-08", "2021-10-31"), fmt="csv")
