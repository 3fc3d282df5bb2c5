"""Reading a table file as text: encodings, delimiters, CSV / Parquet / XLSX readers.

Each reader loads one file as an all-VARCHAR DuckDB table with ``_row`` (the 1-based
data-row number of the source file), for :mod:`vaxstudy.ingest` to type and check. A file
that is not what its extension says, or that a reader cannot read, stops with
:class:`IngestError` naming the file and what to do (:mod:`vaxstudy.filetype`), never the
reader's internals. See :mod:`vaxstudy.ingest` for the encodings and the layout rules.
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import duckdb

from vaxstudy.filetype import ADVICE
from vaxstudy.sql import ident as _q
from vaxstudy.sql import literal as _lit
from vaxstudy.sql import path_literal

EXCEL_HEADER_SEARCH = 30


class IngestError(Exception):
    """An input problem that stops the run: names the file, the column and a few values."""


# --------------------------------------------------------------------------- encodings


def detect_encoding(path: Path, sample_size: int = 256 * 1024) -> str:
    """Python codec name of a CSV file: BOMs first, UTF-16 by NUL bytes, then strict UTF-8 over
    the whole file, else the best single-byte candidate by charset-normalizer (Windows-1258
    preferred)."""
    with open(path, "rb") as fh:
        sample = fh.read(sample_size)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    # UTF-16 without BOM: ASCII text has a NUL in every other byte.
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
        odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
        if odd_nuls > 0.3 and even_nuls < 0.05:
            return "utf-16-le"
        if even_nuls > 0.3 and odd_nuls < 0.05:
            return "utf-16-be"
    if _is_utf8(path):  # the whole file, so late non-UTF-8 bytes are not missed
        return "utf-8"
    cut = sample if len(sample) < sample_size else sample[: sample.rfind(b"\n") + 1 or len(sample)]
    from charset_normalizer import from_bytes

    best = from_bytes(cut, cp_isolation=["cp1258", "cp1252", "latin_1"]).best()
    # Vietnamese exports in a single-byte code page are Windows-1258; the Western
    # code pages only win when the bytes are impossible in cp1258.
    if best is None or best.encoding in ("cp1252", "latin_1"):
        try:
            cut.decode("cp1258")
            return "cp1258"
        except UnicodeDecodeError:
            return best.encoding if best is not None else "latin-1"
    return best.encoding


def _is_utf8(path: Path, block: int = 8 * 1024 * 1024) -> bool:
    """True when the whole file decodes as UTF-8 (streamed in blocks)."""
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(block):
                dec.decode(chunk)
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def transcode_to_utf8(src: Path, encoding: str, dst: Path) -> None:
    """Stream ``src`` to UTF-8 NFC text in ``dst`` (blocks of whole lines, never row by row)."""
    with open(src, encoding=encoding, newline="") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while True:
            lines = fin.readlines(4 * 1024 * 1024)
            if not lines:
                break
            fout.write(unicodedata.normalize("NFC", "".join(lines)))


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


# --------------------------------------------------------------------------- readers


def _check_file_type(path: Path, ext: str) -> None:
    """Stop on a file whose bytes are not what its extension says (binary, mislabelled)."""
    from vaxstudy import filetype

    try:
        filetype.check_text_table(path) if ext == ".csv" else filetype.check_binary_table(path, ext)
    except ValueError as exc:
        raise IngestError(str(exc)) from None


def _first_line(exc: BaseException) -> str:
    """A reader's error without its option dump and hints (its first line)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _read_csv(con, path: Path, table: str, spec: dict, tmpdir: Path, raw: str) -> int:
    """Load a CSV as all-VARCHAR table ``raw`` with _row (a view over the file's rows when
    every line loaded); malformed lines go straight to quarantine. Returns their number."""
    _check_file_type(path, ".csv")
    encoding = spec.get("encoding") or detect_encoding(path)
    src = path
    if codecs.lookup(encoding).name != "utf-8":
        src = tmpdir / (path.stem + ".utf8.csv")
        try:
            transcode_to_utf8(path, encoding, src)
        except (UnicodeDecodeError, LookupError) as exc:
            raise IngestError(f"{path}: cannot decode as {encoding}: {exc}") from exc
    with open(src, encoding="utf-8", newline="") as fh:
        header_line = fh.readline()
    if not header_line.strip():
        raise IngestError(f"{path}: empty file (no header line)")
    delim = _sniff_delimiter(header_line)
    con.execute("DROP TABLE IF EXISTS _rj; DROP TABLE IF EXISTS _rs")
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _csv AS SELECT * FROM read_csv({path_literal(src)},
                all_varchar=true, header=true, delim={_lit(delim)}, quote='"', escape='"',
                auto_detect=false, columns=_cols, store_rejects=true,
                rejects_table='_rj', rejects_scan='_rs', null_padding=false)""".replace(
                "columns=_cols", "columns=" + _csv_columns_literal(header_line, delim)
            )
        )
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot read as CSV: {_first_line(exc)}; {ADVICE}") from None
    # One quarantine row per rejected line (DuckDB may log several errors for one line).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _bad AS
            SELECT line - 1 AS data_row, min(error_type) AS error_type, min(error_message) AS msg,
                   min(csv_line) AS csv_line FROM _rj GROUP BY line"""
    )
    n_bad = con.execute("SELECT count(*) FROM _bad").fetchall()[0][0]
    if n_bad:
        con.execute(
            f"""INSERT INTO quarantine
                SELECT {_lit(table)}, {_lit(path.name)}, data_row, NULL,
                       CASE WHEN error_type LIKE '%TOO MANY%' THEN 'too many fields'
                            WHEN error_type LIKE '%MISSING%' THEN 'too few fields'
                            ELSE 'malformed CSV row (' || lower(error_type) || ')' END || ': ' || msg,
                       to_json({{'csv_line': csv_line}})
                FROM _bad ORDER BY data_row"""
        )
    if not n_bad:  # every line loaded: the data-row number is the position (a view: no copy)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {raw} AS SELECT *, rowid + 1 AS _row FROM _csv")
        return 0
    # Loaded rows keep file order; their data-row numbers are the integers 1..N not rejected.
    n_ok = con.execute("SELECT count(*) FROM _csv").fetchall()[0][0]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {raw} AS
            WITH _slots AS (
                SELECT r AS _row, row_number() OVER (ORDER BY r) AS _k
                FROM range(1, {n_ok + n_bad + 1}) t(r) ANTI JOIN _bad ON r = _bad.data_row),
            _src AS (SELECT *, rowid + 1 AS _k FROM _csv)
            SELECT _src.* EXCLUDE (_k), _slots._row FROM _src JOIN _slots ON _src._k = _slots._k
            ORDER BY _slots._row"""
    )
    return n_bad


def _csv_columns_literal(header_line: str, delim: str) -> str:
    """DuckDB ``columns={...}`` literal from the header line (names kept as written)."""
    import csv
    import io

    names = next(csv.reader(io.StringIO(header_line), delimiter=delim))
    names = [n.strip().lstrip("\ufeff") or f"column{i}" for i, n in enumerate(names)]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        key = n.lower()
        seen[key] = seen.get(key, 0) + 1
        out.append(n if seen[key] == 1 else f"{n}_{seen[key]}")
    return "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in out) + "}"


def _read_parquet(con, path: Path, raw: str) -> None:
    """Load a Parquet file as all-VARCHAR table ``raw`` with _row."""
    _check_file_type(path, ".parquet")
    try:
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path_literal(path)})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot read as Parquet: {_first_line(exc)}; {ADVICE}") from None
    casts = ", ".join(f"CAST({_q(c[0])} AS VARCHAR) AS {_q(c[0])}" for c in cols)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {raw} AS
            SELECT {casts}, file_row_number + 1 AS _row
            FROM read_parquet({path_literal(path)}, file_row_number=true) ORDER BY _row"""
    )


def _read_xlsx(con, path: Path, required: tuple[str, ...], spec: dict, raw: str) -> None:
    """Load the first (or named) sheet, skipping title rows above the header (the first row,
    among the first 30, that holds every ``required`` column)."""
    import pandas as pd

    _check_file_type(path, ".xlsx")
    try:
        df = pd.read_excel(path, sheet_name=spec.get("sheet", 0), header=None, dtype=object,
                           engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise IngestError(f"{path}: cannot read as XLSX: {_first_line(exc)}; {ADVICE}") from None
    renames = _rename_map(spec)
    wanted = set(required)
    header_idx = None
    for i in range(min(EXCEL_HEADER_SEARCH, len(df))):
        cells = {_canon(str(v)) for v in df.iloc[i].tolist() if v is not None and str(v) != "nan"}
        cells = {renames.get(c, c) for c in cells}
        if wanted <= cells:
            header_idx = i
            break
    if header_idx is None:
        # No row holds every required column: take the first row with the most filled
        # cells, so the missing-column error below names what is absent.
        filled = df.head(EXCEL_HEADER_SEARCH).notna().sum(axis=1)
        header_idx = int(filled.idxmax()) if len(filled) else 0
    names = [str(v).strip() if v is not None and str(v) != "nan" else f"column{j}"
             for j, v in enumerate(df.iloc[header_idx].tolist())] if len(df) else []
    body = df.iloc[header_idx + 1:].reset_index(drop=True)
    body.columns = names
    body = body.dropna(how="all")
    out = pd.DataFrame({"_row": (body.index + 1).astype("int64")})
    for name in names:
        col = body[name]
        as_dt = pd.to_datetime(col.where(col.map(type).astype(str).str.contains("datetime|Timestamp")),
                               errors="coerce")
        text = col.astype("string").str.replace(r"\.0$", "", regex=True)
        text = text.where(as_dt.isna(), as_dt.dt.strftime("%Y-%m-%d"))
        out[name] = text.values
    out = out[names + ["_row"]]
    con.register("_xlsx_df", out)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM _xlsx_df ORDER BY _row")
    con.unregister("_xlsx_df")



# --------------------------------------------------------------------------- header names


def _canon(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower()


def _rename_map(spec: dict) -> dict[str, str]:
    return {_canon(str(k)): str(v) for k, v in (spec.get("columns") or {}).items()}


