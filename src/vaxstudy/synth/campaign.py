"""The vaccination campaign: sites and the true dose events.

* Sites: a commune health station per commune (``TYT<commune_code>``) and a
  district hospital / health centre per district (``BVH<district_code>``, in
  the district's first ward or town, else its first commune).
* Who: residents aged ≥ 18 on the day of their first dose. Willingness
  depends on the district (uniform 0.86–0.99) and age (18–29 0.92, 30–64 0.97,
  65–79 0.92, 80+ 0.75).
* When: the first-dose date follows the cumulative curve ``DOSE1_CDF`` of
  Nghệ An's campaign (a slow start from 8 March 2021, most doses July–October,
  calibrated so that about a third of adults had a first dose by mid-October as
  reported), shifted by district (±12 days) and earlier for the old (priority
  groups). Dates beyond the period end are not given (yet).
* Vaccine: by month of the first dose (AstraZeneca early, then Vero Cell,
  Pfizer, Moderna); the second dose is the same vaccine after AstraZeneca
  56–84 days, Pfizer 21–28, Moderna 28–32, Vero Cell 21–28; 97% complete.
* Where: the person's commune station (82%), the district hospital (10%),
  another station of the district (5%), anywhere in the province (3%).
* Outsiders: people registered in other provinces (not in the register) make
  ``outsider_share`` of first-dose recipients, vaccinated at stations weighted
  by commune size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy import geo

CAMPAIGN_START = np.datetime64("2021-03-08")
# cumulative share of (eventual 2021) first doses by date
DOSE1_CDF = [
    ("2021-03-08", 0.0), ("2021-03-31", 0.004), ("2021-04-30", 0.009), ("2021-05-31", 0.015),
    ("2021-06-30", 0.03), ("2021-07-31", 0.075), ("2021-08-31", 0.15), ("2021-09-30", 0.245),
    ("2021-10-15", 0.315), ("2021-10-31", 0.52), ("2021-11-30", 0.84), ("2021-12-31", 1.0),
]
VACCINES = ["AstraZeneca", "Pfizer-BioNTech", "Moderna", "Vero Cell (Sinopharm)"]
# month of first dose -> vaccine mix (order of VACCINES)
VACCINE_MIX = {
    3: [0.98, 0.0, 0.02, 0.0], 4: [0.98, 0.0, 0.02, 0.0], 5: [0.95, 0.0, 0.05, 0.0],
    6: [0.85, 0.0, 0.15, 0.0], 7: [0.55, 0.1, 0.2, 0.15], 8: [0.4, 0.2, 0.1, 0.3],
    9: [0.35, 0.2, 0.1, 0.35], 10: [0.35, 0.35, 0.1, 0.2], 11: [0.35, 0.35, 0.1, 0.2],
    12: [0.35, 0.35, 0.1, 0.2],
}
INTERVAL = {0: (56, 85), 1: (21, 29), 2: (28, 33), 3: (21, 29)}  # [low, high) days


def make_sites(province: str) -> pd.DataFrame:
    com = geo.province_communes(province)
    dis = geo.province_districts(province)
    st = pd.DataFrame({
        "site_id": "TYT" + com["commune_code"],
        "site_name": "Trạm Y tế " + com["commune_type"].map(
            {"xa": "xã ", "phuong": "phường ", "thi-tran": "thị trấn "}).fillna("") + com["commune_name"],
        "province_code": com["province_code"], "district_code": com["district_code"],
        "commune_code": com["commune_code"],
    })
    urban = com[com["commune_type"].isin(["phuong", "thi-tran"])].groupby("district_code")["commune_code"].first()
    first = com.groupby("district_code")["commune_code"].first()
    seat = urban.reindex(first.index).fillna(first)
    hosp = pd.DataFrame({
        "site_id": "BVH" + dis["district_code"],
        "site_name": "Trung tâm Y tế " + dis["district_type"].map(
            {"huyen": "huyện ", "thi-xa": "thị xã ", "thanh-pho": "thành phố ", "quan": "quận "}).fillna("") + dis["district_name"],
        "province_code": dis["province_code"], "district_code": dis["district_code"],
        "commune_code": dis["district_code"].map(seat),
    })
    return pd.concat([st, hosp], ignore_index=True).sort_values("site_id", ignore_index=True)


def _dose1_dates(u: np.ndarray) -> np.ndarray:
    xs = np.array([np.datetime64(d).astype(np.int64) for d, _ in DOSE1_CDF], dtype=float)
    ys = np.array([c for _, c in DOSE1_CDF])
    return np.floor(np.interp(u, ys, xs)).astype(np.int64)


def _vaccine_for(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    month = pd.DatetimeIndex(days.astype("datetime64[D]")).month.to_numpy()
    out = np.zeros(len(days), dtype=np.int64)
    u = rng.random(len(days))
    for m, w in VACCINE_MIX.items():
        sel = month == m
        out[sel] = np.searchsorted(np.cumsum(w), u[sel] * sum(w), side="right").clip(0, 3)
    return out


def _sites_for(district: np.ndarray, commune: np.ndarray, sites: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    n = len(district)
    stations = sites[sites["site_id"].str.startswith("TYT")].reset_index(drop=True)
    u = rng.random(n)
    own = "TYT" + pd.Series(commune, dtype=object)
    hosp = "BVH" + pd.Series(district, dtype=object)
    # another station of the same district
    by_d = stations.groupby("district_code").indices
    other = np.empty(n, dtype=object)
    dser = pd.Series(district)
    for d, idx in dser.groupby(dser).indices.items():
        st_idx = by_d.get(d)
        if st_idx is None:
            st_idx = np.arange(len(stations))
        other[idx] = stations["site_id"].to_numpy()[st_idx[rng.integers(0, len(st_idx), size=len(idx))]]
    anywhere = sites["site_id"].to_numpy()[rng.integers(0, len(sites), size=n)]
    return np.select([u < 0.82, u < 0.92, u < 0.97], [own.to_numpy(), hosp.to_numpy(), other], anywhere).astype(object)


def vaccinate(people: pd.DataFrame, sites: pd.DataFrame, period_end: np.datetime64,
              rng: np.random.Generator, dose2_completion: float = 0.97) -> pd.DataFrame:
    """True dose events (given on or before period_end) for ``people`` (index = person key)."""
    n = len(people)
    age = people["age_ref"].to_numpy()
    districts = np.unique(people["district_code"].to_numpy())
    d_uptake = dict(zip(districts, rng.uniform(0.86, 0.99, size=len(districts))))
    d_shift = dict(zip(districts, rng.integers(-12, 13, size=len(districts))))
    age_f = np.select([age < 30, age < 65, age < 80], [0.92, 0.97, 0.92], 0.75)
    dist = people["district_code"].to_numpy(dtype=object)
    p = pd.Series(dist).map(d_uptake).to_numpy() * age_f
    p = np.where(people["in_register"].to_numpy(), p, 1.0)  # outsiders are drawn as recipients
    willing = rng.random(n) < p
    day1 = _dose1_dates(rng.random(n)) + pd.Series(dist).map(d_shift).fillna(0).to_numpy().astype(np.int64)
    day1 = day1 - np.select([age >= 65, age >= 50], [10, 5], 0)
    day1 = np.maximum(day1, CAMPAIGN_START.astype(np.int64))
    dob = pd.DatetimeIndex(people["dob"])
    # 18th birthday (29 February -> 1 March)
    eighteen = pd.to_datetime({"year": dob.year + 18, "month": dob.month, "day": np.where(
        (dob.month == 2) & (dob.day == 29), 28, dob.day)}) + pd.to_timedelta(
        ((dob.month == 2) & (dob.day == 29)).astype(int), unit="D")
    adult_then = day1 >= eighteen.to_numpy().astype("datetime64[D]").astype(np.int64)
    got1 = willing & adult_then & (day1 <= period_end.astype(np.int64))
    vac = _vaccine_for(day1, rng)
    lo = np.array([INTERVAL[v][0] for v in range(4)])[vac]
    hi = np.array([INTERVAL[v][1] for v in range(4)])[vac]
    day2 = day1 + lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
    got2 = got1 & (rng.random(n) < dose2_completion) & (day2 <= period_end.astype(np.int64))
    i1 = np.flatnonzero(got1)
    com = people["commune_code"].to_numpy(dtype=object)
    site1 = _sites_for(dist[i1], com[i1], sites, rng)
    # most second doses at the same site
    site2 = np.where(rng.random(len(i1)) < 0.9, site1, _sites_for(dist[i1], com[i1], sites, rng))
    g2 = got2[i1]
    keys = people.index.to_numpy()
    ev = pd.concat([
        pd.DataFrame({"person_key": keys[i1], "dose_number": 1, "day": day1[i1], "vaccine": vac[i1], "site_id": site1}),
        pd.DataFrame({"person_key": keys[i1][g2], "dose_number": 2, "day": day2[i1][g2], "vaccine": vac[i1][g2],
                      "site_id": site2[g2]}),
    ], ignore_index=True)
    ev["vaccine"] = np.array(VACCINES, dtype=object)[ev["vaccine"].to_numpy()]
    return ev


def outsider_sites(n: int, sites: pd.DataFrame, residents: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """District and commune of the site outsiders go to: communes weighted by resident counts."""
    cc = residents["commune_code"].value_counts().sort_index()
    pick = rng.choice(len(cc), size=n, p=(cc / cc.sum()).to_numpy())
    com = cc.index.to_numpy()[pick]
    d_of = dict(zip(sites["commune_code"], sites["district_code"]))
    return np.array([d_of[c] for c in com], dtype=object), com
