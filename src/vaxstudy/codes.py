"""The one normal form of the codes that join tables: site IDs and GSO administrative codes.

Every place that compares codes (ingest's reference checks, standardisation, the
estimates' site and residence scopes) builds its SQL here, so "s01 ", "S01" and "S01\\t"
are one site everywhere, and "4", "04" and "04.0" one province.

* site codes (``site_id``): surrounding white space removed, upper case (the case-fold of
  codes: synthetic and most exported site IDs are upper case); empty -> NULL.
* GSO codes (province 2 digits, district 3, commune 5): spaces trimmed, digits only (a
  spreadsheet's ``.0`` dropped), zero-padded to the width; NULL when empty, not digits, or too long.
"""

from __future__ import annotations

import re

#: Widths of the GSO codes (2021 three-level list).
GSO_WIDTH = {"province_code": 2, "district_code": 3, "commune_code": 5}

# White space DuckDB's trim() leaves: tabs, line breaks, no-break space, BOM.
_WS = "[\\s\u00a0\ufeff]"


def site_code_sql(expr: str) -> str:
    """SQL: the site code of ``expr`` (trimmed, upper case), NULL when empty."""
    return f"nullif(upper(regexp_replace(CAST({expr} AS VARCHAR), '^{_WS}+|{_WS}+$', '', 'g')), '')"


def site_code(value) -> str | None:
    """Python twin of :func:`site_code_sql` (for look-ups outside SQL and for tests)."""
    if value is None:
        return None
    s = re.sub(f"^{_WS}+|{_WS}+$", "", str(value)).upper()
    return s or None


def gso_code_sql(expr: str, width: int) -> str:
    """SQL: the GSO code of ``expr`` zero-padded to ``width`` digits; NULL when empty,
    non-numeric or longer than ``width``."""
    # trim() and one regexp_replace only: the Spark engine runs this SQL transpiled
    x = f"CAST({expr} AS VARCHAR)"
    d = f"regexp_replace(trim({x}), '\\.0$', '')"
    # a value already written as the code (``width`` ASCII digits, as the standardised tables
    # hold it) is its own code: taken without the regular expressions (the same result, a
    # third of the cost over a register of millions)
    digits = " AND ".join(f"substr({x}, {i}, 1) BETWEEN '0' AND '9'" for i in range(1, width + 1))
    return (f"CASE WHEN length({x}) = {width} AND {digits} THEN {x} "
            f"WHEN regexp_full_match({d}, '[0-9]{{1,{width}}}') THEN lpad({d}, {width}, '0') END")


def gso_code(value, width: int) -> str | None:
    """Python twin of :func:`gso_code_sql`."""
    if value is None:
        return None
    s = re.sub(r"\.0$", "", str(value).strip(" "))
    return s.zfill(width) if re.fullmatch(f"[0-9]{{1,{width}}}", s) else None
