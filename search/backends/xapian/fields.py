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
from datetime import UTC
from typing import Any

from search.analysis import exact_analyzer, stem_analyzer
from search.ingest import Document

PREFIX = {
    "title": "XT",
    "body": "XB",
    "title_exact": "XU",
    "body_exact": "XE",
    "source": "XS",
    "category": "XC",
}
ID_PREFIX = "Q"
UNDATED_TERM = b"XN"  # a document without a date: the «بدون تاريخ» filter and count
DATE_SLOT = 0
VALUE_SLOTS = {"source": 1, "category": 2}
SCORED = ("title", "body", "title_exact", "body_exact")
MAX_TERM_BYTES = 240  # Xapian refuses longer terms; keyword values are cut to fit

GENERATION_KEY = "baheth:generation"
LENGTH_KEY = "baheth:length:"  # + field: the sum of the field's lengths in this shard
VOCABULARY_KEY = "baheth:vocabulary"  # on shard 0: the spelling vocabulary, as its TSV text
UPDATED_KEY = "baheth:updated"


def shard_of(doc_id: str, shards: int) -> int:
    """The shard an id lives in: a stable hash, the same on every machine and run."""
    return int(hashlib.sha1(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % shards


def term(prefix: str, text: str) -> bytes:
    raw = (prefix + text).encode("utf-8", "replace")
    if len(raw) <= MAX_TERM_BYTES:
        return raw
    return raw[:MAX_TERM_BYTES].decode("utf-8", "ignore").encode("utf-8")


def date_value(doc: Document) -> float | None:
    """Seconds since 1970 (UTC), or None."""
    if doc.date is None:
        return None
    try:
        return doc.date.astimezone(UTC).timestamp()
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
    return frequencies, positions, lengths


def document_data(doc: Document, ordinal: int, frequencies: dict[str, Counter[str]], lengths: dict[str, int]) -> bytes:
    data: dict[str, Any] = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "url": doc.url,
        "source": doc.source,
        "category": doc.category,
        "author": doc.author,
        "date_iso": doc.date.isoformat() if doc.date else "",
        "n": ordinal,
        "len": lengths,
        "tf": {name: dict(counts) for name, counts in frequencies.items()},
    }
    for name in VALUE_SLOTS:  # a keyword field scores its term frequency (1), as in the embedded backend
        if getattr(doc, name):
            data["tf"][name] = {getattr(doc, name): 1}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
