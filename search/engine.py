"""The recipe: parse -> backend page -> snippets and marks -> result, returned as plain dataclasses.

:class:`Engine` is what the CLI, the batch runner and the web app all call, so
a query ranks the same wherever it is typed. It knows no backend type: it
asks a :class:`~search.backends.base.Snapshot` of the live index for one page
of a query tree, and follows the live index (after a reindex, add or delete
the next search sees the new documents without a restart).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from itertools import islice
from pathlib import Path

from search import __version__
from search.analysis import CLITIC_LETTERS, light_stem, load_root_stemmer, normalise, spelling_variants, stopwords
from search.backends import open_backend
from search.backends.base import Backend, PageRequest, Snapshot, Stored
from search.cache import ByteLRU
from search.errors import IndexProblem
from search.highlight import Analysed, highlight_all, mark, matches, snippet, written_forms
from search.labels import category_label, source_label
from search.notices import Notice
from search.query import MATCHES, Lexicon, ParsedQuery, QueryBuilder, Weights, facet_values
from search.querytree import GROUP_FIELD, AllOf, Everything, Filter, Node, Nothing, Term, all_of, any_of
from search.roots import query_roots
from search.settings import MB, Config, defaults
from search.spelling import MAX_WORD_CHARS, Speller
from search.timeline import Bar, bars

log = logging.getLogger(__name__)

OVERVIEW_SOURCES = 200  # sources listed by Engine.overview (the largest); the rest are counted

SORTS = ("relevance", "newest", "oldest")
FACET_FIELDS = ("source", "category")
# «هل تقصد»: a word the index does not hold gets its closest frequent neighbour; a word it
# holds, a neighbour at one edit used FAR_MORE_USED times as often (الانتخبات 14 -> الانتخابات 467).
FAR_MORE_USED = 20
RESPELL_BELOW = 3  # with fewer results, the respelling's results are shown instead (the page says so)
MAX_SUGGEST_WORDS = 8  # longer queries (pasted headlines) are not respelled


@dataclass
class Filters:
    source: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    undated: bool = False  # only the articles without a date (the «بدون تاريخ» bucket)
    group: str = ""  # only the articles of one story group (its key)

    @property
    def active(self) -> bool:
        return bool(self.source or self.category or self.date_from or self.date_to or self.undated or self.group)

    def query(self, lexicon: Lexicon, notices: list[Notice] | None = None) -> Node | None:
        """The source and category filters as a query tree (dates are bounds of the page request).

        A value that names nothing in the index, dates in the wrong order, or
        «undated» with a date range select nothing, and say so in ``notices``."""
        notices = [] if notices is None else notices
        parts: list[Node] = []
        for fieldname in FACET_FIELDS:
            wanted = getattr(self, fieldname)
            if wanted:
                values = []
                for text in wanted:
                    found, unknown = facet_choice(lexicon, fieldname, text)
                    notices.extend(Notice(f"unknown_{fieldname}", {"text": name}) for name in unknown)
                    values += found
                parts.append(any_of([Term(fieldname, v) for v in values]) if values else Nothing())
        if self.group:
            if lexicon.doc_frequency(GROUP_FIELD, self.group):
                parts.append(Term(GROUP_FIELD, self.group))
            else:
                notices.append(Notice("unknown_group", {"text": self.group}))
                parts.append(Nothing())
        if self.date_from and self.date_to and self.date_from > self.date_to:
            notices.append(Notice("dates_reversed", {"start": str(self.date_from), "end": str(self.date_to)}))
            parts.append(Nothing())
        if self.undated and (self.date_from or self.date_to):
            notices.append(Notice("undated_with_range"))
            parts.append(Nothing())
        return all_of(parts) if parts else None

    def date_bounds(self) -> tuple[datetime | None, datetime | None]:
        """The date range as naive datetimes, inclusive (the whole of each day), compared with each
        article's date as it was published (search.backends.base.local_time)."""
        low = datetime.combine(self.date_from, dtime.min) if self.date_from else None
        high = datetime.combine(self.date_to, dtime.max) if self.date_to else None
        return low, high


_LIST_COMMA = re.compile("[,،]")  # a list of sources or categories: «BBC,CNN» or «رياضة،سياسة»


def facet_choice(lexicon: Lexicon, fieldname: str, text: str) -> tuple[list[str], list[str]]:
    """The indexed values a filter names: the whole text when a value is called so
    (a source name with a comma in it), else each of its comma-separated parts; and what
    names nothing (the whole text, or each part that names nothing: «BBC,CNNN» finds BBC and
    says CNNN is no source, as two parameters would)."""
    whole = facet_values(lexicon, fieldname, text)
    if whole or not _LIST_COMMA.search(text):
        return whole, [] if whole else [text]
    found: list[str] = []
    unknown: list[str] = []
    for part in (p.strip() for p in _LIST_COMMA.split(text)):
        if part:
            values = facet_values(lexicon, fieldname, part)
            found += values
            if not values:
                unknown.append(part)
    return found, unknown if found or unknown else [text]  # «,» alone names nothing: say so


MAX_FORMS = 6  # written forms listed per query word


@dataclass
class Forms:
    """How a query word was written in the results shown: its written forms, most frequent first."""

    word: str  # as the reader typed it
    forms: list[tuple[str, int]]  # (written form, how many times it matched on the page)

    def to_json(self) -> dict[str, object]:
        return {"word": self.word, "forms": [{"form": f, "count": n} for f, n in self.forms]}


def matched_forms(found: list[tuple[str, str]], origins: dict[str, str]) -> list[Forms]:
    """The written forms of each query word that matched more than one way (الإنترنت, للانترنت …)."""
    by_word: dict[str, dict[str, int]] = {}
    for key, form in found:
        word = origins.get(key, key)
        counts = by_word.setdefault(word, {})
        counts[form] = counts.get(form, 0) + 1
    return [
        Forms(word, sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FORMS])
        for word, counts in by_word.items()
        if len(counts) > 1
    ]


@dataclass
class Member:
    """An article of a story group, as the group lists it."""

    id: str
    title: str
    source: str
    date: str | None


@dataclass
class Group:
    """The story group of a result: the copies of one report (search.grouping)."""

    id: str
    size: int
    earliest_id: str
    earliest_date: str | None
    members: list[Member]  # the first GROUP_MEMBERS, oldest first

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "size": self.size,
            "earliest_id": self.earliest_id,
            "earliest_date": self.earliest_date,
            "members": [{"id": m.id, "title": m.title, "source": m.source, "date": m.date} for m in self.members],
        }

    @property
    def first_is_clear(self) -> bool:
        """Whether its oldest member was published on an earlier day than the next one (two copies of
        one day, one with a time and one without, cannot be told apart)."""
        dated = [m.date for m in self.members if m.date]
        if len(dated) < 2:
            return len(dated) == 1
        try:
            first, second = datetime.fromisoformat(dated[0]), datetime.fromisoformat(dated[1])
        except ValueError:
            return False
        if first.date() != second.date():
            return first.date() < second.date()
        at_midnight = dtime(0, 0)  # a date given without its time
        return first.time() != at_midnight and second.time() != at_midnight and first < second


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
    group: Group | None = None

    def to_json(self) -> dict[str, object]:
        # Written out, not dataclasses.asdict: that deep-copies every string of every member
        # (1.2 ms of a 9 ms API search).
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "category": self.category,
            "author": self.author,
            "date": self.date,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "snippet_text": self.snippet_text,
            "group": None if self.group is None else self.group.to_json(),
        }


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
    respelled_from: str | None = None  # the results are those of ``query``, respelled from this
    undated: int = 0  # with facets: how many of the results have no date
    timeline: list[Bar] = field(default_factory=list)  # with facets: the dated results by period
    first_day: str | None = None  # with facets: the earliest and the latest day of the dated results
    last_day: str | None = None
    days: dict[str, int] = field(default_factory=dict)  # with facets: the dated results per day (YYYY-MM-DD)
    match: str = "any"  # "all" when every word was required, else "any"
    notices: list[Notice] = field(default_factory=list)
    sort: str = "relevance"
    timed_out: bool = False
    collapse: bool = False  # one result per story group (total counts groups)
    forms: list[Forms] = field(default_factory=list)  # how the query's words were written in the results shown
    articles: int | None = None  # with collapse: the articles that match

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
    group: Group | None = None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


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
RELATED_SLACK = 10  # "more like this" asks for this many more, in case some are the article's copies
GROUP_MEMBERS = 10  # the members of a story group listed with a result (the page links to all of them)


def _a_typo(typed: str, suggestion: str) -> bool:
    """Is the suggestion a correction to show results for (not only to offer)? Not when it only cuts
    letters off the end of a typed word, or adds some: كوفيد is not a typo of كوفي (Kofi Annan) but a word
    the archive predates, and a reader checking whether it covers a topic must be told it does not. A
    last letter typed twice (تونسس) is a typo all the same."""
    for before, after in zip(typed.split(), suggestion.split(), strict=False):
        a, b = normalise(before), normalise(after)
        longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
        if a != b and shorter and longer.startswith(shorter) and set(longer[len(shorter) :]) != {shorter[-1]}:
            return False
    return True


def _respelling(form: str, speller: Speller, used: int) -> str | None:
    """The correction of one normalised word, or None.

    A word no document uses gets its closest frequent neighbour (up to one edit
    in a word of five letters or fewer, two in a longer one). A word some
    documents use is corrected only at one edit, towards a word used
    FAR_MORE_USED times as often. Never a change the search already makes (the
    same light stem: كتاب/بالكتاب), one that turns the first letter into a
    clitic (كوفيد -> وتفيد) or only drops a clitic (لكوفي -> كوفي): a clitic
    changes what the word means, not how it is spelled.
    """
    if used:
        fixed = speller.closest(form, 1, min_count=FAR_MORE_USED * used)
        if fixed is None:
            return None
    else:
        fixed = speller.closest(form, 1 if len(form) <= 5 else 2)
    if fixed is None or light_stem(fixed) == light_stem(form):
        return None
    if fixed[0] in CLITIC_LETTERS and fixed[0] != form[0]:
        return None
    if form[0] in CLITIC_LETTERS and fixed == form[1:]:
        return None  # only a clitic dropped (لكوفي -> كوفي): the typed form is a word with a clitic
    return fixed


class Engine:
    """Searches the live index; safe to share between threads.

    Every public method either answers or raises :class:`IndexProblem`: an
    index that is missing, damaged or unreadable in any way (a damaged file
    fails in many ways) is reported as such, logged with its traceback, and
    the next call opens the index afresh.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        weights: Weights | None = None,
        bm25: tuple[float, float] = (0.75, 1.2),
        config: Config | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.config = config or defaults()
        if root is not None:
            self.config = self.config.replace(index=str(root))
        self.root = Path(self.config.index)
        self.weights = weights or Weights()
        self.bm25 = bm25
        self._overview: tuple[object, dict[str, object]] | None = None
        self.backend = backend or open_backend(self.config, bm25)
        self.highlight_cache: ByteLRU[Analysed] = ByteLRU(self.config.highlight_cache_mb * MB)
        self._lock = threading.Lock()
        self._speller: tuple[Hashable, Speller] | None = None

    @property
    def warm_in_background(self) -> bool:
        return bool(getattr(self.backend, "warm_in_background", False))

    @warm_in_background.setter
    def warm_in_background(self, value: bool) -> None:
        if hasattr(self.backend, "warm_in_background"):
            self.backend.warm_in_background = value  # type: ignore[attr-defined]

    # -- the live index ---------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn any failure to read the index into IndexProblem, and forget what was open."""
        try:
            yield
        except IndexProblem:
            raise
        except (RecursionError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged index fails in many ways; all mean the same
            log.exception("reading the index at %s failed", self.root)
            self.backend.forget()
            with self._lock:
                self._speller = None
            raise IndexProblem(
                f"the index at {self.root} could not be read ({type(exc).__name__}: {exc}); "
                "rebuild it with `baheth reindex`",
                public="the search index could not be read; it may be damaged and needs to be rebuilt",
                public_ar="تعذّرت قراءة فهرس البحث: قد يكون تالفا، وعلى المشرف إعادة بنائه",
            ) from exc

    def snapshot(self) -> Snapshot:
        """The live state of the index; raises IndexProblem when there is none."""
        with self._reading():
            return self.backend.snapshot()

    def warm(self) -> None:
        """Read now what the first search would read (field lengths, dates, facet codes, speller,
        the root stemmer)."""
        with self._reading():
            self.backend.warm()
            self._speller_for(self.backend.snapshot())
        if self.weights.roots:
            load_root_stemmer()

    def health(self) -> dict[str, object]:
        """What is being served; raises IndexProblem when there is no usable index."""
        with self._reading():
            snapshot = self.backend.snapshot()
            info = snapshot.info()
            health: dict[str, object] = {
                "status": info.get("status", "ok"),
                "documents": snapshot.doc_count(),
                # From the index's metadata file: a damaged one's values are no dates, so none.
                "built_at": _text_or_none(info.get("built_at")),
                "updated_at": _text_or_none(info.get("updated_at")),
                "generation": _text_or_none(info.get("generation")),
                "version": __version__,
                "caches": {
                    **self.backend.cache_stats(),
                    "highlight": self.highlight_cache.stats(),
                    "spelling": self._speller_stats(),
                },
            }
            for name in ("shards", "mapped_bytes", "undated"):
                if name in info:
                    health[name] = info[name]
        health["collection"] = self.overview()
        return health

    def overview(self, most: int = OVERVIEW_SOURCES) -> dict[str, object]:
        """The collection at a glance: each source (the ``most`` largest) with its article count and
        the first and last day it covers, the categories with their counts, the undated articles, and
        the articles without a source or a category."""
        with self._reading():
            snapshot = self.backend.snapshot()
            cached = self._overview
            if cached is not None and cached[0] == (snapshot.key, most):
                return cached[1]
            whole = snapshot.search(PageRequest(query=Everything(), start=0, limit=0, newest=True, facets=True))
            sources = []
            for value, count in list(whole.facets.get("source", {}).items())[:most]:
                only = AllOf((Everything(), Filter(Term("source", value))))
                one = snapshot.search(PageRequest(query=only, start=0, limit=0, newest=True, facets=True))
                sources.append(
                    {
                        "value": value,
                        "label": source_label(value),
                        "count": count,
                        "first": min(one.days) if one.days else None,
                        "last": max(one.days) if one.days else None,
                        "undated": one.undated,
                    }
                )
            documents = snapshot.doc_count()
            # An article without a source (or category) is in no facet value: counted apart, so
            # that the counts add up to the collection, as the undated ones are.
            found: dict[str, object] = {
                "documents": documents,
                "undated": whole.undated,
                "unsourced": max(0, documents - sum(whole.facets.get("source", {}).values())),
                "uncategorised": max(0, documents - sum(whole.facets.get("category", {}).values())),
                "first": min(whole.days) if whole.days else None,
                "last": max(whole.days) if whole.days else None,
                "sources": sources,
                "more_sources": max(0, len(whole.facets.get("source", {})) - most),
                "categories": [  # the ``most`` largest, like the sources
                    {"value": v, "label": category_label(v), "count": n}
                    for v, n in list(whole.facets.get("category", {}).items())[:most]
                ],
                "more_categories": max(0, len(whole.facets.get("category", {})) - most),
            }
            self._overview = ((snapshot.key, most), found)  # one index state: a reindex makes a new key
            return found

    def parse(self, text: str) -> ParsedQuery:
        with self._reading():
            return self._builder(self.backend.snapshot()).parse(text)

    def _builder(self, lexicon: Lexicon, deadline: float | None = None) -> QueryBuilder:
        return QueryBuilder(lexicon, self.weights, self.config, deadline)

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
        respell: bool = True,
        match: str = "auto",
        collapse: bool = False,
        seconds: float | None = None,
        snapshot: Snapshot | None = None,
    ) -> SearchResult:
        """Run a query in the user's language and return one page of results.

        The time limit (``seconds``, else the search_time_limit setting) covers the whole
        search: ranking, snippets and the suggestion. Past it, what is left is skipped and a
        notice says so.
        With ``respell`` (and ``suggest``), a query with (almost) no results
        whose respelling has more returns the respelling's results, saying so
        in ``respelled_from``. ``match`` (auto, all, any): see QueryBuilder.parse;
        when no article has all the words, those with any of them are shown, with
        a notice. With ``collapse``, one result per story group (its best-ranked member, or
        its newest with «الأحدث»), and ``total`` counts the groups; a search restricted to
        one group (``filters.group``) lists all its members. With ``snapshot`` (from
        :meth:`snapshot`), the search reads that state of the index, not the live one: a reader
        that asks several times (a download in passes, a feed and its entity tag) reads one state.
        """
        # Time spent reconnecting to the index just before (a web request checks the index's state
        # first) counts in this search's time and its limit.
        waited = self.backend.waited()
        started = time.perf_counter() - waited
        seconds = self.config.search_time_limit if seconds is None else seconds
        deadline = time.monotonic() - waited + seconds
        per_page = per_page or self.config.per_page
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if match not in (*MATCHES, "short"):  # short: every word of a short query whatever the sort (an ablation)
            raise ValueError(f"match must be one of {', '.join(MATCHES)}, not {match!r}")
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page must be at least 1")
        text = shown(text)
        filters = filters or Filters()
        result = SearchResult(query=text, total=0, page=page, per_page=per_page, took_ms=0.0, hits=[], sort=sort)
        result.collapse = collapse and not filters.group
        with self._reading():
            snapshot = snapshot or self.backend.snapshot()
            # auto: by relevance, any word (BM25 ranks the articles with more of them first;
            # requiring every word of short queries cost 0.031 MRR@10 on ARCD-train and 0.010 on
            # ANT known-item, benchmarks/results/quality.md); newest first, every word of a short
            # query, so the newest articles are not those that share one common word with it.
            applied = {"auto": "auto" if sort != "relevance" else "any", "short": "auto"}.get(match, match)
            parsed = self._builder(snapshot, deadline).parse(text, applied)
            result.notices = list(parsed.notices)
            if parsed.timed_out:  # the time ran out while prefixes were expanded: they are cut short
                result.timed_out = True
                result.notices.append(Notice("time_limit"))
            if parsed.query is None and filters.active and not text.strip():
                # No words, only filters: browse what they select, newest first.
                parsed.query, parsed.filters_only = Everything(), True
            if parsed.query is not None:
                self._run(snapshot, parsed, filters, result, snippets, facets, deadline)
                if result.total == 0 and parsed.loose is not None and not result.timed_out:
                    # No article has every word: show those with some, and say so.
                    parsed.query, parsed.match = parsed.loose, "any"
                    result.notices.append(Notice("not_all_words"))
                    self._run(snapshot, parsed, filters, result, snippets, facets, deadline)
            result.match = parsed.match
            seen: set[tuple[str, str]] = set()
            result.notices = [
                n
                for n in result.notices
                if (n.code, repr(n.params)) not in seen and not seen.add((n.code, repr(n.params)))
            ]
            if suggest and text.strip() and time.monotonic() < deadline:
                result.suggestion = self._suggest(snapshot, parsed)
        if respell and result.suggestion and result.total < RESPELL_BELOW and _a_typo(text, result.suggestion):
            instead = self.search(
                result.suggestion, page, per_page, sort, filters, snippets, facets,
                suggest=False, respell=False, match=match, collapse=collapse, snapshot=snapshot,
                seconds=max(0.0, deadline - time.monotonic()),  # the respelling shares the search's time limit
            )
            if instead.total > result.total:
                instead.respelled_from, instead.notices = text, result.notices + instead.notices
                instead.suggestion = result.suggestion
                result = instead
        past = result.total and not result.hits and result.page > result.pages
        if past and not any(n.code == "page_past_last" for n in result.notices):
            result.notices.append(Notice("page_past_last", {"page": result.page, "last": result.pages}))
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def _run(
        self,
        snapshot: Snapshot,
        parsed: ParsedQuery,
        filters: Filters,
        result: SearchResult,
        snippets: bool,
        facets: bool,
        deadline: float,
    ) -> None:
        assert parsed.query is not None
        query = parsed.query
        filter_node = filters.query(snapshot, result.notices)
        if filter_node is not None:
            query = AllOf((query, Filter(filter_node)))  # filters match, they do not score
        date_from, date_to = filters.date_bounds()
        page = snapshot.search(
            PageRequest(
                query=query,
                start=(result.page - 1) * result.per_page,
                limit=result.per_page,
                newest=result.sort == "newest" or (parsed.filters_only and result.sort != "oldest"),
                oldest=result.sort == "oldest",
                date_from=date_from,
                date_to=date_to,
                undated=filters.undated,
                facets=facets,
                seconds=max(0.0, deadline - time.monotonic()),
                collapse=result.collapse,
                roots=frozenset(query_roots(parsed.wanted_forms)) if self.weights.roots else frozenset(),
            )
        )
        result.total, result.undated = page.total, page.undated
        most = self.config.max_facet_values  # the most used values of each facet; a page stays small
        result.facets = {name: dict(islice(counts.items(), most)) for name, counts in page.facets.items()}
        result.articles = page.articles
        result.timeline = bars(page.days, filters.date_from, filters.date_to)
        result.days = page.days
        if page.days:
            result.first_day, result.last_day = min(page.days), max(page.days)
        result.notices.extend(page.notices)
        if page.timed_out and not result.timed_out:  # once: the parse may have run out of time already
            result.timed_out = True
            result.notices.append(Notice("time_limit"))
        sizes = snapshot.group_sizes([k for k in (shown(stored.get("group")) for _, stored in page.hits) if k])
        forms: list[tuple[str, str]] = []
        for score, stored in page.hits:
            with_snippet = snippets and time.monotonic() < deadline
            if snippets and not with_snippet and not result.timed_out:
                result.timed_out = True
                result.notices.append(Notice("snippets_skipped"))
            result.hits.append(self._hit(stored, score, parsed, with_snippet, snapshot, sizes, forms))
        result.forms = matched_forms(forms, parsed.highlight_origins)

    def _group(self, snapshot: Snapshot, stored: Stored, sizes: dict[str, int] | None = None) -> Group | None:
        """The story group of a stored article (None for an index built before groups). With
        the groups' ``sizes`` known, an article alone in its group costs no lookup."""
        key = shown(stored.get("group"))
        if not key:
            return None
        if sizes is not None and sizes.get(key) == 1:
            size, found = 1, [stored]
        else:
            size, found = snapshot.group(key, GROUP_MEMBERS)
        if not found:
            return None
        members = [
            Member(shown(m.get("id")), shown(m.get("title")), shown(m.get("source")), shown(m.get("date_iso")) or None)
            for m in found
        ]
        return Group(key, size, members[0].id, members[0].date, members)

    def _hit(
        self,
        stored: Stored,
        score: float,
        parsed: ParsedQuery,
        snippets: bool,
        snapshot: Snapshot | None = None,
        sizes: dict[str, int] | None = None,
        forms: list[tuple[str, str]] | None = None,
    ) -> Hit:
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
        if snapshot is not None:
            hit.group = self._group(snapshot, stored, sizes)
        if snippets:
            body = shown(stored.get("body"))
            terms, phrases = parsed.highlight_terms, parsed.highlight_phrases
            cut = snippet(body, terms, self.config.snippet_chars, self.highlight_cache, phrases)
            hit.snippet, hit.snippet_text = cut.html, cut.text
            title_spans = matches(title, terms, self.highlight_cache, phrases)
            hit.title_html = mark(title, title_spans)
            if forms is not None:
                forms.extend(written_forms(title, title_spans) + written_forms(body, cut.spans))
        else:
            hit.title_html = highlight_all(title, set())
        return hit

    def _suggest(self, snapshot: Snapshot, parsed: ParsedQuery) -> str | None:
        """A respelling of the query whose words are in the index, if one exists.

        It works on the query as parsed (cut to max_query_chars), and a word
        longer than any in the vocabulary is never looked up, so its cost is
        bounded whatever was typed.
        """
        words = parsed.text[: self.config.max_query_chars].split()
        if not words or len(words) > MAX_SUGGEST_WORDS:
            return None
        speller = self._speller_for(snapshot)
        stops = stopwords()
        searched_variants = any(n.code == "also_searched" for n in parsed.notices)
        changed = False
        out = []
        for word in words:
            form = normalise(word)
            fixed = None
            if len(form) <= MAX_WORD_CHARS and form not in stops and form.isalpha() and not parsed.was_expanded(word):
                fixed = _respelling(form, speller, snapshot.doc_frequency("body_exact", form))
                if fixed is not None and fixed in spelling_variants(form) and searched_variants:
                    fixed = None  # a listed spelling of the word: the search included it already
            # Shown as the articles write it (مؤتمر, not the search form مءتمر); it searches the same.
            out.append(speller.written(fixed) if fixed else word)
            changed = changed or fixed is not None
        return " ".join(out) if changed else None

    def _speller_stats(self) -> dict[str, int]:
        speller = self._speller[1] if self._speller is not None else None
        return {
            "entries": len(speller) if speller is not None else 0,
            "bytes": speller.nbytes if speller is not None else 0,
            "max_bytes": self.config.spelling_mb * MB,
        }

    def _speller_for(self, snapshot: Snapshot) -> Speller:
        """The speller of this state of the index, loaded once and shared by threads."""
        key = snapshot.key
        with self._lock:
            if self._speller is not None and self._speller[0] == key:
                return self._speller[1]
        # Load outside the engine's lock: a large vocabulary must not stall other requests.
        speller = Speller.from_text(snapshot.vocabulary() or "", self.config.spelling_mb * MB)
        with self._lock:
            self._speller = (key, speller)
        return speller

    # -- one document ---------------------------------------------------------------

    def document(self, doc_id: str, text: str = "", related: int = 5) -> DocView | None:
        """One article, with the query's words marked and articles like it."""
        with self._reading():
            return self._document(shown(doc_id), shown(text), related)

    def _document(self, doc_id: str, text: str, related: int) -> DocView | None:
        snapshot = self.backend.snapshot()
        stored = snapshot.document(doc_id)
        if stored is None:
            return None
        # The words to mark are read within the search time limit (a query of many prefixes reads the lexicon).
        deadline = time.monotonic() + self.config.search_time_limit
        parsed = self._builder(snapshot, deadline).parse(text) if text.strip() else ParsedQuery("", None)
        terms, phrases = parsed.highlight_terms, parsed.highlight_phrases
        title = shown(stored.get("title"))
        body = shown(stored.get("body"))
        similar: list[Hit] = []
        group = self._group(snapshot, stored)
        if related:
            # Not the article's own copies: they are listed as its group.
            sample = (title + "\n" + body)[:RELATED_TEXT_CHARS]
            own = stored.get("group")
            for score, found in snapshot.more_like(doc_id, sample, related + RELATED_SLACK):
                if len(similar) < related and not (own and found.get("group") == own):
                    similar.append(self._hit(found, score, ParsedQuery("", None), snippets=False))
        return DocView(
            id=shown(stored.get("id")),
            title=title,
            body=body,
            url=shown(stored.get("url")),
            source=shown(stored.get("source")),
            category=shown(stored.get("category")),
            author=shown(stored.get("author")),
            date=shown(stored.get("date_iso")) or None,
            title_html=highlight_all(title, terms, self.highlight_cache, phrases, parsed.highlight_origins),
            body_html=highlight_all(body, terms, self.highlight_cache, phrases, parsed.highlight_origins),
            related=similar,
            group=group,
        )
