"""The logical fields as Xapian terms, values and document data; which shard holds an id.

Each logical field of :mod:`search.querytree` is a term prefix; the exact
fields carry positions (for phrases). The date, source and category are also
values (date ranges, newest first, facet counts). A document's data is JSON:
its stored fields, its input ordinal (ties rank in input order, as in the
embedded backend) and, for the reranker, each field's length and the
frequency of each of its terms.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC
from typing import Any

from search.analysis import exact_analyzer, stem_analyzer
from search.backends.base import local_time
from search.grouping import key_of
from search.ingest import Document

PREFIX = {
    "title": "XT",
    "body": "XB",
    "title_exact": "XU",
    "body_exact": "XE",
    "lead": "XL",
    "source": "XS",
    "category": "XC",
    "group": "XG",  # the story group's key (search.grouping)
}
ID_PREFIX = "Q"
UNDATED_TERM = b"XN"  # a document without a date: the «بدون تاريخ» filter and count
DATE_SLOT = 0
VALUE_SLOTS = {"source": 1, "category": 2}
# What the reranker reads for each candidate, apart from the stored fields: the input ordinal,
# each field's length, and each field's term frequencies packed in one string ("\nword\tN\n…"),
# so a candidate is read without decoding the article or building a dictionary per term.
RERANK_SLOT = 3
DAY_SLOT = 4  # "YYYY-MM-DD" (UTC): the timeline's counts per day (an index built before has none)
GROUP_SLOT = 5  # the story group's key: results collapse on it (an index built before has none)
SCORED = ("title", "body", "title_exact", "body_exact", "lead")
MAX_TERM_BYTES = 240  # Xapian refuses longer terms; keyword values are cut to fit

GENERATION_KEY = "baheth:generation"
LENGTH_KEY = "baheth:length:"  # + field: the sum of the field's lengths in this shard
VOCABULARY_KEY = "baheth:vocabulary"  # on shard 0: the spelling vocabulary, as its TSV text
UPDATED_KEY = "baheth:updated"
# "K/N": this database is shard K of N (written at build time; an index built before has none). A
# reader checks its shard list against it: each shard once, in order, none missing, one generation.
SHARD_KEY = "baheth:shard"


def shard_identity(number: int, count: int) -> str:
    return f"{number}/{count}"


def read_shard_identity(text: bytes) -> tuple[int, int] | None:
    """(K, N) from a shard's SHARD_KEY, or None (an index built before, or a value that is no identity)."""
    number, sep, count = text.decode("ascii", "replace").partition("/")
    if not sep or not number.isascii() or not number.isdigit() or not count.isascii() or not count.isdigit():
        return None
    k, n = int(number), int(count)
    return (k, n) if 0 <= k < n else None


def shard_of(doc_id: str, shards: int) -> int:
    """The shard an id lives in: a stable hash, the same on every machine and run."""
    return int(hashlib.sha1(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % shards


def term(prefix: str, text: str) -> bytes:
    raw = (prefix + text).encode("utf-8", "replace")
    if len(raw) <= MAX_TERM_BYTES:
        return raw
    return raw[:MAX_TERM_BYTES].decode("utf-8", "ignore").encode("utf-8")


def day_value(doc: Document) -> bytes | None:
    """The day of the document's date as it was published (in its own zone): the day shown, which
    the timeline counts."""
    if doc.date is None:
        return None
    try:
        return local_time(doc.date).date().isoformat().encode("ascii")
    except (OverflowError, ValueError):
        return None


def date_value(doc: Document) -> float | None:
    """The date and time as published, in seconds since 1970 read as if that time were UTC (what
    the date filter and the date order compare), or None."""
    if doc.date is None:
        return None
    try:
        return local_time(doc.date).replace(tzinfo=UTC).timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def analysed(doc: Document) -> tuple[dict[str, Counter[str]], dict[str, list[tuple[str, int]]], dict[str, int]]:
    """(term frequencies per scored field, positions of the exact fields, field lengths)."""
    stem, exact = stem_analyzer(), exact_analyzer()
    frequencies: dict[str, Counter[str]] = {}
    positions: dict[str, list[tuple[str, int]]] = {}
    lengths: dict[str, int] = {}
    for name, text in (("title", doc.title), ("body", doc.body)):
        stems = [t.text for t in stem(text)]
        frequencies[name] = Counter(stems)
        lengths[name] = len(stems)
        placed = [(t.text, t.pos) for t in exact(text, positions=True)]  # Whoosh reuses its Token
        positions[name + "_exact"] = placed
        frequencies[name + "_exact"] = Counter(word for word, _ in placed)
        lengths[name + "_exact"] = len(placed)
    leads = [t.text for t in stem(doc.lead)]
    frequencies["lead"] = Counter(leads)
    lengths["lead"] = len(leads)
    return frequencies, positions, lengths


def group_key(doc: Document) -> str:
    return doc.group or key_of(doc.id)


def document_data(doc: Document) -> bytes:
    """The stored fields, as JSON: read only for the results shown."""
    data: dict[str, Any] = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "url": doc.url,
        "source": doc.source,
        "category": doc.category,
        "author": doc.author,
        "date_iso": doc.date.isoformat() if doc.date else "",
        "group": group_key(doc),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def rerank_value(doc: Document, ordinal: int, frequencies: dict[str, Counter[str]], lengths: dict[str, int]) -> bytes:
    """The RERANK_SLOT value: ordinal, lengths, and packed term frequencies per field."""
    packed = {name: pack(counts) for name, counts in frequencies.items()}
    for name in VALUE_SLOTS:  # a keyword field scores its term frequency (1), as in the embedded backend
        if getattr(doc, name):
            packed[name] = pack(Counter({getattr(doc, name): 1}))
    value = {"n": ordinal, "id": doc.id, "len": lengths, "tf": packed}
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def pack(counts: Counter[str] | dict[str, int]) -> str:
    """Term frequencies as one string: "\n" + "word\tN\n" per word (words hold no tab or newline)."""
    return "\n" + "".join(f"{word}\t{n}\n" for word, n in counts.items() if "\t" not in word and "\n" not in word)


class Packed(Mapping[str, int]):
    """A field's packed term frequencies, read like a dictionary (one substring search per lookup)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __getitem__(self, word: str) -> int:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return found

    def get(self, word: str, default: Any = None) -> Any:  # type: ignore[override]
        at = self.text.find("\n" + word + "\t")
        if at < 0:
            return default
        start = at + len(word) + 2
        return int(self.text[start : self.text.index("\n", start)])

    def __iter__(self) -> Iterator[str]:
        for line in self.text.split("\n"):
            if line:
                yield line.split("\t", 1)[0]

    def __len__(self) -> int:
        return self.text.count("\n") - 1 if self.text else 0

    def items(self) -> Iterator[tuple[str, int]]:  # type: ignore[override]
        """Every word with its frequency, in one pass (not one search per word)."""
        for line in self.text.split("\n"):
            if line:
                word, _, n = line.partition("\t")
                yield word, int(n)


def read_rerank_value(value: bytes) -> tuple[int, str, dict[str, Packed], dict[str, int]]:
    """(ordinal, id, packed frequencies per field, lengths) from a RERANK_SLOT value."""
    data = json.loads(value)
    frequencies = {name: Packed(text) for name, text in data.get("tf", {}).items()}
    return int(data.get("n", 0)), str(data.get("id", "")), frequencies, data.get("len", {})
