"""Phone numbers: digits; +84/84/0084 → 0; old 11-digit mobiles → 10 digits; landlines kept.

The 2018 mobile renumbering (Ministry of Information and Communications): 0120→070,
0121→079, 0122→077, 0126→076, 0128→078 (MobiFone); 0123→083, 0124→084, 0125→085,
0127→081, 0129→082 (VinaPhone); 0162…0169→032…039 (Viettel); 0186→056, 0188→058
(Vietnamobile); 0199→059 (Gmobile). A leading 0 dropped by a spreadsheet is restored.
Valid: 10-digit mobile ``0[35789]xxxxxxxx`` or 11-digit landline ``02xxxxxxxxx``
(area codes since 2017). ``phone_valid`` is NULL when nothing was typed.
"""

from __future__ import annotations

from vaxstudy.sql import literal

OLD_MOBILE_PREFIXES: dict[str, str] = {
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    **{f"016{i}": f"03{i}" for i in range(2, 10)},
    "0186": "056", "0188": "058", "0199": "059",
}

MOBILE_RE = "^0[35789][0-9]{8}$"
LANDLINE_RE = "^02[0-9]{9}$"


def phone_national_sql(col: str) -> str:
    """SQL: digits of the typed phone in national form (+84/84/0084 → 0, lost leading 0 restored)."""
    d = f"regexp_replace(regexp_replace(CAST({col} AS VARCHAR), '\\.0$', ''), '[^0-9]', '', 'g')"
    return (f"CASE WHEN {d} LIKE '0084%' THEN '0' || substr({d}, 5) "
            f"WHEN {d} LIKE '84%' AND length({d}) IN (11, 12) THEN '0' || substr({d}, 3) "
            # a spreadsheet dropped the leading zero
            f"WHEN length({d}) = 9 AND substr({d}, 1, 1) IN ('3','5','7','8','9') THEN '0' || {d} "
            f"WHEN length({d}) = 10 AND substr({d}, 1, 1) IN ('1','2') THEN '0' || {d} "
            f"ELSE {d} END")


def phone_convert_sql(national: str) -> str:
    """SQL: an old 11-digit mobile number rewritten with its 2018 10-digit prefix."""
    cases = " ".join(f"WHEN {literal(old)} THEN {literal(new)}" for old, new in OLD_MOBILE_PREFIXES.items())
    return (f"CASE WHEN length({national}) = 11 THEN coalesce(CASE substr({national}, 1, 4) {cases} END "
            f"|| substr({national}, 5), {national}) ELSE {national} END")


def phone_fields_sql(converted: str, typed: str) -> dict[str, str]:
    """SQL for phone and phone_valid from the converted digits and the typed value."""
    valid = f"(regexp_matches({converted}, {literal(MOBILE_RE)}) OR regexp_matches({converted}, {literal(LANDLINE_RE)}))"
    return {
        "phone": f"CASE WHEN {valid} THEN {converted} END",
        "phone_valid": f"CASE WHEN nullif(trim(CAST({typed} AS VARCHAR)), '') IS NULL THEN NULL ELSE {valid} END",
    }
