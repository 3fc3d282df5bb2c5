"""Sex as typed (Nam/Nữ, nu, male/female, M/F, 1/0, trai/gái …) → 'M', 'F' or NULL.

Matched case- and accent-insensitively; numeric codes follow the registry convention
1 = male, 0 = female (also 2 = female, as in some GSO forms).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from vaxstudy.sql import literal
from vaxstudy.standardize.names import strip_marks

MALE = ("m", "nam", "male", "man", "1", "trai", "ong", "boy")
FEMALE = ("f", "nu", "nư", "female", "woman", "0", "2", "gai", "ba", "girl", "w")


def sex_sql(col: str) -> str:
    """SQL expression: 'M', 'F' or NULL."""
    key = (f"regexp_replace(lower(strip_accents(trim(CAST({col} AS VARCHAR)))), "
           f"'[^a-z0-9]', '', 'g')")
    m = ", ".join(literal(v) for v in MALE)
    f = ", ".join(literal(v) for v in FEMALE if v.isascii())
    return (f"CASE WHEN {key} IN ({m}, 'gioitinhnam') THEN 'M' "
            f"WHEN {key} IN ({f}, 'gioitinhnu') THEN 'F' END")


_SEX_MALE = set(MALE) | {"gioitinhnam"}
_SEX_FEMALE = {v for v in FEMALE if v.isascii()} | {"gioitinhnu"}


def sex_code(value: Any) -> str | None:
    """'M', 'F' or None: the rule of :func:`sex_sql` in Python, for the Spark engine (lower
    case, accents stripped, everything but a-z0-9 removed, then the word lists)."""
    if value is None:
        return None
    key = re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFC", strip_marks(str(value))).lower())
    if key in _SEX_MALE:
        return "M"
    if key in _SEX_FEMALE:
        return "F"
    return None
