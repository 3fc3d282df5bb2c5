"""The whole pipeline for one province and period: ingest → standardise → link → estimate → render.

Outputs go to a temporary folder beside the final one and are moved into
place only when everything, including the privacy scan of the rendered
report, succeeded: a failed run never leaves a half-written report where a
good one was. A failure raises `PipelineError` naming the stage (and, for
the render stage, the notebook cell).

Layout under `out`:

    <out>/<province>_<start>_<end>/   record_links.parquet, metrics.json, report.ipynb,
                                      report.html, quarantine.csv, manifest.json,
                                      link_model.json, link_summary.json, data_quality/
    <out>/.work/<province>.duckdb     the working database (holds personal data; never published)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

from vaxstudy.config import DEFAULT_SEED, SUPPRESSION_THRESHOLD

STAGES = ("ingest", "standardize", "link", "estimate", "render")
WORK_DIR = ".work"
LINK_FILES = ("record_links.parquet", "link_model.json", "link_summary.json")


class PipelineError(RuntimeError):
    """A stage failed; `stage` names it and the message says why."""

    def __init__(self, stage: str, cause: BaseException | str) -> None:
        self.stage = stage
        self.cause = cause
        why = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(cause)
        super().__init__(f"stage '{stage}' failed: {why}")


def parse_period(period: str) -> tuple[str, str]:
    """'2021-10-01:2021-10-31' -> ('2021-10-01', '2021-10-31'), validated."""
    try:
        a, b = period.split(":")
        start, end = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"period must be START:END in ISO dates, not {period!r}") from None
    if end < start:
        raise ValueError(f"period ends before it starts: {period!r}")
    return start.isoformat(), end.isoformat()


def run_name(province: str, period_start: str, period_end: str) -> str:
    return f"{str(province).zfill(2)}_{period_start}_{period_end}"


# -- progress ------------------------------------------------------------------------
class Progress:
    """Per-stage progress: a rich live display, or nothing."""

    def __init__(self, enabled: bool = True, title: str = "") -> None:
        self.enabled = enabled
        self.title = title
        self._progress = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = RichProgress(SpinnerColumn(), TextColumn("{task.description}"),
                                          TimeElapsedColumn(), console=Console(stderr=True),
                                          transient=False)
            self._progress.__enter__()
            if self.title:
                self._progress.console.print(self.title)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    @contextlib.contextmanager
    def stage(self, name: str, timings: dict[str, float]) -> Iterator[Callable[[str], None]]:
        t0 = time.perf_counter()
        task = None
        if self._progress is not None:
            task = self._progress.add_task(f"{name} …", total=1)

        def note(msg: str) -> None:
            if task is not None:
                self._progress.update(task, description=f"{name} … {msg}")

        try:
            yield note
        except PipelineError:
            raise
        except Exception as e:  # re-raised with the stage named (KeyboardInterrupt passes through)
            if task is not None:
                self._progress.update(task, description=f"[red]{name} failed[/red]")
            raise PipelineError(name, e) from e
        finally:
            timings[name] = time.perf_counter() - t0
        if task is not None:
            self._progress.update(task, completed=1,
                                  description=f"[green]{name}[/green] ({timings[name]:.1f} s)")


# -- stages ----------------------------------------------------------------------------
@dataclass
class Prepared:
    """A province's data ingested, standardised and linked (shared by its periods)."""

    data_dir: Path
    province: str
    db_path: Path
    link_dir: Path
    quarantine_path: Path
    model_path: Path | None
    seed: int
    timings: dict[str, float] = field(default_factory=dict)
    model_in: Path | None = None  # the saved model reused (None: trained on this data)
    backend: dict | None = None  # the engine that standardised and linked (Backend.describe())
    engine: Any = None  # that engine (a vaxstudy.engines.Engine): the periods' estimates run on it too
    n_chunks: int = 1  # slices of the registry the link scored in (link_db n_chunks)


@dataclass
class RunResult:
    run_dir: Path
    report_html: Path
    report_ipynb: Path
    metrics: dict
    manifest: dict


def prepare(data_dir: str | Path, province: str, work_dir: str | Path, *, model_path: str | Path | None = None,
            seed: int = DEFAULT_SEED, progress: Progress | None = None, backend: Any = None,
            n_chunks: int = 1) -> Prepared:
    """ingest → standardize → link into `work_dir/<province>.duckdb` (rebuilt from scratch).

    `backend` (vaxstudy.engines: 'duckdb' default, 'spark', or a backend object) runs
    standardisation and the Splink model (and, through `Prepared.engine`, the estimates);
    `n_chunks` > 1 scores the link in that many slices of the registry (`link_db`)."""
    from vaxstudy.engines import get_engine
    from vaxstudy.ingest import ingest
    from vaxstudy.link import link_db

    backend = get_engine(backend)

    progress = progress or Progress(False)
    data_dir = Path(data_dir)
    province = str(province).zfill(2)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"{province}.duckdb"
    link_dir = work / f"{province}_link"
    quarantine = work / f"{province}_quarantine.csv"
    timings: dict[str, float] = {}
    with progress.stage("ingest", timings) as note:
        if not data_dir.is_dir():
            raise FileNotFoundError(f"data folder {data_dir} does not exist")
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        if link_dir.exists():
            shutil.rmtree(link_dir)
        ingest(data_dir, db, quarantine_path=quarantine, progress=note)
    with progress.stage("standardize", timings) as note:
        backend.standardize(db, progress=note)
    with progress.stage("link", timings):
        if model_path is not None and not Path(model_path).exists():
            raise FileNotFoundError(f"linkage model {model_path} does not exist")
        res = link_db(db, link_dir, model_path=model_path, seed=seed, backend=backend, n_chunks=n_chunks)
    return Prepared(data_dir=data_dir, province=province, db_path=db, link_dir=link_dir,
                    quarantine_path=quarantine, model_path=Path(res.model_path) if res.model_path else None,
                    seed=seed, timings=timings, model_in=Path(model_path) if model_path else None,
                    backend=backend.describe(), engine=backend, n_chunks=int(n_chunks))


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move `tmp` to `final`, replacing a previous `final` with two renames."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def render_period(prepared: Prepared, period_start: str, period_end: str, out: str | Path, *,
                  language: str = "vi", suppression_threshold: int = SUPPRESSION_THRESHOLD,
                  progress: Progress | None = None, kernel_name: str | None = None,
                  execution_timeout: int | None = None, notebook: str | Path | None = None,
                  parameters: dict | None = None, privacy_check: bool = True, backend: Any = None,
                  extract_date: str | None = None, frame: Any = None) -> RunResult:
    """estimate → render → privacy scan for one period, into `<out>/<name>/` atomically.

    The estimate runs on `backend`, else on the engine that prepared the province
    (`prepared.engine`), else on DuckDB. `extract_date`: the day the export was taken
    (default: its latest entered_date); rows entered after it are left out. `frame`: issuer,
    number, report date, signer (a `report.frame.FrameConfig` or its dict), resolved into the manifest."""
    from vaxstudy.estimate import estimate_db
    from vaxstudy.report import manifest as mf
    from vaxstudy.report import privacy
    from vaxstudy.report.frame import resolve as resolve_frame
    from vaxstudy.report.i18n import check_language, t
    from vaxstudy.report.render import DEFAULT_TIMEOUT, REPORT_NOTEBOOK, render

    progress = progress or Progress(False)
    language = check_language(language)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = run_name(prepared.province, period_start, period_end)
    final = out / name
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=out))
    timings = dict(prepared.timings)
    frame_values = resolve_frame(frame, prepared.province, language)
    try:
        with progress.stage("estimate", timings):
            # the link stage's files beside the report (its model weights are shown); the
            # estimate reads the threshold from the link_run table, not from these
            for f in LINK_FILES:
                if (prepared.link_dir / f).exists():
                    shutil.copy2(prepared.link_dir / f, tmp / f)
            metrics = estimate_db(prepared.db_path, prepared.province, period_start, period_end, tmp,
                                  seed=prepared.seed, extract_date=extract_date,
                                  backend=backend if backend is not None else prepared.engine)
            if prepared.quarantine_path.exists():
                shutil.copy2(prepared.quarantine_path, tmp / "quarantine.csv")
            official = Path(prepared.data_dir) / "official_population.csv"  # aggregates: beside the report
            if official.exists():
                shutil.copy2(official, tmp / official.name)
        params = {
            "data_dir": str(prepared.data_dir),
            "province": prepared.province,
            "period_start": period_start,
            "period_end": period_end,
            "model_path": str(prepared.model_in) if prepared.model_in else None,
            "model_trained_here": prepared.model_in is None,
            "seed": prepared.seed,
            "language": language,
            "suppression_threshold": int(suppression_threshold),
            "out": str(out),
            "link_chunks": int(prepared.n_chunks),
            "extract_date": metrics.get("extract_date"),
            **(parameters or {}),
        }
        manifest = mf.build_manifest(params, data_dir=prepared.data_dir, seed=prepared.seed, timings=timings,
                                     extra={"backend": prepared.backend, "frame": frame_values})
        mf.write_manifest(tmp / "manifest.json", manifest)
        with progress.stage("render", timings):
            nb_params = {
                "data_dir": str(prepared.data_dir.resolve()),
                "run_dir": ".",
                "db_path": os.path.relpath(prepared.db_path.resolve(), tmp.resolve()),
                "province": prepared.province,
                "period_start": period_start,
                "period_end": period_end,
                "model_path": "link_model.json" if (tmp / "link_model.json").exists() else None,
                "seed": prepared.seed,
                "language": language,
                "suppression_threshold": int(suppression_threshold),
            }
            from vaxstudy.geo import province_name

            try:
                pname = province_name(prepared.province)
            except ValueError:
                pname = prepared.province
            res = render(nb_params, tmp, notebook=notebook or REPORT_NOTEBOOK,
                         title=t("report_title", language, province=pname), kernel_name=kernel_name,
                         execution_timeout=execution_timeout or DEFAULT_TIMEOUT)
            if privacy_check:
                annex = sorted((tmp / "tables").glob("*.csv"))  # the annex holds what the report shows
                privacy.assert_clean([res.html, res.ipynb, *annex], privacy.identifiers_from_db(prepared.db_path))
        manifest = mf.build_manifest(params, data_dir=prepared.data_dir, seed=prepared.seed, timings=timings,
                                     extra={"backend": prepared.backend, "frame": frame_values})
        mf.write_manifest(tmp / "manifest.json", manifest)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private
        _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RunResult(run_dir=final, report_html=final / "report.html", report_ipynb=final / "report.ipynb",
                     metrics=metrics, manifest=manifest)


def run_report(data_dir: str | Path, province: str, period_start: str, period_end: str, out: str | Path, *,
               model_path: str | Path | None = None, language: str = "vi", seed: int = DEFAULT_SEED,
               suppression_threshold: int = SUPPRESSION_THRESHOLD, progress: bool = True,
               kernel_name: str | None = None, execution_timeout: int | None = None,
               backend: Any = None, n_chunks: int = 1, extract_date: str | None = None,
               frame: Any = None) -> RunResult:
    """The whole pipeline for one province and period; returns where the report is.

    `backend` runs standardise, link and estimate; `n_chunks` > 1 scores the link in slices."""
    out = Path(out)
    title = f"vaxstudy report · province {str(province).zfill(2)} · {period_start} → {period_end}"
    with Progress(progress, title) as pr:
        prepared = prepare(data_dir, province, out / WORK_DIR, model_path=model_path, seed=seed, progress=pr,
                           backend=backend, n_chunks=n_chunks)
        return render_period(prepared, period_start, period_end, out, language=language,
                             suppression_threshold=suppression_threshold, progress=pr,
                             kernel_name=kernel_name, execution_timeout=execution_timeout,
                             extract_date=extract_date, frame=frame)


def ensure_run(*, data_dir: str | Path, run_dir: str | Path, db_path: str | Path, province: str,
               period_start: str, period_end: str, model_path: str | Path | None = None,
               seed: int = DEFAULT_SEED) -> Path:
    """For notebooks opened by hand: build the run's outputs if they are missing.

    Does nothing when `run_dir/metrics.json` and `db_path` exist (always the
    case when `vaxstudy report` renders the notebook).
    """
    run_dir, db = Path(run_dir), Path(db_path)
    if (run_dir / "metrics.json").exists() and db.exists():
        return run_dir
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(
            f"{run_dir} has no outputs and the data folder {data_dir} does not exist: run `make demo` "
            "(or set data_dir, run_dir and db_path in the parameters cell)")
    from vaxstudy.estimate import estimate_db
    from vaxstudy.ingest import ingest
    from vaxstudy.link import link_db
    from vaxstudy.standardize import standardize_db

    run_dir.mkdir(parents=True, exist_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    ingest(data_dir, db, quarantine_path=run_dir / "quarantine.csv")
    standardize_db(db)
    link_db(db, run_dir, model_path=model_path, seed=seed)
    estimate_db(db, province, period_start, period_end, run_dir, seed=seed)
    return run_dir
