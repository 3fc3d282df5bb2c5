"""Ingest: load a data folder (CONTRACT §1) into typed DuckDB tables, quarantining unusable rows.

Each table is one file named after it (``population.csv``, ``vaccinations.parquet``,
``sites.xlsx`` …). Files are first read as text (every column VARCHAR) with DuckDB,
then typed in SQL (``TRY_CAST`` / ``TRY_STRPTIME``); rows whose required values
cannot be typed go to ``quarantine`` with a reason, the others to the table.

Readers (:mod:`vaxstudy.readers`)
---------------------------------
* CSV: the encoding is detected (UTF-8, UTF-8 with BOM, UTF-16 LE/BE, Windows-1258;
  charset-normalizer ranks the single-byte candidates). Anything but plain UTF-8 is
  transcoded to a temporary UTF-8 file and NFC-normalised (Windows-1258 spells tones as
  combining marks). The delimiter (``, ; tab |``) is taken from the header line. Rows with
  too many or too few fields are captured by DuckDB's ``store_rejects`` with their line.
* Parquet: read with DuckDB, every column cast to VARCHAR.
* XLSX: read with openpyxl (through pandas); title rows above the header are skipped by
  finding the first row, among the first 30, that holds the table's required columns.

columns.yaml (optional, in the data folder)
-------------------------------------------
Maps a user's layout onto the contract, per table::

    vaccinations:
      file: export_2021_nghe_an.csv     # file name, when not <table>.<ext>
      encoding: cp1258                  # skip detection
      sheet: Sheet1                     # xlsx sheet (default: the first)
      columns:                          # their header -> contract column
        "Ho ten": full_name
        "Ngay tiem": vaccination_date
      date_formats:                     # strptime format per date column
        vaccination_date: "%d/%m/%Y"

Header names are matched to the contract case-insensitively after trimming.
Dates always accept ISO (``2021-07-15``, also with a time; spreadsheet date cells arrive
so); otherwise the column's ``date_formats`` entry, else ``dd/mm/yyyy`` (also ``d/m/yyyy``,
``-`` or ``.`` as separator).

Validation
----------
Stops with :class:`IngestError` (file, column, a few values): missing table file,
missing required column, a table with a header and no rows (or no usable row left),
duplicate ``person_id`` in the register, a file that is not what its extension says
(binary, an Excel file named .csv: :mod:`vaxstudy.filetype`), a ``columns.yaml`` key or
table that does not exist (:mod:`vaxstudy.columns_yaml`, with the nearest valid key).
Quarantines (table ``quarantine`` and ``quarantine.csv``, one row per input row, all
reasons joined with ``; ``): rows with too many / too few fields, missing required
values, unparseable or impossible dates (before 2020-12-01 for doses, before 1900 or in
the future for birth dates), ``dose_number`` not an integer ≥ 1, non-numeric or negative
counts, a repeated ``record_id`` / ``site_id`` (the first occurrence is kept), and the
checks of :mod:`vaxstudy.integrity`: vaccinated before the row's date of birth, entered
before given, a ``site_id`` not in ``sites`` (rows and tallies). The site-days of
quarantined tallies are listed in ``tally_excluded_days``. An optional ``entered_date``
that cannot be parsed is set to NULL, not quarantined: the dose itself is still usable.
Site codes are stored in the normal form of :mod:`vaxstudy.codes` (trimmed, upper case).
Per table, rows read = rows loaded + rows quarantined; ``ingest_log`` records the three
counts and the file's sha256; file columns that map to no contract column are listed in
the summary (``TableCounts.unmapped``).

``_row`` is the 1-based data-row number in the source file (the entry order of the
export); for CSV it counts physical lines after the header, so a quoted field with an
embedded newline shifts later numbers by one.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from vaxstudy import integrity
from vaxstudy.codes import site_code_sql
from vaxstudy.config import OPTIONAL_TABLES, TABLES
from vaxstudy.readers import (  # noqa: F401  (re-exported: worklists and tests read them here)
    EXCEL_HEADER_SEARCH,
    IngestError,
    _canon,
    _read_csv,
    _read_parquet,
    _read_xlsx,
    _rename_map,
    _sniff_delimiter,
    detect_encoding,
    transcode_to_utf8,
)
from vaxstudy.sql import date_literal, path_literal
from vaxstudy.sql import ident as _q
from vaxstudy.sql import literal as _lit

# --------------------------------------------------------------------------- schema

#: Contract columns per table (CONTRACT §1), in order; extension columns after.
COLUMNS: dict[str, tuple[str, ...]] = {
    "population": (
        "person_id", "full_name", "date_of_birth", "sex",
        "province_code", "district_code", "commune_code", "phone",
    ),
    "vaccinations": (
        "record_id", "subject_id", "full_name", "date_of_birth", "sex", "id_number", "phone",
        "province_code", "district_code", "commune_code", "vaccination_date",
        "dose_number", "vaccine", "site_id", "entered_date",
    ),
    "sites": ("site_id", "site_name", "province_code", "district_code", "commune_code"),
    "tallies": ("site_id", "vaccination_date", "dose_number", "doses_administered"),
    "truth": ("record_id", "true_person_id", "true_person_key"),
}

#: Columns that must exist in the file.
REQUIRED: dict[str, tuple[str, ...]] = {
    "population": ("person_id", "full_name", "date_of_birth", "sex"),
    "vaccinations": ("record_id", "subject_id", "vaccination_date", "dose_number", "site_id"),
    "sites": ("site_id",),
    "tallies": ("site_id", "vaccination_date", "dose_number", "doses_administered"),
    "truth": ("record_id", "true_person_id"),
}

#: Typed columns: name -> kind (date_required, date_optional, int_pos, int_nonneg).
TYPED: dict[str, dict[str, str]] = {
    "population": {"date_of_birth": "dob"},
    "vaccinations": {
        "vaccination_date": "dose_date", "dose_number": "int_pos", "entered_date": "date_optional",
    },
    "sites": {},
    "tallies": {"vaccination_date": "dose_date", "dose_number": "int_pos",
                "doses_administered": "int_nonneg"},
    "truth": {},
}

#: Text columns that must hold a value for the row to be usable.
NOT_EMPTY: dict[str, tuple[str, ...]] = {
    "population": ("person_id",),
    "vaccinations": ("record_id", "subject_id", "site_id"),
    "sites": ("site_id",),
    "tallies": ("site_id",),
    "truth": ("record_id",),
}

#: Columns holding site codes, stored in the one normal form of :mod:`vaxstudy.codes`.
SITE_CODE_COLUMNS: dict[str, tuple[str, ...]] = {"vaccinations": ("site_id",), "sites": ("site_id",),
                                                 "tallies": ("site_id",)}

#: Columns whose repeated values are quarantined (first occurrence kept).
UNIQUE_QUARANTINE: dict[str, str] = {"vaccinations": "record_id", "sites": "site_id",
                                      "truth": "record_id"}

EARLIEST_DOSE = "2020-12-01"  # first COVID-19 vaccine given anywhere
EARLIEST_BIRTH = "1900-01-01"
SUPPORTED = (".csv", ".parquet", ".xlsx")
_SEP = "\x1f"  # column / reason separator inside check results (SQL chr(31))


@dataclass
class TableCounts:
    """Row accounting of one loaded table."""

    table: str
    source_file: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    unmapped: tuple[str, ...] = ()  # columns of the file that are no contract column (not loaded)


@dataclass
class IngestResult:
    """What :func:`ingest` loaded: per-table counts and where the quarantine file went."""

    db_path: Path
    quarantine_path: Path
    tables: dict[str, TableCounts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # warnings for the user (counts, codes; no personal data)

    def __getitem__(self, table: str) -> TableCounts:
        return self.tables[table]

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables.values())


# --------------------------------------------------------------------------- config


def load_columns_yaml(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Read and validate ``columns.yaml`` (or ``.yml``) from the data folder; {} when absent.

    The schema is :mod:`vaxstudy.columns_yaml`: an unknown key or table is refused with the
    nearest valid one suggested."""
    from vaxstudy.columns_yaml import ColumnsYamlError, load

    dates = {t: tuple(c for c, k in TYPED[t].items() if k in ("dob", "dose_date", "date_optional"))
             for t in COLUMNS}
    try:
        return load(data_dir, COLUMNS, dates)
    except ColumnsYamlError as exc:
        raise IngestError(str(exc)) from None


def find_table_file(data_dir: Path, table: str, spec: dict[str, Any]) -> Path | None:
    """The file holding ``table``: ``spec['file']`` or ``<table>.csv|parquet|xlsx``."""
    if spec.get("file"):
        path = data_dir / str(spec["file"])
        if not path.exists():
            raise IngestError(f"{path}: file named for table {table!r} in columns.yaml does not exist")
        return path
    hits = [data_dir / f"{table}{ext}" for ext in SUPPORTED if (data_dir / f"{table}{ext}").exists()]
    if len(hits) > 1:
        raise IngestError(f"{data_dir}: table {table!r} is given twice: {[h.name for h in hits]}; keep one")
    return hits[0] if hits else None


# --------------------------------------------------------------------------- typing


def date_sql(expr: str, fmt: str | None = None) -> str:
    """SQL DATE from text: ISO date/time, then the user's format if given, else d/m/yyyy
    (separators / - .). ISO comes first because spreadsheet date cells arrive as ISO."""
    s = f"trim({expr})"
    iso = (f"CASE WHEN regexp_full_match({s}, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}([ T].*)?') "
           f"THEN TRY_CAST(TRY_CAST({s} AS TIMESTAMP) AS DATE) END")
    if fmt:
        return f"coalesce({iso}, CAST(TRY_STRPTIME({s}, {_lit(fmt)}) AS DATE))"
    dmy = f"regexp_replace({s}, '[-.]', '/', 'g')"
    return (f"coalesce({iso}, CASE WHEN regexp_full_match({s}, '\\d{{1,2}}[/.-]\\d{{1,2}}[/.-]\\d{{4}}') "
            f"THEN CAST(TRY_STRPTIME({dmy}, '%d/%m/%Y') AS DATE) END)")


def int_sql(expr: str) -> str:
    """SQL BIGINT from text holding an integer (``3``, ``3.0``); NULL for ``1.5``, ``x``."""
    return (f"CASE WHEN regexp_full_match(trim({expr}), '[+-]?\\d+(\\.0+)?') "
            f"THEN TRY_CAST(regexp_replace(trim({expr}), '\\.0+$', '') AS BIGINT) END")


def _load_table(con, table: str, path: Path, spec: dict, tmpdir: Path) -> TableCounts:
    """Read one file, check its columns, type it, write ``table`` and its quarantine rows."""
    raw = f"_raw_{table}"
    n_rejected = 0
    ext = path.suffix.lower()
    if ext == ".csv":
        n_rejected = _read_csv(con, path, table, spec, tmpdir, raw)
    elif ext == ".parquet":
        _read_parquet(con, path, raw)
    elif ext == ".xlsx":
        _read_xlsx(con, path, REQUIRED[table], spec, raw)
    else:
        raise IngestError(f"{path}: unsupported file type {ext!r}; use one of {SUPPORTED}")

    # Map the file's headers onto contract names.
    renames = _rename_map(spec)
    file_cols = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall() if r[0] != "_row"]
    if not n_rejected and not con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]:
        raise IngestError(f"{path}: table {table!r} has a header ({', '.join(file_cols[:8])}"
                          f"{' …' if len(file_cols) > 8 else ''}) but no data rows; it cannot be empty")
    mapping: dict[str, str] = {}
    for c in file_cols:
        target = renames.get(_canon(c), _canon(c))
        if target in COLUMNS[table] and target not in mapping:
            mapping[target] = c
    missing = [c for c in REQUIRED[table] if c not in mapping]
    if missing:
        raise IngestError(
            f"{path}: required column(s) {missing} missing from table {table!r}; "
            f"the file has {file_cols[:12]}{' …' if len(file_cols) > 12 else ''}. "
            f"Rename them in the file or map them in columns.yaml."
        )
    unmapped = tuple(c for c in file_cols if c not in mapping.values())
    date_formats = spec.get("date_formats") or {}

    # Typed values are computed once (inner query, columns "__t_<col>"); each check then
    # yields NULL or "<column>" _SEP "<reason>"; only rejected rows are turned into JSON.
    inner, select, checks = [], [], []
    for col in COLUMNS[table]:
        kind = TYPED[table].get(col)
        if col not in mapping:
            typ = {None: "VARCHAR", "int_pos": "INTEGER", "int_nonneg": "INTEGER"}.get(kind, "DATE")
            select.append(f"CAST(NULL AS {typ}) AS {col}")
            continue
        src = _q(mapping[col])
        val = site_code_sql(src) if col in SITE_CODE_COLUMNS.get(table, ()) else f"nullif(trim({src}), '')"
        t = _q(f"__t_{col}")
        missing = f"WHEN {val} IS NULL THEN {_lit(col + _SEP + f'missing {col}')}"
        if kind in ("dob", "dose_date", "date_optional"):
            inner.append(f"{date_sql(src, date_formats.get(col))} AS {t}")
            select.append(f"{t} AS {col}")
            if kind == "date_optional":
                continue
            lo = EARLIEST_BIRTH if kind == "dob" else EARLIEST_DOSE
            how = f"format {date_formats[col]!r}" if col in date_formats else "ISO or dd/mm/yyyy"
            checks.append(f"""CASE {missing}
                WHEN {t} IS NULL THEN {_lit(col + _SEP + f'unparseable date {col}=')} || {val} || {_lit(f' (expected {how})')}
                WHEN {t} < {date_literal(lo)} OR {t} > current_date
                THEN {_lit(col + _SEP + f'impossible date {col}=')} || {val} END""")
        elif kind in ("int_pos", "int_nonneg"):
            inner.append(f"{int_sql(src)} AS {t}")
            select.append(f"CAST({t} AS INTEGER) AS {col}")
            lo = 1 if kind == "int_pos" else 0
            what = "an integer >= 1" if kind == "int_pos" else "a count >= 0"
            checks.append(f"""CASE {missing}
                WHEN {t} IS NULL OR {t} < {lo} OR {t} > 2147483647
                THEN {_lit(col + _SEP + f'{col}=')} || {val} || {_lit(f' is not {what}')} END""")
        else:
            select.append(f"{val} AS {col}")
            if col in NOT_EMPTY[table]:
                checks.append(f"CASE {missing} END")

    site = site_code_sql(_q(mapping["site_id"])) if "site_id" in SITE_CODE_COLUMNS.get(table, ()) else None
    checks += integrity.row_checks(table, mapping, site, _q, _lit, _SEP, date_sql)
    ucol = UNIQUE_QUARANTINE.get(table)
    keyed = bool(ucol and ucol in mapping)
    dups = ""
    if keyed:
        # a repeat is a row whose key has a smaller _row (the row numbers are unique): the
        # first row of each repeated key from a GROUP BY, joined back (no window over all rows)
        key = site if ucol == "site_id" and site else f"nullif(trim({_q(mapping[ucol])}), '')"
        dups = (f" LEFT JOIN (SELECT {key} AS __dup_key, min(_row) AS __dup_first FROM {raw} GROUP BY 1 "
                f"HAVING count(*) > 1) __d ON __d.__dup_key = {key}")
        checks.append(f"""CASE WHEN {key} IS NOT NULL AND _row > __dup_first
            THEN {_lit(ucol + _SEP + f'duplicate {ucol} ')} || {key} || ' (first at row '
                 || __dup_first || ')' END""")

    reasons = ("list_filter([" + ", ".join(checks) + "], lambda x: x IS NOT NULL)") if checks else "[]::VARCHAR[]"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _checked AS
            SELECT {', '.join(select)}, _row, {_lit(path.name)} AS _source, {reasons} AS _reasons
            FROM (SELECT r.*{''.join(', ' + e for e in inner)}{', __d.__dup_first' if keyed else ''}
                  FROM {raw} r{dups})
            {'ORDER BY _row' if keyed else ''}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE {table} AS
            SELECT * EXCLUDE (_reasons) FROM _checked WHERE len(_reasons) = 0"""
    )
    con.execute(
        f"""INSERT INTO quarantine
            SELECT {_lit(table)}, {_lit(path.name)}, c._row, split_part(c._reasons[1], chr(31), 1),
                   array_to_string(list_transform(c._reasons, lambda x: split_part(x, chr(31), 2)), '; '),
                   to_json(r)
            FROM (SELECT _row, _reasons FROM _checked WHERE len(_reasons) > 0) c
            JOIN {raw} r ON r._row = c._row ORDER BY c._row"""
    )
    if table == "tallies":
        con.execute(integrity.excluded_days_sql("_checked"))
    if table == "population":  # the register's hash table only when some row is a candidate
        some = con.execute(f"SELECT count(*) FROM _checked WHERE _reasons = [{_lit(NO_DOB_REASON)}]").fetchall()[0][0]
        con.execute(incomplete_register_sql("_checked", against_register=bool(some)))

    if table == "population":
        n_dup = con.execute(  # counted first: the examples' lists only when some repeat
            "SELECT count(*) FROM (SELECT person_id FROM population GROUP BY 1 HAVING count(*) > 1)"
        ).fetchall()[0][0]
        if n_dup:
            dups = con.execute(
                "SELECT person_id, count(*) n, list(_row ORDER BY _row)[1:3] FROM population "
                "GROUP BY person_id HAVING n > 1 ORDER BY min(_row) LIMIT 5"
            ).fetchall()
            shown = "; ".join(f"{pid!r} at rows {rows}" for pid, _, rows in dups)
            raise IngestError(
                f"{path}: column 'person_id' must be unique in the population register, "
                f"but {n_dup} value(s) repeat: {shown}{' …' if n_dup > len(dups) else ''}"
            )

    n_read = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0] + n_rejected
    n_loaded = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    n_quar = con.execute(
        "SELECT count(*) FROM quarantine WHERE table_name = ?", [table]).fetchall()[0][0]
    is_view = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [raw]).fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS {raw}; DROP TABLE IF EXISTS _checked; "
                "DROP TABLE IF EXISTS _csv")
    return TableCounts(table, path.name, _sha256(path), n_read, n_loaded, n_quar, unmapped)


#: the one reason for which a quarantined register row is still a link candidate
NO_DOB_REASON = "date_of_birth" + _SEP + "missing date_of_birth"


def incomplete_register_sql(checked: str, against_register: bool = True) -> str:
    """``population_incomplete``: the register rows quarantined for a missing date of birth
    and nothing else (their person_id new, first occurrence kept). They stay out of
    ``population`` and of every denominator; the link scores them as candidates of the rows it
    leaves unlinked (docs/linkage.md, *A register person without a date of birth*).
    ``against_register=False`` when no row of ``checked`` has that one reason: the same (empty)
    table without the look-up in ``population``."""
    new_id = " AND NOT EXISTS (SELECT 1 FROM population p WHERE p.person_id = c.person_id)"
    return f"""CREATE OR REPLACE TABLE population_incomplete AS
        SELECT * EXCLUDE (_reasons, _k) FROM (
          SELECT c.*, row_number() OVER (PARTITION BY c.person_id ORDER BY c._row) AS _k
          FROM {checked} c WHERE c._reasons = [{_lit(NO_DOB_REASON)}]{new_id if against_register else ''})
        WHERE _k = 1 ORDER BY _row"""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- entry point


def ingest(data_dir, db_path, quarantine_path=None, progress=None) -> IngestResult:
    """Load the CONTRACT tables of ``data_dir`` into ``db_path``; returns per-table counts.

    Raises :class:`IngestError` on a missing table/column or duplicate person_id.
    ``progress`` (optional) is called with each table name before it is read.
    """
    data_dir = Path(data_dir)
    db_path = Path(db_path)
    if not data_dir.is_dir():
        raise IngestError(f"{data_dir}: data folder not found")
    cfg = load_columns_yaml(data_dir)
    files: dict[str, Path] = {}
    for table in TABLES + OPTIONAL_TABLES:
        path = find_table_file(data_dir, table, cfg.get(table) or {})
        if path is None:
            if table in TABLES:
                present = sorted(p.name for p in data_dir.iterdir() if p.suffix.lower() in SUPPORTED)
                raise IngestError(
                    f"{data_dir}: table {table!r} not found: expected {table}.csv, {table}.parquet "
                    f"or {table}.xlsx (or a 'file:' entry in columns.yaml); the folder has {present}"
                )
            continue
        files[table] = path

    db_path.parent.mkdir(parents=True, exist_ok=True)
    qpath = Path(quarantine_path) if quarantine_path else db_path.parent / "quarantine.csv"
    result = IngestResult(db_path=db_path, quarantine_path=qpath)
    con = duckdb.connect(str(db_path))
    try:
        with tempfile.TemporaryDirectory(prefix="vaxstudy-ingest-") as tmp:
            con.execute(
                """CREATE OR REPLACE TABLE quarantine (table_name VARCHAR, source_file VARCHAR,
                   row_number BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"""
            )
            if "truth" not in files:
                con.execute("DROP TABLE IF EXISTS truth")
            # sites first: the rows and tallies are checked against them
            for table, path in sorted(files.items(), key=lambda kv: kv[0] != "sites"):
                if progress:
                    progress(table)
                result.tables[table] = _load_table(con, table, path, cfg.get(table) or {}, Path(tmp))
            con.execute(
                """CREATE OR REPLACE TABLE ingest_log (table_name VARCHAR, source_file VARCHAR,
                   sha256 VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT)"""
            )
            con.executemany(
                "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?)",
                [(t.table, t.source_file, t.sha256, t.rows_read, t.rows_loaded, t.rows_quarantined)
                 for t in result.tables.values()],
            )
        qpath.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY (SELECT * FROM quarantine ORDER BY table_name, row_number) TO {path_literal(qpath)} "
            "(HEADER, DELIMITER ',')"
        )
        _check_usable(con, result)
    finally:
        con.close()
    return result


def _check_usable(con, result: IngestResult) -> None:
    """Notes on rows at unknown sites; stop when a required table has no usable row left."""
    for table, n, examples in con.execute(
        """SELECT table_name, count(*), list(DISTINCT regexp_extract(reason, 'site_id not in sites: ''([^'']*)''', 1))[1:5]
           FROM quarantine WHERE reason LIKE '%site_id not in sites%' GROUP BY 1 ORDER BY 1"""
    ).fetchall():
        result.notes.append(f"{table}: {n:,} row(s) at site(s) not in sites quarantined, e.g. site_id "
                            + ", ".join(repr(e) for e in examples))
    for c in result.tables.values():
        if c.table in TABLES and c.rows_loaded == 0:
            top = con.execute(
                """SELECT reason, count(*) FROM quarantine WHERE table_name = ? GROUP BY 1
                   ORDER BY 2 DESC, 1 LIMIT 3""", [c.table]).fetchall()
            shown = "; ".join(f"{r!r} ×{n:,}" for r, n in top)
            raise IngestError(f"{c.source_file}: none of the {c.rows_read:,} row(s) of table {c.table!r} "
                              f"is usable ({shown}); every row and its reason is in {result.quarantine_path}")


def summary_table(result: IngestResult):
    """A rich Table: per input table, rows read = loaded + quarantined."""
    from rich.table import Table

    from rich.markup import escape

    t = Table(title=escape(f"ingest → {result.db_path}"))
    for col in ("table", "file", "rows read", "loaded", "quarantined", "columns not used"):
        t.add_column(col, justify="right" if col not in ("table", "file", "columns not used") else "left")
    for c in result.tables.values():
        t.add_row(c.table, escape(c.source_file), f"{c.rows_read:,}", f"{c.rows_loaded:,}",
                  f"{c.rows_quarantined:,}", escape(", ".join(c.unmapped)) or "-")
    return t
