"""BM25F ranking over whole posting lists at once, with NumPy.

Whoosh scores one matching document at a time through a tree of Python
matchers; a pasted headline (a dozen words, each looked up in four fields)
then costs hundreds of milliseconds. Here each term's posting list is read
once per searcher into arrays (document numbers, term frequencies) and a
query is evaluated as array arithmetic over all documents: the same BM25F
formula and statistics as Whoosh's ``BM25F`` (idf = log(N / (df + 1)) + 1,
per-field average length, the index's own stored field lengths), so the
scores are Whoosh's scores, computed in a few milliseconds.

It evaluates the backend-neutral query tree (:mod:`search.querytree`),
phrases included: positions are read only for the documents that hold every
word of the phrase, and scored as Whoosh's phrase query scores them.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.searching import Searcher

from search.backends.whoosh.schema import ROOTS
from search.cache import ByteLRU
from search.querytree import AllOf, AndMaybe, AndNot, AnyOf, Everything, Filter, Node, Nothing, Phrase, Term

Postings = tuple[np.ndarray, np.ndarray]
_SERIALS = itertools.count()  # one per ranker: the postings cache's keys name the ranker
KEY_BYTES = 200  # a cache key and its tuple, beside the arrays


class Deadline(Exception):
    """The evaluation ran past its time limit."""


@dataclass
class Ranked:
    """The matching documents: their numbers (sorted, unique) and their scores, aligned."""

    ids: np.ndarray  # int64
    scores: np.ndarray  # float64
    timed_out: bool = False

    def keep(self, which: np.ndarray) -> None:
        """Keep only the documents where ``which`` (aligned with ids) is true."""
        self.ids, self.scores = self.ids[which], self.scores[which]


Matches = tuple[np.ndarray, np.ndarray]  # (sorted unique document numbers, their scores)
NO_MATCH: Matches = (np.zeros(0, dtype=np.int64), np.zeros(0))


class Ranker:
    """Evaluates queries for one searcher (one fixed state of the index)."""

    def __init__(self, searcher: Searcher, B: float, K1: float, cache: ByteLRU[Postings] | None = None) -> None:
        # Shared by the server's threads: index reads (cache misses) hold the
        # lock, evaluation only reads the immutable cached arrays.
        self._lock = threading.RLock()
        self.searcher = searcher
        self.reader = searcher.reader()
        self.B = B
        self.K1 = K1
        self.n = self.reader.doc_count_all()
        # Posting lists are the one cache that grows with what is asked: bounded in bytes. It
        # may be shared by the rankers of several states of the index (a thread may still rank
        # with the previous one), so its keys name the ranker: document numbers differ.
        self._postings: ByteLRU[Postings] = cache if cache is not None else ByteLRU(64 * 1024 * 1024)
        self._serial = next(_SERIALS)
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, tuple[list[str], np.ndarray]] = {}
        self._groups: tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray] | None = None
        self._roots: tuple[list[int], list[object]] | None = None
        self.live = np.ones(self.n, dtype=bool)
        self._deletions = self.reader.has_deletions()
        if self._deletions:
            for docnum in range(self.n):
                if self.reader.is_deleted(docnum):
                    self.live[docnum] = False

    # -- index statistics, read once ------------------------------------------------

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and term frequencies of one term, over all segments."""
        key = (self._serial, fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._postings.get(key)
            if cached is not None:
                return cached
            found = self._read_postings(fieldname, text)
            return self._postings.put(key, found, found[0].nbytes + found[1].nbytes + KEY_BYTES + len(text))

    def _read_postings(self, fieldname: str, text: str) -> Postings:
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for subreader, offset in self.reader.leaf_readers():
            if (fieldname, text) not in subreader:
                continue
            sub_ids, sub_weights = _read_matcher(subreader.postings(fieldname, text))
            ids.append(np.asarray(sub_ids, dtype=np.int64) + offset)
            weights.append(np.asarray(sub_weights, dtype=np.float64))
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return np.concatenate(ids), np.concatenate(weights)

    def lengths(self, fieldname: str) -> np.ndarray:
        found = self._lengths.get(fieldname)
        if found is not None:
            return found
        with self._lock:
            return self._read_lengths(fieldname)

    def _read_lengths(self, fieldname: str) -> np.ndarray:
        found = self._lengths.get(fieldname)
        if found is None:
            length = self.reader.doc_field_length
            found = np.fromiter((length(d, fieldname, 1) for d in range(self.n)), dtype=np.float64, count=self.n)
            self._lengths[fieldname] = found
        return found

    def column(self, fieldname: str) -> tuple[list[str], np.ndarray]:
        """A sortable field as (distinct values, each document's value code); -1 for none."""
        found = self._columns.get(fieldname)
        if found is not None:
            return found
        with self._lock:
            return self._read_column(fieldname)

    def _read_column(self, fieldname: str) -> tuple[list[str], np.ndarray]:
        found = self._columns.get(fieldname)
        if found is None:
            values: dict[object, int] = {}
            codes = np.full(self.n, -1, dtype=np.int64)
            for subreader, offset in self._leaves_with_column(fieldname):
                reader = subreader.column_reader(fieldname)
                for docnum in range(subreader.doc_count_all()):
                    value = reader[docnum]
                    if value not in (None, b"", ""):
                        codes[offset + docnum] = values.setdefault(value, len(values))
            names = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
            found = (names, codes)
            self._columns[fieldname] = found
        return found

    def _leaves_with_column(self, fieldname: str) -> list[tuple[object, int]]:
        """The segments that hold a column for the field: a segment whose documents
        all lack the value (an undated collection) has none."""
        return [(sub, offset) for sub, offset in self.reader.leaf_readers() if sub.has_column(fieldname)]

    def has_roots(self) -> bool:
        """Whether the index keeps each document's roots column (search.roots): one written
        before the column was added does not."""
        return ROOTS in self.reader.schema

    def roots(self, docnum: int) -> bytes:
        """A document's roots column value (search.roots); empty without one. Safe to call
        from any thread: the column readers slice the shared memory map."""
        found = self._roots
        if found is None:
            with self._lock:
                found = self._roots
                if found is None:
                    leaves = self.reader.leaf_readers()
                    found = self._roots = (
                        [offset for _, offset in leaves],
                        [sub.column_reader(ROOTS, translate=False) if sub.has_column(ROOTS) else None
                         for sub, _ in leaves],
                    )
        offsets, readers = found
        leaf = bisect_right(offsets, docnum) - 1
        reader = readers[leaf]
        return b"" if reader is None else reader[docnum - offsets[leaf]]

    def dates(self) -> np.ndarray:
        """Each document's date as a sortable number; documents without one sort last."""
        found = self._lengths.get("\0date")
        if found is not None:
            return found
        with self._lock:
            return self._read_dates()

    def _read_dates(self) -> np.ndarray:
        found = self._lengths.get("\0date")
        if found is None:
            # Raw column values: microseconds, or the all-ones default when a document has no date.
            found = np.full(self.n, -math.inf)
            for subreader, offset in self._leaves_with_column("date"):
                reader = subreader.column_reader("date", translate=False)
                count = subreader.doc_count_all()
                raw = np.fromiter((reader[d] for d in range(count)), dtype=np.float64, count=count)
                found[offset : offset + count] = np.where(raw >= 2.0**63, -math.inf, raw)
            self._lengths["\0date"] = found
        return found

    # -- evaluation ------------------------------------------------------------------

    def rank(self, q: Node, seconds: float) -> Ranked:
        """Evaluate the query tree over posting lists, sparsely: the cost grows with the
        documents that match, not with the documents in the index."""
        deadline = time.monotonic() + seconds
        try:
            if seconds <= 0:
                raise Deadline
            ids, scores = self._eval(q, deadline)
            timed_out = False
        except Deadline:
            ids, scores = NO_MATCH
            timed_out = True
        live = self.live[ids]
        return Ranked(ids[live], scores[live], timed_out)

    def _synonym(self, fieldname: str, texts: tuple[str, ...]) -> Postings:
        """The postings of several forms as one term's: documents merged, frequencies summed."""
        parts = [self.postings(fieldname, text) for text in texts]
        ids = np.concatenate([found for found, _ in parts])
        tf = np.concatenate([weights for _, weights in parts])
        if len(ids) == 0:
            return ids, tf
        merged, where = np.unique(ids, return_inverse=True)
        summed = np.zeros(len(merged))
        np.add.at(summed, where, tf)
        return merged, summed

    def _term(self, q: Term) -> Matches:
        ids, tf = self._synonym(q.field, (q.text, *q.also)) if q.also else self.postings(q.field, q.text)
        if len(ids) == 0:
            return NO_MATCH
        if self.searcher.schema[q.field].scorable:
            if q.also:
                df = len(ids)  # the documents holding any of the forms (deleted ones left out)
            elif self._deletions:
                # Whoosh counts deleted documents that still hold the term; the postings skip them.
                with self._lock:
                    df = self.reader.doc_frequency(q.field, q.text)
            else:
                df = len(ids)  # without a second read of the term table
            idf = math.log(max(self.n, 1) / (df + 1)) + 1
            avgfl = self.searcher.avg_field_length(q.field) or 1
            fl = self.lengths(q.field)[ids]
            k1, b = self.K1, self.B
            return ids, idf * (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)) * q.boost
        return ids, tf * q.boost

    def _eval(self, q: Node, deadline: float) -> Matches:
        if time.monotonic() > deadline:
            raise Deadline
        if isinstance(q, Term):
            return self._term(q)
        if isinstance(q, (AnyOf, AllOf)):
            parts = [self._eval(sub, deadline) for sub in q.children]
            return _combine(parts, every=isinstance(q, AllOf), boost=q.boost)
        if isinstance(q, AndNot):
            ids, scores = self._eval(q.positive, deadline)
            excluded, _ = self._eval(q.negative, deadline)
            keep = ~np.isin(ids, excluded, assume_unique=True)
            return ids[keep], scores[keep]
        if isinstance(q, AndMaybe):
            ids, scores = self._eval(q.required, deadline)
            extra_ids, extra = self._eval(q.optional, deadline)
            if len(extra_ids) and len(ids):
                at = np.minimum(np.searchsorted(extra_ids, ids), len(extra_ids) - 1)
                found = extra_ids[at] == ids
                scores = scores + np.where(found, extra[at], 0.0)
            return ids, scores
        if isinstance(q, Filter):
            ids, _ = self._eval(q.child, deadline)
            return ids, np.zeros(len(ids))
        if isinstance(q, Everything):
            ids = np.flatnonzero(self.live)
            return ids, np.zeros(len(ids))
        if isinstance(q, Nothing):
            return NO_MATCH
        if isinstance(q, Phrase):
            return self._phrase(q, deadline)
        raise TypeError(f"not a query node: {q!r}")

    def _phrase(self, q: Phrase, deadline: float) -> Matches:
        """Documents holding the words in order, each within ``slop`` positions after the
        one before (Whoosh's ordered SpanNear, minimum distance 1), scored as Whoosh scores
        a phrase: the sum of its words' BM25F scores in the field, times the phrase's boost.

        Only the documents holding every word are looked at: their posting lists come
        from the cache, and positions are read for those documents alone."""
        parts = [self._term(Term(q.field, word)) for word in q.words]
        candidates = parts[0][0]
        for ids, _ in parts[1:]:
            if len(candidates) == 0:
                break
            candidates = np.intersect1d(candidates, ids, assume_unique=True)
        if len(candidates) == 0:
            return NO_MATCH
        if time.monotonic() > deadline:
            raise Deadline
        distinct = list(dict.fromkeys(q.words))
        with self._lock:
            where = {word: self._positions(q.field, word, candidates) for word in distinct}
        keep = np.zeros(len(candidates), dtype=bool)
        slop = q.slop
        for i in range(len(candidates)):
            ends = where[q.words[0]][i]
            for word in q.words[1:]:
                following = where[word][i]
                ends = [p for p in following if any(1 <= p - e <= slop for e in ends)]
                if not ends:
                    break
            keep[i] = bool(ends)
        ids = candidates[keep]
        if len(ids) == 0:
            return NO_MATCH
        scores = np.zeros(len(ids))
        for word_ids, word_scores in parts:
            scores += word_scores[np.searchsorted(word_ids, ids)]
        return ids, scores * q.boost

    def _positions(self, fieldname: str, text: str, docs: np.ndarray) -> list[list[int]]:
        """The positions of one term in each of ``docs`` (sorted document numbers that all hold it)."""
        found: list[list[int]] = []
        decode = self.searcher.schema[fieldname].format.decode_positions
        for subreader, offset in self.reader.leaf_readers():
            count = subreader.doc_count_all()
            local = docs[(docs >= offset) & (docs < offset + count)] - offset
            if len(local) == 0:
                continue
            found.extend(_read_positions(subreader.postings(fieldname, text), local.tolist(), decode))
        return found

    def group_codes(self) -> np.ndarray:
        """Each document's story group as a number; a document without one is a group of its own."""
        found = self._lengths.get("\0group")
        if found is None:
            names, codes = self.column("group")
            found = np.where(codes >= 0, codes, len(names) + np.arange(self.n))
            self._lengths["\0group"] = found
        return found

    def _group_table(self) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
        """(key -> code, documents ordered by group, where each code starts in that order, live sizes)."""
        table = self._groups
        if table is None:
            with self._lock:
                names, _codes = self.column("group")
                codes = self.group_codes()
                order = np.argsort(codes, kind="stable")
                starts = np.searchsorted(codes[order], np.arange(len(names) + 1))
                sizes = np.bincount(codes[self.live], minlength=len(names))[: len(names)]
                table = self._groups = ({name: code for code, name in enumerate(names)}, order, starts, sizes)
        return table

    def group_size(self, key: str) -> int:
        """How many live documents a story group holds (0: no such group)."""
        index, _order, _starts, sizes = self._group_table()
        code = index.get(key)
        return 0 if code is None else int(sizes[code])

    def group_members(self, key: str) -> np.ndarray:
        """The live documents of one story group, by document number."""
        index, order, starts, _sizes = self._group_table()
        code = index.get(key)
        if code is None:
            return np.zeros(0, dtype=np.int64)
        found = np.sort(order[starts[code] : starts[code + 1]])
        return found[self.live[found]]

    def groups_in(self, ranked: Ranked) -> int:
        """How many story groups the matching documents belong to."""
        codes = self.group_codes()
        seen = np.zeros(len(codes) + self.n + 1, dtype=bool)  # codes < distinct groups + documents
        seen[codes[ranked.ids]] = True
        return int(np.count_nonzero(seen))

    def top(
        self, ranked: Ranked, limit: int, newest: bool = False, collapse: bool = False, oldest: bool = False
    ) -> list[tuple[float, int]]:
        """The best ``limit`` (score, docnum): by score, ties by document number; or newest or
        oldest first (ties by score), undated articles last. With ``collapse``, only the first
        of each story group."""
        docs, scores = ranked.ids, ranked.scores
        by_date = newest or oldest
        if len(docs) == 0:
            return []
        if collapse and not by_date and len(docs) > 4 * limit + 50:
            # Most groups are single articles: the best few times ``limit`` nearly always hold
            # ``limit`` groups; only when they do not is every match ordered.
            kth = np.partition(-scores, 4 * limit + 49)[4 * limit + 49]
            keep = -scores <= kth
            found = self._ordered(docs[keep], scores[keep], limit, newest, collapse, oldest)
            if len(found) >= limit:
                return found
        if not collapse and not by_date and len(docs) > limit:
            # Keep every document scoring at least the limit-th best score, ties included.
            kth = np.partition(-scores, limit - 1)[limit - 1]
            keep = -scores <= kth
            docs, scores = docs[keep], scores[keep]
        return self._ordered(docs, scores, limit, newest, collapse, oldest)

    def _ordered(
        self, docs: np.ndarray, scores: np.ndarray, limit: int, newest: bool, collapse: bool, oldest: bool = False
    ) -> list[tuple[float, int]]:
        if newest:
            order = np.lexsort((docs, -scores, -self.dates()[docs]))  # undated (-inf) last
        elif oldest:
            dates = self.dates()[docs]
            order = np.lexsort((docs, -scores, np.where(np.isneginf(dates), np.inf, dates)))  # undated last
        else:
            order = np.lexsort((docs, -scores))
        if collapse:
            _, first = np.unique(self.group_codes()[docs[order]], return_index=True)
            order = order[np.sort(first)]
        order = order[:limit]
        return [(float(scores[i]), int(docs[i])) for i in order]

    def counts(self, fieldname: str, ids: np.ndarray) -> dict[str, int]:
        names, codes = self.column(fieldname)
        chosen = codes[ids]
        chosen = chosen[chosen >= 0]
        counted = np.bincount(chosen, minlength=len(names))
        pairs = [(names[i], int(n)) for i, n in enumerate(counted) if n and names[i]]
        return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def _read_matcher(matcher: object) -> tuple[list[int], list[float]]:
    """A posting list's document numbers and weights.

    Whoosh's own posting matcher decodes a block at a time; its blocks are read
    whole here (a posting at a time in Python cost most of a cold query: 1.5
    million calls for 150 headlines). Any other matcher is read a posting at a time.
    """
    ids: list[int] = []
    weights: list[float] = []
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids[matcher._i :])
            weights.extend(matcher._weights[matcher._i :])
            matcher._next_block()
        return ids, weights
    while matcher.is_active():  # type: ignore[attr-defined]
        ids.append(matcher.id())  # type: ignore[attr-defined]
        weights.append(matcher.weight())  # type: ignore[attr-defined]
        matcher.next()  # type: ignore[attr-defined]
    return ids, weights


def _read_positions(matcher: object, docs: list[int], decode: Callable[[bytes], list[int]]) -> list[list[int]]:
    """The positions in each of ``docs`` (sorted; [] for a document the list lacks).

    Whoosh's own posting matcher is read a block at a time: blocks holding none of the
    documents are passed over unread, and a document is found in its block by bisection
    (skip_to walks a block a posting at a time)."""
    found: list[list[int]] = []
    j = 0
    if isinstance(matcher, W3LeafMatcher):
        while j < len(docs) and matcher.is_active():
            if matcher._maxid < docs[j]:
                matcher._next_block()
                continue
            matcher._read_ids()
            ids = matcher._ids
            values = None
            while j < len(docs) and docs[j] <= matcher._maxid:
                at = bisect_left(ids, docs[j])
                if at < len(ids) and ids[at] == docs[j]:
                    if values is None:
                        matcher._read_values()
                        values = matcher._values
                    found.append(decode(values[at]))
                else:
                    found.append([])
                j += 1
            matcher._next_block()
    else:
        for doc in docs:  # any other matcher (a segment with deletions): a posting at a time
            if matcher.is_active() and matcher.id() < doc:  # type: ignore[attr-defined]
                matcher.skip_to(doc)  # type: ignore[attr-defined]
            held = matcher.is_active() and matcher.id() == doc  # type: ignore[attr-defined]
            found.append(decode(matcher.value()) if held else [])  # type: ignore[attr-defined]
            j += 1
    found.extend([] for _ in range(len(docs) - j))
    return found


def _combine(parts: list[Matches], every: bool, boost: float) -> Matches:
    """Sum the parts' scores per document: over the union (any) or the intersection (every)."""
    parts = [p for p in parts if len(p[0])] if not every else parts
    if not parts:
        return NO_MATCH
    if len(parts) == 1:
        ids, scores = parts[0]
        return ids, scores * boost
    ids, where, counts = np.unique(np.concatenate([p[0] for p in parts]), return_inverse=True, return_counts=True)
    scores = np.bincount(where, weights=np.concatenate([p[1] for p in parts]), minlength=len(ids)) * boost
    if every:
        keep = counts == len(parts)
        ids, scores = ids[keep], scores[keep]
    return ids, scores
