"""The audit's tidy tables, and its site-level checks: consistency of entries with the paper
tallies (verification factor, dropout, outlier days) and timeliness of entry (lag from
vaccination to entry). Split from :mod:`vaxstudy.estimate.quality`, which assembles the audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy.estimate.data import Inputs

OUTLIER_Z = 3.5

TIDY_COLUMNS = [
    "domain",
    "check",
    "unit_type",
    "unit_id",
    "district_code",
    "numerator",
    "denominator",
    "value",
]


def tidy(frame: pd.DataFrame, domain: str, checks: dict[str, str | tuple[str, str]]) -> pd.DataFrame:
    """Share tables by site, district and province.

    frame: one row per unit of analysis with site_id and district_code; checks
    maps a check name to a boolean column (NaN = not applicable, left out of the
    denominator), or to a (numerator, denominator) pair of count columns.
    """
    cols: dict[str, np.ndarray] = {}
    names = list(checks)
    for n, (check, spec) in enumerate(checks.items()):
        if isinstance(spec, tuple):
            cols[f"n{n}"] = frame[spec[0]].to_numpy(dtype=float)
            cols[f"d{n}"] = frame[spec[1]].to_numpy(dtype=float)
        else:
            col = frame[spec]
            if col.dtype.kind in "fbiu":
                x = col.to_numpy(dtype=float)
            else:
                x = pd.to_numeric(col.astype(object).where(col.notna(), np.nan), errors="coerce")
                x = x.to_numpy(dtype=float)
            ok = ~np.isnan(x)
            cols[f"n{n}"] = np.where(ok, x, 0.0)
            cols[f"d{n}"] = ok.astype(float)
    f = pd.DataFrame(cols)
    # group on integer codes of the site (its district follows), then name them
    site_codes, site_names = pd.factorize(frame["site_id"], sort=True)
    dist_of_site = (
        pd.Series(frame["district_code"].astype(object).to_numpy()).groupby(site_codes).first()
        if len(frame) else pd.Series(dtype=object)
    )
    f["_s"] = site_codes
    by_site = f.groupby("_s", sort=True).sum()
    by_site.insert(0, "district_code", dist_of_site.reindex(by_site.index).to_numpy())
    by_site.insert(0, "site_id", np.asarray(site_names).astype(object)[by_site.index.to_numpy()])
    by_site = by_site.reset_index(drop=True)
    by_d = by_site.drop(columns="site_id").groupby("district_code", sort=True).sum().reset_index()
    prov = by_site.drop(columns=["site_id", "district_code"]).sum().to_frame().T
    levels = [
        by_site.assign(unit_type="site", unit_id=by_site["site_id"]),
        by_d.assign(unit_type="district", unit_id=by_d["district_code"]),
        prov.assign(unit_type="province", unit_id=None, district_code=None),
    ]
    out = []
    for n, check in enumerate(names):
        for lv in levels:
            out.append(pd.DataFrame({
                "check": check, "unit_type": lv["unit_type"].to_numpy(), "unit_id": lv["unit_id"].to_numpy(),
                "district_code": lv["district_code"].to_numpy(),
                "numerator": lv[f"n{n}"].to_numpy(dtype=float), "denominator": lv[f"d{n}"].to_numpy(dtype=float),
            }))
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=TIDY_COLUMNS)
    res["domain"] = domain
    with np.errstate(divide="ignore", invalid="ignore"):
        res["value"] = np.where(res["denominator"] > 0, res["numerator"] / np.where(res["denominator"] > 0, res["denominator"], 1), np.nan)
    return res[TIDY_COLUMNS]


def _stat_rows(domain, check, unit_type, keys, values: pd.Series) -> pd.DataFrame:
    df = values.reset_index() if keys else pd.DataFrame({"value": values.to_numpy()})
    df.columns = [*keys, "value"]
    df["domain"], df["check"], df["unit_type"] = domain, check, unit_type
    df["unit_id"] = df[keys[0]] if keys else None
    if "district_code" not in df:
        df["district_code"] = None
    df["numerator"] = np.nan
    df["denominator"] = np.nan
    return df[TIDY_COLUMNS]


MIN_HISTORY_DAYS = 5


def _robust_z(x: pd.Series, keys: pd.Series) -> np.ndarray:
    """Modified z-score of each day against the site's own active days (x > 0).

    Days with x == 0 are not part of the history and get z = 0; so do sites
    with fewer than MIN_HISTORY_DAYS active days. When the median absolute
    deviation is 0, the mean absolute deviation (x 1.2533) stands in for it;
    the spread is never taken below the Poisson one, sqrt(max(median, 1)).
    """
    active = x > 0
    z = np.zeros(len(x))
    if not active.any():
        return z
    xa, ka = x[active], keys[active]
    z[active.to_numpy()] = _robust_z_all(xa, ka)
    n = ka.groupby(ka).transform("size").to_numpy()
    za = z[active.to_numpy()]
    za[n < MIN_HISTORY_DAYS] = 0.0
    z[active.to_numpy()] = za
    return z


def _robust_z_all(x: pd.Series, keys: pd.Series) -> np.ndarray:
    med = x.groupby(keys).transform("median")
    mad = (x - med).abs().groupby(keys).transform("median")
    meanad = (x - x.groupby(keys).transform("mean")).abs().groupby(keys).transform("mean")
    robust_sd = np.where(mad > 0, mad / 0.6745, 1.253314 * meanad)
    # counts: never a spread below the Poisson one (sqrt of the median, at least 1),
    # so a site with 1-2 doses a day is not flagged for a day of 3
    sd = np.maximum(robust_sd, np.sqrt(np.maximum(med.to_numpy(dtype=float), 1.0)))
    return ((x - med) / sd).to_numpy(dtype=float)


def consistency(dose_counts: pd.DataFrame, day_counts: pd.DataFrame, inp: Inputs
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verification factor, dropout and outlier days from the period's entered rows that are
    not duplicate doses, counted per site and dose (``dose_counts``: site_id, dose, n) and
    per site and day (``day_counts``: site_id, vdate, n), against the tallies."""
    sites = inp.sites[inp.sites["in_province"]][["site_id", "district_code"]].reset_index(drop=True)
    t = inp.tallies[inp.tallies["in_scope"].to_numpy()].copy()
    t["site_id"] = inp.sites["site_id"].to_numpy()[t["site"].to_numpy()]
    # per site: entered and tallied dose events by dose
    e_cnt = dose_counts.set_index(["site_id", "dose"])["n"].unstack(fill_value=0)
    t_cnt = t.groupby(["site_id", "dose"])["doses"].sum().unstack(fill_value=0)
    s = sites.copy()
    for name, tab in (("e", e_cnt), ("t", t_cnt)):
        for k in (1, 2):
            s[f"{name}{k}"] = tab[k].reindex(s["site_id"]).fillna(0).to_numpy() if k in tab else 0.0
        s[f"{name}_all"] = tab.sum(axis=1).reindex(s["site_id"]).fillna(0).to_numpy() if len(tab) else 0.0
    s["d_reg"] = s["e1"] - s["e2"]
    s["d_tal"] = s["t1"] - s["t2"]
    vf = tidy(s, "consistency", {"verification_factor": ("e_all", "t_all")})
    drop = tidy(s, "consistency", {"dropout_registry": ("d_reg", "e1"), "dropout_tally": ("d_tal", "t1")})
    drop = drop[drop["unit_type"] != "site"]
    # outlier site-days against the site's own history
    daily_e = day_counts.set_index(["site_id", "vdate"])["n"].rename("entries")
    daily_t = t.groupby(["site_id", "vdate"])["doses"].sum().rename("tallies")
    daily = pd.concat([daily_e, daily_t], axis=1).fillna(0).reset_index()
    daily = daily[(daily["entries"] > 0) | (daily["tallies"] > 0)].sort_values(["site_id", "vdate"], ignore_index=True)
    flagged = []
    for series in ("entries", "tallies"):
        z = _robust_z(daily[series].astype(float), daily["site_id"])
        daily[f"z_{series}"] = z
        fl = daily[np.abs(z) > OUTLIER_Z]
        flagged.append(
            pd.DataFrame(
                {
                    "site_id": fl["site_id"],
                    "vaccination_date": fl["vdate"].dt.date,
                    "series": series,
                    "count": fl[series].astype(np.int64),
                    "site_median": daily[series].groupby(daily["site_id"]).transform("median")[fl.index],
                    "robust_z": np.round(fl[f"z_{series}"].astype(float), 3),
                }
            )
        )
    out_days = pd.concat(flagged, ignore_index=True)
    out_days = out_days.merge(sites, on="site_id", how="left").sort_values(
        ["site_id", "vaccination_date", "series"], ignore_index=True
    )
    daily["outlier"] = (np.abs(daily["z_entries"]) > OUTLIER_Z) | (np.abs(daily["z_tallies"]) > OUTLIER_Z)
    daily = daily.merge(sites, on="site_id", how="left")
    od = tidy(daily, "consistency", {"outlier_days": "outlier"})
    return pd.concat([vf, drop, od], ignore_index=True), out_days


LAG_BINS = [(-np.inf, -1, "negative"), (0, 0, "0"), (1, 1, "1"), (2, 7, "2-7"), (8, 14, "8-14"),
            (15, 30, "15-30"), (31, 60, "31-60"), (61, np.inf, ">60")]


def timeliness(per: pd.DataFrame, lag_counts: pd.DataFrame, inp: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shares entered within 1, 7, 30 days and without an entered_date (``per``: one row per
    site with rows in the period, the counts of :func:`vaxstudy.estimate.audit_sql.site_counts`),
    the lag's median and 90th percentile and its distribution (``lag_counts``: site_id, lag in
    days, n rows)."""
    f = per.assign(lag_missing=per["n_per"] - per["lag_known"])
    checks = {f"entered_within_{d}d": (f"within_{d}d", "lag_known") for d in (1, 7, 30)}
    tab = tidy(f, "timeliness", {**checks, "entered_date_missing": ("lag_missing", "n_per")})
    # one value per row with a lag, as the quantiles read them
    n = lag_counts["n"].to_numpy(dtype=np.int64)
    site = np.repeat(lag_counts["site_id"].to_numpy(dtype=object), n)
    sites = inp.sites[inp.sites["in_province"].to_numpy()].set_index("site_id")["district_code"]
    # each count's district looked up once, then repeated (not once per row: ~0.6 CPU-s at full scale)
    district = np.repeat(sites.reindex(lag_counts["site_id"].to_numpy(dtype=object)).to_numpy(dtype=object), n)
    lagdf = pd.DataFrame({"site_id": site, "district_code": district,
                          "lag": np.repeat(lag_counts["lag"].to_numpy(dtype=float), n)})
    stats = []
    for check, qv in (("entry_lag_median_days", 0.5), ("entry_lag_p90_days", 0.9)):
        stats.append(
            _stat_rows("timeliness", check, "site", ["site_id", "district_code"],
                       lagdf.groupby(["site_id", "district_code"])["lag"].quantile(qv))
        )
        stats.append(_stat_rows("timeliness", check, "district", ["district_code"],
                                lagdf.groupby("district_code")["lag"].quantile(qv)))
        stats.append(_stat_rows("timeliness", check, "province", [], pd.Series([lagdf["lag"].quantile(qv)] if len(lagdf) else [np.nan])))
    # distribution of the lag, province and district
    labels = np.full(len(lagdf), "", dtype=object)
    for lo, hi, lab in LAG_BINS:
        labels[(lagdf["lag"].to_numpy() >= lo) & (lagdf["lag"].to_numpy() <= hi)] = lab
    lagdf = lagdf.assign(lag_bin=labels)
    dist = []
    for unit_type, keys in (("province", []), ("district", ["district_code"])):
        g = lagdf.groupby([*keys, "lag_bin"]).size().rename("n").reset_index()
        tot = g.groupby(keys)["n"].transform("sum") if keys else g["n"].sum()
        g["share"] = g["n"] / tot
        g["unit_type"] = unit_type
        g["unit_id"] = g["district_code"] if keys else None
        dist.append(g)
    dist = pd.concat(dist, ignore_index=True)
    order = {lab: i for i, (_, _, lab) in enumerate(LAG_BINS)}
    dist["bin_order"] = dist["lag_bin"].map(order)
    dist = dist.sort_values(["unit_type", "unit_id", "bin_order"], na_position="first", ignore_index=True)
    return pd.concat([tab, *stats], ignore_index=True), dist[["unit_type", "unit_id", "lag_bin", "bin_order", "n", "share"]]
