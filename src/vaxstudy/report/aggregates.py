"""The small tables the report draws, written by the estimate beside metrics.json.

The report notebook reads ``metrics.json`` and these tables (``report_data/*.parquet`` in
the run's shareable folder) and never the row-level database: rendering then costs the
same for a province of thirty thousand or three million residents, and a report can be
drawn again from its shareable folder alone. Each table is a count by group (district,
sex, age group, week, site, certainty band, link basis, quarantine reason), computed once
by :mod:`vaxstudy.report.data`'s queries while the estimate has the database open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

FOLDER = "report_data"

#: name -> what it holds (one line each, for the annex and the docs)
TABLES = {
    "adults": "district_code, sex, age_group, n: register adults of the province at period_end",
    "weekly_entry_gap": "week, entered, tallied: dose events entered and doses tallied per week",
    "sites": "site_id, site_name, district_code, n_records, n_dup and the data-quality counts per site",
    "probability_bands": "lo, hi, n: linked records in scope per match-probability band",
    "link_basis": "basis, n: what the links in scope rest on (id, name_dob, other)",
    "weekly_coverage": "week, district_code, dose1, dose2: cumulative adults with a first/second dose",
    "quarantine": "table_name, reason, rows: quarantined input rows per value-free reason",
}


#: edges of the match-probability bands (< 50%, 50–90%, …, ≥ 99.99%) the report counts links in
PROBABILITY_BANDS = (0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0000001)


def probability_band_counts(probs: np.ndarray) -> pd.DataFrame:
    """lo, hi, n: the probabilities counted per band of :data:`PROBABILITY_BANDS` (NaN left
    out), exactly as the histogram the report draws."""
    p = np.asarray(probs, dtype=float)
    counts, edges = np.histogram(p[~np.isnan(p)], bins=np.asarray(PROBABILITY_BANDS))
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "n": counts.astype(np.int64)})


def compute(con, province: str, period_start, period_end, residents: pd.DataFrame | None = None,
            sites: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLES` from the database open on ``con`` (read only).

    ``residents``: the province's register adults (person_id as text, district_code, sex,
    age_group), when the caller already holds them (the estimate does); else read here.
    ``sites``: every site's district, province and name (:func:`vaxstudy.scope.sites_sql`'s
    result over this database), when the caller holds it; else each query derives them."""
    from vaxstudy.report import data as rdata

    if residents is None:
        residents = rdata.province_adults(con, province, period_end)
    scope = (province, period_start, period_end)
    out: dict[str, pd.DataFrame] = {"adults": rdata.adult_groups(residents)}
    with rdata.with_sites(con, sites) as known, rdata.with_scope(con, *scope, sites=known) as one:
        steps: dict[str, Callable[[], pd.DataFrame]] = {
            "weekly_entry_gap": lambda: rdata.weekly_entry_gap(con, *scope, sites=known, scoped=one),
            "sites": lambda: rdata.site_table(con, *scope, sites=known, scoped=one),
            "probability_bands": lambda: probability_band_counts(
                rdata.match_probabilities(con, *scope, sites=known, scoped=one)),
            "link_basis": lambda: rdata.link_basis(con, *scope, sites=known, scoped=one),
            "weekly_coverage": lambda: rdata.weekly_cumulative_coverage(con, province, period_end, adults=residents),
            "quarantine": lambda: rdata.quarantine_summary(con),
        }
        for name, step in steps.items():
            out[name] = step()
    return out


def write(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> Path:
    """``out_dir/report_data/<name>.parquet`` for each table; returns the folder."""
    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if name not in TABLES:
            raise ValueError(f"unknown report table {name!r}; one of {', '.join(TABLES)}")
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def read(run_dir: str | Path, name: str) -> pd.DataFrame | None:
    """Table ``name`` of a run folder, None when the run has none (an estimate older than
    these tables, or none at all): the section then says the figure is not available."""
    if name not in TABLES:
        raise ValueError(f"unknown report table {name!r}; one of {', '.join(TABLES)}")
    path = Path(run_dir) / FOLDER / f"{name}.parquet"
    if not path.exists():
        return None
    df = pd.read_parquet(path)
    if "week" in df.columns:
        df["week"] = pd.to_datetime(df["week"])
    return df
