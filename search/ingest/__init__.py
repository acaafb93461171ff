"""The Document model and the loaders that turn files into documents.

A source is a file, a folder (read recursively) or a .zip / .tar.gz / .tgz
archive. Each file's format is chosen by its content, not its name:

* TREC/ANT SGML: ``<DOC> … </DOC>`` blocks, several per file allowed;
* JSON Lines, or a JSON array (or a single object) of documents;
* the seed's plain-text layout (title, comment count, outlet, author, paragraphs);
* any other text: the first line is the title, the rest the body.

Real data is dirty, so loading never raises on a bad document: every input
document ends up either as a :class:`Document` or as a :class:`Problem`
naming the file, the position inside it and the reason. Files stream record
by record, so :class:`LoadLimits` bound one record, never a file; text that
cannot be stored (lone surrogates, NUL) is replaced with a warning; only
regular files are opened, and symbolic links are followed or reported.
"""

from __future__ import annotations

import codecs
import errno
import functools
import hashlib
import html
import io
import itertools
import json
import math
import os
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, AnyStr

from search.analysis import ARABIC_LETTERS, ascii_digits, month_number, written_form

# Defaults of the limits that keep one hostile record from exhausting memory.
MAX_BODY_CHARS = 1_000_000  # a longer body is cut (with a warning): no news article is this long
MAX_RECORD_BYTES = 64 * 1024 * 1024  # one JSON line, one <DOC> block, one plain-text or JSON file
MAX_FIELD_CHARS = 2_000  # title, url, source, category, author, id
MAX_ARCHIVE_MEMBERS = 100_000
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
HEAD_BYTES = 64 * 1024  # enough of a file to choose its format
CHUNK_BYTES = 1024 * 1024  # files are read in pieces this big, whatever their size


@dataclass(frozen=True)
class LoadLimits:
    """Limits on one record, never on a file: files of any size stream record by record."""

    max_body_chars: int = MAX_BODY_CHARS
    max_record_bytes: int = MAX_RECORD_BYTES
    max_field_chars: int = MAX_FIELD_CHARS
    max_archive_members: int = MAX_ARCHIVE_MEMBERS


# The lead, a field of its own in the ranking: on the development sets a headline's words in the
# first 40 words of the body point to its article (benchmarks/results/quality.md, "no lead field").
LEAD_WORDS = 40
_LEAD = re.compile(r"\s*(?:\S+\s*){1,%d}" % LEAD_WORDS)


@dataclass
class Document:
    """One article, as indexed and as shown."""

    id: str
    title: str = ""
    body: str = ""
    url: str = ""
    source: str = ""
    category: str = ""
    author: str = ""
    date: datetime | None = None
    origin: str = ""  # where it was read from: file (and member) and position
    group: str = ""  # its story group's key (search.grouping), set by the writer

    @property
    def lead(self) -> str:
        """The body's first LEAD_WORDS words: where a news article restates its headline."""
        found = _LEAD.match(self.body)
        return found.group(0) if found else ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "source": self.source,
            "category": self.category,
            "author": self.author,
            "date": self.date.isoformat() if self.date else None,
        }


@dataclass
class Problem:
    """A document (or a whole file) that could not be loaded, and why."""

    where: str  # file, archive member and position
    reason: str  # a short category: "empty body", "not valid JSON" …
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def read(self) -> int:
        """Documents read: those loaded plus those reported."""
        return len(self.documents) + len(self.problems)


# Characters a stored or shown text cannot hold: lone surrogates (half an emoji, a
# JSON "\ud83d") cannot be written as UTF-8, and NUL ends strings in C libraries.
UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
REPLACEMENT = "\ufffd"  # what such a character becomes
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0 and C1 control characters: refused in ids
# Invisible characters: refused in ids, where they would make one id show as another: Unicode's
# default-ignorable code points (bidi controls, an override turning «abc» on screen into what reads
# «cba»; zero-width spaces, the byte order mark, soft hyphens, variation selectors, fillers) and line
# and paragraph separators. Not ZWNJ and ZWJ, which Persian and Urdu words are written with, nor the
# Arabic number signs and the end of ayah (۝), which are format characters that show.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def invisible_characters(text: str) -> list[str]:
    """The invisible characters an id may not hold, as U+XXXX, each once."""
    return sorted({f"U+{ord(ch):04X}" for ch in _INVISIBLE.findall(text)})


TEXT_FIELDS = ("title", "body", "url", "source", "category", "author")
# What no text field keeps either (HTML parse errors, never text): C0 controls but tab, line feed
# and carriage return, DEL, C1 controls, and the noncharacters (U+FDD0-U+FDEF and the last two
# code points of every plane, U+FFFE and U+FFFF among them). Left out, except the controls old
# word processors and mainframes broke lines with: vertical tab, form feed and next line (NEL),
# a line break in the body and a space in the one-line fields.
LINE_BREAK_CONTROLS = re.compile("[\x0b\x0c\x85]")
NOT_TEXT = re.compile(
    "[\x01-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
    + "]"
)


def _clean(text: str) -> str:
    return UNSTORABLE.sub(REPLACEMENT, text)


def _has_controls(text: str) -> bool:
    return NOT_TEXT.search(text) is not None or LINE_BREAK_CONTROLS.search(text) is not None


def _clean_field(name: str, text: str) -> str:
    """A stored field as text: unstorable characters replaced, controls and noncharacters left out."""
    text = LINE_BREAK_CONTROLS.sub("\n" if name == "body" else " ", _clean(text))
    return NOT_TEXT.sub("", text)


class Sink:
    """Collects documents and problems as the loaders find them."""

    def __init__(self, limits: LoadLimits | None = None) -> None:
        self.result = LoadResult()
        self.limits = limits or LoadLimits()

    def doc(self, doc: Document) -> None:
        """Accept a document once its id is usable and its text storable; cut oversized fields."""
        doc.origin = _clean(doc.origin)
        where = doc.origin
        limits = self.limits
        if len(doc.id) > limits.max_field_chars:
            self.problem(where, "id too long", f"{len(doc.id)} characters > {limits.max_field_chars}")
            return
        if UNSTORABLE.search(doc.id) or CONTROL.search(doc.id) or NOT_TEXT.search(doc.id):
            self.problem(where, "invalid id", "ids must be valid text without control characters or noncharacters")
            return
        if found := invisible_characters(doc.id):
            self.problem(where, "invalid id", f"ids must not hold invisible characters ({', '.join(found)}): "
                         "they make one id show as another")
            return
        doc_id = doc.id
        while doc_id != (stripped := doc_id.strip().strip("/")):
            doc_id = stripped
        if not doc_id or any(part in (".", "..") for part in doc_id.split("/")):
            self.problem(where, "invalid id", f"{doc.id!r} cannot name a page: empty, '.' or '..'")
            return
        if doc_id != doc.id:
            self.warn(where, "id changed to be usable in a URL", f"{doc.id!r} -> {doc_id!r}")
            doc.id = doc_id
        unstorable = [name for name in TEXT_FIELDS if UNSTORABLE.search(getattr(doc, name))]
        controls = [name for name in TEXT_FIELDS if _has_controls(getattr(doc, name))]
        for name in dict.fromkeys(unstorable + controls):
            setattr(doc, name, _clean_field(name, getattr(doc, name)))
        if unstorable:
            self.warn(where, "text cleaned", f"characters that cannot be stored replaced in {', '.join(unstorable)}")
        if controls:
            self.warn(where, "text cleaned", f"control characters or noncharacters left out of {', '.join(controls)}")
            if not doc.body.strip():  # the loaders' own check saw the body before it was cleaned
                self.problem(where, "empty body", "nothing but control characters or noncharacters")
                return
        if len(doc.body) > limits.max_body_chars:
            self.warn(
                where, "body too long, cut", f"{len(doc.body)} characters, kept the first {limits.max_body_chars}"
            )
            doc.body = doc.body[: limits.max_body_chars]
        for name in ("title", "url", "source", "category", "author"):
            value = getattr(doc, name)
            if len(value) > limits.max_field_chars:
                self.warn(where, f"{name} too long, cut", f"{len(value)} characters")
                setattr(doc, name, value[: limits.max_field_chars])
        self.result.documents.append(doc)

    def problem(self, where: str, reason: str, detail: str = "") -> None:
        self.result.problems.append(Problem(_clean(where), reason, _clean(detail)))

    def warn(self, where: str, reason: str, detail: str = "") -> None:
        self.result.warnings.append(Problem(_clean(where), reason, _clean(detail)))

    @contextmanager
    def record(self, where: str) -> Iterator[None]:
        """Turn any failure inside one record into a problem, so one record never aborts a load."""
        try:
            yield
        except Exception as exc:  # an input nobody foresaw: report it with its own message, go on
            self.problem(where, "unreadable record", f"{type(exc).__name__}: {exc}"[:300])


# --- Dates -------------------------------------------------------------------


# Numeric dates as Arabic news sites write them, day first (17/05/2015, 7-5-2015 14:30),
# or year first (2015/05/17); and with a month name of any tradition (17 ماي 2015).
# The time after a date: «14:30», «- 10:30», «، 01:44 م» (ص before noon, م after it, as Arabic CMSs write it).
_CLOCK = r"(?:(?:[ T,،]+|\s*-\s*)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*(ص|م|صباحا|مساء|مساءا|[aApP]\.?[mM]\.?))?)?$"
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})" + _CLOCK)
_YEAR_FIRST = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})" + _CLOCK)
# A month may be written by two of its names, as the pan-Arab press does: «3 يونيو/حزيران 2018».
_NAMED_MONTH = re.compile(r"^(?:\S+[،,]?\s+)?(\d{1,2})\s+(\D+?)[،,]?\s+(\d{4})" + _CLOCK)
# «2015م», «2015 م», «2015مـ»: the Gregorian era written after the year (م for ميلادي)
_ERA = re.compile(r"(\d{4})\s?مـ?\.?(?=$|[\s,،-])")
_ID_DATE = re.compile(r"(?:^|[-_])((?:19|20)\d{2})(\d{2})(\d{2})$")  # ANT DOCNOs end in YYYYMMDD


def _news_date(value: str) -> datetime | None:
    """A day-first, year-first or month-name date (Arabic-Indic digits too), or None."""
    # Without what spells nothing (search.analysis.written_form): a bidi mark or a zero-width character
    # anywhere in a date copied from a page, the vowel marks and tatweel of «مساءً» or «صباحـاً».
    text = _ERA.sub(r"\1", " ".join(ascii_digits(written_form(value)).split()))
    match = _DAY_FIRST.match(text)
    if match:
        day, month = int(match[1]), int(match[2])
        if month > 12 >= day:  # 05/17/2015: month first after all
            day, month = month, day
        return _datetime(int(match[3]), month, day, match.groups()[3:])
    match = _YEAR_FIRST.match(text)
    if match:
        return _datetime(int(match[1]), int(match[2]), int(match[3]), match.groups()[3:])
    match = _NAMED_MONTH.match(text)
    if match:
        # One name, or two names of one month (يونيو/حزيران, أكتوبر/ تشرين الأول); two months are no date.
        months = {month_number(name) for name in re.split(r"\s*/\s*", match[2])}
        if len(months) == 1 and None not in months:
            return _datetime(int(match[3]), months.pop(), int(match[1]), match.groups()[3:])  # type: ignore[arg-type]
    return None


_AFTERNOON = {"م", "مساء", "مساءا", "pm", "p.m.", "p.m", "pm."}


def _datetime(year: int, month: int, day: int, clock: tuple[str | None, ...]) -> datetime | None:
    hour, minute, second = (int(x) if x else 0 for x in clock[:3])
    meridiem = clock[3].lower() if len(clock) > 3 and clock[3] else None
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None  # «14:30 م» is no time
        hour = hour % 12 + (12 if meridiem in _AFTERNOON else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def date_in_id(doc_id: str) -> datetime | None:
    """The date an id ends with (ANT: ``JA-politic-148-20170223``), or None."""
    match = _ID_DATE.search(doc_id)
    return _datetime(int(match[1]), int(match[2]), int(match[3]), (None, None, None)) if match else None


def parse_date(value: str) -> datetime | None:
    """Parse a date as news feeds write it: RFC 2822, ISO 8601, day-first (17/05/2015),
    year-first (2015/05/17) or with an Arabic month name of any tradition (17 جوان 2015),
    in Western or Arabic-Indic digits; times without a zone are taken as UTC.

    Raises ValueError when the text is not a date in either form, or when the
    date cannot be converted to UTC (year 1 east of Greenwich, year 9999 west).
    """
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            found = _news_date(value)
            if found is None:
                raise ValueError(f"not a date in a form news feeds use: {value[:40]!r}") from exc
            parsed = found
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        # The index stores naive UTC: a date that cannot get there is no date.
        parsed.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"date out of range once in UTC: {value[:40]!r}") from exc
    return parsed


# --- Bytes to text -----------------------------------------------------------

ARABIC_WORD = re.compile(f"[{ARABIC_LETTERS}]{{3}}")  # three Arabic letters in a row


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode a file's bytes; return the text and a warning, if any.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; text
    that is not UTF-8 is tried as Windows-1256 (the Arabic Windows code page)
    when that gives Arabic letters, else decoded with replacement characters.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return data.decode("utf-16", errors="replace"), "invalid UTF-16, bad bytes replaced"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1256")
        if ARABIC_WORD.search(text):
            return text, "not UTF-8, read as Windows-1256"
    except UnicodeDecodeError:
        pass
    return data.decode("utf-8", errors="replace"), "invalid UTF-8, bad bytes replaced"


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\v\x1b")  # never in text but by mistake
BINARY_SHARE = 0.01  # a head with more of its bytes control bytes than this is no text file
_BINARY_MAGIC = (b"\x89PNG", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"\xff\xd8\xff", b"GIF8", b"SQLite format 3",
                 b"\x7fELF", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"\x00\x00\x00")


def looks_binary(data: bytes) -> bool:
    """Is this a binary file (an image, a PDF, a database), not text with a stray byte? Decided on its
    first 8 KB: control bytes (NUL and the like, not tabs or line ends) in more than BINARY_SHARE of
    them. One NUL in a JSON Lines file spoils one record, which is reported; it does not make the whole
    file unread (it did: the first 8 KB holding a NUL skipped every record of the file)."""
    head = data[:8192]
    if not head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if head.startswith(_BINARY_MAGIC):  # an image, a PDF, an archive or a database, whatever its name
        return True
    if head.lstrip()[:1] in (b"{", b"<"):  # JSON Lines, SGML: a stray NUL spoils a record, never the file
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > 1 and controls > BINARY_SHARE * len(head)


class _Decoder:
    """Decodes one file's records one at a time; each kind of fault is warned once per file."""

    def __init__(self, where: str, sink: Sink) -> None:
        self.where, self.sink = where, sink
        self.warned: set[str] = set()

    def __call__(self, data: bytes, pos: str) -> str:
        if "not UTF-8, read as Windows-1256" in self.warned:
            # A file is in one code page: a record with no Arabic word is no reason to change.
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                return data.decode("cp1256", errors="replace")
        text, warning = decode(data)
        if warning and warning not in self.warned:
            self.warned.add(warning)
            self.sink.warn(self.where, warning, f"first at {pos.removeprefix(self.where).strip()}")
        return text


def _utf8_checked(chunks: Iterable[bytes], faults: list[str]) -> Iterator[bytes]:
    """Pass chunks through, noting in faults if they are not UTF-8 (bytes between records included)."""
    check = codecs.getincrementaldecoder("utf-8")()
    for chunk in chunks:
        if not faults:
            try:
                for start in range(0, len(chunk), HEAD_BYTES):  # in slices: the decoded text is thrown away
                    check.decode(chunk[start : start + HEAD_BYTES])
            except UnicodeDecodeError:
                faults.append("invalid UTF-8")
        yield chunk
    if not faults:
        try:
            check.decode(b"", final=True)
        except UnicodeDecodeError:
            faults.append("invalid UTF-8")


# --- Splitting a stream into records, in one pass and bounded memory ----------

# <DOC>, </DOC>, and an opener with attributes or spaces (<DOC id="2">, <DOC >); never <DOCNO>.
DOC_TAG = {str: re.compile(r"<(/?)DOC(?:\s[^<>]{0,200})?>", re.I),
           bytes: re.compile(rb"<(/?)DOC(?:\s[^<>]{0,200})?>", re.I)}
SGML_TAG = re.compile(r"<(/?)([A-Za-z]+)>")
SGML_START = {str: re.compile(r"\s*<DOC[\s>]", re.I), bytes: re.compile(rb"\s*<DOC[\s>]", re.I)}
# Or a file whose first lines are something else (a title line, a comment) before its first block:
# a line that opens a <DOC> with a <DOCNO> after it. The lines before are reported, not read as an article.
SGML_LATER = {str: re.compile(r"^[ \t]*<DOC[\s>]", re.I | re.M), bytes: re.compile(rb"^[ \t]*<DOC[\s>]", re.I | re.M)}
SGML_NUMBER = {str: re.compile(r"<DOCNO>", re.I), bytes: re.compile(rb"<DOCNO>", re.I)}


def _sgml_later(head: AnyStr) -> bool:
    """A <DOC> line somewhere in the head, and a <DOCNO> after it (two linear searches)."""
    opener = SGML_LATER[type(head)].search(head)
    return opener is not None and SGML_NUMBER[type(head)].search(head, opener.end()) is not None
NEWLINE = {str: "\n", bytes: b"\n"}
LEADING_SPACE = re.compile(r"\s*")
STRAY_SHOWN = 60  # characters of text found outside the <DOC> blocks quoted in its report
_WORDY = re.compile(r"\w")  # what makes text outside the blocks worth a report: a letter or a digit (not
# blank lines, not the U+FFFD of a few undecodable bytes after the last block)


@dataclass
class Stray:
    """Text outside every <DOC> block (a record whose <DOC> is missing, a stray line): reported,
    never silently dropped. ``closer``: it ended at a </DOC> that no <DOC> opened."""

    text: str
    closer: bool = False


def _last_marked(chunks: Iterable[AnyStr]) -> Iterator[tuple[AnyStr, bool]]:
    it = iter(chunks)
    previous = next(it, None)
    if previous is None:
        return
    for chunk in it:
        yield previous, False
        previous = chunk
    yield previous, True


def _shown_text(piece: str | bytes) -> str:
    return piece.decode("utf-8", "replace") if isinstance(piece, bytes) else piece


def _doc_blocks(chunks: Iterable[AnyStr], limit: int) -> Iterator[AnyStr | int | Stray]:
    """The contents of the ``<DOC>`` blocks in a stream; a block over limit is given as its size.

    A block ends at ``</DOC>``, at the next ``<DOC>`` or at the end. Text between blocks that is
    not blank is given as a ``Stray`` (its first words), in its place. Only the current block is
    kept in memory.
    """
    inside, pieces, size = False, [], 0
    outside = ""  # the start of the text seen since the last block ended (bounded)
    carry = None

    def seen_outside(piece: AnyStr) -> None:
        nonlocal outside
        if len(outside) < STRAY_SHOWN:
            outside += " " + " ".join(_shown_text(piece[: STRAY_SHOWN * 4]).split())

    def stray(piece: AnyStr, closer: bool) -> Iterator[Stray]:
        nonlocal outside
        seen_outside(piece)
        if _WORDY.search(outside):  # a doubled </DOC> with nothing between loses nothing
            yield Stray(outside.strip()[:STRAY_SHOWN], closer)
        outside = ""

    for chunk, final in _last_marked(chunks):
        data = carry + chunk if carry else chunk
        empty = data[:0]
        safe = len(data) if final else len(data) - 210  # a tag may be cut at the chunk's end
        pos = 0
        for match in DOC_TAG[type(data)].finditer(data):
            if match.start() > safe:
                break
            closer = bool(match.group(1))
            if inside:
                piece = data[pos : match.start()]
                size += len(piece)
                yield size if size > limit else empty.join([*pieces, piece])
                pieces, size = [], 0
            else:
                yield from stray(data[pos : match.start()], closer)
            pos = match.end()
            inside = not closer  # an opener starts a block, a closer ends one
        end = len(data) if final else max(pos, safe + 1)
        if inside:
            piece = data[pos:end]
            size += len(piece)
            if size > limit:
                pieces.clear()
            elif piece:
                pieces.append(piece)
        elif pos < end:
            seen_outside(data[pos:end])
        carry = data[end:]
    if inside:
        yield size if size > limit else empty.join(pieces)
    elif _WORDY.search(outside):
        yield Stray(outside.strip()[:STRAY_SHOWN])


def _lines(chunks: Iterable[AnyStr], limit: int, first: int = 1) -> Iterator[tuple[int, AnyStr | int]]:
    """Numbered lines of a stream, split on ``\\n`` only; a line over limit is given as its size."""
    n = first - 1
    pieces: list = []
    size = 0
    for chunk in chunks:
        newline = NEWLINE[type(chunk)]
        start = 0
        while (end := chunk.find(newline, start)) >= 0:
            piece = chunk[start:end]
            size += len(piece)
            n += 1
            yield n, size if size > limit else (chunk[:0].join([*pieces, piece]) if pieces else piece)
            pieces, size = [], 0
            start = end + 1
        rest = chunk[start:]
        size += len(rest)
        if size > limit:
            pieces.clear()
        elif rest:
            pieces.append(rest)
    if size:
        yield n + 1, size if size > limit else pieces[0][:0].join(pieces)


def _too_large(where: str, size: int, sink: Sink) -> None:
    sink.problem(where, "record too large", f"{size} bytes > {sink.limits.max_record_bytes}")


# --- Format detection and parsers -------------------------------------------

SGML_FIELDS = ("DOCNO", "URL", "SRC", "CAT", "TITLE", "TIME", "AUTHOR", "ABSTRACT", "TEXT")
DOCNO_TAG = re.compile(r"<DOCNO>([^<]{0,400})</DOCNO>", re.I)  # a whole one: «<DOCNO>» quoted in a text is not
# TREC's paragraphs and line breaks inside <TEXT> (with or without attributes): line breaks, not text
PARAGRAPH_TAG = re.compile(r"</?P(?:\s[^<>]{0,200})?>|<BR\s*/?>", re.I)
COMMENT_COUNT_LINE = re.compile(r"^\s*تعليقات\s*[:：]\s*[\d٠-٩]+\s*$")  # "تعليقات : 0"
BODY_KEYS = ("body", "text", "content")
# How JSON documents begin: an object with a quoted key (or empty), an array of arrays or objects
# (or empty). A headline such as "[فيديو] ..." or "{عاجل} ..." does not.
JSON_START = re.compile(r'\s*(?:\{\s*(?:"(?:[^"\\\n]|\\.)*"\s*:|\})|\[\s*[\[{\]])')
# Names of a corpus's own papers, whatever their extension: not articles.
NOT_ARTICLES = frozenset({"readme", "license", "licence", "copying", "notice", "authors", "changelog"})


def _stable_id(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _sgml_fields(block: str) -> dict[str, str]:
    """The fields of one ``<DOC>`` block, found in one pass over its tags.

    A field runs from its first opening tag to the first closing tag of the same
    name after it; an unclosed field runs to the next opening tag, or the end.
    """
    starts: dict[str, int] = {}
    closes: dict[str, int] = {}
    next_open: dict[str, int] = {}
    waiting: list[str] = []  # opened fields whose next opening tag is not yet seen
    for match in SGML_TAG.finditer(block):
        name = match.group(2).upper()
        if name == "P":  # a paragraph inside a field: neither opens nor ends one
            continue
        if match.group(1):
            if name in starts and name not in closes:
                closes[name] = match.start()
            continue
        for opened in waiting:
            next_open[opened] = match.start()
        waiting.clear()
        if name in SGML_FIELDS and name not in starts:
            starts[name] = match.end()
            waiting.append(name)
    fields = dict.fromkeys(SGML_FIELDS, "")
    for name, start in starts.items():
        end = closes.get(name, next_open.get(name, len(block)))
        fields[name] = html.unescape(PARAGRAPH_TAG.sub("\n", block[start:end])).strip()
    return fields


def _abstract_and_text(abstract: str, text: str) -> str:
    """The body: the abstract, then the text, unless the text already begins with the
    abstract (78% of ANT's articles and 37% of JawharaFM's: it would be read, shown and
    ranked twice). Compared without spaces or line breaks and without a closing ellipsis: an
    abstract cut mid-sentence («… لكني أشعر بالثقة... لم», sentences run together with no space
    after the full stop) is the start of its text all the same (2,023 of ANT's articles showed it
    as a first paragraph, cut off, then the text saying it again)."""
    if abstract and "".join(text.split()).startswith("".join(abstract.split()).rstrip(".…")):
        return text
    return "\n".join(part for part in (abstract, text) if part)


def _sgml_doc(block: str, pos: str, sink: Sink) -> None:
    numbers = DOCNO_TAG.findall(block)
    if len(numbers) > 1:  # two records run together (a </DOC><DOC> missing): neither is guessed at
        shown = ", ".join(" ".join(html.unescape(x).split())[:40] for x in numbers[:3])
        sink.problem(pos, "more than one DOCNO in one <DOC> block (is a </DOC><DOC> missing?)", shown)
        return
    fields = _sgml_fields(block)
    body = _abstract_and_text(fields["ABSTRACT"], fields["TEXT"])
    if not fields["DOCNO"]:
        sink.problem(pos, "missing DOCNO")
        return
    if not body.strip() and not fields["TITLE"]:
        sink.problem(pos, "empty body", fields["DOCNO"])
        return
    doc = Document(
        id=fields["DOCNO"],
        title=fields["TITLE"],
        body=body,
        url=fields["URL"],
        source=fields["SRC"],
        category=fields["CAT"],
        author=fields["AUTHOR"],
        origin=pos,
    )
    warned = len(sink.result.warnings)
    _set_date(doc, fields["TIME"], pos, sink)
    if doc.date is None:
        doc.date = date_in_id(doc.id)  # the field is missing or unreadable: the id still dates it
        if doc.date is not None:  # the field's warning says what the article is dated by
            sink.result.warnings[warned:] = [
                replace(w, reason="bad date, dated by its DOCNO") for w in sink.result.warnings[warned:]
            ]
    sink.doc(doc)


def _sgml_docs(
    blocks: Iterable[str | bytes | int | Stray], where: str, sink: Sink, decoder: _Decoder | None
) -> None:
    n = 0
    for block in blocks:
        if isinstance(block, Stray):
            at = f"{where} after doc {n}" if n else f"{where} before doc 1"
            if block.closer:
                sink.problem(at, "a </DOC> that no <DOC> opened: the record before it is not read", repr(block.text))
            else:
                sink.problem(at, "text outside any <DOC> block, not read", repr(block.text))
            continue
        n += 1
        pos = f"{where} doc {n}"
        if isinstance(block, int):
            _too_large(pos, block, sink)
            continue
        with sink.record(pos):
            _sgml_doc(decoder(block, pos) if isinstance(block, bytes) and decoder else str(block), pos, sink)


def parse_sgml(text: str, where: str, sink: Sink) -> None:
    """Parse TREC/ANT ``<DOC>`` blocks. Stray ``&`` and ``<`` are tolerated."""
    _sgml_docs(_doc_blocks([text], sink.limits.max_record_bytes), where, sink, None)


def _set_date(doc: Document, value: object, where: str, sink: Sink) -> None:
    if value is None or value == "":
        return
    if not isinstance(value, str):
        sink.warn(where, "bad date, kept without date", f"a date is text, not {type(value).__name__}")
        return
    try:
        doc.date = parse_date(value)
    except ValueError as exc:
        sink.warn(where, "bad date, kept without date", str(exc))


def _json_text(obj: dict, key: str, pos: str, sink: Sink) -> str:
    """A field as text: numbers are written out, lists and objects are ignored with a warning."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value or ""
    number = _number_text(value)
    if number is None:
        sink.warn(pos, f"{key} is not text, ignored", type(value).__name__)
    return number or ""


def _number_text(value: object) -> str | None:
    """A JSON number written out; None for booleans, NaN, infinities and anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _json_id(obj: dict) -> str | None:
    """The id as text ("" when absent); None when it is there but cannot be an id."""
    value = obj["id"] if "id" in obj else obj.get("docno")
    if value is None or isinstance(value, str):
        return (value or "").strip()
    return _number_text(value)


def _json_doc(obj: object, pos: str, sink: Sink) -> None:
    if not isinstance(obj, dict):
        sink.problem(pos, "not a JSON object", type(obj).__name__)
        return
    doc_id = _json_id(obj)
    if doc_id is None:
        sink.problem(pos, "invalid id", f"an id is text or a number, not {type(obj.get('id')).__name__}")
        return
    bodies = (_json_text(obj, key, pos, sink) for key in BODY_KEYS if key in obj)
    body = next((text for text in bodies if text.strip()), "").strip()
    title = _json_text(obj, "title", pos, sink).strip()
    if not body and not title:
        sink.problem(pos, "empty body", "no non-empty body, text or content field")
        return
    raw_id = obj["id"] if "id" in obj else obj.get("docno")
    if not doc_id and isinstance(raw_id, str) and raw_id:  # an id of only white space: said, not guessed silently
        sink.warn(pos, "blank id", "the id holds only white space; the document is named by its content")
    doc = Document(
        id=doc_id,
        title=title,
        body=body,
        url=_json_text(obj, "url", pos, sink),
        source=_json_text(obj, "source", pos, sink),
        category=_json_text(obj, "category", pos, sink),
        author=_json_text(obj, "author", pos, sink),
        origin=pos,
    )
    _set_date(doc, obj.get("date"), pos, sink)
    if not doc.id:
        # Without an id, the content names the document, so a re-import keeps its id; with where
        # and when it was published, so that one wire report carried by two outlets is two
        # articles (copies, for the story groups), not one replacing the other.
        published = doc.date.isoformat() if doc.date else ""
        extra = (doc.source, doc.url, published)
        doc.id = _stable_id(title, body, *extra) if any(extra) else _stable_id(title, body)
    sink.doc(doc)


def _loads(text: str) -> object:
    """``json.loads`` where every failure is a ValueError (deep nesting raises RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _parses(text: str) -> bool:
    try:
        _loads(text)
    except ValueError:
        return False
    return True


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    return str(exc)[:200]


def _json_lines(
    lines: Iterable[tuple[int, str | bytes | int]], where: str, sink: Sink, decoder: _Decoder | None
) -> None:
    for n, line in lines:
        pos = f"{where} line {n}"
        if isinstance(line, int):
            _too_large(pos, line, sink)
            continue
        if not line.strip():
            continue
        with sink.record(pos):
            text = decoder(line, pos) if isinstance(line, bytes) and decoder else str(line)
            try:
                obj = _loads(text)
            except ValueError as exc:
                sink.problem(pos, "not valid JSON", exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc))
                continue
            _json_doc(obj, pos, sink)


def _json_whole(text: str, where: str, sink: Sink) -> None:
    """A whole text as one JSON value: an array of documents, or one document."""
    try:
        value = _loads(text)
    except ValueError as exc:
        sink.problem(where, "not valid JSON", _json_error(exc))
        return
    if isinstance(value, list):
        for n, obj in enumerate(value, start=1):
            with sink.record(f"{where} item {n}"):
                _json_doc(obj, f"{where} item {n}", sink)
    else:
        _json_doc(value, where, sink)


def _first_line(text: str) -> str:
    """The first non-blank line, found without splitting the whole text."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text[start:end].strip():
            return text[start:end]
        start = end + 1
    return ""


def parse_json(text: str, where: str, sink: Sink) -> None:
    """Parse a JSON array, a single JSON object, or JSON Lines."""
    if text.startswith("[", LEADING_SPACE.match(text).end()):  # type: ignore[union-attr]
        _json_whole(text, where, sink)
        return
    first = _first_line(text)
    if not _parses(first) and not JSON_START.match(first):
        _json_whole(text, where, sink)  # one object over several lines
        return
    _json_lines(_lines([text], sink.limits.max_record_bytes), where, sink, None)


def _is_json(text: str) -> bool:
    """Whether text that begins with a bracket is JSON (maybe broken) or an article with a bracketed title."""
    return bool(JSON_START.match(text)) or _parses(_first_line(text)) or _parses(text)


def parse_plain(text: str, where: str, sink: Sink, doc_id: str = "") -> None:
    """Parse the seed layout, or plain text with its first line as the title.

    The seed layout is: title, a comment-count line (``تعليقات : 0``), the
    outlet, the author, then the paragraphs.
    """
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        sink.problem(where, "empty file")
        return
    if UNSTORABLE.search(doc_id):
        sink.warn(where, "file name is not valid text, id cleaned")
        doc_id = _clean(doc_id)
    doc = Document(id=doc_id or _stable_id(text), title=lines[0], origin=where)
    rest = lines[1:]
    if rest and COMMENT_COUNT_LINE.match(rest[0]):
        rest = rest[1:]
        if len(rest) >= 3:
            doc.source, doc.author, rest = rest[0], rest[1], rest[2:]
    doc.body = "\n".join(rest)
    sink.doc(doc)


JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")  # a file named so is JSON: if it does not parse, it is broken JSON


def _named_json(where: str) -> bool:
    return where.lower().endswith(JSON_SUFFIXES)


def parse_text(text: str, where: str, sink: Sink, doc_id: str = "") -> None:
    """Choose the format from the content and parse it; a plain-text article is named doc_id.
    A file named .json or .jsonl that is not JSON (cut short: «{"id"», «[») is reported as
    such, not read as an article whose title is its first bytes."""
    start = LEADING_SPACE.match(text).end()  # type: ignore[union-attr]
    head = text[start : start + 2000]
    if SGML_START[str].match(head) or _sgml_later(head):
        parse_sgml(text, where, sink)
    elif (head.startswith(("[", "{")) and _is_json(text)) or (_named_json(where) and head.strip()):
        parse_json(text, where, sink)
    elif not head.strip():
        sink.problem(where, "empty file")
    else:
        parse_plain(text, where, sink, doc_id)


def _read_upto(read: Callable[[int], bytes], n: int) -> bytes:
    parts, got = [], 0
    while got < n and (part := read(min(n - got, CHUNK_BYTES))):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_stream(read: Callable[[int], bytes], size: int | None, where: str, doc_id: str, sink: Sink) -> None:
    """Parse one file or archive member from a binary stream, one record at a time.

    JSON Lines and SGML stream in bounded memory; any other file is one record,
    read whole only when it is within the record limit.
    """
    limit = sink.limits.max_record_bytes
    head = _read_upto(read, HEAD_BYTES)
    blank_lines = 0  # a long run of blank lines is skipped, and counted so line numbers stay right
    while len(head) == HEAD_BYTES and not head.strip():
        blank_lines += head.count(b"\n")
        head = _read_upto(read, HEAD_BYTES)
    if not head.strip():
        sink.problem(where, "empty file")
        return
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    if not utf16 and looks_binary(head):
        sink.problem(where, "binary file, not text")
        return
    whole = len(head) < HEAD_BYTES  # the head is the whole file
    faults: list[str] = []
    chunks = _utf8_checked(itertools.chain([head], iter(lambda: read(CHUNK_BYTES), b"")), faults)
    decoder = _Decoder(where, sink)
    streamed = False
    if not utf16 and (SGML_START[bytes].match(head) or _sgml_later(head)):
        _sgml_docs(_doc_blocks(chunks, limit), where, sink, decoder)
        streamed = True
    elif not utf16 and head.lstrip().startswith(b"{"):
        stripped = head.lstrip()
        first = decode(stripped.split(b"\n", 1)[0])[0]
        if (b"\n" not in stripped and not whole) or _parses(first) or JSON_START.match(first):
            _json_lines(_lines(chunks, limit, first=blank_lines + 1), where, sink, decoder)
            streamed = True
    if streamed:
        if faults and not decoder.warned:  # the bad bytes lie between records: nothing was replaced
            sink.warn(where, "invalid UTF-8 between the documents, ignored")
        return
    # One record: a JSON array or object, a plain-text article, or UTF-16 (not splittable by bytes).
    if size is not None and size > limit:
        _too_large(where, size, sink)
        return
    data = head + _read_upto(read, limit + 1 - len(head)) if len(head) <= limit else head
    if len(data) > limit:
        _too_large(where, size if size is not None else len(data), sink)
        return
    text, warning = decode(data)
    if warning:
        sink.warn(where, warning)
    parse_text(text, where, sink, doc_id)


def parse_bytes(data: bytes, where: str, sink: Sink, name: str = "") -> None:
    """Parse a file's bytes already in memory; a plain-text article is named by name's stem."""
    with sink.record(where):
        _read_stream(io.BytesIO(data).read, len(data), where, Path(name).stem if name else "", sink)


# --- Files, folders, archives ------------------------------------------------


def _is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def _not_article(name: str) -> bool:
    return name.split(".", 1)[0].lower() in NOT_ARTICLES


def _path_id(relative: str) -> str:
    """The id of a plain-text article: its path inside the folder or archive, without extension."""
    parts = [part for part in relative.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts:
        return ""
    parts[-1] = Path(parts[-1]).stem
    return "/".join(parts)


def _safe_member(name: str) -> bool:
    """Members are only read, never written, but a path climbing out is still refused."""
    parts = Path(name.replace("\\", "/")).parts
    return not (name.startswith(("/", "\\")) or ".." in parts)


def _skipped(name: str, where: str, sink: Sink) -> bool:
    """Whether a file is not read because of its name (with a warning: never silently)."""
    base = os.path.basename(name.replace("\\", "/").rstrip("/"))
    if base.startswith("."):
        sink.warn(where, "hidden, skipped")
        return True
    if _not_article(base):
        sink.warn(where, "not an article (licence/readme), skipped")
        return True
    return False


def _read_member(open_member: Callable[[], IO[bytes] | None], name: str, size: int, where: str, sink: Sink) -> None:
    member = f"{where}!{name}"
    if _skipped(name, member, sink):
        return
    sink.result.files += 1
    try:
        stream = open_member()
        if stream is not None:
            with stream:
                _read_stream(stream.read, size, member, _path_id(name), sink)
    except Exception as exc:  # a damaged, encrypted or unsupported member: the next one may be fine
        sink.problem(member, "cannot read archive member", f"{type(exc).__name__}: {exc}"[:300])


def _read_archive(handle: io.BufferedReader, where: str, sink: Sink) -> None:
    limits = sink.limits
    n = 0

    def admit(name: str) -> bool:
        nonlocal n
        n += 1
        if n > limits.max_archive_members:
            if n == limits.max_archive_members + 1:
                sink.problem(where, "too many members", f"only the first {limits.max_archive_members} are read")
            return False
        if not _safe_member(name):
            sink.problem(f"{where}!{name}", "unsafe path in archive, skipped")
            return False
        return True

    try:
        if where.lower().endswith(".zip"):
            with zipfile.ZipFile(handle) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and admit(info.filename):
                        opener = functools.partial(archive.open, info)
                        _read_member(opener, info.filename, info.file_size, where, sink)
        else:
            with tarfile.open(fileobj=handle) as archive:
                for info in archive:
                    if info.isdir() or not admit(info.name):
                        continue
                    if not info.isfile():
                        # A link or device entry holds no text (its target, if any, is another member).
                        sink.warn(f"{where}!{info.name}", "not a regular file, skipped", "a link or device entry")
                        continue
                    opener = functools.partial(archive.extractfile, info)
                    _read_member(opener, info.name, info.size, where, sink)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        sink.problem(where, "damaged archive", str(exc))


def _kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "a FIFO", stat.S_ISSOCK: "a socket", stat.S_ISCHR: "a character device"}
    return next((kind for test, kind in kinds.items() if test(mode)), "a device or special file")


def _read_file(path: Path, doc_id: str, sink: Sink) -> None:
    """Read one file or archive, which a stat has shown to be a regular file."""
    where = str(path)
    if _not_article(path.name):
        sink.warn(where, "not an article (licence/readme), skipped")
        return
    try:
        # Non-blocking: a FIFO put in the file's place since the stat must not hang the load.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        sink.problem(where, "cannot read file", exc.strerror or str(exc))
        return
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            sink.problem(where, "not a regular file", _kind(mode))
            return
        if _is_archive(path.name):
            _read_archive(handle, where, sink)
            return
        sink.result.files += 1
        try:
            _read_stream(handle.read, os.fstat(fd).st_size, where, doc_id, sink)
        except OSError as exc:
            sink.problem(where, "cannot read file", exc.strerror or str(exc))


def _walk(root: Path, sink: Sink) -> Iterator[tuple[Path, str]]:
    """Regular files under a folder, sorted, with their paths relative to it.

    Symbolic links are followed; one leading back to a folder being read is
    reported as a cycle, a dangling one as broken. Hidden entries are skipped
    with a warning; FIFOs, sockets and devices are reported, never opened.
    """
    top = os.stat(root)
    stack: list[tuple[Path, str, frozenset[tuple[int, int]]]] = [(root, "", frozenset({(top.st_dev, top.st_ino)}))]
    while stack:
        folder, relative, ancestors = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            sink.problem(str(folder), "cannot read folder", exc.strerror or str(exc))
            continue
        folders = []
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                sink.warn(str(path), "hidden, skipped")
                continue
            try:
                info = os.stat(path)  # follows symbolic links
            except OSError as exc:
                reason = "broken symbolic link" if entry.is_symlink() else "cannot read file"
                sink.problem(str(path), reason, exc.strerror or str(exc))
                continue
            inside = f"{relative}/{entry.name}" if relative else entry.name
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    sink.problem(str(path), "symbolic link cycle", f"leads back to {os.path.realpath(path)}")
                else:
                    folders.append((path, inside, ancestors | {key}))
            elif stat.S_ISREG(info.st_mode):
                yield path, inside
            else:
                sink.problem(str(path), "not a regular file", _kind(info.st_mode))
        stack.extend(reversed(folders))  # depth first, in name order, files before subfolders


def _read_source(source: str | Path, sink: Sink) -> None:
    path = Path(source)
    try:
        info = os.stat(path)
    except OSError as exc:
        if os.path.lexists(path):
            sink.problem(str(path), "broken symbolic link", exc.strerror or str(exc))
        elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
            sink.problem(str(path), "no such file or folder")
        else:
            sink.problem(str(path), "cannot read file", exc.strerror or str(exc))
        return
    if stat.S_ISDIR(info.st_mode):
        for file, relative in _walk(path, sink):
            _read_file(file, _path_id(relative), sink)
    elif stat.S_ISREG(info.st_mode):
        _read_file(path, path.stem, sink)
    else:
        sink.problem(str(path), "not a regular file", _kind(info.st_mode))


def load_sources(sources: Iterable[str | Path], limits: LoadLimits | None = None) -> LoadResult:
    """Load every document under the given files, folders and archives."""
    sink = Sink(limits)
    for source in sources:
        with sink.record(str(source)):
            _read_source(source, sink)
    return sink.result


def load_text(text: str, name: str = "<text>", limits: LoadLimits | None = None) -> LoadResult:
    """Load documents from text already in memory (used by tests and the API)."""
    sink = Sink(limits)
    with sink.record(name):
        parse_text(text, name, sink, Path(name).stem)
    return sink.result


def read_bytes_source(data: bytes, name: str, limits: LoadLimits | None = None) -> LoadResult:
    """Load documents from a file's bytes already in memory."""
    sink = Sink(limits)
    parse_bytes(data, name, sink, name)
    return sink.result


__all__ = [
    "Document",
    "LoadLimits",
    "LoadResult",
    "Problem",
    "decode",
    "load_sources",
    "load_text",
    "parse_date",
    "read_bytes_source",
]
