"""What a second profile's doses say about its link: the same dose again, or the next one, at the same site.

A resident's second profile in the vaccination software is, when the link is right, almost
always the same person typed again where they were vaccinated: the same dose at the same site
within a day (typed twice), or the next dose at the same site 14 days to 6 months later (a new
profile at the next visit). A profile wrongly linked to an already profiled resident (a namesake)
has doses of its own, unrelated to the resident's. Neither the site nor the doses are fields of
the link model, so they are fresh evidence for exactly the links the second-profile prior r
(:mod:`vaxstudy.estimate.profiles`) acts on, whose probabilities the link model gives too high
(the model alone) or far too low (with r) on the development provinces (docs/estimation.md,
*Second profiles: the dose pattern as evidence*).

The pattern's Bayes factor is m / u when present and (1 - m) / (1 - u) when absent, both from the
data, no truth:

* m, the pattern's share among second profiles whose link is sure (p >= ``SURE``);
* u, its share when each of these profiles is set against a random *other* person vaccinated in
  the same area (the district of the profile's site): a wrongly linked resident is a namesake the
  link model found, mostly in the district the row was typed in. Drawn at the same site instead
  (the worst case) u was 17 times higher on the development province, drawn in the whole
  province 15 times lower; the development figures of all three are in docs/estimation.md.

With fewer than ``MIN_SURE`` sure second profiles (a small province) the factor is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SAME_DAYS = 1  # the same dose typed again: dates at most a day apart
NEXT_DAYS = (14, 183)  # the next dose: two weeks to six months after
SURE = 0.99999  # a second profile whose link is at least this sure measures m
MIN_SURE = 30  # fewer sure second profiles than this: no evidence taken
SEED = 20211031  # the random other persons of u (fixed: the estimate is reproducible)


@dataclass(frozen=True)
class PatternEvidence:
    """m and u of the dose pattern, and how many profiles measured them."""

    m: float
    u: float
    n_sure: int
    n_probe: int

    def factor(self, hit: np.ndarray) -> np.ndarray:
        """The Bayes factor per profile (present: m / u, absent: (1 - m) / (1 - u)); 1 when unusable."""
        hit = np.asarray(hit, dtype=bool)
        if self.n_sure < MIN_SURE or not np.isfinite(self.m) or not np.isfinite(self.u):
            return np.ones(len(hit))
        return np.where(hit, self.m / self.u, (1.0 - self.m) / (1.0 - self.u))


NO_EVIDENCE = PatternEvidence(float("nan"), float("nan"), 0, 0)


def days(v: pd.Series) -> np.ndarray:
    """Dates as whole days since 1970."""
    a = np.asarray(v)
    if not np.issubdtype(a.dtype, np.datetime64):
        a = pd.to_datetime(v).to_numpy()
    return a.astype("datetime64[D]").astype(np.int64)


def linked_doses(rows: pd.DataFrame, area: np.ndarray | None = None) -> pd.DataFrame:
    """key (the person), site, dose, day, gid (the profile) and area (``area`` per row of ``rows``,
    else the site) of the linked rows with a dose number."""
    lk = rows["person_id"].notna().to_numpy() & (rows["dose"].to_numpy() > 0)
    site = rows["site"].to_numpy(np.int64)
    return pd.DataFrame({"key": rows["person_key"].to_numpy(np.int64)[lk], "site": site[lk],
                         "dose": rows["dose"].to_numpy(np.int64)[lk], "day": days(rows["vdate"])[lk],
                         "gid": rows["subject_id"].to_numpy(np.int64)[lk],
                         "area": (site if area is None else np.asarray(area, dtype=np.int64))[lk]})


def hits(probe: pd.DataFrame, doses: pd.DataFrame) -> np.ndarray:
    """Per row of ``probe`` (key, site, dose, day, gid): whether its profile ``gid`` has, with person
    ``key``, the pattern: a row of ``doses`` of that person, at the same site, in another profile,
    of the same dose within SAME_DAYS or of the next (or previous) dose NEXT_DAYS apart."""
    if probe.empty or doses.empty:
        return np.zeros(len(probe), dtype=bool)
    p = probe[["key", "site", "dose", "day", "gid"]].reset_index(drop=True).assign(_i=np.arange(len(probe)))
    # only the probed persons' doses (a join over all a province's rows costs a second)
    mine = doses[np.isin(doses["key"].to_numpy(), p["key"].to_numpy())]
    m = p[p["dose"] > 0].merge(mine[["key", "site", "dose", "day", "gid"]], on=["key", "site"], suffixes=("", "_o"))
    m = m[m["gid"].to_numpy() != m["gid_o"].to_numpy()]
    dd, ds = m["day_o"].to_numpy() - m["day"].to_numpy(), m["dose_o"].to_numpy() - m["dose"].to_numpy()
    lo, hi = NEXT_DAYS
    ok = (((ds == 0) & (np.abs(dd) <= SAME_DAYS)) | ((ds == 1) & (dd >= lo) & (dd <= hi))
          | ((ds == -1) & (-dd >= lo) & (-dd <= hi)))
    row_hit = np.zeros(len(p), dtype=bool)
    row_hit[m["_i"].to_numpy()[ok]] = True
    # a profile has the pattern when any of its rows has it (with the same person)
    grp = pd.Series(row_hit).groupby([p["key"].to_numpy(), p["gid"].to_numpy()]).transform("any")
    return grp.to_numpy(dtype=bool)


def random_others(probe: pd.DataFrame, doses: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``probe`` with each row's key replaced by that of a random other linked row of the same area
    (rows where none was drawn are dropped): the pattern against a person vaccinated nearby."""
    if probe.empty or doses.empty:
        return probe.iloc[:0]
    site_sorted = np.sort(doses["area"].to_numpy())
    order = np.argsort(doses["area"].to_numpy(), kind="stable")
    keys = doses["key"].to_numpy()[order]
    s = probe["area"].to_numpy()
    lo, hi = np.searchsorted(site_sorted, s, "left"), np.searchsorted(site_sorted, s, "right")
    has = hi > lo
    pick = lo + np.floor(rng.random(len(s)) * np.maximum(hi - lo, 1)).astype(np.int64)
    other = np.where(has, keys[np.minimum(pick, len(keys) - 1)], -1)
    ok = has & (other != probe["key"].to_numpy())
    out = probe.assign(key=other)[ok]
    # each profile against one other person: the one drawn for its first row
    return out.assign(key=out.groupby("gid", sort=False)["key"].transform("first").to_numpy(np.int64))


def pattern_evidence(probe: pd.DataFrame, probe_hit: np.ndarray, sure: np.ndarray,
                     doses: pd.DataFrame) -> PatternEvidence:
    """m over the profiles of ``probe`` (key, site, dose, day, gid, area) whose link is ``sure`` (per
    row), u over the same profiles set against random other persons of their areas. ``probe_hit``:
    :func:`hits` of ``probe``."""
    s = np.asarray(sure, dtype=bool)
    prof = pd.DataFrame({"key": probe["key"].to_numpy(), "gid": probe["gid"].to_numpy(), "hit": probe_hit, "sure": s})
    per = prof.groupby(["key", "gid"], sort=False).agg(hit=("hit", "any"), sure=("sure", "all"))
    sure_prof = per[per["sure"]]
    n_sure = len(sure_prof)
    if n_sure < MIN_SURE:
        return PatternEvidence(float("nan"), float("nan"), n_sure, 0)
    m = (float(sure_prof["hit"].sum()) + 0.5) / (n_sure + 1.0)
    sel = probe[s].reset_index(drop=True)
    others = random_others(sel, doses, np.random.default_rng(SEED))
    oh = hits(others, doses)
    n_probe = int(others["gid"].nunique())
    u_hits = int(pd.Series(oh).groupby(others["gid"].to_numpy()).any().sum()) if n_probe else 0
    u = (u_hits + 0.5) / (n_probe + 1.0)
    return PatternEvidence(float(m), float(u), n_sure, n_probe)


MIN_TAKEN = 30  # fewer unlinked rows with a profiled candidate than this: r and the factor, as above


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -700.0, 700.0)))


def taken_prior(cand_q: np.ndarray, hit: np.ndarray, ev: PatternEvidence, iters: int = 200) -> np.ndarray | None:
    """:func:`taken_fit` applied to the rows it is fitted on (None when it is not usable)."""
    fit = taken_fit(cand_q, hit, ev, iters)
    return None if fit is None else fit(cand_q)


def taken_fit(cand_q: np.ndarray, hit: np.ndarray, ev: PatternEvidence, iters: int = 200):
    """The probability that each unlinked row's profiled best candidate is its person, before the
    pattern: logit = a + b logit(cand_q), with (a, b) the maximum likelihood of the rows' pattern
    observations (EM; a row is its candidate with the pattern's probability m, someone else with u)
    and b kept in [0, 1] (the model's ranking never reversed nor sharpened). Returns that map (it
    also takes a runner-up candidate's probability); None when the evidence is unusable or the rows
    are fewer than MIN_TAKEN.

    Why not r: r, estimated from the linked profiles, is the chance that *a profile* is its person's
    second; these rows are the ones the link model could not link, and a second profile is typed
    mostly because the person was not found (a variant of the name), so among them the share is
    far higher, and the model's probability ranks them little (docs/estimation.md, *Unlinked rows
    with a profiled candidate*)."""
    cq = np.clip(np.nan_to_num(np.asarray(cand_q, dtype=float), nan=0.0), 1e-9, 1 - 1e-9)
    hit = np.asarray(hit, dtype=bool)
    if len(cq) < MIN_TAKEN or ev.n_sure < MIN_SURE or not (np.isfinite(ev.m) and np.isfinite(ev.u)):
        return None
    x, llr = np.log(cq / (1.0 - cq)), np.log(ev.factor(hit))
    a, b = float(np.log((hit.mean() + 0.5 / len(hit)) / (1.0 - hit.mean()))), 0.0
    for _ in range(iters):
        w = _sig(a + b * x + llr)  # E: the chance each row is its candidate, given its pattern
        a0, b0 = a, b
        for _ in range(25):  # M: weighted logistic fit of w on logit(cand_q), b within [0, 1]
            p = _sig(a + b * x)
            h = p * (1.0 - p) + 1e-12
            H = np.array([[h.sum(), (h * x).sum()], [(h * x).sum(), (h * x * x).sum()]])
            g = np.array([(w - p).sum(), ((w - p) * x).sum()])
            step = np.linalg.solve(H + 1e-9 * np.eye(2), g)
            a, b = float(np.clip(a + step[0], -50.0, 50.0)), float(b + step[1])
            if not 0.0 <= b <= 1.0:  # on the bound: a alone
                b = min(max(b, 0.0), 1.0)
                for _ in range(25):
                    p = _sig(a + b * x)
                    a = float(np.clip(a + (w - p).sum() / ((p * (1.0 - p)).sum() + 1e-12), -50.0, 50.0))
                break
            if abs(step).max() < 1e-10:
                break
        if abs(a - a0) < 1e-8 and abs(b - b0) < 1e-8:
            break

    def prior(q: np.ndarray) -> np.ndarray:
        c = np.clip(np.nan_to_num(np.asarray(q, dtype=float), nan=0.0), 1e-9, 1 - 1e-9)
        return _sig(a + b * np.log(c / (1.0 - c)))

    return prior
