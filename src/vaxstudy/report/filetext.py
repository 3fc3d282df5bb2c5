"""The searchable text of a file of the shareable folder, as the privacy scan reads it:
notebooks as their strings without embedded images, HTML unescaped without data URIs,
tables (parquet, xlsx) as their values, pictures not at all."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_IMAGE_MIME = ("image/png", "image/jpeg", "image/gif", "application/pdf")


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


#: Files of a shareable folder that hold no text to scan (pictures).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg.gz")


def folder_text(path: str | Path) -> str:
    """The searchable text of any file of a shareable folder: tables as their values,
    notebooks and HTML as in :func:`file_text`, anything else read as text."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import duckdb

        with duckdb.connect() as con:
            from vaxstudy.sql import parquet_source

            rows = con.execute(f"SELECT * FROM {parquet_source(path)}").fetchall()
        return "\n".join(" | ".join("" if v is None else str(v) for v in r) for r in rows)
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return "\n".join(" | ".join("" if v is None else str(v) for v in row)
                             for ws in wb.worksheets for row in ws.iter_rows(values_only=True))
        finally:
            wb.close()
    return file_text(path)
