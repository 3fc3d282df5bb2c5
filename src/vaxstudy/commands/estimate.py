"""`vaxstudy estimate`: figures with 95% intervals and the data-quality audit."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _parse_period(period: str) -> tuple[str, str]:
    from datetime import date

    try:
        a, b = period.split(":")
        start, end = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
    except ValueError:
        raise typer.BadParameter("expected START:END as ISO dates, e.g. 2021-03-08:2021-10-31") from None
    if end < start:
        raise typer.BadParameter("the period ends before it starts")
    return start.isoformat(), end.isoformat()


EXTRACT_HELP = ("Day the export was taken, ISO date (default: its latest entered_date); "
                "rows entered after it are left out.")


def parse_extract_date(value: str | None) -> str | None:
    """``--extract-date`` as an ISO date string (None stays None)."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise typer.BadParameter(f"expected an ISO date such as 2021-11-07, not {value!r}",
                                 param_hint="--extract-date") from None


def estimate(
    db: Path = typer.Option(..., "--db", help="DuckDB file holding the raw, std and record_links tables."),
    province: str = typer.Option(..., "--province", help="2-digit GSO province code, e.g. 40."),
    period: str = typer.Option(..., "--period", help="START:END, ISO dates, e.g. 2021-03-08:2021-10-31."),
    out: Path = typer.Option(..., "--out", help="Output folder for metrics.json and data_quality/."),
    seed: int = typer.Option(1, "--seed", help="Seed of the bootstrap and the link redraws."),
    n_boot: int = typer.Option(1000, "--n-boot", min=10, help="Bootstrap replicates."),
    threshold: float = typer.Option(None, "--threshold",
                                    help="Link threshold for the sensitivity block (default: the linkage's)."),
    no_audit: bool = typer.Option(False, "--no-audit", help="Skip the data-quality audit."),
    extract_date: Optional[str] = typer.Option(None, "--extract-date", help=EXTRACT_HELP),
    backend: str = typer.Option(
        "duckdb", "--backend",
        help="Engine of the record-level queries (selection, joins, aggregation): duckdb (default) or spark.",
    ),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", help="Spark master URL (default: $SPARK_MASTER, else local mode)."
    ),
) -> None:
    """Write metrics.json (CONTRACT section 3, with 95% intervals) and the data-quality tables."""
    from vaxstudy.backend import BackendUnavailable, get_backend
    from vaxstudy.estimate import HEADLINE_RATES, estimate_db

    start, end = _parse_period(period)
    extract_date = parse_extract_date(extract_date)
    if not db.exists():
        raise typer.BadParameter(f"no such database: {db}", param_hint="--db")
    try:
        engine = get_backend(backend, spark_master=spark_master)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--backend") from None
    except RuntimeError as exc:  # BackendUnavailable: no pyspark / Java
        typer.echo(f"estimate failed: {exc}", err=True)
        raise typer.Exit(code=1) from None
    try:
        m = estimate_db(db, province, start, end, out, seed=seed, n_boot=n_boot,
                        link_threshold=threshold, audit=not no_audit, backend=engine,
                        extract_date=extract_date)
    except (ValueError, BackendUnavailable) as exc:
        typer.echo(f"estimate failed: {exc}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.close()
    typer.echo(f"province {m['province_code']}, {m['period_start']} to {m['period_end']}, "
               f"export of {m.get('extract_date') or 'unknown date'}: "
               f"{m['n_records']:,} records, {m['n_subjects']:,} subjects, ~{m['n_persons_est']:,} persons")
    for r in HEADLINE_RATES:
        v, ci = m[r], m[f"{r}_ci"]
        shown = "n/a" if v is None else f"{v:.4f}"
        ci_s = "" if not ci else f"  [{ci[0]:.4f}, {ci[1]:.4f}]"
        typer.echo(f"  {r:<26} {shown}{ci_s}")
    typer.echo(f"wrote {Path(out) / 'metrics.json'}")
