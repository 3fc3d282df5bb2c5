"""Parameters of the synthetic province's entry process and field noise.

Every rate is a probability in [0, 1]. Defaults are calibrated to what was
reported for Nghệ An in October 2021: on 15 October the province reported
812,682 first doses given and 757,224 first doses held by the national
software (93.2% entered, 6.8% missing). With the defaults, a province generated
for the default period (2021-03-08 .. 2021-10-31) has about 93% of its true
first-dose events present in the export (see ``data/README.md`` and the tests).
The field-noise rates are not published figures; they are set to the orders of
magnitude described by provincial data-cleaning reports (missing diacritics
and ID numbers are common, structural errors such as swapped name parts rare)
and are all documented here, one field each.

``CampaignParams`` (at the end) holds the vaccination campaign itself: first-dose
curve, uptake, vaccine mix, dose intervals and second-dose supply, each with its
source (Nghệ An's reports of 2021).

Rates of profile fields (names, dates of birth, ID numbers, phones, address)
apply per software *profile* (subject): in the software those fields belong to
the profile, so all rows of one subject carry the same values.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SynthParams(BaseModel):
    """All entry-process and noise parameters, with calibrated defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- doses never entered ------------------------------------------------
    missing_base: float = Field(
        0.016, ge=0, le=1,
        description="Probability that a dose given at a typical site (effect 0) on a day at entry capacity (load 1) is never "
        "typed in. Together with the site and load effects and the export backlog it yields ~93% of "
        "first doses entered (Nghệ An, 15 Oct 2021: 757,224 / 812,682).",
    )
    missing_site_sd: float = Field(
        0.8, ge=0,
        description="SD (logit scale) of the per-site effect on never-entered doses: a few stations "
        "with no staff for data entry lose many more records than the rest.",
    )
    missing_load_coef: float = Field(
        0.5, ge=0,
        description="Backlog effect over time: logit(p_missing) rises by this much per unit of log(load), "
        "load = province doses per day (trailing 7-day mean) / (capacity_share × adults). Mass-vaccination "
        "weeks lose more records and are typed later.",
    )
    capacity_share: float = Field(
        0.004, gt=0,
        description="Daily data-entry capacity as a share of the province's adults (0.4%/day ≈ 10,000 "
        "records a day for Nghệ An's ~2.5M adults); the October 2021 peak ran at ~2-3× this.",
    )
    # -- entry lag ------------------------------------------------------------
    lag_same_day: float = Field(
        0.55, ge=0, le=1,
        description="Share of entered rows typed in on the day of vaccination.",
    )
    lag_mean_days: float = Field(
        1.3, gt=0,
        description="Mean delay in days (geometric) for rows not entered the same day; multiplied by the "
        "day's load ratio at the site (backlog). Rows whose entered_date falls after the export date "
        "(period_end) are not in the export.",
    )
    lag_late_share: float = Field(
        0.015, ge=0, le=1,
        description="Share of entered rows typed in a late catch-up batch, 10–60 days after vaccination.",
    )
    entered_date_empty: float = Field(
        0.01, ge=0, le=1, description="Share of exported rows whose entered_date is empty (bulk imports)."
    )
    # -- duplication ------------------------------------------------------------
    new_subject_rate: float = Field(
        0.05, ge=0, le=1,
        description="Probability that a later dose of a person who already has a profile is entered "
        "under a new profile (the clerk did not find the existing one).",
    )
    dup_dose_rate: float = Field(
        0.015, ge=0, le=1,
        description="Probability that an entered dose is typed a second time (a second row: same site, "
        "dose number and vaccine, same vaccination date but see dup_dose_date_shift; entered 0–20 days after the first).",
    )
    dup_dose_new_subject: float = Field(
        0.4, ge=0, le=1,
        description="Share of second typings made under a freshly created profile (fields retyped with "
        "their own noise); the rest repeat the row under the same profile (identical person fields).",
    )
    dup_dose_date_shift: float = Field(
        0.1, ge=0, le=1,
        description="Share of second typings whose vaccination_date is the day before the true one "
        "(typed from memory or from the previous day's list); site, dose and vaccine stay the same.",
    )
    # -- name noise -------------------------------------------------------------
    name_no_diacritics: float = Field(0.12, ge=0, le=1, description="Name typed without diacritics (đ → d).")
    name_nfd: float = Field(0.10, ge=0, le=1, description="Name stored in decomposed Unicode (NFD).")
    name_tone_style: float = Field(
        0.30, ge=0, le=1,
        description="Among names with an oa/oe/uy syllable, share typed with the other tone placement "
        "convention (register: hoà, thuỷ; typed: hòa, thủy).",
    )
    name_typo: float = Field(0.04, ge=0, le=1, description="One-character typo (substitution, deletion, insertion or transposition).")
    name_swap: float = Field(0.02, ge=0, le=1, description="Name parts swapped: given name moved first ('Hoà Nguyễn Thị').")
    name_upper: float = Field(0.05, ge=0, le=1, description="Name typed in capitals.")
    # -- date of birth noise -----------------------------------------------------
    dob_year_only: float = Field(0.06, ge=0, le=1, description="Only the birth year typed.")
    dob_day_month_swap: float = Field(
        0.03, ge=0, le=1,
        description="Day and month swapped; applied only where the swapped date is valid (day ≤ 12, day ≠ month).",
    )
    dob_iso: float = Field(0.30, ge=0, le=1, description="Full dates written yyyy-mm-dd instead of dd/mm/yyyy.")
    # -- ID number noise -----------------------------------------------------------
    id_empty: float = Field(0.10, ge=0, le=1, description="ID number left empty.")
    id_cmnd: float = Field(0.12, ge=0, le=1, description="The person's old 9-digit CMND typed instead of the CCCD.")
    id_typo: float = Field(0.03, ge=0, le=1, description="CCCD mistyped (one digit changed or two adjacent digits swapped).")
    # -- phone noise -----------------------------------------------------------------
    phone_empty: float = Field(0.12, ge=0, le=1, description="Phone left empty although the person has one.")
    phone_old11: float = Field(
        0.03, ge=0, le=1,
        description="Old 11-digit number (before the 2018 renumbering, e.g. 0167… for 037…); only for prefixes that were renumbered.",
    )
    phone_plus84: float = Field(0.05, ge=0, le=1, description="Written +84… instead of 0….")
    phone_typo: float = Field(0.02, ge=0, le=1, description="One digit of the phone mistyped.")
    # -- address and sex noise ------------------------------------------------------
    commune_empty: float = Field(0.05, ge=0, le=1, description="Commune code left empty (district and province kept).")
    commune_wrong: float = Field(0.04, ge=0, le=1, description="Wrong commune: the site's commune or another commune of the district.")
    address_empty: float = Field(0.02, ge=0, le=1, description="Province, district and commune all left empty.")
    sex_empty: float = Field(0.01, ge=0, le=1, description="Sex left empty.")
    # -- widened error catalogue (synth/errors.py) ----------------------------------
    # Kinds a registry export shows that the rates above do not make. Drawn from their
    # own random stream, so with all of them at 0 a province is the one the earlier
    # generator made. None is a published figure: each default is a rate small enough
    # not to dominate, with the reasoning for its kind in the description.
    dob_year_off1: float = Field(
        0.01, ge=0, le=1,
        description="Year of birth off by one, day and month right: the last digit slipped, or the "
        "year counted from the age in lunar years (tuổi mụ counts one more than the solar age).",
    )
    dob_year_off10: float = Field(
        0.003, ge=0, le=1,
        description="Year of birth off by ten, day and month right: the decade digit mistyped (1975 for 1985).",
    )
    dob_lunar: float = Field(
        0.01, ge=0, le=1,
        description="Day and month (and, before Tết, the year) of the lunar-calendar birthday, which many "
        "older people know instead of the solar one: the lunar date runs 20-50 days behind.",
    )
    dob_placeholder: float = Field(
        0.01, ge=0, le=1,
        description="Day and month typed as the placeholder 01/01 with the year right: the birthday is "
        "unknown and the form requires a full date.",
    )
    id_digit: float = Field(
        0.005, ge=0, le=1,
        description="One digit of the CCCD changed at any position, the 3-digit province of birth "
        "included (id_typo never touches it).",
    )
    id_sex_digit: float = Field(
        0.002, ge=0, le=1,
        description="The CCCD's 4th digit (sex and century: 0/1 male/female born 19xx, 2/3 born 20xx) "
        "mistyped as the other sex's.",
    )
    id_household: float = Field(
        0.005, ge=0, le=1,
        description="The ID of another member of the household (their CMND if they have one, else "
        "their CCCD): a family's papers are typed together and one is picked up twice.",
    )
    name_permute: float = Field(
        0.005, ge=0, le=1,
        description="Name parts in an order other than the original and other than the given-name-first "
        "rotation of name_swap (e.g. 'Nguyễn Hoà Thị', 'Thị Hoà Nguyễn').",
    )
    name_middle_drop: float = Field(
        0.01, ge=0, le=1,
        description="Middle name(s) left out ('Nguyễn Hoà'); the middle name is optional in use and often omitted.",
    )
    name_middle_add: float = Field(
        0.003, ge=0, le=1,
        description="A middle name added: Văn/Thị by sex where there is none or where it differs, "
        "as a clerk who expects one would type.",
    )
    commune_neighbour: float = Field(
        0.01, ge=0, le=1,
        description="The commune next in the province's GSO code order (codes run geographically, so "
        "usually a neighbour, sometimes across the district line; the district follows the commune).",
    )
    sex_wrong: float = Field(0.003, ge=0, le=1, description="Sex mistyped (the other one picked).")
    phone_household: float = Field(
        0.02, ge=0, le=1,
        description="The phone of another member of the household (one number given for the family).",
    )
    retype_visit: float = Field(
        0.1, ge=0, le=1,
        description="A later row of a profile whose person fields were typed again at that visit with "
        "fresh noise (the profile was not selected, or its fields were edited), so the rows of one "
        "profile do not always carry identical fields.",
    )
    # -- tallies ----------------------------------------------------------------------
    tally_error_rate: float = Field(
        0.02, ge=0, le=1,
        description="Share of site-day-dose tallies with a counting error (±1 to ±3 doses, never below 0).",
    )
    register_dob_missing: float = Field(
        0.0, ge=0, le=1,
        description="Share of register residents whose register entry has no date of birth (the register "
        "file's cell empty; the truth still names them). Ingest quarantines such an entry, the contract "
        "requiring the date, and the link looks for their rows apart (vaxstudy.link.incomplete). Default 0: "
        "the national register is built from citizen-ID issuance, where the date is mandatory, no rate of "
        "such entries is published, and 0 keeps every default province byte-identical to the earlier "
        "generator's; turn it on (e.g. 0.002) to measure that step.",
    )
    outsider_local_address: float = Field(
        0.0, ge=0, le=1,
        description="Share of the people vaccinated here but registered in another province (the outsiders) "
        "who type the address where they live or work in this province, the site's district and commune, "
        "instead of their registered one. Such a row looks like a local resident the linkage missed, so "
        "recorded coverage's upper end (estimate/missed.py) counts it: only a clerical review can tell them "
        "apart. Default 0 (every outsider types their home province) keeps every default province "
        "byte-identical to the earlier generator's.",
    )


NOISE_FIELDS = tuple(SynthParams.model_fields)

#: the error kinds the widened catalogue adds (synth/errors.py); all 0 reproduces the
#: earlier generator's provinces
NEW_ERROR_KINDS: tuple[str, ...] = (
    "dob_year_off1", "dob_year_off10", "dob_lunar", "dob_placeholder", "id_digit", "id_sex_digit",
    "id_household", "name_permute", "name_middle_drop", "name_middle_add", "commune_neighbour",
    "sex_wrong", "phone_household", "retype_visit",
)
#: every kind of error in the typed person fields (``vaxstudy synth --error KIND=RATE``)
ERROR_KINDS: tuple[str, ...] = tuple(
    f for f in SynthParams.model_fields
    if f.startswith(("name_", "dob_", "id_", "phone_", "commune_", "address_", "sex_"))
) + ("retype_visit",)

# ---------------------------------------------------------------------------
# the vaccination campaign
# ---------------------------------------------------------------------------
VACCINES = ("AstraZeneca", "Pfizer-BioNTech", "Moderna", "Vero Cell (Sinopharm)")
"""The vaccines given in 2021, in the order of the weights of ``CampaignParams.vaccine_mix``."""


class CampaignParams(BaseModel):
    """Who is vaccinated when, with which vaccine, and when the second dose comes.

    Calibrated so that the synthetic Nghệ An reproduces the province's table of
    15 October 2021 (``vaxstudy.synth.calibration.SEED_TABLE``; figures in
    docs/synthetic.md). Dates are ISO strings; sources are Vietnamese news
    reports of the provincial health department, cited in each field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dose1_reported: tuple[tuple[str, int], ...] = Field(
        (("2021-03-08", 0),
         ("2021-05-15", 18_500),    # COVAX AstraZeneca batch 2: 18,500 doses, to be given by 15 May (baonghean.vn, 7 Apr)
         ("2021-06-30", 34_600),    # + batch 3: 16,100 doses, given in June (baonghean.vn, June)
         ("2021-07-28", 47_875),    # 47,875 people vaccinated (Sở Y tế, baonghean.vn, 28 Jul)
         ("2021-09-12", 175_658),   # 243,515 doses of which 67,857 second doses (CDC Nghệ An, baohatinh.vn, 12 Sep)
         ("2021-10-06", 597_169),   # 597,169 adults with dose 1 = 25.75% (provincial steering committee, nghean24h.vn)
         ("2021-10-15", 739_981),   # the seed table (Ministry conference of 16 Oct)
         ("2021-11-01", 1_125_700),  # 48.54% of 2,319,000 adults, reported before children's vaccination began (nghean24h.vn)
         ("2021-11-19", 1_935_900)),  # 83.48% of adults (national portal, vietbao.vn, 19 Nov)
        description="People with a first dose given in Nghệ An by date (cumulative, province of 3.42M). The "
        "first-dose date curve is these counts scaled to the synthetic province (× register size / 3.42M) over "
        "its expected number of eventual first-dose recipients; linear between points, so the October 2021 "
        "acceleration (~5,000/day in August, ~17,000/day from mid-September, ~24,000/day late October, "
        "~45,000/day in November) comes from the reports themselves. Everyone willing has dose 1 by "
        "``dose1_complete_by`` (31 Dec 2021: 99.7% of adults, baonghean.vn).",
    )
    dose1_complete_by: str = Field("2021-12-31", description="Date by which every willing adult has a first dose.")
    uptake_district: tuple[float, float] = Field(
        (0.86, 0.99),
        description="Eventual uptake among adults, uniform by district in this range (mean ~0.93; the province "
        "planned 2.15M of its people vaccinated in 2021, baonghean.vn 28 Jul).",
    )
    uptake_age: tuple[tuple[int, float], ...] = Field(
        ((18, 0.92), (30, 0.97), (65, 0.92), (80, 0.75)),
        description="Uptake factor by age from the given age up (working ages most, the very old least: "
        "frail and housebound), multiplied by the district's uptake.",
    )
    priority_days: tuple[tuple[int, int], ...] = Field(
        ((50, 5), (65, 10)),
        description="Days earlier in the order of vaccination for ages ≥ 50 and ≥ 65 (priority groups). Shifts "
        "only reorder people: the number vaccinated each day still follows ``dose1_reported``.",
    )
    district_shift_days: int = Field(
        12, ge=0,
        description="Each district's campaign runs up to this many days earlier or later (uniform) in the order "
        "of vaccination: districts differ, the province's daily total follows the reports.",
    )
    vaccine_mix: dict[int, tuple[float, float, float, float]] = Field(
        {3: (1, 0, 0, 0), 4: (1, 0, 0, 0), 5: (1, 0, 0, 0), 6: (1, 0, 0, 0),
         7: (0.60, 0, 0.25, 0.15), 8: (0.55, 0.05, 0.15, 0.25), 9: (0.50, 0.05, 0.10, 0.35),
         10: (0.25, 0.05, 0.35, 0.35), 11: (0.35, 0.30, 0.20, 0.15), 12: (0.35, 0.35, 0.15, 0.15)},
        description="Month of the first dose → weights of the vaccines (order of ``VACCINES``). March–June: "
        "COVAX AstraZeneca only (the province's allocations of April and June). July–September mostly "
        "AstraZeneca: second doses nearly stopped from October (90,400 on 6 Oct, 91,498 on 15 Oct), which a "
        "large 3–4-week-vaccine share in August–September would contradict. Vero Cell from September (8M doses "
        "allocated nationally on 19 Sep, baohatinh.vn) and Moderna in October (500,000 doses for Nghệ An, "
        "vietbao.vn, Nov): both had overdue second doses in November. November–December: national deliveries, "
        "mostly AstraZeneca and Pfizer (reasoned, not a provincial figure).",
    )
    intervals: dict[str, tuple[int, int]] = Field(
        {"AstraZeneca": (56, 85), "Pfizer-BioNTech": (21, 29), "Moderna": (28, 33), "Vero Cell (Sinopharm)": (21, 29)},
        description="Days from dose 1 to the due date of dose 2, uniform in [low, high): the Ministry of Health's "
        "schedules (AstraZeneca 8–12 weeks, Pfizer 3–4 weeks, Moderna 4 weeks, Vero Cell 3–4 weeks).",
    )
    dose2_hold_from: str = Field(
        "2021-10-01",
        description="Second doses falling due on or after this date wait for a delivery (see dose2_resume). "
        "Reported second doses: 67,857 on 12 Sep, 90,400 on 6 Oct, 91,498 on 15 Oct — nearly none in October.",
    )
    dose2_resume: dict[str, str] = Field(
        {"AstraZeneca": "2021-11-15", "Pfizer-BioNTech": "2021-11-15", "Moderna": "2021-11-19",
         "Vero Cell (Sinopharm)": "2021-11-18"},
        description="Date second doses held since dose2_hold_from resume, by vaccine: Vero Cell for overdue second "
        "doses reached the province on 17 Nov and the districts on 18 Nov; Moderna second doses from 19 Nov "
        "(vietbao.vn). AstraZeneca and Pfizer are set to mid-November: the 2,042,637 doses of 19 Nov (83.48% "
        "of adults with dose 1) leave only ~0.1M second doses then (reasoned).",
    )
    dose2_catchup_days: int = Field(
        21, ge=1, description="Held second doses are given uniformly over this many days from the resume date.")
    dose2_completion: float = Field(
        0.97, ge=0, le=1, description="Share of first-dose recipients who get dose 2 (when its date has come).")
    outsider_share: float = Field(
        0.025, ge=0, lt=1,
        description="Share of first-dose recipients not in the register (people registered in other provinces "
        "vaccinated here: workers, students, returnees).",
    )

    @field_validator("dose1_reported")
    @classmethod
    def _increasing(cls, v):
        dates = [d for d, _ in v]
        if dates != sorted(dates) or len(set(dates)) != len(dates) or any(b < a for (_, a), (_, b) in zip(v, v[1:])):
            raise ValueError("dose1_reported must have increasing dates and non-decreasing counts")
        return v

    @field_validator("vaccine_mix")
    @classmethod
    def _mix(cls, v):
        bad = {m: w for m, w in v.items() if not 1 <= m <= 12 or min(w) < 0 or sum(w) <= 0}
        if bad:
            raise ValueError(f"vaccine_mix: months 1-12 with non-negative weights of positive sum, not {bad}")
        return v

    @field_validator("intervals", "dose2_resume")
    @classmethod
    def _per_vaccine(cls, v):
        if set(v) != set(VACCINES):
            raise ValueError(f"one entry per vaccine {VACCINES}, not {sorted(v)}")
        return v
