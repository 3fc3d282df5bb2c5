"""Accuracy of a linkage run against truth (synthetic data or an audited sample).

``evaluate(out_dir_or_db, truth_dir)`` reads ``record_links`` (the parquet of an
output folder, or the table of a DuckDB file) and the truth of CONTRACT
section 1 (``truth.csv|parquet``: record_id, true_person_id, and the extension
true_person_key), and returns:

* ``link_precision``, ``link_recall``, ``link_f1``, ``link_accuracy`` and
  ``dup_precision``, ``dup_recall``, ``dup_f1``: :func:`vaxstudy.accuracy.linkage_accuracy`
  (the figures of the estimate's ``linkage`` block, over every row).
* ``n_persons_est``, ``n_persons_true``, ``n_persons_rel_error``.
* ``calibration``: the linked rows by match-probability band, wrong links observed against
  the model's expected sum of 1 - p (:func:`vaxstudy.accuracy.calibration_bands`).
* ``incomplete_register``: the links to register persons without a date of birth
  (``incomplete_register_person_id``), scored apart: their precision and recall (the recall
  with the project database, which lists those persons) and ``found_recall``, the rows whose
  person is found in the register, complete entry or not
  (:func:`vaxstudy.accuracy.incomplete_register_accuracy`).
* ``candidate_calibration``: the unlinked rows' best candidates (``best_person_id``,
  ``best_match_probability``, which the estimate redraws), by probability band: rows whose
  best candidate is *not* their true person, observed against the sum of 1 - p
  (:func:`vaxstudy.accuracy.calibration_bands`), and in all the rows whose best candidate
  is their person against the sum of p: the residents the redraw puts back.
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

from vaxstudy.accuracy import calibration_bands, incomplete_register_accuracy, linkage_accuracy
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

        lcols = {r[0] for r in con.execute("DESCRIBE links").fetchall()}
        inc = ("CAST(l.incomplete_register_person_id AS VARCHAR)" if "incomplete_register_person_id" in lcols
               else "CAST(NULL AS VARCHAR)")
        best = ("CAST(l.best_person_id AS VARCHAR) AS best_person_id, l.best_match_probability"
                if {"best_person_id", "best_match_probability"} <= lcols
                else "CAST(NULL AS VARCHAR) AS best_person_id, CAST(NULL AS DOUBLE) AS best_match_probability")
        con.execute(
            f"""CREATE TABLE ev AS
            SELECT l.record_id, l.person_id, l.person_key, l.is_duplicate_dose, l.match_probability,
                   t.true_person_id, t.true_person_key, v._row, v.dose_number,
                   {inc} AS incomplete_register_person_id, {best}
            FROM links l JOIN truth t USING (record_id) LEFT JOIN vorder v USING (record_id)"""
        )
        # the register persons without a date of birth (ingest keeps them apart): the recall
        # of their links needs the list
        incomplete_ids = ({r[0] for r in con.execute(
            "SELECT CAST(person_id AS VARCHAR) FROM proj.population_incomplete").fetchall()}
            if "population_incomplete" in tables else None)
        ev = con.execute("SELECT * FROM ev").df()
        k_est, k_true = con.execute(
            "SELECT count(DISTINCT person_key), count(DISTINCT true_person_key) FROM ev").fetchall()[0]
        n_links = con.execute("SELECT count(*) FROM links").fetchall()[0][0]
        n_truth = con.execute("SELECT count(*) FROM truth").fetchall()[0][0]
    finally:
        con.close()

    acc = linkage_accuracy(ev.rename(columns={"_row": "row"}))
    res: dict[str, Any] = {
        "n_records": acc.pop("n_records"),
        "n_records_links": n_links,
        "n_records_truth": n_truth,
        **acc,
        "incomplete_register": incomplete_register_accuracy(ev, incomplete_ids),
        "n_persons_est": k_est,
        "n_persons_true": k_true,
        "n_persons_rel_error": (k_est - k_true) / k_true if k_true else None,
        "calibration": _calibration(ev),
        "candidate_calibration": _candidate_calibration(ev),
    }
    if reach:
        res["blocking_reach"] = _blocking_reach(src, truth_dir, db_path)
    if write and src.is_dir():
        (src / "evaluation.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    return res


def _calibration(ev: Any) -> list[dict[str, Any]]:
    """The linked rows' match probabilities against truth, by band (accuracy.calibration_bands):
    a link is wrong when its person is not the row's true register person (or it has none)."""
    linked = ev[ev["person_id"].notna() & ev["match_probability"].notna()]
    wrong = linked["person_id"].astype(str).to_numpy() != linked["true_person_id"].astype(object).fillna("").astype(str).to_numpy()
    return calibration_bands(linked["match_probability"].to_numpy(dtype=float), wrong)


#: probability bands of the unlinked rows' best candidates (all below the link threshold)
CANDIDATE_EDGES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4)


def _candidate_calibration(ev: Any) -> dict[str, Any]:
    """The unlinked rows' best candidates against truth: the estimate's redraw counts a row
    back into the register with its candidate's probability, so too low a probability where
    the candidate is the row's true person leaves the unlinked-record rate too high."""
    c = ev[ev["person_id"].isna() & ev["best_person_id"].notna() & ev["best_match_probability"].notna()]
    p = c["best_match_probability"].to_numpy(dtype=float)
    right = c["best_person_id"].astype(str).to_numpy() == c["true_person_id"].astype(object).fillna("").astype(str).to_numpy()
    return {"n_rows": int(len(c)), "n_best_is_true": int(right.sum()), "expected_best_is_true": round(float(p.sum()), 2),
            "bands": calibration_bands(p, ~right, CANDIDATE_EDGES)}


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
