"""Command-line arguments checked at the boundary, before anything is written.

Every command validates its arguments here: a province is a known 2-digit GSO code (so
``/some/dir/x``, ``../../etc`` or ``40; DROP TABLE`` never reach a file name or a query),
a period is two ISO dates in order, a date is ISO, an output folder is a folder we can
write into, a data folder exists. Each check raises :class:`ArgumentError` naming the
option and the value; :func:`typer_check` turns it into typer's usage error (exit 2).

:func:`province_scope` says, on an ingested database, whether the province has residents
and sites there: a province absent from the data gives a warning, or an error where the run
can only be empty (:class:`EmptyScope`).
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


class ArgumentError(ValueError):
    """A command-line value that cannot be used; ``option`` names the option."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(message)


class EmptyScope(ValueError):
    """The province has neither residents nor sites in the data: every figure would be empty."""


def _shown(value: object) -> str:
    s = str(value)
    return repr(s if len(s) <= 60 else s[:57] + "...")


def province(value: str, option: str = "--province") -> str:
    """The 2-digit GSO code of a province of the 2021 list (``4`` -> ``04``)."""
    s = str(value).strip()
    if not re.fullmatch(r"\d{1,2}", s):
        raise ArgumentError(option, f"{_shown(value)} is not a province code: give the 2-digit GSO "
                                    "code, e.g. 40 for Nghệ An")
    s = s.zfill(2)
    from vaxstudy import geo

    p = geo.provinces()
    if s not in set(p["province_code"]):
        codes = sorted(p["province_code"])
        raise ArgumentError(option, f"{s} is not a GSO province code (the 2021 list has {len(codes)}, "
                                    f"{codes[0]} to {codes[-1]}, e.g. 01 Hà Nội, 40 Nghệ An, 79 Hồ Chí Minh)")
    return s


def iso_date(value: str, option: str) -> str:
    """An ISO date (``2021-10-31``), returned in ISO form."""
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ArgumentError(option, f"{_shown(value)} is not an ISO date such as 2021-10-31") from None


def period(value: str, option: str = "--period") -> tuple[str, str]:
    """``START:END`` as two ISO dates, END not before START."""
    parts = str(value).split(":")
    if len(parts) != 2:
        raise ArgumentError(option, f"{_shown(value)} is not START:END in ISO dates, "
                                    "e.g. 2021-03-08:2021-10-31")
    start, end = (iso_date(p, option) for p in parts)
    if end < start:
        raise ArgumentError(option, f"the period {start}:{end} ends before it starts")
    return start, end


def data_dir(value: Path, option: str = "--data") -> Path:
    """An existing folder."""
    p = Path(value)
    if not p.exists():
        raise ArgumentError(option, f"{p}: no such folder")
    if not p.is_dir():
        raise ArgumentError(option, f"{p} is a file; give the folder that holds the tables")
    return p


def out_dir(value: Path, option: str = "--out") -> Path:
    """A folder we can write into (created when absent; an existing file is refused)."""
    p = Path(value)
    if p.exists() and not p.is_dir():
        raise ArgumentError(option, f"{p} is a file, not a folder; give a folder for the outputs")
    parent = p
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ArgumentError(option, f"{p}: {parent} is a file, so no folder can be made under it")
    created = not p.exists()
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test-"):
            pass
    except OSError as exc:
        if created:
            _remove_empty_dirs(p, parent)
        why = exc.strerror or type(exc).__name__
        raise ArgumentError(option, f"{p}: cannot write there ({why}); give a folder you can write to") from None
    return p


def _remove_empty_dirs(p: Path, stop: Path) -> None:
    while p != stop and p.exists():
        try:
            p.rmdir()
        except OSError:
            return
        p = p.parent


#: Suffixes of the files a user's data comes in: never a database to write into.
DATA_SUFFIXES = (".csv", ".parquet", ".xlsx", ".xls", ".json", ".txt", ".yaml", ".yml")


def db_file(value: Path, option: str = "--db", must_exist: bool = False) -> Path:
    """A database file path: not a folder, not a data file (an existing file must be a DuckDB
    database: this DuckDB opens a .csv as a database of one view); its folder writable."""
    p = Path(value)
    if p.is_dir():
        raise ArgumentError(option, f"{p} is a folder; give a database file such as work/40.duckdb")
    if p.suffix.lower() in DATA_SUFFIXES:
        raise ArgumentError(option, f"{p} is a {p.suffix} file, not a database; give a database file such "
                                    "as work/40.duckdb")
    if p.is_file() and p.stat().st_size > 0:
        with open(p, "rb") as fh:
            head = fh.read(12)
        if head[8:12] != b"DUCK":
            raise ArgumentError(option, f"{p} exists and is not a DuckDB database; give a new file name, "
                                        "or the database `vaxstudy ingest` wrote")
    if must_exist and not p.exists():
        raise ArgumentError(option, f"{p}: no such database; run `vaxstudy ingest` first")
    if not must_exist:
        out_dir(p.parent if str(p.parent) else Path("."), option)
    return p


def output_file(value: Path, option: str) -> Path:
    """A file to write: not a folder, in a folder we can write into."""
    p = Path(value)
    if p.is_dir():
        raise ArgumentError(option, f"{p} is a folder; give a file name")
    out_dir(p.parent if str(p.parent) else Path("."), option)
    return p


def typer_check(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args)``, an :class:`ArgumentError` turned into typer's usage error (exit 2)."""
    import typer

    try:
        return fn(*args, **kwargs)
    except ArgumentError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.option) from None


# -- is the province in the data? ---------------------------------------------------------


def province_scope(con, code: str) -> tuple[int, int]:
    """(residents, sites) of province ``code`` in an ingested database (open DuckDB ``con``),
    by the one scope rule of :mod:`vaxstudy.scope` (residents: the province's code, or one of
    its districts where the code is empty; sites: the site's province)."""
    from vaxstudy.scope import residents_sql, sites_sql

    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    n_res = n_sites = 0
    if "population" in tables:
        n_res = con.execute(f"SELECT count(*) FROM ({residents_sql(code, standardised=False, ordered=False)})"
                            ).fetchall()[0][0]
    if {"sites", "vaccinations"} <= tables:
        n_sites = con.execute(f"SELECT count(*) FROM ({sites_sql(True, with_tallies=False)}) "
                              "WHERE province_code = ?", [code]).fetchall()[0][0]
    return int(n_res), int(n_sites)


def provinces_present(con) -> list[tuple[str, int]]:
    """(province code, residents) of the register, most residents first (at most 5)."""
    from vaxstudy.codes import gso_code_sql

    try:
        return [(str(c), int(n)) for c, n in con.execute(
            f"SELECT {gso_code_sql('province_code', 2)} p, count(*) n FROM population WHERE p IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5").fetchall()]
    except Exception:  # noqa: BLE001 - a register without a province column: nothing to suggest
        return []


def check_scope(db, code: str) -> list[str]:
    """Warnings when province ``code`` has no residents or no sites in the database (a path or
    an open DuckDB connection); raises :class:`EmptyScope` when it has neither (the run
    could only be empty)."""
    from vaxstudy.geo import province_name

    code = province(code)
    if isinstance(db, (str, Path)):
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            return check_scope(con, code)
    n_res, n_sites = province_scope(db, code)
    present = provinces_present(db) if not (n_res and n_sites) else []
    name = f"{code} ({province_name(code)})"
    here = ("; the register holds " + ", ".join(f"{c} ({province_name(c) if _known(c) else '?'}): "
                                                f"{n:,} residents" for c, n in present)) if present else ""
    if not n_res and not n_sites:
        raise EmptyScope(f"province {name} has no residents in population and no sites in sites: "
                         f"every figure would be empty{here}")
    warnings = []
    if not n_res:
        warnings.append(f"province {name} has no residents in population: coverage cannot be estimated{here}")
    if not n_sites:
        warnings.append(f"province {name} has no sites in sites: the record and tally rates will be empty")
    return warnings


def _known(code: str) -> bool:
    from vaxstudy.geo import province_name

    try:
        province_name(code)
        return True
    except ValueError:
        return False

