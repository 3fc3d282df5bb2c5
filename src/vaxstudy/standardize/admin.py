"""Administrative codes: digits only, zero-padded (province 2, district 3, commune 5),
checked against the 2021-era GSO list of ``vaxstudy.geo``.

``commune_valid`` is TRUE when the commune exists and lies in the record's district_code,
FALSE otherwise, NULL when no commune code was typed.
"""

from __future__ import annotations

from vaxstudy.codes import GSO_WIDTH as WIDTH
from vaxstudy.codes import gso_code_sql


def code_sql(col: str, width: int) -> str:
    """SQL: the code zero-padded to ``width`` digits; NULL when empty, non-numeric or too long
    (the one normal form of :mod:`vaxstudy.codes`)."""
    return gso_code_sql(col, width)


def register_geo(con) -> None:
    """Create the temp table _geo_communes (the GSO commune list, for commune_valid)."""
    from vaxstudy import geo

    con.register("_geo_df", geo.communes())
    con.execute("CREATE OR REPLACE TEMP TABLE _geo_communes AS SELECT * FROM _geo_df")
    con.unregister("_geo_df")


def commune_valid_sql(commune: str, district: str, geo_district: str) -> str:
    """SQL for commune_valid, where ``geo_district`` is the district of ``commune`` in the GSO
    list (from ``LEFT JOIN _geo_communes ON commune_code = commune``; NULL if unknown)."""
    return (f"CASE WHEN {commune} IS NULL THEN NULL "
            f"ELSE coalesce({geo_district} = {district}, FALSE) END")
