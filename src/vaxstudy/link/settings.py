"""Splink model specification: comparisons, blocking rules, training blocks.

Everything here is plain data (Splink creators and SQL strings); nothing runs.
The comparisons read the standardised person columns of design.md, plus three
columns that :mod:`vaxstudy.link.prepare` derives for linkage:

* ``dob_swapped``  the date of birth with day and month exchanged (NULL unless
  both are <= 12 and differ), so a day/month swap is an exact equi-join;
* ``id_prefix``    the first six digits of a CCCD (birth-registration
  province, sex/century digit, two birth-year digits);
* ``name_ascii``   the whole name without diacritics (blocking only);
* ``name_key``     the ASCII name's words sorted: equal when name parts were
  typed in another order ("Hoa Nguyen Thi" for "Nguyen Thi Hoa");
* ``name_rot``     the ASCII name with its first word moved last: undoes the
  common "given name typed first" error;
* ``year_only_birth_year``  birth_year where only the year was typed, else
  NULL (lets a blocking rule reach year-only records alone);
* ``dob_no_address``, ``year_no_address``  dob / birth_year of rows typed
  without any residence (NULL otherwise), for the same purpose;
* ``birth_md``     month * 100 + day of birth (NULL for a year alone): survives a wrong year;
  ``md_no_address`` the same for rows typed without any residence; ``birth_decade``
  the year of birth // 10;
* ``id_head``, ``id_tail``  the ID's first floor(n/2) and last n - floor(n/2) - 1 digits,
  tagged with its length: one changed digit or two swapped neighbours leave one intact.

Levels are listed from most to least specific; Splink takes the first level
whose condition holds.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl

from vaxstudy.link.rules import blocking_rules

# Columns the linkage reads from population_std / vaccinations_std (plus the
# derived ones above). Missing columns are filled with NULL by prepare.py.
STD_COLUMNS: tuple[str, ...] = (
    "name_norm",
    "surname",
    "middle_name",
    "given_name",
    "surname_ascii",
    "middle_name_ascii",
    "given_name_ascii",
    "name_ascii",
    "dob",
    "birth_year",
    "dob_precision",
    "sex",
    "id_number",
    "id_type",
    "phone",
    "district_code",
    "commune_code",
)
DERIVED_COLUMNS: tuple[str, ...] = (
    "dob_swapped",
    "id_prefix",
    "name_key",
    "name_rot",
    "year_only_birth_year",
    "dob_no_address",
    "year_no_address",
    "birth_md",
    "md_no_address",
    "birth_decade",
    "id_head",
    "id_tail",
)
LINK_COLUMNS: tuple[str, ...] = ("unique_id", *STD_COLUMNS, *DERIVED_COLUMNS)


def guarded(guard: str, test: str) -> str:
    """``test`` evaluated only where the cheap ``guard`` holds (DuckDB evaluates
    CASE branches on the selected rows only): keeps the string distances off
    the millions of clearly different pairs scored in u sampling and prediction."""
    return f"(CASE WHEN {guard} THEN {test} ELSE FALSE END)"


def within_edits(a: str, b: str, k: int) -> str:
    """Damerau-Levenshtein distance of ``a`` and ``b`` at most ``k``, with the plain
    Levenshtein distance (3-5x cheaper in DuckDB) deciding first: a transposition is two
    Levenshtein edits, so DL <= k exactly when Levenshtein <= k, or Levenshtein <= 2k and
    DL <= k. Same result; the slow distance only runs on the few pairs in between
    (measured at scale 0.1: the ID level 697 -> 198 ms, the rotated name 1,490 -> 309 ms)."""
    return (f"(CASE WHEN levenshtein({a}, {b}) <= {k} THEN TRUE "
            f"WHEN levenshtein({a}, {b}) <= {2 * k} THEN damerau_levenshtein({a}, {b}) <= {k} "
            "ELSE FALSE END)")


# Typed "given surname middle": the typed surname is the true given name, or the
# typed middle name starts with the true surname (at least one survives a typo).
_ROTATION_GUARD = (
    '"surname_ascii_l" = "given_name_ascii_r" OR "given_name_ascii_l" = "surname_ascii_r" '
    'OR split_part("middle_name_ascii_l", \' \', 1) = "surname_ascii_r" '
    'OR "surname_ascii_l" = split_part("middle_name_ascii_r", \' \', 1)'
)
# Any other order of the same words (sorted words equal), or the rotation with up to two edits.
ROTATED_SQL = '("name_key_l" = "name_key_r" OR ' + guarded(
    _ROTATION_GUARD,
    "(" + within_edits('"name_rot_l"', '"name_ascii_r"', 2)
    + " OR " + within_edits('"name_ascii_l"', '"name_rot_r"', 2) + ")",
) + ")"
# u of the rotated-name level, fixed: random pairs practically never agree on a
# whole rotated name, so sampling cannot estimate it; an agreement is taken to
# be about as rare as an exact match on a whole name among random pairs.
ROTATED_U = 1e-4


def _rotated_level(part: str) -> Any:
    """Name parts typed in another order (given name first).

    The evidence is counted once, in the surname comparison; for middle and
    given name the level only stops the parts from counting as disagreements.
    """
    lvl = cll.CustomLevel(ROTATED_SQL, label_for_charts="name parts typed in another order")
    if part == "surname":
        return lvl.configure(u_probability=ROTATED_U, fix_u_probability=True)
    return lvl.configure(is_null_level=True)


def _name_comparison(part: str, *, tf: bool, empty_level: bool) -> cl.CustomComparison:
    """Surname, middle or given name, compared on the ASCII form.

    Term-frequency adjustment is made on the ASCII form, whose exact-match level
    is the first one, so Splink's u for that level and the term frequencies
    describe the same event. Whether the diacritics also agree is a separate
    comparison (:func:`diacritics_comparison`).
    """
    a = f"{part}_ascii"
    null_sql = f'"{a}_l" IS NULL OR "{a}_r" IS NULL'
    if not empty_level:
        null_sql += f" OR \"{a}_l\" = '' OR \"{a}_r\" = ''"
    levels: list[Any] = [
        cll.CustomLevel(null_sql, label_for_charts=f"{part} missing").configure(
            is_null_level=True
        ),
        cll.ExactMatchLevel(a, term_frequency_adjustments=tf).configure(
            label_for_charts=f"{part} exact (ASCII)"
        ),
        _rotated_level(part),
    ]
    if empty_level:
        levels.append(
            cll.CustomLevel(
                f"\"{a}_l\" = '' OR \"{a}_r\" = ''",
                label_for_charts=f"{part} empty on one side",
            )
        )
    levels += [
        cll.CustomLevel(
            guarded(
                f'abs(length("{a}_l") - length("{a}_r")) <= 1',
                within_edits(f'"{a}_l"', f'"{a}_r"', 1),
            ),
            label_for_charts=f"{part} ASCII one edit",
        ),
    ]
    if empty_level:  # a middle name with a word added or dropped ("van" vs "van minh")
        levels.append(
            cll.CustomLevel(
                guarded(
                    f"\"{a}_l\" <> '' AND \"{a}_r\" <> ''",
                    f"(strpos(' ' || \"{a}_l\" || ' ', ' ' || \"{a}_r\" || ' ') > 0 "
                    f"OR strpos(' ' || \"{a}_r\" || ' ', ' ' || \"{a}_l\" || ' ') > 0)",
                ),
                label_for_charts=f"{part}: one holds the other's words",
            )
        )
    levels += [
        cll.CustomLevel(
            f'jaro_winkler_similarity("{a}_l", "{a}_r") >= 0.88',
            label_for_charts=f"{part} ASCII Jaro-Winkler >= 0.88",
        ),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(
        levels, output_column_name=part, comparison_description=f"{part} (name part)"
    )


def diacritics_comparison() -> cl.CustomComparison:
    """Do the diacritics agree, where the ASCII names already do?

    Only informative when both names were typed with diacritics and agree
    without them ("Hà" vs "Hạ" are different names); everything else is a null
    level, so disagreements already counted by the name parts are not counted
    twice.
    """
    return cl.CustomComparison(
        [
            cll.CustomLevel(
                '"name_norm_l" IS NULL OR "name_norm_r" IS NULL '
                'OR "name_ascii_l" IS DISTINCT FROM "name_ascii_r" '
                'OR "name_norm_l" = "name_ascii_l" OR "name_norm_r" = "name_ascii_r"',
                label_for_charts="not comparable (no diacritics, or names differ)",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                '"name_norm_l" = "name_norm_r"', label_for_charts="diacritics agree"
            ),
            cll.ElseLevel().configure(label_for_charts="diacritics differ"),
        ],
        output_column_name="name_diacritics",
        comparison_description="name with diacritics, where the ASCII names agree",
    )


def dob_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        [
            cll.CustomLevel(
                '"birth_year_l" IS NULL OR "birth_year_r" IS NULL',
                label_for_charts="dob missing",
            ).configure(is_null_level=True),
            cll.CustomLevel('"dob_l" = "dob_r"', label_for_charts="dob exact"),
            cll.CustomLevel(
                '"dob_swapped_l" = "dob_r"', label_for_charts="dob day/month swapped"
            ),
            cll.CustomLevel(
                "(\"dob_precision_l\" = 'year' OR \"dob_precision_r\" = 'year' "
                'OR "birth_md_l" = 101 OR "birth_md_r" = 101) '
                'AND "birth_year_l" = "birth_year_r"',
                label_for_charts="year-only dob (or the 01/01 placeholder), year agrees",
            ),
            cll.CustomLevel(
                '(year("dob_l") = year("dob_r"))::INT + (month("dob_l") = month("dob_r"))::INT '
                '+ (day("dob_l") = day("dob_r"))::INT = 2',
                label_for_charts="dob: two of day, month, year agree",
            ),
            # a year typed alone (or as 01/01) is all the date there is, so a one-digit slip in
            # it (1965 -> 1975 or 1966) is this record's "two of three agree": without the level
            # it fell to "different", the date's strongest evidence against a link
            cll.CustomLevel(
                "(\"dob_precision_l\" = 'year' OR \"dob_precision_r\" = 'year' "
                'OR "birth_md_l" = 101 OR "birth_md_r" = 101) '
                'AND (abs("birth_year_l" - "birth_year_r") <= 1 '
                'OR floor("birth_year_l" / 10) = floor("birth_year_r" / 10) '
                'OR ("birth_year_l" % 10 = "birth_year_r" % 10 '
                'AND floor("birth_year_l" / 100) = floor("birth_year_r" / 100)))',
                label_for_charts="year-only dob (or 01/01), the year one digit off or +/- 1",
            ),
            cll.CustomLevel(
                "abs(date_diff('day', \"dob_l\", \"dob_r\")) <= 60",
                label_for_charts="dob within 60 days (e.g. the lunar-calendar birthday)",
            ),
            cll.CustomLevel(
                '"birth_year_l" = "birth_year_r"', label_for_charts="same birth year"
            ),
            cll.CustomLevel(
                'abs("birth_year_l" - "birth_year_r") <= 1',
                label_for_charts="birth year +/- 1",
            ),
            cll.ElseLevel(),
        ],
        output_column_name="dob",
        comparison_description="date of birth (full or year only)",
    )


def id_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        [
            cll.CustomLevel(
                '"id_number_l" IS NULL OR "id_number_r" IS NULL',
                label_for_charts="id missing",
            ).configure(is_null_level=True),
            cll.CustomLevel('"id_number_l" = "id_number_r"', label_for_charts="id exact"),
            cll.CustomLevel(
                guarded(
                    '"id_head_l" = "id_head_r" OR "id_tail_l" = "id_tail_r"',
                    within_edits('"id_number_l"', '"id_number_r"', 1),
                ),
                label_for_charts="id one digit off",
            ),
            cll.CustomLevel(
                '"id_prefix_l" = "id_prefix_r"',
                label_for_charts="CCCD prefix (province, sex, birth year) agrees",
            ),
            cll.CustomLevel(
                '"id_type_l" IS DISTINCT FROM "id_type_r"',
                label_for_charts="id types differ (CMND vs CCCD, invalid)",
            ),
            cll.ElseLevel(),
        ],
        output_column_name="id_number",
        comparison_description="ID number (CCCD/CMND)",
    )


def phone_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        [
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone"),
            cll.CustomLevel(
                guarded(
                    'left("phone_l", 3) = left("phone_r", 3) OR right("phone_l", 3) = right("phone_r", 3)',
                    within_edits('"phone_l"', '"phone_r"', 1),
                ),
                label_for_charts="phone one digit off",
            ),
            cll.ElseLevel(),
        ],
        output_column_name="phone",
    )


def place_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        [
            cll.CustomLevel(
                '("commune_code_l" IS NULL OR "commune_code_r" IS NULL) '
                'AND ("district_code_l" IS NULL OR "district_code_r" IS NULL)',
                label_for_charts="residence missing",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                '"commune_code_l" = "commune_code_r"', label_for_charts="same commune"
            ),
            cll.CustomLevel(
                '"district_code_l" = "district_code_r"', label_for_charts="same district"
            ),
            cll.ElseLevel(),
        ],
        output_column_name="residence",
    )


def sex_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        [cll.NullLevel("sex"), cll.ExactMatchLevel("sex"), cll.ElseLevel()],
        output_column_name="sex",
    )


def comparisons() -> list[cl.CustomComparison]:
    return [
        _name_comparison("surname", tf=True, empty_level=False),
        _name_comparison("middle_name", tf=True, empty_level=True),
        _name_comparison("given_name", tf=True, empty_level=False),
        diacritics_comparison(),
        dob_comparison(),
        sex_comparison(),
        id_comparison(),
        phone_comparison(),
        place_comparison(),
    ]


def build_settings(
    link_type: str = "link_only",
    *,
    probability_two_random_records_match: float = 1e-6,
    rules: list[str] | None = None,
    retain_columns: bool = False,
) -> dict[str, Any]:
    """The Splink settings (untrained) as a creator dict."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type=link_type,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=rules if rules is not None else blocking_rules(),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=retain_columns,
        retain_intermediate_calculation_columns=retain_columns,
        unique_id_column_name="unique_id",
        em_convergence=0.001,
        max_iterations=20,
    )


def settings_from_model(model: dict[str, Any], link_type: str = "link_only", *, rules: list[str] | None = None,
                        prior: float | None = None, retain_columns: bool = False) -> dict[str, Any]:
    """A trained (saved) model as the settings of a new Linker: a copy with ``link_type``,
    without the old linker's id, with the prediction ``rules`` and the ``prior`` if given.
    The one model→settings routine (reuse of a saved model, the wide pass, dedupe, the
    borderline waterfall)."""
    import copy

    settings = copy.deepcopy(dict(model))
    settings.pop("linker_uid", None)
    settings["link_type"] = link_type
    if rules is not None:
        settings["blocking_rules_to_generate_predictions"] = [{"blocking_rule": r, "sql_dialect": "duckdb"}
                                                               for r in rules]
    if prior is not None:
        settings["probability_two_random_records_match"] = prior
    if retain_columns:
        settings["retain_matching_columns"] = True
        settings["retain_intermediate_calculation_columns"] = True
    return settings
