"""Assemble the figures of CONTRACT section 3 with their 95% intervals."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vaxstudy.estimate import flips as fl
from vaxstudy.estimate import intervals as iv
from vaxstudy.estimate import missed as ms
from vaxstudy.estimate import nowcast as nc
from vaxstudy.estimate import nowcast_backtest as nbt
from vaxstudy.estimate.coverage import (
    COVERAGE_RATES,
    allocation_sd,
    coverage_bounds,
    coverage_from,
    coverage_parts,
    group_matrices,
    group_sums,
)
from vaxstudy.estimate.data import AGE_GROUPS, SEXES, Inputs
from vaxstudy.estimate.figures import ALL_RATES, SITE_RATES, linkage_only_ci, rate_block, rnd
from vaxstudy.estimate.profiles import odds_scaled
from vaxstudy.estimate.rates import (
    RATE_DENOMINATOR, RECORD_QUANTITIES,
    counts, counts_by_district, district_subject_table, record_rates, record_site_aggregates, subject_table,
    unlinked_split,
)

CHUNK = 50


def _record_groups(inp: Inputs) -> dict[str, tuple[list[str], np.ndarray]]:
    """Site -> group matrices (S x G) for the record rates: province and site district."""
    inprov = inp.sites["in_province"].to_numpy()
    dist = inp.sites["district_code"].to_numpy()
    codes = sorted(set(dist[inprov]))
    G = np.stack([(dist == d) & inprov for d in codes], axis=1).astype(float) if codes else np.zeros((len(dist), 0))
    return {"province": ([inp.province], inprov[:, None].astype(float)), "district": (codes, G)}


def _record_totals(agg, G, W, deltas=None, family="province") -> dict[str, np.ndarray]:
    tot = {}
    for k in RECORD_QUANTITIES:
        kk = f"{k}_district" if family == "district" and f"{k}_district" in agg else k  # a district's own
        t = W @ (agg[kk][:, None] * G)
        if deltas is not None and kk in deltas:
            t = t + (W * deltas[kk]) @ G
        tot[k] = t
    return tot


class Estimator:
    """Point estimates, replicates and intervals for one province and period."""

    def __init__(self, inp: Inputs):
        self.inp = inp
        self.S = len(inp.sites)
        self.C = inp.n_cells
        # the nowcast's lag data and back-test (rows read only) on a thread beside the rest: numpy, mostly no GIL
        with ThreadPoolExecutor(1) as side:
            nowcast = side.submit(lambda: (nc.lag_data(inp), nbt.backtest(inp)))
            scope = inp.scope_rows()
            subjects = subject_table(scope)  # read by the site sums and the link flips
            subjects_d = district_subject_table(inp, scope)  # the same, each district's rows apart
            self.agg = record_site_aggregates(inp, scope, subjects, subjects_d)
            self.parts = coverage_parts(inp)
            self.rgroups = _record_groups(inp)
            self.cgroups = group_matrices(inp)
            self.flips = fl.link_flips(inp, self.parts, scope, subjects, subjects_d)
            self.cov_sums = {fam: group_sums(self.parts, H) for fam, (_, H) in self.cgroups.items()}
            self.alloc_sd = allocation_sd(inp, self.parts, {fam: H for fam, (_, H) in self.cgroups.items()})
            self.lags, self.backtest = nowcast.result()  # backtest: the nowcast's own relative error

    # -- one evaluation: W (B x S) site weights, F (B x U) flips of `lf` --------------
    def evaluate(self, W: np.ndarray, lf: fl.LinkFlips | None = None, F: np.ndarray | None = None,
                 F_best: np.ndarray | None = None, rng: np.random.Generator | None = None,
                 W_fit: np.ndarray | None = None, d_miss: dict[str, np.ndarray] | None = None, F_second=None):
        """Every rate for the site weights W; ``W_fit``: the sites the nowcast's lag model is
        fitted on (default W); ``d_miss``: {family: (2, B, G)} drawn owners of the doses never
        entered (coverage_from)."""
        rec_d = cov_d = None
        if lf is not None and F is not None and F.shape[1] > 0:
            rec_d, cov_d = iv.flip_deltas(lf, F, self.S, self.C, F_best, F_second)  # 0/1 draws stay booleans
        out: dict[str, dict[str, np.ndarray]] = {}
        # the late entries are a prediction: their replicates redraw the sites (W_fit) for the lag
        # model's fit; the entries still to come are these sites' own, each site counted as in W
        late = W * nc.expected_late(self.lags, W if W_fit is None else W_fit, rng,
                                    (self.backtest.model_error, nbt.BACKTEST_REACH))  # (B, S)
        for fam, (_, G) in self.rgroups.items():
            tot = _record_totals(self.agg, G, W, rec_d, fam)
            rates = record_rates(tot)
            tally = tot["tally"]
            with np.errstate(divide="ignore", invalid="ignore"):
                rates["late_entry_rate"] = np.where(tally > 0, (late @ G) / tally, np.nan)
            rates["never_entered_rate"] = rates["missing_entry_rate"] - rates["late_entry_rate"]
            out[f"rec:{fam}"] = rates
        for fam, (_, H) in self.cgroups.items():
            out[f"cov:{fam}"] = coverage_from(self.parts, H, W, cov_d, self.cov_sums[fam],
                                              None if d_miss is None else d_miss[fam])
        return out

    def point(self, lf: fl.LinkFlips | None = None, F: np.ndarray | None = None):
        return self.evaluate(np.ones((1, self.S)), lf, F)

    def recorded_spreads(self) -> dict[str, dict[str, np.ndarray]]:
        """{'cov:<family>': {coverage_doseK_recorded: (3, G)}, 'rec:<family>': {record rate: (3, G)}}:
        the link redraw's exact (sd, lowest, highest) of each figure the links move, as shares
        (intervals.redraw_spread): rare flips seldom show in the replicates."""
        out: dict[str, dict[str, np.ndarray]] = {}
        for fam, (_, H) in self.cgroups.items():
            NG = self.parts.N @ H
            safe = np.where(NG > 0, NG, np.nan)
            out[f"cov:{fam}"] = {f"coverage_dose{k}_recorded": np.stack(iv.redraw_spread(self.flips, f"cov{k}", H)) / safe
                                 for k in (1, 2)}
        # the record rates move with the links only through their counts' numerators (the late
        # entries' model error beyond the fit's is drawn in their replicates: expected_late's miss)
        ones = np.ones((1, self.S))
        for fam, (_, G) in self.rgroups.items():
            tot = _record_totals(self.agg, G, ones, None, fam)
            blk, spread = {}, {}  # one spread per count: the duplicate-dose and missing-entry rates share "dup"
            for r, kind in (("unlinked_record_rate", "unl"), ("duplicate_dose_rate", "dup"),
                            ("missing_entry_rate", "dup"), ("duplicate_subject_rate", "dsub")):
                kind = f"{kind}_district" if fam == "district" and f"{kind}_district" in fl.RECORD_KINDS else kind
                if kind not in spread:
                    spread[kind] = np.stack(iv.redraw_spread(self.flips, kind, G, col="site"))
                d = tot[RATE_DENOMINATOR[r]][0]
                blk[r] = spread[kind] / np.where(d > 0, d, np.nan)
            out[f"rec:{fam}"] = blk
        return out

    def expected_point(self):
        """The point estimates: every site once, each uncertain link counted with its
        probability (the expectation of the link redraw, see intervals.expected_flips), so the
        redraw varies around the point rather than only on one side of it."""
        lf, F, F_best, F_second = iv.expected_flips(self.flips)
        point = self.evaluate(np.ones((1, self.S)), lf, F, F_best, F_second=F_second)
        self._add_missed_bounds(point)
        for fam, blk in self.point().items():  # the links as decided, no redraw: see figures.rate_block
            point[fam].update({f"decided:{r}": v for r, v in blk.items()})
        for fam, dens in self.denominators().items():
            point[fam].update({f"den:{r}": v for r, v in dens.items()})
        return point

    def denominators(self) -> dict[str, dict[str, np.ndarray]]:
        """{family: {rate: (1, G)}}: what each figure's count is divided by (rows, profiles,
        tallied doses, residents), none of which the links or the draws move: every figure is a
        whole count over it (figures.whole_counts)."""
        ones = np.ones((1, self.S))
        out: dict[str, dict[str, np.ndarray]] = {}
        for fam, (_, G) in self.rgroups.items():
            tot = _record_totals(self.agg, G, ones, None, fam)
            out[f"rec:{fam}"] = {r: tot[RATE_DENOMINATOR[r]] for r in SITE_RATES}
        for fam in self.cgroups:
            out[f"cov:{fam}"] = {r: np.asarray(self.cov_sums[fam]["NG"], dtype=float).reshape(1, -1)
                                 for r in COVERAGE_RATES}
        return out

    def missed_persons(self) -> dict[str, int | None]:
        """Province level: distinct unlinked persons who could be a covered resident (None
        without the typed fields)."""
        if self.inp.unlinked_typed is None:
            return {"possible_persons_dose1": None, "possible_persons_dose2": None, "review_cap": self.inp.missed_cap}
        M = ms.missed_counts(self.inp, self.inp.unlinked_typed, {"province": [self.inp.province]},
                             self._possible_groups())["province"]
        return {**{f"possible_persons_dose{k}": int(M[i, 0]) for i, k in enumerate((1, 2))},
                "review_cap": self.inp.missed_cap}

    def _possible_groups(self):
        """missed.possible_groups of the unlinked rows, made once (three callers)."""
        if not hasattr(self, "_pg"):
            self._pg = ms.possible_groups(self.inp, self.inp.unlinked_typed)
        return self._pg

    def _add_missed_bounds(self, point) -> None:
        """Beside each coverage figure, how far up missed links could take it (missed.py):
        ``missed_hi:<recorded>`` = (linked residents + every unlinked person who could be a
        covered adult of the group) / residents, ``missed:<corrected>`` = that count / residents."""
        groups = {fam: names for fam, (names, _) in self.cgroups.items()}
        cap = self.inp.missed_cap
        M = ms.capped(ms.missed_counts(self.inp, self.inp.unlinked_typed, groups, self._possible_groups()), cap)
        m_site = ms.rows_by_site(self.inp, self.inp.unlinked_typed, self._possible_groups())
        for fam, (_, G) in self.rgroups.items():
            with np.errstate(divide="ignore", invalid="ignore"):
                rec, unl = self.agg["rec"] @ G, self.agg["unl"] @ G
                point[f"rec:{fam}"]["missed_lo:unlinked_record_rate"] = np.where(
                    rec > 0, (unl - ms.capped(m_site @ G, cap)) / np.where(rec > 0, rec, 1.0), np.nan)[None, :]
        for fam, (_, H) in self.cgroups.items():
            s = self.cov_sums[fam]
            NG, recG = s["NG"], s["recG"]
            safe = np.where(NG > 0, NG, np.nan)
            blk = point[f"cov:{fam}"]
            for i, k in enumerate((1, 2)):
                blk[f"missed_hi:coverage_dose{k}_recorded"] = ((recG[i] + M[fam][i]) / safe)[None, :]
                blk[f"missed:coverage_dose{k}"] = (M[fam][i] / safe)[None, :]

    def replicates(self, n_boot: int, rng: np.random.Generator, *, sites: bool = True):
        """Replicates of every rate for the figures of *this* province (a census of its rows, not a
        sample of provinces): every site counted once, links redrawn from their probabilities, and
        unless ``sites`` is False (links alone) what the data leave open beyond the links: the owners
        of the doses never entered and the tallies' hidden over-counts (drawn around the imputation,
        coverage.allocation_sd) and the late entries still to come, a prediction, whose replicates
        redraw the sites (the lag model's fit, the sites' spread around it) and the count."""
        ones = np.ones((n_boot, self.S))
        W_fit = iv.site_weights(self.inp.sites["district_code"].to_numpy(), n_boot, rng) if sites else ones
        p = self.flips.probabilities()
        lf = iv.subset(self.flips, p > iv.MIN_FLIP)
        p = lf.probabilities()
        chunks = []
        for b0 in range(0, n_boot, CHUNK):
            b1 = min(n_boot, b0 + CHUNK)
            U = rng.random((b1 - b0, len(p)))
            d_miss = ({fam: rng.standard_normal((sd.shape[0], b1 - b0, sd.shape[1])) * sd[:, None, :]
                       for fam, sd in self.alloc_sd.items()} if sites else None)
            F, F_best, F_second = iv.draw_flips(lf, U)  # each flip, and its branch: best, runner-up, namesake
            chunks.append(self.evaluate(ones[b0:b1], lf, F, F_best, rng if sites else None, W_fit[b0:b1], d_miss, F_second))
        return {
            fam: {r: np.concatenate([c[fam][r] for c in chunks], axis=0) for r in chunks[0][fam]}
            for fam in chunks[0]
        }, int(len(p)), float(p.sum())



#: the rows' text columns, which no estimator reads (the truth check and the link to the typed
#: fields read them, beside the estimate): left out of the rows the estimators select from
TEXT_COLUMNS = ("record_id", "vaccine", "site_id", "person_id_str")


def numeric_rows(inp: Inputs) -> Inputs:
    """``inp`` with its rows' :data:`TEXT_COLUMNS` left out (the same frames otherwise): every
    row selection of the estimators then copies numbers only; the text columns' copies cost
    ~1 of compute_metrics' ~10 CPU-s at full scale, for nothing they read."""
    drop = [c for c in TEXT_COLUMNS if c in inp.rows.columns]
    return dataclasses.replace(inp, rows=inp.rows.drop(columns=drop)) if drop else inp


def compute_metrics(inp: Inputs, seed: int = 1, n_boot: int = 1000) -> dict:
    inp = numeric_rows(inp)
    rng = np.random.default_rng(seed)
    est = Estimator(inp)
    point = est.expected_point()
    reps, n_uncertain, expected_flips = est.replicates(n_boot, rng)

    m: dict = {
        "province_code": inp.province,
        "period_start": inp.period_start.isoformat(),
        "period_end": inp.period_end.isoformat(),
        "extract_date": None if inp.extract_date is None else inp.extract_date.isoformat(),
        **counts(inp),
        "n_population": int(round(float(est.parts.N.sum()))),
        "n_tally_doses": int(round(float(est.agg["tally"][inp.sites["in_province"].to_numpy()].sum()))),
    }
    spreads = est.recorded_spreads()
    m.update(rate_block(point, reps, "rec:province", "cov:province", 0, 0, ALL_RATES, spreads))
    m["unlinked_records"] = unlinked_split(inp)

    # by district: the site's district for record rates, residence for coverage
    rcodes = est.rgroups["district"][0]
    ccodes = est.cgroups["district"][0]
    cnt = counts_by_district(inp)
    by_d = {}
    for d in sorted(set(rcodes) | set(ccodes)):
        jr = rcodes.index(d) if d in rcodes else None
        jc = ccodes.index(d) if d in ccodes else None
        blk = rate_block(point, reps, "rec:district", "cov:district", jr, jc, ALL_RATES, spreads)
        blk.update(cnt.get(d, {"n_records": 0, "n_subjects": 0, "n_persons_est": 0}))
        blk["n_population"] = int(round(float(est.parts.N @ est.cgroups["district"][1][:, jc]))) if jc is not None else 0
        by_d[d] = blk
    m["by_district"] = by_d
    for key, fam, groups in (("by_sex", "sex", SEXES), ("by_age_group", "age_group", AGE_GROUPS)):
        H = est.cgroups[fam][1]
        m[key] = {}
        for j, g in enumerate(groups):
            blk = rate_block(point, reps, None, f"cov:{fam}", None, j, COVERAGE_RATES, spreads)
            blk["n_population"] = int(round(float(est.parts.N @ H[:, j])))
            m[key][g] = blk

    # The links redrawn alone (what the linkage alone leaves open), beside the interval
    # above, which also draws the doses never entered and predicts the late entries. Drawn
    # after the main replicates, so those do not change.
    lreps, _, _ = est.replicates(n_boot, rng, sites=False)
    m["linkage_only_ci"] = linkage_only_ci(point, lreps, spreads)

    m["sensitivity"] = sensitivity(est)
    m["method"] = {
        "seed": int(seed),
        "n_boot": int(n_boot),
        "interval": iv.INTERVAL_DESCRIPTION,
        "n_uncertain_links": n_uncertain,
        "expected_link_flips": rnd(expected_flips),
        "link_candidates_redrawn": bool(inp.has_candidates),
        "coverage_assumption": "doses tallied but never entered at a site in a week belong to the same mix "
        "of residence district, sex, age group (and non-residents) as the doses of that dose number "
        "entered at that site that week (else that site's, else the province's mix)",
        "denominator": "register residents of the province aged >= 18 at period_end",
        "tally_undercount_doses": {f"dose{k}": int(round(float(u))) for k, u in zip((1, 2), est.parts.undercount)},
        "missed_links": {"description": ms.DESCRIPTION, **est.missed_persons()},
        "tally_allowance": "paper counting errors taken to go up as often as down, at one rate per tally and one size "
        "distribution, a count never below 0: the number and sizes of the errors are fitted to the visible under-counts "
        "(days with more entered doses than their tally) given each tallied day's chance of showing one (an under-count "
        "hides behind the day's missing entries); the expected over-counts minus the under-counts' unseen part are taken "
        "off the doses never entered (each site's mix), their spread and their number's error are in the interval",
        "notes": list(inp.notes),
        "nowcast": {
            "window_days": nc.DEFAULT_WINDOW,
            **nc.lag_summary(est.lags),
            "late_doses": rnd(_late_doses(est, est.lags)),
            # the lag model alone (the tallies' second estimate of the young cohorts left out): a reader
            # sees how far the tallies moved the figure
            "late_doses_lag_model": rnd(_late_doses(est, dataclasses.replace(est.lags, tally=None))),
            "doses_after_extract": rnd(float(est.lags.after.sum())),
            "backtest_error": rnd(est.backtest.error),
            "backtest_model_error": rnd(est.backtest.model_error),
            "description": nc.DESCRIPTION,
        },
    }
    return m


def _late_doses(est: Estimator, lags: nc.LagData) -> float:
    """The province's expected late doses under the lag data ``lags`` (the point: every site once)."""
    return float(nc.expected_late(lags, np.ones((1, est.S)))[0][est.inp.sites["in_province"].to_numpy()].sum())


def _odds_shift(t: float, factor: float) -> float:
    """The threshold with its odds times ``factor`` (kept off 0 and 1, where odds do not move)."""
    return float(odds_scaled(min(max(t, 1e-12), 1 - 1e-12), factor))


def sensitivity(est: Estimator) -> dict:
    """Headline rates with the links re-thresholded at 10x stricter / looser match odds.

    Stricter: links with match_probability below the stricter threshold are
    broken (their rows count as outside the register). Looser: unlinked rows
    whose best candidate clears the looser threshold are linked to it (only when
    the linkage reports its best candidates). Same first-order update as the
    interval's redraw.
    """
    inp = est.inp
    t0 = inp.link_threshold
    out: dict = {"match_threshold": rnd(t0)}
    lf = est.flips
    q = lf.flips["q"].to_numpy(dtype=float)
    linked = lf.flips["linked"].to_numpy()
    for name, factor in (("stricter", 10.0), ("looser", 0.1)):
        if t0 is None:
            out[name] = None
            continue
        t = _odds_shift(float(t0), factor)
        F = (linked & (q < t)) if factor > 1 else (~linked & (q >= t))
        pt = est.point(lf, F[None, :])
        blk = {"match_threshold": rnd(t), "n_links_changed": int(F.sum())}
        for r in ALL_RATES:
            fam = "rec:province" if r in SITE_RATES else "cov:province"
            blk[r] = rnd(pt[fam][r][0, 0])
        out[name] = blk
    b = coverage_bounds(est.parts, est.cgroups["province"][1])
    out["coverage_bounds"] = {k: [rnd(v[0]), rnd(v[1])] for k, v in b.items()}
    return out
