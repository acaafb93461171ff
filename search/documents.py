"""The Document model and the loaders that turn files into documents.

A source is a file, a folder (read recursively) or a .zip / .tar.gz / .tgz
archive. Each file's format is chosen by its content, not its name:

* TREC/ANT SGML: ``<DOC> … </DOC>`` blocks, several per file allowed;
* JSON Lines, or a JSON array (or a single object) of documents;
* the seed's plain-text layout (title, comment count, outlet, author, paragraphs);
* any other text: the first line is the title, the rest the body.

Real data is dirty, so loading never raises on a bad document: every input
document ends up either as a :class:`Document` or as a :class:`Problem`
naming the file, the position inside it and the reason.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import os
import re
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from search.analysis import ARABIC_LETTERS

# Limits that keep one hostile input from exhausting memory.
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_BODY_CHARS = 1_000_000  # a longer body is cut (with a warning): no news article is this long
MAX_FIELD_CHARS = 2_000  # title, url, source, category, author, id
MAX_ARCHIVE_MEMBERS = 100_000
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


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


class Sink:
    """Collects documents and problems as the loaders find them."""

    def __init__(self) -> None:
        self.result = LoadResult()

    def doc(self, doc: Document) -> None:
        """Accept a document, cutting oversized fields so one input cannot stall indexing."""
        where = doc.origin
        if len(doc.body) > MAX_BODY_CHARS:
            self.warn(where, "body too long, cut", f"{len(doc.body)} characters, kept the first {MAX_BODY_CHARS}")
            doc.body = doc.body[:MAX_BODY_CHARS]
        for name in ("id", "title", "url", "source", "category", "author"):
            value = getattr(doc, name)
            if len(value) > MAX_FIELD_CHARS:
                if name == "id":
                    self.problem(where, "id too long", f"{len(value)} characters > {MAX_FIELD_CHARS}")
                    return
                self.warn(where, f"{name} too long, cut", f"{len(value)} characters")
                setattr(doc, name, value[:MAX_FIELD_CHARS])
        if any(ch in doc.id for ch in "\x00\r\n\t") or not doc.id.strip():
            self.problem(where, "invalid id", "ids must be non-empty and contain no control characters")
            return
        self.result.documents.append(doc)

    def problem(self, where: str, reason: str, detail: str = "") -> None:
        self.result.problems.append(Problem(where, reason, detail))

    def warn(self, where: str, reason: str, detail: str = "") -> None:
        self.result.warnings.append(Problem(where, reason, detail))


# --- Dates -------------------------------------------------------------------


def parse_date(value: str) -> datetime | None:
    """Parse an RFC 2822 or ISO 8601 date; naive times are taken as UTC.

    Raises ValueError when the text is not a date in either form.
    """
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"not an RFC 2822 or ISO 8601 date: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
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


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in head


# --- Format detection and parsers -------------------------------------------

DOC_BLOCK = re.compile(r"<DOC>(.*?)(?:</DOC>|(?=<DOC>)|\Z)", re.S | re.I)
SGML_FIELDS = ("DOCNO", "URL", "SRC", "CAT", "TITLE", "TIME", "AUTHOR", "ABSTRACT", "TEXT")
COMMENT_COUNT_LINE = re.compile(r"^\s*تعليقات\s*[:：]\s*[\d٠-٩]+\s*$")  # "تعليقات : 0"
BODY_KEYS = ("body", "text", "content")


def _stable_id(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _sgml_field(block: str, name: str) -> str:
    match = re.search(rf"<{name}>(.*?)</{name}>", block, re.S | re.I)
    if match is None:
        # An unclosed field runs to the next tag.
        match = re.search(rf"<{name}>(.*?)(?=<[A-Z]+>|\Z)", block, re.S | re.I)
    if match is None:
        return ""
    return html.unescape(match.group(1)).strip()


def parse_sgml(text: str, where: str, sink: Sink) -> None:
    """Parse TREC/ANT ``<DOC>`` blocks. Stray ``&`` and ``<`` are tolerated."""
    for n, match in enumerate(DOC_BLOCK.finditer(text), start=1):
        block = match.group(1)
        pos = f"{where} doc {n}"
        fields = {name: _sgml_field(block, name) for name in SGML_FIELDS}
        body = "\n".join(part for part in (fields["ABSTRACT"], fields["TEXT"]) if part)
        if not fields["DOCNO"]:
            sink.problem(pos, "missing DOCNO")
            continue
        if not body.strip() and not fields["TITLE"]:
            sink.problem(pos, "empty body", fields["DOCNO"])
            continue
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
        _set_date(doc, fields["TIME"], pos, sink)
        sink.doc(doc)


def _set_date(doc: Document, value: object, where: str, sink: Sink) -> None:
    if value in (None, ""):
        return
    try:
        doc.date = parse_date(str(value))
    except ValueError as exc:
        sink.warn(where, "bad date, kept without date", str(exc))


def _json_doc(obj: object, pos: str, sink: Sink) -> None:
    if not isinstance(obj, dict):
        sink.problem(pos, "not a JSON object", type(obj).__name__)
        return
    body = next((obj[k] for k in BODY_KEYS if isinstance(obj.get(k), str) and obj[k].strip()), "")
    title = obj.get("title") if isinstance(obj.get("title"), str) else ""
    if not body and not title:
        sink.problem(pos, "empty body", "no non-empty body, text or content field")
        return
    doc_id = obj.get("id", obj.get("docno"))
    doc = Document(
        # Without an id, the content names the document, so a re-import keeps its id.
        id=str(doc_id).strip() if doc_id not in (None, "") else _stable_id(title.strip(), body.strip()),
        title=title.strip(),
        body=body.strip(),
        url=str(obj.get("url") or ""),
        source=str(obj.get("source") or ""),
        category=str(obj.get("category") or ""),
        author=str(obj.get("author") or ""),
        origin=pos,
    )
    _set_date(doc, obj.get("date"), pos, sink)
    sink.doc(doc)


def parse_json(text: str, where: str, sink: Sink) -> None:
    """Parse a JSON array, a single JSON object, or JSON Lines."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            sink.problem(where, "not valid JSON", f"line {exc.lineno} column {exc.colno}: {exc.msg}")
            return
        for n, obj in enumerate(items, start=1):
            _json_doc(obj, f"{where} item {n}", sink)
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if n == 1 and stripped.startswith("{"):
                # Maybe one pretty-printed object spanning several lines.
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError:
                    sink.problem(f"{where} line {n}", "not valid JSON", exc.msg)
                    continue
                _json_doc(obj, where, sink)
                return
            sink.problem(f"{where} line {n}", "not valid JSON", exc.msg)
            continue
        _json_doc(obj, f"{where} line {n}", sink)


def parse_plain(text: str, where: str, sink: Sink, name: str = "") -> None:
    """Parse the seed layout, or plain text with its first line as the title.

    The seed layout is: title, a comment-count line (``تعليقات : 0``), the
    outlet, the author, then the paragraphs.
    """
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        sink.problem(where, "empty file")
        return
    doc_id = Path(name).stem if name else _stable_id(text)
    doc = Document(id=doc_id, title=lines[0], origin=where)
    rest = lines[1:]
    if rest and COMMENT_COUNT_LINE.match(rest[0]):
        rest = rest[1:]
        if len(rest) >= 3:
            doc.source, doc.author, rest = rest[0], rest[1], rest[2:]
    doc.body = "\n".join(rest)
    if not doc.body and not doc.title:
        sink.problem(where, "empty body")
        return
    sink.doc(doc)


def parse_text(text: str, where: str, sink: Sink, name: str = "") -> None:
    """Choose the format from the content and parse it."""
    head = text.lstrip()[:2000]
    if re.match(r"<DOC>", head, re.I):
        parse_sgml(text, where, sink)
    elif head.startswith(("[", "{")):
        parse_json(text, where, sink)
    elif not head:
        sink.problem(where, "empty file")
    else:
        parse_plain(text, where, sink, name)


def parse_bytes(data: bytes, where: str, sink: Sink, name: str = "") -> None:
    if not data.strip():
        sink.problem(where, "empty file")
        return
    if looks_binary(data):
        sink.problem(where, "binary file, not text")
        return
    text, warning = decode(data)
    if warning:
        sink.warn(where, warning)
    parse_text(text, where, sink, name)


# --- Files, folders, archives ------------------------------------------------


def _is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def _safe_member(name: str) -> bool:
    """Members are only read, never written, but a path climbing out is still refused."""
    parts = Path(name.replace("\\", "/")).parts
    return not (name.startswith(("/", "\\")) or ".." in parts)


def _read_archive(path: Path, where: str, sink: Sink) -> None:
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                for n, info in enumerate(members):
                    if not _check_member(info.filename, info.file_size, n, where, sink):
                        continue
                    _read_member(archive.read(info), info.filename, where, sink)
        else:
            with tarfile.open(path) as archive:
                n = 0
                for info in archive:
                    if not info.isfile():
                        continue
                    if not _check_member(info.name, info.size, n, where, sink):
                        n += 1
                        continue
                    n += 1
                    handle = archive.extractfile(info)
                    if handle is not None:
                        _read_member(handle.read(), info.name, where, sink)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        sink.problem(where, "damaged archive", str(exc))


def _check_member(name: str, size: int, n: int, where: str, sink: Sink) -> bool:
    member = f"{where}!{name}"
    if n >= MAX_ARCHIVE_MEMBERS:
        if n == MAX_ARCHIVE_MEMBERS:
            sink.problem(where, "too many members", f"only the first {MAX_ARCHIVE_MEMBERS} are read")
        return False
    if not _safe_member(name):
        sink.problem(member, "unsafe path in archive, skipped")
        return False
    if size > MAX_FILE_BYTES:
        sink.problem(member, "file too large", f"{size} bytes > {MAX_FILE_BYTES}")
        return False
    return True


def _read_member(data: bytes, name: str, where: str, sink: Sink) -> None:
    base = os.path.basename(name)
    if base.startswith(".") or base.lower() in {"readme", "readme.md", "license", "licence"}:
        return
    sink.result.files += 1
    parse_bytes(data, f"{where}!{name}", sink, base)


def _read_file(path: Path, sink: Sink) -> None:
    where = str(path)
    if _is_archive(path.name):
        _read_archive(path, where, sink)
        return
    sink.result.files += 1
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            sink.problem(where, "file too large", f"{size} bytes > {MAX_FILE_BYTES}")
            return
        data = path.read_bytes()
    except OSError as exc:
        sink.problem(where, "cannot read file", exc.strerror or str(exc))
        return
    parse_bytes(data, where, sink, path.name)


def iter_files(root: Path) -> Iterator[Path]:
    """Files under a folder, sorted, skipping hidden ones and symbolic links."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and not path.is_symlink():
                yield path


def load_sources(sources: Iterable[str | Path]) -> LoadResult:
    """Load every document under the given files, folders and archives."""
    sink = Sink()
    for source in sources:
        path = Path(source)
        if path.is_dir():
            for file in iter_files(path):
                _read_file(file, sink)
        elif path.is_file():
            _read_file(path, sink)
        else:
            sink.problem(str(path), "no such file or folder")
    return sink.result


def load_text(text: str, name: str = "<text>") -> LoadResult:
    """Load documents from text already in memory (used by tests and the API)."""
    sink = Sink()
    parse_text(text, name, sink, name)
    return sink.result


def read_bytes_source(data: bytes, name: str) -> LoadResult:
    sink = Sink()
    parse_bytes(data, name, sink, name)
    return sink.result


__all__ = [
    "Document",
    "LoadResult",
    "Problem",
    "decode",
    "load_sources",
    "load_text",
    "parse_date",
    "read_bytes_source",
]
