"""Estimates with 95% intervals and a data-quality audit (stage ``estimate``).

``estimate_db`` reads the raw, standardised and ``record_links`` tables of the
shared DuckDB file and writes, into ``out_dir``:

* ``metrics.json`` — the figures of CONTRACT section 3 with a ``_ci`` beside
  each rate, breakdowns, the naive missing-entry rate, a sensitivity block, a
  data-quality summary; validated against ``schemas/metrics.schema.json``;
  sorted keys and rounded floats, so the same inputs and seed give the same
  bytes;
* ``data_quality/`` — the audit tables (parquet and CSV), one row per unit and
  check, and ``worst_sites``;
* ``report_data/`` — the small count tables the report draws
  (:mod:`vaxstudy.report.aggregates`), so that rendering never reads the database.

See :mod:`vaxstudy.estimate.intervals` for what the intervals cover and
:mod:`vaxstudy.estimate.coverage` for the assumption behind corrected coverage.

The record-level SQL (selection, joins, aggregation) runs on a backend's engine
(``backend=``: DuckDB by default, or Spark, see docs/spark.md); the estimators,
the bootstrap and the audit's checks run in pandas/numpy on the driver over
what the queries return.
"""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from vaxstudy.estimate.data import Inputs, connect, load_inputs, period_shared
from vaxstudy.estimate.figures import HEADLINE_RATES
from vaxstudy.estimate.metrics import compute_metrics

__all__ = [
    "HEADLINE_RATES",
    "Inputs",
    "compute_metrics",
    "estimate_db",
    "load_inputs",
    "metrics_schema",
    "validate_metrics",
    "write_metrics",
]

DEFAULT_N_BOOT = 1000


def metrics_schema() -> dict:
    from vaxstudy.config import SCHEMAS_DIR

    return json.loads((SCHEMAS_DIR / "metrics.schema.json").read_text(encoding="utf-8"))


def validate_metrics(metrics: dict) -> None:
    """Raise jsonschema.ValidationError unless ``metrics`` follows the schema."""
    from vaxstudy.fastimport import jsonschema as _jsonschema

    jsonschema = _jsonschema()
    jsonschema.validate(metrics, metrics_schema(), cls=jsonschema.Draft202012Validator)


def dumps_metrics(metrics: dict) -> str:
    return json.dumps(metrics, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_metrics(metrics: dict, path: str | Path) -> Path:
    """Validate and write metrics.json (sorted keys, UTF-8, trailing newline)."""
    validate_metrics(metrics)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_metrics(metrics), encoding="utf-8")
    return path


def _report_tables(cur, inp: Inputs, sites=None):
    """The report's count tables (:mod:`vaxstudy.report.aggregates`), computed on the cursor
    ``cur`` (closed after) in another thread: a callable to submit, over a copy of what it
    reads of ``inp`` (the adult residents), so the estimate may go on with ``inp``; ``sites``:
    the sites as :func:`~vaxstudy.estimate.data.load_inputs` read them (with their names)."""
    from vaxstudy.report import aggregates

    residents = inp.pop.drop(columns="person_id").rename(columns={"person_id_str": "person_id"})
    scope = (inp.province, inp.period_start, inp.period_end)

    def run() -> dict:
        try:
            return aggregates.compute(cur, *scope, residents=residents, sites=sites)
        finally:
            cur.close()

    return run


def one_blas_thread():
    """numpy's BLAS on one thread (a context): the bootstrap's products are small (replicates x
    sites), and BLAS threads spinning beside DuckDB's on a small machine doubled the time of
    compute_metrics (scale 0.1, load ~15: 13.0 -> 6.4 s; same bytes on the demo and a
    scale-0.05 province). Without threadpoolctl (an environment older than the dependency)
    nothing is limited: the same figures, slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _on_cursor(f, cur, *args):
    """``f(cur, *args)`` with the cursor closed after: a callable to submit."""

    def run():
        try:
            return f(cur, *args)
        finally:
            cur.close()

    return run


#: how much lower the threads beside the bootstrap run (Linux nice increments; 0: as the main one)
BEHIND_NICE = 10


def _behind(f):
    """``f`` run at a lower priority than the estimate's main thread (this thread's nice raised
    by :data:`BEHIND_NICE`, where the system allows it): a callable to submit. Only the order
    in which the cores serve the threads changes, never what they compute."""

    def run():
        import os
        import threading

        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + BEHIND_NICE)
        except (AttributeError, OSError):  # not Linux, or not allowed: as it was
            pass
        return f()

    return run


def _single_threaded(con) -> int | None:
    """DuckDB's queries on ``con`` and its cursors from now on in their calling threads only (the
    main thread needs no more queries; the threads beside it then use their own share); returns
    the number of threads it had (None: unchanged), for :func:`_threads` once the bootstrap ends."""
    try:
        n = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        con.execute("SET threads = 1")
        return n
    except Exception:  # noqa: BLE001 - a setting it refuses: its worker threads stay
        return None


def _threads(con, n: int | None) -> None:
    """DuckDB's worker threads set back to ``n`` (what :func:`_single_threaded` returned)."""
    if n is not None:
        try:
            con.execute(f"SET threads = {int(n)}")
        except Exception:  # noqa: BLE001 - as above
            pass


def _audit(cur, inp: Inputs, engine):
    """The data-quality audit on the cursor ``cur`` (closed after): a callable to submit."""
    from vaxstudy.estimate import quality

    def run() -> dict:
        try:
            return quality.audit(cur, inp, backend=engine)
        finally:
            cur.close()

    return run


def _audit_early(con, pool, province, period_start, period_end, engine, extract_date, shared):
    """The audit's queries submitted before the inputs load (they need the sites, the period and
    the export's date only), on a cursor of their own, behind the main thread: they fill the
    core the inputs' single-threaded parts leave free. None where the scope cannot be read
    yet (a table missing: :func:`load_inputs` then says what is wrong)."""
    from vaxstudy.estimate import quality
    from vaxstudy.estimate.data import site_scope

    try:
        scope = site_scope(con, province, period_start, period_end, engine, extract_date, shared)
    except Exception:  # noqa: BLE001 - load_inputs raises the clear message
        return None
    return pool.submit(_behind(_on_cursor(quality.audit_counts, con.cursor(), scope, engine)))


def _audit_tables(counting, inp: Inputs):
    """The audit's tables from the early queries' counts (:func:`_audit_early`) and ``inp``."""
    from vaxstudy.estimate import quality

    return lambda: quality.audit_tables(counting.result(), inp)


def estimate_db(
    db_path: str | Path,
    province: str,
    period_start: str | date,
    period_end: str | date,
    out_dir: str | Path,
    seed: int = 1,
    n_boot: int = DEFAULT_N_BOOT,
    link_threshold: float | None = None,
    audit: bool = True,
    backend=None,
    extract_date: str | date | None = None,
    memo: dict | None = None,
) -> dict:
    """Compute the figures of CONTRACT section 3 and the data-quality audit.

    Writes ``out_dir/metrics.json`` and ``out_dir/data_quality/*.{parquet,csv}``
    and returns the metrics dict. ``link_threshold`` overrides the threshold
    the linkage recorded in ``link_run`` (used by the sensitivity block only). ``backend``
    ('duckdb' default, 'spark', or a :class:`vaxstudy.engines.Engine`) runs
    the record-level queries; a backend given by name is closed at the end,
    an object is left to its owner. ``extract_date``: the day the export was taken
    (default: its latest entered_date); rows entered after it do not exist for the run.
    ``memo``: a dict the caller keeps between periods (report-all, :class:`vaxstudy.Study`):
    the scope check, the sites and the export's date are read once per province and state
    of the database (:func:`vaxstudy.estimate.data.period_shared`).
    """
    from vaxstudy.engines import get_engine
    from vaxstudy.estimate import quality, truthcheck
    from vaxstudy.estimate.missed import review_cap
    from vaxstudy.layout import run_name
    from vaxstudy.report import aggregates as report_aggregates
    from vaxstudy.review.summaries import summary_for_run

    out_dir = Path(out_dir)
    review = summary_for_run(db_path, run_name(province, period_start, period_end))  # before the database is opened
    own_engine = backend is None or isinstance(backend, str)
    engine = get_engine(backend)
    con = connect(db_path)
    pool = ThreadPoolExecutor(4)
    # the audit's tables and the truth check (pandas: the GIL most of the time) on threads never
    # lowered: a thread behind the others that holds the GIL stops the bootstrap's thread whenever
    # the system takes the core from it (measured: the GIL held ~3 s for ~1.3 CPU-s of work)
    plain = ThreadPoolExecutor(2)
    try:
        from vaxstudy.validate import check_scope

        shared = period_shared(memo, con, province)
        # the scope check (counts over the raw tables) on a cursor of its own while the inputs load
        checking = None if "scope_warnings" in shared else pool.submit(_on_cursor(check_scope, con.cursor(), province))
        counting = _audit_early(con, pool, province, period_start, period_end, engine, extract_date, shared) \
            if audit else None
        try:
            inp = load_inputs(con, province, period_start, period_end, link_threshold=link_threshold,
                              backend=engine, extract_date=extract_date, shared=shared)
        except Exception:
            if checking is not None:
                checking.result()  # EmptyScope (no residents and no sites) first, as the cause
            raise
        inp.missed_cap = review_cap(review[0])  # a scored review caps the residents the linkage missed
        if checking is not None:
            shared["scope_warnings"] = checking.result()
        scope_warnings = list(shared["scope_warnings"])
        inp.notes.extend(scope_warnings)
        # the report's count tables, the audit and the truth check: on connections of their own,
        # while the bootstrap runs here. The bootstrap is the longest chain: the queries yield to
        # it (their threads at a lower priority, DuckDB's work in their own threads only), so it
        # keeps a core while they share the rest; the pandas work beside it does not (see plain)
        threads = _single_threaded(con)
        report_tables = pool.submit(_behind(_report_tables(con.cursor(), inp, shared.get("sites"))))
        dq_tables = (None if not audit else pool.submit(_behind(_audit(con.cursor(), inp, engine))) if counting is None
                     else plain.submit(_audit_tables(counting, inp)))
        linkage = plain.submit(_on_cursor(truthcheck.linkage_accuracy, con.cursor(), inp))
        with one_blas_thread():
            metrics = compute_metrics(inp, seed=seed, n_boot=n_boot)
        _threads(con, threads)  # the bootstrap is done: DuckDB's workers back for what remains
        linkage = linkage.result()
        report_tables = report_tables.result()
        dq_tables = dq_tables.result() if audit else {}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        plain.shutdown(wait=True, cancel_futures=True)
        con.close()
        if own_engine:
            engine.close()
    if audit:
        metrics["data_quality"] = quality.summary(dq_tables, inp)
        quality.write_tables(dq_tables, out_dir / "data_quality")
    if linkage is not None:
        metrics["linkage"] = linkage
    from vaxstudy.review.adjust import add_review

    metrics = add_review(metrics, found=review)  # audited precision/recall of a scored review, if any
    write_metrics(metrics, out_dir / "metrics.json")
    report_aggregates.write(report_tables, out_dir)
    return metrics
