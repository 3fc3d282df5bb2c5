"""The administrative frame of a report: issuing unit, number, report date, signature.

A province issues the report as an official document, so it carries who issues
it, its number and date, the data extract date, the period, a line saying it
holds aggregate data only, and a signature block. The values come from
`report.yaml` (`--frame`) and/or CLI options; they are resolved once, with
defaults, into the run's manifest.json (`frame`), where the report reads them:
the report date is fixed there, so re-rendering leaves figures byte-identical.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict


class FrameConfig(BaseModel):
    """What `report.yaml` may hold (every key optional; unknown keys are refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str | None = None  # default "Sở Y tế tỉnh <province>" / "<province> Department of Health"
    parent: str | None = None  # the line above the issuer, e.g. "UBND TỈNH NGHỆ AN"
    report_number: str | None = None  # e.g. "125/BC-SYT"
    report_date: _dt.date | None = None  # default: the day the report is made
    place: str | None = None  # where it is signed (default: the province's name)
    signer_title: str | None = None  # default "Giám đốc" / "Director"
    signer_name: str | None = None
    recipients: tuple[str, ...] = ()  # "Nơi nhận"


def load_frame(path: str | Path | None) -> FrameConfig:
    """FrameConfig of a `report.yaml` (an empty one without a file)."""
    if path is None:
        return FrameConfig()
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such frame file (report.yaml)")
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{p}: expected a mapping of frame keys (issuer, report_number, report_date, ...)")
    return FrameConfig(**doc)


def resolve(frame: FrameConfig | dict | None, province: str, language: str, *,
            today: _dt.date | None = None) -> dict[str, Any]:
    """The frame with its defaults filled in, as stored in manifest.json."""
    from vaxstudy.report.i18n import t

    f = frame if isinstance(frame, FrameConfig) else FrameConfig(**(frame or {}))
    try:
        from vaxstudy.geo import province_name

        pname = province_name(province)
    except ValueError:
        pname = str(province)
    return {
        "issuer": f.issuer or t("frame_issuer_default", language, province=pname),
        "parent": f.parent or t("frame_parent_default", language, province=pname.upper()),
        "report_number": f.report_number,
        "report_date": (f.report_date or today or _dt.date.today()).isoformat(),
        "place": f.place or pname,
        "signer_title": f.signer_title or t("frame_signer_default", language),
        "signer_name": f.signer_name,
        "recipients": list(f.recipients),
    }
