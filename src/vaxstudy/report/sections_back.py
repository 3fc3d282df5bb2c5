"""The report's back matter: methods, run manifest and annex (a part of
:class:`vaxstudy.report.sections.Report`)."""

from __future__ import annotations

import html as _html
import json

import pandas as pd
from IPython.display import HTML, Markdown

from vaxstudy.report.i18n import (fmt_int, fmt_number, t_or)
from vaxstudy.report.sections_quality import heading


class BackMatterSections:
    """Sections ``methods``, ``manifest`` and ``annex`` of a Report."""

    def methods(self) -> list:
        out = [heading("methods", self.language), Markdown(self._t("methods_text", k=self.k))]
        rv = self.metrics.get("review")
        if isinstance(rv, dict) and rv.get("n_reviewed"):
            text = self._t("methods_review", n=fmt_int(rv["n_reviewed"], self.language))
            cap = ((self.metrics.get("method") or {}).get("missed_links") or {}).get("review_cap")
            if cap is not None:  # the review's missed links cap the coverage intervals' upper end
                text += " " + self._t("methods_review_cap", cap=fmt_int(int(cap), self.language))
            out.append(Markdown(text))
        notes = self.metrics.get("notes")
        if isinstance(notes, list) and notes:  # the estimate writes them in English: named, not quoted, in vi
            out.append(Markdown(self._t("notes_text", n=fmt_int(len(notes), self.language))))
            if self.language == "en":
                out.append(Markdown("\n".join(f"- {n}" for n in notes)))
        return out + [self.signature()]

    def manifest(self) -> list:
        out = [heading("manifest", self.language), Markdown(self._t("manifest_text"))]
        path = self.run_dir / "manifest.json"
        if not path.exists():
            return out + [Markdown(self._t("not_available"))]
        man = json.loads(path.read_text(encoding="utf-8"))
        params = pd.DataFrame({"k": [t_or(f"param_{k}", k, self.language) for k in man.get("parameters", {})],
                               "v": [self._param_value(v) for v in man.get("parameters", {}).values()]})
        params.columns = [self._t("m_parameter"), self._t("col_value")]
        files = pd.DataFrame({"f": list(man.get("inputs", {}).get("sha256", {}).keys()),  # in full in manifest.json
                              "h": [h[:16] + "…" for h in man.get("inputs", {}).get("sha256", {}).values()]})
        files.columns = [self._t("m_file"), "SHA-256"]
        pk = {"python": man.get("python"), **(man.get("packages") or {})}
        pkgs = pd.DataFrame({"p": list(pk.keys()), "v": [v or "–" for v in pk.values()]})
        pkgs.columns = [self._t("m_package"), self._t("m_version")]
        tm = man.get("timings_seconds") or {}
        times = pd.DataFrame({"s": [t_or(f"stage_{k}", k, self.language) for k in tm],
                              "v": [fmt_number(v, self.language, 1) for v in tm.values()]})
        times.columns = [self._t("m_stage"), self._t("m_seconds")]
        tabs = [self._table(params, numeric_cols=[]), self._table(files, numeric_cols=[]),
                self._table(pkgs, numeric_cols=[]), self._table(times)]
        out.append(HTML('<div class="vx-manifest">' + "".join(x.data for x in tabs) + "</div>"))
        return out + self.annex()

    def _param_value(self, v) -> str:
        """A manifest parameter in words: yes/no for booleans, – for none, numbers as numbers."""
        if v is None:
            return "–"
        if isinstance(v, bool):
            return self._t("yes" if v else "no")
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    def annex(self) -> list:
        """Write every table shown so far to tables.xlsx and tables/*.csv beside the report; link them."""
        from vaxstudy.report.annex import CSV_DIR, XLSX, write_annex

        titles = {k: f'{self._t("sec_" + k.rsplit("_", 1)[0])} ({k.rsplit("_", 1)[1]})' for k in self._tables}
        write_annex(self._tables, titles, self.run_dir)
        e = _html.escape
        return [HTML(f'<p class="vx-annex">{e(self._t("annex_text", n=len(self._tables)))} '
                     f'<a href="{XLSX}">{XLSX}</a> · <a href="{CSV_DIR}/">{CSV_DIR}/</a></p>')]

    # -- helpers for notebooks and tests ----------------------------------------
