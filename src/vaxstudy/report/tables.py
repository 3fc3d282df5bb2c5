"""Formatted report tables: numbers in the report's language, suppressed cells marked.

A table is built from a DataFrame of values, a mask of suppressed cells and a
formatter per column, and rendered as a small HTML table (`to_html`), which
both the notebook and the batch index use.
"""

from __future__ import annotations

import html as _html
from typing import Callable, Mapping, Sequence

import pandas as pd

from vaxstudy.report.i18n import fmt_int, fmt_interval, fmt_pct
from vaxstudy.report.suppress import MARK

Formatter = Callable[[object], str]


def pct(language: str) -> Formatter:
    return lambda v: fmt_pct(v, language)


def count(language: str) -> Formatter:
    return lambda v: fmt_int(v, language)


def interval(language: str) -> Formatter:
    return lambda v: fmt_interval(v, language)


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
.vx-title { border-bottom: 3px solid #1f4e79; padding-bottom: 6px; }
</style>
"""
