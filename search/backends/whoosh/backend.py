"""The embedded backend's read side: the live generation, per-thread searchers, one shared ranker.

A :class:`WhooshBackend` follows the index under its root: after a reindex (a
new generation) or an add/delete (a new Whoosh commit) the next snapshot reads
the new state without a restart. Each thread keeps its own Whoosh searcher;
the NumPy ranker of a state is shared by all threads, and never handed to a
thread whose searcher reads another state (their document numbers differ).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Iterator
from pathlib import Path

import numpy as np
from whoosh.index import Index
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from search.backends.base import Page, PageRequest, Stored
from search.backends.generations import current_generation, read_meta
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.ranker import Postings, Ranker
from search.cache import ByteLRU
from search.querytree import KEYWORD_FIELDS, TEXT_FIELDS
from search.spelling import VOCABULARY_FILE, read_vocabulary

log = logging.getLogger(__name__)
RETIRED_RANKERS = 2  # rankers of replaced states kept open for threads still using them


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

    def doc_count(self) -> int:
        return self.searcher.doc_count()

    # -- the lexicon --------------------------------------------------------------

    def words(self, field: str, prefix: str) -> Iterator[str]:
        for term in self.reader.expand_prefix(field, prefix):
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
            high = float(datetime_to_long(request.date_to)) if request.date_to else np.inf
            ranked.keep((dates >= low) & (dates <= high))
        page = Page(total=len(ranked.ids), hits=[], timed_out=ranked.timed_out)
        if request.facets and page.total:
            page.facets = {field: ranker.counts(field, ranked.ids) for field in KEYWORD_FIELDS}
        top = ranker.top(ranked, request.start + request.limit, newest=request.newest)
        for score, docnum in top[request.start : request.start + request.limit]:
            page.hits.append((score, self.searcher.stored_fields(docnum)))
        return page

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

    def vocabulary(self) -> str | None:
        return read_vocabulary(self.generation / VOCABULARY_FILE)

    def info(self) -> dict[str, object]:
        meta = read_meta(self.generation)
        return {
            "generation": self.generation.name,
            "built_at": meta.get("built_at"),
            "updated_at": meta.get("updated_at"),
        }


class WhooshBackend:
    """Searches the live Whoosh index under ``root``; safe to share between threads."""

    def __init__(
        self, root: str | Path, bm25: tuple[float, float] = (0.75, 1.2), postings_cache_bytes: int = 0
    ) -> None:
        self.root = Path(root)
        self.bm25 = bm25
        self.scoring = BM25F(B=bm25[0], K1=bm25[1])
        self.postings_cache: ByteLRU[Postings] = ByteLRU(postings_cache_bytes or 256 * 1024 * 1024)
        self.warm_in_background = False  # the web app turns it on: no cold first query after a reindex
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._generation: Path | None = None
        self._local = threading.local()
        self._shared_ranker: Ranker | None = None
        self._ranker_key: Hashable | None = None
        self._retired: list[Ranker] = []

    def snapshot(self) -> WhooshSnapshot:
        searcher, generation = self._searcher()
        return WhooshSnapshot(searcher, self._ranker(searcher, generation), generation)

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

    def forget(self) -> None:
        with self._lock:
            self._index = None
            self._generation = None
            self._shared_ranker = None
            self._ranker_key = None
            self.postings_cache.clear()
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            try:
                searcher.close()
            except Exception:  # noqa: BLE001 - closing a damaged searcher may fail too
                pass
            self._local.searcher = None

    # -- the live state -------------------------------------------------------------

    def _current_index(self) -> tuple[Index, Path]:
        gen = current_generation(self.root)
        with self._lock:
            if self._index is None or gen != self._generation:
                self._index, self._generation = open_index(self.root)
                self.postings_cache.clear()  # document numbers of the old generation
                if self.warm_in_background:
                    threading.Thread(target=self._warm_quietly, name="baheth-warm", daemon=True).start()
            return self._index, self._generation

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; searching reports real errors
            log.warning("warming the index failed", exc_info=True)

    def _searcher(self) -> tuple[Searcher, Path]:
        """This thread's searcher on the newest index, reopened when it changed."""
        ix, gen = self._current_index()
        local = self._local
        current = getattr(local, "searcher", None)
        if current is not None and getattr(local, "generation", None) == gen:
            if not current.up_to_date():
                current = local.searcher = current.refresh()
            return current, gen
        if current is not None:
            current.close()
        local.searcher = ix.searcher(weighting=self.scoring)
        local.generation = gen
        return local.searcher, gen

    def _ranker(self, searcher: Searcher, generation: Path) -> Ranker:
        """The ranker for this searcher's state of the index, shared by all threads."""
        key = (generation, searcher.reader().generation())
        with self._lock:
            if self._ranker_key == key and self._shared_ranker is not None:
                return self._shared_ranker
            if self._index is None or self._generation != generation:
                # Another thread has already moved to a newer generation: a ranker on
                # that one would hand out its document numbers to this thread's older
                # searcher. Rank with this thread's searcher.
                return Ranker(searcher, *self.bm25)
            own = self._index.searcher(weighting=self.scoring)
            if own.reader().generation() != key[1]:
                own.close()  # the index moved on meanwhile: rank with this thread's searcher
                return Ranker(searcher, *self.bm25)
            if self._shared_ranker is not None:
                self._retired.append(self._shared_ranker)
                # Other threads may still be ranking with the last ones; close older ones.
                for old in self._retired[:-RETIRED_RANKERS]:
                    old.searcher.close()
                del self._retired[:-RETIRED_RANKERS]
            self.postings_cache.clear()
            self._shared_ranker = Ranker(own, *self.bm25, cache=self.postings_cache)
            self._ranker_key = key
            return self._shared_ranker
