"""The report's duplicates, linkage and data-quality sections (a part of :class:`vaxstudy.report.sections.Report`),
and the display helpers every section uses."""

from __future__ import annotations

import html as _html

import pandas as pd
from IPython.display import HTML, Markdown

from vaxstudy.report import data as rdata
from vaxstudy.report import figures as F
from vaxstudy.report import tables as T
from vaxstudy.report.i18n import (check_label, check_order, fmt_estimate, fmt_int, fmt_number, fmt_pct,
                                  reason_label, table_label, t, t_or)
from vaxstudy.report.suppress import MARK, suppress_counts, suppress_rates

TOP_SITES = 10
QUALITY_COLS = ("missing_id", "invalid_id", "invalid_phone", "dob_year_only", "no_dob",
                "bad_commune", "late_entry")


def heading(section: str, language: str) -> HTML:
    return HTML(f'<h2 id="sec-{section}" class="vx-section">{_html.escape(t("sec_" + section, language))}</h2>')


def image(fig, alt: str | None = None) -> HTML:
    """The figure as an embedded PNG with alternative text (its title unless given)."""
    import base64

    if alt is None:
        titles = [ax.get_title(loc="left") or ax.get_title() for ax in fig.axes]
        alt = next((x for x in titles if x), "")
    png = base64.b64encode(F.to_png(fig)).decode()
    return HTML(f'<img alt="{_html.escape(alt, quote=True)}" style="max-width:100%" '
                f'src="data:image/png;base64,{png}">')


def _sort_districts(df: pd.DataFrame, col: str, hidden: pd.Series | None = None) -> pd.DataFrame:
    """Districts by `col`, highest first; those whose value is suppressed (NaN, or `hidden`) last,
    by name, so that a hidden value's rank is not shown either."""
    v = df[col].astype(float)
    if hidden is not None:
        v = v.where(~hidden.astype(bool))
    shown = df[v.notna()].assign(_v=v).sort_values(["_v", "label"], ascending=[False, True]).drop(columns="_v")
    tail = df[v.isna()].sort_values("label")
    return pd.concat([shown, tail], ignore_index=True)


def _sort_name(name: str) -> str:
    """Vietnamese alphabetical order, near enough: compare names without diacritics first."""
    import unicodedata

    flat = unicodedata.normalize("NFD", str(name).replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in flat if not unicodedata.combining(c)).lower() + "\x00" + str(name)


def _district_names(province: str) -> dict[str, str]:
    try:
        from vaxstudy import geo

        d = geo.province_districts(province)
        return dict(zip(d["district_code"], d["district_name"]))
    except Exception:  # geography lookup is a nicety; codes are shown otherwise
        return {}


def _province_name(province: str) -> str:
    try:
        from vaxstudy import geo

        return geo.province_name(province)
    except Exception:
        return str(province)


def keep_together(objs: list) -> list:
    """A heading (and its time-basis line) in one block with the figure or table after it, so
    that printing never leaves a heading alone at the bottom of a page."""
    out: list = []
    i = 0
    while i < len(objs):
        o = objs[i]
        data = o.data if isinstance(o, HTML) else ""
        if isinstance(data, str) and ('class="vx-section"' in data or 'class="vx-sub"' in data):
            parts = [data]
            j = i + 1
            while j < len(objs) and isinstance(objs[j], HTML) and 'class="vx-basis"' in objs[j].data:
                parts.append(objs[j].data)
                j += 1
            if j < len(objs) and isinstance(objs[j], HTML) and objs[j].data.lstrip().startswith(("<img", "<table")):
                parts.append(objs[j].data)
                j += 1
            out.append(HTML('<div class="vx-keep">' + "".join(parts) + "</div>"))
            i = j
        else:
            out.append(o)
            i += 1
    return out


class LinkageQualitySections:
    """Sections ``linkage`` and ``quality`` (and the parts they show) of a Report."""

    def _site_frame(self) -> pd.DataFrame | None:
        s = self.sites
        if s is None or s.empty:
            return None
        s = s.copy()
        names = _district_names(self.province)
        s["label"] = [f"{sid} · {name}" if isinstance(name, str) and name else str(sid)
                      for sid, name in zip(s["site_id"], s["site_name"])]
        s["district"] = [names.get(d, d) for d in s["district_code"]]
        return s

    def duplicates(self) -> list:
        out = [heading("duplicates", self.language), self._basis("period")]
        groups = self.metrics.get("by_district") or {}
        if groups:
            names = _district_names(self.province)
            df = pd.DataFrame([{"label": names.get(g, g), "n": v.get("n_records"),
                                "rate": v.get("duplicate_dose_rate"), "rate_ci": v.get("duplicate_dose_rate_ci")}
                               for g, v in sorted(groups.items())])
            df["rate"] = df["rate"].astype(float)
            if df["n"].notna().all():
                sup = suppress_rates(df, ["rate"], "n", self.k)
                df = sup.values
            df = _sort_districts(df, "rate")
            out.append(image(F.rate_bars(df["label"].tolist(), df["rate"].tolist(), ci=df["rate_ci"].tolist(),
                                         title=self._t("fig_dup_district"), language=self.language,
                                         reference=self.metrics.get("duplicate_dose_rate"),
                                         reference_label=self._t("province_line"))))
        s = self._site_frame()
        if s is None:
            return out + [Markdown(self._t("not_available"))]
        sup = suppress_counts(s, ["n_records", "n_dup"], self.k)
        hidden = sup.mask["n_dup"] | sup.mask["n_records"]
        s["dup_rate"] = s["n_dup"] / s["n_records"].where(s["n_records"] > 0)
        visible = s[~hidden & (s["n_dup"] > 0)]
        n_hidden = int((hidden & (s["n_dup"] > 0)).sum())
        if visible.empty:
            out.append(Markdown(self._t("dup_sites_none", n_hidden=fmt_int(n_hidden, self.language), k=self.k)))
        else:
            out.append(Markdown(self._t("dup_sites_text", n_shown=fmt_int(len(visible), self.language),
                                        n_hidden=fmt_int(n_hidden, self.language), k=self.k)))
            top = visible.sort_values(["dup_rate", "n_records", "site_id"],
                                      ascending=[False, False, True]).head(TOP_SITES)
            tab = T.format_table(
                top, {"label": T.text(), "district": T.text(), "n_records": T.count(self.language),
                      "n_dup": T.count(self.language), "dup_rate": T.pct(self.language)},
                headers={"label": self._t("col_site"), "district": self._t("col_district"),
                         "n_records": self._t("col_records"), "n_dup": self._t("col_dup_doses"),
                         "dup_rate": self._t("col_dup_rate")})
            out.append(self._table(tab, numeric_cols=[2, 3, 4]))
        out += self._district_record_rates()
        return out

    def linkage(self) -> list:
        out = [heading("linkage", self.language), self._basis("period")]
        bands = self.probability_bands
        b = self.basis
        if bands is None:
            return out + [Markdown(self._t("not_available"))]
        out.append(image(F.match_probability_hist(counts=bands["n"].to_numpy(), language=self.language,
                                                  threshold=self.k)))
        if b is not None and b["n"].sum() > 0:
            total = int(b["n"].sum())
            share_id = b.loc[b["basis"] == "id", "n"].sum() / total
            out.append(Markdown(self._t("linkage_text", linked=self._count(total), share_id=self._pct(share_id))))
            out.append(image(F.link_basis_chart(b, language=self.language, threshold=self.k)))
            sup = suppress_counts(b, ["n"], self.k)
            bb = b.assign(share=b["n"] / total)
            tab = T.format_table(
                bb.assign(basis=[self._t(f"basis_{x}") for x in bb["basis"]]),
                {"basis": T.text(), "n": T.count(self.language), "share": T.pct(self.language)},
                mask=sup.mask.assign(share=sup.mask["n"]),
                headers={"basis": self._t("col_basis"), "n": self._t("col_links"), "share": self._t("col_share")})
            out.append(self._table(tab))
        model = self.model_path if self.model_path else rdata.find_model(self.run_dir)
        weights = rdata.model_match_weights(model)
        if not weights.empty:
            out.append(image(F.match_weights_chart(weights, language=self.language)))
        acc = self.metrics.get("linkage")
        if isinstance(acc, dict) and acc:
            keys = [k for k in ("link_precision", "link_recall", "link_f1", "dup_precision", "dup_recall", "dup_f1")
                    if k in acc]
            tab = pd.DataFrame({"k": [self._t(k) for k in keys],
                                "v": [fmt_number(acc[k], self.language, 3) for k in keys]})
            tab.columns = [self._t("col_metric"), self._t("col_value")]
            out += [Markdown(self._t("accuracy_text")), self._table(tab)]
        return out + self._review()

    def _review(self) -> list:
        """Accuracy measured by a clerical review of this registry (metrics.json ``review``)."""
        rv = self.metrics.get("review")
        if not isinstance(rv, dict) or not rv.get("n_reviewed"):
            return []
        keys = [k for k in ("link_precision_est", "link_recall_est", "dup_subject_precision_est",
                            "dup_dose_precision_est", "unlinked_record_rate_review_adjusted") if k in rv]
        est = [fmt_estimate(rv[k], rv.get(f"{k}_ci"), self.language, 2) for k in keys]
        tab = pd.DataFrame({"k": [self._t(k) for k in keys], "v": [v for v, _ in est], "ci": [c for _, c in est]})
        tab.columns = [self._t("col_metric"), self._t("col_value"), self._t("col_interval")]
        text = self._t("review_text", n=fmt_int(rv["n_reviewed"], self.language),
                       unsure=fmt_int(rv.get("n_unsure", 0), self.language))
        return [Markdown(text), self._table(tab, numeric_cols=[1, 2])]

    def _province_checks(self) -> list:
        dq = self.metrics.get("data_quality")
        n = self.metrics.get("n_records")
        if not isinstance(dq, dict) or not n:
            return []
        rows = []
        for domain in ("completeness", "validity", "timeliness"):
            for check, v in sorted((dq.get(domain) or {}).items(), key=lambda kv: check_order(kv[0])):
                if v is None or "days" in check or not (0 <= float(v) <= 1):
                    continue
                rows.append({"domain": t_or(f"dom_{domain}", domain, self.language),
                             "check": check_label(check, self.language),
                             "rate": float(v), "n": float(n)})
        zero = [r["check"] for r in rows if r["rate"] == 0]
        rows = [r for r in rows if r["rate"] > 0]
        out = [Markdown(self._t("zero_checks_text", checks=", ".join(zero)))] if zero else []
        if not rows:
            return out
        df = pd.DataFrame(rows)
        sup = suppress_rates(df, ["rate"], "n", self.k, secondary=False)
        tab = T.format_table(df, {"domain": T.text(), "check": T.text(), "rate": T.pct(self.language)},
                             mask=sup.mask,
                             headers={"domain": self._t("col_domain"), "check": self._t("col_check"),
                                      "rate": self._t("axis_rate")})
        return [self._table(tab, numeric_cols=[2])] + out

    def _worst_sites(self) -> list:
        path = self.run_dir / "data_quality" / "worst_sites.parquet"
        if not path.exists():
            return []
        w = pd.read_parquet(path)
        if w.empty:
            return []
        ind = [c for c in ("vf_gap", "invalid_share", "identifiers_empty_share", "late_share", "outlier_day_share")
               if c in w]
        w = w.copy()
        w["n_records"] = w["n_records"].astype(float)
        for c in ind:
            w[c] = w[c].astype(float)
        # A site's rates rest on a few records each (n·rate < k nearly everywhere): they are not shown,
        # only the score (a mean of ranks, no count) and the worst indicator, for sites of >= k records.
        big = w["n_records"] >= self.k
        sites = self._site_frame()
        site_names = dict(zip(sites["site_id"], sites["label"])) if sites is not None else {}
        names = _district_names(self.province)
        w["label"] = [site_names.get(x, x) for x in w["site_id"]]
        w["district"] = [names.get(d, d) for d in w["district_code"]]
        w["worst"] = [t_or(f"ind_{x}", str(x), self.language) for x in w["worst_indicator"]]
        order = w[big].sort_values(["score", "site_id"], ascending=[False, True]).head(TOP_SITES)
        tab = T.format_table(
            order, {"label": T.text(), "district": T.text(), "n_records": T.count(self.language),
                    "score": lambda v: fmt_number(v, self.language, 2), "worst": T.text()},
            headers={"label": self._t("col_site"), "district": self._t("col_district"),
                     "n_records": self._t("col_records"), "score": self._t("col_score"),
                     "worst": self._t("col_worst")})
        text = Markdown(self._t("worst_sites_text", k=self.k, n_big=fmt_int(int(big.sum()), self.language),
                                n_small=fmt_int(int((~big).sum()), self.language)))
        if order.empty:
            return [text]
        return [text, self._table(tab, numeric_cols=[2, 3])]

    def _own_site_audit(self) -> list:
        """Site audit from the standardised records (when estimate wrote no worst_sites table)."""
        s = self._site_frame()
        if s is None:
            return []
        cols = [c for c in QUALITY_COLS if c in s and s[c].notna().any()] + ["n_dup"]
        for c in cols + ["n_records"]:
            s[c] = s[c].astype(float)
        n_sup = suppress_counts(s, ["n_records"], self.k)
        sup = suppress_counts(s, cols, self.k, row_totals=True)
        denom = s["n_records"].where(s["n_records"] > 0)
        rates = pd.DataFrame({c: s[c] / denom for c in cols})
        s["score"] = rates.mean(axis=1)
        for c in cols:
            s["r_" + c] = rates[c]
        mask = pd.DataFrame({"r_" + c: sup.mask[c] | n_sup.mask["n_records"] for c in cols})
        mask["n_records"] = n_sup.mask["n_records"]
        mask["score"] = n_sup.mask["n_records"]
        top = s[~mask["score"]].sort_values(["score", "site_id"], ascending=[False, True]).head(TOP_SITES)
        labels = {"missing_id": "q_missing_id", "invalid_id": "q_invalid_id", "invalid_phone": "q_invalid_phone",
                  "dob_year_only": "q_dob_year_only", "no_dob": "q_no_dob", "bad_commune": "q_bad_commune",
                  "late_entry": "q_late_entry", "n_dup": "col_dup_rate"}
        tab = T.format_table(
            top, {"label": T.text(), "n_records": T.count(self.language), "score": T.pct(self.language),
                  **{"r_" + c: T.pct(self.language) for c in cols}},
            mask=mask.loc[top.index],
            headers={"label": self._t("col_site"), "n_records": self._t("col_records"),
                     "score": self._t("col_score"), **{"r_" + c: self._t(labels[c]) for c in cols}})
        return [Markdown(self._t("quality_text")), self._table(tab)]

    def _scorecard(self) -> list:
        """District × indicator table coloured by the thresholds of scorecard.yaml, and the share
        of districts meeting each (among those whose value can be shown)."""
        from vaxstudy.report import scorecard as S

        card = S.load_scorecard()
        vals, hidden = S.indicator_frame(self.run_dir, self.metrics, self.k)
        keys = [i.key for i in card.indicators if i.key in vals]
        if vals.empty or not keys:
            return []
        ok = S.verdicts(vals, hidden, card)
        names = _district_names(self.province)
        order = sorted(vals.index, key=lambda d: _sort_name(names.get(d, d)))
        e = _html.escape

        def fmt(key, v):
            return fmt_number(v, self.language, 2) if key == "verification_factor" else self._pct(v)

        def rule(ind):
            if ind.direction == "range":
                return f"{fmt(ind.key, ind.low)}–{fmt(ind.key, ind.high)}"
            return ("≥ " if ind.direction == "min" else "≤ ") + fmt(ind.key, ind.threshold)

        inds = [i for i in card.indicators if i.key in keys]
        head = "".join(f'<th class="num">{e(self._t("sc_" + i.key))}<br><span class="thr">{e(rule(i))}</span></th>'
                       for i in inds)
        rows, shown = [], []
        for d in order:
            cells, row = [], {self._t("col_district"): names.get(d, d)}
            for i in inds:
                h = bool(hidden.loc[d, i.key])
                text = MARK if h else fmt(i.key, vals.loc[d, i.key])
                cls = "hid" if ok.loc[d, i.key] is None else ("ok" if ok.loc[d, i.key] else "bad")
                cells.append(f'<td class="num sc-{cls}">{e(text)}</td>')
                row[self._t("sc_" + i.key)] = text
            rows.append(f'<tr><td class="txt">{e(names.get(d, d))}</td>{"".join(cells)}</tr>')
            shown.append(row)
        met = []
        for i in inds:
            col = ok[i.key].dropna()
            met.append(self._t("sc_met", n=fmt_int(int(col.sum()), self.language),
                               of=fmt_int(len(col), self.language)))
        foot = (f'<tr class="sc-foot"><td class="txt">{e(self._t("sc_met_row"))}</td>'
                + "".join(f'<td class="num">{e(m)}</td>' for m in met) + "</tr>")
        table = (f'<table class="vx-table vx-score"><thead><tr><th class="txt">{e(self._t("col_district"))}</th>'
                 f'{head}</tr></thead><tbody>{"".join(rows)}{foot}</tbody></table>')
        annex = pd.DataFrame(shown + [{self._t("col_district"): self._t("sc_met_row"),
                                        **{self._t("sc_" + i.key): m for i, m in zip(inds, met)}}])
        self._counter[self._current] = self._counter.get(self._current, 0) + 1
        self._tables[f"{self._current}_{self._counter[self._current]}"] = annex
        return [HTML(f'<h3 class="vx-sub">{e(self._t("sc_title"))}</h3>'),
                Markdown(self._t("sc_text", version=card.version)), HTML(table)]

    def quality(self) -> list:
        out = [heading("quality", self.language), self._basis("period")]
        out += self._scorecard()
        out += self._province_checks()
        out += self._worst_sites() or self._own_site_audit()
        q = self.quarantine
        out.append(HTML(f'<h3 class="vx-sub">{_html.escape(self._t("sub_quarantine"))}</h3>'))
        if q is None:
            out.append(Markdown(self._t("not_available")))
        elif q.empty:
            out.append(Markdown(self._t("quarantine_none")))
        else:
            q = q.assign(table_name=[table_label(x, self.language) for x in q["table_name"]],
                         reason=[reason_label(x, self.language) for x in q["reason"]])
            q = q.groupby(["table_name", "reason"], as_index=False, sort=False)["rows"].sum()
            sup = suppress_counts(q, ["rows"], self.k)
            tab = T.format_table(q, {"table_name": T.text(), "reason": T.text(), "rows": T.count(self.language)},
                                 mask=sup.mask,
                                 headers={"table_name": self._t("col_table"), "reason": self._t("col_reason"),
                                          "rows": self._t("col_rows")})
            out.append(Markdown(self._t("quarantine_text")))
            out.append(self._table(tab, numeric_cols=[2]))
        return out
