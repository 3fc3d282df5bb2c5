"""The link flips: which rows' links the redraw may flip, with what probability, and what each flip
changes in the counts, built once from the rows (the redraw's model: :mod:`vaxstudy.estimate.intervals`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vaxstudy.estimate import sorting
from vaxstudy.estimate.coverage import CoverageParts
from vaxstudy.estimate.data import Inputs, cells_of
from vaxstudy.estimate.profiles import ProfilePrior, adjusted_probabilities, linked_profiles, profile_prior
from vaxstudy.estimate.rates import district_codes, district_subject_table, subject_table

# which branch of a flip a contribution belongs to: any flip; an unlinked row's flip to its
# best candidate; its flip to another register person (a namesake); to its runner-up candidate
PART_ANY, PART_BEST, PART_NAMESAKE, PART_SECOND = 0, 1, 2, 3
RECORD_KINDS = ("unl", "dup", "dsub", "dsub_district")  # dsub_district: a district's own subjects


@dataclass
class LinkFlips:
    """Rows whose link may flip, and what a flip changes.

    flips: one row per candidate flip: ``row`` (index into inp.rows), ``linked``
      (True: a link that may break; False: an unlinked row that may link),
      ``q`` (match probability of the link / of the best candidate), ``q_any`` (the unlinked
      row's person in the register at all), ``q2`` (its runner-up candidate; 0 if none).
    contrib: what each flip adds: ``u`` (index into flips), ``kind`` (one of
      RECORD_KINDS, or 'cov1'/'cov2'), ``site``, ``cell``, ``value``.
    """

    flips: pd.DataFrame
    contrib: pd.DataFrame
    prior: ProfilePrior | None = None  # the second-profile prior applied to q (estimate/profiles.py)
    _groups: dict | None = field(default=None, repr=False, compare=False)  # flip_deltas' index arrays

    def probabilities(self) -> np.ndarray:
        """Flip probabilities: 1 - q for a link; for an unlinked row, the probability that
        its person is in the register at all (``q_any``; the flip gives it to the best
        candidate, who stands for the namesakes sharing that probability)."""
        q = self.flips["q"].to_numpy(dtype=float)
        q_any = self.flips["q_any"].to_numpy(dtype=float) if "q_any" in self.flips else q
        return np.where(self.flips["linked"].to_numpy(), 1.0 - q, q_any)

    def best_share(self, col: str = "q") -> np.ndarray:
        """Of an unlinked row's flip probability, the share that goes to its best candidate
        (q / q_any; 1 for links and where q_any is not known); ``col`` 'q2': to its runner-up
        (0 for links and where there is none)."""
        q = self.flips[col].to_numpy(dtype=float) if col in self.flips else np.zeros(len(self.flips))
        if "q_any" not in self.flips:
            return np.ones(len(q)) if col == "q" else np.zeros(len(q))
        qa = self.flips["q_any"].to_numpy(dtype=float)
        share = np.where(qa > 0, q / np.where(qa > 0, qa, 1.0), 1.0 if col == "q" else 0.0)
        return np.where(self.flips["linked"].to_numpy(), 1.0 if col == "q" else 0.0, np.clip(share, 0.0, 1.0))

    def branches(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p, p_best, p_second): each flip's probability and the parts of it that go to the best
        candidate and to the runner-up (the rest, to a namesake)."""
        p = self.probabilities()
        return p, p * self.best_share(), p * self.best_share("q2")


def link_flips(inp: Inputs, parts: CoverageParts, scope: pd.DataFrame | None = None,
               subj: pd.DataFrame | None = None, subj_d: pd.DataFrame | None = None) -> LinkFlips:
    """The flips and what each changes. ``scope``, ``subj``, ``subj_d``: ``inp.scope_rows()``, its
    :func:`~vaxstudy.estimate.rates.subject_table` and its district one, when already made."""
    rows = inp.rows.reset_index(drop=True)
    linked = rows["person_id"].notna().to_numpy()
    cand_ok = (~linked) & rows["cand_person_id"].notna().to_numpy() & (rows["cand_q"].fillna(0).to_numpy() > 0)
    sel = linked | cand_ok
    # a second profile of a resident is rarer than the link model's uniform prior says
    scope = inp.scope_rows() if scope is None else scope
    if len(scope) == len(rows):  # every row in scope (a province's whole campaign): one subject table
        subj = subject_table(scope) if subj is None else subj
        profiles = linked_profiles(rows, subj)
    else:
        profiles = linked_profiles(rows)
    prior = profile_prior(rows, inp.n_register, inp.pop["person_id"].to_numpy(), profiles)
    district = pd.factorize(inp.sites["district_code"].astype(str))[0]  # u's random others: the site's district
    q_l, q_c, q_a, q_2 = adjusted_probabilities(rows, prior, profiles, area=district[rows["site"].to_numpy()],
                                                runner_up=True)
    q_c = np.nan_to_num(q_c, nan=0.0)
    q_a = np.where(np.isfinite(q_a), q_a, q_c)
    has2 = ~linked & np.isfinite(q_2) & rows["cand2_person_id"].notna().to_numpy() if "cand2_person_id" in rows \
        else np.zeros(len(rows), dtype=bool)
    q_2 = np.where(has2, np.nan_to_num(q_2), 0.0)
    q_a = np.where(has2, np.maximum(q_a, q_c + q_2), q_a)  # the runner-up's share is within the row's
    flips = pd.DataFrame(
        {
            "row": np.flatnonzero(sel),
            "linked": linked[sel],
            "q": np.where(linked, q_l, q_c)[sel],
            "q_any": np.where(linked, q_l, q_a)[sel],
            "q2": q_2[sel],
        }
    )
    fr = rows.iloc[flips["row"].to_numpy()].reset_index(drop=True)
    u = np.arange(len(fr))
    sc_mask = fr["in_scope"].to_numpy()
    is_lk = flips["linked"].to_numpy()
    site = fr["site"].to_numpy()
    parts_list: list[pd.DataFrame] = []

    def add(mask: np.ndarray, kind: str, value: float | np.ndarray, site_arr=None, cell_arr=None,
            part: int = PART_ANY):
        if not mask.any():
            return
        v = np.broadcast_to(np.asarray(value, dtype=float), mask.shape)[mask]
        parts_list.append(
            pd.DataFrame(
                {
                    "u": u[mask],
                    "kind": kind,
                    "site": (site if site_arr is None else site_arr)[mask],
                    "cell": (np.full(len(u), -1) if cell_arr is None else cell_arr)[mask],
                    "value": v,
                    "part": part,
                }
            )
        )

    # -- record quantities (rows in scope) -----------------------------------------
    add(sc_mask & is_lk, "unl", 1.0)
    add(sc_mask & ~is_lk, "unl", -1.0)
    # duplicate doses: a row leaving its (person, dose) group removes one duplicate
    # if the group holds any; a row joining a group that exists adds one.
    # (person key, dose) pairs as one number each; a candidate's pair in the same code space
    sc_pk, sc_dose, sc_row = (scope[c].to_numpy() for c in ("person_key", "dose", "row"))
    fr_dose = fr["dose"].to_numpy()
    d_lo = int(min(sc_dose.min(initial=0), fr_dose.min(initial=0)))
    d_w = int(max(sc_dose.max(initial=0), fr_dose.max(initial=0))) - d_lo + 1
    sc_pair = sorting.pair_key(sc_pk, sc_dose, d_lo, d_w)
    dup = np.flatnonzero(scope["is_dup_scope"].to_numpy())
    dup = dup[np.argsort(sc_row[dup], kind="stable")]  # the earliest duplicate row of each pair
    first = dup[np.unique(sc_pair[dup], return_index=True)[1]] if len(dup) else dup
    fd_site = sorting.lookup(sc_pair[first], scope["site"].to_numpy()[first],
                             sorting.pair_key(fr["person_key"].to_numpy(), fr_dose, d_lo, d_w), -1)
    own_dup = fr["is_dup_scope"].to_numpy()
    leave_site = np.where(own_dup, site, fd_site).astype(np.int64)
    add(sc_mask & (leave_site >= 0), "dup", -1.0, site_arr=leave_site)
    groups = np.unique(sc_pair)
    joins = (~is_lk) & np.isin(sorting.pair_key(fr["cand_person_id"].to_numpy(), fr_dose, d_lo, d_w), groups)
    # a row joins its best candidate's groups only on that branch of its flip, its runner-up's on
    # that one: on the namesake branch its person is taken as not yet counted (as for coverage below)
    add(sc_mask & joins, "dup", 1.0, part=PART_BEST)
    c2_ids = fr["cand2_person_id"].to_numpy(dtype=float) if "cand2_person_id" in fr else np.full(len(fr), np.nan)
    has2 = flips["q2"].to_numpy() > 0
    joins2 = (~is_lk) & has2 & np.isin(sorting.pair_key(c2_ids, fr_dose, d_lo, d_w), groups)
    add(sc_mask & joins2, "dup", 1.0, part=PART_SECOND)
    # duplicate subjects (single-row profiles): the province's over all rows, a district's within its own
    subj = subject_table(scope) if subj is None else subj
    _subject_flips(add, "dsub", subj, fr, sc_mask, is_lk, site, has2=has2)
    subj_d = district_subject_table(inp, scope) if subj_d is None else subj_d
    _subject_flips(add, "dsub_district", subj_d, fr, sc_mask, is_lk, site, district_codes(inp)[site],
                   subj_d["_by"].to_numpy(np.int64) if len(subj_d) else None, len(inp.sites), has2)

    # -- coverage (rows up to period_end, residents only) ---------------------------
    other = inp.other_cell
    dose = fr["dose"].to_numpy()
    cell_own = fr["cell"].to_numpy()
    pdr = parts.person_dose_rows
    n_ge1, n_ge2 = (sorting.lookup(pdr.index.to_numpy(), pdr[c].to_numpy(), fr["person_id"].to_numpy(), 0)
                    for c in ("n_ge1", "n_ge2"))
    res_own = is_lk & (cell_own != other)
    add(res_own & (dose >= 1) & (n_ge1 == 1), "cov1", -1.0, cell_arr=cell_own)
    add(res_own & (dose >= 2) & (n_ge2 == 1), "cov2", -1.0, cell_arr=cell_own)
    cand_ids = fr["cand_person_id"].to_numpy()
    cand_cell = cells_of(inp.pop, cand_ids, -1)
    pmax = parts.person_maxdose
    cand_max = sorting.lookup(pmax.index.to_numpy(), pmax.to_numpy(), cand_ids, 0)
    res_cand = (~is_lk) & (cand_cell >= 0) & (cand_cell != other)
    # A redrawn row goes to its best candidate or its runner-up (who adds a covered person only
    # if not yet counted) or, with the rest of its probability, to a namesake: taken as not yet
    # counted, in the best candidate's cell (same sex and birth year).
    namesake = flips["q_any"].to_numpy(dtype=float) > flips["q"].to_numpy(dtype=float) + flips["q2"].to_numpy() + 1e-12
    c2_cell = cells_of(inp.pop, c2_ids, -1)
    c2_max = sorting.lookup(pmax.index.to_numpy(), pmax.to_numpy(), c2_ids, 0)
    res_c2 = (~is_lk) & has2 & (c2_cell >= 0) & (c2_cell != other)
    for k, kind in ((1, "cov1"), (2, "cov2")):
        add(res_cand & (dose >= k) & (cand_max < k), kind, 1.0, cell_arr=cand_cell, part=PART_BEST)
        add(res_c2 & (dose >= k) & (c2_max < k), kind, 1.0, cell_arr=c2_cell, part=PART_SECOND)
        add(res_cand & (dose >= k) & namesake, kind, 1.0, cell_arr=cand_cell, part=PART_NAMESAKE)

    contrib = (pd.concat(parts_list, ignore_index=True) if parts_list
               else pd.DataFrame({"u": [], "kind": [], "site": [], "cell": [], "value": [], "part": []}))
    return LinkFlips(flips=flips, contrib=contrib, prior=prior)


def _subject_flips(add, kind: str, subj: pd.DataFrame, fr: pd.DataFrame, sc_mask: np.ndarray,
                   is_lk: np.ndarray, site: np.ndarray, grp_fr: np.ndarray | None = None,
                   grp_subj: np.ndarray | None = None, n_grp: int = 1, has2: np.ndarray | None = None) -> None:
    """The duplicate-subject contributions of the flips against one subject table (a row leaving a
    single-row profile of a person with several removes one; joining a profiled candidate, best or
    runner-up where ``has2``, adds one on that branch); with groups (codes < ``n_grp`` per flip row
    and subject) a person's profiles count within one."""
    if not len(subj):
        return
    key = (lambda a, g: a) if grp_fr is None else (lambda a, g: a * n_grp + g)  # (code, group) as one
    sid, spk = key(subj["subject_id"].to_numpy(), grp_subj), key(subj["person_key"].to_numpy(), grp_subj)
    f_sid, f_pk = key(fr["subject_id"].to_numpy(), grp_fr), key(fr["person_key"].to_numpy(), grp_fr)
    n_rows, rank = (sorting.lookup(sid, subj[c].to_numpy(), f_sid, 0) for c in ("n_rows", "person_rank"))
    persons, n_sub = np.unique(spk, return_counts=True)
    is2 = subj["person_rank"].to_numpy() == 2
    nsub_own = sorting.lookup(persons, n_sub, f_pk, 0)
    second_site = sorting.lookup(spk[is2], subj["site"].to_numpy()[is2], f_pk, -1)
    single = sc_mask & (n_rows == 1)
    dsub_site = np.where(rank > 1, site, second_site)
    add(single & (nsub_own >= 2) & (dsub_site >= 0), kind, -1.0, site_arr=dsub_site)
    nsub_cand = sorting.lookup(persons, n_sub, key(fr["cand_person_id"].to_numpy(), grp_fr), 0)
    add(single & ~is_lk & (nsub_cand >= 1), kind, 1.0, part=PART_BEST)
    if has2 is not None and has2.any():
        nsub_c2 = sorting.lookup(persons, n_sub, key(fr["cand2_person_id"].to_numpy(dtype=float), grp_fr), 0)
        add(single & ~is_lk & has2 & (nsub_c2 >= 1), kind, 1.0, part=PART_SECOND)
