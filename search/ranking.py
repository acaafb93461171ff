"""BM25F ranking over whole posting lists at once, with NumPy.

Whoosh scores one matching document at a time through a tree of Python
matchers; a pasted headline (a dozen words, each looked up in four fields)
then costs hundreds of milliseconds. Here each term's posting list is read
once per searcher into arrays (document numbers, term frequencies) and a
query is evaluated as array arithmetic over all documents: the same BM25F
formula and statistics as Whoosh's ``BM25F`` (idf = log(N / (df + 1)) + 1,
per-field average length, the index's own stored field lengths), so the
scores are Whoosh's scores, computed in a few milliseconds.

Query nodes without a term-level formula (phrases, date ranges) are matched
by Whoosh and scored by it, then merged in.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh import query as Q
from whoosh.searching import Searcher

MAX_CACHED_TERMS = 2048


class Deadline(Exception):
    """The evaluation ran past its time limit."""


@dataclass
class Ranked:
    scores: np.ndarray  # float64 per document number
    mask: np.ndarray  # bool per document number: matches the query
    timed_out: bool = False


class Ranker:
    """Evaluates queries for one searcher (one fixed state of the index)."""

    def __init__(self, searcher: Searcher, B: float, K1: float) -> None:
        # Shared by the server's threads: index reads (cache misses) hold the
        # lock, evaluation only reads the immutable cached arrays.
        self._lock = threading.RLock()
        self.searcher = searcher
        self.reader = searcher.reader()
        self.B = B
        self.K1 = K1
        self.n = self.reader.doc_count_all()
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
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
        key = (fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        with self._lock:
            return self._read_postings(key)

    def _read_postings(self, key: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        fieldname, text = key
        cached = self._postings.get(key)
        if cached is not None:
            return cached
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
        found = (
            (np.concatenate(ids), np.concatenate(weights))
            if ids
            else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
        )
        self._postings[key] = found
        if len(self._postings) > MAX_CACHED_TERMS:
            self._postings.popitem(last=False)
        return found

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
            reader = self.reader.column_reader(fieldname)
            values: dict[object, int] = {}
            codes = np.empty(self.n, dtype=np.int64)
            for docnum in range(self.n):
                value = reader[docnum]
                if value in (None, b"", ""):
                    codes[docnum] = -1
                    continue
                codes[docnum] = values.setdefault(value, len(values))
            names = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
            found = (names, codes)
            self._columns[fieldname] = found
        return found

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
            reader = self.reader.column_reader("date", translate=False)
            raw = np.fromiter((reader[d] for d in range(self.n)), dtype=np.float64, count=self.n)
            found = np.where(raw >= 2.0**63, -math.inf, raw)
            self._lengths["\0date"] = found
        return found

    # -- evaluation ------------------------------------------------------------------

    def rank(self, q: Q.Query, seconds: float) -> Ranked:
        deadline = time.monotonic() + seconds
        try:
            scores, mask = self._eval(q, deadline)
            timed_out = False
        except Deadline:
            scores, mask = np.zeros(self.n), np.zeros(self.n, dtype=bool)
            timed_out = True
        mask &= self.live
        return Ranked(scores, mask, timed_out)

    def _term(self, q: Q.Term) -> tuple[np.ndarray, np.ndarray]:
        ids, tf = self.postings(q.fieldname, q.text)
        scores = np.zeros(self.n)
        mask = np.zeros(self.n, dtype=bool)
        if len(ids) == 0:
            return scores, mask
        mask[ids] = True
        if self.searcher.schema[q.fieldname].scorable:
            with self._lock:
                df = self.reader.doc_frequency(q.fieldname, q.text)
            idf = math.log(self.reader.doc_count_all() / (df + 1)) + 1
            avgfl = self.searcher.avg_field_length(q.fieldname) or 1
            fl = self.lengths(q.fieldname)[ids]
            k1, b = self.K1, self.B
            scores[ids] = idf * (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)) * q.boost
        else:
            scores[ids] = tf * q.boost
        return scores, mask

    def _eval(self, q: Q.Query, deadline: float) -> tuple[np.ndarray, np.ndarray]:
        if time.monotonic() > deadline:
            raise Deadline
        if isinstance(q, Q.Term):
            return self._term(q)
        if isinstance(q, (Q.Or, Q.And)):
            parts = [self._eval(sub, deadline) for sub in q.subqueries]
            if not parts:
                return np.zeros(self.n), np.zeros(self.n, dtype=bool)
            scores = np.sum([p[0] for p in parts], axis=0) * q.boost
            combine = np.logical_or if isinstance(q, Q.Or) else np.logical_and
            mask = combine.reduce([p[1] for p in parts])
            return scores, mask
        if isinstance(q, Q.AndNot):
            scores, mask = self._eval(q.a, deadline)
            _, excluded = self._eval(q.b, deadline)
            return scores, mask & ~excluded
        if isinstance(q, Q.AndMaybe):
            scores, mask = self._eval(q.a, deadline)
            extra, _ = self._eval(q.b, deadline)
            return scores + extra, mask
        if isinstance(q, Q.ConstantScoreQuery):
            _, mask = self._eval(q.child, deadline)
            return np.where(mask, q.score, 0.0), mask
        if isinstance(q, Q.Every):
            return np.zeros(self.n), self.live.copy()
        if q is Q.NullQuery or isinstance(q, Q.NullQuery.__class__):
            return np.zeros(self.n), np.zeros(self.n, dtype=bool)
        return self._whoosh(q)

    def _whoosh(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        """Phrases and ranges: Whoosh matches and scores them."""
        scores = np.zeros(self.n)
        mask = np.zeros(self.n, dtype=bool)
        with self._lock:
            top_n = self.searcher.search(q, limit=None, optimize=False).top_n
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
