"""Checks across columns and tables at ingest: impossible date orders, unknown sites, and the
tally site-days whose counts were quarantined.

Each row check is SQL yielding NULL or ``<column> SEP <reason>`` over the row being typed
(the typed values are the ``"__t_<column>"`` columns of :mod:`vaxstudy.ingest`), so a row that
fails goes to quarantine with its reason and rows read = loaded + quarantined still holds.

* **Date orders** (vaccinations): vaccinated before the row's own date of birth (where it is
  a full date, or a year: then by year), entered before given (``entered_date`` earlier than
  ``vaccination_date``).
* **Unknown sites**: a vaccination row or a tally whose ``site_id`` (in the normal form of
  :mod:`vaxstudy.codes`) is not in ``sites`` is quarantined. We chose quarantine over a flag:
  a site that is not in ``sites`` has no district or province, so it cannot be placed in any
  figure's scope; quarantined, it is counted and shown with its reason, and no figure uses it.
* **Tally site-days** (``tally_excluded_days``): the site and day of every quarantined tally
  row whose site and date can be read. The missing-entry rates leave these site-days out of
  both their numerator (doses entered) and denominator (doses tallied)
  (:mod:`vaxstudy.estimate.data`): a count that cannot be read must not make the entered doses
  of its day look complete.
"""

from __future__ import annotations

EXCLUDED_DAYS = "tally_excluded_days"


def row_checks(table: str, mapping: dict[str, str], site: str | None, quote, lit, sep: str,
               date_sql) -> list[str]:
    """SQL checks of one row of ``table`` across its columns (see the module docstring).

    ``mapping``: contract column -> file column; ``site``: SQL of the row's site code (None
    when the table has none); ``quote``/``lit``: identifier and literal quoting;
    ``date_sql``: ingest's text -> DATE parser. ``sites`` must be loaded first."""
    checks: list[str] = []
    if table in ("vaccinations", "tallies") and site is not None:
        checks.append(
            f"CASE WHEN {site} IS NOT NULL AND {site} NOT IN (SELECT site_id FROM sites WHERE site_id IS NOT NULL) "
            f"THEN {lit('site_id' + sep + 'site_id not in sites: ' + chr(39))} || {site} || {lit(chr(39))} END")
    if table != "vaccinations":
        return checks
    vdate = quote("__t_vaccination_date")
    if "date_of_birth" in mapping:
        raw = f"trim({quote(mapping['date_of_birth'])})"
        dob = date_sql(quote(mapping["date_of_birth"]))
        checks.append(f"""CASE WHEN {vdate} IS NOT NULL AND (
                {vdate} < {dob}
                OR (regexp_full_match({raw}, '\\d{{4}}') AND year({vdate}) < TRY_CAST({raw} AS INTEGER)))
            THEN {lit('vaccination_date' + sep + 'vaccinated before birth: vaccination_date=')} || {vdate}
                 || {lit(' earlier than date_of_birth=')} || {raw} END""")
    if "entered_date" in mapping:
        entered = quote("__t_entered_date")
        checks.append(f"""CASE WHEN {vdate} IS NOT NULL AND {entered} < {vdate}
            THEN {lit('entered_date' + sep + 'entered before given: entered_date=')} || {entered}
                 || {lit(' earlier than vaccination_date=')} || {vdate} END""")
    return checks


def excluded_days_sql(checked: str) -> str:
    """SQL creating ``tally_excluded_days`` from the typed and checked tally rows."""
    return f"""CREATE OR REPLACE TABLE {EXCLUDED_DAYS} AS
        SELECT site_id, vaccination_date, min(_row) AS first_row, count(*) AS n_quarantined_rows
        FROM {checked}
        WHERE len(_reasons) > 0 AND site_id IS NOT NULL AND vaccination_date IS NOT NULL
        GROUP BY ALL ORDER BY ALL"""
