"""Record and tally rates of CONTRACT section 3, as site-level aggregates.

Every record rate is a ratio of two sums over sites, so the same site vectors
give the point estimate (all sites once) and every bootstrap replicate (sites
drawn with replacement, see :mod:`vaxstudy.estimate.intervals`):

=========================  ==================================  =================
rate                        numerator (per site)                denominator
=========================  ==================================  =================
duplicate_subject_rate      subjects that are not their         subjects (at the
                            person's first profile              site of their
                                                                first row)
duplicate_dose_rate         rows flagged ``is_duplicate_dose``  rows
unlinked_record_rate        rows without a register person      rows
missing_entry_rate          1 - (rows - duplicate rows) / tally
missing_entry_rate_naive    1 - rows / tally (duplicates left in: they hide missing doses)
=========================  ==================================  =================

The missing-entry rates leave out the site-days whose tally holds a quarantined row
(``tally_ok`` False): their rows (``rec_x``, ``dup_x``) leave the numerator as their
tallies leave the denominator.

A subject (software profile) is given the person of most of its rows (ties:
the person of its first row). ``n_subjects - distinct persons among them``
equals the number of subjects that are not the first profile (by entry order)
of their person, which is what the numerator counts; each is attributed to the
site of its own first row. By district these rates use the *site's* district,
and a district's subjects and their persons are counted among the district's
rows only (a profile whose twin is in another district is no duplicate there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy.estimate import sorting
from vaxstudy.estimate.data import Inputs, tally_ok

RECORD_QUANTITIES = ("rec", "subj", "dsub", "dup", "unl", "tally", "rec_x", "dup_x")
RECORD_RATES = (
    "duplicate_subject_rate",
    "duplicate_dose_rate",
    "unlinked_record_rate",
    "missing_entry_rate",
    "missing_entry_rate_naive",
)


def subject_table(scope: pd.DataFrame, by: np.ndarray | None = None) -> pd.DataFrame:
    """One row per subject in scope: person_key, first row, site, is_dup_subject, n_rows.

    ``person_rank`` is the subject's order among the subjects of its person (by
    first row); a subject with person_rank > 1 is a duplicate profile. With ``by`` (a
    group per row, e.g. the site's district) each group is a scope of its own, as if the
    table were built for each group's rows apart (one row per group and subject).
    """
    if scope.empty:
        return pd.DataFrame(
            columns=["subject_id", "person_key", "first_row", "site", "n_rows", "person_rank", "is_dup_subject"]
        )
    subj, pk = scope["subject_id"].to_numpy(np.int64), scope["person_key"].to_numpy(np.int64)
    row, site = scope["row"].to_numpy(np.int64), scope["site"].to_numpy(np.int64)
    if by is None:
        grp, names = np.zeros(len(subj), dtype=np.int64), None
    else:
        grp, names = pd.factorize(np.asarray(by), sort=True)  # codes in the order of the groups
    o = sorting.sorted_by([grp, subj, pk], row)
    g_, s_, p_, r_, site_ = grp[o], subj[o], pk[o], row[o], site[o]
    gi = sorting.starts(g_, s_, p_)  # (group, subject, person): its rows in entry order
    n = np.diff(np.r_[gi, len(o)])
    ki = sorting.starts(g_, s_)  # (group, subject)
    sub = np.searchsorted(ki, gi, side="right") - 1  # the subject of each (group, subject, person)
    # the subject's person: that of most of its rows, ties to the person of its earliest row
    best = np.lexsort((r_[gi], -n, sub))
    modal = gi[best[sorting.starts(sub[best])]]
    # its first row (and that row's site): the earliest first row of its persons
    early = np.lexsort((r_[gi], sub))
    first = gi[early[sorting.starts(sub[early])]]
    cols = {"_by": g_[ki], "subject_id": s_[ki], "person_key": p_[modal], "first_row": r_[first],
            "site": site_[first], "n_rows": np.diff(np.r_[ki, len(o)])}
    o2 = np.lexsort((cols["first_row"], cols["person_key"], cols["_by"]))
    cols = {k: v[o2] for k, v in cols.items()}
    pi = sorting.starts(cols["_by"], cols["person_key"])  # the subjects of one person, by first row
    rank = np.arange(len(o2)) - np.repeat(pi, np.diff(np.r_[pi, len(o2)])) + 1
    s = pd.DataFrame(cols)
    s["person_rank"] = rank
    s["is_dup_subject"] = rank > 1
    if names is None:
        return s.drop(columns="_by")
    s["_by"] = np.asarray(names).take(s["_by"].to_numpy())
    return s


def district_codes(inp: Inputs) -> np.ndarray:
    """Each site's district as an integer code (the districts in sorted order)."""
    return pd.factorize(inp.sites["district_code"].to_numpy(), sort=True)[0]


def district_subject_table(inp: Inputs, sc: pd.DataFrame) -> pd.DataFrame:
    """:func:`subject_table` with each district's rows a scope of their own (``_by``: the
    district's code): a district counts its subjects and their persons within its own rows."""
    return subject_table(sc, by=district_codes(inp)[sc["site"].to_numpy()])


def record_site_aggregates(inp: Inputs, sc: pd.DataFrame | None = None,
                           subj: pd.DataFrame | None = None,
                           subj_d: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Per-site sums (length = number of sites) of the record/tally quantities, in scope.
    ``sc``, ``subj``, ``subj_d``: ``inp.scope_rows()``, its :func:`subject_table` and its
    :func:`district_subject_table`, when already made."""
    S = len(inp.sites)
    sc = inp.scope_rows() if sc is None else sc
    site = sc["site"].to_numpy()
    out = {
        "rec": np.bincount(site, minlength=S).astype(float),
        "dup": np.bincount(site, weights=sc["is_dup_scope"].to_numpy(dtype=float), minlength=S),
        "unl": np.bincount(site, weights=sc["person_id"].isna().to_numpy(dtype=float), minlength=S),
    }
    subj = subject_table(sc) if subj is None else subj
    ss = subj["site"].to_numpy(dtype=np.int64)
    out["subj"] = np.bincount(ss, minlength=S).astype(float)
    out["dsub"] = np.bincount(ss, weights=subj["is_dup_subject"].to_numpy(dtype=float), minlength=S)
    # by district, subjects and their persons are counted within the district's rows
    st = district_subject_table(inp, sc) if subj_d is None else subj_d
    s_site = st["site"].to_numpy(dtype=np.int64)
    out["subj_district"] = np.bincount(s_site, minlength=S).astype(float)
    out["dsub_district"] = np.bincount(s_site, weights=st["is_dup_subject"].to_numpy(dtype=float), minlength=S)
    t = inp.tallies[inp.tallies["in_scope"].to_numpy() & tally_ok(inp.tallies)]
    out["tally"] = np.bincount(t["site"].to_numpy(), weights=t["doses"].to_numpy(dtype=float), minlength=S)
    x = ~tally_ok(sc)  # rows of site-days whose tally was quarantined
    out["rec_x"] = np.bincount(site, weights=x.astype(float), minlength=S)
    out["dup_x"] = np.bincount(site, weights=(x & sc["is_dup_scope"].to_numpy(dtype=bool)).astype(float),
                               minlength=S)
    return out


#: the total each site rate is a share of (record_rates; the late entries and the never entered
#: are shares of the tallied doses too)
RATE_DENOMINATOR = {
    "duplicate_subject_rate": "subj",
    "duplicate_dose_rate": "rec",
    "unlinked_record_rate": "rec",
    "missing_entry_rate": "tally",
    "missing_entry_rate_naive": "tally",
    "late_entry_rate": "tally",
    "never_entered_rate": "tally",
}


def record_rates(tot: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rates from totals (any shape; arrays broadcast). NaN where a denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rec, tally = tot["rec"], tot["tally"]
        rec_t = rec - tot.get("rec_x", 0.0)  # rows of site-days whose tally counts
        dup_t = tot["dup"] - tot.get("dup_x", 0.0)
        return {
            "duplicate_subject_rate": np.where(tot["subj"] > 0, tot["dsub"] / tot["subj"], np.nan),
            "duplicate_dose_rate": np.where(rec > 0, tot["dup"] / rec, np.nan),
            "unlinked_record_rate": np.where(rec > 0, tot["unl"] / rec, np.nan),
            "missing_entry_rate": np.where(tally > 0, 1.0 - (rec_t - dup_t) / tally, np.nan),
            "missing_entry_rate_naive": np.where(tally > 0, 1.0 - rec_t / tally, np.nan),
        }


def counts(inp: Inputs) -> dict[str, int]:
    """n_records, n_subjects, n_persons_est for the scope (and per site district)."""
    sc = inp.scope_rows()
    return {
        "n_records": int(len(sc)),
        "n_subjects": int(sc["subject_id"].nunique()),
        "n_persons_est": int(sc["person_key"].nunique()),
    }


def counts_by_district(inp: Inputs) -> dict[str, dict[str, int]]:
    sc = inp.scope_rows()
    d = inp.sites["district_code"].to_numpy()[sc["site"].to_numpy()]
    out: dict[str, dict[str, int]] = {}
    for code, g in sc.groupby(d, sort=True):
        out[str(code)] = {
            "n_records": int(len(g)),
            "n_subjects": int(g["subject_id"].nunique()),
            "n_persons_est": int(g["person_key"].nunique()),
        }
    return out


def unlinked_split(inp: Inputs) -> dict:
    """"Not found in the register" split in two: the rows in scope without a register person
    (unlinked_record_rate's numerator, unchanged) whose person is in the register with an entry
    lacking a date of birth (record_links.incomplete_register_person_id; such a person is in no
    denominator, docs/linkage.md), and the rest. The two parts add up to a published figure, so
    a small part is suppressed with its complement (vaxstudy.report.suppress)."""
    from vaxstudy.config import SUPPRESSION_THRESHOLD
    from vaxstudy.report.suppress import primary_mask, secondary_1d

    sc = inp.scope_rows()
    unl = sc["person_id"].isna().to_numpy()
    inc = unl & sc["in_incomplete_register"].fillna(False).to_numpy(dtype=bool) \
        if "in_incomplete_register" in sc else np.zeros(len(sc), dtype=bool)
    parts = [int(inc.sum()), int(unl.sum() - inc.sum())]
    hide = secondary_1d(parts, primary_mask(parts, SUPPRESSION_THRESHOLD))
    return {
        "n_unlinked_records": int(unl.sum()),
        "in_register_incomplete_entry": None if hide[0] else parts[0],
        "not_in_register": None if hide[1] else parts[1],
        "suppressed_below": SUPPRESSION_THRESHOLD if hide.any() else None,
    }
