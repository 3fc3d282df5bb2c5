"""What a table file really holds, from its first bytes: so a binary or mislabelled file
stops with a message a user can act on instead of a reader's internals."""

from __future__ import annotations

from pathlib import Path

_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or another ZIP archive",
    b"PAR1": "a Parquet file",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Word file",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "an SQLite database",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
_EXT_OF = {"a Parquet file": ".parquet", "an Excel workbook or another ZIP archive": ".xlsx"}
ADVICE = "export the table as CSV (UTF-8), Parquet or XLSX and name the file <table>.csv|.parquet|.xlsx"


def sniff(path: Path, n: int = 8192) -> str | None:
    """A description of what ``path`` is, when its first bytes say it is no text; else None."""
    with open(path, "rb") as fh:
        head = fh.read(n)
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # empty, or UTF-16 with a BOM: text
    # UTF-16 without a BOM has NULs in every other byte; binary has them anywhere.
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = max(1, len(head) // 2)
    if (odd > 0.3 * half and even < 0.05 * half) or (even > 0.3 * half and odd < 0.05 * half):
        return None
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 13)) + head.count(0x7F)
    if 0 in head or ctrl > 0.05 * len(head):
        return "binary data, not text"
    return None


def check_text_table(path: Path) -> None:
    """Raise ValueError naming what ``path`` (a .csv) really is, when it is not text."""
    what = sniff(path)
    if what is None:
        return
    hint = ""
    if what in _EXT_OF:
        hint = f"; if it is the table, name it {path.stem}{_EXT_OF[what]}"
    raise ValueError(f"{path}: this .csv file is {what}{hint}; {ADVICE}")


def check_binary_table(path: Path, expected: str) -> None:
    """Raise ValueError when a .parquet / .xlsx file does not start as one."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    want = {".parquet": b"PAR1", ".xlsx": b"PK\x03\x04"}[expected]
    if head.startswith(want):
        return
    what = sniff(path)
    if what is None:
        what = "empty" if not head else "text, not " + ("Parquet" if expected == ".parquet" else "an XLSX workbook")
    hint = f"; if it is a CSV export, name it {path.stem}.csv" if what.startswith("text") else ""
    raise ValueError(f"{path}: this {expected} file is {what}{hint}; {ADVICE}")
