"""Duplicate-subject pairs and duplicate-dose pairs, read from record_links (one query each).

Reusable by anything that lists what the link stage called duplicates (the review sample,
worklists). Both queries are DuckDB SQL over ``record_links`` joined to the raw
``vaccinations`` table (subject_id, dose_number, entry order ``_row``):

* a *duplicate-subject pair* is (a later profile, the first profile) of one estimated
  person: for each ``person_key`` the subject_ids are ordered by their first row, and every
  subject after the first is paired with the first. There are n_subjects − n_persons such
  pairs, the numerator of ``duplicate_subject_rate`` (CONTRACT §3).
* a *duplicate-dose pair* is (a row flagged ``is_duplicate_dose``, the earliest row of the
  same person_key and dose_number): the row it repeats.
"""

from __future__ import annotations


def duplicate_subject_pairs_sql(links: str = "record_links", vax: str = "vaccinations") -> str:
    """Columns: person_key, linked (the key is a register person), subject_id, record_id (its
    first row), first_subject_id, first_record_id."""
    return f"""
    WITH r AS (
      SELECT CAST(l.record_id AS VARCHAR) AS record_id, l.person_key, l.person_id,
             CAST(v.subject_id AS VARCHAR) AS subject_id, v._row
      FROM {links} l JOIN {vax} v ON CAST(v.record_id AS VARCHAR) = CAST(l.record_id AS VARCHAR)),
    s AS (
      SELECT person_key, subject_id, bool_or(person_id IS NOT NULL) AS linked,
             arg_min(record_id, _row) AS record_id, min(_row) AS first_row
      FROM r GROUP BY person_key, subject_id),
    o AS (
      SELECT *, row_number() OVER (PARTITION BY person_key ORDER BY first_row, subject_id) AS k
      FROM s)
    SELECT o.person_key, o.linked, o.subject_id, o.record_id,
           f.subject_id AS first_subject_id, f.record_id AS first_record_id
    FROM o JOIN o f ON f.person_key = o.person_key AND f.k = 1
    WHERE o.k > 1
    """


def duplicate_dose_pairs_sql(links: str = "record_links", vax: str = "vaccinations") -> str:
    """Columns: person_key, dose_number, record_id (the flagged row), first_record_id (the row
    it repeats), same_subject (both rows of one profile)."""
    return f"""
    WITH r AS (
      SELECT CAST(l.record_id AS VARCHAR) AS record_id, l.person_key, l.is_duplicate_dose,
             TRY_CAST(v.dose_number AS INTEGER) AS dose_number,
             CAST(v.subject_id AS VARCHAR) AS subject_id, v._row
      FROM {links} l JOIN {vax} v ON CAST(v.record_id AS VARCHAR) = CAST(l.record_id AS VARCHAR)),
    f AS (
      SELECT person_key, dose_number, arg_min(record_id, _row) AS first_record_id,
             arg_min(subject_id, _row) AS first_subject_id
      FROM r WHERE dose_number IS NOT NULL GROUP BY person_key, dose_number)
    SELECT r.person_key, r.dose_number, r.record_id, f.first_record_id,
           r.subject_id = f.first_subject_id AS same_subject
    FROM r JOIN f USING (person_key, dose_number)
    WHERE r.is_duplicate_dose AND r.record_id <> f.first_record_id
    """
