"""The widened error catalogue: kinds of typing error beyond the field noise of entry.py.

Each kind is a rate in :class:`vaxstudy.synth.params.SynthParams` (``NEW_ERROR_KINDS``),
drawn per profile from a random stream of its own (``err_rng``), so a province made with
every rate at 0 is byte-identical to one made before the catalogue existed. The kinds are
applied to the *true* values before the formatting noise of entry.py (diacritics, NFD,
ISO dates, +84 phones...), as a clerk would make them: the wrong value is then typed with
the usual noise. ``flags`` record which kind touched which profile (truth_profiles.parquet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy.synth.params import SynthParams

_MIDDLE_BY_SEX = {"M": "Văn", "F": "Thị"}


def household_others(persons: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each person, the ID and own phone of a random *other* member of the household
    ('' where the household has one member). The ID is the member's CMND where they have
    one, else their CCCD."""
    n = len(persons)
    hh = persons["household"].to_numpy()
    order = np.lexsort((np.arange(n), hh))
    hs = hh[order]
    start = np.r_[0, np.flatnonzero(hs[1:] != hs[:-1]) + 1]
    size = np.diff(np.r_[start, n])
    grp = np.repeat(np.arange(len(start)), size)
    pos = np.arange(n) - start[grp]
    k = size[grp]
    shift = 1 + np.floor(rng.random(n) * np.maximum(k - 1, 1)).astype(np.int64)
    other_sorted = start[grp] + (pos + shift) % k
    other = np.empty(n, dtype=np.int64)
    other[order] = order[other_sorted]
    alone = np.empty(n, dtype=bool)
    alone[order] = (k < 2) | (hs < 0)
    cmnd = persons["cmnd"].to_numpy(dtype=object)
    cccd = persons["person_id"].to_numpy(dtype=object)
    ids = np.where(cmnd[other] != "", cmnd[other], cccd[other]).astype(object)
    phones = persons["own_phone"].to_numpy(dtype=object)[other]
    ids[alone] = ""
    phones = np.where(alone, "", phones).astype(object)
    return ids, phones


def commune_neighbours(district_communes: dict) -> dict[str, tuple[str, str, str, str]]:
    """commune -> (previous commune, its district, next commune, its district) in the
    province's GSO code order (wrapping at the ends)."""
    dist_of = {c: d for d, cs in district_communes.items() for c in cs}
    codes = sorted(dist_of)
    out = {}
    for i, c in enumerate(codes):
        a, b = codes[i - 1], codes[(i + 1) % len(codes)]
        out[c] = (a, dist_of[a], b, dist_of[b])
    return out


def _permute(s: str, rng: np.random.Generator) -> str:
    parts = s.split()
    if len(parts) < 3:
        return s
    n = len(parts)
    banned = {tuple(range(n)), (n - 1, *range(n - 1))}  # identity, name_swap's rotation
    for _ in range(20):
        perm = tuple(int(i) for i in rng.permutation(n))
        if perm not in banned:
            return " ".join(parts[i] for i in perm)
    return s


def _drop_middle(s: str) -> str:
    parts = s.split()
    return s if len(parts) < 3 else f"{parts[0]} {parts[-1]}"


def _add_middle(s: str, sex: str) -> str:
    parts = s.split()
    extra = _MIDDLE_BY_SEX.get(sex, "Văn")
    if len(parts) < 2:
        return s
    if len(parts) >= 3 and parts[1] == extra:
        extra = "Ngọc"
    return " ".join([parts[0], extra, *parts[1:]])


def name_errors(true: np.ndarray, sex: np.ndarray, p: SynthParams, rng: np.random.Generator):
    """Name parts permuted, middle name dropped or added (exclusive, one draw)."""
    n = len(true)
    u = rng.random(n)
    c1, c2 = p.name_permute, p.name_permute + p.name_middle_drop
    c3 = c2 + p.name_middle_add
    flags = {"name_permute": u < c1, "name_middle_drop": (u >= c1) & (u < c2),
             "name_middle_add": (u >= c2) & (u < c3)}
    out = true.copy()
    sub = np.random.default_rng(rng.integers(2**63))
    for i in np.flatnonzero(flags["name_permute"]):
        out[i] = _permute(out[i], sub)
    for i in np.flatnonzero(flags["name_middle_drop"]):
        out[i] = _drop_middle(out[i])
    for i in np.flatnonzero(flags["name_middle_add"]):
        out[i] = _add_middle(out[i], sex[i])
    for k in flags:  # a name the kind could not change (two words) is not flagged
        flags[k] = flags[k] & (out != true)
    return out, flags


def dob_errors(dob: np.ndarray, p: SynthParams, rng: np.random.Generator):
    """Year ±1 or ±10 with day and month right, the lunar birthday, the 01/01 placeholder
    (exclusive, one draw). Returns datetime64[D] dates and the flags."""
    n = len(dob)
    u = rng.random(n)
    cuts = np.cumsum([p.dob_year_off1, p.dob_year_off10, p.dob_lunar, p.dob_placeholder])
    kinds = ("dob_year_off1", "dob_year_off10", "dob_lunar", "dob_placeholder")
    lo = np.r_[0.0, cuts[:-1]]
    flags = {k: (u >= a) & (u < b) for k, a, b in zip(kinds, lo, cuts)}
    di = pd.DatetimeIndex(dob)
    y, m, d = di.year.to_numpy().copy(), di.month.to_numpy().copy(), di.day.to_numpy().copy()
    sign = np.where(rng.random(n) < 0.5, -1, 1)
    y1 = np.where(flags["dob_year_off1"], y + sign, y)
    ten = np.where(y + 10 * sign > 2021, -10, 10 * sign)
    y1 = np.where(flags["dob_year_off10"], y + ten, y1)
    d = np.where((y1 != y) & (m == 2) & (d == 29), 28, d)
    m = np.where(flags["dob_placeholder"], 1, m)
    d = np.where(flags["dob_placeholder"], 1, d)
    out = pd.to_datetime(pd.DataFrame({"year": y1, "month": m, "day": d})).to_numpy().astype("datetime64[D]")
    lunar_shift = rng.integers(20, 51, size=n).astype("timedelta64[D]")
    out = np.where(flags["dob_lunar"], out - lunar_shift, out)
    flags["dob_placeholder"] &= ~((di.month.to_numpy() == 1) & (di.day.to_numpy() == 1))
    return out, flags


def _change_digit(s: str, i: int, rng: np.random.Generator) -> str:
    return s[:i] + str((int(s[i]) + int(rng.integers(1, 10))) % 10) + s[i + 1:]


def id_errors(typed: np.ndarray, cccd: np.ndarray, other_id: np.ndarray, p: SynthParams,
              rng: np.random.Generator):
    """On profiles typed with their own CCCD: one digit changed anywhere, the sex/century
    digit flipped, or another household member's ID (exclusive, one draw)."""
    n = len(typed)
    u = rng.random(n)
    own = (typed == cccd) & (cccd != "")
    c1, c2 = p.id_digit, p.id_digit + p.id_sex_digit
    c3 = c2 + p.id_household
    flags = {"id_digit": own & (u < c1), "id_sex_digit": own & (u >= c1) & (u < c2),
             "id_household": own & (u >= c2) & (u < c3) & (other_id != "")}
    out = typed.copy()
    sub = np.random.default_rng(rng.integers(2**63))
    for i in np.flatnonzero(flags["id_digit"]):
        out[i] = _change_digit(out[i], int(sub.integers(0, len(out[i]))), sub)
    flip = {"0": "1", "1": "0", "2": "3", "3": "2"}
    for i in np.flatnonzero(flags["id_sex_digit"]):
        s = out[i]
        out[i] = s[:3] + flip.get(s[3], s[3]) + s[4:] if s[3] in flip else _change_digit(s, 3, sub)
    out[flags["id_household"]] = other_id[flags["id_household"]]
    return out, flags


def phone_errors(base: np.ndarray, other_phone: np.ndarray, p: SynthParams, rng: np.random.Generator):
    """Another household member's own phone instead of the person's number."""
    f = (rng.random(len(base)) < p.phone_household) & (other_phone != "") & (other_phone != base)
    return np.where(f, other_phone, base).astype(object), {"phone_household": f}


def sex_errors(sex_typed: np.ndarray, p: SynthParams, rng: np.random.Generator):
    f = (rng.random(len(sex_typed)) < p.sex_wrong) & (sex_typed != "")
    flipped = np.where(sex_typed == "Nam", "Nữ", "Nam")
    return np.where(f, flipped, sex_typed).astype(object), {"sex_wrong": f}


def commune_errors(dist: np.ndarray, com: np.ndarray, true_com: np.ndarray, neighbours: dict,
                   p: SynthParams, rng: np.random.Generator):
    """On profiles typed with their true commune: the commune next in code order, with its
    district."""
    n = len(com)
    f = (rng.random(n) < p.commune_neighbour) & (com == true_com) & (com != "")
    up = rng.random(n) < 0.5
    dist, com = dist.copy(), com.copy()
    for i in np.flatnonzero(f):
        nb = neighbours.get(com[i])
        if nb is None:
            f[i] = False
            continue
        com[i], dist[i] = (nb[2], nb[3]) if up[i] else (nb[0], nb[1])
    return dist, com, {"commune_neighbour": f}
