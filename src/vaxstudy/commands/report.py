"""`vaxstudy report`, `vaxstudy report-all` and `vaxstudy demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vaxstudy.commands.estimate import EXTRACT_HELP, parse_extract_date
from vaxstudy.validate import EmptyScope

BACKEND_HELP = ("Engine for standardise, link and the estimate's queries: duckdb (default, in process) or spark "
                "(needs the spark extra).")
CHUNKS_HELP = "Score the link in N slices of the registry (national runs: bounds the pairs held at once)."
SPARK_MASTER_HELP = "Spark master URL, e.g. spark://host:7077 or yarn (default: $SPARK_MASTER, else local mode)."


FRAME_HELP = ("report.yaml with the report's frame: issuer, parent, report_number, report_date, place, "
              "signer_title, signer_name, recipients (docs/reports.md). --issuer, --report-number and "
              "--report-date override it.")
PDF_HELP = "Also print report.pdf (A4) with a headless Chromium (chromium or google-chrome on the PATH)."


def _run_one(data: Path, province: str, start: str, end: str, out: Path, *, engine, link, estimate,
             language: str, suppression_threshold: int | None = None, frame=None):
    """One province and period through a :class:`vaxstudy.Study`, with a progress display; a
    failed stage ends the command with its message. The engine is closed either way."""
    from vaxstudy.commands.output import warn
    from vaxstudy.progress import Progress, StageError
    from vaxstudy.study import Study
    from vaxstudy.validate import check_scope

    title = f"vaxstudy report · province {province} · {start} → {end}"
    try:
        with Progress(True, title) as pr, Study.in_folder(out, province, engine, progress=pr) as study:
            study.ingest(data)
            for w in check_scope(study.db, province):  # EmptyScope stops before standardise and link
                warn(w)
            study.standardize()
            study.link(link)
            return study.report(province, (start, end), estimate=estimate, language=language,
                                suppression_threshold=suppression_threshold, frame=frame)
    except (StageError, OSError, EmptyScope) as e:
        _fail(e)
    finally:
        engine.close()


def _frame(path: Optional[Path], issuer: Optional[str], number: Optional[str], day: Optional[str]):
    """The frame of report.yaml with the command-line values on top; a bad value names its source."""
    from datetime import date

    from pydantic import ValidationError

    from vaxstudy.report.frame import load_frame

    try:
        f = load_frame(path)
    except ValidationError as e:
        shown = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())
        raise typer.BadParameter(f"{path}: {shown}", param_hint="--frame") from None
    except (OSError, ValueError) as e:
        raise typer.BadParameter(str(e), param_hint="--frame") from None
    update: dict = {}
    if issuer:
        update["issuer"] = issuer
    if number:
        update["report_number"] = number
    if day:
        try:
            update["report_date"] = date.fromisoformat(day)
        except ValueError:
            raise typer.BadParameter(f"{day!r} is not an ISO date (YYYY-MM-DD)", param_hint="--report-date") from None
    return f.model_copy(update=update)


def _pdf(html: Path) -> None:
    """report.pdf beside report.html, or a clear message when no Chromium is found."""
    from vaxstudy.report.pdf import PdfUnavailable, print_pdf

    try:
        typer.echo(str(print_pdf(html)), err=True)
    except PdfUnavailable as e:
        _fail(e)


def _fail(msg: object) -> None:
    from vaxstudy.commands.output import fail

    fail("report", msg)


def report(
    data: Path = typer.Option(..., "--data", help="Data folder holding the CONTRACT tables."),
    province: str = typer.Option(..., "--province", help="GSO province code, e.g. 40 (Nghệ An)."),
    period: str = typer.Option(..., "--period", help="START:END in ISO dates, e.g. 2021-10-01:2021-10-31."),
    out: Path = typer.Option(Path("reports"), "--out", help="Folder for the run folders and the working database."),
    model: Path = typer.Option(None, "--model", help="Saved linkage model JSON to reuse instead of training."),
    language: str = typer.Option("vi", "--language", help="Report language: vi or en."),
    seed: int = typer.Option(1, "--seed", help="Random seed of linkage and intervals."),
    n_boot: int = typer.Option(1000, "--n-boot", min=10, help="Bootstrap replicates of the intervals."),
    suppression_threshold: int = typer.Option(10, "--suppress-below", help="Hide counts below this (default 10)."),
    backend: str = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
    chunks: int = typer.Option(1, "--chunks", min=1, help=CHUNKS_HELP),
    extract_date: Optional[str] = typer.Option(None, "--extract-date", help=EXTRACT_HELP),
    frame_file: Optional[Path] = typer.Option(None, "--frame", help=FRAME_HELP),
    issuer: Optional[str] = typer.Option(None, "--issuer", help="Issuing unit (default: Sở Y tế tỉnh <name>)."),
    report_number: Optional[str] = typer.Option(None, "--report-number", help="Report number, e.g. 125/BC-SYT."),
    report_date: Optional[str] = typer.Option(None, "--report-date", help="Report date, ISO (default: today)."),
    pdf: bool = typer.Option(False, "--pdf", help=PDF_HELP),
) -> None:
    """Run ingest → standardise → link → estimate → render for one province and period."""
    from vaxstudy import validate as v
    from vaxstudy.engines import BackendUnavailable, get_engine
    from vaxstudy.options import EstimateOptions, LinkOptions

    extract_date = parse_extract_date(extract_date)
    province = v.typer_check(v.province, province)
    start, end = v.typer_check(v.period, period)
    v.typer_check(v.data_dir, data)
    if model is not None and not model.is_file():
        raise typer.BadParameter(f"{model}: no such model file", param_hint="--model")
    if language not in ("vi", "en"):
        raise typer.BadParameter("vi or en", param_hint="--language")
    v.typer_check(v.out_dir, out)
    frame = _frame(frame_file, issuer, report_number, report_date)
    try:
        engine = get_engine(backend, spark_master=spark_master)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--backend") from None
    except BackendUnavailable as e:
        _fail(str(e))
    res = _run_one(data, province, start, end, out, engine=engine,
                   link=LinkOptions(model_path=model, seed=seed, n_chunks=chunks),
                   estimate=EstimateOptions(seed=seed, n_boot=n_boot, extract_date=extract_date), language=language,
                   suppression_threshold=suppression_threshold, frame=frame)
    if pdf:
        _pdf(res.report_html)
    typer.echo(str(res.report_html))


def report_all(
    config: Path = typer.Option(..., "--config", help="YAML listing provinces and periods (see docs/reports.md)."),
    extract_date: Optional[str] = typer.Option(None, "--extract-date",
                                               help=EXTRACT_HELP + " Overrides the config's extract_date."),
) -> None:
    """Render every province × period of the config, continue past failures, write <out>/index.html."""
    from pydantic import ValidationError
    from rich.console import Console

    from vaxstudy.report.batch import load_config, run_batch

    from vaxstudy import validate as v

    try:
        cfg = load_config(config)
    except ValidationError as e:  # one line per bad entry, without pydantic's links
        shown = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                          for err in e.errors())
        raise typer.BadParameter(f"{config}: {shown}", param_hint="--config") from None
    except (OSError, ValueError) as e:
        raise typer.BadParameter(str(e), param_hint="--config") from None
    for p in cfg.provinces:
        v.typer_check(v.data_dir, p.data, f"provinces.{p.code}.data (in {config})")
    v.typer_check(v.out_dir, cfg.out, f"out (in {config})")
    extract_date = parse_extract_date(extract_date)
    if extract_date is not None:
        from datetime import date

        cfg = cfg.model_copy(update={"extract_date": date.fromisoformat(extract_date)})
    from vaxstudy.engines import BackendUnavailable

    try:
        res = run_batch(cfg)
    except (BackendUnavailable, OSError) as e:
        _fail(e)
    console = Console(stderr=True)
    from rich.markup import escape

    for e in res.failed:
        console.print(f"[red]failed[/] {e.province} {e.period_start}:{e.period_end} — {escape(str(e.stage))}: "
                      f"{escape(str(e.error))}", highlight=False)
    ok = len(res.entries) - len(res.failed)
    console.print(f"{ok}/{len(res.entries)} reports rendered", highlight=False)
    typer.echo(str(res.index_html))
    if res.failed:
        raise typer.Exit(code=1)


def demo(
    data: Path = typer.Option(Path("data/synthetic/nghe_an"), "--data", help="Where the synthetic province lives (generated if absent)."),
    out: Path = typer.Option(Path("reports/demo"), "--out", help="Where to write the demo report."),
    language: str = typer.Option("vi", "--language", help="Report language: vi or en."),
    pdf: bool = typer.Option(False, "--pdf", help=PDF_HELP),
) -> None:
    """Generate the synthetic Nghệ An province (once), run the whole pipeline, print the report's path."""
    from vaxstudy import validate as v
    from vaxstudy.config import DEMO_PERIOD, DEMO_PROVINCE
    from vaxstudy.engines import get_engine
    from vaxstudy.options import EstimateOptions, LinkOptions

    v.typer_check(v.out_dir, out)
    if data.exists() and not data.is_dir():
        raise typer.BadParameter(f"{data} is a file, not a folder", param_hint="--data")

    if not (data / "vaccinations.csv").exists() and not (data / "vaccinations.parquet").exists():
        from vaxstudy.synth import generate

        typer.echo(f"generating the synthetic Nghệ An province in {data} …", err=True)
        generate(data, province=DEMO_PROVINCE, scale=0.02, seed=1, period=DEMO_PERIOD)
    engine = get_engine("duckdb")
    res = _run_one(data, DEMO_PROVINCE, DEMO_PERIOD[0], DEMO_PERIOD[1], out, engine=engine,
                   link=LinkOptions(seed=1), estimate=EstimateOptions(seed=1), language=language)
    if pdf:
        _pdf(res.report_html)
    typer.echo(str(res.report_html.resolve()))
