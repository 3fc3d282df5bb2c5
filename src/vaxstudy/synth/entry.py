"""The entry process: which doses reach the software, when, under which profile, and how typed.

1. **Never entered.** Each true dose event is lost with probability
   ``expit(logit(missing_base) + site effect + missing_load_coef * log(load))``
   where the site effect is N(0, ``missing_site_sd``) on the logit scale and
   ``load`` is the province's doses per day (trailing 7-day mean) over a data-entry
   capacity of ``capacity_share`` × adults per day (mass-vaccination weeks lose more).
2. **Lag.** A share ``lag_same_day`` is typed the same day, ``lag_late_share``
   in a catch-up batch 10–60 days later, the rest after a geometric delay of
   mean ``lag_mean_days`` × max(1, load). The export is taken at the end of the
   period: rows typed after it are not in the file (the backlog).
3. **Profiles (subjects).** A person's first exported row creates a profile;
   each later dose is entered under a *new* profile with probability
   ``new_subject_rate``, otherwise under the person's latest profile. All rows of
   a profile share its person fields (as in the software, where they belong to
   the profile).
4. **Typed twice.** An exported dose is typed a second time with probability
   ``dup_dose_rate``: same site, dose number and vaccine, the same vaccination
   date except for a share ``dup_dose_date_shift`` dated the day before, typed
   1 minute to 20 days after the first (dropped if after the export).
   With probability ``dup_dose_new_subject`` it is under a freshly created
   profile (the person's fields retyped with fresh noise), otherwise under the
   same profile (then the row differs from the first only by record_id and
   entered_date).
5. **Field noise** per profile, see ``params.SynthParams``.

Rows are exported in entry order (entry timestamp, then event), numbered
``record_id`` R00000001…; ``subject_id`` S00000001… numbers profiles in order of
creation.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from vaxstudy.synth import errors
from vaxstudy.synth import names as nm
from vaxstudy.synth.params import SynthParams

OLD_PREFIX = {
    "032": "0162", "033": "0163", "034": "0164", "035": "0165", "036": "0166", "037": "0167",
    "038": "0168", "039": "0169", "070": "0120", "079": "0121", "077": "0122", "076": "0126",
    "078": "0128", "083": "0123", "084": "0124", "085": "0125", "081": "0127", "082": "0129",
    "056": "0186", "058": "0188", "059": "0199",
}


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    p = min(max(p, 1e-9), 1 - 1e-9)
    return np.log(p / (1 - p))


def daily_load(days: np.ndarray, n_adults: int, params: SynthParams) -> pd.Series:
    """Province load by day: trailing 7-day mean of doses given / (capacity_share × adults).

    Scale-free (both grow with the population) and causal (a day's load does
    not depend on later days, so not on the period end).
    """
    counts = pd.Series(days).value_counts().sort_index()
    full = counts.reindex(np.arange(counts.index.min(), counts.index.max() + 1), fill_value=0)
    return full.rolling(7, min_periods=1).mean() / max(params.capacity_share * n_adults, 1e-9)


def entry_times(events: pd.DataFrame, site_ids: np.ndarray, params: SynthParams, export_day: int,
                rng: np.random.Generator, n_adults: int) -> pd.DataFrame:
    """Adds load, p_missing, never_entered, entered_ts (seconds since epoch) and exported to ``events``."""
    ev = events
    load = ev["day"].map(daily_load(ev["day"].to_numpy(), n_adults, params)).to_numpy()
    eff = pd.Series(rng.normal(0.0, params.missing_site_sd, size=len(site_ids)), index=site_ids)
    logit = _logit(params.missing_base) + ev["site_id"].map(eff).fillna(0.0).to_numpy() \
        + params.missing_load_coef * np.log(np.maximum(load, 0.05))
    p_miss = _expit(logit) if params.missing_base > 0 else np.zeros(len(ev))
    never = rng.random(len(ev)) < p_miss
    n = len(ev)
    u = rng.random(n)
    same = u < params.lag_same_day
    late = (~same) & (rng.random(n) < params.lag_late_share)
    mean = params.lag_mean_days * np.maximum(1.0, load)
    geo_lag = rng.geometric(np.clip(1.0 / mean, 1e-6, 1.0))
    lag = np.where(same, 0, np.where(late, rng.integers(10, 61, size=n), geo_lag)).astype(np.int64)
    secs = rng.integers(7 * 3600, 22 * 3600, size=n)
    entered_day = ev["day"].to_numpy() + lag
    ev["load"] = load
    ev["p_missing"] = p_miss
    ev["never_entered"] = never
    ev["lag_days"] = lag
    ev["entered_ts"] = entered_day * 86400 + secs
    ev["exported"] = (~never) & (entered_day <= export_day)
    return ev


# ---------------------------------------------------------------------------
# field noise
# ---------------------------------------------------------------------------
def _apply(values: np.ndarray, mask: np.ndarray, fn) -> None:
    idx = np.flatnonzero(mask)
    values[idx] = [fn(v) for v in values[idx]]


def noisy_names(true: np.ndarray, p: SynthParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    n = len(true)
    out = true.copy()
    flags = {}
    flags["name_swap"] = rng.random(n) < p.name_swap
    _apply(out, flags["name_swap"], nm.swap_parts)
    flags["name_typo"] = rng.random(n) < p.name_typo
    idx = np.flatnonzero(flags["name_typo"])
    sub = np.random.default_rng(rng.integers(2**63))
    out[idx] = [nm.typo(v, sub) for v in out[idx]]
    uniq = pd.unique(out)
    elig_map = {s: nm.has_tone_style_syllable(s) for s in uniq}
    eligible = np.fromiter((elig_map[s] for s in out), dtype=bool, count=n)
    flags["name_tone_eligible"] = eligible
    flags["name_tone_style"] = eligible & (rng.random(n) < p.name_tone_style)
    _apply(out, flags["name_tone_style"], nm.toggle_tone_style)
    flags["name_upper"] = rng.random(n) < p.name_upper
    _apply(out, flags["name_upper"], str.upper)
    flags["name_no_diacritics"] = rng.random(n) < p.name_no_diacritics
    _apply(out, flags["name_no_diacritics"], nm.strip_diacritics)
    flags["name_nfd"] = (~flags["name_no_diacritics"]) & (rng.random(n) < p.name_nfd)
    _apply(out, flags["name_nfd"], lambda s: unicodedata.normalize("NFD", s))
    return out, flags


def noisy_dobs(dob: np.ndarray, p: SynthParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    n = len(dob)
    di = pd.DatetimeIndex(dob)
    y, m, d = di.year.to_numpy(), di.month.to_numpy(), di.day.to_numpy()
    flags = {}
    flags["dob_year_only"] = rng.random(n) < p.dob_year_only
    swappable = (d <= 12) & (d != m) & ~flags["dob_year_only"]
    flags["dob_swap_eligible"] = swappable
    flags["dob_day_month_swap"] = swappable & (rng.random(n) < p.dob_day_month_swap)
    flags["dob_iso"] = (~flags["dob_year_only"]) & (rng.random(n) < p.dob_iso)
    dd = np.where(flags["dob_day_month_swap"], m, d)
    mm = np.where(flags["dob_day_month_swap"], d, m)
    ys = pd.Series(y).astype(str)
    ds = pd.Series(dd).astype(str).str.zfill(2)
    ms = pd.Series(mm).astype(str).str.zfill(2)
    dmy = ds + "/" + ms + "/" + ys
    iso = ys + "-" + ms + "-" + ds
    out = np.where(flags["dob_year_only"], ys, np.where(flags["dob_iso"], iso, dmy)).astype(object)
    return out, flags


def _digit_typo(s: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(3, len(s)))
    if rng.random() < 0.5 and i + 1 < len(s) and s[i] != s[i + 1]:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    c = str((int(s[i]) + int(rng.integers(1, 10))) % 10)
    return s[:i] + c + s[i + 1 :]


def noisy_ids(cccd: np.ndarray, cmnd: np.ndarray, p: SynthParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    n = len(cccd)
    u = rng.random(n)
    flags = {}
    flags["id_empty"] = u < p.id_empty
    flags["id_cmnd"] = (~flags["id_empty"]) & (u < p.id_empty + p.id_cmnd) & (cmnd != "")
    flags["id_typo"] = (u >= p.id_empty + p.id_cmnd) & (u < p.id_empty + p.id_cmnd + p.id_typo)
    out = np.where(flags["id_empty"], "", np.where(flags["id_cmnd"], cmnd, cccd)).astype(object)
    sub = np.random.default_rng(rng.integers(2**63))
    idx = np.flatnonzero(flags["id_typo"])
    out[idx] = [_digit_typo(s, sub) for s in out[idx]]
    return out, flags


def noisy_phones(base: np.ndarray, p: SynthParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    n = len(base)
    has = base != ""
    u = rng.random(n)
    renum = np.array([s[:3] in OLD_PREFIX for s in base], dtype=bool)
    c1 = p.phone_empty
    c2 = c1 + p.phone_old11
    c3 = c2 + p.phone_plus84
    c4 = c3 + p.phone_typo
    flags = {
        "phone_present": has,
        "phone_empty": has & (u < c1),
        "phone_old11": has & (u >= c1) & (u < c2) & renum,
        "phone_plus84": has & (u >= c2) & (u < c3),
        "phone_typo": has & (u >= c3) & (u < c4),
    }
    out = base.copy()
    out[flags["phone_empty"]] = ""
    _apply(out, flags["phone_old11"], lambda s: OLD_PREFIX[s[:3]] + s[3:])
    _apply(out, flags["phone_plus84"], lambda s: "+84" + s[1:])
    sub = np.random.default_rng(rng.integers(2**63))
    idx = np.flatnonzero(flags["phone_typo"])
    out[idx] = [_digit_typo(s, sub) for s in out[idx]]
    return out, flags


def noisy_address(prov, dist, com, site_com, district_communes: dict, p: SynthParams,
                  rng: np.random.Generator) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], dict]:
    n = len(prov)
    u = rng.random(n)
    a1 = p.address_empty
    a2 = a1 + p.commune_empty
    a3 = a2 + p.commune_wrong
    flags = {
        "address_empty": u < a1,
        "commune_empty": (u >= a1) & (u < a2),
        "commune_wrong": (u >= a2) & (u < a3),
    }
    prov, dist, com = prov.copy(), dist.copy(), com.copy()
    idx = np.flatnonzero(flags["commune_wrong"])
    use_site = rng.random(len(idx)) < 0.5
    pick = rng.random(len(idx))
    for j, i in enumerate(idx):
        if use_site[j] and site_com[i] != com[i]:
            com[i] = site_com[i]
            continue
        cands = district_communes.get(dist[i])
        if cands is None or len(cands) < 2:
            com[i] = site_com[i] if site_com[i] != com[i] else com[i][:-1] + str((int(com[i][-1]) + 1) % 10)
            continue
        c = cands[int(pick[j] * len(cands))]
        if c == com[i]:
            c = cands[(int(pick[j] * len(cands)) + 1) % len(cands)]
        com[i] = c
    com[flags["commune_empty"]] = ""
    for a in (prov, dist, com):
        a[flags["address_empty"]] = ""
    return (prov, dist, com), flags


PROFILE_CHUNK = 200_000
CAMPAIGN_START_DAY = int(np.datetime64("2021-03-08", "D").astype(np.int64))


def _noisy_profiles(per: pd.DataFrame, site_com: np.ndarray, district_communes: dict, params: SynthParams,
                    rng: np.random.Generator, err_rng: np.random.Generator,
                    neighbours: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed person fields (Arrow-backed strings) and noise flags for one chunk of profiles.

    The kinds of the widened catalogue (synth/errors.py) draw from ``err_rng`` only, so
    the draws of the original noise from ``rng`` do not depend on their rates."""
    n = len(per)
    true_names = per["full_name"].to_numpy(dtype=object)
    sex_true = per["sex"].to_numpy()
    names_in, f_name2 = errors.name_errors(true_names, sex_true, params, err_rng)
    names, f_name = noisy_names(names_in, params, rng)
    dob_in, f_dob2 = errors.dob_errors(per["dob"].to_numpy(), params, err_rng)
    dobs, f_dob = noisy_dobs(dob_in, params, rng)
    f_sex = {"sex_empty": rng.random(n) < params.sex_empty}
    sex = np.where(f_sex["sex_empty"], "", np.where(sex_true == "M", "Nam", "Nữ"))
    sex, f_sex2 = errors.sex_errors(sex, params, err_rng)
    cccd = per["person_id"].to_numpy(dtype=object)
    ids, f_id = noisy_ids(cccd, per["cmnd"].to_numpy(dtype=object), params, rng)
    ids, f_id2 = errors.id_errors(ids, cccd, per["hh_other_id"].to_numpy(dtype=object), params, err_rng)
    own = per["own_phone"].to_numpy(dtype=object)
    base_phone = np.where(own != "", own,
                          np.where(rng.random(n) < 0.7, per["contact_phone"].to_numpy(dtype=object), "")).astype(object)
    base_phone, f_ph2 = errors.phone_errors(base_phone, per["hh_other_phone"].to_numpy(dtype=object), params, err_rng)
    phones, f_ph = noisy_phones(base_phone, params, rng)
    true_com = per["commune_code"].to_numpy(dtype=object)
    (pv, ds, cm), f_ad = noisy_address(per["province_code"].to_numpy(dtype=object), per["district_code"].to_numpy(dtype=object),
                                       true_com, site_com, district_communes, params, rng)
    ds, cm, f_ad2 = errors.commune_errors(ds, cm, true_com, neighbours, params, err_rng)
    cols = {"full_name": names, "date_of_birth": dobs, "sex": sex, "id_number": ids, "phone": phones,
            "province_code": pv, "district_code": ds, "commune_code": cm}
    pf = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()})
    flags = pd.DataFrame({k: v for f in (f_name, f_dob, f_sex, f_id, f_ph, f_ad, f_name2, f_dob2, f_sex2, f_id2,
                                          f_ph2, f_ad2) for k, v in f.items()})
    return pf, flags


def _error_rng(rng: np.random.Generator) -> np.random.Generator:
    """The widened catalogue's own stream, derived from ``rng``'s state without advancing it."""
    state = rng.bit_generator.state["state"]["state"]
    return np.random.default_rng([state % 2**63, state >> 64, 0xE4404])


def build_records(persons: pd.DataFrame, events: pd.DataFrame, sites: pd.DataFrame, params: SynthParams,
                  export_day: int, district_communes: dict, rng: np.random.Generator):
    """Return (vaccinations, truth_records) from events carrying entry times."""
    ex = events[events["exported"]]
    prim = pd.DataFrame({
        "event_id": ex["event_id"].to_numpy(), "person_key": ex["person_key"].to_numpy(),
        "ts": ex["entered_ts"].to_numpy(), "retyped": False,
    })
    # -- profiles of first typings
    prim = prim.sort_values(["person_key", "ts", "event_id"], kind="stable", ignore_index=True)
    rank = prim.groupby("person_key").cumcount().to_numpy()
    new = (rank == 0) | (rng.random(len(prim)) < params.new_subject_rate)
    prim["new_profile"] = new & (rank > 0)
    prim["prof"] = pd.Series(new.astype(np.int64)).groupby(prim["person_key"].to_numpy()).cumsum().to_numpy() - 1
    # -- second typings
    dsel = rng.random(len(prim)) < params.dup_dose_rate
    dup = prim.loc[dsel, ["event_id", "person_key", "ts", "prof"]].copy()
    dup["ts"] = dup["ts"].to_numpy() + rng.integers(60, 20 * 86400, size=len(dup))
    dup["retyped"] = True
    dnew = rng.random(len(dup)) < params.dup_dose_new_subject
    dup["new_profile"] = dnew
    dup["prof"] = np.where(dnew, 10**6 + np.arange(len(dup)), dup["prof"].to_numpy())
    dup = dup[dup["ts"] // 86400 <= export_day]
    rows = pd.concat([prim, dup], ignore_index=True)
    rows = rows.sort_values(["ts", "event_id", "retyped"], kind="stable", ignore_index=True)
    rows["record_id"] = [f"R{i:08d}" for i in range(1, len(rows) + 1)]

    # -- profiles: subject ids in order of creation (first row)
    prof = rows.groupby(["person_key", "prof"], sort=False).agg(first_row=("ts", "size")).reset_index()
    first_pos = rows.reset_index().groupby(["person_key", "prof"], sort=False)["index"].min()
    prof["first_pos"] = first_pos.reindex(pd.MultiIndex.from_frame(prof[["person_key", "prof"]])).to_numpy()
    prof = prof.sort_values("first_pos", ignore_index=True)
    prof["subject_id"] = [f"S{i:08d}" for i in range(1, len(prof) + 1)]
    rows = rows.merge(prof[["person_key", "prof", "subject_id"]], on=["person_key", "prof"], how="left")

    # site of the profile's first row (for wrong-commune noise)
    ev_site = events.set_index("event_id")["site_id"]
    first_event = rows.loc[prof["first_pos"].to_numpy(), "event_id"].to_numpy()
    site_com = ev_site.reindex(first_event).map(dict(zip(sites["site_id"], sites["commune_code"]))).to_numpy(dtype=object)

    # person fields of each profile, noised in chunks (bounded memory for Python strings)
    err_rng = _error_rng(rng)
    persons = persons.assign(**dict(zip(("hh_other_id", "hh_other_phone"),
                                        errors.household_others(persons, err_rng))))
    neighbours = errors.commune_neighbours(district_communes)
    pf_parts, flag_parts = [], []
    for lo in range(0, len(prof), PROFILE_CHUNK):
        sl = slice(lo, lo + PROFILE_CHUNK)
        per = persons.loc[prof["person_key"].to_numpy()[sl]]
        pf, fl = _noisy_profiles(per, site_com[sl], district_communes, params, rng, err_rng, neighbours)
        pf.insert(0, "subject_id", prof["subject_id"].to_numpy()[sl])
        fl.insert(0, "subject_id", prof["subject_id"].to_numpy()[sl])
        pf_parts.append(pf)
        flag_parts.append(fl)
        del per, pf, fl
    pf = pd.concat(pf_parts, ignore_index=True)
    flags = pd.concat(flag_parts, ignore_index=True)
    del pf_parts, flag_parts

    evx = events.set_index("event_id").loc[rows["event_id"].to_numpy()]
    entered = (rows["ts"].to_numpy() // 86400).astype("datetime64[D]").astype(str).astype(object)
    entered[rng.random(len(rows)) < params.entered_date_empty] = ""
    vac = pd.DataFrame({
        "record_id": rows["record_id"].to_numpy(), "subject_id": rows["subject_id"].to_numpy(),
    }).merge(pf, on="subject_id", how="left")
    # rows of a profile other than its first whose person fields were typed again (fresh noise)
    later = rows.duplicated(["person_key", "prof"]).to_numpy()
    refield = later & (err_rng.random(len(rows)) < params.retype_visit)
    idx = np.flatnonzero(refield)
    if len(idx):
        per = persons.loc[rows["person_key"].to_numpy()[idx]]
        rf, _ = _noisy_profiles(per, site_com[prof.set_index(["person_key", "prof"]).index.get_indexer(
            pd.MultiIndex.from_frame(rows.loc[idx, ["person_key", "prof"]]))], district_communes, params,
            err_rng, err_rng, neighbours)
        for c in rf.columns:
            vac[c] = vac[c].astype(object)
            vac.loc[idx, c] = rf[c].to_numpy(dtype=object)
            vac[c] = vac[c].astype("str")
        del per, rf
    # a few second typings carry the previous day's date (typed from memory / the wrong list)
    day = evx["day"].to_numpy()
    shift = np.where(rows["retyped"].to_numpy() & (rng.random(len(rows)) < params.dup_dose_date_shift)
                     & (day > CAMPAIGN_START_DAY), -1, 0)
    vac["vaccination_date"] = (day + shift).astype("datetime64[D]").astype(str)
    vac["dose_number"] = evx["dose_number"].to_numpy()
    vac["vaccine"] = evx["vaccine"].to_numpy()
    vac["site_id"] = evx["site_id"].to_numpy()
    vac["entered_date"] = entered
    truth_rec = pd.DataFrame({
        "record_id": rows["record_id"].to_numpy(), "event_id": rows["event_id"].to_numpy(),
        "person_key": rows["person_key"].to_numpy(), "subject_id": rows["subject_id"].to_numpy(),
        "retyped": rows["retyped"].to_numpy(), "new_profile": rows["new_profile"].to_numpy(),
        "entered_ts": rows["ts"].to_numpy(), "date_shift": shift, "fields_retyped": refield,
    })
    return vac, truth_rec, flags
