"""ID numbers: digits only; CCCD (12) / CMND (9) / invalid; the CCCD's embedded facts.

A CCCD (căn cước công dân) is ``PPP G YY NNNNNN``: PPP = 0 + the 2-digit GSO code of the
province where the birth was registered; G = sex and century (0/1 male/female born in
the 1900s, 2/3 in the 2000s, 4/5 in the 2100s …); YY = last two digits of the birth year.
``id_consistent`` is TRUE when those agree with the record's sex and birth_year (checking
whichever of the two is known), FALSE when one disagrees, NULL when nothing is checkable.
"""

from __future__ import annotations


def id_sql(col: str, sex: str, birth_year: str, provinces: str = "_geo_provinces") -> dict[str, str]:
    """SQL expressions for id_number, id_type, id_province_code, id_consistent.

    ``sex`` / ``birth_year`` are SQL expressions of the standardised record values;
    ``provinces`` a table with ``province_code`` (for id_province_code).
    """
    digits = f"nullif(regexp_replace(CAST({col} AS VARCHAR), '[^0-9]', '', 'g'), '')"
    id_type = (f"CASE WHEN {digits} IS NULL THEN NULL WHEN length({digits}) = 12 THEN 'CCCD' "
               f"WHEN length({digits}) = 9 THEN 'CMND' ELSE 'invalid' END")
    is_cccd = f"({digits} IS NOT NULL AND length({digits}) = 12)"
    prov = (f"CASE WHEN {is_cccd} AND substr({digits}, 1, 1) = '0' AND substr({digits}, 2, 2) IN "
            f"(SELECT province_code FROM {provinces}) THEN substr({digits}, 2, 2) END")
    g = f"CAST(substr({digits}, 4, 1) AS INTEGER)"
    id_sex = f"CASE WHEN {g} % 2 = 0 THEN 'M' ELSE 'F' END"
    id_year = f"(1900 + 100 * ({g} // 2) + CAST(substr({digits}, 5, 2) AS INTEGER))"
    consistent = (
        f"CASE WHEN NOT {is_cccd} OR ({sex} IS NULL AND {birth_year} IS NULL) THEN NULL "
        f"ELSE coalesce({id_sex} = {sex}, TRUE) AND coalesce({id_year} = {birth_year}, TRUE) END"
    )
    return {"id_number": digits, "id_type": id_type, "id_province_code": prov, "id_consistent": consistent}
