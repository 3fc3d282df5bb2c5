"""Formatted report tables: numbers in the report's language, suppressed cells marked.

A table is built from a DataFrame of values, a mask of suppressed cells and a
formatter per column, and rendered as a small HTML table (`to_html`), which
both the notebook and the batch index use.
"""

from __future__ import annotations

import html as _html
from typing import Callable, Mapping, Sequence

import pandas as pd

from vaxstudy.report.i18n import fmt_estimate, fmt_int, fmt_pct
from vaxstudy.report.suppress import MARK

Formatter = Callable[[object], str]


def pct(language: str) -> Formatter:
    return lambda v: fmt_pct(v, language)


def count(language: str) -> Formatter:
    return lambda v: fmt_int(v, language)


def with_estimates(df: pd.DataFrame, rates: Sequence[str], language: str) -> pd.DataFrame:
    """A copy of ``df`` where each rate and its ``<rate>_ci`` column hold their display texts,
    formatted together (i18n.fmt_estimate: the printed precision follows the interval); show
    them with :func:`text`."""
    out = df.copy()
    for r in rates:
        pairs = [fmt_estimate(v, ci, language) for v, ci in zip(df[r], df[r + "_ci"])]
        out[r] = [p for p, _ in pairs]
        out[r + "_ci"] = [c for _, c in pairs]
    return out


def text(_: str = "vi") -> Formatter:
    return lambda v: "–" if v is None or (isinstance(v, float) and v != v) else str(v)


def format_table(
    df: pd.DataFrame,
    formats: Mapping[str, Formatter],
    *,
    mask: pd.DataFrame | None = None,
    headers: Mapping[str, str] | None = None,
    hidden_with: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A frame of display strings: `formats[col](value)`, or MARK where `mask` hides the cell.

    hidden_with maps a column to the mask column that hides it too (an
    interval hidden with its rate).
    """
    out = pd.DataFrame(index=df.index)
    hidden_with = dict(hidden_with or {})
    for col, f in formats.items():
        mcol = hidden_with.get(col, col)
        hidden = (mask[mcol].to_numpy(dtype=bool) if mask is not None and mcol in mask
                  else [False] * len(df))
        out[col] = [MARK if h else f(v) for v, h in zip(df[col], hidden)]
    if headers:
        out = out.rename(columns=dict(headers))
    return out


def to_html(table: pd.DataFrame, *, caption: str | None = None, css_class: str = "vx-table",
            numeric_cols: Sequence[int] | None = None) -> str:
    """Plain, escaped HTML; columns after the first are right-aligned unless numeric_cols says."""
    cols = list(table.columns)
    num = set(range(1, len(cols)) if numeric_cols is None else numeric_cols)
    parts = [f'<table class="{css_class}">']
    if caption:
        parts.append(f"<caption>{_html.escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(
        f'<th class="{"num" if i in num else "txt"}">{_html.escape(str(c))}</th>' for i, c in enumerate(cols)
    ) + "</tr></thead><tbody>")
    for _, row in table.iterrows():
        parts.append("<tr>" + "".join(
            f'<td class="{"num" if i in num else "txt"}">{_html.escape(str(v))}</td>'
            for i, v in enumerate(row.tolist())
        ) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


CSS = """
<style>
.vx-table { border-collapse: collapse; margin: 0.4em 0 1em 0; font-size: 13px; }
.vx-table caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
.vx-table th, .vx-table td { border-bottom: 1px solid #d9dee3; padding: 4px 10px; }
.vx-table th { background: #f3f6f9; }
.vx-table td.num, .vx-table th.num { text-align: right; font-variant-numeric: tabular-nums; }
.vx-table td.txt, .vx-table th.txt { text-align: left; }
.vx-headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 14px 0; }
.vx-card { border: 1px solid #d9dee3; border-radius: 6px; padding: 10px 14px; min-width: 190px; background: #fbfcfd; }
.vx-card .v { font-size: 24px; font-weight: 700; color: #1f4e79; }
.vx-card .l { font-size: 12px; color: #444; }
.vx-card .ci { font-size: 11px; color: #666; }
.vx-note { font-size: 12px; color: #555; }
.vx-title { border-bottom: 3px solid #1f4e79; padding-bottom: 6px; font-size: 24px; }
.vx-table td.num, .vx-table td:first-child { white-space: nowrap; }
.vx-frame, .vx-sign { width: 100%; border-collapse: collapse; margin: 0 0 10px 0; }
.vx-frame td, .vx-sign td { width: 50%; text-align: center; vertical-align: top; font-size: 13px; padding: 0; border: 0; }
.vx-frame .rule { width: 35%; margin: 2px auto 6px auto; border-top: 1px solid #000; }
.vx-sign td:first-child { text-align: left; font-size: 12px; }
.vx-sign ul { margin: 2px 0; padding-left: 18px; }
.vx-sign .space { height: 72px; }
.b { font-weight: 700; } .i { font-style: italic; }
.vx-info { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
.vx-info th { text-align: left; font-weight: 600; padding: 2px 14px 2px 0; }
.vx-info td { padding: 2px 0; }
.vx-class { border: 1px solid #1f4e79; background: #f3f6f9; padding: 5px 9px; font-size: 12px; }
.vx-toc { font-size: 13px; }
.vx-toc ol { columns: 2; margin: 4px 0 0 0; }
.vx-basis { font-size: 12px; font-style: italic; color: #444; margin: 0 0 6px 0; }
.vx-keep { break-inside: avoid; page-break-inside: avoid; }
.vx-score td.sc-ok { background: #dff0d8; }
.vx-score td.sc-bad { background: #f8d7da; }
.vx-score td.sc-hid { background: #f1f1f1; color: #777; }
.vx-score th .thr { font-weight: 400; font-size: 10px; color: #555; }
.vx-score tr.sc-foot td { font-weight: 600; border-top: 2px solid #999; }
.vx-score { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
@page { size: A4; margin: 14mm 13mm 16mm 13mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; color: #555; } }
@media print {
  body, .jp-Notebook, main { margin: 0 !important; padding: 0 !important; }
  /* JupyterLab's print rules keep each output whole: a long table or text then jumps a page */
  .jp-Cell, .jp-Cell-outputWrapper, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output
    { break-inside: auto !important; page-break-inside: auto !important; }
  .vx-card { min-width: 0; flex: 1 1 0; padding: 6px 10px; }
  .vx-card .v { font-size: 20px; }
  .vx-headline { flex-wrap: nowrap; gap: 8px; }
  .jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { margin: 0 !important; padding: 0 !important; }
  .jp-RenderedHTMLCommon p { margin: 0 0 6px 0; }
  h1, h2, h3, .vx-basis { break-after: avoid; page-break-after: avoid; }
  h2.vx-section { margin-top: 14px; }
  img, .vx-card, .vx-table tr, .vx-frame, .vx-sign, .vx-info, .vx-class { break-inside: avoid; page-break-inside: avoid; }
  .vx-table thead { display: table-header-group; }
  .vx-table { font-size: 10.5px; }
  .vx-manifest .vx-table { font-size: 9px; }
  .vx-manifest { display: flex; flex-wrap: wrap; gap: 0 18px; }
  .vx-table th, .vx-table td { padding: 2px 6px; }
  img { max-height: 110mm; width: auto !important; max-width: 100%; }
  .vx-toc a { color: inherit; text-decoration: none; }
}
</style>
"""
