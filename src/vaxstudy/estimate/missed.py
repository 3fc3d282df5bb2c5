"""Residents the linkage may have missed: how far above its point recorded coverage can be.

Recorded coverage counts the residents whose rows are linked to them. A resident whose
rows were all left unlinked (misspelt name, year-only birth date, no usable ID, or no
blocking rule that reached the pair) is counted as someone outside the register. The
link redraw (:mod:`vaxstudy.estimate.intervals`) gives each unlinked row back with the
model's ``in_register_probability``; on synthetic provinces those probabilities are far
too low for the rows that matter (their best candidate is not the true person, or they
have none): the truth lay above the estimate by ~18 residents where the redraw added 2.

Without a clerical review the data cannot tell such a resident from a local person who
is not in the register: both are an unlinked row with a local address. So the number of
missed residents is *not identified* between what the model gives and all of them, and
the upper end of recorded coverage is raised to that bound: for each group G (district,
sex, age group, province), every distinct unlinked person (``person_key``: the linkage's
own grouping of unlinked rows) whose typed address is in the province (or empty) and who
could be an adult of G by the typed district, sex and birth date (an empty sex or birth
date, or a year-only birth date straddling two age groups, could be either; an empty or
unknown district is taken as the district of the site where the dose was given, most
people being vaccinated near home), or whose best register candidate is an adult resident
of G (a mistyped birth year or district moves a missed resident out of the group the typed
fields say), counts as one more covered resident of G. The point estimate does not move (the model's expectation); the
corrected coverage's upper end is raised by the same count (the missed residents were
also counted as "not a resident" in the mix of the doses never entered). For the same
reason the *lower* end of the unlinked-record rate comes down by the rows in scope that
could be such residents' (:func:`rows_by_site`): at scale 1.0 the rate's interval is narrow
and its truth lay below it.

Where typed addresses are wrong (a resident typing another province) the bound can miss;
where many local people are missing from the register (or people registered elsewhere type
the address where they live here) it is wide, as it must be: only a review can narrow it.
A scored clerical review of this export does (:func:`review_cap`): its estimate of the unlinked
rows whose person is in the register has an upper 95% end, and no group can have more missed
residents than that many rows, so every group's count is capped there.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from vaxstudy.scope import AGE_GROUPS, province_district_codes

DESCRIPTION = (
    "the upper end of recorded (and corrected) coverage adds every distinct unlinked person with a local or "
    "empty typed address who could be an adult of the group by typed district, sex and birth date, or whose "
    "best register candidate is an adult resident of the group (a mistyped field moves a missed resident): without a "
    "review the data cannot tell a resident the linkage missed from a local person not in the register"
)


def review_cap(summary: dict | None) -> float | None:
    """The most residents the linkage can have missed by a scored review (``review_summary.json``
    of this run and export): the upper end of ``missed_links_est_ci``, unlinked rows whose person
    is in the register (a person has at least one row); None without a review that measured it."""
    ci = (summary or {}).get("missed_links_est_ci")
    if not (summary or {}).get("n_reviewed") or not ci or ci[1] is None:
        return None
    return float(ci[1])


def capped(counts, cap: float | None):
    """``counts`` (an array, or a dict of arrays) no higher than ``cap`` (no cap: unchanged)."""
    if cap is None:
        return counts
    if isinstance(counts, dict):
        return {k: np.minimum(v, cap) for k, v in counts.items()}
    return np.minimum(counts, cap)


TYPED_COLUMNS = ("record_id", "province_code", "district_code", "sex", "dob", "birth_year", "dob_precision")
TYPED_SQL = """
    SELECT CAST(s.record_id AS VARCHAR) record_id, CAST(s.province_code AS VARCHAR) province_code,
           CAST(s.district_code AS VARCHAR) district_code, CAST(s.sex AS VARCHAR) sex,
           CAST(s.dob AS DATE) dob, CAST(s.birth_year AS INTEGER) birth_year,
           CAST(s.dob_precision AS VARCHAR) dob_precision
    FROM vaccinations_std s WHERE CAST(s.record_id AS VARCHAR) IN (SELECT record_id FROM _unlinked)
    """


def typed_fields(rows: pd.DataFrame, fetch) -> pd.DataFrame:
    """Typed (standardised) province, district, sex and birth date of the unlinked rows of
    ``rows``, indexed like them; ``fetch(sql, frames)`` runs :data:`TYPED_SQL` on the project's
    engine (the frame ``_unlinked`` holds their record_id)."""
    unl = rows.loc[rows["person_id"].isna(), ["record_id"]]
    cols = list(TYPED_COLUMNS[1:])
    if unl.empty:
        return pd.DataFrame(columns=cols, index=unl.index)
    t = fetch(TYPED_SQL, {"_unlinked": unl.reset_index(drop=True)})
    t = t.drop_duplicates("record_id").set_index("record_id")
    return t.reindex(unl["record_id"].to_numpy())[cols].set_index(unl.index)


def _age_range(typed: pd.DataFrame, at: date) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest age in completed years at ``at`` the typed birth date allows (NaN where
    unknown): a full date gives one age, a year alone two."""
    dob = pd.to_datetime(typed["dob"], errors="coerce")
    full = dob.notna().to_numpy().copy()
    if "dob_precision" in typed:
        full &= typed["dob_precision"].fillna("").astype(str).str.lower().isin(("", "day", "full")).to_numpy()
    before = ((dob.dt.month > at.month) | ((dob.dt.month == at.month) & (dob.dt.day > at.day))).to_numpy()
    age_full = at.year - dob.dt.year.to_numpy(dtype=float) - before
    by = pd.to_numeric(typed["birth_year"], errors="coerce").to_numpy(dtype=float)
    by = np.where(np.isnan(by), dob.dt.year.to_numpy(dtype=float), by)
    hi = np.where(full, age_full, at.year - by)
    lo = np.where(full, age_full, at.year - by - 1)
    return lo, hi


def _group_of_age(age: np.ndarray) -> np.ndarray:
    from vaxstudy.scope import age_group

    return age_group(np.nan_to_num(age, nan=-1).astype(np.int64))


def possible_groups(inp, typed: pd.DataFrame | None) -> dict[str, tuple[list[str], np.ndarray]] | None:
    """{family: (groups, (n_unlinked, G) bool)}: could the unlinked row be a resident adult of
    group G (families: province, district, sex, age_group)? None without typed fields."""
    if typed is None:
        return None
    prov = typed["province_code"].fillna("").astype(str).str.zfill(2).to_numpy()
    local = (prov == inp.province) | (typed["province_code"].isna().to_numpy())
    lo, hi = _age_range(typed, inp.period_end)
    age_known = ~np.isnan(hi)
    adult = ~age_known | (hi >= 18)
    ok = local & adult
    dists = sorted(set(inp.cells["district_code"]) - {"other"})
    known_d = set(province_district_codes(inp.province)) | set(dists)
    td = typed["district_code"].fillna("").astype(str).to_numpy()
    # no usable typed district: the district of the site where the dose was given (most people
    # are vaccinated near home), else any of the province's
    site_d = inp.sites["district_code"].to_numpy()[inp.rows.loc[typed.index, "site"].to_numpy()]
    td = np.where(np.isin(td, list(known_d)), td, site_d)
    d_unknown = ~np.isin(td, list(known_d))
    D = np.stack([ok & ((td == d) | d_unknown) for d in dists], axis=1) if dists else np.zeros((len(td), 0), bool)
    sx = typed["sex"].fillna("").astype(str).to_numpy()
    Sx = np.stack([ok & ((sx == s) | ~np.isin(sx, ("M", "F"))) for s in ("M", "F")], axis=1)
    g_lo, g_hi = _group_of_age(lo), _group_of_age(hi)
    A = np.stack([ok & (~age_known | (g_lo == j) | (g_hi == j)) for j in range(len(AGE_GROUPS))], axis=1)
    # a mistyped field can put a missed resident in another group (a birth year 1959 for 1949
    # moved a 65+ resident to 50-64 at scale 1.0): a locally addressed row could also be of
    # the group of its best register candidate, when that candidate is an adult resident
    cand = _candidate_fields(inp, typed.index)
    if cand is not None:
        has = local & cand["district_code"].notna().to_numpy()
        cd, cs, ca = (cand[c].astype(object).to_numpy() for c in ("district_code", "sex", "age_group"))
        ok = ok | has
        D = D | np.stack([has & (cd == d) for d in dists], axis=1) if dists else D
        Sx = Sx | np.stack([has & (cs == s) for s in ("M", "F")], axis=1)
        A = A | np.stack([has & (ca == g) for g in AGE_GROUPS], axis=1)
    return {"province": ([inp.province], ok[:, None]), "district": (dists, D), "sex": (["M", "F"], Sx),
            "age_group": (list(AGE_GROUPS), A)}


def _candidate_fields(inp, index: pd.Index) -> pd.DataFrame | None:
    """District, sex and age group of each unlinked row's best register candidate where that
    candidate is an adult resident of the province (NaN elsewhere); None without candidates."""
    if "cand_person_id" not in inp.rows:
        return None
    cand = inp.rows.loc[index, "cand_person_id"].to_numpy()
    codes = inp.pop["person_id"].to_numpy()
    cols = ["district_code", "sex", "age_group"]
    if not np.array_equal(codes, np.arange(len(codes))):  # not coded as load_inputs codes: look up
        pop = inp.pop.drop_duplicates("person_id").set_index("person_id")[cols]
        return pop.reindex(cand)
    # the residents' codes are 0..n-1 in their order (data.cells_of): read by position
    p = np.nan_to_num(np.asarray(cand, dtype=float), nan=-1.0).astype(np.int64)
    p[(p < 0) | (p >= len(codes))] = -1
    out = inp.pop[cols].take(np.maximum(p, 0)).set_axis(pd.Index(cand))
    return out.where(np.broadcast_to((p >= 0)[:, None], out.shape))


def missed_counts(inp, typed: pd.DataFrame | None, groups: dict[str, list[str]], pg=None) -> dict[str, np.ndarray]:
    """{family: (2, G)}: for dose >= 1 and >= 2, the distinct unlinked persons who could be a
    covered resident of each group (:func:`possible_groups`, or ``pg`` when the caller has it),
    in the order of ``groups`` (the coverage families' groups). Zeros where the typed fields
    are not known."""
    out = {fam: np.zeros((2, len(g))) for fam, g in groups.items()}
    pg = possible_groups(inp, typed) if pg is None else pg
    if pg is None or typed is None or not len(typed):
        return out
    rows = inp.rows.loc[typed.index]
    key, dose = rows["person_key"].to_numpy(), rows["dose"].to_numpy()
    for fam, names in groups.items():
        have, P = pg[fam]
        col = {g: j for j, g in enumerate(have)}
        for i, k in enumerate((1, 2)):
            for jg, g in enumerate(names):
                j = col.get(g)
                if j is None:
                    continue
                sel = P[:, j] & (dose >= k)
                out[fam][i, jg] = float(len(np.unique(key[sel])))
    return out


def rows_by_site(inp, typed: pd.DataFrame | None, pg=None) -> np.ndarray:
    """(S,) unlinked rows in scope per site that could be a resident's (a local or empty typed
    address, possibly an adult): how far the unlinked-record count may be too high. ``pg``:
    :func:`possible_groups`, when the caller has it."""
    S = len(inp.sites)
    pg = possible_groups(inp, typed) if pg is None else pg
    if pg is None or typed is None or not len(typed):
        return np.zeros(S)
    rows = inp.rows.loc[typed.index]
    sel = pg["province"][1][:, 0] & rows["in_scope"].to_numpy(dtype=bool)
    return np.bincount(rows["site"].to_numpy()[sel], minlength=S).astype(float)
