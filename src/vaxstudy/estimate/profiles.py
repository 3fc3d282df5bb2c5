"""One person, (almost) one profile: the link redraw's probabilities for a second profile.

The link model scores each registry identity against the register as if any resident were as
likely as any other to be its person (a uniform prior). But a resident who already has a
profile in the vaccination software rarely gets another one: at full scale the redraw counted
an unlinked row whose best candidate already had a profile as a duplicate profile with the
candidate's probability (13 expected where 3 were true on the development province), and a
second profile linked to an already profiled resident with p = 0.5-0.99 was wrong 11 times
where sum(1 - p) was 1.8. Both biased ``duplicate_subject_rate`` and ``duplicate_dose_rate``
upwards by several times their interval (docs/estimation.md, *Second profiles*).

The correction is a prior odds factor ``r`` for "this profile belongs to a resident who
already has another one", estimated from the linked profiles themselves (no truth):

    r = odds(d) / odds(f),

``d`` the share of linked profiles that are not their person's first (smoothed by half a
profile), ``f`` the share of the register's entries with a linked profile (what the model's
prior, uniform over the register it linked against, expects a profile's person to be; without
the register's size, the share of the province's adult residents). The redraw then uses, for an unlinked row
whose best candidate has a profile, and for the rows of every profile of a resident but the
most certain one, the probability with its odds multiplied by ``r`` (never raised: ``r`` <= 1).
The thresholded links are unchanged; only the expectation and the spread of the redraw move.

Applied to the link model's probabilities alone, r over-corrects: they are too sure of a second
profile on their own and r makes them far too unsure (development provinces: 34-37 wrongly linked
rows of second profiles where the model expects 10-15 and the model with r 66-84). The same links
also get the evidence of their doses (:mod:`vaxstudy.estimate.profile_pattern`: the same dose again
or the next one at the same site), which the link model never saw: with it, 35-41 are expected.
For the unlinked rows whose best candidate has a profile, r does not hold (r with the pattern
expected 3-11 right where 10-23 were): when the pattern's evidence is usable, their prior is fitted
to their own pattern instead (:func:`vaxstudy.estimate.profile_pattern.taken_prior`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxstudy.estimate import profile_pattern, sorting
from vaxstudy.estimate.rates import subject_table


@dataclass(frozen=True)
class ProfilePrior:
    """``factor`` r, and what it was estimated from."""

    factor: float
    dup_share: float  # d: linked profiles that are a second (or later) profile of their person
    profiled_share: float  # f: register entries with a linked profile
    n_linked_profiles: int


def odds_scaled(p: np.ndarray, factor: float | np.ndarray) -> np.ndarray:
    """Probabilities with their odds multiplied by ``factor`` (0 and 1 stay where they are)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = factor * p / (factor * p + (1.0 - p))
    return np.where(np.isfinite(out), out, p)


def linked_profiles(rows: pd.DataFrame, subj: pd.DataFrame | None = None) -> pd.DataFrame:
    """The profiles (subjects) of ``rows`` whose person is a register person: subject_id,
    person_key, first_row, is_dup_subject (:func:`~vaxstudy.estimate.rates.subject_table`).
    ``subj``: the subject table of all of ``rows``, when already made (the estimate's own when
    every row is in scope: one table instead of two)."""
    subj = subject_table(rows[["subject_id", "person_key", "row", "site"]]) if subj is None else subj
    # isin's own table or sort of the keys (not np.unique first: its hash of ~1 M keys cost 0.8 CPU-s)
    linked = rows["person_key"].to_numpy()[rows["person_id"].notna().to_numpy()]
    return subj[np.isin(subj["person_key"].to_numpy(), linked)]


def profile_prior(rows: pd.DataFrame, n_register: int | None, pop_person_ids: np.ndarray,
                  subj: pd.DataFrame | None = None) -> ProfilePrior:
    """r = odds(d) / odds(f) from the rows (all up to the period's end) and the register's size
    (``n_register``; if None, the codes of the province's adult residents, ``pop_person_ids``,
    in the code space of ``rows.person_key``). ``subj``: :func:`linked_profiles` of the rows, when
    already made."""
    subj = linked_profiles(rows) if subj is None else subj
    n = len(subj)
    if n_register:
        n_pop, n_prof = int(n_register), int(subj["person_key"].nunique())
    else:
        n_pop = len(pop_person_ids)
        n_prof = int(np.isin(pop_person_ids, subj["person_key"].to_numpy()).sum())
    if n == 0 or n_pop == 0:
        return ProfilePrior(1.0, float("nan"), float("nan"), n)
    d = (float(subj["is_dup_subject"].sum()) + 0.5) / (n + 1.0)
    f = min(max(n_prof, 0.5), n_pop - 0.5) / n_pop
    r = (d / (1.0 - d)) / (f / (1.0 - f))
    return ProfilePrior(float(min(r, 1.0)), d, f, n)


def second_profile_rows(rows: pd.DataFrame, subj: pd.DataFrame | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(second, taken, taken2) per row: a linked row of a profile that is not its person's most
    certain one (highest q, then the earliest; the person having several), an unlinked row whose
    best candidate already has a linked profile, and one whose runner-up candidate has.
    ``subj``: :func:`linked_profiles`, when already made."""
    q = rows["q"].to_numpy(dtype=float)
    linked = rows["person_id"].notna().to_numpy()
    pk, sid = rows["person_key"].to_numpy(np.int64), rows["subject_id"].to_numpy(np.int64)
    subj = linked_profiles(rows) if subj is None else subj
    persons, n_prof = np.unique(subj["person_key"].to_numpy(), return_counts=True)
    # each linked profile's certainty: the highest q of its rows
    lpk, lsid = pk[linked], sid[linked]
    o = np.lexsort((rows["row"].to_numpy()[linked], -np.nan_to_num(q[linked]), lpk))  # by person, surest first
    first = o[sorting.starts(lpk[o])]
    best_sid = sorting.lookup(lpk[first], lsid[first], pk, -1)
    several = sorting.lookup(persons, n_prof, pk, 0) >= 2
    second = linked & several & (sid != best_sid)
    return second, _profiled(rows, linked, persons, n_prof), _profiled(rows, linked, persons, n_prof, "cand2")


def _profiled(rows: pd.DataFrame, linked: np.ndarray, persons: np.ndarray, n_prof: np.ndarray,
              col: str = "cand") -> np.ndarray:
    """Unlinked rows whose candidate (``col``: 'cand' the best, 'cand2' the runner-up) already has a
    linked profile (``persons`` with ``n_prof`` profiles each)."""
    taken = np.zeros(len(rows), dtype=bool)
    if f"{col}_person_id" not in rows:
        return taken
    cand = rows[f"{col}_person_id"].to_numpy(dtype=float)
    has = ~linked & np.isfinite(cand) & np.isfinite(rows[f"{col}_q"].to_numpy(dtype=float))
    taken[has] = sorting.lookup(persons, n_prof, cand[has].astype(np.int64), 0) >= 1
    return taken


def dose_pattern(rows: pd.DataFrame, second: np.ndarray, taken: np.ndarray, area: np.ndarray | None = None,
                 taken2: np.ndarray | None = None) -> tuple:
    """The dose pattern's evidence (m, u) and whether each ``second`` row's profile has it with its
    person and each ``taken`` row's profile with its best candidate (:mod:`profile_pattern`); with
    ``taken2``, also each such row's profile with its runner-up candidate (a fourth value).
    ``area``: per row, the group u's random other persons are drawn in (the district of its site;
    None: the site itself)."""
    t2 = np.zeros(len(rows), dtype=bool) if taken2 is None else taken2
    if "dose" not in rows or "vdate" not in rows or not (second.any() or taken.any() or t2.any()):
        out = profile_pattern.NO_EVIDENCE, np.zeros(int(second.sum()), bool), np.zeros(int(taken.sum()), bool)
        return out if taken2 is None else (*out, np.zeros(int(t2.sum()), bool))
    area = rows["site"].to_numpy(np.int64) if area is None else np.asarray(area, dtype=np.int64)
    doses = profile_pattern.linked_doses(rows, area)

    def probe(mask: np.ndarray, key: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"key": key[mask].astype(np.int64), "site": rows["site"].to_numpy(np.int64)[mask],
                             "dose": rows["dose"].to_numpy(np.int64)[mask],
                             "day": profile_pattern.days(rows["vdate"][mask]),
                             "gid": rows["subject_id"].to_numpy(np.int64)[mask], "area": area[mask]})

    ps = probe(second, rows["person_key"].to_numpy(np.int64))
    pt = probe(taken, np.nan_to_num(rows["cand_person_id"].to_numpy(dtype=float), nan=-1))
    hs, ht = profile_pattern.hits(ps, doses), profile_pattern.hits(pt, doses)
    sure = rows["q"].to_numpy(dtype=float)[second] >= profile_pattern.SURE
    out = profile_pattern.pattern_evidence(ps, hs, sure, doses), hs, ht
    if taken2 is None:
        return out
    if not t2.any():
        return (*out, np.zeros(0, bool))
    return (*out, profile_pattern.hits(probe(t2, np.nan_to_num(rows["cand2_person_id"].to_numpy(dtype=float), nan=-1)),
                                       doses))


def adjusted_probabilities(rows: pd.DataFrame, prior: ProfilePrior, subj: pd.DataFrame | None = None,
                           *, pattern: bool = True, area: np.ndarray | None = None, runner_up: bool = False
                           ) -> tuple[np.ndarray, ...]:
    """Per row of ``rows``: (q, cand_q, cand_any) with the prior applied and, with ``pattern``,
    the dose pattern's evidence (:func:`dose_pattern`). ``q`` of a linked row is scaled when its
    profile is a second one, an unlinked row's ``cand_q`` when its best candidate has a profile
    (:func:`second_profile_rows`), and ``cand_any`` (in the register at all) moves with it.
    ``subj``: :func:`linked_profiles` of the rows, when already made; ``area``: see :func:`dose_pattern`.
    With ``runner_up``, also the runner-up's ``cand2_q``, adjusted as ``cand_q`` when the runner-up
    has a profile (the same prior, the pattern with the runner-up), a fourth value; where the two
    then exceed 1 they are scaled to share it (one row, one person)."""
    q = rows["q"].to_numpy(dtype=float).copy()
    cq = rows["cand_q"].to_numpy(dtype=float).copy()
    ca = rows["cand_any"].to_numpy(dtype=float).copy() if "cand_any" in rows else cq.copy()
    cq2 = rows["cand2_q"].to_numpy(dtype=float).copy() if "cand2_q" in rows else np.full(len(rows), np.nan)
    if len(rows) == 0:
        return (q, cq, ca, cq2) if runner_up else (q, cq, ca)
    second, taken, taken2 = second_profile_rows(rows, subj)
    taken2 = taken2 if runner_up else np.zeros(len(rows), dtype=bool)
    f_second = np.full(int(second.sum()), prior.factor)
    f_taken, f_taken2 = np.full(int(taken.sum()), prior.factor), np.full(int(taken2.sum()), prior.factor)
    base, base2 = cq[taken], cq2[taken2]
    if pattern:
        ev, hs, ht, ht2 = dose_pattern(rows, second, taken, area, taken2)
        f_second, f_taken, f_taken2 = f_second * ev.factor(hs), f_taken * ev.factor(ht), f_taken2 * ev.factor(ht2)
        fit = profile_pattern.taken_fit(base, ht, ev)
        if fit is not None:  # the unlinked rows' own prior, fitted to their pattern, replaces r
            base, f_taken = fit(base), ev.factor(ht)
            base2, f_taken2 = fit(base2), ev.factor(ht2)
    # a factor of 1 leaves a probability as it is (not recomputed: the same bits as before)
    q[second] = np.where(f_second != 1.0, odds_scaled(q[second], f_second), q[second])
    new = np.where(f_taken != 1.0, odds_scaled(base, f_taken), base)
    d2 = np.zeros(len(rows))  # the runner-up's change, which in_register_probability follows too
    d2[taken2] = np.where(f_taken2 != 1.0, odds_scaled(base2, f_taken2), base2) - cq2[taken2]
    both = taken | taken2
    ca0 = np.where(np.isfinite(ca), ca, cq)
    cq_new = cq.copy()
    cq_new[taken] = new
    ca[both] = np.clip(ca0[both] - cq[both] + cq_new[both] + d2[both], 0.0, 1.0)
    if not runner_up:
        return q, cq_new, ca
    cq2[taken2] += d2[taken2]
    tot = cq_new + np.nan_to_num(cq2)
    over = np.isfinite(cq2) & (tot > 1.0)
    cq_new[over], cq2[over] = cq_new[over] / tot[over], cq2[over] / tot[over]
    return q, cq_new, ca, cq2
