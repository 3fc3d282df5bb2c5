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

The interval (:func:`~vaxstudy.estimate.ci.centred_ci`) is centred on the point by construction: on
each side the wider of the basic bootstrap's (point -/+ the replicates' spread
below/above their median) and the normal one (point -/+ 1.96 sd), kept within
the range the redraw reaches, and extended to the replicates' own 2.5-97.5
percentiles where those reach further. For recorded coverage and the record rates
the sd and the reachable range of the link redraw are also computed exactly
(:func:`redraw_spread`): links of q = 0.999 almost never break in a few hundred
replicates, which then do not vary although the expectation differs from the
thresholded count. The point is thus strictly inside whenever anything is
uncertain (up to the 6 decimals written). Then every interval is extended to reach the
figure of the links as decided (thresholded, no redraw; ``figures.rate_block``): the point is
the expectation under the match probabilities, so it is only as good as their calibration,
which no data without truth can check (at full scale the duplicate rows' links are less often
wrong than 1 - q says, which puts the point of the duplicate doses a few doses below their
truth; docs/estimation.md, "The links as decided" and "Whole counts").
Last, each end is moved out to a whole count (``figures.whole_counts``): every figure is a
count over a total no draw moves, so its truth is whole, and at full scale a district's misses
were single profiles or doses the link model gave no chance, beyond a redraw spread of a tenth
of one.

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

import numpy as np
import pandas as pd

from vaxstudy.estimate.flips import PART_ANY, PART_BEST, PART_NAMESAKE, PART_SECOND, RECORD_KINDS, LinkFlips

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
    "probabilities' calibration, which the data cannot check; each end is then moved out to a whole count "
    "(every figure is a count of rows, profiles, doses or residents over a total no draw moves); the "
    "sensitivity block's figures use the thresholded links"
)


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
