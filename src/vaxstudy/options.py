"""The options of a study, as frozen pydantic models (what the CLI, the batch file and a
notebook give :class:`vaxstudy.Study`): one place that says what each option means and
which values it may take.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vaxstudy.config import DEFAULT_SEED, SUPPRESSION_THRESHOLD
from vaxstudy.report.frame import FrameConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def parse_period(period: str) -> tuple[str, str]:
    """'2021-10-01:2021-10-31' -> ('2021-10-01', '2021-10-31'), validated."""
    try:
        a, b = str(period).split(":")
        start, end = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"period must be START:END in ISO dates, not {period!r}") from None
    if end < start:
        raise ValueError(f"period ends before it starts: {period!r}")
    return start.isoformat(), end.isoformat()


def province_code(v: Any) -> str:
    """A GSO province code of the 2021 list ('40'; 40 and ' 40' are accepted): the rule of
    :func:`vaxstudy.validate.province`, which the CLI applies to --province."""
    from vaxstudy.validate import province

    return province(v, "province")


class LinkOptions(BaseModel):
    """How the link stage runs (``vaxstudy.link.link_db``)."""

    model_config = _FROZEN

    model_path: Path | None = None  # a saved link_model.json to reuse (no training)
    seed: int = DEFAULT_SEED
    threshold: float | None = Field(None, gt=0, lt=1)  # None: chosen from the estimated F1 curve
    n_chunks: int = Field(1, ge=1)  # score the pairs in N slices of the registry
    diagnostics: bool = True
    wide: bool = True  # the second, wider pass over the identities left unlinked
    subject_rescue: bool = True
    exclusive: bool = True
    name_sex: bool = False  # correct the Bayes factors for sex-specific names (link/namesex.py; over-corrects)
    # DuckDB's buffer pool in the link; the process peaks ~0.5-1 GB above it (Python, Splink,
    # allocations outside the pool). 4GB keeps a full province's link under 6 GB
    # (docs/performance.md, *Link memory*)
    memory_limit: str = "4GB"
    u_max_pairs: float = Field(2e6, gt=0)
    em_max_pairs: float = Field(3e5, gt=0)
    u_chunks: int = Field(4, ge=1)  # slices the u sample is counted in (link/train.py)
    m_floor: float = Field(1e-4, gt=0)


class EstimateOptions(BaseModel):
    """How the estimate stage runs (``vaxstudy.estimate.estimate_db``)."""

    model_config = _FROZEN

    seed: int = DEFAULT_SEED
    n_boot: int = Field(1000, ge=10)
    link_threshold: float | None = Field(None, gt=0, lt=1)  # None: the link run's (link_run table)
    audit: bool = True
    extract_date: date | None = None  # None: the export's latest entered_date


class ReportParams(BaseModel):
    """The parameters cell of every report notebook (papermill sets them; a test keeps the
    notebooks' cells and this model in step)."""

    model_config = _FROZEN

    data_dir: str
    run_dir: str  # the run's shareable folder
    db_path: str | None = None  # the province's working database (restricted)
    province: str
    period_start: str
    period_end: str
    model_path: str | None = None
    seed: int = DEFAULT_SEED
    language: Literal["vi", "en"] = "vi"
    suppression_threshold: int = Field(SUPPRESSION_THRESHOLD, ge=1)

    _province = field_validator("province", mode="before")(classmethod(lambda cls, v: province_code(v)))

    @field_validator("period_start", "period_end")
    @classmethod
    def _iso(cls, v: str) -> str:
        return date.fromisoformat(str(v)).isoformat()


class ProvinceSpec(BaseModel):
    """One province of a batch: its code, data folder and (optionally) a model to reuse."""

    model_config = _FROZEN

    code: str
    data: Path
    model: Path | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, v: Any) -> str:
        from vaxstudy.validate import province

        return province(v, "code")  # a known GSO code (it names files)


class BatchConfig(BaseModel):
    """A `report-all` YAML file (see :mod:`vaxstudy.report.batch`)."""

    model_config = _FROZEN

    out: Path = Path("reports")
    language: str = "vi"
    seed: int = DEFAULT_SEED
    n_boot: int = Field(1000, ge=10)  # bootstrap replicates of every estimate's intervals
    suppression_threshold: int = SUPPRESSION_THRESHOLD
    model: Path | None = None
    backend: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str | None = None
    chunks: int = Field(1, ge=1)
    # re-report from newer exports: keep each province's database and link only the rows added
    # since its previous link run (vaxstudy link --update), in full where that is refused
    update: bool = False
    extract_date: date | None = None  # the day the exports were taken (default: each one's latest entry)
    frame: FrameConfig = FrameConfig()  # issuer, number, report date, signer of every report (docs/reports.md)
    provinces: tuple[ProvinceSpec, ...]
    periods: tuple[tuple[str, str], ...]

    @model_validator(mode="after")
    def _master_needs_spark(self) -> "BatchConfig":
        if self.spark_master is not None and self.backend != "spark":
            raise ValueError("spark_master needs backend: spark")
        return self

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str) -> str:
        from vaxstudy.report.i18n import check_language

        return check_language(v)

    @field_validator("suppression_threshold")
    @classmethod
    def _k(cls, v: int) -> int:
        if v < 1:
            raise ValueError("suppression_threshold must be at least 1")
        return v

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, v: Any) -> tuple[tuple[str, str], ...]:
        if not isinstance(v, (list, tuple)) or not v:
            raise ValueError("periods must be a non-empty list of START:END")
        out = []
        for p in v:
            if isinstance(p, (list, tuple)) and len(p) == 2:
                p = f"{p[0]}:{p[1]}"
            out.append(parse_period(str(p)))
        return tuple(out)

    @field_validator("provinces")
    @classmethod
    def _nonempty(cls, v: tuple) -> tuple:
        if not v:
            raise ValueError("provinces must not be empty")
        return v
