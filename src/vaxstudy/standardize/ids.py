"""ID numbers: digits only; CCCD (12) / CMND (9) / invalid; the CCCD's embedded facts.

A CCCD (căn cước công dân) is ``PPP G YY NNNNNN``: PPP = 0 + the 2-digit GSO code of the
province where the birth was registered; G = sex and century (0/1 male/female born in
the 1900s, 2/3 in the 2000s, 4/5 in the 2100s …); YY = last two digits of the birth year.
``id_consistent`` is TRUE when those agree with the record's sex and birth_year (checking
whichever of the two is known), FALSE when one disagrees, NULL when nothing is checkable.
"""

from __future__ import annotations

from vaxstudy.sql import literal


def id_digits_sql(col: str) -> str:
    """SQL: the digits of a typed ID, NULL when none; 11 digits get back the leading 0 a
    spreadsheet drops (every CCCD starts with 0: its province part is 001-096)."""
    d = f"regexp_replace(regexp_replace(CAST({col} AS VARCHAR), '\\.0$', ''), '[^0-9]', '', 'g')"
    return f"nullif(CASE WHEN length({d}) = 11 THEN '0' || {d} ELSE {d} END, '')"


def id_fields_sql(digits: str, sex: str, birth_year: str, province_codes=None) -> dict[str, str]:
    """SQL for id_number, id_type, id_province_code, id_consistent from a digits column.

    ``sex`` / ``birth_year`` are SQL expressions of the standardised record values;
    ``province_codes`` the valid 2-digit codes (default: all of vaxstudy.geo).
    """
    if province_codes is None:
        from vaxstudy import geo

        province_codes = geo.provinces()["province_code"].tolist()
    in_list = ", ".join(literal(c) for c in province_codes)
    id_type = (f"CASE WHEN {digits} IS NULL THEN NULL WHEN length({digits}) = 12 THEN 'CCCD' "
               f"WHEN length({digits}) = 9 THEN 'CMND' ELSE 'invalid' END")
    is_cccd = f"({digits} IS NOT NULL AND length({digits}) = 12)"
    prov = (f"CASE WHEN {is_cccd} AND substr({digits}, 1, 1) = '0' AND substr({digits}, 2, 2) IN "
            f"({in_list}) THEN substr({digits}, 2, 2) END")
    g = f"CAST(substr({digits}, 4, 1) AS INTEGER)"
    id_sex = f"CASE WHEN {g} % 2 = 0 THEN 'M' ELSE 'F' END"
    id_year = f"(1900 + 100 * ({g} // 2) + CAST(substr({digits}, 5, 2) AS INTEGER))"
    consistent = (
        f"CASE WHEN NOT {is_cccd} OR ({sex} IS NULL AND {birth_year} IS NULL) THEN NULL "
        f"ELSE coalesce({id_sex} = {sex}, TRUE) AND coalesce({id_year} = {birth_year}, TRUE) END"
    )
    return {"id_number": digits, "id_type": id_type, "id_province_code": prov, "id_consistent": consistent}


def id_sql(col: str, sex: str, birth_year: str, province_codes=None) -> dict[str, str]:
    """The four ID fields straight from a typed column (see :func:`id_fields_sql`)."""
    return id_fields_sql(id_digits_sql(col), sex, birth_year, province_codes)
