"""The report's missing-entry section: doses tallied on paper against doses entered, and the
missing ones split into not yet entered and never entered (a part of
:class:`vaxstudy.report.sections.Report`)."""

from __future__ import annotations

from IPython.display import Markdown

from vaxstudy.report import figures as F
from vaxstudy.report.i18n import fmt_date
from vaxstudy.report.sections_quality import heading, image


class EntryGapSections:
    """Section ``entry_gap`` of a Report, and the entry split the summary repeats."""

    def _entry_split(self) -> str:
        """The missing doses split into not yet entered (expected) and likely never entered,
        with the extract date; '' when the metrics do not hold the split."""
        m = self.metrics
        if m.get("late_entry_rate") is None or m.get("never_entered_rate") is None or not m.get("extract_date"):
            return ""
        return self._t("entry_split", extract=fmt_date(m["extract_date"], self.language),
                       missing=self._pct(m.get("missing_entry_rate")),
                       **dict(zip(("late", "late_ci"), self._est("late_entry_rate"))),
                       **dict(zip(("never", "never_ci"), self._est("never_entered_rate"))))

    def entry_gap(self) -> list:
        out = [heading("entry_gap", self.language), self._basis("period")]
        w = self.weekly
        m = self.metrics
        if w is None:
            return out + [Markdown(self._t("not_available"))]
        out.append(image(F.entry_gap_chart(w, language=self.language, threshold=self.k)))
        out.append(Markdown(
            self._t("entry_gap_text", entered=self._count(int(w["entered"].sum())),
                    tallied=self._count(int(w["tallied"].sum())))
            + " " + "{}: **{}** ({}).".format(self._t("missing_entry_rate"), *self._est("missing_entry_rate"))
            + (" " + self._entry_split() if self._entry_split() else "")
        ))
        return out
