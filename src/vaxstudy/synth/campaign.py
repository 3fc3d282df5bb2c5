"""The vaccination campaign: sites and the true dose events.

* Sites: a commune health station per commune (``TYT<commune_code>``) and a
  district hospital / health centre per district (``BVH<district_code>``, in
  the district's first ward or town, else its first commune).
* Who and when: parameters in ``params.CampaignParams`` (each with its source).
  Adults are willing with a probability by district and age; the first-dose
  date follows the province's reported cumulative first doses, scaled to the
  synthetic province over its expected number of eventual recipients, so that
  the count given by any date matches the reports at every scale; districts
  and priority ages only reorder who goes first. A person not yet 18 on the drawn day
  is vaccinated on their 18th birthday. Dates beyond the period end are not given.
* Vaccine by month of the first dose; the second dose is the same vaccine, due
  after the vaccine's interval; doses falling due when second doses were held
  (October–November 2021) wait for the vaccine's next delivery.
* Where: the person's commune station (82%), the district hospital (10%),
  another station of the district (5%), anywhere in the province (3%).
* Outsiders: people registered in other provinces (not in the register) make
  ``outsider_share`` of first-dose recipients, vaccinated at stations weighted
  by commune size; they follow the same curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy import geo
from vaxstudy.synth.params import VACCINES, CampaignParams
from vaxstudy.synth.population import province_population

REFERENCE_PROVINCE = "40"  # dose1_reported are Nghệ An's counts


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


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


def dose1_curve(params: CampaignParams, n_register: int, expected_recipients: float) -> tuple[np.ndarray, np.ndarray]:
    """(days, cumulative share of eventual recipients): the reported counts scaled to a register of
    ``n_register`` people over its ``expected_recipients``, monotone, reaching 1 at ``dose1_complete_by``."""
    ratio = n_register / province_population(REFERENCE_PROVINCE)
    days = np.array([_day(d) for d, _ in params.dose1_reported] + [_day(params.dose1_complete_by)], dtype=float)
    share = np.array([c for _, c in params.dose1_reported] + [np.inf], dtype=float) * ratio / max(expected_recipients, 1e-9)
    share = np.minimum(np.maximum.accumulate(share), 1.0)
    return days, share


def _vaccine_for(days: np.ndarray, params: CampaignParams, rng: np.random.Generator) -> np.ndarray:
    month = pd.DatetimeIndex(days.astype("datetime64[D]")).month.to_numpy()
    out = np.zeros(len(days), dtype=np.int64)
    u = rng.random(len(days))
    for m, w in params.vaccine_mix.items():
        sel = month == m
        out[sel] = np.searchsorted(np.cumsum(w), u[sel] * sum(w), side="right").clip(0, len(VACCINES) - 1)
    return out


def _dose2_days(day1: np.ndarray, vac: np.ndarray, params: CampaignParams, rng: np.random.Generator) -> np.ndarray:
    """Due date (dose 1 + the vaccine's interval); doses due while second doses were held wait for the delivery."""
    lo = np.array([params.intervals[v][0] for v in VACCINES])[vac]
    hi = np.array([params.intervals[v][1] for v in VACCINES])[vac]
    due = day1 + lo + np.floor(rng.random(len(day1)) * (hi - lo)).astype(np.int64)
    resume = np.array([_day(params.dose2_resume[v]) for v in VACCINES])[vac]
    held = (due >= _day(params.dose2_hold_from)) & (due < resume)
    late = resume + rng.integers(0, params.dose2_catchup_days, size=len(day1))
    return np.where(held, late, due)


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


def _eighteenth_birthday(dob: pd.Series) -> np.ndarray:
    """Day numbers of the 18th birthdays (29 February -> 1 March)."""
    d = pd.DatetimeIndex(dob)
    leap = (d.month == 2) & (d.day == 29)
    eighteen = pd.to_datetime({"year": d.year + 18, "month": d.month, "day": np.where(leap, 28, d.day)})
    return (eighteen + pd.to_timedelta(leap.astype(int), unit="D")).to_numpy().astype("datetime64[D]").astype(np.int64)


def vaccinate(people: pd.DataFrame, sites: pd.DataFrame, period_end: np.datetime64, rng: np.random.Generator,
              params: CampaignParams | None = None, n_register: int | None = None) -> pd.DataFrame:
    """True dose events (given on or before period_end) for ``people`` (index = person key).

    ``people`` holds the register residents and the outsiders (``in_register`` False,
    ``district_code``/``commune_code`` = where they are vaccinated); ``n_register``
    (default: the residents) sizes the province for the reported first-dose counts.
    """
    params = params or CampaignParams()
    n = len(people)
    in_reg = people["in_register"].to_numpy()
    n_register = int(in_reg.sum()) if n_register is None else n_register
    age = people["age_ref"].to_numpy()
    dist = people["district_code"].to_numpy(dtype=object)
    districts = np.unique(dist)
    lo_u, hi_u = params.uptake_district
    d_uptake = dict(zip(districts, rng.uniform(lo_u, hi_u, size=len(districts))))
    d_shift = dict(zip(districts, rng.integers(-params.district_shift_days, params.district_shift_days + 1,
                                               size=len(districts))))
    age_f = np.zeros(n)
    for a, f in params.uptake_age:
        age_f[age >= a] = f
    p = pd.Series(dist).map(d_uptake).to_numpy() * np.where(age >= 18, age_f, params.uptake_age[0][1])
    p = np.where(in_reg, p, 1.0)  # outsiders are drawn as recipients
    eighteen = _eighteenth_birthday(people["dob"])
    complete = _day(params.dose1_complete_by)
    eligible = eighteen <= complete
    days, share = dose1_curve(params, n_register, float(p[eligible].sum()))
    willing = rng.random(n) < p
    prio = np.zeros(n)
    for a, d in params.priority_days:
        prio[age >= a] = d
    # the curve says how many are vaccinated each day (points are counts at the end of their
    # day), the shifts who goes first: the people, ordered by their shifted draw, take the
    # curve's dates in order, so districts and ages differ while the total follows the reports
    draw = np.interp(rng.random(n), share, days + 1.0)
    day1 = np.floor(draw).astype(np.int64)
    pick = np.flatnonzero(willing & eligible)
    order = np.argsort(draw[pick] + pd.Series(dist[pick]).map(d_shift).fillna(0).to_numpy() - prio[pick],
                       kind="stable")
    day1[pick[order]] = np.sort(day1[pick])
    day1 = np.maximum(day1, eighteen)
    end = int(period_end.astype(np.int64))
    got1 = willing & eligible & (day1 <= end)
    vac = _vaccine_for(day1, params, rng)
    day2 = _dose2_days(day1, vac, params, rng)
    got2 = got1 & (rng.random(n) < params.dose2_completion) & (day2 <= end)
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
