"""Accuracy of a linkage run against truth (synthetic data or an audited sample).

``evaluate(out_dir_or_db, truth_dir)`` reads ``record_links`` (the parquet of an
output folder, or the table of a DuckDB file) and the truth of CONTRACT
section 1 (``truth.csv|parquet``: record_id, true_person_id, and the extension
true_person_key), and returns:

* ``link_precision``, ``link_recall``, ``link_f1``: record -> person_id links.
  A link is correct when it names the true register person; precision is over
  the rows given a person_id, recall over the rows whose person is in the
  register. ``link_accuracy`` also counts a null link for a person truly not
  in the register as correct (CONTRACT section 3).
* ``dup_precision``, ``dup_recall``, ``dup_f1``: the is_duplicate_dose flags
  against flags recomputed from the truth with the same rule (a row repeating
  an earlier (true person, dose_number) in entry order).
* ``n_persons_est``, ``n_persons_true``, ``n_persons_rel_error``.
* ``blocking_reach`` (with the project database): see :mod:`vaxstudy.link.reach`.

Record order and dose numbers come from the ``vaccinations`` table when a
DuckDB file is given (or found next to the output), else from the
vaccinations file in ``truth_dir``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from vaxstudy.sql import attach, path_literal


def _find_file(folder: Path, stem: str) -> Path | None:
    for ext in ("parquet", "csv"):
        f = folder / f"{stem}.{ext}"
        if f.exists():
            return f
    return None


def _read_sql(path: Path) -> str:
    if path.suffix == ".parquet":
        return f"read_parquet({path_literal(path)})"
    return f"read_csv({path_literal(path)}, all_varchar = true, header = true)"


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None
    return 2 * p * r / (p + r)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def evaluate(
    out_dir_or_db: str | Path,
    truth_dir: str | Path,
    *,
    db_path: str | Path | None = None,
    write: bool = True,
    reach: bool = True,
) -> dict[str, Any]:
    """Linkage accuracy of a run against truth. Writes evaluation.json into an
    output folder when ``write`` and a folder was given. With ``reach`` and the project
    database, also ``blocking_reach``: the share of true pairs the candidate generation
    reached and the field-agreement patterns of those it did not (vaxstudy.link.reach)."""
    src = Path(out_dir_or_db)
    truth_dir = Path(truth_dir)
    con = duckdb.connect()
    try:
        if src.is_dir():
            links = src / "record_links.parquet"
            if not links.exists():
                raise FileNotFoundError(f"{links} not found: run `vaxstudy link` first")
            con.execute(f"CREATE VIEW links AS SELECT * FROM read_parquet({path_literal(links)})")
        else:
            db_path = db_path or src
        if db_path is not None:
            attach(con, db_path, "proj", read_only=True)
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'proj'").fetchall()}
            if not src.is_dir():
                con.execute("CREATE VIEW links AS SELECT * FROM proj.record_links")
        else:
            tables = set()

        truth_file = _find_file(truth_dir, "truth") if truth_dir.is_dir() else None
        if truth_file is not None:
            con.execute(f"CREATE VIEW truth_raw AS SELECT * FROM {_read_sql(truth_file)}")
        elif "truth" in tables:
            con.execute("CREATE VIEW truth_raw AS SELECT * FROM proj.truth")
        else:
            raise FileNotFoundError(f"no truth.csv|parquet in {truth_dir}")
        tcols = {r[0] for r in con.execute("DESCRIBE truth_raw").fetchall()}
        key = "true_person_key" if "true_person_key" in tcols else "true_person_id"
        con.execute(
            f"""CREATE TABLE truth AS SELECT CAST(record_id AS VARCHAR) AS record_id,
                   NULLIF(CAST(true_person_id AS VARCHAR), '') AS true_person_id,
                   NULLIF(CAST({key} AS VARCHAR), '') AS true_person_key
            FROM truth_raw"""
        )

        vtable = next((t for t in ("vaccinations", "vaccinations_std") if t in tables), None)
        if vtable is not None:
            con.execute(
                "CREATE TABLE vorder AS SELECT CAST(record_id AS VARCHAR) AS record_id, "
                "CAST(_row AS BIGINT) AS _row, TRY_CAST(dose_number AS INTEGER) AS dose_number "
                f"FROM proj.{vtable}"
            )
        else:
            vfile = _find_file(truth_dir, "vaccinations")
            if vfile is None:
                raise FileNotFoundError(f"no vaccinations table in a database nor file in {truth_dir}")
            con.execute(
                f"""CREATE TABLE vorder AS SELECT CAST(record_id AS VARCHAR) AS record_id,
                       row_number() OVER () AS _row, TRY_CAST(dose_number AS INTEGER) AS dose_number
                FROM {_read_sql(vfile)}"""
            )

        con.execute(
            """CREATE TABLE ev AS
            SELECT l.record_id, l.person_id, l.person_key, l.is_duplicate_dose,
                   t.true_person_id, t.true_person_key, v._row, v.dose_number
            FROM links l JOIN truth t USING (record_id) LEFT JOIN vorder v USING (record_id)"""
        )
        con.execute(
            """CREATE TABLE ev2 AS SELECT *,
              CASE WHEN dose_number IS NULL OR true_person_key IS NULL THEN FALSE
                   ELSE row_number() OVER (PARTITION BY true_person_key, dose_number
                                           ORDER BY _row, record_id) > 1 END AS true_dup
            FROM ev"""
        )
        r = con.execute(
            """SELECT count(*),
                 count(*) FILTER (WHERE person_id IS NOT NULL),
                 count(*) FILTER (WHERE true_person_id IS NOT NULL),
                 count(*) FILTER (WHERE person_id IS NOT NULL AND person_id = true_person_id),
                 count(*) FILTER (WHERE person_id IS NOT DISTINCT FROM true_person_id),
                 count(*) FILTER (WHERE is_duplicate_dose),
                 count(*) FILTER (WHERE true_dup),
                 count(*) FILTER (WHERE is_duplicate_dose AND true_dup),
                 count(DISTINCT person_key),
                 count(DISTINCT true_person_key)
            FROM ev2"""
        ).fetchall()[0]
        n, n_pred, n_true, n_ok, n_acc, d_pred, d_true, d_ok, k_est, k_true = r
        n_links = con.execute("SELECT count(*) FROM links").fetchall()[0][0]
        n_truth = con.execute("SELECT count(*) FROM truth").fetchall()[0][0]
    finally:
        con.close()

    lp, lr = _ratio(n_ok, n_pred), _ratio(n_ok, n_true)
    dp, dr = _ratio(d_ok, d_pred), _ratio(d_ok, d_true)
    res: dict[str, Any] = {
        "n_records": n,
        "n_records_links": n_links,
        "n_records_truth": n_truth,
        "link_precision": lp,
        "link_recall": lr,
        "link_f1": _f1(lp, lr),
        "link_accuracy": _ratio(n_acc, n),
        "n_links_predicted": n_pred,
        "n_links_true": n_true,
        "dup_precision": dp,
        "dup_recall": dr,
        "dup_f1": _f1(dp, dr),
        "n_dup_predicted": d_pred,
        "n_dup_true": d_true,
        "n_persons_est": k_est,
        "n_persons_true": k_true,
        "n_persons_rel_error": (k_est - k_true) / k_true if k_true else None,
    }
    if reach:
        res["blocking_reach"] = _blocking_reach(src, truth_dir, db_path)
    if write and src.is_dir():
        (src / "evaluation.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    return res


def _blocking_reach(src: Path, truth_dir: Path, db_path: str | Path | None) -> dict[str, Any] | None:
    """Share of true pairs the candidate generation reached (vaxstudy.link.reach), when the
    project database with the standardised tables is at hand; None otherwise."""
    from vaxstudy.link.reach import blocking_reach

    if db_path is None:
        return None
    con = duckdb.connect()
    try:
        attach(con, db_path, "proj", read_only=True)
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'proj'").fetchall()}
    finally:
        con.close()
    if not {"population_std", "vaccinations_std"} <= tables:
        return None
    truth_file = _find_file(truth_dir, "truth") if truth_dir.is_dir() else None
    truth_sql = f"SELECT * FROM {_read_sql(truth_file)}" if truth_file else "SELECT * FROM proj.truth"
    links = src / "record_links.parquet"
    links_sql = (f"SELECT * FROM read_parquet({path_literal(links)})" if src.is_dir() and links.exists()
                 else "SELECT * FROM proj.record_links")
    return blocking_reach(db_path, truth_sql, links_sql)
