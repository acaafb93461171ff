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
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time as dtime
from pathlib import Path

from whoosh import query as Q
from whoosh.index import Index
from whoosh.reading import IndexReader
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from search import __version__
from search.analysis import normalise, stopwords
from search.highlight import highlight_all, snippet
from search.index import current_generation, open_index, read_meta
from search.query import ParsedQuery, QueryBuilder, Weights, facet_values
from search.ranking import Ranker
from search.spelling import VOCABULARY_FILE, Speller
from search.settings import SETTINGS

SORTS = ("relevance", "newest")
FACET_FIELDS = ("source", "category")
SUGGEST_BELOW = 3  # offer "did you mean" when fewer results than this


@dataclass
class Filters:
    source: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None

    def query(self, reader: IndexReader) -> Q.Query | None:
        parts: list[Q.Query] = []
        for fieldname in FACET_FIELDS:
            wanted = getattr(self, fieldname)
            if wanted:
                values = [v for text in wanted for v in facet_values(reader, fieldname, text)]
                parts.append(Q.Or([Q.Term(fieldname, v) for v in values]) if values else Q.NullQuery)
        if self.date_from or self.date_to:
            start = datetime.combine(self.date_from, dtime.min) if self.date_from else None
            end = datetime.combine(self.date_to, dtime.max) if self.date_to else None
            parts.append(Q.DateRange("date", start, end))
        if not parts:
            return None
        return Q.And(parts) if len(parts) > 1 else parts[0]


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


class Engine:
    """Searches the live index under ``root``; safe to share between threads."""

    def __init__(self, root: str | Path, weights: Weights | None = None, bm25: tuple[float, float] = (0.75, 1.2)) -> None:
        self.root = Path(root)
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

    # -- the live index ---------------------------------------------------------

    def _current_index(self) -> tuple[Index, Path]:
        gen = current_generation(self.root)
        with self._lock:
            if self._index is None or gen != self._generation:
                self._index, self._generation = open_index(self.root)
                if self.warm_in_background:
                    threading.Thread(target=self._warm_quietly, name="baheth-warm", daemon=True).start()
            return self._index, self._generation

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; searching reports real errors
            logging.getLogger(__name__).warning("warming the index failed", exc_info=True)

    def searcher(self) -> Searcher:
        """This thread's searcher on the newest index, reopened when it changed."""
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
            assert self._index is not None
            if self._generation != key[0]:
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
            self._shared_ranker, self._rankers_key = Ranker(own, *self.bm25), key
            return self._shared_ranker

    def warm(self) -> None:
        """Read now what the first search would read (field lengths, dates, facet codes, speller)."""
        searcher = self.searcher()
        ranker = self._ranker(searcher)
        for fieldname in ("title", "body", "title_exact", "body_exact"):
            ranker.lengths(fieldname)
        ranker.dates()
        for fieldname in FACET_FIELDS:
            ranker.column(fieldname)
        self._speller(searcher)

    def health(self) -> dict[str, object]:
        """What is being served; raises IndexProblem when there is no usable index."""
        searcher = self.searcher()
        meta = read_meta(self._generation) if self._generation else {}
        return {
            "status": "ok",
            "documents": searcher.doc_count(),
            "built_at": meta.get("built_at"),
            "updated_at": meta.get("updated_at"),
            "generation": self._generation.name if self._generation else None,
            "version": __version__,
        }

    def parse(self, text: str) -> ParsedQuery:
        return QueryBuilder(self.searcher().reader(), self.weights).parse(text)

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
        """Run a query in the user's language and return one page of results."""
        started = time.perf_counter()
        per_page = per_page or SETTINGS.value("per_page")
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        searcher = self.searcher()
        parsed = QueryBuilder(searcher.reader(), self.weights).parse(text)
        filters = filters or Filters()
        filter_q = filters.query(searcher.reader())
        result = SearchResult(query=text, total=0, page=page, per_page=per_page, took_ms=0.0, hits=[], sort=sort)
        result.notices = list(parsed.notices)
        if parsed.query is None and filter_q is not None and not text.strip():
            # No words, only filters: browse what they select, newest first.
            parsed.query, parsed.filters_only = Q.Every(), True
        if parsed.query is not None:
            self._run(searcher, parsed, filter_q, result, sort, snippets, facets)
        if suggest and result.total < SUGGEST_BELOW and text.strip():
            result.suggestion = self._suggest(searcher, text)
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def _run(
        self,
        searcher: Searcher,
        parsed: ParsedQuery,
        filter_q: Q.Query | None,
        result: SearchResult,
        sort: str,
        snippets: bool,
        facets: bool,
    ) -> None:
        assert parsed.query is not None
        q = parsed.query
        if filter_q is not None:
            q = Q.And([q, Q.ConstantScoreQuery(filter_q, 0.0)])  # filters match, they do not score
        ranker = self._ranker(searcher)
        ranked = ranker.rank(q, SETTINGS.value("search_time_limit"))
        if ranked.timed_out:
            result.timed_out = True
            result.notices.append("the search took too long and was stopped; try fewer or rarer words")
        result.total = int(ranked.mask.sum())
        if facets and result.total:
            result.facets = {fieldname: ranker.counts(fieldname, ranked.mask) for fieldname in FACET_FIELDS}
        newest = sort == "newest" or parsed.filters_only
        top = ranker.top(ranked, result.page * result.per_page, newest=newest)
        start = (result.page - 1) * result.per_page
        for score, docnum in top[start : start + result.per_page]:
            result.hits.append(self._hit(searcher.stored_fields(docnum), score, parsed, snippets))

    def _hit(self, stored: dict[str, object], score: float, parsed: ParsedQuery, snippets: bool) -> Hit:
        title = str(stored.get("title") or "")
        hit = Hit(
            id=str(stored["id"]),
            title=title,
            url=str(stored.get("url") or ""),
            source=str(stored.get("source") or ""),
            category=str(stored.get("category") or ""),
            author=str(stored.get("author") or ""),
            date=str(stored.get("date_iso") or "") or None,
            score=float(score),
        )
        if snippets:
            cut = snippet(str(stored.get("body") or ""), parsed.highlight_terms, SETTINGS.value("snippet_chars"))
            hit.snippet, hit.snippet_text = cut.html, cut.text
            hit.title_html = highlight_all(title, parsed.highlight_terms)
        return hit

    def _suggest(self, searcher: Searcher, text: str) -> str | None:
        """A respelling of the query whose words are in the index, if one exists."""
        words = text.split()
        if not words or len(words) > 8:
            return None
        speller = self._speller(searcher)
        stops = stopwords()
        changed = False
        out = []
        for word in words:
            form = normalise(word)
            fixed = None if form in stops or not form.isalpha() else speller.suggest(form, 2 if len(form) > 4 else 1)
            if fixed and searcher.doc_frequency("body_exact", form) == 0:
                out.append(fixed)
                changed = True
            else:
                out.append(word)
        return " ".join(out) if changed else None

    def _speller(self, searcher: Searcher) -> Speller:
        key = self._state(searcher)
        with self._lock:
            if self._speller_key != key or self._shared_speller is None:
                vocabulary = (key[0] or self.root) / VOCABULARY_FILE  # this searcher's generation
                self._shared_speller, self._speller_key = Speller.load(vocabulary), key
            return self._shared_speller

    # -- one document ---------------------------------------------------------------

    def document(self, doc_id: str, text: str = "", related: int = 5) -> DocView | None:
        """One article, with the query's words marked and articles like it."""
        searcher = self.searcher()
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        terms = QueryBuilder(searcher.reader(), self.weights).parse(text).highlight_terms if text.strip() else set()
        title = str(stored.get("title") or "")
        body = str(stored.get("body") or "")
        similar: list[Hit] = []
        if related:
            found = searcher.more_like(docnum, "body", text=title + "\n" + body, top=related + 1, numterms=12)
            for hit in found:
                if hit.docnum != docnum and len(similar) < related:
                    similar.append(self._hit(hit.fields(), hit.score or 0.0, ParsedQuery("", None), snippets=False))
        return DocView(
            id=str(stored["id"]),
            title=title,
            body=body,
            url=str(stored.get("url") or ""),
            source=str(stored.get("source") or ""),
            category=str(stored.get("category") or ""),
            author=str(stored.get("author") or ""),
            date=str(stored.get("date_iso") or "") or None,
            title_html=highlight_all(title, terms),
            body_html=highlight_all(body, terms),
            related=similar,
        )

