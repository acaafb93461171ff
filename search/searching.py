"""Ranking, filters, facets, paging and suggestions, returned as plain dataclasses.

:class:`Engine` is what the CLI, the batch runner and the web app all call, so
a query ranks the same wherever it is typed. It follows the live index: after
a reindex (a new generation) or an add/delete (a new Whoosh commit), the next
search sees the new documents without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

import numpy as np
from whoosh import query as Q
from whoosh.index import Index
from whoosh.reading import IndexReader
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from search import __version__
from search.analysis import normalise, stopwords
from search.cache import ByteLRU
from search.highlight import Analysed, highlight_all, snippet
from search.index import IndexProblem, current_generation, open_index, read_meta
from search.query import ParsedQuery, QueryBuilder, Weights, facet_values
from search.ranking import Ranker
from search.settings import MB, Config, defaults
from search.spelling import MAX_WORD_CHARS, VOCABULARY_FILE, Speller

log = logging.getLogger(__name__)

SORTS = ("relevance", "newest")
FACET_FIELDS = ("source", "category")
SUGGEST_BELOW = 3  # offer "did you mean" when fewer results than this


@dataclass
class Filters:
    source: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.source or self.category or self.date_from or self.date_to)

    def query(self, reader: IndexReader) -> Q.Query | None:
        """The source and category filters as a query (dates are applied to the date column)."""
        parts: list[Q.Query] = []
        for fieldname in FACET_FIELDS:
            wanted = getattr(self, fieldname)
            if wanted:
                values = [v for text in wanted for v in _facet_choice(reader, fieldname, text)]
                parts.append(Q.Or([Q.Term(fieldname, v) for v in values]) if values else Q.NullQuery)
        if not parts:
            return None
        return Q.And(parts) if len(parts) > 1 else parts[0]

    def date_bounds(self) -> tuple[float, float] | None:
        """The date range as bounds on the date column's numbers (inclusive), or None."""
        if not (self.date_from or self.date_to):
            return None
        low = datetime.combine(self.date_from, dtime.min) if self.date_from else None
        high = datetime.combine(self.date_to, dtime.max) if self.date_to else None
        return (
            float(datetime_to_long(low)) if low else -np.inf,
            float(datetime_to_long(high)) if high else np.inf,
        )


def _facet_choice(reader: IndexReader, fieldname: str, text: str) -> list[str]:
    """The indexed values a filter names: the whole text when a value is called so
    (a source name with a comma in it), else each of its comma-separated parts."""
    whole = facet_values(reader, fieldname, text)
    if whole or "," not in text:
        return whole
    return [v for part in text.split(",") if part.strip() for v in facet_values(reader, fieldname, part)]


@dataclass
class Hit:
    id: str
    title: str
    url: str
    source: str
    category: str
    author: str
    date: str | None
    score: float
    snippet: str = ""  # HTML: escaped text with <mark> around matches
    snippet_text: str = ""
    title_html: str = ""

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("title_html")
        data["score"] = round(self.score, 4)
        return data


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None
    notices: list[str] = field(default_factory=list)
    sort: str = "relevance"
    timed_out: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class DocView:
    id: str
    title: str
    body: str
    url: str
    source: str
    category: str
    author: str
    date: str | None
    title_html: str
    body_html: str
    related: list[Hit]


def shown(value: object) -> str:
    """A stored value as text that can be encoded and shown: a lone surrogate
    (from an index built before ingestion cleaned them) becomes U+FFFD."""
    text = "" if value is None else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


RELATED_TEXT_CHARS = 20_000  # "more like this" reads the start of a long article only


class Engine:
    """Searches the live index under ``root``; safe to share between threads.

    Every public method either answers or raises :class:`IndexProblem`: an
    index that is missing, damaged or unreadable in any way (Whoosh raises many
    kinds of error on a damaged file) is reported as such, logged with its
    traceback, and the next call opens the index afresh.
    """

    def __init__(
        self,
        root: str | Path,
        weights: Weights | None = None,
        bm25: tuple[float, float] = (0.75, 1.2),
        config: Config | None = None,
    ) -> None:
        self.root = Path(root)
        self.config = config or defaults()
        self.weights = weights or Weights()
        self.bm25 = bm25
        self.scoring = BM25F(B=bm25[0], K1=bm25[1])
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._generation: Path | None = None
        self._local = threading.local()
        self.warm_in_background = False  # the web app turns it on: no cold first query after a reindex
        self._shared_ranker: Ranker | None = None
        self._rankers_key: tuple[Path | None, int] | None = None
        self._retired: list[Ranker] = []
        self._shared_speller: Speller | None = None
        self._speller_key: tuple[Path | None, int] | None = None
        self.postings_cache: ByteLRU[tuple[np.ndarray, np.ndarray]] = ByteLRU(self.config.postings_cache_mb * MB)
        self.highlight_cache: ByteLRU[Analysed] = ByteLRU(self.config.highlight_cache_mb * MB)

    # -- the live index ---------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn any failure to read the index into IndexProblem, and forget what was open."""
        try:
            yield
        except IndexProblem:
            raise
        except (MemoryError, RecursionError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged index fails in many ways; all mean the same
            log.exception("reading the index at %s failed", self.root)
            self._forget()
            raise IndexProblem(
                f"the index at {self.root} could not be read ({type(exc).__name__}: {exc}); "
                "rebuild it with `baheth reindex`",
                public="the search index could not be read; it may be damaged and needs to be rebuilt",
            ) from exc

    def _forget(self) -> None:
        with self._lock:
            self._index = None
            self._generation = None
            self._shared_ranker = None
            self._rankers_key = None
            self._shared_speller = None
            self._speller_key = None
            self.postings_cache.clear()
        local = self._local
        if getattr(local, "searcher", None) is not None:
            try:
                local.searcher.close()
            except Exception:  # noqa: BLE001 - closing a damaged searcher may fail too
                pass
            local.searcher = None

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

    def searcher(self) -> Searcher:
        """This thread's searcher on the newest index, reopened when it changed."""
        with self._reading():
            return self._searcher()

    def _searcher(self) -> Searcher:
        ix, gen = self._current_index()
        local = self._local
        current = getattr(local, "searcher", None)
        if current is not None and getattr(local, "generation", None) == gen:
            if current.up_to_date():
                return current
            fresh = current.refresh()
            local.searcher = fresh
            return fresh
        if current is not None:
            current.close()
        local.searcher = ix.searcher(weighting=self.scoring)
        local.generation = gen
        return local.searcher

    def _state(self, searcher: Searcher) -> tuple[Path | None, int]:
        """Which state of the index this thread's searcher reads: (generation folder, Whoosh TOC generation)."""
        return getattr(self._local, "generation", None), searcher.reader().generation()

    def _ranker(self, searcher: Searcher) -> Ranker:
        """The ranker for this searcher's state of the index, shared by all threads."""
        key = self._state(searcher)
        with self._lock:
            if self._rankers_key == key and self._shared_ranker is not None:
                return self._shared_ranker
            if self._index is None or self._generation != key[0]:
                # Another thread has already moved the engine to a newer generation:
                # a ranker on that one would hand out its document numbers to this
                # thread's older searcher. Rank with this thread's searcher.
                return Ranker(searcher, *self.bm25)
            own = self._index.searcher(weighting=self.scoring)
            if own.reader().generation() != key[1]:
                own.close()  # the index moved on meanwhile: rank with this thread's searcher
                return Ranker(searcher, *self.bm25)
            if self._shared_ranker is not None:
                self._retired.append(self._shared_ranker)
                # Other threads may still be ranking with the last two; close older ones.
                for old in self._retired[:-2]:
                    old.searcher.close()
                del self._retired[:-2]
            self.postings_cache.clear()
            ranker = Ranker(own, *self.bm25, cache=self.postings_cache)
            self._shared_ranker, self._rankers_key = ranker, key
            return ranker

    def warm(self) -> None:
        """Read now what the first search would read (field lengths, dates, facet codes, speller)."""
        with self._reading():
            searcher = self._searcher()
            ranker = self._ranker(searcher)
            for fieldname in ("title", "body", "title_exact", "body_exact"):
                ranker.lengths(fieldname)
            ranker.dates()
            for fieldname in FACET_FIELDS:
                ranker.column(fieldname)
            self._speller(searcher)

    def health(self) -> dict[str, object]:
        """What is being served; raises IndexProblem when there is no usable index."""
        with self._reading():
            searcher = self._searcher()
            meta = read_meta(self._generation) if self._generation else {}
            return {
                "status": "ok",
                "documents": searcher.doc_count(),
                "built_at": meta.get("built_at"),
                "updated_at": meta.get("updated_at"),
                "generation": self._generation.name if self._generation else None,
                "version": __version__,
                "caches": {"postings": self.postings_cache.stats(), "highlight": self.highlight_cache.stats()},
            }

    def parse(self, text: str) -> ParsedQuery:
        with self._reading():
            return self._builder(self._searcher()).parse(text)

    def _builder(self, searcher: Searcher) -> QueryBuilder:
        return QueryBuilder(searcher.reader(), self.weights, self.config)

    # -- searching ------------------------------------------------------------------

    def search(
        self,
        text: str,
        page: int = 1,
        per_page: int | None = None,
        sort: str = "relevance",
        filters: Filters | None = None,
        snippets: bool = True,
        facets: bool = True,
        suggest: bool = True,
    ) -> SearchResult:
        """Run a query in the user's language and return one page of results.

        The time limit covers the whole search: ranking, snippets and the
        suggestion. Past it, what is left is skipped and a notice says so.
        """
        started = time.perf_counter()
        deadline = time.monotonic() + self.config.search_time_limit
        per_page = per_page or self.config.per_page
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page must be at least 1")
        text = shown(text)
        with self._reading():
            searcher = self._searcher()
            parsed = self._builder(searcher).parse(text)
            filters = filters or Filters()
            result = SearchResult(query=text, total=0, page=page, per_page=per_page, took_ms=0.0, hits=[], sort=sort)
            result.notices = list(parsed.notices)
            if parsed.query is None and filters.active and not text.strip():
                # No words, only filters: browse what they select, newest first.
                parsed.query, parsed.filters_only = Q.Every(), True
            if parsed.query is not None and searcher.doc_count_all() > 0:
                self._run(searcher, parsed, filters, result, snippets, facets, deadline)
            if suggest and result.total < SUGGEST_BELOW and text.strip() and time.monotonic() < deadline:
                result.suggestion = self._suggest(searcher, parsed)
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def _run(
        self,
        searcher: Searcher,
        parsed: ParsedQuery,
        filters: Filters,
        result: SearchResult,
        snippets: bool,
        facets: bool,
        deadline: float,
    ) -> None:
        assert parsed.query is not None
        q = parsed.query
        filter_q = filters.query(searcher.reader())
        if filter_q is not None:
            q = Q.And([q, Q.ConstantScoreQuery(filter_q, 0.0)])  # filters match, they do not score
        ranker = self._ranker(searcher)
        ranked = ranker.rank(q, max(0.0, deadline - time.monotonic()))
        bounds = filters.date_bounds()
        if bounds is not None:
            dates = ranker.dates()
            ranked.mask &= (dates >= bounds[0]) & (dates <= bounds[1])
        if ranked.timed_out:
            result.timed_out = True
            result.notices.append("the search took too long and was stopped; try fewer or rarer words")
        result.total = int(ranked.mask.sum())
        if facets and result.total:
            result.facets = {fieldname: ranker.counts(fieldname, ranked.mask) for fieldname in FACET_FIELDS}
        newest = result.sort == "newest" or parsed.filters_only
        top = ranker.top(ranked, result.page * result.per_page, newest=newest)
        start = (result.page - 1) * result.per_page
        for score, docnum in top[start : start + result.per_page]:
            with_snippet = snippets and time.monotonic() < deadline
            if snippets and not with_snippet and not result.timed_out:
                result.timed_out = True
                result.notices.append("the search took too long: some results are shown without a snippet")
            result.hits.append(self._hit(searcher.stored_fields(docnum), score, parsed, with_snippet))

    def _hit(self, stored: dict[str, object], score: float, parsed: ParsedQuery, snippets: bool) -> Hit:
        title = shown(stored.get("title"))
        hit = Hit(
            id=shown(stored.get("id")),
            title=title,
            url=shown(stored.get("url")),
            source=shown(stored.get("source")),
            category=shown(stored.get("category")),
            author=shown(stored.get("author")),
            date=shown(stored.get("date_iso")) or None,
            score=float(score),
        )
        if snippets:
            body = shown(stored.get("body"))
            cut = snippet(body, parsed.highlight_terms, self.config.snippet_chars, self.highlight_cache)
            hit.snippet, hit.snippet_text = cut.html, cut.text
            hit.title_html = highlight_all(title, parsed.highlight_terms, self.highlight_cache)
        else:
            hit.snippet_text = ""
            hit.title_html = highlight_all(title, set())
        return hit

    def _suggest(self, searcher: Searcher, parsed: ParsedQuery) -> str | None:
        """A respelling of the query whose words are in the index, if one exists.

        It works on the query as parsed (cut to max_query_chars), and a word
        longer than any in the vocabulary is never looked up, so its cost is
        bounded whatever was typed.
        """
        words = parsed.text[: self.config.max_query_chars].split()
        if not words or len(words) > 8:
            return None
        speller = self._speller(searcher)
        stops = stopwords()
        changed = False
        out = []
        for word in words:
            form = normalise(word)
            fixed = None
            if len(form) <= MAX_WORD_CHARS and form not in stops and form.isalpha():
                fixed = speller.suggest(form, 2 if len(form) > 4 else 1)
            if fixed and searcher.doc_frequency("body_exact", form) == 0:
                out.append(fixed)
                changed = True
            else:
                out.append(word)
        return " ".join(out) if changed else None

    def _speller(self, searcher: Searcher) -> Speller:
        key = self._state(searcher)
        with self._lock:
            if self._speller_key == key and self._shared_speller is not None:
                return self._shared_speller
        # Load outside the engine's lock: a large vocabulary must not stall other requests.
        vocabulary = (key[0] or self.root) / VOCABULARY_FILE  # this searcher's generation
        speller = Speller.load(vocabulary)
        with self._lock:
            self._shared_speller, self._speller_key = speller, key
        return speller

    # -- one document ---------------------------------------------------------------

    def document(self, doc_id: str, text: str = "", related: int = 5) -> DocView | None:
        """One article, with the query's words marked and articles like it."""
        with self._reading():
            return self._document(shown(doc_id), shown(text), related)

    def _document(self, doc_id: str, text: str, related: int) -> DocView | None:
        searcher = self._searcher()
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        terms = self._builder(searcher).parse(text).highlight_terms if text.strip() else set()
        title = shown(stored.get("title"))
        body = shown(stored.get("body"))
        similar: list[Hit] = []
        if related:
            sample = (title + "\n" + body)[:RELATED_TEXT_CHARS]
            found = searcher.more_like(docnum, "body", text=sample, top=related + 1, numterms=12)
            for hit in found:
                if hit.docnum != docnum and len(similar) < related:
                    similar.append(self._hit(hit.fields(), hit.score or 0.0, ParsedQuery("", None), snippets=False))
        return DocView(
            id=shown(stored.get("id")),
            title=title,
            body=body,
            url=shown(stored.get("url")),
            source=shown(stored.get("source")),
            category=shown(stored.get("category")),
            author=shown(stored.get("author")),
            date=shown(stored.get("date_iso")) or None,
            title_html=highlight_all(title, terms, self.highlight_cache),
            body_html=highlight_all(body, terms, self.highlight_cache),
            related=similar,
        )
