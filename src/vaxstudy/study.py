"""One study of a province's registry, the way Splink's ``Linker`` is one linkage: the object
a notebook user and every command call.

    from vaxstudy import Study, LinkOptions, EstimateOptions

    with Study.in_folder("reports", "40") as study:          # <out>/restricted/work/40.duckdb
        study.ingest("data/synthetic/nghe_an")
        study.standardize()
        study.link(LinkOptions(seed=1))
        metrics = study.estimate("40", ("2021-03-08", "2021-10-31"), EstimateOptions())
        run = study.report("40", ("2021-03-08", "2021-10-31"))   # both folders of the run

Every stage reads and writes the study's DuckDB file; the engine (``'duckdb'``, ``'spark'``
or an engine object) runs standardise, link and the estimate's queries. Files follow
:mod:`vaxstudy.layout`: a report run writes its shareable folder (report, metrics,
manifest, aggregate tables, the link model and summary) and its restricted folder (record
links, quarantined rows, link diagnostics with identifiers), each atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from vaxstudy.contracts import check_db
from vaxstudy.layout import ProvinceLayout, RunLayout
from vaxstudy.options import EstimateOptions, LinkOptions, ReportParams, parse_period, province_code
from vaxstudy.progress import Progress, StageError

__all__ = ["Study", "RunResult", "StageError", "Progress", "ensure_run"]

#: the link stage's files that hold no personal data (checked by the folder's privacy scan)
SHAREABLE_LINK_FILES = ("link_model.json", "link_summary.json", "link_update.json")
TMP_PREFIX = ".tmp-"


@dataclass
class RunResult:
    """Where a report run's files are, and its figures."""

    layout: RunLayout
    metrics: dict
    manifest: dict

    @property
    def run_dir(self) -> Path:
        return self.layout.shared

    @property
    def report_html(self) -> Path:
        return self.layout.shared / "report.html"

    @property
    def report_ipynb(self) -> Path:
        return self.layout.shared / "report.ipynb"


def _period(period: tuple[str, str] | str) -> tuple[str, str]:
    if isinstance(period, str):
        return parse_period(period)
    start, end = period
    return parse_period(f"{start}:{end}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_tmp(folder: Path) -> list[Path]:
    """Remove ``.tmp-*-<pid>-*`` folders left in ``folder`` by a run that was killed (its
    process is gone); a live run's are left alone. Returns what was removed."""
    gone = []
    if not folder.is_dir():
        return gone
    for p in folder.glob(f"{TMP_PREFIX}*"):
        parts = p.name.split("-pid")
        pid = parts[-1].split("-")[0] if len(parts) > 1 else ""
        if p.is_dir() and (not pid.isdigit() or not _pid_alive(int(pid))):
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


def _tmp_dir(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{name}-pid{os.getpid()}-", dir=parent))


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``, replacing a previous ``final`` with two renames."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private
    old = None
    if final.exists():
        old = final.with_name(f"{TMP_PREFIX}old-{final.name}-pid{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _put_entries(tmp: Path, final: Path) -> None:
    """Move each file and folder of ``tmp`` into ``final`` (replacing those of the same name,
    each by a rename), leaving what else ``final`` holds: the review and worklist files
    other commands keep in a run's restricted folder."""
    final.mkdir(parents=True, exist_ok=True)
    for entry in sorted(tmp.iterdir()):
        target = final / entry.name
        if target.is_dir() and not target.is_symlink():
            old = final / f"{TMP_PREFIX}old-{entry.name}-pid{os.getpid()}"
            os.replace(target, old)
            os.replace(entry, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(entry, target)
    tmp.rmdir()


RESTRICTED_README = """# Restricted: personal data

This folder holds record-level data of run `{name}`: {what}.
They contain names, ID numbers, phone numbers or whole registry rows.

Only the people named by the data owner (the provincial CDC's registry team) may receive
this folder; never attach it to an e-mail, a shared drive or a publication. The shareable
report folder is `../../{name}/` (aggregates only).
"""

WORK_README = """# Restricted: personal data

The working databases of this output folder (`<province>.duckdb`: the register, the registry
export, every standardised and linked row), each one's link files (`<province>_link/`) and
its linked rows as Parquet (`<province>_record_links.parquet`, copied into every run) and the
privacy scan's hashed names and numbers (`<province>_identifiers.npz`).
They contain names, ID numbers and phone numbers. Only the registry team the data owner names
may open or receive them; the shareable reports are in `../../`.
"""

RESTRICTED_FILES = {
    "record_links.parquet": "every registry row with the register person it was linked to",
    "quarantine.csv": "every input row that could not be used, whole, with its reason",
    "diagnostics/": "the link stage's clerical-review sample and borderline pairs (with identifiers)",
}


class Study:
    """One province's project database and the engine that works on it."""

    def __init__(self, db: str | Path, engine: Any = "duckdb", *, spark_master: str | None = None,
                 link_dir: str | Path | None = None, out: str | Path | None = None,
                 progress: Progress | None = None, quarantine_path: str | Path | None = None) -> None:
        from vaxstudy.engines import get_engine

        self.db = Path(db)
        self._own_engine = engine is None or isinstance(engine, str)
        self.engine = get_engine(engine, spark_master=spark_master)
        self.link_dir = Path(link_dir) if link_dir else self.db.with_name(f"{self.db.stem}_link")
        self.out = Path(out) if out is not None else None
        self.progress = progress or Progress(False)
        self.timings: dict[str, float] = {}
        self.data_dir: Path | None = None
        self.link_options: LinkOptions | None = None
        self.quarantine_path = (Path(quarantine_path) if quarantine_path is not None
                                else self.db.with_name(f"{self.db.stem}_quarantine.csv"))
        # what every period of a province reads alike, kept between its reports
        self._estimate_memo: dict = {}  # estimate_db's memo: scope check, sites, export date
        self._links_parquet: tuple[str | None, Path] | None = None  # record_links.parquet, once

    @classmethod
    def in_folder(cls, out: str | Path, province: str, engine: Any = "duckdb", **kw: Any) -> "Study":
        """The study of ``province`` under the output folder ``out`` (its working database in
        ``<out>/restricted/work/``, :mod:`vaxstudy.layout`)."""
        lay = ProvinceLayout(Path(out), province_code(province))
        return cls(lay.db, engine, link_dir=lay.link_dir, out=out, **kw)

    # -- context -------------------------------------------------------------------------
    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the engine if the study started it (an engine object is left to its owner)."""
        if self._own_engine:
            self.engine.close()

    def _stage(self, name: str):
        return self.progress.stage(name, self.timings)

    # -- stages ----------------------------------------------------------------------------
    def ingest(self, data_dir: str | Path, *, fresh: bool = True) -> Any:
        """Load the CONTRACT tables of ``data_dir`` into a fresh database (the old one and its
        link files are removed first). If ingest fails, the database it wrote (the register)
        is removed again; the quarantine file stays, for the message that points to it.
        ``fresh=False`` (`vaxstudy ingest`) replaces the raw tables in an existing database
        and leaves the rest of it, and the database, whatever happens."""
        from vaxstudy.ingest import ingest

        data_dir = Path(data_dir)
        with self._stage("ingest") as note:
            if not data_dir.is_dir():
                raise FileNotFoundError(f"data folder {data_dir} does not exist")
            if fresh:
                self._remove_db()
            try:
                res = ingest(data_dir, self.db, quarantine_path=self.quarantine_path, progress=note)
            except BaseException:
                if fresh:
                    self._remove_db()
                raise
        self.data_dir = data_dir
        if self.out is not None:  # the layout's working folder: say what it holds
            self.db.parent.mkdir(parents=True, exist_ok=True)
            (self.db.parent / "README.md").write_text(WORK_README, encoding="utf-8")
        return res

    def _remove_db(self) -> None:
        from vaxstudy.report.identifier_store import path_for

        for p in (self.db, Path(str(self.db) + ".wal"), self.db.with_name(f"{self.db.stem}_record_links.parquet"),
                  path_for(self.db)):
            p.unlink(missing_ok=True)
        if self.link_dir.exists():
            shutil.rmtree(self.link_dir)

    def standardize(self) -> None:
        """population_std / vaccinations_std, on the study's engine."""
        from vaxstudy.report.privacy import store_identifiers

        with self._stage("standardize") as note:
            self.engine.standardize(self.db, progress=note)
            check_db(self.db, "population_std", "vaccinations_std")
            # the privacy scan's identifier set, kept beside the database: every report of
            # these tables loads it (identifier_store) instead of reading them again
            store_identifiers(self.db)

    def link(self, options: LinkOptions | None = None) -> Any:
        """Link every registry row to its register person and deduplicate the rest
        (``record_links`` and the ``link_run`` table; files in the study's link folder)."""
        from vaxstudy.link import link_db
        from vaxstudy.link.update import UPDATE_SUMMARY_FILE, record_inputs

        options = options or LinkOptions()
        with self._stage("link"):
            if options.model_path is not None and not Path(options.model_path).exists():
                raise FileNotFoundError(f"linkage model {options.model_path} does not exist")
            res = link_db(self.db, self.link_dir, options, backend=self.engine)
            check_db(self.db, "record_links", "link_run")
            record_inputs(self.db)  # what a later `link --update` extends
            (self.link_dir / UPDATE_SUMMARY_FILE).unlink(missing_ok=True)  # an earlier update's, now stale
        self.link_options = options
        return res

    def update_link(self, *, full: bool = False) -> Any:
        """Link only the rows added since the previous link run, with its model, priors and
        threshold (:mod:`vaxstudy.link.update`; ``UpdateRefused`` when a full re-link is needed)."""
        from vaxstudy.link.update import update_links

        with self._stage("link"):
            res = update_links(self.db, self.link_dir, full=full, backend=self.engine)
            check_db(self.db, "record_links", "link_run")
        return res

    def prepare(self, data_dir: str | Path, link: LinkOptions | None = None, *, update: bool = False) -> "Study":
        """ingest → standardize → link (what every period of a province shares).

        ``update`` (a province re-reported from a newer export of the same registry): keep the
        database, re-ingest into it and link only the rows added since its previous link run
        (:meth:`update_link`); when that is refused (no previous run, earlier rows changed, …)
        link in full and keep the reason in ``update_refused``."""
        from vaxstudy.link.update import UpdateRefused

        self.update_refused: str | None = None
        if not (update and self.db.exists()):
            self.ingest(data_dir)
            self.standardize()
            self.link(link)
            return self
        self.ingest(data_dir, fresh=False)
        self.standardize()
        try:
            self.update_link()
        except StageError as e:
            if not isinstance(e.cause, UpdateRefused):
                raise
            self.update_refused = str(e.cause)
            self.link(link)
            return self
        # the report's parameters name the model the update reused
        self.link_options = (link or LinkOptions()).model_copy(update={"model_path": self.link_dir / "link_model.json"})
        return self

    def link_run(self) -> Any:
        """The recorded link run (:class:`vaxstudy.link.run.LinkRun`), None if never linked."""
        from vaxstudy.link.run import read_link_run
        from vaxstudy.sql import connect_readonly

        con = connect_readonly(self.db)
        try:
            return read_link_run(con)
        finally:
            con.close()

    def estimate(self, province: str, period: tuple[str, str] | str, options: EstimateOptions | None = None,
                 out_dir: str | Path | None = None) -> dict:
        """The figures of CONTRACT §3 for ``province`` and ``period`` (metrics.json and the
        data-quality tables written into ``out_dir``, default: the run's shareable folder)."""
        from vaxstudy.estimate import estimate_db

        options = options or EstimateOptions()
        start, end = _period(period)
        province = province_code(province)
        if out_dir is None:
            if self.out is None:
                raise ValueError("out_dir is needed for a study not made with Study.in_folder")
            out_dir = RunLayout(self.out, province, start, end).shared
        with self._stage("estimate"):
            check_db(self.db, "record_links")
            return estimate_db(self.db, province, start, end, out_dir, seed=options.seed, n_boot=options.n_boot,
                               link_threshold=options.link_threshold, audit=options.audit,
                               extract_date=options.extract_date, backend=self.engine,
                               memo=self._estimate_memo)

    def report(self, province: str, period: tuple[str, str] | str, out: str | Path | None = None, *,
               estimate: EstimateOptions | None = None, language: str = "vi",
               suppression_threshold: int | None = None, notebook: str | Path | None = None,
               kernel_name: str | None = None, execution_timeout: int | None = None,
               privacy_check: bool = True, parameters: dict | None = None, frame: Any = None) -> RunResult:
        """estimate → render → privacy scan of the whole shareable folder, then both folders
        of the run put in place (each atomically; nothing is left half-written). ``frame``:
        issuer, number, report date, signer (a ``report.frame.FrameConfig`` or its dict),
        resolved into the manifest."""
        from vaxstudy.config import SUPPRESSION_THRESHOLD
        from vaxstudy.report import manifest as mf
        from vaxstudy.report.frame import resolve as resolve_frame
        from vaxstudy.report.i18n import check_language

        estimate = estimate or EstimateOptions()
        start, end = _period(period)
        province = province_code(province)
        out = Path(out if out is not None else self.out if self.out is not None else "reports")
        lay = RunLayout(out, province, start, end)
        language = check_language(language)
        k = int(suppression_threshold or SUPPRESSION_THRESHOLD)
        frame_values = resolve_frame(frame, province, language)
        for folder in (out, lay.restricted_root):
            clean_stale_tmp(folder)
        shared = _tmp_dir(out, lay.name)
        restricted = _tmp_dir(lay.restricted_root, lay.name)
        pool = ThreadPoolExecutor(2)
        kernel = None
        try:
            from vaxstudy.report import privacy
            from vaxstudy.report.render import start_kernel, stop_kernel

            # the notebook's kernel started and its imports done while the estimate runs
            kernel = pool.submit(start_kernel, shared, kernel_name)
            metrics = self.estimate(province, (start, end), estimate, out_dir=shared)
            for f in SHAREABLE_LINK_FILES:
                if (self.link_dir / f).exists():
                    shutil.copy2(self.link_dir / f, shared / f)
            official = Path(self.data_dir or "") / "official_population.csv"  # aggregates: beside the report
            if self.data_dir is not None and official.exists():
                shutil.copy2(official, shared / official.name)
            self._restricted_files(restricted, lay.name)
            lo = self.link_options
            params = {
                "data_dir": str(self.data_dir) if self.data_dir else None, "province": province,
                "period_start": start, "period_end": end,
                "model_path": str(lo.model_path) if lo and lo.model_path else None,
                "model_trained_here": not (lo and lo.model_path), "seed": estimate.seed, "language": language,
                "suppression_threshold": k, "out": str(out), "link_chunks": lo.n_chunks if lo else None,
                "extract_date": metrics.get("extract_date"), **(parameters or {}),
            }
            with self._stage("render"):
                nb = ReportParams(
                    data_dir=str(self.data_dir.resolve()) if self.data_dir else "", run_dir=".",
                    db_path=os.path.relpath(self.db.resolve(), shared.resolve()), province=province,
                    period_start=start, period_end=end,
                    model_path="link_model.json" if (shared / "link_model.json").exists() else None,
                    seed=estimate.seed, language=language, suppression_threshold=k)
                manifest = mf.build_manifest(params, data_dir=self.data_dir, seed=estimate.seed,
                                             timings=self.timings, extra={"backend": self.engine.describe(), "frame": frame_values})
                mf.write_manifest(shared / "manifest.json", manifest)
                km, kernel = kernel.result(), None  # the render shuts it down
                # the privacy scan's identifier set (kept by standardise: checked against the
                # database and loaded, identifier_store) while the kernel runs the notebook,
                # whose process leaves the other core free; ready when the scan needs it
                ids = pool.submit(privacy.identifiers_from_db, self.db) if privacy_check else None
                self._render(nb, shared, notebook, kernel_name, execution_timeout, km)
                if ids is not None:
                    privacy.assert_folder_clean(shared, ids.result())
            # the same manifest (the notebook showed it), with the render's time added
            manifest["timings_seconds"]["render"] = round(self.timings["render"], 3)
            mf.write_manifest(shared / "manifest.json", manifest)
            _put_entries(restricted, lay.restricted)
            _replace_dir(shared, lay.shared)
        except BaseException:
            shutil.rmtree(shared, ignore_errors=True)
            shutil.rmtree(restricted, ignore_errors=True)
            raise
        finally:
            if kernel is not None:  # started, never used (the run stopped before the render)
                stop_kernel(kernel.result())
            pool.shutdown(wait=True, cancel_futures=True)
        return RunResult(layout=lay, metrics=metrics, manifest=manifest)

    def _restricted_files(self, folder: Path, name: str) -> None:
        """record_links.parquet, quarantine.csv, the link diagnostics and a README into the
        run's restricted folder."""
        from vaxstudy.sql import connect_readonly, copy_to_parquet, file_key

        con = connect_readonly(self.db)
        try:
            key = file_key(con)
            cached = self._links_parquet
            if key is None or cached is None or cached[0] != key or not cached[1].exists():
                # written once per state of the database, next to it (restricted); each
                # period's run gets a copy
                path = self.db.with_name(f"{self.db.stem}_record_links.parquet")
                copy_to_parquet(con, "SELECT * FROM record_links ORDER BY rowid", path)
                self._links_parquet = cached = (key, path)
        finally:
            con.close()
        shutil.copy2(cached[1], folder / "record_links.parquet")
        if self.quarantine_path.exists():
            shutil.copy2(self.quarantine_path, folder / "quarantine.csv")
        if (self.link_dir / "diagnostics").is_dir():
            shutil.copytree(self.link_dir / "diagnostics", folder / "diagnostics")
        what = "; ".join(f"`{f}`: {d}" for f, d in RESTRICTED_FILES.items() if (folder / f.rstrip("/")).exists())
        (folder / "README.md").write_text(RESTRICTED_README.format(name=name, what=what), encoding="utf-8")

    def _render(self, nb: ReportParams, folder: Path, notebook: str | Path | None, kernel_name: str | None,
                execution_timeout: int | None, km: Any = None) -> None:
        from vaxstudy.geo import province_name
        from vaxstudy.report.i18n import t
        from vaxstudy.report.render import DEFAULT_TIMEOUT, REPORT_NOTEBOOK, render

        try:
            pname = province_name(nb.province)
        except ValueError:
            pname = nb.province
        render(nb.model_dump(), folder, notebook=notebook or REPORT_NOTEBOOK,
               title=t("report_title", nb.language, province=pname), kernel_name=kernel_name,
               execution_timeout=execution_timeout or DEFAULT_TIMEOUT, km=km)


def ensure_run(params: ReportParams, *, link: LinkOptions | None = None,
               note: Callable[[str], None] | None = None) -> Path:
    """For a notebook opened by hand: build the run's estimate if it is missing (never when
    ``vaxstudy report`` renders the notebook: then metrics.json and the database exist)."""
    if params.db_path is None:
        raise ValueError("set db_path in the parameters cell (the run's working database)")
    run_dir, db = Path(params.run_dir), Path(params.db_path)
    if (run_dir / "metrics.json").exists() and db.exists():
        return run_dir
    if not Path(params.data_dir).is_dir():
        raise FileNotFoundError(
            f"{run_dir} has no outputs and the data folder {params.data_dir} does not exist: run `make demo` "
            "(or set data_dir, run_dir and db_path in the parameters cell)")
    if note:
        note(f"building {run_dir} from {params.data_dir}")
    with Study(db, link_dir=db.with_name(f"{db.stem}_link")) as study:
        study.prepare(params.data_dir, link or LinkOptions(
            seed=params.seed, model_path=Path(params.model_path) if params.model_path else None))
        study.estimate(params.province, (params.period_start, params.period_end),
                       EstimateOptions(seed=params.seed), out_dir=run_dir)
    return run_dir
