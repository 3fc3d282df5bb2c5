"""The report's coverage sections, by district (with the denominator check and the weekly
trends) and by age group and sex (a part of :class:`vaxstudy.report.sections.Report`)."""

from __future__ import annotations

import html as _html

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from vaxstudy.report import data as rdata
from vaxstudy.report import figures as F
from vaxstudy.report import tables as T
from vaxstudy.report.i18n import fmt_int, fmt_number
from vaxstudy.report.sections_quality import (_district_names, _sort_districts, _sort_name, heading, image)
from vaxstudy.report.suppress import suppress_counts, suppress_rates


class CoverageSections:
    """Sections ``coverage_district`` and ``coverage_age_sex`` of a Report."""

    def _group_frame(self, breakdown: str, group_col: str) -> pd.DataFrame:
        """The metrics breakdown as rows, with the adult population of each group as `n`."""
        groups = self.metrics.get(breakdown) or {}
        rows = []
        for g, vals in groups.items():
            r = {"group": str(g)}
            for c in ("coverage_dose1", "coverage_dose2", "coverage_dose1_recorded", "coverage_dose2_recorded"):
                r[c] = vals.get(c)
                r[c + "_ci"] = vals.get(c + "_ci")
            rows.append(r)
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        adults = self.adults
        if adults is not None and not adults.empty:
            n = adults.groupby(group_col)["n"].sum()
            df["n"] = df["group"].map(n).fillna(0).astype(int)
        else:
            df["n"] = np.nan
        return df

    def _coverage_block(self, df: pd.DataFrame, label_col: str, title: str, label_header: str,
                        reference: bool = False) -> list:
        rates = ["coverage_dose1", "coverage_dose2", "coverage_dose1_recorded"]
        for c in rates:
            df[c] = df[c].astype(float)
        if df["n"].notna().all():
            sup = suppress_rates(df, rates, "n", self.k)
            ns = suppress_counts(df, ["n"], self.k)
            mask = sup.mask.join(ns.mask)
        else:  # without group sizes nothing can be checked: hide nothing but say so
            mask = pd.DataFrame(False, index=df.index, columns=rates + ["n"])
        ref = None
        if reference:
            ref = {c: self.metrics.get(c) for c in ("coverage_dose1", "coverage_dose2")
                   if self.metrics.get(c) is not None}
        fig = F.coverage_bars(df, label_col, ("coverage_dose1", "coverage_dose2"), mask=mask, title=title,
                              language=self.language, threshold=self.k, reference=ref,
                              reference_label=self._t("province_line"))
        tab = T.format_table(
            T.with_estimates(df, ("coverage_dose1", "coverage_dose2"), self.language),
            {label_col: T.text(), "n": T.count(self.language),
             "coverage_dose1": T.text(), "coverage_dose1_ci": T.text(),
             "coverage_dose2": T.text(), "coverage_dose2_ci": T.text(),
             "coverage_dose1_recorded": T.pct(self.language)},
            mask=mask,
            hidden_with={"coverage_dose1_ci": "coverage_dose1", "coverage_dose2_ci": "coverage_dose2"},
            headers={label_col: label_header, "n": self._t("col_adults"),
                     "coverage_dose1": self._t("coverage_dose1"), "coverage_dose1_ci": self._t("col_interval"),
                     "coverage_dose2": self._t("coverage_dose2"), "coverage_dose2_ci": self._t("col_interval"),
                     "coverage_dose1_recorded": self._t("coverage_dose1_recorded")},
        )
        return [image(fig), self._table(tab)]

    def coverage_district(self) -> list:
        out = [heading("coverage_district", self.language), self._basis("cumulative")]
        df = self._group_frame("by_district", "district_code")
        if df.empty:
            return out + [Markdown(self._t("not_available"))]
        names = _district_names(self.province)
        df["label"] = [names.get(g, g) for g in df["group"]]
        hidden = None
        if df["n"].notna().all():
            hidden = suppress_rates(df.assign(coverage_dose1=df["coverage_dose1"].astype(float)),
                                    ["coverage_dose1"], "n", self.k).mask["coverage_dose1"]
        df = _sort_districts(df, "coverage_dose1", hidden)
        out += self._coverage_block(df, "label", self._t("fig_coverage_district"), self._t("col_district"),
                                    reference=True)
        return out + self._denominator() + self._trends()

    def _denominator(self) -> list:
        """Register adults ÷ official population by district, when official_population.csv is given."""
        from vaxstudy.report import denominator as D

        path = self.run_dir / D.FILE
        adults = self.adults
        if not path.exists() or adults is None or adults.empty:
            return []
        reg = adults.groupby("district_code")["n"].sum().astype(float)
        df = D.compare(reg, D.load_official(path))
        names = _district_names(self.province)
        df["label"] = [names.get(d, d) for d in df["district_code"]]
        df = df.sort_values("label", key=lambda s: s.map(_sort_name), ignore_index=True)
        mask = suppress_counts(df.fillna({"register": 0}), ["register"], self.k).mask
        mask["ratio"] = mask["register"]
        tab = T.format_table(
            df.assign(flag=[self._t("denom_outside") if o and not m else "" for o, m in zip(df["outside"], mask["ratio"])]),
            {"label": T.text(), "register": T.count(self.language), "official": T.count(self.language),
             "ratio": lambda v: fmt_number(v, self.language, 2), "flag": T.text()},
            mask=mask,
            headers={"label": self._t("col_district"), "register": self._t("denom_register"),
                     "official": self._t("denom_official"), "ratio": self._t("denom_ratio"), "flag": ""})
        n_out = int((df["outside"] & ~mask["ratio"]).sum())
        return [HTML(f'<h3 class="vx-sub">{_html.escape(self._t("sub_denominator"))}</h3>'),
                Markdown(self._t("denom_text", low=fmt_number(D.LOW, self.language, 1),
                                 high=fmt_number(D.HIGH, self.language, 1), n=fmt_int(n_out, self.language),
                                 of=fmt_int(len(df), self.language))),
                self._table(tab, numeric_cols=[1, 2, 3])]

    def _trends(self) -> list:
        """Weekly cumulative coverage as recorded (linked register adults), province and districts,
        with the change over the period and over the previous period of the same length."""
        w, adults = self.weekly_coverage, self.adults
        if w is None or w.empty or adults is None or adults.empty:
            return []
        per = {str(k): float(v) for k, v in adults.groupby("district_code")["n"].sum().items()}
        fig_p, fig_d = F.coverage_trend_charts(w, per, _district_names(self.province), language=self.language,
                                               threshold=self.k)
        total = float(sum(per.values()))
        prov = w.groupby("week")[["dose1", "dose2"]].sum()

        def at(day, col):  # cumulative share at the end of the week holding `day` (0 before any dose)
            s = prov.loc[prov.index <= pd.Timestamp(day), col]
            return float(s.iloc[-1]) / total if len(s) else 0.0

        start, end = pd.Timestamp(self.period_start), pd.Timestamp(self.period_end)
        day = pd.Timedelta(days=1)
        prev_start, prev_end = start - (end - start) - day, start - day
        pts = lambda x: fmt_number(100 * x, self.language, 1)  # noqa: E731
        words = self._t("trend_text", end=self._date(end), prev_start=self._date(prev_start),
                        prev_end=self._date(prev_end), d1=self._pct(at(end, "dose1")), d2=self._pct(at(end, "dose2")),
                        c1=pts(at(end, "dose1") - at(prev_end, "dose1")),
                        c2=pts(at(end, "dose2") - at(prev_end, "dose2")),
                        p1=pts(at(prev_end, "dose1") - at(prev_start - day, "dose1")),
                        p2=pts(at(prev_end, "dose2") - at(prev_start - day, "dose2")))
        return [HTML(f'<h3 class="vx-sub">{_html.escape(self._t("sub_trends"))}</h3>'), self._basis("cumulative"),
                image(fig_p), Markdown(words), image(fig_d)]

    def coverage_age_sex(self) -> list:
        out = [heading("coverage_age_sex", self.language), self._basis("cumulative")]
        age = self._group_frame("by_age_group", "age_group")
        if not age.empty:
            order = {g: i for i, g in enumerate(rdata.AGE_GROUPS)}
            age = age.sort_values("group", key=lambda s: s.map(order), ignore_index=True)
            age["label"] = age["group"]
            out += self._coverage_block(age, "label", self._t("fig_coverage_age"), self._t("age_group"))
        sex = self._group_frame("by_sex", "sex")
        if not sex.empty:
            sex = sex.sort_values("group", ascending=False, ignore_index=True)  # M, F
            sex["label"] = [self._t(f"sex_{g}") if g in ("M", "F") else g for g in sex["group"]]
            out += self._coverage_block(sex, "label", self._t("fig_coverage_sex"), self._t("sex"))
        if age.empty and sex.empty:
            out.append(Markdown(self._t("not_available")))
        return out
