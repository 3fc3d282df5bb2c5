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

from vaxstudy.estimate import tally_errors
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
    undercount: np.ndarray | None = None  # (2,) doses entered beyond the tally, summed over site-days
    # (2, 3, S) tally errors per site that no visible excess shows (over-counts, and under-counts'
    # parts behind missing entries): expected doses, mean square, net excess taken off (over - under)
    err: np.ndarray | None = None
    err_w: np.ndarray | None = None  # (2, S, J) the net excess per expected under-count of size j (tally_errors)
    err_cov: np.ndarray | None = None  # (J, J) covariance of those expected under-counts


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
    days: list[pd.DataFrame] = []
    undercount_site = np.zeros((2, S))
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
        days.append(tally_errors.site_days(ek_t, tk))
        d = days[-1]
        vis = (d["e"] > d["t"]).to_numpy()
        undercount_site[i] = np.bincount(d["site"].to_numpy()[vis], weights=(d["e"] - d["t"]).to_numpy()[vis],
                                         minlength=S)
    # the net missing doses hold every over-count minus every under-count: the visible under-counts'
    # excess is known; the over-counts and the under-counts' part that no excess shows (hidden behind
    # the day's missing entries) are expected from one error model of both doses (tally_errors), and
    # their net is taken off the doses never entered, spread over each site's mix
    model = tally_errors.fit(np.concatenate([d["t"].to_numpy() for d in days]),
                             np.concatenate([d["e"].to_numpy() for d in days]))
    err = np.zeros((2, 3, S))
    err_w = np.stack([tally_errors.net_weights(model, d, S) for d in days])
    for i in range(len(DOSES)):
        tot = e[i].sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            mix = np.where(tot > 0, e[i] / np.where(tot > 0, tot, 1.0), 0.0)
        o1, o2, h1, h2 = tally_errors.site_errors(model, days[i], S)
        c[i] -= (o1 - h1 - undercount_site[i])[:, None] * mix
        err[i] = (o1 + h1, o2 + h2, o1 - h1)
    return CoverageParts(
        N=N,
        rec=rec,
        e=e,
        tally=tally,
        c=c,
        D=D,
        person_maxdose=per["maxdose"],
        person_dose_rows=per[["n_ge1", "n_ge2"]],
        undercount=undercount_site.sum(axis=1),
        err=err,
        err_w=err_w,
        err_cov=model.cov,
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
            if parts.err is not None:
                # the realised errors around their expectation (Poisson numbers, each dose of an error
                # to a group with the site's mix): sum n (s1 p (1 - p) + s2 p^2) over the over-counts and
                # the under-counts' unseen parts; and the error of their expected numbers of each size,
                # fitted to the visible excesses: the net excess taken off a group is w_g . theta, its
                # variance w_g' cov w_g (number and sizes; before: the number only, E_g^2 / N)
                out[f][i] += (parts.err[i, 0][:, None] * base * (1 - base) + parts.err[i, 1][:, None] * base**2).sum(0)
                if parts.err_w is not None and parts.err_cov is not None and parts.err_cov.size:
                    wg = base.T @ parts.err_w[i]  # (G, J)
                    out[f][i] += np.einsum("gj,jk,gk->g", wg, parts.err_cov, wg)
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
