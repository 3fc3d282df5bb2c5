"""The sections of the provincial report, as lists of displayable objects.

The report notebook holds parameters and one call per section
(`rep.show("coverage_district")`); everything a section computes, suppresses,
formats and draws is here and in the sections_* modules the Report is made of
(coverage, entry, quality, back matter), where tests reach it. Sections return IPython
display objects (HTML, Markdown, PNG images) so they also work outside a
kernel (`Report.html()`).
"""

from __future__ import annotations

import html as _html
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from IPython.display import HTML, Image, Markdown

from vaxstudy.config import SUPPRESSION_THRESHOLD
from vaxstudy.report import aggregates
from vaxstudy.report import data as rdata
from vaxstudy.report import tables as T
from vaxstudy.report.i18n import check_language, fmt_date, fmt_estimate, fmt_int, fmt_number, fmt_pct, t
from vaxstudy.report.sections_back import BackMatterSections
from vaxstudy.report.sections_coverage import CoverageSections
from vaxstudy.report.sections_entry import EntryGapSections
from vaxstudy.report.sections_quality import (LinkageQualitySections, _district_names, _province_name,
                                              _sort_name, heading, keep_together)
from vaxstudy.report.suppress import MARK, primary_mask, suppress_counts, suppress_rates

SECTIONS = (
    "summary",
    "coverage_district",
    "coverage_age_sex",
    "entry_gap",
    "duplicates",
    "linkage",
    "quality",
    "methods",
    "manifest",
)
HEADLINE_RATES = (
    "coverage_dose1",
    "coverage_dose2",
    "coverage_dose1_recorded",
    "coverage_dose2_recorded",
    "duplicate_subject_rate",
    "duplicate_dose_rate",
    "unlinked_record_rate",
    "missing_entry_rate",
    "late_entry_rate",
    "never_entered_rate",
)

@dataclass
class Report(CoverageSections, EntryGapSections, LinkageQualitySections, BackMatterSections):
    """One provincial report: parameters, the run's metrics and aggregate tables (``run_dir``);
    ``db_path`` is not read here (the notebook's ``ensure_run`` builds a missing run from it)."""

    run_dir: str | Path = "."
    db_path: str | Path | None = None
    province: str = "40"
    period_start: str = "2021-03-08"
    period_end: str = "2021-10-31"
    language: str = "vi"
    suppression_threshold: int = SUPPRESSION_THRESHOLD
    model_path: str | Path | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.language = check_language(self.language)
        self.province = str(self.province).zfill(2)
        self.run_dir = Path(self.run_dir)
        self.metrics = rdata.load_metrics(self.run_dir)
        self.k = int(self.suppression_threshold)
        self._tables: dict[str, pd.DataFrame] = {}  # every table shown, for the annex
        self._counter: dict[str, int] = {}
        self._current = "title"

    # -- data: the aggregate tables the estimate wrote (report/aggregates.py) -------------
    def _agg(self, name: str) -> pd.DataFrame | None:
        if name not in self._cache:
            self._cache[name] = aggregates.read(self.run_dir, name)
        return self._cache[name]

    @property
    def adults(self) -> pd.DataFrame | None:
        return self._agg("adults")

    @property
    def weekly(self) -> pd.DataFrame | None:
        return self._agg("weekly_entry_gap")

    @property
    def sites(self) -> pd.DataFrame | None:
        return self._agg("sites")

    @property
    def probability_bands(self) -> pd.DataFrame | None:
        return self._agg("probability_bands")

    @property
    def basis(self) -> pd.DataFrame | None:
        return self._agg("link_basis")

    @property
    def weekly_coverage(self) -> pd.DataFrame | None:
        return self._agg("weekly_coverage")

    @property
    def quarantine(self) -> pd.DataFrame | None:
        return self._agg("quarantine")

    def _t(self, key: str, **kw) -> str:
        return t(key, self.language, **kw)

    def _pct(self, v) -> str:
        return fmt_pct(v, self.language)

    def _est(self, key: str, m: dict | None = None) -> tuple[str, str]:
        """(point, interval) texts of metric ``key`` (i18n.fmt_estimate: the point is never
        printed as an end it is not, however narrow the interval)."""
        m = self.metrics if m is None else m
        return fmt_estimate(m.get(key), m.get(key + "_ci"), self.language)

    def _count(self, n) -> str:
        """A headline count, suppressed when small."""
        if n is None:
            return "–"
        return MARK if primary_mask([n], self.k)[0] else fmt_int(n, self.language)

    def _table(self, tab: pd.DataFrame, **kw) -> HTML:
        """A table as HTML, registered for the annex (tables.xlsx, tables/*.csv) exactly as shown."""
        self._counter[self._current] = self._counter.get(self._current, 0) + 1
        key = f"{self._current}_{self._counter[self._current]}"
        self._tables[key] = tab
        return HTML(T.to_html(tab, **kw))

    def _note(self) -> HTML:
        return HTML(f'<p class="vx-note">{_html.escape(self._t("suppressed_note", mark=MARK, k=self.k))}</p>')

    # -- sections --------------------------------------------------------------
    @property
    def frame(self) -> dict:
        """Issuer, number, report date, signer: the run manifest's `frame`, else the defaults."""
        if "frame" not in self._cache:
            from vaxstudy.report.frame import resolve

            man = self.run_dir / "manifest.json"
            stored = json.loads(man.read_text(encoding="utf-8")).get("frame") if man.exists() else None
            self._cache["frame"] = stored or resolve(None, self.province, self.language)
        return self._cache["frame"]

    def _date(self, d) -> str:
        return fmt_date(d, self.language)

    def _basis(self, kind: str) -> HTML:
        """The time basis of a section's figures: cumulative to the period end, or the period only."""
        text = self._t(f"basis_{kind}", start=self._date(self.period_start), end=self._date(self.period_end))
        return HTML(f'<p class="vx-basis">{_html.escape(text)}</p>')

    def title(self) -> list:
        name = _province_name(self.province)
        f = self.frame
        e = _html.escape
        rd = pd.Timestamp(f["report_date"])
        dated = self._t("frame_dated", place=f["place"], d=f"{rd.day:02d}", m=f"{rd.month:02d}", y=rd.year,
                        date=self._date(f["report_date"]))
        number = f.get("report_number") or "\u2026\u2026\u2026"
        header = (
            '<table class="vx-frame"><tr>'
            f'<td><div>{e(f["parent"])}</div><div class="b">{e(f["issuer"].upper())}</div>'
            f'<div class="rule"></div><div>{e(self._t("frame_number", number=number))}</div></td>'
            f'<td><div class="b">{e(self._t("frame_nation"))}</div><div class="b u">{e(self._t("frame_motto"))}</div>'
            f'<div class="rule"></div><div class="i">{e(dated)}</div></td>'
            '</tr></table>')
        period = self._t("frame_period_value", start=self._date(self.period_start), end=self._date(self.period_end))
        extract = self.metrics.get("extract_date") or f.get("extract_date")
        info = [(self._t("frame_issuer"), f["issuer"]), (self._t("frame_period"), period),
                (self._t("frame_extract"), self._date(extract) if extract else "–"),
                (self._t("frame_report_date"), self._date(f["report_date"]))]
        rows = "".join(f'<tr><th>{e(k)}</th><td>{e(v)}</td></tr>' for k, v in info)
        rows += (f'<tr><th>{e(self._t("annex_label"))}</th><td><a href="tables.xlsx">tables.xlsx</a> · '
                 f'<a href="tables/">tables/</a></td></tr>')
        toc = "".join(f'<li><a href="#sec-{sec}">{e(self._t("sec_" + sec))}</a></li>' for sec in SECTIONS)
        return [
            HTML(T.CSS),
            HTML(header
                 + f'<h1 class="vx-title">{e(self._t("report_title", province=name))}</h1>'
                 + f'<table class="vx-info">{rows}</table>'
                 + f'<p class="vx-class">{e(self._t("frame_classification", k=self.k))}</p>'
                 + f'<nav class="vx-toc"><div class="b">{e(self._t("toc"))}</div><ol>{toc}</ol></nav>'),
        ]

    def signature(self) -> HTML:
        """Distribution list and the signer's block, as an official letter ends."""
        f = self.frame
        e = _html.escape
        rec = "".join(f"<li>{e(r)}</li>" for r in f.get("recipients") or []) + f"<li>{e(self._t('sign_archive'))}</li>"
        return HTML(
            '<table class="vx-sign"><tr>'
            f'<td><div class="b i">{e(self._t("sign_recipients"))}</div><ul>{rec}</ul></td>'
            f'<td><div class="b">{e(f["signer_title"].upper())}</div><div class="i">{e(self._t("sign_stamp"))}</div>'
            f'<div class="space"></div><div class="b">{e(f.get("signer_name") or "")}</div></td>'
            '</tr></table>')

    def summary(self) -> list:
        m = self.metrics
        cards = []
        for key in ("coverage_dose1", "coverage_dose2", "duplicate_dose_rate", "missing_entry_rate"):
            v, ci = self._est(key)
            cards.append(
                f'<div class="vx-card"><div class="l">{_html.escape(self._t(key))}</div>'
                f'<div class="v">{v}</div>'
                f'<div class="ci">{_html.escape(self._t("col_interval"))}: {ci}</div></div>'
            )
        words = [
            self._t("summary_time", start=self._date(self.period_start), end=self._date(self.period_end)),
            self._t("summary_coverage", **dict(zip(("d1", "d1ci"), self._est("coverage_dose1"))),
                    **dict(zip(("d2", "d2ci"), self._est("coverage_dose2"))),
                    r1=self._pct(m.get("coverage_dose1_recorded")), r2=self._pct(m.get("coverage_dose2_recorded"))),
            self._t("summary_records", n_records=self._count(m.get("n_records")),
                    n_subjects=self._count(m.get("n_subjects")), n_persons=self._count(m.get("n_persons_est"))),
            self._t("summary_quality", dup_subj=self._pct(m.get("duplicate_subject_rate")),
                    dup_dose=self._pct(m.get("duplicate_dose_rate")), unlinked=self._pct(m.get("unlinked_record_rate")),
                    missing=self._pct(m.get("missing_entry_rate"))),
        ]
        if self._unlinked_split():
            words.append(self._unlinked_split())
        if self._entry_split():
            words.append(self._entry_split())
        if m.get("coverage_dose1") is not None and m.get("coverage_dose1_recorded") is not None:
            gap = (m["coverage_dose1"] - m["coverage_dose1_recorded"]) * 100
            words.append(self._t("summary_gap", gap=fmt_number(gap, self.language, 1)))
        keys = [k for k in HEADLINE_RATES if m.get(k) is not None]
        est = [self._est(k) for k in keys]
        rows = pd.DataFrame({
            "metric": [self._t(k) for k in keys],
            "value": [v for v, _ in est],
            "ci": [ci for _, ci in est],
        })
        rows.columns = [self._t("col_metric"), self._t("col_value"), self._t("col_interval")]
        return [
            heading("summary", self.language),
            HTML('<div class="vx-headline">' + "".join(cards) + "</div>"),
            Markdown("\n\n".join(words)),
            self._table(rows),
            self._note(),
        ]

    def _unlinked_split(self) -> str:
        """The records not found in the register split: persons in the register whose entry has
        no date of birth (to complete, not create) and the rest; '' when there are none."""
        u = self.metrics.get("unlinked_records") or {}
        inc, rest = u.get("in_register_incomplete_entry"), u.get("not_in_register")
        if not u or inc == 0:
            return ""
        hidden = self._t("suppressed", k=self.k)  # suppressed with its complement (metrics.json)
        return self._t("summary_unlinked_split", n_unlinked=self._count(u.get("n_unlinked_records")),
                       incomplete=hidden if inc is None else self._count(inc),
                       not_in=hidden if rest is None else self._count(rest))

    def _district_record_rates(self) -> list:
        groups = self.metrics.get("by_district") or {}
        names = _district_names(self.province)
        rows = []
        for g, v in sorted(groups.items(), key=lambda gv: _sort_name(names.get(gv[0], gv[0]))):
            rows.append({"label": names.get(g, g), "n_records": v.get("n_records"),
                         "duplicate_dose_rate": v.get("duplicate_dose_rate"),
                         "duplicate_subject_rate": v.get("duplicate_subject_rate"),
                         "unlinked_record_rate": v.get("unlinked_record_rate"),
                         "missing_entry_rate": v.get("missing_entry_rate")})
        df = pd.DataFrame(rows)
        if df.empty or df["n_records"].isna().all():
            return []
        rates = ["duplicate_dose_rate", "duplicate_subject_rate", "unlinked_record_rate", "missing_entry_rate"]
        for c in rates:
            df[c] = df[c].astype(float)
        df["n_records"] = df["n_records"].fillna(0).astype(float)
        sup = suppress_rates(df, rates, "n_records", self.k)
        ns = suppress_counts(df, ["n_records"], self.k)
        mask = sup.mask.join(ns.mask)
        tab = T.format_table(
            df, {"label": T.text(), "n_records": T.count(self.language),
                 **{c: T.pct(self.language) for c in rates}},
            mask=mask,
            headers={"label": self._t("col_district"), "n_records": self._t("col_records"),
                     **{c: self._t(c) for c in rates}})
        return [self._table(tab)]

    def section(self, name: str) -> list:
        if name not in SECTIONS and name != "title":
            raise KeyError(f"unknown section {name!r}; one of {SECTIONS}")
        self._current = name
        self._counter[name] = 0
        for key in [k for k in self._tables if k.rsplit("_", 1)[0] == name]:
            del self._tables[key]
        return keep_together(getattr(self, name)())

    def show(self, name: str) -> None:
        from IPython.display import display

        display(*self.section(name))

    def html(self) -> str:
        """All sections as one HTML fragment (without a kernel)."""
        import base64

        parts: list[str] = []
        for name in ("title",) + SECTIONS:
            for obj in self.section(name):
                if isinstance(obj, Image):
                    parts.append('<img src="data:image/png;base64,' + base64.b64encode(obj.data).decode() + '">')
                elif isinstance(obj, Markdown):
                    parts.append("<div>" + _html.escape(obj.data) + "</div>")
                else:
                    parts.append(obj.data)
        return "\n".join(parts)


def section_ids() -> list[str]:
    return [f"sec-{s}" for s in SECTIONS]

