"""The report's missing-entry section: doses tallied on paper against doses entered, and the
missing ones split into not yet entered and never entered (a part of
:class:`vaxstudy.report.sections.Report`)."""

from __future__ import annotations

from IPython.display import Markdown

from vaxstudy.report import figures as F
from vaxstudy.report.i18n import fmt_date, fmt_number
from vaxstudy.report.sections_quality import heading, image

AGREE_BELOW = 0.001  # the lag model alone and the combined figure "agree" within 0.1 percentage point


class EntryGapSections:
    """Section ``entry_gap`` of a Report, and the entry split the summary repeats (the lag
    model's own figure beside it is the section's only: the summary stays short)."""

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

    def _entry_lag_only(self) -> str:
        """The not-yet-entered share by the entry lags alone (``method.nowcast.late_doses_lag_model``
        over the tallied doses, as ``late_entry_rate`` is ``late_doses`` over them) beside the
        combined one: the tallies' gap takes the share never entered from older weeks, so a rise
        in the last days would flatter the split. '' without the figures (an older metrics.json)."""
        m = self.metrics
        lag = ((m.get("method") or {}).get("nowcast") or {}).get("late_doses_lag_model")
        late, missing, tally = m.get("late_entry_rate"), m.get("missing_entry_rate"), m.get("n_tally_doses")
        if lag is None or late is None or missing is None or not tally or not self._entry_split():
            return ""
        rate = lag / tally
        if abs(rate - late) < AGREE_BELOW or self._pct(rate) == self._pct(late):
            return self._t("entry_lag_only_agrees", lag=self._pct(rate),
                           pp=fmt_number(AGREE_BELOW * 100, self.language, 1))
        # above the combined figure the tallies pulled it down: a rise of the never-entered share
        # (which would push the tallies' figure up) is not what moved it, so no warning to give
        key = "entry_lag_only_lower" if rate < late else "entry_lag_only_higher"
        return self._t(key, lag=self._pct(rate), never=self._pct(missing - rate))

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
            + "".join(" " + x for x in (self._entry_split(), self._entry_lag_only()) if x)
        ))
        return out
