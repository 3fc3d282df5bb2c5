"""`vaxstudy estimate`: figures with 95% intervals and the data-quality audit."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


EXTRACT_HELP = ("Day the export was taken, ISO date (default: its latest entered_date); "
                "rows entered after it are left out.")


def parse_extract_date(value: str | None) -> str | None:
    """``--extract-date`` as an ISO date string (None stays None); typer's usage error if not one."""
    from vaxstudy import validate

    return None if value is None else validate.typer_check(validate.iso_date, value, "--extract-date")


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
    import duckdb

    from vaxstudy import validate as v
    from vaxstudy.engines import BackendUnavailable, get_engine
    from vaxstudy.commands.output import fail, number, warn
    from vaxstudy.estimate import HEADLINE_RATES
    from vaxstudy.options import EstimateOptions
    from vaxstudy.progress import StageError
    from vaxstudy.study import Study

    province = v.typer_check(v.province, province)
    start, end = v.typer_check(v.period, period)
    extract_date = parse_extract_date(extract_date)
    try:
        options = EstimateOptions(seed=seed, n_boot=n_boot, link_threshold=threshold, audit=not no_audit,
                                  extract_date=extract_date)
    except ValueError as exc:  # pydantic's ValidationError: a threshold outside (0, 1)
        raise typer.BadParameter(str(exc).splitlines()[-1].strip(), param_hint="--threshold") from None
    v.typer_check(v.db_file, db, must_exist=True)
    try:
        engine = get_engine(backend, spark_master=spark_master)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--backend") from None
    except RuntimeError as exc:  # BackendUnavailable: no pyspark / Java
        fail("estimate", exc)
    try:  # before anything is written: a province absent from the data
        for w in v.check_scope(db, province):
            warn(w)
        v.typer_check(v.out_dir, out)
    except (v.EmptyScope, OSError, duckdb.Error) as exc:  # EmptyScope; not a DuckDB file, locked …
        engine.close()
        fail("estimate", exc)
    except BaseException:
        engine.close()
        raise
    try:
        with Study(db, engine) as study:
            m = study.estimate(province, (start, end), options, out_dir=out)
    except StageError as exc:  # a bad input or an unavailable engine: the stage's own words
        fail("estimate", exc.cause if isinstance(exc.cause, (ValueError, OSError, BackendUnavailable)) else exc)
    finally:
        engine.close()
    typer.echo(f"province {m['province_code']}, {m['period_start']} to {m['period_end']}, "
               f"export of {m.get('extract_date') or 'unknown date'}: "
               f"{number(m['n_records'])} records, {number(m['n_subjects'])} subjects, "
               f"~{number(m['n_persons_est'])} persons")
    for r in HEADLINE_RATES:
        value, ci = m[r], m[f"{r}_ci"]
        shown = number(value, ".4f")
        ci_s = "" if not ci else f"  [{number(ci[0], '.4f')}, {number(ci[1], '.4f')}]"
        typer.echo(f"  {r:<26} {shown}{ci_s}")
    typer.echo(f"wrote {Path(out) / 'metrics.json'}")
