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

Rates of profile fields (names, dates of birth, ID numbers, phones, address)
apply per software *profile* (subject): in the software those fields belong to
the profile, so all rows of one subject carry the same values.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
