"""`report-all`: every province × period of a YAML file, then reports/index.html.

```yaml
out: reports                  # relative paths are relative to this file's folder
language: vi                  # vi | en
seed: 1
suppression_threshold: 10
model: null                   # a saved linkage model for every province (optional)
backend: duckdb               # duckdb (default) | spark: the engine of standardise, link and estimate
spark_master: null            # with backend: spark (default: $SPARK_MASTER, else local mode)
chunks: 1                     # score the link in N slices of the registry (vaxstudy link --chunks)
update: false                 # true: a newer export of the same registry links only its new rows
                              # (vaxstudy link --update; a full link where that is refused)
provinces:
  - code: "40"
    data: data/synthetic/nghe_an
    model: null               # per-province model (optional, overrides the one above)
periods:
  - 2021-09-01:2021-09-30
  - 2021-10-01:2021-10-31
```

Each province is ingested, standardised and linked once, then estimated and
rendered for every period (docs/performance.md, *Periodic use*, measures what a further
period costs). With ``update: true`` a province whose working database is already there
(a previous batch into the same ``out``) is re-ingested into it and only the rows added
since its previous link run are linked. A failure (of a province's preparation or of one
period) is recorded with its stage and message and the batch goes on; the
index lists every report with its headline figures, the failures, and a
trend across periods for each province.
"""

from __future__ import annotations

import base64
import html as _html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vaxstudy.options import BatchConfig, ProvinceSpec  # noqa: F401  (their home: vaxstudy.options)


def load_config(path: str | Path) -> BatchConfig:
    """Read a batch YAML; relative paths are taken from the file's folder."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    base = path.resolve().parent

    def rel(p: Any) -> Any:
        if p is None:
            return None
        q = Path(str(p))
        return q if q.is_absolute() else base / q

    raw = dict(raw)
    if "out" in raw:
        raw["out"] = rel(raw["out"])
    else:
        raw["out"] = base / "reports"
    if raw.get("model") is not None:
        raw["model"] = rel(raw["model"])
    provs = []
    for p in raw.get("provinces") or []:
        if isinstance(p, dict):
            p = dict(p)
            if "data" in p:
                p["data"] = rel(p["data"])
            if p.get("model") is not None:
                p["model"] = rel(p["model"])
        provs.append(p)
    raw["provinces"] = provs
    return BatchConfig.model_validate(raw)


@dataclass
class BatchEntry:
    province: str
    period_start: str
    period_end: str
    ok: bool
    run_dir: Path | None = None
    stage: str | None = None
    error: str | None = None
    metrics: dict = field(default_factory=dict)


@dataclass
class BatchResult:
    entries: list[BatchEntry]
    index_html: Path

    @property
    def failed(self) -> list[BatchEntry]:
        return [e for e in self.entries if not e.ok]


_LONG_DIGITS = re.compile(r"\d{8,}")


def clean_error(msg: str, limit: int = 300) -> str:
    """An error message fit for the index: long digit runs (possible IDs, phones) masked, shortened."""
    msg = _LONG_DIGITS.sub("…", " ".join(str(msg).split()))
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


def run_batch(config: BatchConfig, *, progress: bool = True, kernel_name: str | None = None,
              execution_timeout: int | None = None) -> BatchResult:
    """Render every province × period; never stops at a failure. One :class:`vaxstudy.Study`
    per province (ingested, standardised and linked once), one report per period."""
    from vaxstudy.engines import get_engine
    from vaxstudy.options import EstimateOptions, LinkOptions
    from vaxstudy.progress import Progress, StageError
    from vaxstudy.study import Study

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    entries: list[BatchEntry] = []
    # one engine (one Spark session) for the whole batch; BackendUnavailable (no pyspark) raises
    engine = get_engine(config.backend, spark_master=config.spark_master)
    estimate = EstimateOptions(seed=config.seed, n_boot=config.n_boot, extract_date=config.extract_date)
    try:
        for prov in config.provinces:
            title = f"vaxstudy report-all · province {prov.code}"
            with Progress(progress, title) as pr:
                study = Study.in_folder(out, prov.code, engine, progress=pr)
                try:
                    study.prepare(prov.data, LinkOptions(model_path=prov.model or config.model, seed=config.seed,
                                                         n_chunks=config.chunks), update=config.update)
                except StageError as e:
                    for start, end in config.periods:
                        entries.append(BatchEntry(prov.code, start, end, False, stage=e.stage, error=clean_error(e)))
                    continue
                for start, end in config.periods:
                    try:
                        res = study.report(prov.code, (start, end), out, estimate=estimate, language=config.language,
                                           suppression_threshold=config.suppression_threshold,
                                           kernel_name=kernel_name, execution_timeout=execution_timeout,
                                           frame=config.frame)
                        entries.append(BatchEntry(prov.code, start, end, True, run_dir=res.run_dir,
                                                  metrics=res.metrics))
                    except StageError as e:
                        entries.append(BatchEntry(prov.code, start, end, False, stage=e.stage, error=clean_error(e)))
    finally:
        engine.close()
    index = write_index(entries, out, language=config.language)
    return BatchResult(entries=entries, index_html=index)


def write_index(entries: list[BatchEntry], out: str | Path, *, language: str = "vi") -> Path:
    """reports/index.html: one row per report (headline figures, link), failures, a trend per province."""
    from vaxstudy.report import figures as F
    from vaxstudy.report import tables as T
    from vaxstudy.report.i18n import fmt_date, fmt_estimate, fmt_pct, t

    out = Path(out)

    def pname(code: str) -> str:
        try:
            from vaxstudy.geo import province_name

            return f"{province_name(code)} ({code})"
        except ValueError:
            return code

    rows = []
    for e in sorted(entries, key=lambda e: (e.province, e.period_start, e.period_end)):
        m = e.metrics
        period = f"{fmt_date(e.period_start, language)} – {fmt_date(e.period_end, language)}"
        if e.ok:
            href = Path(e.run_dir).name if e.run_dir else ""  # run folders sit beside index.html
            link = f'<a href="{_html.escape(href)}/report.html">{_html.escape(t("index_open", language))}</a>'
            status = f'<span class="ok">{_html.escape(t("index_ok", language))}</span>'
            cells = ["{}<br><small>{}</small>".format(*fmt_estimate(m.get(k), m.get(k + "_ci"), language))
                     for k in ("coverage_dose1", "coverage_dose2")]
            cells += [fmt_pct(m.get(k), language)
                      for k in ("duplicate_dose_rate", "missing_entry_rate", "unlinked_record_rate")]
        else:
            link = ""
            status = (f'<span class="failed">{_html.escape(t("index_failed", language))}</span>'
                      f'<br><small>{_html.escape(e.stage or "")}: {_html.escape(e.error or "")}</small>')
            cells = ["–"] * 5
        rows.append(f"<tr><td>{_html.escape(pname(e.province))}</td><td>{_html.escape(period)}</td>"
                    f"<td class=\"st\">{status}</td>" + "".join(f'<td class="num">{c}</td>' for c in cells)
                    + f"<td>{link}</td></tr>")
    head = [t("index_province", language), t("index_period", language), t("index_status", language),
            t("coverage_dose1", language), t("coverage_dose2", language), t("duplicate_dose_rate", language),
            t("missing_entry_rate", language), t("unlinked_record_rate", language), t("index_report", language)]
    table = ('<table class="vx-table"><thead><tr>' + "".join(f"<th>{_html.escape(h)}</th>" for h in head)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")

    trends = []
    for code in sorted({e.province for e in entries}):
        ok = sorted((e for e in entries if e.province == code and e.ok), key=lambda e: e.period_start)
        if not ok:
            continue
        labels = [fmt_date(e.period_end, language) for e in ok]
        fig = F.trend_chart(labels, {"coverage_dose1": [e.metrics.get("coverage_dose1") for e in ok],
                                     "coverage_dose2": [e.metrics.get("coverage_dose2") for e in ok]},
                            language=language)
        png = base64.b64encode(F.to_png(fig)).decode()
        fig_q = F.trend_chart(labels, {k: [e.metrics.get(k) for e in ok] for k in
                                       ("duplicate_dose_rate", "missing_entry_rate", "unlinked_record_rate")},
                              language=language)
        png_q = base64.b64encode(F.to_png(fig_q)).decode()
        trends.append(f'<div class="trend"><h3>{_html.escape(pname(code))}</h3>'
                      f'<img alt="{_html.escape(t("index_trend", language))} {code}" src="data:image/png;base64,{png}">'
                      f'<img alt="{_html.escape(t("index_trend_quality", language))} {code}" '
                      f'src="data:image/png;base64,{png_q}"></div>')
    n_failed = sum(not e.ok for e in entries)
    doc = f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><title>{_html.escape(t("index_title", language))}</title>
{T.CSS}
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px 32px; color: #1b1f23; }}
.ok {{ color: #1e7b34; font-weight: 600; }} .failed {{ color: #b52a1c; font-weight: 600; }}
td.st small {{ color: #6b3a34; }} .trends {{ display: flex; flex-wrap: wrap; gap: 18px; }}
.trend h3 {{ font-size: 14px; margin: 4px 0; }}
</style></head><body>
<h1 class="vx-title">{_html.escape(t("index_title", language))}</h1>
<p>{len(entries) - n_failed} / {len(entries)} {_html.escape(t("index_ok", language))}{"" if not n_failed else f", {n_failed} {_html.escape(t('index_failed', language))}"}</p>
{table}
<h2>{_html.escape(t("index_trend", language))}</h2>
<div class="trends">{"".join(trends)}</div>
</body></html>
"""
    path = out / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path
