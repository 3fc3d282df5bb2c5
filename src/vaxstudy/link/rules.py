"""Blocking rules: which (register person, registry identity) pairs the link scores, and
which pairs expectation maximisation trains on. Plain SQL strings over the columns of
:mod:`vaxstudy.link.settings`; measured per rule by :mod:`vaxstudy.link.blocking` and
:mod:`vaxstudy.link.reach` (docs/linkage.md, *The single-error guarantee*)."""

from __future__ import annotations

# Blocking rules for prediction, each an equi-join (DuckDB hash join). Chosen
# by measurement on synthetic provinces: see docs/linkage.md and
# benchmarks/bench_link.py --blocking. In the register link, ``l`` is the
# register and ``r`` the registry (Splink orders link_only inputs by their
# dataset names, "register" < "vaccinations"), so the year-only rules only
# look at registry rows typed with a year alone.
PREDICTION_BLOCKING_RULES: dict[str, str] = {
    "id": 'l."id_number" = r."id_number"',
    "phone": 'l."phone" = r."phone"',
    "dob+given+district": (
        'l."dob" = r."dob" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."district_code" = r."district_code"'
    ),
    "dob+surname+middle+district": (
        'l."dob" = r."dob" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."middle_name_ascii" = r."middle_name_ascii" '
        'AND l."district_code" = r."district_code"'
    ),
    "dob+commune": 'l."dob" = r."dob" AND l."commune_code" = r."commune_code"',
    "swapped_dob+given+district": (
        'l."dob_swapped" = r."dob" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."district_code" = r."district_code"'
    ),
    "name+year+district": (
        'l."name_key" = r."name_key" AND l."birth_year" = r."birth_year" '
        'AND l."district_code" = r."district_code"'
    ),
    "surname+middle+yearonly+commune": (
        'l."birth_year" = r."year_only_birth_year" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."middle_name_ascii" = r."middle_name_ascii" AND l."commune_code" = r."commune_code"'
    ),
    "given+yearonly+commune": (
        'l."birth_year" = r."year_only_birth_year" '
        'AND l."given_name_ascii" = r."given_name_ascii" AND l."commune_code" = r."commune_code"'
    ),
    "noaddress:dob+given": (
        'l."dob" = r."dob_no_address" AND l."given_name_ascii" = r."given_name_ascii"'
    ),
    "noaddress:dob+surname+middle": (
        'l."dob" = r."dob_no_address" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."middle_name_ascii" = r."middle_name_ascii"'
    ),
    "noaddress:name+year": 'l."birth_year" = r."year_no_address" AND l."name_key" = r."name_key"',
    # -- routes that survive one wrong field the rules above all share (docs/linkage.md,
    # *The single-error guarantee*): the year (name + day and month, in the district or
    # for rows without an address; day and month + given name, or + surname and middle
    # name, in the commune, so also with a name part wrong), the district (date + whole
    # name, no place), day and month (name + commune + decade: a lunar or placeholder
    # birthday), and the ID's second half (one digit changed or two swapped in the first,
    # with the name, the day and month, or the given name and decade). Name + day and month in the whole
    # province and name + commune alone scored 4.4 and 4.2 million pairs at full scale
    # (blocks of namesakes grow with the square of the population), so each got a second
    # field (the district; the decade of birth) rather than being dropped. The ID's first
    # half is not a route: a CCCD's first half is its birth province, sex and year, and
    # with a name it joined every namesake born that year in the province.
    "name+daymonth+district": (
        'l."name_key" = r."name_key" AND l."birth_md" = r."birth_md" '
        'AND l."district_code" = r."district_code"'
    ),
    "noaddress:name+daymonth": 'l."name_key" = r."name_key" AND l."birth_md" = r."md_no_address"',
    # a record with a district but no commune: surname and given name with day and month in
    # the district. An empty commune is not a wrong field, but every day-and-month rule with
    # one name part joins on the commune and every whole-name rule needs the middle name, so
    # a wrong year with the middle name absent, added or misspelt had no route. For every
    # record (not only those without a commune) it made 12,833 pairs at scale 0.1 that no
    # other rule makes and 1.27 million at full scale (chance pairs grow with the square of
    # the population); for these records, 611 and 70,000
    "nocommune:surname+given+daymonth+district": (
        'l."surname_ascii" = r."surname_ascii" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."birth_md" = r."birth_md" AND l."district_code" = r."district_code" '
        'AND r."commune_code" IS NULL'
    ),
    # the date and the whole name, in no place: the first-pass route of a wrong district
    # (date + surname + given name made 3,313 chance pairs at scale 0.1, none true, growing
    # with the square of the population; a wrong district with a name part wrong as well is
    # the wide pass's dob + province)
    "dob+name": 'l."dob" = r."dob" AND l."name_key" = r."name_key"',
    "daymonth+given+commune": (
        'l."birth_md" = r."birth_md" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."commune_code" = r."commune_code"'
    ),
    "daymonth+surname+middle+commune": (
        'l."birth_md" = r."birth_md" AND l."surname_ascii" = r."surname_ascii" '
        'AND l."middle_name_ascii" = r."middle_name_ascii" AND l."commune_code" = r."commune_code"'
    ),
    "name+commune+decade": (
        'l."name_key" = r."name_key" AND l."commune_code" = r."commune_code" '
        'AND l."birth_decade" = r."birth_decade"'
    ),
    "id_tail+name": 'l."id_tail" = r."id_tail" AND l."name_key" = r."name_key"',
    # the day and month rather than the year: 366 values against ~80 (the ID's second half
    # and a birth year joined 3,359 pairs at scale 0.1 by chance, none true)
    "id_tail+daymonth": 'l."id_tail" = r."id_tail" AND l."birth_md" = r."birth_md"',
    # with the decade of birth: the ID's second half and a given name joined namesakes across
    # the province by chance (4,765 pairs at scale 0.1, none of them true, growing with the
    # square of the population)
    "id_tail+given+decade": (
        'l."id_tail" = r."id_tail" AND l."given_name_ascii" = r."given_name_ascii" '
        'AND l."birth_decade" = r."birth_decade"'
    ),
}

# Blocks for expectation maximisation: each leaves the other comparisons free, and each
# must be made almost only of matches, with non-matches that agree on the free comparisons
# no more than chance would have them. The name blocks therefore hold the whole name: a block
# on the date of birth and the given name alone (or surname, given name and commune) let
# through people who share them by chance and, the name parts being sex-specific, agree on
# sex and middle name too; EM took them for matches, and at full scale learnt that a match's
# residence is in another district 29 % of the time (true 0.08 %), its phone differs 19 %
# (true 2 %) and its CCCD shares only the prefix 36 % (true 1 %): a different commune, a CMND
# and no phone cost a namesake born the same day almost nothing (docs/linkage.md,
# *Calibration*).
TRAINING_BLOCKING_RULES: tuple[str, ...] = (
    'l."id_number" = r."id_number"',
    'l."dob" = r."dob" AND l."name_ascii" = r."name_ascii"',
    'l."name_ascii" = r."name_ascii" AND l."commune_code" = r."commune_code"',
)


ASYMMETRIC_RULES = (
    "swapped_dob+given+district",
    "surname+middle+yearonly+commune",
    "given+yearonly+commune",
    "noaddress:dob+given",
    "noaddress:dob+surname+middle",
    "noaddress:name+year",
    "nocommune:surname+given+daymonth+district",
)


def mirrored(rule: str) -> str:
    """The rule with the roles of l and r exchanged."""
    return rule.replace('l."', "\0L").replace('r."', 'l."').replace("\0L", 'r."')


def blocking_rules(names: list[str] | None = None, *, dedupe: bool = False) -> list[str]:
    """Prediction rules; for a dedupe (no l/r roles) the asymmetric ones twice."""
    names = list(PREDICTION_BLOCKING_RULES) if names is None else names
    rules = [PREDICTION_BLOCKING_RULES[n] for n in names]
    if dedupe:
        rules += [mirrored(PREDICTION_BLOCKING_RULES[n]) for n in names if n in ASYMMETRIC_RULES]
    return rules
