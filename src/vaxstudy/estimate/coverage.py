"""Coverage of register adults, as recorded and corrected with the paper tallies.

Denominator: register residents of the province aged >= 18 at period_end.
Everything is counted per *cell* (residence district x sex x age group at
period_end); province, district, sex and age-group figures are sums of cells.
Rows count up to period_end (coverage is cumulative), at any site.

Recorded coverage (``coverage_doseK_recorded``): residents whose linked rows
reach dose K (highest ``dose_number`` >= K) / residents.

Corrected coverage (``coverage_doseK``) adds the dose-K events never entered:

* per site and week, ``missing_K = tally_K - entered_K`` where ``entered_K``
  counts the dose-K rows that are not duplicate doses (net: a site-day where
  the tally is short of the entries lowers the total);
* **assumption**: the missing doses of a site-week belong to the same mix of
  cells (and of "not an adult resident of the province": unlinked people,
  children, other provinces) as the dose-K events entered at that site that
  week (a site-week with no entry takes the site's mix over the whole time,
  a site with none the province-wide mix);
* site-days whose tally has a quarantined row (``tally_ok`` False) take no part in the
  comparison: neither their entries nor their remaining tallies (a count that cannot be
  read is no tally of 0);
* a missing dose-K event only adds a covered person when that person is not
  already counted through a higher dose: residents with a dose above K but no
  dose-K row (``D_K``) had their dose K missed already, so they are subtracted
  (floor 0).

   coverage_doseK[G] = (recorded_K[G] + max(0, sum_sw missing_K[s,w] * mix_K[s,w,G] - D_K[G])) / N[G]

How wrong this can be: if the missed doses of a site come from a different
mix than its entered doses (e.g. older people entered less), the error for a
group G is ``sum_s missing_K[s] * (true share of G among missing - mix_K[s, G])
/ N[G]``; it cancels in the province total as long as the missing doses are
residents in the same proportion as the entered ones. The
``sensitivity.coverage_bounds`` block gives the extremes (no missing dose
belongs to a resident / every missing dose does), which hold whatever the mix.
``tests/unit/test_estimate_coverage.py`` checks both the formula and the size
of that error on a hand-made case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxstudy.estimate.data import AGE_GROUPS, SEXES, Inputs, tally_ok

COVERAGE_RATES = (
    "coverage_dose1",
    "coverage_dose2",
    "coverage_dose1_recorded",
    "coverage_dose2_recorded",
)
DOSES = (1, 2)


@dataclass
class CoverageParts:
    N: np.ndarray  # (C,) adult residents per cell (0 in the 'other' cell)
    rec: np.ndarray  # (2, C) residents covered as recorded, dose >= 1 / >= 2
    e: np.ndarray  # (2, S, C) entered distinct dose-K events by site and cell
    tally: np.ndarray  # (2, S) tallied dose-K doses by site
    c: np.ndarray  # (2, S, C) imputed missing dose-K events by site and cell
    D: np.ndarray  # (2, C) residents with a higher dose but no dose-K row
    person_maxdose: pd.Series  # highest recorded dose per linked resident (index person_id)
    person_dose_rows: pd.DataFrame  # per linked resident: n rows with dose >= 1, >= 2
    a: np.ndarray | None = None  # (2, S, C) tally-error allowance: visible undercounts x site mix
    undercount: np.ndarray | None = None  # (2,) doses entered beyond the tally, summed over site-days
    over: np.ndarray | None = None  # (2, 2, S) hidden over-counts per site: n x mean size, n x mean squared size
    n_visible: float = 0.0  # visible under-count site-days (both doses): the count their number is estimated from


def coverage_parts(inp: Inputs) -> CoverageParts:
    C, S = inp.n_cells, len(inp.sites)
    other = inp.other_cell
    N = np.bincount(inp.pop["cell"].to_numpy(), minlength=C).astype(float)
    N[other] = 0.0
    rows = inp.rows
    per = _per_person(rows[rows["cell"].to_numpy() != other])
    cell = per["cell"].to_numpy(dtype=np.int64)
    md = per["maxdose"].to_numpy()
    rec = np.stack(
        [np.bincount(cell, weights=(md >= k).astype(float), minlength=C) for k in DOSES]
    )
    D = np.stack(
        [
            np.bincount(cell, weights=((md > 1) & ~per["has1"].to_numpy()).astype(float), minlength=C),
            np.bincount(cell, weights=((md > 2) & ~per["has2"].to_numpy()).astype(float), minlength=C),
        ]
    )
    e = np.zeros((2, S, C))
    tally = np.zeros((2, S))
    c = np.zeros((2, S, C))
    a = np.zeros((2, S, C))
    tv, tv2, undercount_site, n_tal = (np.zeros((2, S)) for _ in range(4))
    sizes: list[np.ndarray] = []  # visible under-counts: (size, entered doses) of each site-day
    undercount = np.zeros(2)
    # the columns read below only (a copy of every column of ~1 M rows costs more than the sums)
    ent = rows.loc[~rows["is_dup"].to_numpy(), [c for c in ("site", "cell", "vdate", "dose", "tally_ok") if c in rows]]
    for i, k in enumerate(DOSES):
        ek = ent[ent["dose"].to_numpy() == k]
        # site-days whose tally was quarantined take no part in the tally comparison
        tk = inp.tallies[(inp.tallies["dose"].to_numpy() == k) & tally_ok(inp.tallies)]
        ek_t = ek[tally_ok(ek)]
        # counts of 1.0: whole numbers, the same in any order of addition
        e[i] = np.bincount(ek["site"].to_numpy() * C + ek["cell"].to_numpy(), minlength=S * C).reshape(S, C)
        tally[i] = np.bincount(tk["site"].to_numpy(), weights=tk["doses"].to_numpy(dtype=float), minlength=S)
        c[i] = _impute_missing(ek_t, tk, e[i], S, C, other)
        tv[i], undercount_site[i], sizes_k = _tally_errors(ek_t, tk, S)
        sizes.append(sizes_k)
        n_tal[i] = np.bincount(tk["site"].to_numpy(), minlength=S)
        undercount[i] = undercount_site[i].sum()
    # counting errors up as often as down, at one rate per tally (both doses, every site counted
    # alike): as many over-counts hide behind missing entries as under-counts show, spread over the
    # sites by their number of tallies, each of the size the visible under-counts give once their
    # truncation by the day's true count is undone (error_sizes); the net missing doses already hold
    # the visible under-counts, so the excess of the hidden over-counts over them is taken off,
    # spread over each site's mix
    s1, s2 = error_sizes(*np.concatenate(sizes, axis=1))
    n_visible = float(tv.sum())
    tv = n_tal * (n_visible / max(n_tal.sum(), 1.0))  # expected hidden over-counts per site
    for i in range(len(DOSES)):
        tot = e[i].sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            mix = np.where(tot > 0, e[i] / np.where(tot > 0, tot, 1.0), 0.0)
        c[i] -= (tv[i] * s1 - undercount_site[i])[:, None] * mix
        # not identified beyond that (how large the hidden over-counts are): the lower end is
        # lowered by the visible under-counts too, as many doses as they show
        a[i] = undercount_site[i][:, None] * mix
        tv2[i] = tv[i] * s2
        tv[i] = tv[i] * s1
    return CoverageParts(
        N=N,
        rec=rec,
        e=e,
        tally=tally,
        c=c,
        D=D,
        person_maxdose=per["maxdose"],
        person_dose_rows=per[["n_ge1", "n_ge2"]],
        a=a,
        undercount=undercount,
        over=np.stack([tv, tv2]),
        n_visible=n_visible,
    )


def _per_person(res: pd.DataFrame) -> pd.DataFrame:
    """Per linked resident (index person_id, ascending): the cell of their first row, the highest
    dose, whether a dose-1 / dose-2 row exists (has1, has2) and the rows of dose >= 1, >= 2
    (n_ge1, n_ge2); one stable sort instead of a pandas group-by."""
    res = res[res["person_id"].notna().to_numpy()]
    pid = res["person_id"].to_numpy(dtype=float)
    o = np.argsort(pid, kind="stable")  # a person's rows keep their order: "first" is the first row
    ps, d, cell = pid[o], res["dose"].to_numpy()[o], res["cell"].to_numpy()[o]
    new = np.ones(len(ps), dtype=bool)
    new[1:] = ps[1:] != ps[:-1]
    st = np.flatnonzero(new)
    if len(st) == 0:
        z = np.zeros(0, dtype=np.int64)
        return pd.DataFrame({"cell": z, "maxdose": z, "has1": z.astype(bool), "has2": z.astype(bool),
                             "n_ge1": z, "n_ge2": z}, index=pd.Index(ps, name="person_id"))

    def per(f, a):
        return f.reduceat(a, st)

    return pd.DataFrame(
        {"cell": cell[st], "maxdose": per(np.maximum, d),
         "has1": per(np.maximum, (d == 1).astype(np.int64)).astype(bool),
         "has2": per(np.maximum, (d == 2).astype(np.int64)).astype(bool),
         "n_ge1": per(np.add, (d >= 1).astype(np.int64)), "n_ge2": per(np.add, (d >= 2).astype(np.int64))},
        index=pd.Index(ps[st], name="person_id"))


def _tally_errors(ek: pd.DataFrame, tk: pd.DataFrame, S: int) -> tuple[np.ndarray, ...]:
    """Visible paper under-counts of one dose: per site the site-days with more distinct entered
    doses than their tally (n) and the doses by which they exceed it (u); and (2, n) the size and
    the entered doses of each (for :func:`error_sizes`).

    Without counting errors (and with right dates) no site-day holds more distinct entered
    doses than its tally. If counting errors go up as often as down, as many site-days are
    over-counted, hidden behind missing entries, and the net missing doses hold those
    over-counts minus the visible under-counts: more than 0 where counts cannot go below 0.
    """
    e = ek.groupby(["site", "vdate"]).size().rename("e")
    t = tk.groupby(["site", "vdate"])["doses"].sum().rename("t")
    # only site-days with a tally: entries at a site without tallies (another province's) are no
    # paper count's error
    j = pd.concat([e, t], axis=1, join="inner")
    j = j[j["e"] > j["t"]]
    u = (j["e"] - j["t"]).to_numpy(dtype=float)
    site = j.index.get_level_values("site").to_numpy(dtype=np.int64)
    return (np.bincount(site, minlength=S).astype(float), np.bincount(site, weights=u, minlength=S),
            np.stack([u, j["e"].to_numpy(dtype=float)]))


def error_sizes(u: np.ndarray, e: np.ndarray) -> tuple[float, float]:
    """Mean and mean square size of a tally's counting error, from the visible under-counts (size u,
    entered doses e of each site-day; ``(0.0, 0.0)`` without any).

    A count cannot go below 0, so an under-count shows its whole size j only on a day whose true
    count exceeds j: the sizes are right-truncated at the day's count, and their plain mean is
    too small where days are small, while nothing truncates an over-count (dev seed 21000, scale
    0.05, dose 1: hidden over-counts 401 doses expected for 537 written, 517 with the truncation
    undone; the excess left in the doses never entered made corrected coverage high). As for the
    entry lags (nowcast.py), the size distribution is estimated through its reverse hazard
    ``P(size = j | size <= j)``, each j from the days that could show it whole: those with more
    than j doses entered (the true count is at least the entries). The largest size seen is taken
    as the largest there is."""
    u, e = np.asarray(u, dtype=float), np.asarray(e, dtype=float)
    if not len(u):
        return 0.0, 0.0
    J = int(u[e > u].max()) if (e > u).any() else 0
    if J == 0:  # every under-count stopped at 0 (no size seen whole): their visible sizes
        return float(u.mean()), float((u**2).mean())
    F = np.ones(J + 1)  # F[j] = P(size <= j); F[J] = 1
    for j in range(J, 1, -1):
        risk = e > j
        den = float((risk & (u <= j)).sum())
        g = float((risk & (u == j)).sum()) / den if den > 0 else 0.0
        F[j - 1] = F[j] * (1.0 - g)
    F[0] = 0.0
    p = np.diff(F)  # p[j - 1] = P(size = j), j = 1..J
    j = np.arange(1, J + 1, dtype=float)
    return float((p * j).sum()), float((p * j**2).sum())


WEEK_ORIGIN = np.datetime64("2021-01-04")  # a Monday
PRIOR_DOSES = 1.0  # weight (in doses) of the site's overall mix in a site-week's mix of owners


def week_of(d: pd.Series) -> np.ndarray:
    return ((d.to_numpy().astype("datetime64[D]") - WEEK_ORIGIN).astype(np.int64)) // 7


def _impute_missing(ek: pd.DataFrame, tk: pd.DataFrame, e_sc: np.ndarray, S: int, C: int, other: int) -> np.ndarray:
    """Missing dose events by site and cell: per site-week, net missing x that site-week's mix.

    A site-week with tallies but no entries takes the site's mix over the whole
    time (or the province-wide mix when the site has no entry at all).
    """
    out = np.zeros((S, C))
    e_w = (
        pd.DataFrame({"site": ek["site"].to_numpy(), "week": week_of(ek["vdate"]), "cell": ek["cell"].to_numpy()})
        .value_counts()
        .rename("n")
        .reset_index()
    )
    tot_w = e_w.groupby(["site", "week"])["n"].sum().rename("e_tot")
    t_w = (
        pd.DataFrame({"site": tk["site"].to_numpy(), "week": week_of(tk["vdate"]), "t": tk["doses"].to_numpy(dtype=float)})
        .groupby(["site", "week"])["t"]
        .sum()
    )
    sw = pd.concat([tot_w, t_w], axis=1).fillna(0.0)
    sw["m"] = sw["t"] - sw["e_tot"]
    # site-weeks with entries: m x mix of the site-week
    with_e = e_w.merge(sw[["m", "e_tot"]].reset_index(), on=["site", "week"])
    np.add.at(out, (with_e["site"].to_numpy(), with_e["cell"].to_numpy()),
              (with_e["m"] * with_e["n"] / with_e["e_tot"]).to_numpy())
    # site-weeks without entries: the site's overall mix, else the province's
    no_e = sw[(sw["e_tot"] == 0) & (sw["m"] != 0)].groupby(level="site")["m"].sum()
    if len(no_e):
        site_tot = e_sc.sum(axis=1, keepdims=True)
        overall = e_sc.sum(axis=0)
        overall = overall / overall.sum() if overall.sum() > 0 else np.eye(C)[other]
        idx = no_e.index.to_numpy(dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mix = np.where(site_tot[idx] > 0, e_sc[idx] / np.where(site_tot[idx] > 0, site_tot[idx], 1), overall[None, :])
        out[idx] += no_e.to_numpy()[:, None] * mix
    return out


def allocation_sd(inp: Inputs, parts: CoverageParts, groups: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{family: (2, G)} sd of the dose-K doses never entered that belong to each group, given the
    imputation's assumption (the missing doses of a site-week are exchangeable with its entered
    ones): the realised owners of the m missing doses are a draw from the site-week's mix, itself
    known only through its n entered doses, so a group's count is Dirichlet-multinomial, variance
    ``m p (1 - p) (m + n) / (1 + n)`` (p its share of the entered doses), summed over site-weeks
    (a site-week without entries: the site's mix and entries, else the province's). This is the
    imputation's error for *this* province's coverage; the site bootstrap measured instead how the
    missing/entered ratio varies between sites (another province's figure). ``groups``: family ->
    H (C x G)."""
    C, S = inp.n_cells, len(inp.sites)
    rows = inp.rows
    ent = rows.loc[~rows["is_dup"].to_numpy(), [c for c in ("site", "cell", "vdate", "dose", "tally_ok") if c in rows]]
    gidx = {f: np.where(H.sum(1) > 0, H.argmax(1), -1) for f, H in groups.items()}
    out = {f: np.zeros((len(DOSES), H.shape[1])) for f, H in groups.items()}

    def dm_var(m, n, p):
        return m * p * (1.0 - p) * (m + n) / (1.0 + n)

    for i, k in enumerate(DOSES):
        ek = ent[ent["dose"].to_numpy() == k]
        ek = ek[tally_ok(ek)]
        tk = inp.tallies[(inp.tallies["dose"].to_numpy() == k) & tally_ok(inp.tallies)]
        ew = pd.DataFrame({"site": ek["site"].to_numpy(), "week": week_of(ek["vdate"]), "cell": ek["cell"].to_numpy()})
        tot = ew.groupby(["site", "week"]).size().rename("n")
        tw = pd.DataFrame({"site": tk["site"].to_numpy(), "week": week_of(tk["vdate"]),
                           "t": tk["doses"].to_numpy(dtype=float)}).groupby(["site", "week"])["t"].sum()
        sw = pd.concat([tot, tw], axis=1).fillna(0.0)
        sw["m"] = np.maximum(sw["t"] - sw["n"], 0.0)
        sw = sw[sw["m"] > 0]
        sw_site = sw.index.get_level_values("site").to_numpy(dtype=np.int64)
        sw_pos = pd.Series(np.arange(len(sw)), index=sw.index)
        m_sw, n_sw = sw["m"].to_numpy(), sw["n"].to_numpy()
        e_sc = parts.e[i]
        site_n, tot_all = e_sc.sum(1), max(float(e_sc.sum()), 1.0)
        for f, H in groups.items():
            # prior mix: the site's over the whole time, else the province's, with the weight of
            # PRIOR_DOSES doses (so a group absent from a week's few entries keeps some chance)
            with np.errstate(divide="ignore", invalid="ignore"):
                base = np.where(site_n[:, None] > 0, (e_sc @ H) / np.where(site_n > 0, site_n, 1.0)[:, None],
                                (e_sc.sum(0) @ H)[None, :] / tot_all)
            ng = np.zeros((len(sw), H.shape[1]))
            g = gidx[f][ew["cell"].to_numpy()]
            pos = sw_pos.reindex(pd.MultiIndex.from_arrays([ew["site"], ew["week"]])).to_numpy()
            ok = (g >= 0) & ~np.isnan(pos)
            np.add.at(ng, (pos[ok].astype(np.int64), g[ok]), 1.0)
            a0 = np.where(n_sw > 0, PRIOR_DOSES, np.where(site_n[sw_site] > 0, site_n[sw_site], tot_all))
            p = (ng + a0[:, None] * base[sw_site]) / (n_sw + a0)[:, None]
            out[f][i] += dm_var(m_sw[:, None], (n_sw + a0)[:, None], p).sum(0)
            if parts.over is not None:
                # the hidden over-counts' number (Poisson, as many as the visible under-counts) and
                # the group of each dose (the site's mix): n (s1 p (1 - p) + s2 p^2); and the error of
                # their expected number, itself read from a count (the visible under-counts, N): the
                # excess taken off each group, E_g = sum_s n_s s1 p_sg, varies as E_g^2 / N
                out[f][i] += (parts.over[0, i][:, None] * base * (1 - base) + parts.over[1, i][:, None] * base**2).sum(0)
                if parts.n_visible > 0:
                    out[f][i] += (parts.over[0, i] @ base) ** 2 / parts.n_visible
    return {f: np.sqrt(v) for f, v in out.items()}


def group_matrices(inp: Inputs) -> dict[str, tuple[list[str], np.ndarray]]:
    """Cell -> group indicator matrices (C x G) for province, district, sex, age group."""
    cells = inp.cells
    C = len(cells)
    real = np.arange(C) != inp.other_cell
    out: dict[str, tuple[list[str], np.ndarray]] = {"province": ([inp.province], real[:, None].astype(float))}
    dists = sorted(set(cells.loc[real, "district_code"]))
    out["district"] = (
        dists,
        np.stack([(cells["district_code"].to_numpy() == d) & real for d in dists], axis=1).astype(float)
        if dists
        else np.zeros((C, 0)),
    )
    out["sex"] = (
        list(SEXES),
        np.stack([(cells["sex"].to_numpy() == s) & real for s in SEXES], axis=1).astype(float),
    )
    out["age_group"] = (
        list(AGE_GROUPS),
        np.stack([(cells["age_group"].to_numpy() == a) & real for a in AGE_GROUPS], axis=1).astype(float),
    )
    return out


def group_sums(parts: CoverageParts, H: np.ndarray) -> dict[str, np.ndarray]:
    """Everything coverage_from needs, summed from cells to the groups of H (C x G), once."""
    return {
        "NG": parts.N @ H,
        "recG": parts.rec @ H,  # (2, G)
        "cG": np.stack([parts.c[i] @ H for i in range(len(DOSES))]),  # (2, S, G)
        "eG": np.stack([parts.e[i] @ H for i in range(len(DOSES))]),  # (2, S, G)
        "DG": parts.D @ H,  # (2, G)
        "AG": (np.stack([parts.a[i].sum(axis=0) @ H for i in range(len(DOSES))])
               if parts.a is not None else np.zeros((len(DOSES), H.shape[1]))),  # (2, G)
    }


def coverage_from(
    parts: CoverageParts,
    H: np.ndarray,
    W: np.ndarray | None = None,
    d_rec: np.ndarray | None = None,
    sums: dict[str, np.ndarray] | None = None,
    d_miss: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Coverage rates for the groups of ``H`` (C x G).

    W: (B, S) site weights of bootstrap replicates (None: every site once, B = 1).
    d_rec: (2, B, C) change of the recorded counts in each replicate (link redraw).
    sums: ``group_sums(parts, H)`` when already computed.
    d_miss: (2, B, G) change of the doses never entered that fall to each group (a replicate's
    draw of their owners, :func:`allocation_sd`).
    Returns arrays of shape (B, G).
    """
    g = sums if sums is not None else group_sums(parts, H)
    S = parts.e.shape[1]
    if W is None:
        W = np.ones((1, S))
    B = W.shape[0]
    NG = g["NG"]
    safe_N = np.where(NG > 0, NG, 1)
    out: dict[str, np.ndarray] = {}
    for i, k in enumerate(DOSES):
        recG = np.broadcast_to(g["recG"][i], (B, H.shape[1])).copy()
        if d_rec is not None:
            recG += d_rec[i] @ H
        num = W @ g["cG"][i]
        den = W @ g["eG"][i]
        E = g["eG"][i].sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.where((E > 0) & (den > 0), num / np.where(den > 0, den, 1.0) * E, num)
        if d_miss is not None:
            corr = corr + d_miss[i]
        corr = np.maximum(corr - g["DG"][i], 0.0)
        out[f"coverage_dose{k}_recorded"] = np.where(NG > 0, recG / safe_N, np.nan)
        # a share of residents cannot exceed 1, whatever the tallies say
        out[f"coverage_dose{k}"] = np.where(NG > 0, np.minimum((recG + corr) / safe_N, 1.0), np.nan)
        # share by which tally over-counts may inflate the correction beyond their expected excess
        # (lowers the interval)
        out[f"allowance:coverage_dose{k}"] = np.broadcast_to(
            np.where(NG > 0, g["AG"][i] / safe_N, np.nan), (B, H.shape[1]))
    return out


def coverage_bounds(parts: CoverageParts, H: np.ndarray) -> dict[str, list[float]]:
    """Province-level extremes of corrected coverage whatever the mix of the missing doses.

    Low: no missing dose belongs to an adult resident (= recorded coverage).
    High: every missing dose (sites where the tally exceeds the entries) belongs
    to an adult resident not yet counted at that dose (capped at 1).
    """
    out = {}
    N = float(parts.N @ H[:, 0])
    for i, k in enumerate(DOSES):
        rec = float(parts.rec[i] @ H[:, 0])
        miss = float(np.maximum(parts.tally[i] - parts.e[i].sum(axis=1), 0).sum())
        if N > 0:
            out[f"coverage_dose{k}"] = [rec / N, min(1.0, (rec + miss) / N)]
        else:
            out[f"coverage_dose{k}"] = [None, None]
    return out
