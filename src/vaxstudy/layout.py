"""Where a run's files go: the shareable report folder and the restricted folder, in one place.

CONTRACT §2 splits a run's outputs in two. The shareable folder is what a user
e-mails (report, metrics, manifest, aggregate annex tables: no name, ID number
or phone ever). Everything holding personal data goes under `restricted/`:

    <out>/<province>_<start>_<end>/              shareable
    <out>/restricted/<province>_<start>_<end>/   record links, quarantine rows, review files,
                                                 worklists, corrections, diagnostics with identifiers
    <out>/restricted/work/<province>.duckdb      the working database of the province (all periods)
    <out>/restricted/work/<province>_link/       the link stage's files for that database

Every command that writes or reads a run's files builds its paths here, from a
validated province code and ISO dates only (never from free user text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

RESTRICTED = "restricted"
WORK = "work"

#: Files of the shareable folder.
REPORT_HTML = "report.html"
REPORT_IPYNB = "report.ipynb"
METRICS = "metrics.json"
MANIFEST = "manifest.json"
#: Files of the restricted folder.
RECORD_LINKS = "record_links.parquet"
QUARANTINE = "quarantine.csv"
RESTRICTED_README = "README.md"

_RUN_NAME = re.compile(r"^(?P<province>\d{2})_(?P<start>\d{4}-\d{2}-\d{2})_(?P<end>\d{4}-\d{2}-\d{2})$")


def run_name(province: str, period_start: str, period_end: str) -> str:
    """`40_2021-03-08_2021-10-31`: the name both folders of a run share."""
    province = str(province).zfill(2)
    if not re.fullmatch(r"\d{2}", province):
        raise ValueError(f"province code must be two digits, not {province!r}")
    start, end = date.fromisoformat(str(period_start)), date.fromisoformat(str(period_end))
    return f"{province}_{start.isoformat()}_{end.isoformat()}"


@dataclass(frozen=True)
class ProvinceLayout:
    """The files of one province under an output folder, shared by all its periods."""

    out: Path
    province: str

    @property
    def restricted_root(self) -> Path:
        return Path(self.out) / RESTRICTED

    @property
    def work(self) -> Path:
        return self.restricted_root / WORK

    @property
    def db(self) -> Path:
        return self.work / f"{self.province}.duckdb"

    @property
    def link_dir(self) -> Path:
        return self.work / f"{self.province}_link"

    def run(self, period_start: str, period_end: str) -> "RunLayout":
        return RunLayout(Path(self.out), self.province, str(period_start), str(period_end))


@dataclass(frozen=True)
class RunLayout(ProvinceLayout):
    """The two folders of one province and period (CONTRACT §2)."""

    period_start: str = ""
    period_end: str = ""

    @property
    def name(self) -> str:
        return run_name(self.province, self.period_start, self.period_end)

    @property
    def shared(self) -> Path:
        """The shareable report folder."""
        return Path(self.out) / self.name

    @property
    def restricted(self) -> Path:
        """The run's restricted folder (personal data)."""
        return self.restricted_root / self.name

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> "RunLayout":
        """The layout of a run from either of its folders (`<out>/<name>` or
        `<out>/restricted/<name>`), as `--run DIR` options give it."""
        run_dir = Path(run_dir)
        m = _RUN_NAME.match(run_dir.name)
        if m is None:
            raise ValueError(f"{run_dir} is not a run folder: its name should look like "
                             "40_2021-03-08_2021-10-31 (province_start_end)")
        out = run_dir.parent.parent if run_dir.parent.name == RESTRICTED else run_dir.parent
        return cls(out, m["province"], m["start"], m["end"])


LINK_SUMMARY = "link_summary.json"


class RunNotFound(FileNotFoundError):
    """A run folder, or the working database it was made from, is not where the layout puts it."""


@dataclass(frozen=True)
class RunFiles:
    """The files of one finished run that later commands (review, worklists) read: the working
    database, and the link summary, metrics and manifest where present (None if not)."""

    layout: RunLayout
    db: Path
    link_summary: Path | None
    metrics: Path | None
    manifest: Path | None


def locate_run(run_dir: str | Path) -> RunFiles:
    """The files of the run named by either of its folders (``--run``). A folder whose name is
    not a run's raises ValueError; a run or database that is not where this layout puts it
    raises :class:`RunNotFound` saying where it looked (runs made before this layout, with the
    database under ``<out>/.work``, must be made again)."""
    lay = RunLayout.from_run_dir(run_dir)
    if not (lay.shared.is_dir() or lay.restricted.is_dir()):
        raise RunNotFound(f"no run {lay.name} under {lay.out}: neither {lay.shared} nor {lay.restricted} "
                          "exists; give the folder `vaxstudy report` wrote")
    if not lay.db.exists():
        raise RunNotFound(f"run {lay.name} has no working database {lay.db}: make the run with "
                          "`vaxstudy report` (a run made before the restricted layout, its database under "
                          f"{Path(lay.out) / '.work'}, is not read)")

    def first(*names_in: Path) -> Path | None:
        return next((p for p in names_in if p.exists()), None)

    return RunFiles(
        layout=lay, db=lay.db,
        link_summary=first(lay.link_dir / LINK_SUMMARY, lay.shared / LINK_SUMMARY, lay.restricted / LINK_SUMMARY),
        metrics=first(lay.shared / METRICS, lay.restricted / METRICS),
        manifest=first(lay.shared / MANIFEST, lay.restricted / MANIFEST),
    )
