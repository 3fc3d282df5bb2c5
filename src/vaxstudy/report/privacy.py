"""Scan rendered outputs for personal identifiers: names, ID numbers, phones.

A report must hold aggregates only. `scan_files` looks through a rendered
.html / .ipynb (and `scan_folder` through every file of the shareable folder)
for every full name, person_id, ID number and phone of the input and returns
what it found (masked, so the finding itself leaks nothing). Text is compared
after Unicode NFC + case folding, names as whole word sequences, numbers as
digit runs with spaces, dots or dashes allowed between digits. Embedded images
are binary, not text, and are skipped.

Diacritics: a name of three words or more is also searched without its
diacritics (the registry holds names typed without them), but only in text
written without diacritics. Where the text has them, they are compared: with
millions of residents some names fold into ordinary words of the report's own
Vietnamese ("Lê Bảo Phú" folds to "le bao phu", as does "tỷ lệ bao phủ",
coverage rate), and those words, written with their diacritics, are no name.

The identifiers are held as 64-bit hashes in sorted arrays (a province's millions of names
and numbers in tens of MB, looked up in bulk), kept beside the database (`identifier_store`).
The hashes are DuckDB's `hash()` of the normalised text, so the database builds
the set itself (`identifiers_from_db`: normalising, splitting and hashing run as
SQL over the distinct values); values holding a character the SQL rules do not
treat exactly as Python does (outside `SQL_SAFE`) go through the Python rules.
A scan looks up only the windows of text whose every word occurs in some name.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

from vaxstudy.report import identifier_store as store
from vaxstudy.report.filetext import IMAGE_SUFFIXES, file_text, folder_text

_NON_DIGIT = re.compile(r"\D")
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d)*")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
MIN_NUMBER_DIGITS = 8
#: a decimal fraction as tables print it (0.010469057942451714): its long tail of digits is
#: arithmetic, not an identifier; only the whole part is a number (phones written with one
#: dot have four digits or more before it)
_DECIMAL_FRACTION = re.compile(r"(\d{1,3})\.\d{6,}")


class PrivacyError(RuntimeError):
    """A rendered output holds a personal identifier."""


@dataclass(frozen=True)
class Finding:
    file: str
    kind: str  # "name" or "number"
    masked: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind} {self.masked}"


def _mask(s: str) -> str:
    return s[:2] + "…" + s[-1:] if len(s) > 3 else "…"


#: Combining marks (the diacritics of NFD text).
_COMBINING = "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_COMBINING_RE = re.compile(_COMBINING)


def fold(s: str) -> str:
    """Lower-case, diacritic-free form (đ → d)."""
    return _COMBINING_RE.sub("", unicodedata.normalize("NFD", s.casefold())).replace("đ", "d")


def _words(s: str) -> list[str]:
    return [w for w in _NON_WORD.sub(" ", unicodedata.normalize("NFC", s).casefold()).split() if w]


def place_names() -> set[tuple[str, ...]]:
    """Every province, district and commune name (word tuples): public, and printed in reports.

    Some Vietnamese person names are also place names ("Hoàng Mai" is a
    person and a town of Nghệ An); such a name in a report is the place and
    identifies no one, so the scan does not count it.
    """
    from vaxstudy import geo

    out: set[tuple[str, ...]] = set()
    for df, col in ((geo.provinces(), "province_name"), (geo.districts(), "district_name"),
                    (geo.communes(), "commune_name")):
        for x in df[col].dropna():
            w = tuple(_words(str(x)))
            out.add(w)
            out.add(tuple(fold(v) for v in w))
    return out


_HASHER = threading.local()  # one in-memory DuckDB connection per thread


def keys(strings: list[str]) -> np.ndarray:
    """The 64-bit keys (DuckDB's ``hash``, as int64) of ``strings``, in order: the same key
    the database gives the same text, so the set can be built in SQL (a collision can only
    add a finding)."""
    if not strings:
        return np.empty(0, dtype=np.int64)
    import duckdb
    import pyarrow as pa

    con = getattr(_HASHER, "con", None)
    if con is None:
        con = _HASHER.con = duckdb.connect()
    con.register("_vx_texts", pa.table({"s": pa.array(strings, type=pa.string())}))
    try:
        h = con.execute("SELECT hash(s) AS h FROM _vx_texts").fetchnumpy()["h"]
    finally:
        con.unregister("_vx_texts")
    return np.asarray(h, dtype=np.uint64).view(np.int64)


def _key(tokens: tuple[str, ...] | str) -> int:
    """The key of a word tuple (its words joined by one space) or a digit string."""
    return int(keys([" ".join(tokens) if isinstance(tokens, tuple) else tokens])[0])


class HashSet:
    """A set of 64-bit keys in a sorted array: small, and looked up many at a time.

    ``sizes`` holds the word counts (or digit lengths) present, so a scan only tries those."""

    def __init__(self) -> None:
        self._pending: list[np.ndarray] = []
        self._keys = np.empty(0, dtype=np.int64)
        self.sizes: set[int] = set()

    @classmethod
    def of_sorted(cls, keys: np.ndarray, sizes: set[int]) -> "HashSet":
        """The set of ``keys``, already sorted and distinct (as :func:`identifier_store.load` gives)."""
        hs = cls()
        hs._keys, hs.sizes = keys, set(sizes)
        return hs

    def add(self, tokens: tuple[str, ...] | str) -> None:
        self.add_keys([_key(tokens)], [len(tokens)])

    def add_keys(self, keys, sizes) -> None:
        """Many keys at once (from :func:`keys`), with the sizes they have."""
        self._pending.append(np.asarray(keys, dtype=np.int64))
        self.sizes.update(int(n) for n in sizes)

    def _flush(self) -> np.ndarray:
        if self._pending:
            k = np.concatenate([self._keys, *self._pending])
            k.sort()
            self._keys = k[np.r_[True, k[1:] != k[:-1]]] if len(k) else k
            self._pending = []
        return self._keys

    def contains_many(self, keys: np.ndarray) -> np.ndarray:
        arr = self._flush()
        keys = np.asarray(keys, dtype=np.int64)
        if not len(arr) or not len(keys):
            return np.zeros(len(keys), dtype=bool)
        pos = np.minimum(np.searchsorted(arr, keys), len(arr) - 1)
        return arr[pos] == keys

    def __contains__(self, tokens) -> bool:
        return bool(self.contains_many(np.asarray([_key(tokens)], dtype=np.int64))[0])

    def __len__(self) -> int:
        return len(self._flush())

    def __bool__(self) -> bool:
        return len(self) > 0


@dataclass
class Identifiers:
    """What must never appear: name word-tuples and digit strings (as hashes).

    Names equal to a word tuple in `allowed` (place names) are not searched.
    """

    names: HashSet = field(default_factory=HashSet)
    folded_names: HashSet = field(default_factory=HashSet)
    numbers: HashSet = field(default_factory=HashSet)
    allowed: set[tuple[str, ...]] = field(default_factory=set)
    #: every word of a name (and of a folded name): a window of text is looked up only if
    #: all its words are here
    words: HashSet = field(default_factory=HashSet)
    folded_words: HashSet = field(default_factory=HashSet)
    _allowed_keys: tuple[HashSet, HashSet] | None = field(default=None, repr=False)

    def add_names(self, names: Iterable) -> None:
        """Names of two words or more, as word sequences (and diacritic-free from three words).
        Each distinct value once (a plain loop: faster here than pandas' string methods)."""
        allowed = {" ".join(a) for a in self.allowed}
        joined, folded, sizes, fsizes, vocab, fvocab = [], [], set(), set(), set(), set()
        for n in set(names):
            if not isinstance(n, str):
                continue
            w = _words(n)
            if len(w) < 2:
                continue
            fw = [fold(x) for x in w]
            j, f = " ".join(w), " ".join(fw)
            if j in allowed or f in allowed:
                continue
            joined.append(j)
            sizes.add(len(w))
            vocab.update(w)
            if len(w) >= 3:
                folded.append(f)
                fsizes.add(len(w))
                fvocab.update(fw)
        self.names.add_keys(keys(joined), sizes)
        self.folded_names.add_keys(keys(folded), fsizes)
        self.words.add_keys(keys(sorted(vocab)), [1])
        self.folded_words.add_keys(keys(sorted(fvocab)), [1])

    def add_numbers(self, values: Iterable) -> None:
        """Digit strings of 8 digits or more, with their other phone forms (+84 / leading 0)."""
        forms: set[str] = set()
        for v in set(values):
            if v is None:
                continue
            d = _NON_DIGIT.sub("", str(v))
            if len(d) < MIN_NUMBER_DIGITS:
                continue
            forms.add(d)
            if d.startswith("84") and len(d) in (11, 12):
                forms.add("0" + d[2:])
            if d.startswith("0") and len(d) >= MIN_NUMBER_DIGITS + 2:
                forms.add(d[1:])
        forms = {f for f in forms if len(f) >= MIN_NUMBER_DIGITS}
        self.numbers.add_keys(keys(sorted(forms)), {len(f) for f in forms})

    def add_names_sql(self, con, columns: Iterable[tuple[str, str]]) -> None:
        """:meth:`add_names` over the (table, column) pairs of the database open on ``con``, run
        as SQL over their distinct values; those with a character outside :data:`SQL_SAFE`
        (after NFC) through the Python rules."""
        import pyarrow as pa

        from vaxstudy.sql import literal

        src = store.distinct_sql(columns)
        if src is None:
            return
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _vx_names AS
            SELECT s, x, NOT regexp_matches(x, {literal(_SQL_OUTSIDE)})
                         AND NOT regexp_matches(x, {literal(_SQL_UNSAFE_CLASS)}) AS safe
            FROM (SELECT s, nfc_normalize(s) AS x FROM ({src}))""")
        con.register("_vx_allowed", pa.table({"a": pa.array(sorted({" ".join(a) for a in self.allowed}),
                                                            type=pa.string())}))
        try:
            self.add_names(r[0] for r in con.execute("SELECT s FROM _vx_names WHERE NOT safe").fetchall())
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _vx_words AS
                WITH w AS (
                    SELECT list_filter(string_split(regexp_replace(lower(x), {literal(_SQL_NON_WORD)}, ' ', 'g'),
                                                    ' '), lambda v: v <> '') AS w
                    FROM _vx_names WHERE safe),
                f AS (SELECT w, list_transform(w, lambda v: replace(strip_accents(v), 'đ', 'd')) AS fw
                      FROM w WHERE len(w) >= 2),
                jf AS (SELECT w, fw, array_to_string(w, ' ') AS j, array_to_string(fw, ' ') AS f FROM f)
                SELECT * FROM jf ANTI JOIN _vx_allowed x ON jf.j = x.a ANTI JOIN _vx_allowed y ON jf.f = y.a""")
            for target, sql in (
                    (self.names, "SELECT DISTINCT hash(j) k, len(w) n FROM _vx_words"),
                    (self.folded_names, "SELECT DISTINCT hash(f) k, len(w) n FROM _vx_words WHERE len(w) >= 3"),
                    (self.words, "SELECT DISTINCT hash(v) k, 1 n FROM (SELECT unnest(w) v FROM _vx_words)"),
                    (self.folded_words, "SELECT DISTINCT hash(v) k, 1 n FROM (SELECT unnest(fw) v FROM _vx_words "
                                        "WHERE len(w) >= 3)")):
                r = con.execute(sql).fetchnumpy()
                target.add_keys(np.asarray(r["k"], dtype=np.uint64).view(np.int64), set(r["n"].tolist()))
        finally:
            con.unregister("_vx_allowed")
            con.execute("DROP TABLE IF EXISTS _vx_names")
            con.execute("DROP TABLE IF EXISTS _vx_words")

    def add_numbers_sql(self, con, columns: Iterable[tuple[str, str]]) -> None:
        """:meth:`add_numbers` over the (table, column) pairs of the database open on ``con``,
        run as SQL over their distinct values; those holding a character beyond ASCII (a digit
        of another script) through the Python rules."""
        src = store.distinct_sql(columns)
        if src is None:
            return
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _vx_numbers AS
            SELECT s, strlen(s) = length(s) AS plain FROM ({src})""")  # bytes = characters: ASCII
        try:
            self.add_numbers(r[0] for r in con.execute("SELECT s FROM _vx_numbers WHERE NOT plain").fetchall())
            r = con.execute(f"""
                WITH d AS (SELECT regexp_replace(s, '[^0-9]', '', 'g') AS d FROM _vx_numbers WHERE plain),
                forms AS (
                    SELECT d FROM d
                    UNION SELECT '0' || d[3:] FROM d WHERE starts_with(d, '84') AND length(d) IN (11, 12)
                    UNION SELECT d[2:] FROM d WHERE starts_with(d, '0') AND length(d) >= {MIN_NUMBER_DIGITS + 2})
                SELECT hash(d) k, length(d) n FROM forms WHERE length(d) >= {MIN_NUMBER_DIGITS}""").fetchnumpy()
            self.numbers.add_keys(np.asarray(r["k"], dtype=np.uint64).view(np.int64), set(r["n"].tolist()))
        finally:
            con.execute("DROP TABLE IF EXISTS _vx_numbers")

    def place_cover(self, words: list[str], word_keys: np.ndarray) -> np.ndarray:
        """Per word of a text: True where it lies in a place name of ``allowed`` written out
        in full ("Hà Huy" inside "phường Hà Huy Tập" is the ward, whoever is called Hà Huy).
        ``word_keys``: :func:`keys` of the words."""
        cover = np.zeros(len(words), dtype=bool)
        if not self.allowed or not words:
            return cover
        if self._allowed_keys is None:
            names, vocab = HashSet(), HashSet()
            by_size: dict[int, list[str]] = {}
            for a in self.allowed:
                by_size.setdefault(len(a), []).append(" ".join(a))
            for n, joined in by_size.items():
                names.add_keys(keys(sorted(joined)), [n])
            vocab.add_keys(keys(sorted({w for a in self.allowed for w in a})), [1])
            self._allowed_keys = (names, vocab)
        names, vocab = self._allowed_keys
        known = vocab.contains_many(word_keys).astype(int)
        for n in sorted(names.sizes):
            if n > len(words) or n < 1:
                continue
            starts = np.flatnonzero(np.convolve(known, np.ones(n, dtype=int), mode="valid") == n)
            if not len(starts):
                continue
            for i in starts[names.contains_many(keys([" ".join(words[i:i + n]) for i in starts]))]:
                cover[i:i + n] = True
        return cover

    def __len__(self) -> int:
        return len(self.names) + len(self.numbers)


def _sql_safe_class() -> str:
    """A regular expression (RE2) matching text made only of characters on which DuckDB's
    ``lower``, ``strip_accents`` and ``[\\p{L}\\p{N}_]`` agree with Python's casefold,
    :func:`fold` and ``\\w`` (checked character by character in the tests): ASCII, Latin-1,
    Latin Extended-A/B and the Vietnamese letters, less a few with multi-letter case folds."""
    runs: list[list[int]] = []
    for c in (c for lo, hi in SQL_RANGES for c in range(lo, hi + 1) if chr(c) not in SQL_UNSAFE):
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "[" + "".join(f"\\x{{{x:04X}}}-\\x{{{y:04X}}}" for x, y in runs) + "]*"


SQL_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x1E00, 0x1EFF))
#: characters of the ranges above whose Python case fold differs from DuckDB's lower-casing
SQL_UNSAFE = frozenset("µßİŉſǰẖẗẘẙẚẛẞ")
SQL_SAFE = _sql_safe_class()
_SQL_OUTSIDE = "[^" + "".join(f"\\x{{{lo:04X}}}-\\x{{{hi:04X}}}" for lo, hi in SQL_RANGES) + "]"
_SQL_UNSAFE_CLASS = "[" + "".join(sorted(SQL_UNSAFE)) + "]"
_SQL_NON_WORD = "[^\\p{L}\\p{N}_]+"


def identifiers_from_db(db_path: str | Path) -> Identifiers:
    """Every name, person_id, ID number and phone in the raw (and standardised) tables.

    Kept in memory per database file (path, size and modification time), and on disk beside it
    per state of its source tables (:mod:`~vaxstudy.report.identifier_store`, written at the
    end of standardise): every period rendered from one province's database scans against it."""
    p = Path(db_path).resolve()
    st = p.stat()
    return _identifiers_cached(str(p), st.st_size, st.st_mtime_ns)


def store_identifiers(db_path: str | Path) -> None:
    """Build the set of ``db_path`` and keep it beside the database, unless the one kept is current."""
    _load_or_build(str(Path(db_path).resolve()))


@lru_cache(maxsize=2)
def _identifiers_cached(db_path: str, size: int, mtime_ns: int) -> Identifiers:
    return _load_or_build(db_path)


def _load_or_build(db_path: str) -> Identifiers:
    """The set kept beside the database if its fingerprint is the database's now, else built and kept."""
    import duckdb

    allowed = place_names()
    rules = hashlib.sha256(Path(__file__).read_bytes() + repr(sorted(allowed)).encode()).hexdigest()
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        names, numbers, types = store.source_columns(con)
        fp = store.fingerprint(con, names + numbers, types, rules)
        if (kept := store.load(store.path_for(db_path), fp)) is not None:
            return Identifiers(allowed=allowed, **{p: HashSet.of_sorted(*kept[p]) for p in store.PARTS})
        ids = Identifiers(allowed=allowed)
        ids.add_names_sql(con, names)  # each distinct value once, whichever columns hold it
        ids.add_numbers_sql(con, numbers)
        # sorted (_flush) here, in the builder's thread, not at the first look-up
        store.save(store.path_for(db_path), {p: (getattr(ids, p)._flush(), getattr(ids, p).sizes)
                                             for p in store.PARTS}, fp)
    finally:
        con.close()
    return ids


def scan_text(text: str, ids: Identifiers, label: str = "<text>") -> list[Finding]:
    found: list[Finding] = []
    # numbers: every digit run, and every window of it as long as a known number
    if ids.numbers:
        lengths = sorted(ids.numbers.sizes)
        subs: list[str] = []  # every window of every run, hashed at once
        where: list[tuple[int, int]] = []  # (run, length) of each window
        for r, m in enumerate(_DIGIT_RUN.finditer(text)):
            if m.end() - m.start() < MIN_NUMBER_DIGITS:  # fewer characters, fewer digits
                continue
            frac = _DECIMAL_FRACTION.fullmatch(m.group())
            digits = frac.group(1) if frac else _NON_DIGIT.sub("", m.group())
            if len(digits) < MIN_NUMBER_DIGITS:
                continue
            for L in lengths:
                for i in range(len(digits) - L + 1):
                    subs.append(digits[i:i + L])
                    where.append((r, L))
        hits = ids.numbers.contains_many(keys(subs))
        first: dict[int, tuple[int, str]] = {}  # per run: its shortest known length, first window
        for (r, L), sub, hit in zip(where, subs, hits):
            if hit and (r not in first or L < first[r][0]):
                first[r] = (L, sub)
        found += [Finding(label, "number", _mask(sub)) for _, (_, sub) in sorted(first.items())]
    # names, as whole word sequences; the diacritic-free pass skips what the first found and
    # looks only at words written without diacritics (see the module docstring); a window is
    # looked up only when each of its words occurs in some name
    words = _words(text)
    distinct = sorted(set(words))
    word_key = dict(zip(distinct, keys(distinct)))
    is_plain = {w: fold(w) == w for w in distinct}
    plain = np.asarray([is_plain[w] for w in words], dtype=bool)
    wkeys = np.asarray([word_key[w] for w in words], dtype=np.int64)
    place = ids.place_cover(words, wkeys)
    matched: set[int] = set()
    for names, vocab, folded in ((ids.names, ids.words, False), (ids.folded_names, ids.folded_words, True)):
        if not names or not words:
            continue
        known = vocab.contains_many(wkeys) if vocab else np.ones(len(words), dtype=bool)
        if folded:  # every word of the window without diacritics
            known &= plain
        for k in sorted(names.sizes):
            if k > len(words):
                break
            run = np.convolve(known.astype(int), np.ones(k, dtype=int), mode="valid")
            starts = np.flatnonzero(run == k)
            if not len(starts):
                continue
            found_at = names.contains_many(keys([" ".join(words[i:i + k]) for i in starts]))
            for i in starts[found_at]:
                if int(i) in matched or place[i:i + k].all():  # inside a place name written out
                    continue
                matched.add(int(i))
                found.append(Finding(label, "name", _mask(" ".join(words[i:i + k]))))
    return found


def scan_files(paths: Iterable[str | Path], ids: Identifiers) -> list[Finding]:
    """Findings in every file (empty list = clean)."""
    out: list[Finding] = []
    for p in paths:
        out.extend(scan_text(file_text(p), ids, label=Path(p).name))
    return out


def scan_folder(folder: str | Path, ids: Identifiers) -> list[Finding]:
    """Findings in every file under ``folder`` (the shareable folder of a run), pictures
    excepted; an unreadable table counts as a finding (fail closed)."""
    out: list[Finding] = []
    for p in sorted(Path(folder).rglob("*")):
        if not p.is_file() or p.name.lower().endswith(IMAGE_SUFFIXES):
            continue
        label = str(p.relative_to(folder))
        try:
            text = folder_text(p)
        except Exception as exc:  # noqa: BLE001 - cannot read it, cannot vouch for it
            out.append(Finding(label, "unreadable", type(exc).__name__))
            continue
        out.extend(scan_text(text, ids, label=label))
    return out


def assert_folder_clean(folder: str | Path, ids: Identifiers) -> None:
    """Raise :class:`PrivacyError` when any file of ``folder`` holds a personal identifier."""
    findings = scan_folder(folder, ids)
    if findings:
        shown = "; ".join(str(f) for f in findings[:5])
        raise PrivacyError(f"{len(findings)} personal identifier(s) in {folder}: {shown}")


def assert_clean(paths: Iterable[str | Path], ids: Identifiers) -> None:
    findings = scan_files(paths, ids)
    if findings:
        shown = "; ".join(str(f) for f in findings[:5])
        raise PrivacyError(f"{len(findings)} personal identifier(s) in rendered output: {shown}")
