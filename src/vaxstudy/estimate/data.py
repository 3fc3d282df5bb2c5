"""Read what the estimates need from the shared DuckDB file, once.

Everything is pulled in one pass into pandas frames with integer codes, so the
estimators and the bootstrap work on numpy arrays, never row by row.

Scope (CONTRACT section 3):

* *record rates* use the rows with ``vaccination_date`` in
  [period_start, period_end] entered at the province's sites (the site's
  province from ``sites``; for a site missing from ``sites``, the most frequent
  ``province_code`` typed on its rows);
* *coverage* is cumulative: every row with ``vaccination_date <= period_end``
  (at any site: a resident vaccinated elsewhere received the dose), and every
  tally up to period_end.

The queries are written in DuckDB's dialect and run on the engine of a
:class:`vaxstudy.engines.Engine` (``fetch``): DuckDB over the project file by
default; with Spark the selection, joins and aggregation run on the cluster
over Parquet exports of the project's tables, and only their results (the
province's register adults, the sites, the site-day tallies, the rows up to
period_end) come to the driver as pandas. Table and column look-ups
(``table_exists``, ``columns_of``) read the project file's catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy import scope
from vaxstudy.estimate import missed
from vaxstudy.estimate.codes import (  # noqa: F401  (factorize_text: its home is codes)
    cells_and_codes,
    codes_by_position,
    factorize_text,
    resident_positions,
)
from vaxstudy.estimate.sorting import seen_before_among
from vaxstudy.link.doses import links_join_on
from vaxstudy.link.run import read_link_run
from vaxstudy.scope import AGE_GROUPS  # noqa: F401  (its home: vaxstudy.scope)
from vaxstudy.sql import date_literal

SEXES: tuple[str, ...] = ("M", "F")
OTHER = "other"  # cell of entered doses that are not register adults of the province

# Optional record_links columns holding, for every row, its best register
# candidate (used for unlinked rows by the link-uncertainty redraw).
CANDIDATE_PERSON_COLUMNS = ("best_person_id", "candidate_person_id", "best_candidate_person_id")
ANY_PROB_COLUMN = "in_register_probability"
CANDIDATE_PROB_COLUMNS = (
    "best_match_probability",
    "candidate_match_probability",
    "best_candidate_probability",
)


def as_date(d: str | date) -> date:
    return d if isinstance(d, date) else date.fromisoformat(str(d))


def fetch(con: duckdb.DuckDBPyConnection, query: str, backend=None, frames: dict | None = None) -> pd.DataFrame:
    """``query`` (DuckDB SQL over the project database open on ``con``) run on the backend's
    engine (DuckDB when None), as a pandas frame."""
    if backend is None:
        from vaxstudy.engines import DuckDBBackend

        backend = DuckDBBackend()
    return backend.fetch_df(con, query, frames)


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    q = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()"
    return con.execute(q, [name]).fetchall()[0][0] > 0


def columns_of(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    q = (
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = current_database() ORDER BY column_index"
    )
    return [r[0] for r in con.execute(q, [name]).fetchall()]


@dataclass
class Inputs:
    """Everything the estimators read, as frames with integer codes.

    rows: one row per vaccination record with vaccination_date <= period_end:
      record_id, subject_id, row (entry order), vdate, dose, vaccine, entered_date,
      site (index into ``sites``), in_scope (bool), person_id (code, NaN = unlinked;
      the text is in person_id_str), subject_id and person_key (integer codes),
      q (match probability of the chosen link, NaN when unlinked), person_key,
      is_dup (duplicate dose among rows up to period_end), is_dup_scope
      (duplicate among the rows in scope), cand_person_id, cand_q (best candidate, may be missing),
      cand_any (P(the row's person is in the register at all), else cand_q), cand2_person_id,
      cand2_q (the runner-up candidate, may be missing),
      cell (index into ``cells`` of the linked person, or the 'other' cell).
    sites: site_id, district_code (stratum), province_code, in_province (bool).
    tallies: site (index), vdate, dose, doses (int), in_scope, tally_ok (False where the
      site-day has a quarantined tally row: out of the missing-entry rates; rows carry
      the same ``tally_ok``).
    pop: register residents of the province aged >= 18 at period_end:
      person_id (code), district_code, sex, age_group, cell, person_id_str (its text).
    cells: district_code, sex, age_group per cell; the last cell is ``other``.
    """

    province: str
    period_start: date
    period_end: date
    rows: pd.DataFrame
    sites: pd.DataFrame
    tallies: pd.DataFrame
    pop: pd.DataFrame
    cells: pd.DataFrame
    link_threshold: float | None = None
    has_candidates: bool = False
    notes: list[str] = field(default_factory=list)
    extract_date: date | None = None
    unlinked_typed: pd.DataFrame | None = None  # typed address, sex, birth date of unlinked rows (missed.py)
    missed_cap: float | None = None  # a scored review's cap on the residents the linkage missed (missed.review_cap)
    n_register: int | None = None  # register entries the linkage chose among (estimate/profiles.py)

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def other_cell(self) -> int:
        return len(self.cells) - 1

    def scope_rows(self) -> pd.DataFrame:
        return self.rows[self.rows["in_scope"].to_numpy()]


def _first_present(cols: list[str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in cols:
            return n
    return None


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    province: str,
    period_start: str | date,
    period_end: str | date,
    link_threshold: float | None = None,
    backend=None,
    extract_date: str | date | None = None,
    shared: dict | None = None,
) -> Inputs:
    """Pull rows, sites, tallies and the adult register population of ``province``.

    ``backend`` (a :class:`vaxstudy.engines.Engine`; DuckDB when None) runs the queries.
    ``extract_date``: rows entered after it are left out (default: the export's latest
    entered_date, see :func:`resolve_extract_date`). ``shared``: a dict kept between
    periods of one province and one state of the database (:func:`period_shared`): what
    does not depend on the period (the sites, the export's latest entry) is read once."""
    shared = {} if shared is None else shared
    province = str(province).zfill(2)
    start, end = as_date(period_start), as_date(period_end)
    notes: list[str] = []
    for t in ("population", "vaccinations", "tallies"):
        if not table_exists(con, t):
            raise ValueError(f"table {t!r} is missing from the database")
    extract = _export_date(con, extract_date, shared)
    has_links = table_exists(con, "record_links")
    if not has_links:
        raise ValueError("table 'record_links' is missing: run `vaxstudy link` first")
    lcols = columns_of(con, "record_links")
    cand_p = _first_present(lcols, CANDIDATE_PERSON_COLUMNS)
    cand_q = _first_present(lcols, CANDIDATE_PROB_COLUMNS)
    has_sites = table_exists(con, "sites")

    # -- sites and adult register residents: vaxstudy.scope ------------------------
    if not has_sites:
        notes.append("no sites table: site district/province taken from the rows")
    sites = _sites(con, shared, has_sites, province, backend)
    site_index = pd.Series(np.arange(len(sites)), index=sites["site_id"].to_numpy())

    standardised = table_exists(con, "population_std")
    if not standardised:
        notes.append("population_std missing: residents read from the raw population (same rules)")
    pop = fetch(con, scope.adults_sql(province, end, standardised), backend)
    n_register = int(fetch(con, f"SELECT count(*) AS n FROM {'population_std' if standardised else 'population'}",
                           backend)["n"].iloc[0])
    n_nosex = int((pop["sex"] == "U").sum())
    if n_nosex:
        notes.append(f"{n_nosex} adult residents without a usable sex: counted in totals, not in by_sex")
    cells, pop["cell"] = cells_and_codes(pop[["district_code", "sex", "age_group"]])
    cells = pd.concat(
        [cells, pd.DataFrame({"district_code": [OTHER], "sex": [OTHER], "age_group": [OTHER]})],
        ignore_index=True,
    )
    pop = pop[["person_id", "district_code", "sex", "age_group", "cell"]].reset_index(drop=True)
    pop["person_id_str"] = pop["person_id"].astype(str)  # the text, once person_id is a code (below)

    # -- vaccination rows with their links -----------------------------------------
    cand_sel = (
        f", CAST(l.{cand_p} AS VARCHAR) AS cand_person_id, CAST(l.{cand_q} AS DOUBLE) AS cand_q"
        if cand_p and cand_q
        else ", NULL::VARCHAR AS cand_person_id, NULL::DOUBLE AS cand_q"
    )
    # P(the row's person is in the register at all), where the linkage gives it (namesakes
    # split the best candidate's probability, not this); else the best candidate's
    cand_sel += (
        f", CAST(l.{ANY_PROB_COLUMN} AS DOUBLE) AS cand_any"
        if cand_p and cand_q and ANY_PROB_COLUMN in lcols
        else ", NULL::DOUBLE AS cand_any"
    )
    # the person found in the register without a date of birth (vaxstudy.link.incomplete):
    # still an unlinked row, counted apart beside unlinked_record_rate
    # the runner-up candidate (record_links.second_*; a database linked before: none)
    cand_sel += (", CAST(l.second_person_id AS VARCHAR) AS cand2_person_id, CAST(l.second_match_probability AS DOUBLE) AS cand2_q"
                 if cand_p and cand_q and {"second_person_id", "second_match_probability"} <= set(lcols)
                 else ", NULL::VARCHAR AS cand2_person_id, NULL::DOUBLE AS cand2_q")
    cand_sel += (", l.incomplete_register_person_id IS NOT NULL AS in_incomplete_register"
                 if "incomplete_register_person_id" in lcols else ", FALSE AS in_incomplete_register")
    if not (cand_p and cand_q):
        notes.append(
            "record_links has no best-candidate columns: unlinked rows are held fixed "
            "in the link redraw (missed links are not part of the interval)"
        )
    # Only the rows that can touch this province's figures come to the driver (on a national
    # database the rest are most of them): every row of an estimated person who has a row at
    # one of the province's sites or is one of its adult residents (a person's rows stay
    # together: duplicate doses are counted within a person), and unlinked rows whose best
    # candidate is such a resident (the link redraw may give them to that resident). Each row's
    # person, key and candidate come with their resident's position (the residents' codes:
    # see codes_by_position), which also says whether the key or the candidate is a resident.
    residents, unique = resident_positions(pop["person_id"])
    rows = fetch(
        con,
        f"""
        WITH r AS (
          SELECT CAST(v.record_id AS VARCHAR) record_id, CAST(v.subject_id AS VARCHAR) subject_id,
                 CAST(v._row AS BIGINT) AS "row", CAST(v.vaccination_date AS DATE) vdate,
                 CAST(v.dose_number AS INTEGER) dose, CAST(v.vaccine AS VARCHAR) vaccine,
                 CAST(v.entered_date AS DATE) entered_date, CAST(v.site_id AS VARCHAR) site_id,
                 CAST(l.person_id AS VARCHAR) person_id, CAST(l.match_probability AS DOUBLE) q,
                 CAST(coalesce(l.person_key, l.person_id, 'r:' || v.record_id) AS VARCHAR) person_key,
                 coalesce(CAST(l.is_duplicate_dose AS BOOLEAN), false) is_dup
                 {cand_sel}, coalesce(sp.site, -1) AS site
          FROM vaccinations v
          LEFT JOIN _site_index sp ON sp.site_id IS NOT DISTINCT FROM CAST(v.site_id AS VARCHAR)
          LEFT JOIN record_links l ON {links_join_on(con, "vaccinations")}
          WHERE v.vaccination_date <= {date_literal(end)} AND v.vaccination_date IS NOT NULL
            AND {entered_by_sql("v", extract)})
        SELECT r.*, rp.pos AS _person_pos, rk.pos AS _key_pos, rc.pos AS _cand_pos, r2.pos AS _cand2_pos FROM r
        LEFT JOIN _province_residents rp ON rp.person_id = r.person_id
        LEFT JOIN _province_residents rk ON rk.person_id = r.person_key
        LEFT JOIN _province_residents rc ON rc.person_id = r.cand_person_id
        LEFT JOIN _province_residents r2 ON r2.person_id = r.cand2_person_id
        WHERE r.person_key IN (SELECT person_key FROM r
                               WHERE site_id IN (SELECT CAST(site_id AS VARCHAR) FROM _province_sites))
           OR rk.pos IS NOT NULL OR rc.pos IS NOT NULL OR r2.pos IS NOT NULL
        ORDER BY r."row", r.record_id
        """,
        backend,
        frames={
            "_province_sites": sites.loc[sites["in_province"], ["site_id"]].reset_index(drop=True),
            "_province_residents": residents,
            # each site's position in `sites`, joined by the engine (not a text look-up per row here)
            "_site_index": pd.DataFrame({"site_id": sites["site_id"].reset_index(drop=True),
                                         "site": np.arange(len(sites), dtype=np.int64)}),
        },
    )
    rows["site"] = rows["site"].to_numpy(dtype=np.int64)
    if (rows["site"] < 0).any():
        notes.append(f"{int((rows['site'] < 0).sum())} rows without a site_id: left out")
        rows = rows[rows["site"] >= 0].reset_index(drop=True)
    rows["vdate"] = pd.to_datetime(rows["vdate"])
    rows["dose"] = rows["dose"].fillna(0).astype(np.int64)
    in_prov = sites["in_province"].to_numpy()[rows["site"].to_numpy()]
    rows["in_scope"] = in_prov & (rows["vdate"].to_numpy() >= np.datetime64(start))
    # Ids as integer codes (one code space for register persons, links, keys and
    # candidates): grouping and look-ups on 1M rows are then fast. person_id and
    # cand_person_id are float codes, NaN where there is none; the text of
    # person_id stays in person_id_str (for the truth check).
    n1, n2 = len(pop), len(rows)
    parts = [rows["person_id"], rows["person_key"], rows["cand_person_id"], rows["cand2_person_id"]]
    if unique:  # the residents' codes are their positions: only the other ids are coded here
        codes = np.concatenate([np.arange(n1, dtype=np.int64), *codes_by_position(
            n1, parts, [rows[c] for c in ("_person_pos", "_key_pos", "_cand_pos", "_cand2_pos")])])
    else:
        codes = factorize_text([pop["person_id"], *parts])
    rows = rows.drop(columns=["_person_pos", "_key_pos", "_cand_pos", "_cand2_pos"])

    def _code(a: np.ndarray) -> np.ndarray:
        a = a.astype(float)
        a[a < 0] = np.nan
        return a

    pop["person_id"] = codes[:n1].astype(float)
    rows["person_id_str"] = rows["person_id"]  # the text column itself (a Python object per row cost ~0.2 CPU-s)
    rows["person_id"] = _code(codes[n1 : n1 + n2])
    rows["person_key"] = codes[n1 + n2 : n1 + 2 * n2].astype(np.int64)
    rows["cand_person_id"] = _code(codes[n1 + 2 * n2 : n1 + 3 * n2])
    rows["cand2_person_id"] = _code(codes[n1 + 3 * n2 :])
    rows["subject_id"] = factorize_text([rows["subject_id"]])

    # Duplicate doses: the linkage's flag, kept only where an earlier row of the
    # same (person_key, dose) exists among the rows counted (CONTRACT: "already
    # recorded by an earlier row"): up to period_end for coverage, in scope for
    # the record rates (as truth_summary reads it).
    flag = rows["is_dup"].to_numpy(dtype=bool)
    pk, dose = rows["person_key"].to_numpy(), rows["dose"].to_numpy()
    seen, seen_in_scope = seen_before_among(rows["in_scope"].to_numpy(dtype=bool), pk, dose)
    rows["is_dup"] = flag & seen
    rows["is_dup_scope"] = flag & seen_in_scope
    q = rows["q"].to_numpy(dtype=float)
    linked = rows["person_id"].notna().to_numpy()
    q = np.where(linked, np.nan_to_num(q, nan=1.0), np.nan)
    rows["q"] = q
    rows["cell"] = cells_of(pop, rows["person_id"].to_numpy(), len(cells) - 1)
    rows["cand_q"] = rows["cand_q"].astype(float)
    rows["cand2_q"] = rows["cand2_q"].astype(float)
    rows["cand_any"] = rows["cand_any"].astype(float).fillna(rows["cand_q"])
    has_cand = bool(cand_p and cand_q)

    # -- tallies -------------------------------------------------------------------
    tallies = fetch(
        con,
        f"""
        SELECT CAST(site_id AS VARCHAR) site_id, CAST(vaccination_date AS DATE) vdate,
               CAST(dose_number AS INTEGER) dose, CAST(sum(doses_administered) AS BIGINT) doses
        FROM tallies WHERE vaccination_date <= {date_literal(end)} AND site_id IS NOT NULL
        GROUP BY ALL ORDER BY 1, 2, 3
        """,
        backend,
    )
    tallies["site"] = site_index.reindex(tallies["site_id"].to_numpy()).to_numpy(dtype=np.int64)
    tallies["vdate"] = pd.to_datetime(tallies["vdate"])
    tallies["doses"] = tallies["doses"].fillna(0).astype(np.int64)
    tallies["in_scope"] = sites["in_province"].to_numpy()[tallies["site"].to_numpy()] & (
        tallies["vdate"].to_numpy() >= np.datetime64(start)
    )
    # Site-days with a quarantined tally row leave both sides of the missing-entry rates.
    rows["tally_ok"], tallies["tally_ok"] = _tally_ok(con, rows, tallies, notes)

    # what the unlinked rows typed (address, sex, birth date): who among them could be a resident
    # the linkage missed (vaxstudy.estimate.missed)
    typed = None
    if table_exists(con, "vaccinations_std") and set(missed.TYPED_COLUMNS) <= set(columns_of(con, "vaccinations_std")):
        typed = missed.typed_fields(rows, lambda q, frames: fetch(con, q, backend, frames=frames))
    else:
        notes.append("vaccinations_std (typed address, sex, birth date) missing: no bound for residents "
                     "the linkage missed")
    if link_threshold is None:
        run = read_link_run(con)
        link_threshold = run.threshold if run is not None else None
    if link_threshold is None and linked.any():
        link_threshold = float(np.nanmin(q[linked]))
        notes.append("no link_run table (linked elsewhere?): link threshold taken as the lowest linked probability")
    return Inputs(
        province=province,
        period_start=start,
        period_end=end,
        rows=rows,
        sites=sites,
        tallies=tallies,
        pop=pop,
        cells=cells,
        link_threshold=link_threshold,
        has_candidates=has_cand,
        notes=notes,
        extract_date=extract,
        unlinked_typed=typed,
        n_register=n_register,
    )


@dataclass(frozen=True)
class SiteScope:
    """What the audit's queries read of the inputs (:class:`Inputs` has the same fields): the
    sites as :func:`load_inputs` makes them, the period and the export's date."""

    province: str
    period_start: date
    period_end: date
    sites: pd.DataFrame
    extract_date: date | None


def site_scope(con: duckdb.DuckDBPyConnection, province: str, period_start: str | date, period_end: str | date,
               backend=None, extract_date: str | date | None = None, shared: dict | None = None) -> SiteScope:
    """The sites, period and export date :func:`load_inputs` will use (read into ``shared``, so
    that it reads them once): the audit's queries start on them before the rows are read."""
    shared = {} if shared is None else shared
    province = str(province).zfill(2)
    extract = _export_date(con, extract_date, shared)
    sites = _sites(con, shared, table_exists(con, "sites"), province, backend)
    return SiteScope(province, as_date(period_start), as_date(period_end), sites, extract)


def _export_date(con: duckdb.DuckDBPyConnection, extract_date, shared: dict) -> date | None:
    if extract_date is None and "export_date" not in shared:
        shared["export_date"] = resolve_extract_date(con, None)
    return shared["export_date"] if extract_date is None else resolve_extract_date(con, extract_date)


def _sites(con: duckdb.DuckDBPyConnection, shared: dict, has_sites: bool, province: str, backend) -> pd.DataFrame:
    """Every site with its district ('unknown' where none), province and ``in_province``."""
    if "sites" not in shared:
        shared["sites"] = fetch(con, scope.sites_sql(has_sites), backend)  # with site_name: the report's tables
    sites = shared["sites"].drop(columns="site_name")
    sites["district_code"] = sites["district_code"].fillna("unknown")
    sites["in_province"] = (sites["province_code"] == province).to_numpy()
    return sites


def period_shared(memo: dict | None, con: duckdb.DuckDBPyConnection, province: str) -> dict:
    """The part of ``memo`` (a dict a caller keeps between periods, e.g. a
    :class:`vaxstudy.Study`) for this province and this state of the database file: a new
    one when the file changed (a new ingest or link), so nothing stale is reused."""
    from vaxstudy.sql import file_key

    if memo is None:
        return {}
    key = (file_key(con), str(province).zfill(2))
    if key[0] is None:
        return {}
    if memo.get("key") != key:
        memo.clear()
        memo["key"] = key
    return memo.setdefault("values", {})


def cells_of(pop: pd.DataFrame, person: np.ndarray, other: int) -> np.ndarray:
    """The cell of each person code in ``person`` (float, NaN = none): the resident's cell, else
    ``other``. The residents' codes are 0..n-1 in their order (coded first, one row each), so
    the cell is read by position; any other coding falls back to a look-up."""
    codes, cell = pop["person_id"].to_numpy(), pop["cell"].to_numpy(dtype=np.int64)
    if not np.array_equal(codes, np.arange(len(codes))):
        s = pd.Series(cell, index=codes)
        return s.reindex(person).fillna(other).to_numpy(dtype=np.int64)
    if not len(codes):  # no resident in scope (an empty or foreign register): every row is `other`
        return np.full(len(person), other, dtype=np.int64)
    p = np.nan_to_num(person, nan=-1.0).astype(np.int64)
    ok = (p >= 0) & (p < len(codes))
    return np.where(ok, cell[np.where(ok, p, 0)], other).astype(np.int64)


def tally_ok(df: pd.DataFrame) -> np.ndarray:
    """The ``tally_ok`` column of rows or tallies (all True when absent: inputs built without it)."""
    if "tally_ok" in df.columns:
        return df["tally_ok"].to_numpy(dtype=bool)
    return np.ones(len(df), dtype=bool)


def _tally_ok(con, rows: pd.DataFrame, tallies: pd.DataFrame, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row and per tally: False where its site-day has a quarantined tally row
    (``tally_excluded_days``, written by ingest, see :mod:`vaxstudy.integrity`)."""
    from vaxstudy.integrity import EXCLUDED_DAYS

    ok_rows, ok_tallies = np.ones(len(rows), dtype=bool), np.ones(len(tallies), dtype=bool)
    if not table_exists(con, EXCLUDED_DAYS):
        return ok_rows, ok_tallies
    x = con.execute(f"SELECT CAST(site_id AS VARCHAR), CAST(vaccination_date AS DATE) FROM {EXCLUDED_DAYS}").df()
    if x.empty:
        return ok_rows, ok_tallies
    days = pd.MultiIndex.from_arrays([x.iloc[:, 0].astype(str), pd.to_datetime(x.iloc[:, 1])])
    ok_rows = ~pd.MultiIndex.from_arrays([rows["site_id"].astype(str), rows["vdate"]]).isin(days)
    ok_tallies = ~pd.MultiIndex.from_arrays([tallies["site_id"].astype(str), tallies["vdate"]]).isin(days)
    notes.append(f"{len(x)} site-day(s) with a quarantined tally row left out of missing_entry_rate "
                 f"(their entered doses and their tallies)")
    return np.asarray(ok_rows), np.asarray(ok_tallies)


def resolve_extract_date(con: duckdb.DuckDBPyConnection, extract_date: str | date | None) -> date | None:
    """The day the export was taken: ``extract_date`` if given, else the latest entered_date
    of the export (None when no row has one: then every row is kept)."""
    if extract_date is not None:
        return as_date(extract_date)
    v = con.execute("SELECT max(TRY_CAST(entered_date AS DATE)) FROM vaccinations").fetchall()[0][0]
    return None if v is None else as_date(v)


def entered_by_sql(alias: str, extract: date | None) -> str:
    """SQL condition: the row of ``alias`` existed in the export on ``extract`` (entered on or
    before it; a row without entered_date is kept, its entry day being unknown)."""
    if extract is None:
        return "true"
    return f"(TRY_CAST({alias}.entered_date AS DATE) IS NULL OR TRY_CAST({alias}.entered_date AS DATE) <= {date_literal(extract)})"


def connect(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db_path), read_only=True)
