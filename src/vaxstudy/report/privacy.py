"""Scan rendered outputs for personal identifiers: names, ID numbers, phones.

A report must hold aggregates only. `scan_files` looks through a rendered
.html / .ipynb for every full name, person_id, ID number and phone of the
input and returns what it found (masked, so the finding itself leaks
nothing). Text is compared after Unicode NFC + case folding, names as whole
word sequences (also diacritic-free for names of three words or more, since
the registry holds names typed without diacritics), numbers as digit runs
with spaces, dots or dashes allowed between digits. Embedded images are
binary, not text, and are skipped.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d)*")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_IMAGE_MIME = ("image/png", "image/jpeg", "image/gif", "application/pdf")
MIN_NUMBER_DIGITS = 8


class PrivacyError(RuntimeError):
    """A rendered output holds a personal identifier."""


@dataclass(frozen=True)
class Finding:
    file: str
    kind: str  # "name" or "number"
    masked: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind} {self.masked}"


def _mask(s: str) -> str:
    return s[:2] + "…" + s[-1:] if len(s) > 3 else "…"


def fold(s: str) -> str:
    """Lower-case, diacritic-free form (đ → d)."""
    s = unicodedata.normalize("NFD", s.casefold()).replace("đ", "d")
    return "".join(c for c in s if not unicodedata.combining(c)).replace("đ", "d")


def _words(s: str) -> list[str]:
    return [w for w in _NON_WORD.sub(" ", unicodedata.normalize("NFC", s).casefold()).split() if w]


def _phone_forms(digits: str) -> set[str]:
    forms = {digits}
    if digits.startswith("84") and len(digits) in (11, 12):
        forms.add("0" + digits[2:])
    if digits.startswith("0") and len(digits) >= 10:
        forms.add(digits[1:])
    return {f for f in forms if len(f) >= MIN_NUMBER_DIGITS}


def place_names() -> set[tuple[str, ...]]:
    """Every province, district and commune name (word tuples): public, and printed in reports.

    Some Vietnamese person names are also place names ("Hoàng Mai" is a
    person and a town of Nghệ An); such a name in a report is the place and
    identifies no one, so the scan does not count it.
    """
    from vaxstudy import geo

    out: set[tuple[str, ...]] = set()
    for df, col in ((geo.provinces(), "province_name"), (geo.districts(), "district_name"),
                    (geo.communes(), "commune_name")):
        for x in df[col].dropna():
            w = tuple(_words(str(x)))
            out.add(w)
            out.add(tuple(fold(v) for v in w))
    return out


@dataclass
class Identifiers:
    """What must never appear: name word-tuples and digit strings.

    Names equal to a word tuple in `allowed` (place names) are not searched.
    """

    names: set[tuple[str, ...]] = field(default_factory=set)
    folded_names: set[tuple[str, ...]] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    allowed: set[tuple[str, ...]] = field(default_factory=set)

    def add_names(self, names: Iterable) -> None:
        for n in names:
            if n is None or not isinstance(n, str):
                continue
            w = tuple(_words(n))
            if w in self.allowed or tuple(fold(x) for x in w) in self.allowed:
                continue
            if len(w) >= 2:
                self.names.add(w)
                if len(w) >= 3:
                    self.folded_names.add(tuple(fold(x) for x in w))

    def add_numbers(self, values: Iterable) -> None:
        for v in values:
            if v is None:
                continue
            digits = re.sub(r"\D", "", str(v))
            if len(digits) >= MIN_NUMBER_DIGITS:
                self.numbers |= _phone_forms(digits)

    def __len__(self) -> int:
        return len(self.names) + len(self.numbers)


def identifiers_from_db(db_path: str | Path) -> Identifiers:
    """Every name, person_id, ID number and phone in the raw (and standardised) tables."""
    import duckdb

    ids = Identifiers(allowed=place_names())
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        plan = {
            "population": (["full_name"], ["person_id", "phone"]),
            "vaccinations": (["full_name"], ["id_number", "phone"]),
            "population_std": (["name_original", "name_norm"], ["unique_id", "id_number", "phone"]),
            "vaccinations_std": (["name_original", "name_norm"], ["id_number", "phone"]),
        }
        for table, (name_cols, number_cols) in plan.items():
            if table not in tables:
                continue
            cols = {r[0] for r in con.execute(f"describe {table}").fetchall()}
            for c in name_cols:
                if c in cols:
                    ids.add_names(r[0] for r in con.execute(f'select distinct "{c}" from {table}').fetchall())
            for c in number_cols:
                if c in cols:
                    ids.add_numbers(r[0] for r in con.execute(f'select distinct "{c}" from {table}').fetchall())
    finally:
        con.close()
    return ids


def _ipynb_strings(obj, out: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _IMAGE_MIME:
                continue
            _ipynb_strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _ipynb_strings(v, out)
    elif isinstance(obj, str):
        out.append(obj)


def file_text(path: str | Path) -> str:
    """The searchable text of a rendered output (images left out)."""
    path = Path(path)
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        parts: list[str] = []
        _ipynb_strings(json.loads(raw), parts)
        text = "\n".join(parts)
    else:
        text = raw
    return html.unescape(_DATA_URI.sub(" ", text))


def scan_text(text: str, ids: Identifiers, label: str = "<text>") -> list[Finding]:
    found: list[Finding] = []
    # numbers
    if ids.numbers:
        lengths = sorted({len(n) for n in ids.numbers})
        for m in _DIGIT_RUN.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if len(digits) < MIN_NUMBER_DIGITS:
                continue
            for L in lengths:
                hit = next((digits[i:i + L] for i in range(len(digits) - L + 1)
                            if digits[i:i + L] in ids.numbers), None)
                if hit:
                    found.append(Finding(label, "number", _mask(hit)))
                    break
    # names, as whole word sequences; the diacritic-free pass skips what the first found
    words = _words(text)
    matched: set[int] = set()
    for names, seq in ((ids.names, words), (ids.folded_names, None)):
        if not names:
            continue
        if seq is None:
            seq = [fold(w) for w in words]
        sizes = sorted({len(n) for n in names})
        for i in range(len(seq)):
            if i in matched:
                continue
            for k in sizes:
                if i + k > len(seq):
                    break
                tup = tuple(seq[i:i + k])
                if tup in names:
                    matched.add(i)
                    found.append(Finding(label, "name", _mask(" ".join(tup))))
                    break
    return found


def scan_files(paths: Iterable[str | Path], ids: Identifiers) -> list[Finding]:
    """Findings in every file (empty list = clean)."""
    out: list[Finding] = []
    for p in paths:
        out.extend(scan_text(file_text(p), ids, label=Path(p).name))
    return out


def assert_clean(paths: Iterable[str | Path], ids: Identifiers) -> None:
    findings = scan_files(paths, ids)
    if findings:
        shown = "; ".join(str(f) for f in findings[:5])
        raise PrivacyError(f"{len(findings)} personal identifier(s) in rendered output: {shown}")
