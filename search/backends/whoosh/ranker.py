"""BM25F ranking over whole posting lists at once, with NumPy.

Whoosh scores one matching document at a time through a tree of Python
matchers; a pasted headline (a dozen words, each looked up in four fields)
then costs hundreds of milliseconds. Here each term's posting list is read
once per searcher into arrays (document numbers, term frequencies) and a
query is evaluated as array arithmetic over all documents: the same BM25F
formula and statistics as Whoosh's ``BM25F`` (idf = log(N / (df + 1)) + 1,
per-field average length, the index's own stored field lengths), so the
scores are Whoosh's scores, computed in a few milliseconds.

It evaluates the backend-neutral query tree (:mod:`search.querytree`);
phrases, which have no term-level formula, are matched and scored by Whoosh
and merged in.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from whoosh import query as Q
from whoosh.collectors import TimeLimitCollector
from whoosh.searching import Searcher, TimeLimit

from search.cache import ByteLRU
from search.querytree import AllOf, AndMaybe, AndNot, AnyOf, Everything, Filter, Node, Nothing, Phrase, Term

Postings = tuple[np.ndarray, np.ndarray]
_SERIALS = itertools.count()  # one per ranker: the postings cache's keys name the ranker
KEY_BYTES = 200  # a cache key and its tuple, beside the arrays


class Deadline(Exception):
    """The evaluation ran past its time limit."""


@dataclass
class Ranked:
    scores: np.ndarray  # float64 per document number
    mask: np.ndarray  # bool per document number: matches the query
    timed_out: bool = False


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
        self.live = np.ones(self.n, dtype=bool)
        if self.reader.has_deletions():
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
            matcher = subreader.postings(fieldname, text)
            sub_ids: list[int] = []
            sub_weights: list[float] = []
            while matcher.is_active():
                sub_ids.append(matcher.id())
                sub_weights.append(matcher.weight())
                matcher.next()
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
        deadline = time.monotonic() + seconds
        try:
            if seconds <= 0:
                raise Deadline
            scores, mask = self._eval(q, deadline)
            timed_out = False
        except Deadline:
            scores, mask = np.zeros(self.n), np.zeros(self.n, dtype=bool)
            timed_out = True
        mask &= self.live
        return Ranked(scores, mask, timed_out)

    def _term(self, q: Term) -> tuple[np.ndarray, np.ndarray]:
        ids, tf = self.postings(q.field, q.text)
        scores = np.zeros(self.n)
        mask = np.zeros(self.n, dtype=bool)
        if len(ids) == 0:
            return scores, mask
        mask[ids] = True
        if self.searcher.schema[q.field].scorable:
            with self._lock:
                df = self.reader.doc_frequency(q.field, q.text)
            idf = math.log(max(self.n, 1) / (df + 1)) + 1
            avgfl = self.searcher.avg_field_length(q.field) or 1
            fl = self.lengths(q.field)[ids]
            k1, b = self.K1, self.B
            scores[ids] = idf * (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)) * q.boost
        else:
            scores[ids] = tf * q.boost
        return scores, mask

    def _eval(self, q: Node, deadline: float) -> tuple[np.ndarray, np.ndarray]:
        if time.monotonic() > deadline:
            raise Deadline
        if isinstance(q, Term):
            return self._term(q)
        if isinstance(q, (AnyOf, AllOf)):
            parts = [self._eval(sub, deadline) for sub in q.children]
            if not parts:
                return np.zeros(self.n), np.zeros(self.n, dtype=bool)
            scores = np.sum([p[0] for p in parts], axis=0) * q.boost
            combine = np.logical_or if isinstance(q, AnyOf) else np.logical_and
            mask = combine.reduce([p[1] for p in parts])
            return scores, mask
        if isinstance(q, AndNot):
            scores, mask = self._eval(q.positive, deadline)
            _, excluded = self._eval(q.negative, deadline)
            return scores, mask & ~excluded
        if isinstance(q, AndMaybe):
            scores, mask = self._eval(q.required, deadline)
            extra, _ = self._eval(q.optional, deadline)
            return scores + extra, mask
        if isinstance(q, Filter):
            _, mask = self._eval(q.child, deadline)
            return np.zeros(self.n), mask
        if isinstance(q, Everything):
            return np.zeros(self.n), self.live.copy()
        if isinstance(q, Nothing):
            return np.zeros(self.n), np.zeros(self.n, dtype=bool)
        if isinstance(q, Phrase):
            return self._whoosh(Q.Phrase(q.field, list(q.words), slop=q.slop, boost=q.boost), deadline)
        raise TypeError(f"not a query node: {q!r}")

    def _whoosh(self, q: Q.Query, deadline: float) -> tuple[np.ndarray, np.ndarray]:
        """Phrases: Whoosh matches and scores them, within what is left of the time limit."""
        scores = np.zeros(self.n)
        mask = np.zeros(self.n, dtype=bool)
        with self._lock:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Deadline
            collector = TimeLimitCollector(self.searcher.collector(limit=None), timelimit=left, use_alarm=False)
            try:
                self.searcher.search_with_collector(q, collector)
            except TimeLimit:
                raise Deadline from None
            top_n = collector.results().top_n
        for score, docnum in top_n:
            scores[docnum] = score or 0.0
            mask[docnum] = True
        return scores, mask

    def top(self, ranked: Ranked, limit: int, newest: bool = False) -> list[tuple[float, int]]:
        """The best ``limit`` (score, docnum): by score, ties by document number; or newest first."""
        docs = np.flatnonzero(ranked.mask)
        if len(docs) == 0:
            return []
        scores = ranked.scores[docs]
        if newest:
            order = np.lexsort((docs, -scores, -self.dates()[docs]))
        else:
            if len(docs) > limit:
                # Keep every document scoring at least the limit-th best score, ties included.
                kth = np.partition(-scores, limit - 1)[limit - 1]
                keep = -scores <= kth
                docs, scores = docs[keep], scores[keep]
            order = np.lexsort((docs, -scores))
        order = order[:limit]
        return [(float(scores[i]), int(docs[i])) for i in order]

    def counts(self, fieldname: str, mask: np.ndarray) -> dict[str, int]:
        names, codes = self.column(fieldname)
        chosen = codes[mask]
        chosen = chosen[chosen >= 0]
        counted = np.bincount(chosen, minlength=len(names))
        pairs = [(names[i], int(n)) for i, n in enumerate(counted) if n and names[i]]
        return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
