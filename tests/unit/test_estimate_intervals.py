"""The 95% intervals: site weights, link redraws, and small calibration checks that can fail."""

from __future__ import annotations

import numpy as np
import pytest

from vaxstudy.estimate import compute_metrics, estimate_db
from vaxstudy.estimate.data import connect, load_inputs
from vaxstudy.estimate.intervals import site_weights
from helpers.estimatedb import make_db

START, END = "2021-03-08", "2021-10-31"


def test_site_weights_resample_within_districts():
    strata = np.array(["a", "a", "a", "b", "b", "c"])
    W = site_weights(strata, 500, np.random.default_rng(0))
    assert W.shape == (500, 6)
    assert np.all(W[:, :3].sum(axis=1) == 3) and np.all(W[:, 3:5].sum(axis=1) == 2)
    assert np.all(W[:, 5] == 1)  # a district with one site cannot vary
    assert W[:, 0].mean() == pytest.approx(1.0, abs=0.1)
    W2 = site_weights(strata, 500, np.random.default_rng(0))
    assert np.array_equal(W, W2)


def _uncertain_links_db(path, qs):
    """One site; row i links resident P{i} with probability qs[i]; 10 extra residents never vaccinated."""
    n = len(qs)
    pop = [dict(person_id=f"P{i}") for i in range(n + 10)]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1, q=float(q))
         for i, q in enumerate(qs)]
    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="1")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=n)]
    return make_db(path, pop, v, sites, tal), n + 10


def test_link_redraw_interval_is_calibrated_when_probabilities_are(tmp_path):
    """If each link is right with its match probability, the truth falls in the interval ~95% of the time.

    The data (links and probabilities) are fixed; the truth is drawn many times
    from the probabilities. This fails if the redraw flips links with the wrong
    probability (q instead of 1 - q), ignores them, or mis-reads percentiles.
    """
    rng = np.random.default_rng(11)
    qs = rng.choice([0.55, 0.7, 0.85, 0.95, 0.99, 1.0], size=300)
    db, n_pop = _uncertain_links_db(tmp_path / "d.duckdb", qs)
    m = estimate_db(db, "40", START, END, tmp_path / "o", seed=2, n_boot=1000, audit=False)
    # point estimate: each link counted with its probability (the redraw's expectation)
    assert m["unlinked_record_rate"] == pytest.approx(float(np.sum(1 - qs)) / len(qs), abs=1e-6)
    lo, hi = m["unlinked_record_rate_ci"]
    clo, chi = m["coverage_dose1_recorded_ci"]
    false = rng.random((4000, len(qs))) > qs[None, :]  # truth draws: link wrong with prob 1 - q
    t_unl = false.sum(axis=1) / len(qs)
    t_cov = (len(qs) - false.sum(axis=1)) / n_pop
    inside_unl = np.mean((t_unl >= lo - 1e-9) & (t_unl <= hi + 1e-9))
    inside_cov = np.mean((t_cov >= clo - 1e-9) & (t_cov <= chi + 1e-9))
    assert 0.90 <= inside_unl <= 0.99
    assert 0.90 <= inside_cov <= 0.99
    assert m["method"]["expected_link_flips"] == pytest.approx(float(np.sum(1 - qs)), rel=1e-4)


def test_unlinked_row_redrawn_to_its_candidate(tmp_path):
    pop = [dict(person_id=f"P{i}") for i in range(4)]
    v = [dict(record_id="a", subject_id="s1", person="P0", dose_number=1),
         dict(record_id="b", subject_id="s2", person="X1", dose_number=1, cand="P1", cand_q=0.5)]
    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="1")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=2)]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, sites, tal), "40", START, END, tmp_path / "o",
                    n_boot=400, audit=False)
    # the point is the redraw's expectation: half a resident more, half an unlinked row less
    assert m["coverage_dose1_recorded"] == 0.375
    assert m["coverage_dose1_recorded_ci"] == [0.25, 0.5]
    assert m["unlinked_record_rate"] == 0.25
    assert m["unlinked_record_rate_ci"] == [0.0, 0.5]
    assert m["method"]["link_candidates_redrawn"] is True
    # the looser threshold (odds / 10 of 1.0 -> still ~1) does not reach 0.5; an explicit one does
    m2 = estimate_db(tmp_path / "d.duckdb", "40", START, END, tmp_path / "o2", n_boot=50, audit=False,
                     link_threshold=0.9)
    assert m2["sensitivity"]["looser"]["n_links_changed"] == 1
    assert m2["sensitivity"]["looser"]["coverage_dose1_recorded"] == 0.5


def test_the_interval_is_of_this_provinces_realised_rate_not_the_process_rate(tmp_path):
    """8 provinces drawn from one entry process: each site loses doses with its own probability
    p_s ~ Beta(2, 18). The missing-entry rate is a census of the province's rows and tallies:
    with every row certain (no link to redraw) it is known exactly, whatever the sites' spread,
    and the interval is the point (before: a site bootstrap answered "another province like this
    one" and was 2-5 points wide around a figure known to the dose)."""
    rng = np.random.default_rng(5)
    pop, v, sites, tal = [], [], [], []
    provs = [str(p) for p in range(10, 18)]
    realised = {}
    for prov in provs:
        pop.append(dict(person_id=f"{prov}-P", province_code=prov, district_code=f"{prov}1"))
        n_tot = k_tot = 0
        for s in range(20):
            sid = f"{prov}-S{s}"
            sites.append(dict(site_id=sid, site_name="x", province_code=prov, district_code=f"{prov}1",
                              commune_code="1"))
            n = int(rng.integers(20, 60))
            k = int(rng.binomial(n, 1 - rng.beta(2, 18)))
            n_tot, k_tot = n_tot + n, k_tot + k
            tal.append(dict(site_id=sid, vaccination_date="2021-08-01", dose_number=1, doses_administered=n))
            v += [dict(record_id=f"{sid}-{i}", subject_id=f"{sid}-{i}", person=None, dose_number=1,
                       site_id=sid, province_code=prov) for i in range(k)]
        realised[prov] = 1 - k_tot / n_tot
    db = make_db(tmp_path / "d.duckdb", pop, v, sites, tal)
    con = connect(db)
    try:
        for prov in provs:
            m = compute_metrics(load_inputs(con, prov, START, END), seed=1, n_boot=100)
            assert m["missing_entry_rate"] == pytest.approx(realised[prov], abs=1e-6)
            assert m["missing_entry_rate_ci"] == [m["missing_entry_rate"]] * 2
            assert m["unlinked_record_rate_ci"] == [1.0, 1.0]
    finally:
        con.close()


def test_stricter_threshold_breaks_weak_links(tmp_path):
    qs = [1.0] * 8 + [0.95, 0.97]
    db, n_pop = _uncertain_links_db(tmp_path / "d.duckdb", qs)
    m = estimate_db(db, "40", START, END, tmp_path / "o", n_boot=50, audit=False, link_threshold=0.9)
    s = m["sensitivity"]
    assert s["match_threshold"] == 0.9
    assert s["stricter"]["match_threshold"] == pytest.approx(0.989011, abs=1e-6)  # odds 9 -> 90
    assert s["stricter"]["n_links_changed"] == 2
    assert s["stricter"]["unlinked_record_rate"] == pytest.approx(0.2)
    assert s["stricter"]["coverage_dose1_recorded"] == pytest.approx(8 / n_pop)
    assert m["coverage_dose1_recorded"] == pytest.approx((10 - 0.05 - 0.03) / n_pop, abs=1e-6)


def test_the_point_is_inside_even_where_no_replicate_flips(tmp_path):
    """One link of probability 0.9995 among certain ones: in 200 replicates it almost never
    breaks, so the replicates do not vary, but the figure's expectation is 0.0005 residents
    lower than the thresholded count. The interval uses the redraw's exact spread: the point
    is strictly inside, never an end (before: [expectation, thresholded], point at an end)."""
    db, n_pop = _uncertain_links_db(tmp_path / "d.duckdb", [0.9995] + [1.0] * 9)
    m = estimate_db(db, "40", START, END, tmp_path / "o", n_boot=200, seed=3, audit=False)
    v, (lo, hi) = m["coverage_dose1_recorded"], m["coverage_dose1_recorded_ci"]
    assert v == pytest.approx((10 - 0.0005) / n_pop, abs=1e-6)
    assert lo < v < hi
    assert hi == pytest.approx(10 / n_pop, abs=1e-6)  # nothing can raise it above the links
    assert lo >= 9 / n_pop - 1e-6  # nor lower it below one broken link
    lo2, hi2 = m["linkage_only_ci"]["coverage_dose1_recorded"]
    assert lo2 < v < hi2
    # the unlinked-record share the same way (before: the replicates alone, point at the lower end)
    u, (ulo, uhi) = m["unlinked_record_rate"], m["unlinked_record_rate_ci"]
    assert u == pytest.approx(0.0005 / 10, abs=1e-6)
    assert ulo == 0.0 < u < uhi <= 0.1


def test_linkage_only_interval_is_calibrated_for_the_realised_figure(tmp_path):
    """Six sites of one district with different shares of uncertain links. Given these
    entries, the province's realised unlinked share varies only through the links: the
    linkage-only interval holds it ~95% of the time, and so does the full one (which no longer
    redraws the sites for a figure of the rows entered)."""
    rng = np.random.default_rng(3)
    pop, v, sites, tal = [], [], [], []
    for s in range(6):
        sid = f"S{s}"
        sites.append(dict(site_id=sid, site_name="x", province_code="40", district_code="412",
                          commune_code="1"))
        qs = rng.choice([0.6, 0.9, 1.0], size=60, p=[0.1 * s / 5, 0.3, 0.7 - 0.1 * s / 5])
        for i, q in enumerate(qs):
            pop.append(dict(person_id=f"P{s}-{i}"))
            v.append(dict(record_id=f"{sid}-{i}", subject_id=f"{sid}-{i}", person=f"P{s}-{i}",
                          dose_number=1, q=float(q), site_id=sid))
        tal.append(dict(site_id=sid, vaccination_date="2021-08-01", dose_number=1,
                        doses_administered=len(qs)))
    db = make_db(tmp_path / "d.duckdb", pop, v, sites, tal)
    m = estimate_db(db, "40", START, END, tmp_path / "o", seed=4, n_boot=1000, audit=False)
    qs = np.array([r["q"] for r in v])
    lo, hi = m["linkage_only_ci"]["unlinked_record_rate"]
    flo, fhi = m["unlinked_record_rate_ci"]
    # both intervals now hold this province's realised figure: the same question, two draws
    assert flo == pytest.approx(lo, abs=0.01) and fhi == pytest.approx(hi, abs=0.01)
    t = (rng.random((4000, len(qs))) > qs[None, :]).mean(axis=1)
    inside = np.mean((t >= lo - 1e-9) & (t <= hi + 1e-9))
    assert 0.90 <= inside <= 0.99


def test_linkage_only_interval_collapses_when_every_link_is_certain(tmp_path):
    db, _ = _uncertain_links_db(tmp_path / "d.duckdb", [1.0] * 40)
    m = estimate_db(db, "40", START, END, tmp_path / "o", n_boot=200, audit=False)
    for r in ("unlinked_record_rate", "coverage_dose1_recorded", "duplicate_dose_rate"):
        assert m["linkage_only_ci"][r] == [m[r], m[r]], r


@pytest.mark.parametrize("cand_any, upper", [(0.3, 0.25), (0.9, 0.5)])
def test_a_namesakes_share_of_an_unlinked_row_can_add_a_covered_resident(tmp_path, cand_any, upper):
    """An unlinked dose-1 row whose best candidate (P1) is already covered: it adds a covered
    resident only through the rest of its in-register probability (another P1-like namesake,
    not yet counted). With no rest (0.3 = its best candidate's probability) it adds nobody."""
    pop = [dict(person_id=f"P{i}") for i in range(4)]
    v = [dict(record_id="a", subject_id="s1", person="P1", dose_number=1),
         dict(record_id="b", subject_id="s2", person="X1", dose_number=1, cand="P1", cand_q=0.3,
              cand_any=cand_any)]
    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="1")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=2)]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, sites, tal), "40", START, END, tmp_path / "o",
                    n_boot=400, audit=False)
    # the point is the redraw's expectation: the namesake's share of a resident
    assert m["coverage_dose1_recorded"] == pytest.approx(0.25 + (cand_any - 0.3) * 0.25, abs=1e-6)
    assert m["coverage_dose1_recorded_ci"] == [0.25, upper]
    assert m["linkage_only_ci"]["coverage_dose1_recorded"] == [0.25, upper]


def test_centred_interval_is_centred_on_the_point():
    """Replicates centred elsewhere than the point: the interval keeps their spread around the
    point (and reaches their own percentiles, which the redraw's centre may justify)."""
    from vaxstudy.estimate.ci import centred_ci

    reps = np.random.default_rng(0).normal(0.30, 0.01, 20000)
    lo, hi = centred_ci(0.30, reps)
    assert lo == pytest.approx(0.30 - 1.96 * 0.01, abs=1e-3) and hi == pytest.approx(0.30 + 1.96 * 0.01, abs=1e-3)
    # point above the replicates' centre (links only break in the redraw): the point is inside, not an end
    lo, hi = centred_ci(0.32, reps)
    assert lo < 0.32 - 0.015 and hi == pytest.approx(0.32 + 1.96 * 0.01, abs=1e-3)
    assert lo == pytest.approx(0.30 - 1.96 * 0.01, abs=1e-3)  # the redraw's own lower percentile
    # skewed replicates: the long side stays long
    sk = 0.1 + np.random.default_rng(1).exponential(0.01, 20000)
    lo, hi = centred_ci(float(np.median(sk)), sk)
    assert hi - np.median(sk) > 3 * (np.median(sk) - lo)
    # replicates that do not vary: the degenerate interval [point, point]
    assert centred_ci(0.5, np.full(100, 0.5)) == (0.5, 0.5)
    assert all(np.isnan(centred_ci(0.5, np.full(10, np.nan))))


def test_a_written_end_beyond_the_point_stays_beyond_it():
    """Rounded to 6 decimals, an end less than 1e-6 beyond the point would meet it: the written
    interval keeps the point strictly inside (a degenerate one stays degenerate)."""
    from vaxstudy.estimate.figures import written_ci

    assert written_ci(0.0378299, 0.0378, 0.03783) == [0.0378, 0.037831]
    assert written_ci(0.0378301, 0.03782997, 0.0379) == [0.037829, 0.0379]
    assert written_ci(0.5, 0.5, 0.5) == [0.5, 0.5]
    # a degenerate interval whose point is not a 6-decimal number stays degenerate (rounded
    # outwards it was [0.046377, 0.046378] with the point 0.046378 at its upper end)
    assert written_ci(0.0463779225757, 0.0463779225757, 0.0463779225757) == [0.046378, 0.046378]
    assert written_ci(0.0463779225757, 0.0463779225757, 0.05) == [0.046378, 0.05]
    assert written_ci(0.25, 0.25, 0.5) == [0.25, 0.5]  # the point an end where the interval says so
    # an end that differs from the point by floating-point noise (the same sum in another order) is
    # the point: a held-out district's degenerate duplicate-dose rate was written 0.013656-0.013657
    assert written_ci(0.013657056145675266, 0.013657056145675259, 0.013657056145675266) == [0.013657, 0.013657]


def test_unlinked_local_adults_raise_the_upper_end_of_coverage_not_the_point(tmp_path):
    """Eight residents covered and linked; three unlinked dose-1 rows: a local adult (typed
    province 40, year-only birth date), one with no address and no sex, and one from another
    province. The linkage gives them nothing (no candidate), so the point stays 8/20; the first
    two could be residents the linkage missed (the data cannot tell them from local people
    missing from the register), so recorded and corrected coverage may reach 10/20, and the
    group of the typed sex or district only. The outsider raises nothing. Every link here is
    certain and no dose is missing, so nothing can lower the figures: the point is the lower
    end, for that reason. The unlinked-record rate may be lower by the same two rows."""
    pop = [dict(person_id=f"P{i}", sex="M" if i < 10 else "F") for i in range(20)]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1) for i in range(8)]
    v += [dict(record_id=f"u{i}", subject_id=f"t{i}", person=None, dose_number=1) for i in range(3)]
    std = [dict(record_id=f"r{i}", province_code="40", district_code="412", sex="M", dob="1980-01-01",
                birth_year=1980, dob_precision="day") for i in range(8)]
    std += [dict(record_id="u0", province_code="40", district_code="412", sex="F", dob=None, birth_year=1990,
                 dob_precision="year"),
            dict(record_id="u1", province_code=None, district_code=None, sex=None, dob=None, birth_year=None,
                 dob_precision=None),
            dict(record_id="u2", province_code="01", district_code="001", sex="M", dob="1980-01-01",
                 birth_year=1980, dob_precision="day")]
    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="1")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=11)]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, sites, tal, vaccinations_std=std), "40", START, END,
                    tmp_path / "o", n_boot=50, audit=False)
    assert m["method"]["missed_links"]["possible_persons_dose1"] == 2
    assert m["coverage_dose1_recorded"] == 0.4 and m["coverage_dose1_recorded_ci"] == [0.4, 0.5]
    assert m["linkage_only_ci"]["coverage_dose1_recorded"] == [0.4, 0.5]
    # every link certain and nothing missing: nothing can lower either figure (a one-sided interval)
    assert m["coverage_dose1_ci"] == [0.4, 0.5]
    assert m["by_district"]["412"]["coverage_dose1_recorded_ci"] == [0.4, 0.5]
    # typed F: u0 and u1 (no sex) could be women; only u1 could be a man
    assert m["by_sex"]["F"]["coverage_dose1_recorded_ci"] == [0.0, 0.2]
    assert m["by_sex"]["M"]["coverage_dose1_recorded_ci"] == [0.8, 0.9]
    assert m["coverage_dose2_recorded_ci"] == [0.0, 0.0]
    # the same two rows may be residents' rows: the unlinked-record rate (3 of 11) may be 1 of 11
    assert m["unlinked_record_rate"] == 0.272727 and m["unlinked_record_rate_ci"] == [0.090909, 0.272727]



def test_the_interval_reaches_the_figure_of_the_links_as_decided():
    """The point counts each uncertain link with its probability, so it is only as good as their
    calibration: the interval reaches the figure of the links as decided on that side, and the
    other side stays the redraw's. A decided figure already inside changes nothing."""
    from vaxstudy.estimate.figures import rate_block

    r = "duplicate_subject_rate"
    reps = {"rec:province": {r: np.random.default_rng(5).normal(0.10, 0.005, (2000, 1))}}

    def ci(decided=None):
        pt = {"rec:province": {r: np.array([[0.10]])}}
        if decided is not None:
            pt["rec:province"][f"decided:{r}"] = np.array([[decided]])
        return rate_block(pt, reps, "rec:province", None, 0, None, (r,))[f"{r}_ci"]

    lo, hi = ci()
    assert 0.088 < lo < 0.092 and 0.108 < hi < 0.112
    assert ci(0.05) == [0.05, hi]
    assert ci(0.13) == [lo, 0.13]
    assert ci(0.095) == [lo, hi]


def test_an_interval_holds_whole_counts():
    """A figure is a count over a total no draw moves, so its truth is a whole count: an interval
    reaching 38.6 to 39.4 duplicate profiles of 1,000 (a district whose uncertain links are all near
    certain, its point 39.03 a fraction off the count) is written 38 to 40. Ends already whole stay,
    a point that is an end stays one (nothing can move the figure that way), and without its total
    a figure's interval is the redraw's."""
    from vaxstudy.estimate.figures import rate_block

    r = "duplicate_subject_rate"
    reps = {"rec:province": {r: np.random.default_rng(5).normal(0.03903, 0.0002, (2000, 1))}}

    def ci(point=0.03903, den=1000.0, reps=reps):
        pt = {"rec:province": {r: np.array([[point]])}}
        if den is not None:
            pt["rec:province"][f"den:{r}"] = np.array([[den]])
        return rate_block(pt, reps, "rec:province", None, 0, None, (r,))[f"{r}_ci"]

    lo, hi = ci(den=None)
    assert 0.0386 < lo < 0.0387 and 0.0394 < hi < 0.0395
    assert ci() == [0.038, 0.04]
    # a count known exactly: its interval is the point
    assert ci(0.04, reps={"rec:province": {r: np.full((2000, 1), 0.04)}}) == [0.04, 0.04]
    # an interval already reaching whole counts on both sides keeps them
    wide = {"rec:province": {r: np.random.default_rng(5).normal(0.039, 0.0051, (2000, 1))}}
    assert ci(0.039, reps=wide) == pytest.approx([0.029, 0.049], abs=0.0011)
    assert all(abs(e * 1000 - round(e * 1000)) < 1e-9 for e in ci(0.039, reps=wide))


def _two_districts(tmp_path, pop: list[dict], v: list[dict], tallied_412: int) -> dict:
    """Estimate a province of two sites, S1 in district 412
    (``tallied_412`` doses tallied on 1 August) and S2 in 413 (one dose)."""
    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="1"),
             dict(site_id="S2", site_name="b", province_code="40", district_code="413", commune_code="2")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=tallied_412),
           dict(site_id="S2", vaccination_date="2021-08-01", dose_number=1, doses_administered=1)]
    return estimate_db(make_db(tmp_path / "d.duckdb", pop, v, sites, tal), "40", START, END, tmp_path / "o",
                       n_boot=200, audit=False)


def test_a_district_counts_its_duplicate_profiles_and_their_flips_within_its_own_rows(tmp_path):
    """Resident P0 has an uncertain profile in district 413 and a sure one in 412; P1 two sure
    profiles in 412. Within 412, P0 has one profile, so whether the 413 link holds changes
    nothing there: 412 has 1 duplicate of 3 profiles, exactly. The province counts all rows:
    2 duplicates of 4, less the 0.4 chance that the 413 link is wrong."""
    pop = [dict(person_id=f"P{i}") for i in range(4)]
    v = [dict(record_id="a", subject_id="s2", person="P0", q=0.6, site_id="S2", district_code="413"),
         dict(record_id="b", subject_id="s1", person="P0"),
         dict(record_id="c", subject_id="s3", person="P1"),
         dict(record_id="d", subject_id="s4", person="P1")]
    m = _two_districts(tmp_path, pop, v, tallied_412=3)
    d412, d413 = m["by_district"]["412"], m["by_district"]["413"]
    assert d412["duplicate_subject_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert d412["duplicate_subject_rate_ci"] == pytest.approx([1 / 3, 1 / 3], abs=1e-6)
    assert d413["duplicate_subject_rate"] == 0.0
    assert m["duplicate_subject_rate"] == pytest.approx((2 - 0.4) / 4, abs=1e-6)


def _runner_up_case(tmp_path, runner_up: bool):
    """District 412: resident P0's sure profile s1 (dose 1), and row a, P0 typed again (profile s2,
    dose 1), unlinked: its best candidate is namesake P3 (no profile, q 0.3), the right person P0
    only the runner-up (q2 0.6); in the register at all 0.95. Truth: 1 duplicate profile of 2,
    1 duplicate dose of 2 rows. 20 residents: the second-profile prior r is 1 (profiles.py)."""
    pop = [dict(person_id=f"P{i}") for i in range(20)]
    a = dict(record_id="a", subject_id="s2", cand="P3", cand_q=0.3, cand_any=0.95)
    if runner_up:
        a.update(cand2="P0", cand2_q=0.6)
    v = [dict(record_id="b", subject_id="s1", person="P0"), a,
         dict(record_id="c", subject_id="s3", person="P1", site_id="S2", district_code="413")]
    m = _two_districts(tmp_path, pop, v, tallied_412=2)
    return m["by_district"]["412"]


def test_an_unlinked_rows_runner_up_with_a_profile_can_make_it_a_duplicate_profile_and_dose(tmp_path):
    """The right person as runner-up: with q2 0.6 the district expects 0.6 duplicate profiles of 2
    and 0.6 duplicate doses of 2 rows, and both intervals reach the truth, 1/2 (without the
    runner-up the row could only go to the namesake or outside the register: 0 and [0, 0])."""
    d = _runner_up_case(tmp_path, runner_up=True)
    for r in ("duplicate_subject_rate", "duplicate_dose_rate"):
        assert d[r] == pytest.approx(0.6 / 2, abs=1e-6), r
        lo, hi = d[f"{r}_ci"]
        assert lo <= 0.0 and hi >= 0.5 - 1e-6, (r, lo, hi)


def test_a_work_database_without_the_runner_up_columns_still_estimates(tmp_path):
    """record_links linked before second_person_id existed: the runner-up branch is empty."""
    d = _runner_up_case(tmp_path, runner_up=False)
    for r in ("duplicate_subject_rate", "duplicate_dose_rate"):
        assert d[r] == 0.0 and d[f"{r}_ci"] == [0.0, 0.0], (r, d[r], d[f"{r}_ci"])
