"""The synthetic Nghệ An against the province's own table of 15 October 2021.

Nghệ An reported to the Ministry of Health's conference of 16 October 2021, as of
15 October: 831,238 doses given; 739,981 adults with at least one dose; 91,498
with two doses; 757,224 of 812,682 first doses entered in the national software
(93.2%). ``campaign_figures`` reads the same four figures from the hidden truth
of a generated folder (``truth_doses.parquet``), scaled up to the whole
province, so that they can be set beside ``SEED_TABLE``:

* doses_given: true dose events given on or before ``as_of`` at the province's
  sites (the province counts what its sites gave, residents of other
  provinces included);
* adults_dose1 / adults_dose2: people given a first / second dose by then (the
  campaign vaccinates adults only; every dose-2 recipient had dose 1 there, so
  doses_given = adults_dose1 + adults_dose2, as in the province's table to
  within 241);
* first_dose_entered_share: among those first doses, the share typed into the
  software by ``as_of`` (not ``never_entered`` and vaccination date + entry lag
  ≤ ``as_of``) — what an export taken that day would hold.

``residents_dose1`` (register residents only, the basis of ``coverage_dose1``
in ``truth_summary``) is given beside them for reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SEED_AS_OF = "2021-10-15"
SEED_TABLE = {
    "doses_given": 831_238,
    "adults_dose1": 739_981,
    "adults_dose2": 91_498,
    "first_dose_entered_share": 757_224 / 812_682,
}
"""Nghệ An, 15 October 2021 (report to the Ministry of Health's conference of 16 October)."""
FIGURES = tuple(SEED_TABLE)

DOSE2_REPORTED = (("2021-07-28", 22_995), ("2021-09-12", 67_857), ("2021-10-06", 90_400), ("2021-10-15", 91_498))
"""People with two doses reported by the province (baonghean.vn 28 Jul, baohatinh.vn 12 Sep,
nghean24h.vn 6 Oct, the seed table 15 Oct): a check of the second-dose model, not an input."""


def _summary(data_dir: Path) -> dict:
    return json.loads((Path(data_dir) / "truth_summary.json").read_text(encoding="utf-8"))


def _doses(data_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(data_dir) / "truth_doses.parquet",
                           columns=["true_person_id", "dose_number", "vaccination_date", "never_entered", "lag_days"])


def campaign_figures(data_dir, as_of: str = SEED_AS_OF, factor: float | None = None) -> dict:
    """The four figures of ``SEED_TABLE`` (and ``residents_dose1``) read from the truth of a
    generated folder as of ``as_of``, counts multiplied by ``factor`` (default 1 / scale)."""
    data_dir = Path(data_dir)
    summary = _summary(data_dir)
    if as_of > summary["period_end"]:
        raise ValueError(f"{data_dir}: generated up to {summary['period_end']}, cannot read figures as of {as_of}")
    factor = 1.0 / float(summary["generator"]["scale"]) if factor is None else factor
    d = _doses(data_dir)
    day = pd.to_datetime(d["vaccination_date"])
    cut = pd.Timestamp(as_of)
    given = d[day <= cut]
    d1 = given[given["dose_number"] == 1]
    typed = (~d1["never_entered"].astype(bool)) & (day[d1.index] + pd.to_timedelta(d1["lag_days"], unit="D") <= cut)
    return {
        "doses_given": len(given) * factor,
        "adults_dose1": len(d1) * factor,
        "adults_dose2": int((given["dose_number"] == 2).sum()) * factor,
        "first_dose_entered_share": float(typed.mean()) if len(d1) else float("nan"),
        "residents_dose1": int((d1["true_person_id"] != "").sum()) * factor,
    }


def dose_series(data_dir, dates, factor: float | None = None) -> pd.DataFrame:
    """People with dose 1 and dose 2 by each date (scaled like ``campaign_figures``)."""
    data_dir = Path(data_dir)
    factor = 1.0 / float(_summary(data_dir)["generator"]["scale"]) if factor is None else factor
    d = _doses(data_dir)
    day = d["vaccination_date"].to_numpy().astype("datetime64[D]")
    rows = [{"date": t, **{f"dose{k}": int(((d["dose_number"] == k).to_numpy() & (day <= np.datetime64(t))).sum()) * factor
                           for k in (1, 2)}} for t in dates]
    return pd.DataFrame(rows)


def relative_errors(figures: dict) -> dict:
    """(synthetic − seed) / seed for each figure of ``SEED_TABLE``."""
    return {k: figures[k] / SEED_TABLE[k] - 1.0 for k in FIGURES}


def table(figures: dict, label: str = "synthetic") -> str:
    """The four figures beside the seed's, one line each (for tests, benchmarks and docs)."""
    lines = [f"{'as of ' + SEED_AS_OF:<27} {'seed':>12} {label:>12} {'diff':>7}"]
    for k in FIGURES:
        s, v = SEED_TABLE[k], figures[k]
        fmt = (lambda x: f"{x:.1%}") if k.endswith("share") else (lambda x: f"{x:,.0f}")
        lines.append(f"{k:<27} {fmt(s):>12} {fmt(v):>12} {v / s - 1:+7.1%}")
    return "\n".join(lines)
