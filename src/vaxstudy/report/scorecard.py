"""District × indicator data-quality scorecard (WHO DQR-style), thresholds from scorecard.yaml.

Each indicator of a district is computed from the estimate's audit tables
(data_quality/*.parquet, numerator and denominator per district) and
metrics.json's by_district block, hidden when it rests on a small count (the
report's suppression rule), and judged against its threshold. The report
shows the values coloured by threshold and, per indicator, how many of the
districts with a shown value meet it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from vaxstudy.report.suppress import primary_mask


class Indicator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    direction: Literal["min", "max", "range"]
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    source: str

    @model_validator(mode="after")
    def _bounds(self) -> "Indicator":
        if self.direction == "range" and (self.low is None or self.high is None):
            raise ValueError(f"{self.key}: a range indicator needs low and high")
        if self.direction != "range" and self.threshold is None:
            raise ValueError(f"{self.key}: needs a threshold")
        return self

    def meets(self, v: float) -> bool:
        if self.direction == "min":
            return v >= self.threshold
        if self.direction == "max":
            return v <= self.threshold
        return self.low <= v <= self.high


class Scorecard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    indicators: tuple[Indicator, ...]


def load_scorecard(path: str | Path | None = None) -> Scorecard:
    """The thresholds file (default: the packaged scorecard.yaml)."""
    if path is None:
        text = resources.files("vaxstudy.report").joinpath("scorecard.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return Scorecard(**yaml.safe_load(text))


def _district_checks(run_dir: Path, table: str, check: str) -> pd.DataFrame:
    """district_code, numerator, denominator of one check of an audit table ({} if absent)."""
    path = Path(run_dir) / "data_quality" / f"{table}.parquet"
    if not path.exists():
        return pd.DataFrame(columns=["district_code", "numerator", "denominator"])
    t = pd.read_parquet(path)
    t = t[(t["unit_type"] == "district") & (t["check"] == check)]
    return t[["district_code", "numerator", "denominator"]].astype({"district_code": str})


def indicator_frame(run_dir: str | Path, metrics: dict, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, hidden): a row per district, a column per indicator key; `hidden` marks values
    resting on a count below `threshold` (numerator, its complement, or the denominator)."""
    run_dir = Path(run_dir)
    districts = sorted((metrics.get("by_district") or {}).keys())
    vals = pd.DataFrame(index=pd.Index(districts, name="district_code"), dtype=float)
    hid = pd.DataFrame(False, index=vals.index, columns=[])

    def from_counts(key: str, num: pd.Series, den: pd.Series, *, complement: bool = True,
                    invert: bool = False) -> None:
        num, den = num.reindex(vals.index).astype(float), den.reindex(vals.index).astype(float)
        rate = num / den.where(den > 0)
        small = primary_mask(den.fillna(0).to_numpy(), threshold) | primary_mask(num.fillna(0).to_numpy(), threshold)
        if complement:
            small |= primary_mask((den - num).fillna(0).to_numpy(), threshold)
        vals[key] = 1 - rate if invert else rate
        hid[key] = small | rate.isna().to_numpy()

    c = _district_checks(run_dir, "completeness", "empty:id_number").set_index("district_code")
    if not c.empty:
        from_counts("completeness_id", c["numerator"], c["denominator"], invert=True)
    tl = _district_checks(run_dir, "timeliness", "entered_within_7d").set_index("district_code")
    if not tl.empty:
        from_counts("timeliness_7d", tl["numerator"], tl["denominator"])
    vf = _district_checks(run_dir, "consistency", "verification_factor").set_index("district_code")
    if not vf.empty:  # entered ÷ tallied: both counts must be large enough
        from_counts("verification_factor", vf["numerator"], vf["denominator"], complement=False)
    do = _district_checks(run_dir, "consistency", "dropout_registry").set_index("district_code")
    if not do.empty:  # numerator: dose-1 persons without a dose 2, over dose-1 persons
        from_counts("dropout", do["numerator"], do["denominator"])
    od = _district_checks(run_dir, "consistency", "outlier_days").set_index("district_code")
    if not od.empty:
        from_counts("outlier_days", od["numerator"], od["denominator"])
    vpath = run_dir / "data_quality" / "validity.parquet"
    if vpath.exists():
        v = pd.read_parquet(vpath)
        v = v[v["unit_type"] == "district"].astype({"district_code": str})
        g = v.groupby("district_code").agg(numerator=("numerator", "sum"), denominator=("denominator", "max"))
        g["numerator"] = np.minimum(g["numerator"], g["denominator"])  # failed checks, at most one per record
        from_counts("invalid_share", g["numerator"], g["denominator"])
    by = metrics.get("by_district") or {}
    n = pd.Series({d: by[d].get("n_records") for d in districts}, dtype=float)
    for key in ("duplicate_dose_rate", "unlinked_record_rate"):
        r = pd.Series({d: by[d].get(key) for d in districts}, dtype=float)
        if r.notna().any():
            from_counts(key, (r * n).round(), n)
    return vals, hid


def verdicts(vals: pd.DataFrame, hidden: pd.DataFrame, card: Scorecard) -> pd.DataFrame:
    """True / False per shown cell (meets its threshold), None where hidden or missing."""
    out = pd.DataFrame(index=vals.index)
    for ind in card.indicators:
        if ind.key not in vals:
            continue
        out[ind.key] = pd.Series([None if h or pd.isna(v) else bool(ind.meets(float(v)))
                                  for v, h in zip(vals[ind.key], hidden[ind.key])], index=vals.index, dtype=object)
    return out
