"""Report labels in Vietnamese (default) and English, and number and date formatting.

The strings live in one catalogue file per language, `report/locales/<lang>.yaml`
(sections `labels`, `checks`, `fields`): a translator edits one plain file, and a
missing translation is a KeyError a test catches, never a silent English word in
a Vietnamese report. (YAML rather than gettext .po/.mo: the strings are keyed,
multi-line and str.format-templated; a .mo needs a compile step and build
packaging this project does not otherwise have.) Vietnamese writes 1.234,5 and
dates as dd/mm/yyyy (Babel with the vi_VN locale; its own short
format is d/M/yy).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALES = {"vi": "vi_VN", "en": "en_GB"}
PARTS = ("labels", "checks", "fields", "comparisons", "levels")


@lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, dict[str, str]]:
    """The catalogue of `language`: {"labels": {...}, "checks": {...}, "fields": {...}}."""
    path = resources.files("vaxstudy.report").joinpath("locales", f"{check_language(language)}.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {part: dict(doc.get(part) or {}) for part in PARTS}


def _by_key(part: str) -> dict[str, dict[str, str]]:
    """{key: {language: text}} of one catalogue part (for tests and tools)."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        for k, v in catalogue(lang)[part].items():
            out.setdefault(k, {})[lang] = v
    return out


def check_language(language: str) -> str:
    lang = (language or DEFAULT_LANGUAGE).lower()
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    return lang


def t_or(key: str, fallback: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The label `key` if there is one, else `fallback` (for codes of other modules)."""
    return t(key, language) if key in catalogue(check_language(language))["labels"] else fallback


def t(key: str, language: str = DEFAULT_LANGUAGE, **fields: Any) -> str:
    """The label `key` in `language`, with str.format `fields` filled in."""
    text = catalogue(check_language(language))["labels"][key]
    return text.format(**fields) if fields else text


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def fmt_number(x: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """1234.5 -> '1.234,5' (vi) or '1,234.5' (en), by the locale's rules (Babel). Missing -> '–'."""
    from babel.numbers import format_decimal

    if _is_missing(x):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(float(x), format=pattern, locale=LOCALES[check_language(language)])


def fmt_int(x: Any, language: str = DEFAULT_LANGUAGE) -> str:
    return fmt_number(x, language, 0)


def fmt_pct(x: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.8734 -> '87,3%' (vi) / '87.3%' (en)."""
    if _is_missing(x):
        return "–"
    return fmt_number(float(x) * 100.0, language, decimals) + "%"


def fmt_interval(ci: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """[low, high] fractions -> '85,1%–89,0%'; missing -> '–'. Beside its point estimate,
    use :func:`fmt_estimate` (an interval narrower than the printed precision)."""
    if ci is None or len(ci) != 2 or any(_is_missing(v) for v in ci):
        return "–"
    return f"{fmt_pct(ci[0], language, decimals)}–{fmt_pct(ci[1], language, decimals)}"


MOST_DECIMALS = 4  # of a percentage: metrics.json's 6 decimals of a fraction


def fmt_estimate(point: Any, ci: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 1) -> tuple[str, str]:
    """A point estimate and its 95% interval, as (point, interval) texts that never show the
    point as an end it is not. Where the whole interval rounds to the printed point (narrower
    than the printed precision), the interval reads '±<0,05 điểm %' (half the last digit);
    where only one end does, both are printed with as many more decimals as it takes to tell
    that end from the point. A degenerate interval (both ends at the point) is printed as is;
    one with the point at one end only is marked one-sided (the methods text says when)."""
    p_txt, ci_txt = fmt_pct(point, language, decimals), fmt_interval(ci, language, decimals)
    if _is_missing(point) or ci_txt == "–":
        return p_txt, ci_txt
    ends = [float(v) for v in ci if float(v) != float(point)]
    if len(ends) == 1:
        p_txt, ci_txt = _fmt_two_sided(point, ci, ends, language, decimals, plus_minus=False)
        return p_txt, t("ci_one_sided", language, ci=ci_txt)
    return _fmt_two_sided(point, ci, ends, language, decimals)


def _fmt_two_sided(point: Any, ci: Any, ends: list[float], language: str, decimals: int,
                   plus_minus: bool = True) -> tuple[str, str]:
    """fmt_estimate's texts of an interval whose ends ``ends`` differ from the point (a one-sided
    interval, ``plus_minus`` False, never reads '±<')."""
    p_txt, ci_txt = fmt_pct(point, language, decimals), fmt_interval(ci, language, decimals)

    def collide(d: int) -> list[bool]:
        pt = fmt_pct(point, language, d)
        return [fmt_pct(v, language, d) == pt for v in ends]

    if not ends or not any(collide(decimals)):
        return p_txt, ci_txt
    if plus_minus and all(collide(decimals)):
        half = fmt_number(0.5 * 10.0**-decimals, language, decimals + 1)
        return p_txt, t("ci_below_precision", language, half=half)
    d = next((k for k in range(decimals + 1, MOST_DECIMALS + 1) if not any(collide(k))), MOST_DECIMALS)
    return fmt_pct(point, language, d), fmt_interval(ci, language, d)


def fmt_date(d: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """ISO date -> '31/10/2021' (vi) or '31 Oct 2021' (en)."""
    from babel.dates import format_date

    if _is_missing(d):
        return "–"
    if isinstance(d, str):
        d = _dt.date.fromisoformat(d[:10])
    elif isinstance(d, _dt.datetime):
        d = d.date()
    elif hasattr(d, "date") and not isinstance(d, _dt.date):  # pandas Timestamp
        d = d.date()
    lang = check_language(language)
    if lang == "vi":
        return format_date(d, format="dd/MM/yyyy", locale=LOCALES[lang])
    return format_date(d, format="d MMM yyyy", locale=LOCALES[lang])


def check_label(check: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A data-quality check's name in words ('empty:phone' -> 'Trống: số điện thoại'); unknown names as is."""
    lang = check_language(language)
    if check.startswith("empty:"):
        field_name = check.split(":", 1)[1]
        label = catalogue(lang)["fields"].get(field_name, field_name)
        return t("empty_field", lang, field=label)
    return catalogue(lang)["checks"].get(check, check)


LABELS = _by_key("labels")  # {key: {language: text}}, read from the catalogues
CHECKS = _by_key("checks")
FIELDS = _by_key("fields")


def check_order(check: str) -> tuple[int, str]:
    """Sort key of a check: its place in the catalogue (entered within 1, 7, 30 days), not its spelling."""
    keys = list(catalogue(DEFAULT_LANGUAGE)["checks"])
    return (keys.index(check), check) if check in keys else (len(keys), check)


def level_label(comparison: str, level: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A Splink comparison level in words of `language`: 'dob: dob exact' -> 'Ngày sinh: trùng khớp'.

    The catalogue's `levels` section holds the labels of vaxstudy's linkage settings, with the
    compared field written `{part}`; a label it does not know is shown by its position only in
    a language other than English (never an English phrase in a Vietnamese report)."""
    lang = check_language(language)
    cat = catalogue(lang)
    comp = cat["comparisons"].get(comparison, comparison)
    if lang == "en":
        return f"{comp}: {level}"
    generic = level.replace(comparison, "{part}") if comparison else level
    for key in (level, generic):
        if key in cat["levels"]:
            return f"{comp}: " + cat["levels"][key].format(part=comp.lower())
    return f"{comp}: " + t("level_other", lang)


_REASONS = (  # value-free quarantine reasons of ingest (report.data.generic_reason) -> label key
    (re.compile(r"^missing (\w+)$"), "reason_missing"),
    (re.compile(r"^unparseable date (\w+)$"), "reason_unparseable_date"),
    (re.compile(r"^impossible date (\w+)$"), "reason_impossible_date"),
    (re.compile(r"^(\w+) is not .*$"), "reason_invalid"),
    (re.compile(r"^duplicate (\w+)$"), "reason_duplicate"),
    (re.compile(r"^(site_id) not in sites.*$"), "reason_unknown_site"),
    (re.compile(r"^vaccinated before birth()$"), "reason_before_birth"),  # vaxstudy.integrity
    (re.compile(r"^entered before given()$"), "reason_entered_before_given"),
)


def reason_label(reason: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A quarantine reason in words of `language` ('missing site_id' -> 'Thiếu mã điểm tiêm');
    English keeps ingest's wording; a reason without a pattern is named only generically."""
    lang = check_language(language)
    if lang == "en":
        return reason
    fields = catalogue(lang)["fields"]
    for pattern, key in _REASONS:
        m = pattern.match(reason.strip())
        if m:
            return t(key, lang, field=fields.get(m.group(1), m.group(1)))
    return t("reason_other", lang)


def table_label(table: str, language: str = DEFAULT_LANGUAGE) -> str:
    """An input table's name in words ('vaccinations' -> 'Tiêm chủng'); unknown names as is."""
    return t_or(f"table_{table}", table, language)
