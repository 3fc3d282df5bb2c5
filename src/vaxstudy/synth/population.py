"""The population register: people, households, names, CCCD numbers, phones.

Vectorised with numpy; one ``numpy.random.Generator`` per call, so the same
seed gives the same people.

* Size: ``scale`` × the province's 2021 population (rough GSO figures below;
  Nghệ An 3.42 million), at least 200 people.
* Age and sex: Vietnam 2021 five-year pyramid (UN WPP 2022, millions).
* Households: married men and women (by age) are paired by age rank into
  couples, each a household; children and unmarried young adults join a
  household whose head is 22–36 years older; half of the unpaired elderly join
  a household whose head is 22–35 years younger; other adults live alone.
  Children and joining men take the household's (father's) surname, wives and
  joining women keep their own. Twins (~0.6% of children get a twin) share
  household, surname, date of birth and (same-sex twins, 70%) middle name: hard negatives.
* CCCD: '0' + 2-digit province of birth registration (the home province for
  92%), sex/century digit (0/1 male/female born 1900s, 2/3 born 2000s), the
  two last digits of the birth year, 6 random digits; unique. People born
  before 2006 also have an old 9-digit CMND (used as entry noise).
* Phones: own mobile phone for 93% of 18–59, 75% of 60–69, 45% of 70+, 50% of
  15–17; the register holds it for 80% of owners, and for 30% of those without
  one it holds the household head's number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy import geo
from vaxstudy.synth import names as nm

REF_DATE = np.datetime64("2021-07-01")

# 2021 population by province, thousands (rounded GSO estimates).
PROVINCE_POP_K = {
    "01": 8330, "02": 880, "04": 540, "06": 320, "08": 800, "10": 750, "11": 620, "12": 470,
    "14": 1290, "15": 840, "17": 870, "19": 1310, "20": 800, "22": 1350, "24": 1870, "25": 1490,
    "26": 1180, "27": 1420, "30": 1920, "31": 2070, "33": 1270, "34": 1870, "35": 870, "36": 1780,
    "37": 1000, "38": 3670, "40": 3420, "42": 1300, "44": 910, "45": 640, "46": 1140, "48": 1200,
    "49": 1500, "51": 1240, "52": 1490, "54": 880, "56": 1240, "58": 600, "60": 1240, "62": 570,
    "64": 1570, "66": 1900, "67": 670, "68": 1320, "70": 1020, "72": 1180, "74": 2680, "75": 3170,
    "77": 1180, "79": 9170, "80": 1710, "82": 1780, "83": 1300, "84": 1010, "86": 1030, "87": 1600,
    "89": 1910, "91": 1730, "92": 1250, "93": 730, "94": 1200, "95": 920, "96": 1200,
}
DEFAULT_POP_K = 1000

# Vietnam 2021, five-year groups 0-4 .. 95-99, millions.
PYRAMID_M = [3.9, 4.1, 3.7, 3.3, 3.4, 3.9, 4.1, 3.9, 3.6, 3.2, 2.9, 2.6, 2.1, 1.6, 0.9, 0.6, 0.4, 0.2, 0.07, 0.02]
PYRAMID_F = [3.6, 3.7, 3.4, 3.1, 3.2, 3.7, 3.9, 3.8, 3.5, 3.2, 3.0, 2.8, 2.4, 1.9, 1.2, 0.8, 0.6, 0.4, 0.15, 0.05]

PHONE_PREFIXES = [
    "032", "033", "034", "035", "036", "037", "038", "039", "056", "058", "070", "076", "077",
    "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093",
    "094", "096", "097", "098", "099",
]
CMND_PREFIX = {"40": "18", "38": "17", "42": "18", "01": "01", "79": "02"}


def province_population(province: str) -> int:
    return PROVINCE_POP_K.get(str(province).zfill(2), DEFAULT_POP_K) * 1000


def sample_age_sex(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ages (completed years at 2021-07-01) and sexes ('M'/'F') from the 2021 pyramid."""
    w = np.array(PYRAMID_M + PYRAMID_F)
    g = rng.choice(len(w), size=n, p=w / w.sum())
    sex = np.where(g < len(PYRAMID_M), "M", "F")
    age = (g % len(PYRAMID_M)) * 5 + rng.integers(0, 5, size=n)
    return age.astype(np.int64), sex


def dob_from_age(age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    days = np.floor(age * 365.25).astype(np.int64) + rng.integers(0, 365, size=len(age))
    return REF_DATE - days.astype("timedelta64[D]")


def sample_names(sex: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Middle name(s) and given name by sex (Văn/Thị less common for the young)."""
    n = len(sex)
    middle = np.empty(n, dtype=object)
    given = np.empty(n, dtype=object)
    for s, mid_tab, giv in (("M", nm.MALE_MIDDLE, nm.MALE_GIVEN), ("F", nm.FEMALE_MIDDLE, nm.FEMALE_GIVEN)):
        idx = np.flatnonzero(sex == s)
        mids = np.array(list(mid_tab), dtype=object)
        w_old = np.array(list(mid_tab.values()), dtype=float)
        w_young = w_old * np.where(np.isin(mids, list(nm.TRADITIONAL_MIDDLE)), 0.35, 1.0)
        young = age[idx] < 25
        m = np.empty(len(idx), dtype=object)
        for mask, w in ((young, w_young), (~young, w_old)):
            m[mask] = mids[rng.choice(len(mids), size=int(mask.sum()), p=w / w.sum())]
        # a second middle name for some (Nguyễn Thị Thu Hà); none for a few
        extra = rng.random(len(idx)) < 0.04
        other = mids[rng.choice(len(mids) - 1, size=int(extra.sum())) + 1]
        m[extra] = m[extra] + " " + other
        none = rng.random(len(idx)) < 0.02
        m[none] = ""
        middle[idx] = m
        gv = np.array(giv, dtype=object)
        given[idx] = gv[rng.choice(len(gv), size=len(idx), p=nm.zipf_weights(len(gv)))]
    return middle, given


def sample_surnames(n: int, rng: np.random.Generator) -> np.ndarray:
    sn, p = nm.surname_table()
    return np.array(sn, dtype=object)[rng.choice(len(sn), size=n, p=p)]


def full_names(surname, middle, given) -> pd.Series:
    """'surname middle given' as an Arrow-backed string Series (no per-row Python objects)."""
    s = pd.Series(surname, dtype="str") + " " + pd.Series(middle, dtype="str") + " " + pd.Series(given, dtype="str")
    return s.str.replace("  ", " ", regex=False)


def make_cccd(birth_prov: np.ndarray, sex: np.ndarray, dob: np.ndarray, rng: np.random.Generator,
              taken: np.ndarray | None = None) -> np.ndarray:
    """Unique 12-digit CCCD strings (int64 internally), avoiding ``taken``."""
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    cent = np.where(year >= 2000, 2, 0) + np.where(sex == "F", 1, 0)
    base = birth_prov.astype(np.int64) * 10**9 + cent * 10**8 + (year % 100) * 10**6
    ids = base + rng.integers(0, 10**6, size=len(base))
    taken_set = np.unique(taken) if taken is not None and len(taken) else np.array([], dtype=np.int64)
    while True:
        dup = pd.Series(ids).duplicated(keep="first").to_numpy() | np.isin(ids, taken_set)
        if not dup.any():
            break
        ids[dup] = base[dup] + rng.integers(0, 10**6, size=int(dup.sum()))
    return ids


def digits(values: np.ndarray, width: int) -> pd.Series:
    """Zero-padded decimal strings of non-negative integers, as an Arrow-backed string Series."""
    return pd.Series(np.char.zfill(np.asarray(values, dtype=np.int64).astype(f"U{width}"), width), dtype="str")


def cccd_str(ids: np.ndarray) -> pd.Series:
    return digits(ids, 12)


def make_phones(n: int, rng: np.random.Generator) -> pd.Series:
    """Unique 10-digit mobile numbers (prefix 03x/05x/07x/08x/09x + 7 digits)."""
    pre = np.array([int(p) for p in PHONE_PREFIXES], dtype=np.int64)
    num = pre[rng.integers(0, len(pre), size=n)] * 10**7 + rng.integers(0, 10**7, size=n)
    while True:  # redraw the (rare) collisions
        dup = pd.Series(num).duplicated(keep="first").to_numpy()
        if not dup.any():
            break
        k = int(dup.sum())
        num[dup] = pre[rng.integers(0, len(pre), size=k)] * 10**7 + rng.integers(0, 10**7, size=k)
    return digits(num, 10)


def phone_ownership(age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = np.select([age < 15, age < 18, age < 60, age < 70], [0.0, 0.5, 0.93, 0.75], 0.45)
    return rng.random(len(age)) < p


def make_cmnd(province: str, n: int, rng: np.random.Generator) -> pd.Series:
    pre = CMND_PREFIX.get(province, f"{(int(province) * 7) % 38 + 1:02d}")
    return pre + digits(rng.integers(0, 10**7, size=n), 7)


def _attach(target_age: np.ndarray, head_age_sorted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index (into the sorted heads) of a random head of the target age (nearest age if none)."""
    lo = np.searchsorted(head_age_sorted, target_age, side="left")
    hi = np.searchsorted(head_age_sorted, target_age, side="right")
    empty = hi <= lo
    lo = np.where(empty, np.clip(lo - 1, 0, len(head_age_sorted) - 1), lo)
    hi = np.where(empty, lo + 1, hi)
    return lo + np.floor(rng.random(len(lo)) * (hi - lo)).astype(np.int64)


def make_population(province: str, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """Residents of ``province`` (internal columns; see ``generate`` for the register file)."""
    province = str(province).zfill(2)
    communes = geo.province_communes(province)
    if communes.empty:
        raise ValueError(f"no communes for province {province!r}")
    n = max(200, int(round(province_population(province) * scale)))
    age, sex = sample_age_sex(n, rng)

    # --- households ---------------------------------------------------------
    hh = np.full(n, -1, dtype=np.int64)
    role = np.zeros(n, dtype=np.int8)  # 0 head, 1 spouse, 2 child/young adult, 3 elder joiner, 4 single
    married_p = np.select([age < 20, age < 22, age < 30, age < 70], [0.0, 0.25, 0.7, 0.9], 0.75)
    married = rng.random(n) < married_p
    men = np.flatnonzero(married & (sex == "M") & (age >= 20))
    women = np.flatnonzero(married & (sex == "F") & (age >= 18))
    men = men[np.argsort(age[men] + rng.random(len(men)) * 6, kind="stable")]
    women = women[np.argsort(age[women] + rng.random(len(women)) * 6, kind="stable")]
    k = min(len(men), len(women))
    # pair by age rank (the youngest of each), the rest stay unpaired
    men_p, women_p = men[:k], women[:k]
    hh[men_p] = np.arange(k)
    hh[women_p] = np.arange(k)
    role[women_p] = 1
    n_hh = k
    young = np.flatnonzero((hh < 0) & (age < 30))
    old = np.flatnonzero((hh < 0) & (age >= 65))
    old_join = old[rng.random(len(old)) < 0.5]
    singles = np.setdiff1d(np.flatnonzero(hh < 0), np.concatenate([young, old_join]))
    hh[singles] = n_hh + np.arange(len(singles))
    role[singles] = 4
    n_hh += len(singles)
    head_idx = np.flatnonzero((role == 0) & (hh >= 0) | (role == 4))
    head_idx = head_idx[(age[head_idx] >= 20)]
    order = np.argsort(age[head_idx], kind="stable")
    heads_sorted = head_idx[order]
    head_age_sorted = age[heads_sorted]
    if len(young):
        t = age[young] + rng.integers(22, 37, size=len(young))
        hh[young] = hh[heads_sorted[_attach(t, head_age_sorted, rng)]]
        role[young] = 2
    if len(old_join):
        t = age[old_join] - rng.integers(22, 36, size=len(old_join))
        hh[old_join] = hh[heads_sorted[_attach(t, head_age_sorted, rng)]]
        role[old_join] = 3
    # persons still without household (no heads at all at tiny scale)
    rest = np.flatnonzero(hh < 0)
    hh[rest] = n_hh + np.arange(len(rest))
    role[rest] = 4
    n_hh += len(rest)

    # --- twins: a copy of ~0.6% of the children, new sex and given name --------
    kids = np.flatnonzero(role == 2)
    twin_src = kids[rng.random(len(kids)) < 0.006]
    age = np.concatenate([age, age[twin_src]])
    sex = np.concatenate([sex, np.where(rng.random(len(twin_src)) < 0.5, "M", "F")])
    hh = np.concatenate([hh, hh[twin_src]])
    role = np.concatenate([role, role[twin_src]])
    twin_of = np.concatenate([np.full(n, -1), twin_src])
    n = len(age)

    dob = dob_from_age(age, rng)
    dob[n - len(twin_src):] = dob[twin_src]

    # --- geography: one commune per household ---------------------------------
    urban = communes["commune_type"].isin(["phuong", "thi-tran"]).to_numpy()
    cw = rng.lognormal(0.0, 0.5, size=len(communes)) * np.where(urban, 1.6, 1.0)
    hh_commune = rng.choice(len(communes), size=n_hh, p=cw / cw.sum())
    ci = hh_commune[hh]

    # --- names --------------------------------------------------------------------
    hh_surname = sample_surnames(n_hh, rng)
    own_surname = sample_surnames(n, rng)
    keeps_own = (role == 1) | ((role == 3) & (sex == "F"))
    surname = np.where(keeps_own, own_surname, hh_surname[hh])
    middle, given = sample_names(sex, age, rng)
    tw = np.arange(n - len(twin_src), n)
    same_mid = (sex[tw] == sex[twin_src]) & (rng.random(len(tw)) < 0.7)
    middle[tw[same_mid]] = middle[twin_src[same_mid]]
    full = full_names(surname, middle, given)

    # --- IDs and phones -------------------------------------------------------------
    other_provs = [p for p in PROVINCE_POP_K if p != province]
    birth_prov = np.where(rng.random(n) < 0.92, int(province),
                          np.array(other_provs, dtype=np.int64)[rng.integers(0, len(other_provs), size=n)])
    cccd = make_cccd(birth_prov, sex, dob, rng)
    born_year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    cmnd = make_cmnd(province, n, rng).where(born_year < 2006, "")
    has_phone = phone_ownership(age, rng)
    own_phone = make_phones(n, rng).where(has_phone, "")
    # household contact phone: the first phone owner of the household (head first)
    ord_ = np.lexsort((np.arange(n), role, ~has_phone, hh))
    first_pos = pd.Series(ord_).groupby(hh[ord_]).first()
    hh_first = first_pos.reindex(np.arange(n_hh)).to_numpy()
    contact = own_phone.take(hh_first[hh]).reset_index(drop=True)
    u = rng.random(n)
    reg_phone = own_phone.where(has_phone & (u < 0.8), contact.where(~has_phone & (u < 0.3), ""))

    return pd.DataFrame({
        "cccd": cccd,
        "person_id": cccd_str(cccd),
        "cmnd": cmnd,
        "full_name": full,
        "sex": sex, "dob": dob, "age_ref": age,
        "province_code": province,
        "district_code": communes["district_code"].to_numpy()[ci],
        "commune_code": communes["commune_code"].to_numpy()[ci],
        "household": hh, "role": role, "twin_of": twin_of,
        "own_phone": own_phone, "contact_phone": contact, "register_phone": reg_phone,
        "in_register": True,
    })


def make_outsiders(n: int, province: str, rng: np.random.Generator, taken_cccd: np.ndarray) -> pd.DataFrame:
    """People vaccinated in the province who live (and are registered) elsewhere: workers, students."""
    province = str(province).zfill(2)
    age = rng.integers(18, 66, size=n)
    sex = np.where(rng.random(n) < 0.55, "M", "F")
    dob = dob_from_age(age, rng)
    allc = geo.communes()
    allc = allc[allc["province_code"] != province].reset_index(drop=True)
    ci = rng.integers(0, len(allc), size=n) if n else np.array([], dtype=np.int64)
    home = allc["province_code"].to_numpy()[ci]
    surname = sample_surnames(n, rng)
    middle, given = sample_names(sex, age, rng)
    cccd = make_cccd(home.astype(np.int64), sex, dob, rng, taken=taken_cccd)
    born_year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    own = make_phones(n, rng).where(rng.random(n) < 0.95, "")
    return pd.DataFrame({
        "cccd": cccd, "person_id": cccd_str(cccd),
        "cmnd": make_cmnd(province, n, rng).where(born_year < 2006, ""),
        "full_name": full_names(surname, middle, given),
        "sex": sex, "dob": dob, "age_ref": age,
        "province_code": home,
        "district_code": allc["district_code"].to_numpy()[ci],
        "commune_code": allc["commune_code"].to_numpy()[ci],
        "household": -1, "role": 4, "twin_of": -1,
        "own_phone": own, "contact_phone": own, "register_phone": "",
        "in_register": False,
    })
