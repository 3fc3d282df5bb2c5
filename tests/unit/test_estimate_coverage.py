"""Corrected coverage on hand-made cases: the formula, and how wrong its assumption can be."""

from __future__ import annotations

import pytest

from vaxstudy.estimate import estimate_db
from helpers.estimatedb import make_db

START, END = "2021-03-08", "2021-10-31"
SITES = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000")]


def _tally(dose, n, day="2021-08-01", site="S1"):
    return dict(site_id=site, vaccination_date=day, dose_number=dose, doses_administered=n)


def test_dose2_without_dose1_is_not_counted_twice(tmp_path):
    """P3's dose 1 was given (tallied) but never entered; their dose 2 was entered.

    The missing dose 1 belongs to P3, who is already counted through dose 2,
    so corrected dose-1 coverage adds nobody: 3 of 10, not 4 of 10.
    """
    pop = [dict(person_id=f"P{i}") for i in range(1, 11)]
    v = [
        dict(record_id="a", subject_id="s1", person="P1", dose_number=1),
        dict(record_id="b", subject_id="s2", person="P2", dose_number=1),
        dict(record_id="c", subject_id="s3", person="P3", dose_number=2, vaccination_date="2021-09-01"),
    ]
    tal = [_tally(1, 3), _tally(2, 1, "2021-09-01")]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=20, audit=False)
    assert m["coverage_dose1_recorded"] == pytest.approx(0.3)
    assert m["coverage_dose1"] == pytest.approx(0.3)
    assert m["coverage_dose2"] == pytest.approx(0.1)
    assert m["missing_entry_rate"] == pytest.approx(1 - 3 / 4)


def test_missing_doses_of_non_residents_do_not_raise_coverage(tmp_path):
    """Half the entered doses at the site are outsiders: half the missing ones are taken as outsiders."""
    pop = [dict(person_id=f"P{i}") for i in range(1, 11)]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1) for i in (1, 2)]
    v += [dict(record_id=f"x{i}", subject_id=f"t{i}", person=None, dose_number=1) for i in (1, 2)]
    tal = [_tally(1, 8)]  # 4 missing
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=20, audit=False)
    assert m["coverage_dose1_recorded"] == pytest.approx(0.2)
    assert m["coverage_dose1"] == pytest.approx((2 + 2) / 10)
    assert m["sensitivity"]["coverage_bounds"]["coverage_dose1"] == [pytest.approx(0.2), pytest.approx(0.6)]


def test_how_wrong_the_mix_assumption_can_be(tmp_path):
    """Entered doses are half young, half old; the 4 missing doses truly all belong to old people.

    The assumption splits them 2/2, so each age group is off by
    missing * (true share - assumed share) / N = 4 * (1 - 0.5) / 10 = 0.2,
    in opposite directions; the province total is still right, and the
    bounds (nobody / everybody missing is a resident) hold the truth.
    """
    young = [dict(person_id=f"Y{i}", date_of_birth="1985-06-01") for i in range(10)]
    old = [dict(person_id=f"O{i}", date_of_birth="1945-06-01") for i in range(10)]
    v = [dict(record_id=f"y{i}", subject_id=f"sy{i}", person=f"Y{i}", dose_number=1) for i in range(4)]
    v += [dict(record_id=f"o{i}", subject_id=f"so{i}", person=f"O{i}", dose_number=1) for i in range(4)]
    tal = [_tally(1, 12)]
    m = estimate_db(make_db(tmp_path / "d.duckdb", young + old, v, SITES, tal), "40", START, END,
                    tmp_path / "o", n_boot=20, audit=False)
    true_old, true_young, true_all = 8 / 10, 4 / 10, 12 / 20
    est_old = m["by_age_group"]["65+"]["coverage_dose1"]
    est_young = m["by_age_group"]["30-49"]["coverage_dose1"]
    assert est_old - true_old == pytest.approx(-4 * (1 - 0.5) / 10)
    assert est_young - true_young == pytest.approx(4 * (0.5 - 0) / 10)  # young: assumed 0.5, truly 0
    assert m["coverage_dose1"] == pytest.approx(true_all)
    lo, hi = m["sensitivity"]["coverage_bounds"]["coverage_dose1"]
    assert lo <= true_all <= hi


def test_week_mix_follows_when_the_doses_were_missed(tmp_path):
    """Young people entered in week 1, old people in week 2; the 2 missing doses are from week 2.

    The site-week mix gives them to the old, as the site-wide mix would not.
    """
    young = [dict(person_id=f"Y{i}", date_of_birth="1985-06-01") for i in range(10)]
    old = [dict(person_id=f"O{i}", date_of_birth="1945-06-01") for i in range(10)]
    v = [dict(record_id=f"y{i}", subject_id=f"sy{i}", person=f"Y{i}", dose_number=1,
              vaccination_date="2021-08-02") for i in range(4)]
    v += [dict(record_id=f"o{i}", subject_id=f"so{i}", person=f"O{i}", dose_number=1,
               vaccination_date="2021-08-10") for i in range(4)]
    tal = [_tally(1, 4, "2021-08-02"), _tally(1, 6, "2021-08-10")]
    m = estimate_db(make_db(tmp_path / "d.duckdb", young + old, v, SITES, tal), "40", START, END,
                    tmp_path / "o", n_boot=20, audit=False)
    assert m["by_age_group"]["65+"]["coverage_dose1"] == pytest.approx(0.6)
    assert m["by_age_group"]["30-49"]["coverage_dose1"] == pytest.approx(0.4)


def test_tally_errors_widen_the_interval_without_an_allowance(tmp_path):
    """Day 1: 3 doses entered against a tally of 1 (the paper under-counts by 2, visibly);
    day 2: 5 entered of 10 tallied, where an under-count of 1 or 2 would hide. Net missing 3, so
    coverage 11/20. Half the tallies could show a size 2 (none a size 1): 2 errors of size 2
    each way expected. Over-counts 4 doses; under-counts' unseen part 2 (the one behind day 2's
    missing entries); with the visible 2 the net is 0 and the point stays. Their spread: Poisson
    (over-counts 8 + unseen 4 in mean square) and their number's error, read from one visible
    under-count (net 2: 4): sd 4 doses. No allowance lowers the lower end any more (before: 2
    doses, the visible under-counts); it stops at recorded coverage, which no replicate goes below."""
    pop = [dict(person_id=f"P{i}") for i in range(20)]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1,
              vaccination_date="2021-08-02" if i < 3 else "2021-08-03") for i in range(8)]
    tal = [_tally(1, 1, "2021-08-02"), _tally(1, 10, "2021-08-03")]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=2000, audit=False)
    assert m["method"]["tally_undercount_doses"] == {"dose1": 2, "dose2": 0}
    assert m["coverage_dose1"] == pytest.approx(11 / 20)
    lo, hi = m["coverage_dose1_ci"]
    assert lo == pytest.approx(0.4)  # 11/20 - 1.96 x 4/20 is below recorded coverage
    # 11/20 + 1.96 x 4/20 = 0.942 (before: sd sqrt(8) doses, 0.827), out to whole residents: 19 or 20 of 20
    assert hi in (0.95, 1.0)
    assert m["coverage_dose1_recorded_ci"] == [0.4, 0.4]


def test_hidden_tally_overcounts_beyond_the_visible_undercounts_are_taken_off(tmp_path):
    """Counting errors go up as often as down, and a count cannot go below 0. Day 1: 3 entered
    against a tally of 1 (under-count 2, visible); day 2: 1 entered against a tally of 0 (an
    under-count stopped at 0: it shows 1, whatever its size); day 3: 5 entered of 10 (an
    under-count of 1 or 2 hides). Net missing 2 holds the 3 visible under-count doses. Day 1 says
    size 2, and day 2 is then one too (a size 1 would have shown on day 1 as well): one size-2
    error per tally each way, over-counts 6 doses, the under-counts' unseen part 2 (day 3): the
    net 6 - 2 - 3 = 1 is taken off, so 1 dose is imputed, not 2 (before the truncation: 11/20)."""
    pop = [dict(person_id=f"P{i}") for i in range(20)]
    days = ["2021-08-02"] * 3 + ["2021-08-03"] + ["2021-08-04"] * 5
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1, vaccination_date=d)
         for i, d in enumerate(days)]
    tal = [_tally(1, 1, "2021-08-02"), _tally(1, 0, "2021-08-03"), _tally(1, 10, "2021-08-04")]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=50, audit=False)
    assert m["method"]["tally_undercount_doses"] == {"dose1": 3, "dose2": 0}
    assert m["coverage_dose1"] == pytest.approx(10 / 20, abs=1e-4)  # the EM near its maximum


def test_the_size_of_a_counting_error_is_read_from_the_days_that_could_show_it(tmp_path):
    """A tally cannot go below 0, so an under-count shows its whole size j only on a day of more
    than j doses. Days 1 and 2: 2 entered against a tally of 1 (a size 1: a size 2 or 3 would
    have shown 2); day 3: 10 entered against 7 (size 3); day 4: 7 against 5 (size 2, which
    the days of 2 would have shown as 2 too: none did, so no size 2 beyond it); day 5: 4 entered
    of 20 (16 lacking: any under-count hides whole). Maximum likelihood: sizes 1 and 3 alike, one
    error per tally each way: over-counts 5 x 2 = 10 doses, the under-counts' unseen part 2 (day 5),
    visible 7: 1 dose taken off the 9 net missing, coverage (25 + 8) / 40 (before: 6 imputed, the
    hidden under-count of day 5 not counted)."""
    pop = [dict(person_id=f"P{i}") for i in range(40)]
    days = (["2021-08-02"] * 2 + ["2021-08-03"] * 2 + ["2021-08-04"] * 10 + ["2021-08-05"] * 7
            + ["2021-08-06"] * 4)
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1, vaccination_date=d)
         for i, d in enumerate(days)]
    tal = [_tally(1, 1, "2021-08-02"), _tally(1, 1, "2021-08-03"), _tally(1, 7, "2021-08-04"),
           _tally(1, 5, "2021-08-05"), _tally(1, 20, "2021-08-06")]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=20, audit=False)
    assert m["method"]["tally_undercount_doses"] == {"dose1": 7, "dose2": 0}
    assert m["coverage_dose1"] == pytest.approx(33 / 40, abs=1e-4)  # the EM near its maximum


def test_the_owners_of_the_missing_doses_are_a_draw_from_the_weeks_mix(tmp_path):
    """One site, one week: 10 entered doses of district 412's residents and 10 of 413's, 40
    tallied. The 20 doses never entered are imputed 10 and 10; who they really were is a draw
    from that mix, known through 20 doses (plus the site's mix as a prior of weight 1):
    Dirichlet-multinomial, variance 20 x 0.5 x 0.5 x (20 + 21) / (1 + 21) = 9.32 residents in
    each district of 100. The province's figure does not depend on it (all 20 are residents):
    its interval is the point (before: both the point, the one site having nothing to resample)."""
    pop = [dict(person_id=f"{d}-{i}", district_code=d) for d in ("412", "413") for i in range(100)]
    v = [dict(record_id=f"r{d}-{i}", subject_id=f"s{d}-{i}", person=f"{d}-{i}", dose_number=1, district_code=d)
         for d in ("412", "413") for i in range(10)]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, [_tally(1, 40)]), "40", START, END,
                    tmp_path / "o", n_boot=2000, seed=3, audit=False)
    assert m["coverage_dose1"] == pytest.approx(0.2) and m["coverage_dose1_ci"] == [0.2, 0.2]
    half = 1.96 * (20 * 0.25 * 41 / 22) ** 0.5 / 100
    for d in ("412", "413"):
        blk = m["by_district"][d]
        assert blk["coverage_dose1"] == pytest.approx(0.2)
        lo, hi = blk["coverage_dose1_ci"]
        # out to whole residents of 100: at most one further
        assert 0.2 - half - 0.016 <= lo <= 0.2 - half + 0.006 and 0.2 + half - 0.006 <= hi <= 0.2 + half + 0.016
        assert round(100 * lo, 9) == round(100 * lo) and round(100 * hi, 9) == round(100 * hi)


def test_corrected_lower_end_is_floored_at_recorded_lower_end_not_its_point(tmp_path):
    """Day 1: 3 doses entered against a tally of 1 (visible undercount 2); day 2: 5 entered of
    7 tallied. Net missing 0 and the expected tally errors' net 0: corrected = recorded coverage.
    One link has q = 0.6, so recorded coverage itself may be lower (its interval reaches 7/20).
    The tally errors' spread reaches below it; the corrected lower end stops at recorded
    coverage's *lower end* (a replicate's recorded coverage plus doses never entered, never
    fewer than 0), not at its point: the point is not an end of the corrected interval."""
    pop = [dict(person_id=f"P{i}") for i in range(20)]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1, q=0.6 if i == 7 else 1.0,
              vaccination_date="2021-08-02" if i < 3 else "2021-08-03") for i in range(8)]
    tal = [_tally(1, 1, "2021-08-02"), _tally(1, 7, "2021-08-03")]
    m = estimate_db(make_db(tmp_path / "d.duckdb", pop, v, SITES, tal), "40", START, END, tmp_path / "o",
                    n_boot=200, audit=False)
    assert m["coverage_dose1"] == pytest.approx(m["coverage_dose1_recorded"]) == pytest.approx(7.6 / 20)
    rlo, rhi = m["coverage_dose1_recorded_ci"]
    lo, hi = m["coverage_dose1_ci"]
    assert rlo == pytest.approx(7 / 20)
    assert lo == pytest.approx(rlo) and lo < m["coverage_dose1"] < hi
