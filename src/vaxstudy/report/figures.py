"""Report figures: matplotlib, from plain DataFrames and arrays, suppression applied.

Every function returns a `matplotlib.figure.Figure` (no pyplot state) and
takes the language and suppression threshold; `to_png` gives deterministic
bytes (fixed size, dpi and metadata), so the same inputs give the same image.
Suppressed values are never drawn: a bar or point whose count is small is
replaced by the suppression mark.
"""

from __future__ import annotations

import io
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=False)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import matplotlib.dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from vaxstudy.config import SUPPRESSION_THRESHOLD  # noqa: E402
from vaxstudy.report.i18n import fmt_date, fmt_number, fmt_pct, level_label, t, t_or  # noqa: E402
from vaxstudy.report.suppress import MARK, suppress_series  # noqa: E402

DPI = 100
WEIGHT_CLIP = 15.0
COLORS = {"dose1": "#1f6fb2", "dose2": "#7fb3e0", "entered": "#1f6fb2", "tallied": "#c0392b",
          "bar": "#1f6fb2", "muted": "#9aa5b1", "id": "#1f6fb2", "name_dob": "#7fb3e0",
          "other": "#f0ad4e"}
RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "vaxstudy",
    "font.family": "DejaVu Sans",  # has the Vietnamese letters
}


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig


def _say_empty(ax, key: str, language: str) -> None:
    """Replace an empty chart's axes by a one-line message (no data / not available)."""
    ax.text(0.5, 0.5, t(key, language), ha="center", transform=ax.transAxes)
    ax.set_axis_off()


def to_png(fig: Figure) -> bytes:
    """PNG bytes, identical for identical figures (no timestamp or version in the metadata)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _pct_axis(ax, language: str, axis: str = "x") -> None:
    f = FuncFormatter(lambda v, _: fmt_pct(v, language, 0))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(f)


def _count_axis(ax, language: str, axis: str = "y") -> None:
    f = FuncFormatter(lambda v, _: fmt_number(v, language, 0))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(f)


def coverage_bars(
    df: pd.DataFrame,
    label_col: str,
    rate_cols: Sequence[str] = ("coverage_dose1", "coverage_dose2"),
    *,
    mask: pd.DataFrame | None = None,
    title: str | None = None,
    language: str = "vi",
    threshold: int = SUPPRESSION_THRESHOLD,
    legend: Mapping[str, str] | None = None,
    reference: Mapping[str, float] | None = None,
    reference_label: str = "",
) -> Figure:
    """Horizontal bars of rates with 95% whiskers (`<rate>_ci` columns), one row per group.

    `mask` (same index as df, a column per rate) marks suppressed cells, drawn as MARK;
    `reference` ({rate column: value}) draws the provincial value as a dashed line.
    """
    labels = [str(x) for x in df[label_col]]
    n = len(labels)
    fig = _figure(8.5, max(2.2, 0.13 * n * max(1, len(rate_cols)) + 1.2))
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        height = 0.8 / len(rate_cols)
        y = np.arange(n)
        legend = legend or {"coverage_dose1": t("dose1", language), "coverage_dose2": t("dose2", language)}
        for k, col in enumerate(rate_cols):
            key = "dose1" if "dose1" in col else "dose2"
            vals = df[col].astype(float).to_numpy()
            hidden = (mask[col].to_numpy(dtype=bool) if mask is not None and col in mask
                      else np.zeros(n, dtype=bool))
            vals = np.where(hidden, np.nan, vals)
            ci = df[col + "_ci"] if col + "_ci" in df else pd.Series([None] * n)
            lo = np.array([c[0] if c is not None and not hidden[i] else np.nan for i, c in enumerate(ci)], float)
            hi = np.array([c[1] if c is not None and not hidden[i] else np.nan for i, c in enumerate(ci)], float)
            pos = y + (k - (len(rate_cols) - 1) / 2) * height
            ax.barh(pos, np.nan_to_num(vals), height=height * 0.92, color=COLORS.get(key, COLORS["bar"]),
                    label=legend.get(col, col))
            ok = ~np.isnan(lo) & ~np.isnan(hi) & ~np.isnan(vals)
            if ok.any():
                ax.errorbar(vals[ok], pos[ok], xerr=[vals[ok] - lo[ok], hi[ok] - vals[ok]], fmt="none",
                            ecolor="#222222", elinewidth=1, capsize=2.5)
            for i in np.where(hidden)[0]:
                ax.text(0.005, pos[i], t("suppressed", language, k=threshold), va="center", ha="left",
                        fontsize=8, color="#555555")
        for col, v in (reference or {}).items():
            key = "dose1" if "dose1" in col else "dose2"
            ax.axvline(float(v), color=COLORS.get(key, COLORS["bar"]), linestyle="--", linewidth=1.2,
                       label=f"{reference_label} {legend.get(col, col)}: {fmt_pct(v, language)}")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        _pct_axis(ax, language, "x")
        ax.set_xlabel(t("axis_coverage", language))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if len(rate_cols) > 1 or reference:
            fig.legend(loc="outside lower center", frameon=False, fontsize=9, ncol=4)
        if title:
            ax.set_title(title, loc="left")
    return fig


def entry_gap_chart(weekly: pd.DataFrame, *, language: str = "vi",
                    threshold: int = SUPPRESSION_THRESHOLD) -> Figure:
    """Weekly doses entered (line) and tallied on paper (line), small weeks suppressed.

    `weekly`: week (date), entered, tallied. A week whose count is small
    (or hidden so it cannot be recovered from the published totals) is left
    out of the line and marked.
    """
    fig = _figure(9, 3.0)
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        if weekly.empty:
            ax.text(0.5, 0.5, t("no_data", language), ha="center", transform=ax.transAxes)
            return fig
        x = pd.to_datetime(weekly["week"]).to_numpy()
        for col in ("tallied", "entered"):
            v = weekly[col].astype(float).to_numpy()
            hidden = suppress_series(v, threshold)
            shown = np.where(hidden, np.nan, v)
            ax.plot(x, shown, marker="o", markersize=3, linewidth=1.8, color=COLORS[col],
                    label=t(f"col_{col}", language))
            if hidden.any():
                ax.plot(x[hidden], np.zeros(hidden.sum()), linestyle="none", marker="x",
                        color=COLORS[col], markersize=5)
        e = np.where(suppress_series(weekly["entered"], threshold), np.nan, weekly["entered"])
        tl = np.where(suppress_series(weekly["tallied"], threshold), np.nan, weekly["tallied"])
        ax.fill_between(x, e.astype(float), tl.astype(float), where=tl > e, color=COLORS["tallied"],
                        alpha=0.15, interpolate=False, label=t("col_gap", language))
        _count_axis(ax, language, "y")
        ax.yaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_ylabel(t("axis_doses", language))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        ax.set_title(t("fig_entry_gap", language), loc="left")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_date(mdates.num2date(v), language)))
        fig.autofmt_xdate()
    return fig


def rate_bars(labels: Sequence[str], rates: Sequence[float], *, title: str, language: str = "vi",
              xlabel: str | None = None, ci: Sequence | None = None, reference: float | None = None,
              reference_label: str = "") -> Figure:
    """Horizontal bars of rates (e.g. the duplicate-dose rate by district), already suppressed;
    `reference` draws the provincial rate as a dashed line."""
    n = len(labels)
    fig = _figure(8.5, max(2.0, 0.32 * n + 1.0))
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        if n == 0:
            _say_empty(ax, "no_data", language)
            return fig
        y = np.arange(n)
        r = np.asarray(rates, dtype=float)
        ax.barh(y, np.nan_to_num(r), color=COLORS["bar"], height=0.7)
        hi = np.full(n, np.nan)
        if ci is not None:
            lo = np.array([c[0] if c is not None and not np.isnan(v) else np.nan for c, v in zip(ci, r)], float)
            hi = np.array([c[1] if c is not None and not np.isnan(v) else np.nan for c, v in zip(ci, r)], float)
            ok = ~np.isnan(lo) & ~np.isnan(hi)
            if ok.any():
                ax.errorbar(r[ok], y[ok], xerr=[np.maximum(r[ok] - lo[ok], 0), np.maximum(hi[ok] - r[ok], 0)],
                            fmt="none", ecolor="#222222", elinewidth=1, capsize=2.5)
        for i, v in enumerate(r):
            x = 0 if np.isnan(v) else (hi[i] if not np.isnan(hi[i]) else v)
            ax.text(x + 0.002, i, MARK if np.isnan(v) else fmt_pct(v, language), va="center", fontsize=8)
        ax.set_yticks(y, [str(s) for s in labels])
        ax.invert_yaxis()
        if reference is not None:
            ax.axvline(float(reference), color="#c0392b", linestyle="--", linewidth=1.2,
                       label=f"{reference_label}: {fmt_pct(reference, language)}")
            ax.legend(loc="lower right", frameon=True, framealpha=0.9, fontsize=9)
        top = np.nanmax(np.r_[r, hi, reference if reference is not None else np.nan]) \
            if np.isfinite(np.r_[r, hi]).any() else 0.1
        ax.set_xlim(0, max(0.05, top * 1.18))
        _pct_axis(ax, language, "x")
        ax.set_xlabel(xlabel or t("axis_rate", language))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(title, loc="left")
    return fig


def merge_small_bins(counts: Sequence[int], edges: Sequence[float],
                     threshold: int = SUPPRESSION_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Merge each non-empty bin holding fewer than `threshold` into a neighbour until none is left.

    Merging (rather than hiding) keeps every record in the picture and no
    small count can be recovered from the total. Returns (counts, edges).
    """
    c = [int(x) for x in counts]
    e = [float(x) for x in edges]
    while True:
        small = [i for i, v in enumerate(c) if 0 < v < threshold]
        if not small or len(c) == 1:
            break
        i = small[0]
        left = i - 1 if i > 0 else None
        right = i + 1 if i < len(c) - 1 else None
        # merge into the nearest non-empty neighbour (the right one on ties)
        def dist(j, step):
            while j is not None and 0 <= j < len(c) and c[j] == 0:
                j += step
            return j if j is not None and 0 <= j < len(c) else None
        lj, rj = dist(left, -1), dist(right, 1)
        if lj is None and rj is None:
            break
        j = rj if lj is None or (rj is not None and (rj - i) <= (i - lj)) else lj
        a, b = min(i, j), max(i, j)
        merged = sum(c[a:b + 1])
        c = c[:a] + [merged] + c[b + 1:]
        e = e[:a + 1] + e[b + 1:]
    return np.asarray(c), np.asarray(e)


from vaxstudy.report.aggregates import PROBABILITY_BANDS  # noqa: E402  (the bands the estimate counts)


def probability_bands(probs: Sequence[float] | None = None, threshold: int = SUPPRESSION_THRESHOLD,
                      language: str = "vi", *, counts: Sequence[int] | None = None) -> tuple[list[str], np.ndarray]:
    """Counts of links per certainty band (< 50%, 50–90%, …, ≥ 99.99%), small bands merged.

    Links rest mostly near probability 1, where a linear histogram shows one
    bar; bands on the 1 − p scale show how near. From the probabilities, or from
    ``counts`` per band of PROBABILITY_BANDS (what the estimate wrote). Returns (labels, counts).
    """
    if counts is None:
        p = np.asarray(probs, dtype=float)
        counts = np.histogram(p[~np.isnan(p)], bins=np.asarray(PROBABILITY_BANDS))[0]
    if len(counts) != len(PROBABILITY_BANDS) - 1:
        raise ValueError(f"{len(counts)} band counts for {len(PROBABILITY_BANDS) - 1} bands")
    counts, edges = merge_small_bins(np.asarray(counts, dtype=np.int64), np.asarray(PROBABILITY_BANDS), threshold)

    def lab(a: float, b: float) -> str:
        lo = fmt_pct(a, language, 2 if a >= 0.99 else 0)
        if b > 1:
            return f"≥ {lo}"
        hi = fmt_pct(b, language, 2 if b >= 0.99 else 0)
        return f"< {hi}" if a == 0 else f"{lo}–{hi}"

    return [lab(a, b) for a, b in zip(edges[:-1], edges[1:])], counts


def match_probability_hist(probs: Sequence[float] | None = None, *, counts: Sequence[int] | None = None,
                           language: str = "vi", threshold: int = SUPPRESSION_THRESHOLD) -> Figure:
    """Links per match-probability band (from the probabilities or the band counts); a band
    holding fewer than `threshold` is merged with a neighbour."""
    labels, counts = probability_bands(probs, threshold, language, counts=counts)
    fig = _figure(8.5, 3.2)
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        if counts.sum() == 0:
            _say_empty(ax, "no_data", language)
            return fig
        x = np.arange(len(labels))
        shown = np.where((counts > 0) & (counts < threshold), 0, counts)  # only if nothing to merge with
        ax.bar(x, shown, color=COLORS["bar"], width=0.7)
        for i, v in enumerate(counts):
            txt = MARK if 0 < v < threshold else fmt_number(v, language, 0)
            ax.text(i, max(shown[i], 0), txt, ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, labels)
        _count_axis(ax, language, "y")
        ax.set_ylim(0, max(1, shown.max()) * 1.15)
        ax.set_xlabel(t("axis_probability", language))
        ax.set_ylabel(t("axis_count", language))
        ax.set_title(t("fig_match_hist", language), loc="left")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig


def match_weights_chart(weights: pd.DataFrame, *, language: str = "vi") -> Figure:
    """Splink model: match weight log2(m/u) of each comparison level (a replot of Splink's chart)."""
    n = len(weights)
    fig = _figure(8.5, max(2.0, 0.115 * n + 0.9))
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        if n == 0:
            _say_empty(ax, "not_available", language)
            return fig
        y = np.arange(n)
        w_raw = weights["weight"].to_numpy(dtype=float)
        w = np.clip(w_raw, -WEIGHT_CLIP, WEIGHT_CLIP)  # as Splink's own chart: extremes drawn at the edge
        ax.barh(y, w, color=np.where(w >= 0, COLORS["dose1"], COLORS["tallied"]), height=0.75)
        for i in np.where(np.abs(w_raw) > WEIGHT_CLIP)[0]:
            ax.text(w[i] + (0.3 if w[i] > 0 else -0.3), i, fmt_number(w_raw[i], language, 0),
                    va="center", ha="left" if w[i] > 0 else "right", fontsize=7)
        ax.set_xlim(-WEIGHT_CLIP - 4, WEIGHT_CLIP + 4)
        labels = [level_label(c, lv, language) for c, lv in zip(weights["comparison"], weights["level"])]
        ax.set_yticks(y, [s if len(s) <= 60 else s[:57] + "…" for s in labels], fontsize=7.5)
        ax.invert_yaxis()
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_xlabel(t("axis_weight", language))
        ax.set_title(t("fig_match_weights", language), loc="left")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    return fig


def link_basis_chart(basis: pd.DataFrame, *, language: str = "vi",
                     threshold: int = SUPPRESSION_THRESHOLD) -> Figure:
    """One stacked bar: share of links resting on ID number, on name + birth date, on partial evidence.

    `basis`: basis, n. Small categories are merged out of sight (shown as MARK).
    """
    fig = _figure(8.5, 1.9)
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        n = basis["n"].to_numpy(dtype=float)
        total = n.sum()
        if total <= 0:
            _say_empty(ax, "no_data", language)
            return fig
        hidden = suppress_series(n, threshold)
        left = 0.0
        for b, v, h in zip(basis["basis"], n, hidden):
            share = v / total
            ax.barh([0], [share], left=left, color=COLORS.get(b, COLORS["muted"]), height=0.6,
                    label=t(f"basis_{b}", language) + f" ({MARK if h else fmt_pct(share, language)})")
            left += share
        ax.set_xlim(0, 1)
        ax.set_yticks([])
        _pct_axis(ax, language, "x")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, frameon=False, fontsize=9)
        ax.set_title(t("fig_basis", language), loc="left")
    return fig


def thin_cumulative(counts: Sequence[float], threshold: int = SUPPRESSION_THRESHOLD) -> np.ndarray:
    """Which points of a cumulative count series can be drawn: each drawn point differs from the
    drawn one before it by 0 or by at least `threshold`, so no small weekly count can be read
    off by subtraction (the line joins the drawn points)."""
    keep = np.zeros(len(counts), dtype=bool)
    last = 0.0
    for i, c in enumerate(np.asarray(counts, dtype=float)):
        if c - last == 0 or c - last >= threshold:
            keep[i] = True
            last = c
    return keep


def _month_axis(ax, language: str, short: bool = False) -> None:
    """Month ticks: 04/2021 (vi) or Apr 2021 (en); every third month as 4/21 in small panels."""
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)) if short
                               else mdates.MonthLocator(bymonthday=1, interval=2))
    if short:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: mdates.num2date(v).strftime("%-m/%y")))
        return
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _: fmt_date(mdates.num2date(v), language)[3:] if language == "vi"
        else mdates.num2date(v).strftime("%b %Y")))


def coverage_trend_charts(weekly: pd.DataFrame, adults: Mapping[str, float], names: Mapping[str, str], *,
                          language: str = "vi", threshold: int = SUPPRESSION_THRESHOLD,
                          ncols: int = 7) -> tuple[Figure, Figure]:
    """Weekly cumulative coverage (≥ 1 and ≥ 2 doses) of the province, and small multiples by district.

    `weekly`: week, district_code, dose1, dose2 (cumulative persons); `adults`: {district: adults}.
    Points are thinned with `thin_cumulative`; a district with fewer than `threshold` adults is left out."""
    weeks = sorted(pd.to_datetime(weekly["week"]).unique())
    prov = weekly.groupby("week")[["dose1", "dose2"]].sum().reindex(weeks, fill_value=0)
    total = float(sum(adults.values()))
    fig_p = _figure(8.5, 2.3)
    with matplotlib.rc_context(RC):
        ax = fig_p.add_subplot()
        for col in ("dose1", "dose2"):
            keep = thin_cumulative(prov[col].to_numpy(), threshold)
            x = np.asarray(weeks)[keep]
            ax.plot(x, prov[col].to_numpy()[keep] / total, color=COLORS[col], linewidth=2, label=t(col, language))
        ax.set_ylim(0, 1)
        _pct_axis(ax, language, "y")
        _month_axis(ax, language)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        ax.set_title(t("fig_trend_province", language), loc="left")
    dists = [d for d in sorted(adults, key=lambda d: str(names.get(d, d))) if adults[d] >= threshold
             and d in set(weekly["district_code"])]
    nrows = max(1, -(-len(dists) // ncols))
    fig_d = _figure(8.5, 0.4 + 1.0 * nrows)
    with matplotlib.rc_context(RC):
        axes = fig_d.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
        for k, ax in enumerate(axes.flat):
            if k >= len(dists):
                ax.set_axis_off()
                continue
            d = dists[k]
            g = weekly[weekly["district_code"] == d].set_index("week").reindex(weeks).fillna(0)
            for col in ("dose1", "dose2"):
                keep = thin_cumulative(g[col].to_numpy(), threshold)
                ax.plot(np.asarray(weeks)[keep], g[col].to_numpy()[keep] / adults[d], color=COLORS[col], linewidth=1.4)
            ax.set_title(str(names.get(d, d)), fontsize=8, loc="left", pad=2)
            ax.set_ylim(0, 1)
            ax.grid(axis="y", color="#eeeeee", linewidth=0.5)
            ax.tick_params(labelsize=6)
        _pct_axis(axes.flat[0], language, "y")
        _month_axis(axes.flat[0], language, short=True)
        fig_d.suptitle(t("fig_trend_districts", language), x=0.01, ha="left", fontsize=11)
    return fig_p, fig_d


QUALITY_COLORS = {"duplicate_dose_rate": "#c0392b", "missing_entry_rate": "#f0ad4e",
                  "unlinked_record_rate": "#6c5b7b"}


def trend_chart(periods: Sequence[str], series: Mapping[str, Sequence[float]], *,
                language: str = "vi", title: str | None = None) -> Figure:
    """Small line chart of rates across periods (the batch index): coverage on a 0–100% axis,
    other rates (duplicate, missing, unlinked) on an axis from 0 to their largest value."""
    fig = _figure(4.4, 1.6)
    with matplotlib.rc_context(RC):
        ax = fig.add_subplot()
        x = np.arange(len(periods))
        coverage = all("coverage" in name for name in series)
        top = 0.0
        for name, vals in series.items():
            v = np.asarray([np.nan if x is None else x for x in vals], dtype=float)
            top = max(top, np.nanmax(v) if np.isfinite(v).any() else 0.0)
            if coverage:
                key = "dose1" if "dose1" in name else "dose2"
                color, label = COLORS.get(key, COLORS["bar"]), t(key, language)
            else:
                color, label = QUALITY_COLORS.get(name, COLORS["muted"]), t_or(f"sc_{name}", name, language)
            ax.plot(x, v, marker="o", markersize=3, color=color, label=label)
        ax.set_xticks(x, list(periods), fontsize=7)
        ax.set_ylim(0, 1 if coverage else max(0.01, top * 1.25))
        if title:
            ax.set_title(title, loc="left", fontsize=8)
        _pct_axis(ax, language, "y")
        ax.tick_params(labelsize=7)
        # beside the plot, not over it: a legend inside covers the lines at the top or bottom
        ax.legend(fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig
