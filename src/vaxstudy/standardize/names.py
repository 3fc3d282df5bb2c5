"""Vietnamese personal names: NFC, one tone-mark placement, case, spacing, ASCII form, parts.

Tone-mark convention (the traditional placement, "kiểu cũ", which is what Unikey's
default and most civil-registration records use): in an open syllable whose vowel
cluster is ``oa``, ``oe``, ``uy`` (and every other two-vowel cluster without a
diacritic vowel) the tone goes on the FIRST vowel — ``hòa``, ``khỏe``, ``thúy``, ``thủy``.
So ``hoà→hòa``, ``khoẻ→khỏe``, ``thuý→thúy``. Rules, in order:

1. ``qu`` and ``gi`` (before another vowel) are consonants: ``quỳ`` (never ``qùy``), ``già``.
2. A vowel with a quality mark (ă â ê ô ơ ư) carries the tone; of ``ươ`` the ``ơ``.
3. Else, if a final consonant follows the cluster, the last vowel: ``hoàn``, ``toán``.
4. Else a three-vowel cluster takes it on the middle vowel (``hoài``, ``khuỷu``),
   a two-vowel cluster on the first (``hòa``, ``mía``), a single vowel on itself.

These functions run on the DISTINCT names of a column (see ``standardize_db``), never
once per row.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks (grave, acute, hook above, tilde, dot below).
TONES = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
# Some keyboards emit the Vietnamese-specific tone code points instead.
_TONE_ALIASES = {"\u0340": "\u0300", "\u0341": "\u0301", "\u0342": "\u0303"}
VOWELS = set("aăâeêioôơuưy")
QUALITY_VOWELS = set("ăâêôơư")
_NON_LETTER = re.compile(r"[^\w\s]|[\d_]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def _strip_tone(syllable: str) -> tuple[str, str | None]:
    """(syllable without tone marks in NFC, the tone mark or None)."""
    tone = None
    kept = []
    for ch in unicodedata.normalize("NFD", syllable):
        ch = _TONE_ALIASES.get(ch, ch)
        if ch in TONES:
            tone = ch  # with several, keep the last one typed
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def tone_position(base: str) -> int | None:
    """Index in ``base`` (lower case, NFC, no tone) of the vowel that carries the tone."""
    n = len(base)
    start = 0
    # skip the initial consonant(s)
    while start < n and base[start] not in VOWELS:
        start += 1
    if start >= n:
        return None
    # 'qu' + vowel and 'gi' + vowel: the u / i belong to the consonant
    if start > 0 and start + 1 < n and base[start + 1] in VOWELS and (
        (base[start - 1] == "q" and base[start] == "u") or (base[start - 1] == "g" and base[start] == "i")
    ):
        start += 1
    end = start
    while end < n and base[end] in VOWELS:
        end += 1
    cluster = range(start, end)
    quality = [i for i in cluster if base[i] in QUALITY_VOWELS]
    if quality:
        return quality[-1]
    if end < n:  # closed syllable
        return end - 1
    size = end - start
    if size >= 3:
        return start + 1
    return start


def place_tone(syllable: str) -> str:
    """One syllable with its tone mark moved to the conventional vowel (NFC)."""
    base, tone = _strip_tone(syllable)
    if tone is None:
        return base
    pos = tone_position(base)
    if pos is None:
        return base
    marked = unicodedata.normalize("NFD", base[pos])
    # tone goes after the base letter and its quality mark
    return unicodedata.normalize("NFC", base[:pos] + marked + tone + base[pos + 1:])


def strip_marks(text: str) -> str:
    """``text`` without its combining marks (NFD, marks dropped): what DuckDB's strip_accents
    does. The one accent stripper of the package."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def to_ascii(text: str) -> str:
    """Diacritic-free form: all combining marks removed, đ → d."""
    return strip_marks(text.replace("đ", "d").replace("Đ", "D"))


@lru_cache(maxsize=200_000)
def normalize_name(name: str | None) -> str | None:
    """name_norm: NFC, lower case, punctuation/digits to spaces, single spaces, one tone convention."""
    if name is None:
        return None
    text = unicodedata.normalize("NFC", str(name)).lower()
    text = _NON_LETTER.sub(" ", text)
    words = [place_tone(w) for w in _SPACES.split(text.strip()) if w]
    return " ".join(words) or None


def split_name(name_norm: str | None) -> tuple[str, str, str]:
    """(surname, middle, given) in Vietnamese order: first word, the words between, last word.

    A one-word name is taken as the given name (surname '').
    """
    if not name_norm:
        return ("", "", "")
    words = name_norm.split(" ")
    if len(words) == 1:
        return ("", "", words[0])
    return (words[0], " ".join(words[1:-1]), words[-1])


NAME_COLUMNS = (
    "name_norm", "name_ascii", "surname", "middle_name", "given_name",
    "surname_ascii", "middle_name_ascii", "given_name_ascii",
)


def standardize_name(name: str | None) -> dict[str, str | None]:
    """All name columns of design.md (except name_original) for one distinct name."""
    norm = normalize_name(name)
    if norm is None:
        return dict.fromkeys(NAME_COLUMNS)
    sur, mid, giv = split_name(norm)
    return {
        "name_norm": norm,
        "name_ascii": to_ascii(norm),
        "surname": sur,
        "middle_name": mid,
        "given_name": giv,
        "surname_ascii": to_ascii(sur),
        "middle_name_ascii": to_ascii(mid),
        "given_name_ascii": to_ascii(giv),
    }


def name_table(names) -> "pandas.DataFrame":  # noqa: F821
    """DataFrame keyed by ``name_original`` with the name columns, one row per distinct name.

    The columns of :func:`standardize_name`, computed with the tone placement and the ASCII
    form taken once per distinct WORD (a province's half a million names are made of a few
    thousand words): the same rules, applied word by word, which gives the same strings
    because both are word-wise (the words are split on spaces, and NFD never reorders marks
    across a space)."""
    import pandas as pd

    distinct = pd.Series(pd.unique(pd.Series(list(names), dtype=object).dropna()), dtype=object)
    cols: dict[str, list] = {c: [] for c in NAME_COLUMNS}
    out = [cols[c].append for c in NAME_COLUMNS]
    tones: dict[str, str] = {}
    asciis: dict[str, str] = {}
    nfc, sub, split = unicodedata.normalize, _NON_LETTER.sub, _SPACES.split
    for name in distinct:  # the steps of normalize_name, split_name and to_ascii, word by word
        words = []
        for w in split(sub(" ", nfc("NFC", str(name)).lower()).strip()):
            if w:
                t = tones.get(w)
                if t is None:
                    t = tones[w] = place_tone(w)
                words.append(t)
        norm = " ".join(words) or None
        if norm is None:
            for add in out:
                add(None)
            continue
        parts = norm.split(" ")
        asc = []
        for p in parts:
            a = asciis.get(p)
            if a is None:
                a = asciis[p] = to_ascii(p)
            asc.append(a)
        one = len(parts) == 1
        values = (norm, " ".join(asc), "" if one else parts[0], " ".join(parts[1:-1]), parts[-1],
                  "" if one else asc[0], " ".join(asc[1:-1]), asc[-1])
        for add, v in zip(out, values):
            add(v)
    table = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in cols.items()}, columns=list(NAME_COLUMNS))
    table.insert(0, "name_original", distinct.values)
    return table
