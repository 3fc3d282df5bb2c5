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
    # -- tallies ----------------------------------------------------------------------
    tally_error_rate: float = Field(
        0.02, ge=0, le=1,
        description="Share of site-day-dose tallies with a counting error (±1 to ±3 doses, never below 0).",
    )


NOISE_FIELDS = tuple(SynthParams.model_fields)
