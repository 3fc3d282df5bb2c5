"""Denominator check: register adults against an official population count, by district.

Coverage divides by the adults of the population database; if that database
holds too few or too many residents of a district, its coverage is wrong by
the same factor. An optional `official_population.csv` in the data folder
(district, age_group, count — e.g. the statistics office's estimate) is
copied beside the report, and each district's register ÷ official ratio is
shown, flagged outside 0.9–1.1.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FILE = "official_population.csv"
LOW, HIGH = 0.9, 1.1
ADULT_GROUPS = ("18-29", "30-49", "50-64", "65+")


def load_official(path: str | Path) -> pd.DataFrame:
    """district_code (3 digits) and count of adults from `official_population.csv`.

    Columns: district (a district code) or district_code, count, and optionally age_group
    (rows whose group is not one of the adult groups 18-29, 30-49, 50-64, 65+ are left out).
    Bad input raises ValueError naming the file, the column and example values."""
    path = Path(path)
    df = pd.read_csv(path, dtype=str)
    df.columns = [c.strip().lower() for c in df.columns]
    dcol = "district_code" if "district_code" in df else "district" if "district" in df else None
    if dcol is None or "count" not in df:
        raise ValueError(f"{path}: needs the columns district (or district_code) and count "
                         f"(optionally age_group); it has {list(df.columns)}")
    codes = df[dcol].str.strip()
    bad = codes[~codes.str.fullmatch(r"\d{1,3}", na=False)]
    if not bad.empty:
        raise ValueError(f"{path}: column {dcol} must hold district codes (e.g. 412); "
                         f"found {bad.unique()[:3].tolist()}")
    n = pd.to_numeric(df["count"].str.replace(r"[ .,]", "", regex=True), errors="coerce")
    if n.isna().any() or (n < 0).any():
        raise ValueError(f"{path}: column count must hold whole non-negative numbers; "
                         f"found {df.loc[n.isna() | (n < 0), 'count'].unique()[:3].tolist()}")
    out = pd.DataFrame({"district_code": codes.str.zfill(3), "count": n})
    if "age_group" in df:
        out = out[df["age_group"].str.strip().isin(ADULT_GROUPS).to_numpy()]
    return out.groupby("district_code", as_index=False)["count"].sum()


def compare(register: pd.Series, official: pd.DataFrame) -> pd.DataFrame:
    """district_code, register, official, ratio, outside (ratio outside LOW–HIGH)."""
    off = official.set_index("district_code")["count"]
    idx = sorted(set(register.index) | set(off.index))
    df = pd.DataFrame({"district_code": idx, "register": register.reindex(idx).to_numpy(dtype=float),
                       "official": off.reindex(idx).to_numpy(dtype=float)})
    df["ratio"] = df["register"] / df["official"].where(df["official"] > 0)
    df["outside"] = df["ratio"].notna() & ~df["ratio"].between(LOW, HIGH)
    return df
