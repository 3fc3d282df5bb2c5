"""95% intervals of this province's realised figures: links redrawn, doses never entered and late
entries drawn; the sites are not resampled for a figure of the rows entered.

The estimand is the figure of *this* province's population and registry (a census: the truth of
``truth_summary`` counts its own rows and doses), not of another province like it. So an interval
carries what the data leave open about this province, and nothing about "another draw of similar
sites" (a site bootstrap of the record rates made them 10-100 times wider than their error). Each
replicate b

1. holds every site once for the figures of the rows entered (record rates, recorded coverage);
2. redraws the uncertain links: a linked row keeps its link with its
   ``match_probability`` q and otherwise becomes a record of someone outside
   the register (probability 1 - q); an unlinked row whose best register
   candidate is known links with the probability that its person is in the
   register at all (``in_register_probability``, else the best candidate's q).
   The flip goes to the best candidate with q, to the runner-up candidate
   (``second_match_probability``) with q2, and to "a namesake" with the rest:
   a candidate adds a covered resident only if not yet counted and joins its
   doses and profiles (a duplicate dose, a duplicate profile); a namesake is
   taken as not yet counted, in the best candidate's coverage cell (same sex
   and birth year), and repeats no dose and no profile. A second profile of a resident is rarer than the link
   model's uniform prior says: the probabilities of those links (and of an
   unlinked row's best candidate who has a profile) have their odds scaled by a
   factor estimated from the linked profiles (:mod:`vaxstudy.estimate.profiles`)
   and by what the profile's doses say (the same dose again or the next one at
   the same site, :mod:`vaxstudy.estimate.profile_pattern`; an unlinked row's prior is fitted to that).
   Rows with a flip probability below ``min_flip`` (1e-6) are held fixed.
   The effect of one flip on the counts is applied as if the flip were alone
   (first order: several flips in the same person and dose are rare when the
   probabilities are near 0 or 1);
3. draws who the doses never entered belonged to (corrected coverage: a
   Dirichlet-multinomial draw around each site-week's mix) and the paper
   tallies' hidden over-counts (:func:`vaxstudy.estimate.coverage.allocation_sd`);
4. predicts the late entries still to come: the sites are redrawn within their
   districts (:func:`site_weights`) for the lag model's fit only, the entries
   still to come are these sites' own, each site once, and their count is drawn
   (Poisson): the late entries do not exist yet, and the sites' entry process is
   what predicts them.

The point estimates are the redraw's expectation (:func:`expected_flips`: each
uncertain link counted with its probability), so the redraw varies on both sides
of them; with the thresholded links as the point, a cell whose uncertain rows
could only add (or only remove) a covered resident had every replicate on one
side and the point at an end of its interval.

The interval (:func:`centred_ci`) is centred on the point by construction: on
each side the wider of the basic bootstrap's (point -/+ the replicates' spread
below/above their median) and the normal one (point -/+ 1.96 sd), kept within
the range the redraw reaches, and extended to the replicates' own 2.5-97.5
percentiles where those reach further. For recorded coverage and the record rates
the sd and the reachable range of the link redraw are also computed exactly
(:func:`redraw_spread`): links of q = 0.999 almost never break in a few hundred
replicates, which then do not vary although the expectation differs from the
thresholded count. The point is thus strictly inside whenever anything is
uncertain (up to the 6 decimals written). Last, every interval is extended to reach the
figure of the links as decided (thresholded, no redraw; ``metrics._block``): the point is
the expectation under the match probabilities, so it is only as good as their calibration,
which no data without truth can check. On two full-scale provinces the truth of the record
rates lay between the two (docs/estimation.md, "The links as decided").

**Not covered** here: probabilities that are themselves wrong (a miscalibrated
linkage model: links it is sure of that are wrong, e.g. two people merged; at
scale 1.0, before the fix in docs/linkage.md *Calibration at full scale*, links with p in
0.9-0.99999 were wrong 2-7 times as often as 1 - p says, so namesakes' false merges stayed
in every replicate and duplicate_subject_rate came out 2.6-3 % high, outside its interval;
since then the probabilities are about 1.5 times underconfident there, which redraws more
links than it should: unlinked_record_rate 1.6 % high on a held-out full-scale province;
``vaxstudy evaluate`` gives the calibration by band);
links to the *wrong* register person (a broken link is redrawn as "outside the
register", not as another resident); links the model never scored or scored far
too low: for coverage, :mod:`vaxstudy.estimate.missed` raises the upper end to
the bound they allow (unlinked local adults); tally errors beyond the model of
:mod:`vaxstudy.estimate.coverage`; a systematic difference between missed and
entered doses in age, sex or residence; errors in the population register (the
denominator is taken as exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vaxstudy.estimate.coverage import CoverageParts
from vaxstudy.estimate import sorting
from vaxstudy.estimate.ci import centred_ci, percentile_ci  # noqa: F401 (the interval rule, read here by metrics)
from vaxstudy.estimate.data import Inputs, cells_of
from vaxstudy.estimate.profiles import ProfilePrior, adjusted_probabilities, linked_profiles, profile_prior
from vaxstudy.estimate.rates import district_codes, district_subject_table, subject_table

MIN_FLIP = 1e-6
INTERVAL_DESCRIPTION = (
    "95% interval of this province's own figure (not of another province like it), centred on the point "
    "estimate: on each side the wider of the basic bootstrap's (point -/+ the replicates' spread below/above "
    "their median) and the normal one (point -/+ 1.96 sd), within the range the replicates reach, extended to "
    "their 2.5-97.5 percentiles where those reach further. Replicates hold every site once and redraw the "
    "links from their match probabilities; corrected coverage also draws the owners of the doses never "
    "entered and the tallies' hidden over-counts; the late entries (a prediction) redraw the sites within "
    "districts for the lag model's fit only and draw the count of these sites' own, with at least the nowcast's "
    "back-tested relative error on the cohorts under 21 days old. The point estimates count every site once and each "
    "uncertain link with its probability (the redraw's expectation); every interval also reaches the figure "
    "of the links as decided (thresholded, no redraw), since the point is only as good as the match "
    "probabilities' calibration, which the data cannot check; the sensitivity block's figures use "
    "the thresholded links"
)
# which branch of a flip a contribution belongs to: any flip; an unlinked row's flip to its
# best candidate; its flip to another register person (a namesake); to its runner-up candidate
PART_ANY, PART_BEST, PART_NAMESAKE, PART_SECOND = 0, 1, 2, 3
RECORD_KINDS = ("unl", "dup", "dsub", "dsub_district")  # dsub_district: a district's own subjects


def site_weights(strata: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, S) multiplicities of a stratified with-replacement draw of sites."""
    S = len(strata)
    W = np.zeros((n_boot, S))
    codes, inv = np.unique(np.asarray(strata).astype(str), return_inverse=True)
    for h in range(len(codes)):
        idx = np.flatnonzero(inv == h)
        n = len(idx)
        W[:, idx] = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    return W


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


def subset(lf: LinkFlips, keep: np.ndarray) -> LinkFlips:
    """The flips where ``keep`` (boolean over lf.flips) holds, renumbered."""
    new_u = np.full(len(lf.flips), -1)
    new_u[keep] = np.arange(int(keep.sum()))
    c = lf.contrib
    c = c[keep[c["u"].to_numpy(dtype=np.int64)]] if len(c) else c
    c = c.assign(u=new_u[c["u"].to_numpy(dtype=np.int64)]) if len(c) else c
    return LinkFlips(flips=lf.flips[keep].reset_index(drop=True), contrib=c.reset_index(drop=True), prior=lf.prior)


def expected_flips(lf: LinkFlips) -> tuple[LinkFlips, np.ndarray, np.ndarray, np.ndarray]:
    """The uncertain flips and their expectation as fractional indicators (1 x U): F = the flip
    probability, F_best / F_second = the shares of it that go to the best candidate / the
    runner-up. ``flip_deltas`` is linear in F, so this gives the expected counts of the redraw:
    the point estimates."""
    p = lf.probabilities()
    sub = subset(lf, p > MIN_FLIP)
    return sub, sub.probabilities()[None, :], sub.best_share()[None, :], sub.best_share("q2")[None, :]


def draw_flips(lf: LinkFlips, U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0/1 draws (B x U) from uniforms U: (F, F_best, F_second), each flip with its probability and
    its branch (best candidate, runner-up, else a namesake) with theirs."""
    p, pb, ps = lf.branches()
    return U < p[None, :], U < pb[None, :], (U >= pb[None, :]) & (U < (pb + ps)[None, :])


def redraw_spread(lf: LinkFlips, kind: str, H: np.ndarray, col: str = "cell"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact spread of the link redraw of one count (a coverage count 'cov1'/'cov2' with H (C x G)
    over cells, or a record count of RECORD_KINDS with H (S x G) over sites and ``col`` 'site') in
    the groups of H, flips independent (first order, as the redraw): (sd, lowest, highest) with
    lowest/highest what the redraw can reach relative to its expectation. Needed where the
    flips are so sure that no replicate moves (a link of q = 0.999 breaks in 1 of 1,000
    replicates): the replicates' sd is then 0 though the expectation is not the mode."""
    G = H.shape[1]
    p_all = lf.probabilities()
    keep = p_all > MIN_FLIP
    c = lf.contrib
    # the text column compared as a column (vectorised), not element by element as objects
    c = c[(c["kind"] == kind).to_numpy(dtype=bool) & keep[c["u"].to_numpy(dtype=np.int64)]] if len(c) else c
    if len(c) == 0:
        z = np.zeros(G)
        return z, z, z
    p, pb, ps = lf.branches()
    u = c["u"].to_numpy(dtype=np.int64)
    part = c["part"].to_numpy(dtype=np.int64)
    hv = c["value"].to_numpy(dtype=float)[:, None] * H[c[col].to_numpy(dtype=np.int64)]
    uu, inv = np.unique(u, return_inverse=True)
    e_best, e_ns, e_sec = np.zeros((len(uu), G)), np.zeros((len(uu), G)), np.zeros((len(uu), G))
    own = {PART_BEST: e_best, PART_NAMESAKE: e_ns, PART_SECOND: e_sec}  # each branch: its own and any flip's
    for pt, e in own.items():
        m = (part == PART_ANY) | (part == pt)
        np.add.at(e, inv[m], hv[m])
    pb_u, ps_u = pb[uu][:, None], ps[uu][:, None]
    pn_u = np.maximum(p[uu][:, None] - pb_u - ps_u, 0.0)
    mean = pb_u * e_best + pn_u * e_ns + ps_u * e_sec
    var = (pb_u * e_best**2 + pn_u * e_ns**2 + ps_u * e_sec**2 - mean**2).sum(0)
    e_sec = np.where(ps_u > 0, e_sec, e_best)  # a branch of no probability reaches nothing
    lowest = (np.minimum(np.minimum(np.minimum(e_best, e_ns), e_sec), 0.0) - mean).sum(0)
    highest = (np.maximum(np.maximum(np.maximum(e_best, e_ns), e_sec), 0.0) - mean).sum(0)
    return np.sqrt(np.maximum(var, 0.0)), lowest, highest


def flip_deltas(
    lf: LinkFlips, F: np.ndarray, S: int, C: int, F_best: np.ndarray | None = None,
    F_second: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Changes implied by flip indicators F (B x U); ``F_best`` (within F) marks the flips
    of unlinked rows that go to their best candidate (default: all of them), ``F_second`` those
    that go to their runner-up (default: none; fractional, as F_best, shares of F).

    Returns per-site deltas {kind: (B, S)} for the record quantities and
    (2, B, C) for the recorded coverage counts.
    """
    if F.dtype == bool and (F_best is None or F_best.dtype == bool):
        # 0/1 draws kept as booleans (the replicates, the sensitivity block): counted, see _Group
        F_best = F if F_best is None else F_best & F
        F_sec = np.zeros_like(F) if F_second is None else F_second & F & ~F_best
        by_part = {PART_ANY: F, PART_BEST: F_best, PART_NAMESAKE: F & ~F_best & ~F_sec, PART_SECOND: F_sec}
    else:
        F = np.asarray(F, dtype=float)
        F_best = F if F_best is None else np.asarray(F_best, dtype=float) * F
        F_sec = np.zeros_like(F) if F_second is None else np.asarray(F_second, dtype=float) * F
        by_part = {PART_ANY: F, PART_BEST: F_best, PART_NAMESAKE: F - F_best - F_sec, PART_SECOND: F_sec}
    B = F.shape[0]
    rec = {k: np.zeros((B, S)) for k in RECORD_KINDS}
    cov = np.zeros((2, B, C))
    c = lf.contrib
    if len(c) == 0 or F.shape[1] == 0:
        return rec, cov
    # 0/1 flips (the replicates, the sensitivity block): integer sums, exact in any order,
    # so summed for every replicate at once; fractional ones (the point: the probabilities)
    # replicate by replicate, in the order they were always summed
    exact = F.dtype == bool or (_integral(F) and _integral(F_best) and _integral(F_sec))
    for (k, pt), g in _contrib_groups(lf).items():
        if k in rec:
            rec[k] += g.sum_into(by_part[pt], S, exact)
        else:
            cov[("cov1", "cov2").index(k)] += g.sum_into(by_part[pt], C, exact)
    return rec, cov


def _integral(F: np.ndarray) -> bool:
    return bool(np.all(F == np.round(F)))


class _Group:
    """The contributions of one kind (and part) of flip: flip ``uu[j]`` adds ``vv[j]`` to
    column ``idx[j]`` (a site or a cell); also sorted by column, for :meth:`sum_into`."""

    def __init__(self, uu: np.ndarray, idx: np.ndarray, vv: np.ndarray):
        self.uu, self.idx, self.vv = uu, idx, vv
        order = np.argsort(idx, kind="stable")
        self.s_uu, self.s_idx, self.s_vv = uu[order], idx[order], vv[order]
        self.starts = np.flatnonzero(np.r_[True, self.s_idx[1:] != self.s_idx[:-1]]) if len(idx) else idx
        self.whole = _integral(vv)
        self._by_value: list | None = None

    def sum_into(self, F: np.ndarray, n: int, exact: bool) -> np.ndarray:
        """(B, n): for each row b of F, the sum over j of F[b, uu[j]] * vv[j] into column
        idx[j]; ``exact`` (F whole numbers, as vv): all rows at once."""
        B = F.shape[0]
        if F.dtype == bool:
            if self.whole:
                return self._count_into(F, n)
            F = F.astype(float)
        out = np.zeros((B, n))
        if not (exact and self.whole):
            for b in range(B):
                out[b] = np.bincount(self.idx, weights=F[b, self.uu] * self.vv, minlength=n)
            return out
        # + 0.0: a column holding only 0 x -1 is 0, as bincount gives, not -0
        sums = np.add.reduceat(F[:, self.s_uu] * self.s_vv, self.starts, axis=1) + 0.0
        out[:, self.s_idx[self.starts]] = sums
        return out

    def _count_into(self, F: np.ndarray, n: int) -> np.ndarray:
        """:meth:`sum_into` of boolean draws F and whole values: per distinct value, the
        contributions drawn counted per column (integers, so the same figures as the float sums in
        any order), without F as floats (at full scale ~3x less time: a replicate's ~75,000 flips)."""
        if self._by_value is None:
            self._by_value = []
            for v in np.unique(self.s_vv):
                m = self.s_vv == v
                uu, idx = self.s_uu[m], self.s_idx[m]
                starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
                self._by_value.append((float(v), uu, starts, idx[starts]))
        out = np.zeros((F.shape[0], n))
        for v, uu, starts, cols in self._by_value:
            out[:, cols] += v * np.add.reduceat(F[:, uu], starts, axis=1, dtype=np.int64)
        return out


def _contrib_groups(lf: LinkFlips) -> dict[tuple[str, int | None], _Group]:
    """lf's contributions by (kind, part), made once."""
    if lf._groups is None:
        c = lf.contrib
        # each kind's rows found once, by code (comparing a text column element by element as
        # Python objects took seconds at full scale)
        codes, names = pd.factorize(c["kind"])
        kind_of = {str(n): codes == i for i, n in enumerate(names)}
        none = np.zeros(len(c), dtype=bool)
        part = c["part"].to_numpy(dtype=np.int64) if "part" in c else np.zeros(len(c), dtype=np.int64)
        u, v = c["u"].to_numpy(dtype=np.int64), c["value"].to_numpy(dtype=float)
        site, cell = c["site"].to_numpy(dtype=np.int64), c["cell"].to_numpy(dtype=np.int64)
        groups: dict[tuple[str, int | None], _Group] = {}
        for k in RECORD_KINDS:
            for pt in (PART_ANY, PART_BEST, PART_SECOND):
                m = kind_of.get(k, none) & (part == pt)
                if m.any():
                    groups[(k, pt)] = _Group(u[m], site[m], v[m])
        for k in ("cov1", "cov2"):
            for pt in (PART_ANY, PART_BEST, PART_NAMESAKE, PART_SECOND):
                m = kind_of.get(k, none) & (part == pt)
                if m.any():
                    groups[(k, pt)] = _Group(u[m], cell[m], v[m])
        lf._groups = groups
    return lf._groups
