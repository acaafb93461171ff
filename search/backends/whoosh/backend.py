"""The embedded backend's read side: the live state, a pool of searchers, one shared ranker.

A :class:`WhooshBackend` follows the index under its root: after a reindex (a
new generation) or an add/delete (a new Whoosh commit) the next snapshot reads
the new state without a restart. A snapshot borrows a Whoosh searcher of one
state (searchers are not thread-safe; the pool holds at most one per thread
that searched at once) and that state's NumPy ranker, shared by all threads:
both read the same state, so their document numbers agree. A replaced state
closes when its last snapshot is dropped, releasing its memory.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Hashable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from whoosh.index import Index
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from search import roots
from search.backends.base import Page, PageRequest, Stored
from search.backends.generations import current_generation, read_meta
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.mapped import mapped_bytes
from search.backends.whoosh.ranker import Postings, Ranked, Ranker
from search.cache import ByteLRU
from search.errors import IndexBusy
from search.querytree import KEYWORD_FIELDS, TEXT_FIELDS
from search.settings import MB
from search.spelling import VOCABULARY_FILE, read_vocabulary

log = logging.getLogger(__name__)


def _just_after(moment: datetime) -> float:
    """The microsecond after ``moment`` as the dates column holds it; past the last one, infinity."""
    try:
        return float(datetime_to_long(moment + timedelta(microseconds=1)))
    except OverflowError:
        return float(np.inf)


class WhooshSnapshot:
    """One state of a Whoosh index, read through this thread's searcher and the shared ranker."""

    def __init__(self, searcher: Searcher, ranker: Ranker, generation: Path) -> None:
        self.searcher = searcher
        self.ranker = ranker
        self.generation = generation
        self.reader = searcher.reader()

    @property
    def key(self) -> Hashable:
        return self.generation, self.reader.generation()

    @property
    def pinned(self) -> bool:
        """Yes: its searcher reads one commit, and the state (its ranker, its searchers) stays open
        until the last snapshot of it is dropped, however many commits or reindexes follow."""
        return True

    def doc_count(self) -> int:
        return self.searcher.doc_count()

    # -- the lexicon --------------------------------------------------------------

    def words(self, field: str, prefix: str, limit: int | None = None) -> Iterator[str]:
        for term in itertools.islice(self.reader.expand_prefix(field, prefix), limit):
            yield term.decode("utf-8") if isinstance(term, bytes) else term

    def doc_frequency(self, field: str, word: str) -> int:
        return self.reader.doc_frequency(field, word)

    def values(self, field: str) -> list[str]:
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in self.reader.lexicon(field)]

    # -- a page of results --------------------------------------------------------

    def search(self, request: PageRequest) -> Page:
        if self.reader.doc_count_all() == 0:
            return Page(0, [])
        ranker = self.ranker
        ranked = ranker.rank(request.query, request.seconds)
        if request.date_from or request.date_to:
            dates = ranker.dates()[ranked.ids]
            low = float(datetime_to_long(request.date_from)) if request.date_from else -np.inf
            # The dates are microseconds in float64, exact to 8 µs around now: the last microsecond
            # of a day (date_to) rounds up to the next midnight, where a date-only article of the
            # next day is. Below the microsecond after date_to instead, which is exact.
            high = _just_after(request.date_to) if request.date_to else np.inf
            ranked.keep(np.isfinite(dates) & (dates >= low) & (dates < high))  # an undated article is in no range
        if request.undated:
            ranked.keep(np.isneginf(ranker.dates()[ranked.ids]))
        page = Page(total=len(ranked.ids), hits=[], timed_out=ranked.timed_out)
        if request.collapse:
            page.articles, page.total = page.total, ranker.groups_in(ranked)
        if request.facets and page.total:
            page.facets = {field: ranker.counts(field, ranked.ids) for field in KEYWORD_FIELDS}
            dates = ranker.dates()[ranked.ids]
            page.undated = int(np.count_nonzero(np.isneginf(dates)))
            page.days = _days(dates[np.isfinite(dates)])
        read: dict[int, Stored] = {}
        if request.roots and not request.newest and not request.oldest and len(ranked.ids) > 1:
            read = self._rerank_by_roots(ranked, request)
        top = ranker.top(
            ranked, request.start + request.limit, newest=request.newest, collapse=request.collapse, oldest=request.oldest
        )
        for score, docnum in top[request.start : request.start + request.limit]:
            page.hits.append((score, read.get(docnum) or self.searcher.stored_fields(docnum)))
        return page

    def _rerank_by_roots(self, ranked: Ranked, request: PageRequest) -> dict[int, Stored]:
        """Raise the scores of the best ROOT_DEPTH candidates (one per story group with collapse,
        as the other backend ranks them) by the query's roots in them (search.roots), read from
        the roots column. Scores only rise, so the candidates stay ahead of every other match.
        Returns the stored fields it read: an index written before the column has its candidates'
        roots found in their stored text, and the page shows some of them."""
        ranker = self.ranker
        head = [docnum for _, docnum in ranker.top(ranked, roots.ROOT_DEPTH, collapse=request.collapse)]
        found, lengths, read = [], [], {}
        wanted = roots.wanted_ids(request.roots) if ranker.has_roots() else None
        for docnum in head:
            counted = roots.column_counts(ranker.roots(docnum), wanted) if wanted is not None else None
            if counted is None:  # no column value (an older index or writer) or a damaged one: the text
                stored = read[docnum] = self.searcher.stored_fields(docnum)
                counted = roots.wanted_counts(
                    roots.text_roots(str(stored.get("title") or ""), str(stored.get("body") or "")), request.roots
                )
            found.append(counted[0])
            lengths.append(counted[1])
        boost = np.asarray(roots.boosts(set(request.roots), found, lengths))
        if boost.any():
            scores = ranked.scores.copy()  # the ranker may share its arrays with its caches
            scores[np.searchsorted(ranked.ids, np.asarray(head, dtype=ranked.ids.dtype))] += boost
            ranked.scores = scores
        return read

    # -- documents ----------------------------------------------------------------

    def document(self, doc_id: str) -> Stored | None:
        docnum = self.searcher.document_number(id=doc_id)
        return None if docnum is None else self.searcher.stored_fields(docnum)

    def more_like(self, doc_id: str, text: str, top: int) -> list[tuple[float, Stored]]:
        docnum = self.searcher.document_number(id=doc_id)
        if docnum is None:
            return []
        found = self.searcher.more_like(docnum, "body", text=text, top=top + 1, numterms=12)
        return [(hit.score or 0.0, hit.fields()) for hit in found if hit.docnum != docnum][:top]

    def group_sizes(self, keys: list[str]) -> dict[str, int]:
        return {key: self.ranker.group_size(key) for key in keys}

    def group(self, key: str, limit: int) -> tuple[int, list[Stored]]:
        ranker = self.ranker
        ids = ranker.group_members(key)
        if len(ids) == 0:
            return 0, []
        dates = ranker.dates()[ids]
        order = np.lexsort((ids, np.where(np.isneginf(dates), np.inf, dates)))  # oldest first, undated last
        return len(ids), [self.searcher.stored_fields(int(d)) for d in ids[order[:limit]]]

    def vocabulary(self) -> str | None:
        return read_vocabulary(self.generation / VOCABULARY_FILE)

    def info(self) -> dict[str, object]:
        meta = read_meta(self.generation)
        return {
            "generation": self.generation.name,
            "built_at": meta.get("built_at"),
            "updated_at": meta.get("updated_at"),
            "mapped_bytes": mapped_bytes(),
            "undated": int(np.count_nonzero(np.isneginf(self.ranker.dates()) & self.ranker.live)),
        }


AUTO_POSTINGS_BYTES = (16 * MB, 256 * MB)  # the postings cache's automatic bound: a quarter of the index, within these


def auto_postings_bytes(generation: Path) -> int:
    """A quarter of the generation's size on disk, within AUTO_POSTINGS_BYTES."""
    size = 0
    for path in generation.iterdir():
        try:
            size += path.stat().st_size
        except OSError:
            pass
    low, high = AUTO_POSTINGS_BYTES
    return max(low, min(high, size // 4))


class _State:
    """One state of the index (a generation and a Whoosh commit): its searchers and its ranker.

    Snapshots borrow a searcher from the pool and give it back when they are
    dropped (at the end of a request). Once a newer state is live this one is
    retired, and the moment its last snapshot is dropped every searcher and
    the ranker close, so the old state's maps and arrays are released.
    """

    def __init__(self, index: Index, generation: Path, backend: WhooshBackend) -> None:
        self.index = index
        self.generation = generation
        self.backend = backend
        self._lock = threading.Lock()
        first = index.searcher(weighting=backend.scoring)
        self.key: Hashable = (generation, first.reader().generation())
        self._free: list[Searcher] = [first]
        self._lent = 0
        self._retired = False
        self._ranker: Ranker | None = None

    def current(self) -> bool:
        """Whether no commit has been made since this state was opened (one directory listing)."""
        return self.index.latest_generation() == self.key[1]

    def lend(self) -> Searcher:
        with self._lock:
            self._lent += 1
            if self._free:
                return self._free.pop()
        try:
            searcher = self.index.searcher(weighting=self.backend.scoring)
        except BaseException:
            self.give_back(None)
            raise
        if searcher.reader().generation() != self.key[1]:
            searcher.close()  # a commit landed meanwhile: this state stays consistent
            self.give_back(None)
            raise _Moved
        return searcher

    def give_back(self, searcher: Searcher | None) -> None:
        with self._lock:
            self._lent -= 1
            if searcher is not None:
                self._free.append(searcher)
        self._close_if_done()

    def ranker(self) -> Ranker:
        with self._lock:
            if self._ranker is None:
                own = self.index.searcher(weighting=self.backend.scoring)
                if own.reader().generation() != self.key[1]:
                    own.close()
                    raise _Moved
                self._ranker = Ranker(own, *self.backend.bm25, cache=self.backend.postings_cache)
            return self._ranker

    def retire(self) -> None:
        with self._lock:
            self._retired = True
        self._close_if_done()

    def _close_if_done(self) -> None:
        """Once retired with nothing lent, close every searcher and the ranker's (once)."""
        with self._lock:
            if not self._retired or self._lent:
                return
            closing, self._free = self._free, []
            ranker, self._ranker = self._ranker, None
        _close(closing + ([ranker.searcher] if ranker is not None else []))

    def searchers(self) -> int:
        with self._lock:
            return len(self._free) + self._lent


class _Moved(Exception):
    """The index changed while a state was being opened: open the newest one."""


def _close(searchers: list[Searcher]) -> None:
    for searcher in searchers:
        try:
            searcher.close()
        except Exception:  # noqa: BLE001 - closing a damaged searcher may fail too
            pass


class WhooshBackend:
    """Searches the live Whoosh index under ``root``; safe to share between threads."""

    def __init__(
        self, root: str | Path, bm25: tuple[float, float] = (0.75, 1.2), postings_cache_bytes: int = 0
    ) -> None:
        self.root = Path(root)
        self.bm25 = bm25
        self.scoring = BM25F(B=bm25[0], K1=bm25[1])
        self._postings_bound = postings_cache_bytes  # 0: derived from each generation's size
        self.postings_cache: ByteLRU[Postings] = ByteLRU(postings_cache_bytes or AUTO_POSTINGS_BYTES[0])
        self.warm_in_background = False  # the web app turns it on: no cold first query after a reindex
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._generation: Path | None = None
        self._state: _State | None = None

    def snapshot(self) -> WhooshSnapshot:
        for _attempt in range(5):
            state = self._live_state()
            try:
                searcher = state.lend()
                ranker = state.ranker()
            except _Moved:
                continue
            snapshot = WhooshSnapshot(searcher, ranker, state.generation)
            weakref.finalize(snapshot, state.give_back, searcher)
            return snapshot
        raise IndexBusy("the index kept changing while it was being opened; try again")

    def warm(self) -> None:
        snapshot = self.snapshot()
        ranker = snapshot.ranker
        for field in TEXT_FIELDS:
            ranker.lengths(field)
        ranker.dates()
        for field in KEYWORD_FIELDS:
            ranker.column(field)

    def cache_stats(self) -> dict[str, dict[str, int]]:
        return {"postings": self.postings_cache.stats()}

    def waited(self) -> float:
        return 0.0  # an index on disk: opening its state is part of the search

    def forget(self) -> None:
        with self._lock:
            state, self._state = self._state, None
            self._index = None
            self._generation = None
            self.postings_cache.clear()
        if state is not None:
            state.retire()

    # -- the live state -------------------------------------------------------------

    def _live_state(self) -> _State:
        """The state of the newest generation and commit; older ones are retired."""
        gen = current_generation(self.root)
        with self._lock:
            state = self._state
            if state is not None and state.generation == gen and state.current():
                return state
            if self._index is None or gen != self._generation:
                self._index, self._generation = open_index(self.root)
                if not self._postings_bound:
                    self.postings_cache.resize(auto_postings_bytes(self._generation))
                if self.warm_in_background:
                    threading.Thread(target=self._warm_quietly, name="baheth-warm", daemon=True).start()
            fresh = _State(self._index, self._generation, self)
            self._state = fresh
            # Document numbers of the old state mean nothing in the new one.
            self.postings_cache.clear()
        if state is not None:
            state.retire()
        return fresh

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; searching reports real errors
            log.warning("warming the index failed", exc_info=True)


MICROSECONDS_A_DAY = 86_400_000_000


def _days(dates: np.ndarray) -> dict[str, int]:
    """Counts per day of the date column's values (microseconds since 0001-01-01, Whoosh's)."""
    if not len(dates):
        return {}
    ordinals, counts = np.unique(np.floor_divide(dates, MICROSECONDS_A_DAY).astype(np.int64), return_counts=True)
    found = {}
    for ordinal, count in zip(ordinals.tolist(), counts.tolist()):
        if 0 <= ordinal < date.max.toordinal():
            found[date.fromordinal(ordinal + 1).isoformat()] = int(count)
    return found
