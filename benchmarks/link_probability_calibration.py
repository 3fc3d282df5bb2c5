"""Can the link probabilities the estimate redraws be recalibrated without truth? Three methods, measured.

    python benchmarks/link_probability_calibration.py --db WORK.duckdb --model link_model.json
    python benchmarks/link_probability_calibration.py --db WORK.duckdb --second-profiles

``WORK.duckdb``: a linked synthetic province (record_links, vaccinations_std, population_std,
sites, link_run, and the generator's ``truth``), opened read-only; ``link_model.json``: its link
model (the phone comparison's levels and m). Each method computes new probabilities from data
the estimate can read, no truth; the truth only scores them, per band of the stored probability:

* linked rows: wrong links against Σ(1 − p) (stored) and Σ(1 − p′) (the method);
* unlinked rows with a best candidate: candidates right against Σ p and Σ p′, rows whose person
  is in the register against Σ in_register_probability and its recalibrated value.

Methods (docs/estimation.md, *Recalibrating the link probabilities without truth*):

1. ``phone``: phone as an instrument. Take the phone's Bayes factor out of each pair's odds
   (p₋ₚ), bin the pairs with a phone on both sides by logit p₋ₚ, and read the true share of each
   bin off the phone agreement rate (t = agreement / m, m from the surest pairs); the bin's shift
   of the logit is then applied to every pair of the bin, phone or not, and the phone's evidence
   put back with u counted in the register.
2. ``phone_u``: only the phone's u replaced by the register's (pairs of persons sharing a phone),
   instead of Splink's default for a level never seen among random pairs.
3. ``site_class``: the share of rows with a register person (pi) estimated per class of a row's
   own fields (its typed district is its site's district / another / missing) by the link's own
   fixed point (pi_c = mean P(has a register person)), and each row's odds rescaled from the
   link's global pi to its class's.

``--second-profiles`` scores instead the probabilities the estimate's second-profile rule gives
(estimate/profiles.py with the dose pattern of estimate/profile_pattern.py, rows up to
``--end``): wrongly linked rows of second profiles against Σ(1 − p) and unlinked rows given to an
already profiled candidate against Σ p, for the link model alone, with the prior r, and with the
dose pattern (r for the second profiles; for the unlinked rows, their own prior fitted to the
pattern, ``profile_pattern.taken_prior``); and the pattern's u with the random other person drawn at the same site, in the
same district (the rule) or anywhere in the province.

Prints markdown tables. Row-level normalisation (one register person per row) is not a method
here: the link already does it (docs/linkage.md, step 5, *Exclusive probabilities*).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

BANDS = [0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.99999, 1.01]
ZBINS = [-np.inf, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 8, np.inf]  # logit p₋ₚ, natural log
# Splink's u for a level no random pair fell in (phone "exact" and "one digit off" in these models):
# read from the models' match-weight charts, the factor the link scored with
DEFAULT_U = {"Exact match on phone": 0.000927734375, "phone one digit off": 0.003125}


def markdown(t: pd.DataFrame, digits: int = 4) -> str:
    """A markdown table (no extra dependency)."""
    def cell(v: object) -> str:
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(map(str, t.columns)) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines)


def odds(x: np.ndarray) -> np.ndarray:
    return x / (1.0 - x)


def sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def phone_levels(model: dict) -> tuple[str, np.ndarray, np.ndarray]:
    """SQL CASE giving the phone comparison level (0 = null) and each level's m and u as scored."""
    comp = next(c for c in model["comparisons"] if c["output_column_name"] == "phone")
    levels = comp["comparison_levels"]
    whens = " ".join(f"WHEN {lv['sql_condition']} THEN {i}" for i, lv in enumerate(levels)
                     if lv["sql_condition"] != "ELSE")
    m = np.array([np.nan] + [lv.get("m_probability") or np.nan for lv in levels[1:]], dtype=float)
    u = np.array([np.nan] + [lv.get("u_probability") or DEFAULT_U[lv["label_for_charts"]] for lv in levels[1:]],
                 dtype=float)
    return f"CASE {whens} ELSE {len(levels) - 1} END", m, u


def load(db: str, model: dict) -> tuple[pd.DataFrame, float, float]:
    """One row per registry row: stored probabilities, its candidate, phone level, class, truth."""
    case, _, _ = phone_levels(model)
    con = duckdb.connect(db, read_only=True)
    n_reg = con.execute("SELECT count(*) FROM population_std").fetchall()[0][0]
    pi0 = con.execute("SELECT prior FROM link_run").fetchall()[0][0] * n_reg
    df = con.execute(f"""
        SELECT l.record_id, l.person_id IS NOT NULL AS linked, l.match_probability AS p,
               l.best_match_probability AS bp, l.in_register_probability AS h,
               coalesce(l.person_id, l.best_person_id) AS cand, t.true_person_id AS tp,
               CASE WHEN v.district_code IS NULL OR st.district_code IS NULL THEN 'missing'
                    WHEN v.district_code = st.district_code THEN 'same' ELSE 'other' END AS cls,
               CASE WHEN q.unique_id IS NULL THEN 0 ELSE {case.replace('"phone_l"', 'v.phone').replace('"phone_r"', 'q.phone')} END AS lvl
        FROM record_links l JOIN truth t USING (record_id)
        JOIN vaccinations_std v USING (record_id)
        LEFT JOIN sites st ON st.site_id = v.site_id
        LEFT JOIN population_std q ON q.unique_id = coalesce(l.person_id, l.best_person_id)""").df()
    shared = con.execute("SELECT sum(c * (c - 1)), sum(c) FROM (SELECT count(*) AS c FROM population_std "
                         "WHERE phone IS NOT NULL GROUP BY phone)").fetchall()[0]
    u_exact = float(shared[0]) / (float(shared[1]) * (float(shared[1]) - 1.0))
    df["right"] = (df.cand == df.tp).to_numpy()
    return df, float(pi0), u_exact


def has_person(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the odds H that some candidate is its person and the best candidate's share B of
    them (lam B / (1 - pi)), from the stored columns; a linked row's other candidates are not
    stored, so its H is its own odds (R = 0)."""
    lk = df.linked.to_numpy()
    p, bp, h = (df[c].to_numpy(float) for c in ("p", "bp", "h"))
    hh = np.where(lk, p, np.where(np.isfinite(h), h, np.where(np.isfinite(bp), bp, 0.0)))
    big_h = odds(np.clip(hh, 0.0, 1 - 1e-15))
    b = np.where(lk, big_h, np.where(np.isfinite(bp), bp * (1 + big_h), 0.0))
    return big_h, b


def best_p(df: pd.DataFrame) -> np.ndarray:
    return np.where(df.linked, df.p, df.bp).astype(float)


def method_phone(df: pd.DataFrame, model: dict, u_exact: float, *, shift_bins: bool) -> tuple[np.ndarray, pd.DataFrame]:
    """Best-candidate probabilities after the phone instrument (shift_bins) or the phone u alone."""
    _, m, u = phone_levels(model)
    lvl = df.lvl.to_numpy()
    bf = np.where(lvl > 0, m[np.maximum(lvl, 1)] / u[np.maximum(lvl, 1)], 1.0)
    u_true = u.copy()
    u_true[1] = u_exact
    u_true[2] = u_exact * 50.0  # one digit off: ~50 neighbours of a number agree at one edit
    bf_true = np.where(lvl > 0, m[np.maximum(lvl, 1)] / u_true[np.maximum(lvl, 1)], 1.0)
    p = np.clip(best_p(df), 1e-15, 1 - 1e-15)
    zm = np.log(odds(p)) - np.log(bf)
    shift = np.zeros(len(df))
    rows = []
    if shift_bins:
        both = lvl > 0
        agree = lvl < len(m) - 1
        m_agree = agree[both & (zm > 15)].mean()  # the surest pairs: agreement among true pairs
        b = np.digitize(zm, ZBINS) - 1
        for k in range(len(ZBINS) - 1):
            s = both & (b == k)
            if s.sum() < 30:
                continue
            t = float(np.clip(agree[s].mean() / m_agree, 1e-4, 1 - 1e-4))
            sh = max(np.log(odds(t)) - float(zm[s].mean()), 0.0)
            shift[b == k] = sh
            rows.append({"logit p₋ₚ from": ZBINS[k], "pairs": int(s.sum()), "model p₋ₚ": sig(zm[s]).mean(),
                         "instrument": t, "truth": df.right.to_numpy()[s].mean()})
    return sig(zm + shift + np.log(bf_true)), pd.DataFrame(rows)


def method_site_class(df: pd.DataFrame, pi0: float) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Best-candidate and has-person probabilities with pi re-estimated per row class."""
    big_h, b = has_person(df)
    kappa = np.ones(len(df))
    rows = []
    for c in ("same", "other", "missing"):
        sel = (df.cls == c).to_numpy()
        pc = pi0
        for _ in range(500):
            k = odds(pc) / odds(pi0)
            new = float((k * big_h / (1 + k * big_h))[sel].mean())
            if abs(new - pc) < 1e-11:
                break
            pc = min(new, 1 - 1e-9)
        kappa[sel] = odds(pc) / odds(pi0)
        rows.append({"class": c, "rows": int(sel.sum()), "pi_c": pc, "true share": df.tp[sel].notna().mean(),
                     "odds factor": odds(pc) / odds(pi0)})
    return kappa * b / (1 + kappa * big_h), kappa * big_h / (1 + kappa * big_h), pd.DataFrame(rows)


def band_table(df: pd.DataFrame, variants: dict[str, np.ndarray], h_variants: dict[str, np.ndarray]) -> str:
    lk = df.linked.to_numpy()
    bp = best_p(df)
    band = pd.cut(bp, BANDS, right=False)
    out = []
    for name, sel in (("linked", lk), ("unlinked, best candidate", ~lk & np.isfinite(bp))):
        for bnd in band.categories:
            s = sel & (band == bnd)
            if not s.any() or (name == "linked" and bnd.left >= 0.99999):
                continue
            r = {"rows": name, "band of p": f"{bnd.left:g}–{bnd.right:g}", "n": int(s.sum())}
            if name == "linked":
                r["wrong"] = int((~df.right.to_numpy()[s]).sum())
                for v, q in variants.items():
                    r[f"Σ(1−p) {v}"] = round(float((1 - q[s]).sum()), 1)
            else:
                r["right"] = int(df.right.to_numpy()[s].sum())
                for v, q in variants.items():
                    r[f"Σp {v}"] = round(float(q[s].sum()), 1)
                r["in register"] = int(df.tp[s].notna().sum())
                for v, q in h_variants.items():
                    r[f"Σh {v}"] = round(float(q[s].sum()), 1)
            out.append(r)
    return markdown(pd.DataFrame(out).fillna(""), 7)


def by_class(df: pd.DataFrame, variants: dict[str, np.ndarray], h_variants: dict[str, np.ndarray]) -> str:
    lk = df.linked.to_numpy()
    out = []
    for c in ("same", "other", "missing"):
        s = (df.cls == c).to_numpy()
        r = {"class": c, "linked wrong": int((~df.right.to_numpy()[s & lk]).sum())}
        r.update({f"Σ(1−p) {v}": round(float((1 - q[s & lk]).sum()), 1) for v, q in variants.items()})
        u = s & ~lk
        r["unlinked in register"] = int(df.tp[u].notna().sum())
        r.update({f"Σh {v}": round(float(np.nansum(q[u])), 1) for v, q in h_variants.items()})
        out.append(r)
    return markdown(pd.DataFrame(out), 7)


def second_profiles(db: str, end: str) -> None:
    """The second-profile rule's probabilities against the truth (``--second-profiles``)."""
    from vaxstudy.estimate import profile_pattern as pp
    from vaxstudy.estimate import profiles

    con = duckdb.connect(db, read_only=True)
    r = con.execute(f"""
        SELECT v._row AS "row", v.subject_id, v.site_id, v.dose_number AS dose, v.vaccination_date AS vdate,
               l.person_id, l.match_probability AS q, coalesce(l.person_key, l.person_id, 'r:' || v.record_id) AS pk,
               l.best_person_id AS cand, l.best_match_probability AS cand_q, l.in_register_probability AS cand_any,
               t.true_person_id AS tp, s.district_code AS district
        FROM vaccinations v JOIN record_links l USING (record_id) JOIN truth t USING (record_id)
        LEFT JOIN sites s ON s.site_id = v.site_id
        WHERE v.vaccination_date <= DATE '{end}' ORDER BY v._row""").df()
    n_reg = con.execute("SELECT count(*) FROM population_std").fetchall()[0][0]
    n = len(r)
    codes = pd.factorize(pd.concat([r.person_id, r.pk, r.cand, r.tp]).astype(object))[0].astype(float)
    codes[codes < 0] = np.nan
    rows = pd.DataFrame({"row": r["row"].astype(np.int64), "subject_id": pd.factorize(r.subject_id)[0],
                         "site": pd.factorize(r.site_id)[0].astype(np.int64), "dose": r.dose.fillna(0).astype(np.int64),
                         "vdate": pd.to_datetime(r.vdate), "person_id": codes[:n], "person_key": codes[n:2 * n].astype(np.int64),
                         "q": r.q.astype(float), "cand_person_id": codes[2 * n:3 * n], "cand_q": r.cand_q.astype(float),
                         "cand_any": r.cand_any.astype(float)})
    tp = codes[3 * n:]
    area = pd.factorize(r.district.fillna("?"))[0]
    subj = profiles.linked_profiles(rows)
    prior = profiles.profile_prior(rows, n_reg, None, subj)
    second, taken, _ = profiles.second_profile_rows(rows, subj)
    ev, hs, ht = profiles.dose_pattern(rows, second, taken, area)
    q0, c0, _ = profiles.adjusted_probabilities(rows, prior, subj, pattern=False)
    q1, c1, _ = profiles.adjusted_probabilities(rows, prior, subj, area=area)
    print(f"r {prior.factor:.4f}; pattern m {ev.m:.4f}, u {ev.u:.5f} ({ev.n_sure} sure second profiles)\n")
    q, cq = rows.q.to_numpy(), rows.cand_q.to_numpy()
    wrong = rows.person_id.to_numpy() != tp
    right = rows.cand_person_id.to_numpy() == tp
    band = pd.cut(q[second], [0, 0.9, 0.99, 0.999, 0.99999, 1.01], right=False)
    t = pd.DataFrame({"band": band, "wrong": wrong[second], "pattern": hs, "model": 1 - q[second],
                      "with r": 1 - q0[second], "with r and the pattern": 1 - q1[second]})
    t = t.groupby("band", observed=True).agg(rows=("wrong", "size"), wrong=("wrong", "sum"), pattern=("pattern", "sum"),
                                             model=("model", "sum"), r=("with r", "sum"), rp=("with r and the pattern", "sum"))
    t.index = [f"{b.left:g}–{min(b.right, 1.0):g}" for b in t.index]
    t = t.rename(columns={"model": "Σ(1 − p) model", "r": "with r", "rp": "with r and the pattern"})
    print("Linked rows of second profiles: wrong against Σ(1 − p)\n")
    print(markdown(t.reset_index().rename(columns={"index": "band of p"}).round(1), 6), "\n")
    print(f"Unlinked rows whose best candidate has a profile: {int(taken.sum())}, right {int(right[taken].sum())}, "
          f"Σp model {np.nansum(cq[taken]):.1f}, with r {np.nansum(c0[taken]):.1f}, "
          f"with the pattern (their own prior fitted to it, else r) {np.nansum(c1[taken]):.1f}\n")
    # u with the other person drawn at the same site, in the district (the rule) or in the province
    sure = q[second] >= pp.SURE
    for name, grp in (("site", rows.site.to_numpy()), ("district", area), ("province", np.zeros(n, np.int64))):
        d2 = pp.linked_doses(rows, grp)
        probe = pd.DataFrame({"key": rows.person_key.to_numpy()[second], "site": rows.site.to_numpy()[second],
                              "dose": rows.dose.to_numpy()[second], "day": pp.days(rows.vdate[second]),
                              "gid": rows.subject_id.to_numpy()[second], "area": grp[second]})
        e = pp.pattern_evidence(probe, hs, sure, d2)
        qs = profiles.odds_scaled(q[second], prior.factor * e.factor(hs))
        fit = pp.taken_prior(cq[taken], ht, e)  # the unlinked rows' own prior (None: r, as before)
        cs = (profiles.odds_scaled(cq[taken], prior.factor * e.factor(ht)) if fit is None
              else profiles.odds_scaled(fit, e.factor(ht)))
        print(f"u drawn in the same {name}: {e.u:.5f}; second-profile rows expected wrong {np.sum(1 - qs):.1f} "
              f"(wrong {int(wrong[second].sum())}); unlinked rows expected right {np.nansum(cs):.1f} "
              f"(right {int(right[taken].sum())})")



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--model", type=Path, help="the link model (the three general methods)")
    ap.add_argument("--second-profiles", action="store_true", help="score the second-profile rule instead")
    ap.add_argument("--end", default="2021-10-31", help="rows vaccinated up to this day (--second-profiles)")
    a = ap.parse_args()
    if a.second_profiles:
        second_profiles(a.db, a.end)
        return
    if a.model is None:
        ap.error("--model is needed for the three general methods")
    model = json.loads(a.model.read_text())
    df, pi0, u_exact = load(a.db, model)
    print(f"rows {len(df):,}; link pi {pi0:.5f}; phone u (register) {u_exact:.3g}\n")
    stored = best_p(df)
    p_phone, inst = method_phone(df, model, u_exact, shift_bins=True)
    p_u, _ = method_phone(df, model, u_exact, shift_bins=False)
    p_cls, h_cls, cls = method_site_class(df, pi0)
    h_stored = np.where(df.linked, np.nan, df.h.to_numpy(float))
    h_cls = np.where(df.linked, np.nan, h_cls)
    print("Phone instrument (pairs with a phone on both sides, by logit p₋ₚ):\n")
    print(markdown(inst), "\n")
    print("Class priors:\n")
    print(markdown(cls, 6), "\n")
    variants = {"stored": stored, "phone": p_phone, "phone_u": p_u, "site_class": p_cls}
    hv = {"stored": h_stored, "site_class": h_cls}
    print(band_table(df, variants, hv), "\n")
    print(by_class(df, variants, hv))


if __name__ == "__main__":
    main()
