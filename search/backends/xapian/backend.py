"""Reading remote Xapian shards as one index: reconnects, generations, partial answers.

The shards are opened with ``remote_open`` and added to one ``xapian.Database``:
Xapian computes the global term statistics, merges the top-k and counts facets
(ValueCountMatchSpy) across them. Xapian 1.4 weights a term by the whole
document's length, not per field, so its BM25 ranks candidates only: the
first ``rerank_depth`` are ranked with the engine's BM25F (:mod:`search.rerank`)
from the field statistics each document carries.

Faults, as Xapian leaves them to the client: a shard whose servers (a list of
replicas, tried in order) do not answer is left out, the answer says how many
shards answered, and health is ``degraded``; every second the reader checks
that its shards are still on the same generation, and reconnects (a reindex
switched the stub files, a server restarted, an idle connection timed out). A
``NetworkError`` or ``DatabaseModifiedError`` during a search reconnects and
tries once more. Shards found on two generations (a reindex switching them)
are never mixed: the reader waits for them to agree, and else serves the
generation most of them serve (a tie: the first listed's).

Each shard says which it is (its number and the shard count, written by the
build with its generation): the reader puts the list in shard order, refuses two
entries serving one shard, and counts a shard the list lacks as not answering.
An index built before has no such record: its list is read in the order written.
A replica that failed is skipped for a while (doubled at each failure in a row),
so a stalled server costs ``shard_timeout`` once, not on every search.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from search import roots
from search.backends.base import Page, PageRequest, Stored, local_time
from search.backends.xapian import require
from search.backends.xapian.fields import (
    DATE_SLOT,
    DAY_SLOT,
    GENERATION_KEY,
    GROUP_SLOT,
    ID_PREFIX,
    LENGTH_KEY,
    PREFIX,
    RERANK_SLOT,
    SCORED,
    SHARD_KEY,
    UNDATED_TERM,
    UPDATED_KEY,
    VALUE_SLOTS,
    VOCABULARY_KEY,
    read_rerank_value,
    read_shard_identity,
    term,
)
from search.backends.xapian.shardlist import Address, parse_shards
from search.errors import IndexProblem
from search.notices import Notice
from search.querytree import AllOf, AndMaybe, AndNot, AnyOf, Everything, Filter, Node, Nothing, Phrase, Term
from search.rerank import Candidate, Statistics, bm25f, phrases_in

log = logging.getLogger(__name__)
CHECK_EVERY = 1.0  # seconds between checks that the shards are still on one generation
AGREE_TRIES = 20  # reconnections (50 ms apart) waiting for shards mid-switch to agree
RECHECK_STALE = 10.0  # seconds between checks of servers found on another generation
# Seconds a replica that failed is skipped (first, most; doubled at each failure in a row): one that
# stalls costs shard_timeout at most once a minute; one that refuses fast is tried again soon.
BACKOFF_SLOW = (5.0, 60.0)
BACKOFF_FAST = (1.0, 5.0)
SLOW_FAILURE = 1.0  # seconds (or half of shard_timeout) after which a failure counts as a stall
SERVERS_DOWN_AR = "خوادم فهرس البحث لا تجيب حاليا؛ أعد المحاولة بعد قليل"
RELATED_TERMS = 12
MAX_GROUP_READ = 1000  # the members of one story group read to order them (a group is a few copies)


@dataclass
class _State:
    """The shards as connected at one moment: one generation, the live shards, their statistics."""

    db: Any
    generation: str
    answered: list[int]  # shard numbers that answered
    total: int
    lengths: dict[str, int]
    documents: int
    vocabulary: str
    updated: str
    entries: dict[int, int] = field(default_factory=dict)  # shard number -> the list entry serving it
    stale: list[int] = field(default_factory=list)  # entries that answered on another generation
    problems: list[str] = field(default_factory=list)  # what is wrong with the shard list, for health
    layout: int = 0  # the backend's shard list this state was connected with
    opened_at: float = field(default_factory=time.monotonic)
    connected_at: float = field(default_factory=time.monotonic)


@dataclass
class _Opened:
    """One entry of the shard list, connected: the replica that answered, its generation and identity."""

    db: Any
    generation: str
    identity: tuple[int, int] | None  # (shard number, shard count) from its metadata; None: built before
    address: Address


class XapianSnapshot:
    def __init__(self, backend: XapianBackend, state: _State) -> None:
        self.backend = backend
        self.state = state
        self.db = state.db
        self._frequencies: dict[tuple[str, str], int] = {}  # of the words the last words() read

    @property
    def key(self) -> Hashable:
        return self.state.generation, self.state.updated, tuple(self.state.answered)

    @property
    def pinned(self) -> bool:
        """No: the thread's connections follow the shards (reopened on each commit, reconnected after
        a fault or a reindex), and a later snapshot of this thread may close them."""
        return False

    def doc_count(self) -> int:
        return self.state.documents

    # -- the lexicon --------------------------------------------------------------

    def words(self, field: str, prefix: str, limit: int | None = None) -> Iterator[str]:
        # Only the first ``limit`` are read: a short prefix (ال) starts a hundred thousand words,
        # and reading them all cost 0.1 s a prefix, seconds for a query of many.
        start = PREFIX[field]

        def read() -> list[tuple[str, int]]:
            items = itertools.islice(self.db.allterms(term(start, prefix)), limit)
            return [(item.term.decode("utf-8", "replace")[len(start) :], item.termfreq) for item in items]

        found = self.backend.call(self, read)
        # The term list carries each word's document frequency: keep them for doc_frequency,
        # which the query builder asks for each word next (one round trip to the shards each).
        self._frequencies = {(field, word): frequency for word, frequency in found}
        for word, _frequency in found:
            yield word

    def doc_frequency(self, field: str, word: str) -> int:
        known = self._frequencies.get((field, word))
        if known is not None:
            return int(known)
        return int(self.backend.call(self, lambda: self.db.get_termfreq(term(PREFIX[field], word))))

    def values(self, field: str) -> list[str]:
        return list(self.words(field, ""))

    # -- a page of results --------------------------------------------------------

    def search(self, request: PageRequest) -> Page:
        xapian = self.backend.xapian
        if request.seconds <= 0:  # no time left before it began: nothing, as the embedded backend
            page = Page(total=0, hits=[], timed_out=True)
        else:
            deadline = time.monotonic() + request.seconds
            page = self.backend.call(self, lambda: self._search(xapian, request, deadline))
        if len(self.state.answered) < self.state.total:
            page.notices.append(Notice("partial", {"answered": len(self.state.answered), "total": self.state.total}))
        return page

    def _search(self, xapian: Any, request: PageRequest, deadline: float) -> Page:
        """One page. Xapian stops matching at the time left (Enquire.set_time_limit, which the remote
        shards apply too); past the deadline the round trips still to come (deeper candidates, the
        counts) are skipped and the page says it timed out."""
        query = self._query(xapian, request.query)
        if request.date_from or request.date_to:
            low = (
                xapian.sortable_serialise(request.date_from.replace(tzinfo=UTC).timestamp())
                if request.date_from
                else b""
            )
            high = (
                xapian.sortable_serialise(request.date_to.replace(tzinfo=UTC).timestamp())
                if request.date_to
                else b"\xff" * 9
            )
            query = xapian.Query(
                xapian.Query.OP_FILTER, query, xapian.Query(xapian.Query.OP_VALUE_RANGE, DATE_SLOT, low, high)
            )
        if request.undated:
            query = xapian.Query(xapian.Query.OP_FILTER, query, xapian.Query(UNDATED_TERM))
        enquire = self._ranked(xapian, query, request.collapse)
        enquire.set_time_limit(max(0.001, deadline - time.monotonic()))
        # Ties of relevance broken by the rerank value (below): each match's sort key is then that
        # value. Not with collapse, nor with a date order.
        by_key = not (request.newest or request.oldest or request.collapse)
        apart = by_key or request.newest  # the facets counted by an enquire of their own
        spies: dict[str, Any] = {}
        days = xapian.ValueCountMatchSpy(DAY_SLOT)
        if request.facets:
            for name, slot in VALUE_SLOTS.items():
                spies[name] = xapian.ValueCountMatchSpy(slot)
            # Sorted by relevance then a value, or by the date (newest first, a later page), Xapian's
            # spies count some matches of remote shards twice (facets summing to more than the
            # results): they count on an unsorted enquire then.
            counted = self._counting(xapian, query) if apart else enquire
            for spy in (*spies.values(), days):
                counted.add_matchspy(spy)
        everything = self.db.get_doccount()
        stats = self.backend.statistics(self)
        if request.newest or request.oldest:
            if request.newest:
                enquire.set_sort_by_value_then_relevance(DATE_SLOT, True)  # an undated article (no value) last
                mset = enquire.get_mset(request.start, request.limit, everything)
                _prefetch(mset)
                found = [_candidate(match) for match in mset]
            else:
                mset = enquire.get_mset(0, 0, everything)  # the count and the facets of every match
                found = self._oldest_first(xapian, query, request, everything)
            self._mark_phrases(xapian, request.query, found)
            hits = [(bm25f(request.query, row.candidate, stats, *self._k1_b()), _fields(row.document)) for row in found]
        else:
            # The first rerank_depth candidates are reranked with BM25F; deeper results keep
            # Xapian's order after them. The same for every page: reranking a deeper set for a
            # deeper page reordered the results before it, so pages repeated some and skipped
            # others.
            depth = self.backend.rerank_depth
            end = request.start + request.limit
            # Ties of relevance broken by the rerank value: each match's sort key is then that
            # value, and it comes back with the match set. Reading it from each candidate's
            # document instead cost a round trip to a shard per candidate (25 ms of a 1-word
            # search's first stage on two loopback shards; 6 ms this way).
            # Not with collapse: Xapian then compares the keys of every match it collapses, and
            # the keys are the rerank values (a headline: 346 ms instead of 33 on two shards).
            if by_key:
                enquire.set_sort_by_relevance_then_value(RERANK_SLOT, False)
            if request.start < depth:
                mset = enquire.get_mset(0, depth, everything)
                if not by_key:
                    _prefetch(mset)  # the rerank values are read from the documents: ask for all at once
                collapsed = query if request.collapse else None
                ranked = self._reranked(xapian, request.query, mset, stats, request.roots, collapsed)
                if end > len(ranked) and mset.get_matches_estimated() > depth and time.monotonic() < deadline:
                    ranked += self._deeper(xapian, query, request, depth, end - depth, everything)
                shown = ranked[request.start : end]
            else:  # past the reranked head, the page is read in Xapian's own order
                mset = enquire.get_mset(request.start, request.limit, everything)
                _prefetch(mset)
                shown = [self._candidate_by_key(mset, i) for i in range(mset.size())]
                self._mark_phrases(xapian, request.query, shown)
            # Only the results shown are read in full.
            hits = [
                (
                    bm25f(request.query, row.candidate, stats, *self._k1_b()) + row.boost,
                    _fields(row.document or self.db.get_document(row.docid)),
                )
                for row in shown
            ]
        page = Page(total=mset.get_matches_estimated(), hits=hits)
        if time.monotonic() >= deadline:
            page.timed_out = True  # what was found in time, without the counts still to come
            return page
        if request.facets and apart:
            counted.get_mset(0, 0, everything)
        if request.collapse:  # Xapian's uncollapsed estimate is not exact: count the articles apart
            page.articles = self._counting(xapian, query).get_mset(0, 0, everything).get_matches_estimated()
        if request.facets and page.total:
            page.facets = {
                name: dict(
                    sorted(
                        ((item.term.decode("utf-8", "replace"), item.termfreq) for item in spy.values()),
                        key=lambda kv: (-kv[1], kv[0]),
                    )
                )
                for name, spy in spies.items()
            }
            page.days = {item.term.decode("ascii", "replace"): item.termfreq for item in days.values()}
            undated = xapian.Query(xapian.Query.OP_FILTER, query, xapian.Query(UNDATED_TERM))
            page.undated = self._counting(xapian, undated).get_mset(0, 0, everything).get_matches_estimated()
        return page

    def _counting(self, xapian: Any, query: Any) -> Any:
        """An Enquire that only counts the matches of ``query`` (no weights, no order)."""
        count = xapian.Enquire(self.db)
        count.set_query(query)
        count.set_weighting_scheme(xapian.BoolWeight())
        return count

    def _ranked(self, xapian: Any, query: Any, collapse: bool) -> Any:
        """An Enquire ranking ``query`` by Xapian's BM25 (the first stage), one match per story
        group with ``collapse``."""
        enquire = xapian.Enquire(self.db)
        enquire.set_query(query)
        enquire.set_weighting_scheme(xapian.BM25Weight(self.backend.bm25[1], 0, 1, self.backend.bm25[0], 0.5))
        if collapse:
            enquire.set_collapse_key(GROUP_SLOT)
        return enquire

    def _reranked(
        self,
        xapian: Any,
        query: Node,
        mset: Any,
        stats: Any,
        wanted: frozenset[str] = frozenset(),
        collapsed: Any = None,
    ) -> list[Row]:
        """The candidates of ``mset`` (the first rerank_depth matches) in BM25F order, raised by
        the query's roots in them as the embedded backend raises its best ROOT_DEPTH (search.roots;
        from the normalised forms each candidate's rerank value holds). With ``collapsed`` (the
        Xapian query of a collapsed search), each story group is shown by its best member by BM25F."""
        found = [self._candidate_by_key(mset, i) for i in range(mset.size())]
        if collapsed is not None:
            self._best_of_groups(xapian, collapsed, query, found, stats)
        self._mark_phrases(xapian, query, found)
        scores = [bm25f(query, row.candidate, stats, *self._k1_b()) for row in found]
        if wanted and len(found) > 1:
            # the same candidates as the embedded backend's: the best ROOT_DEPTH by BM25F
            head = sorted(range(len(found)), key=lambda i: (-scores[i], found[i].ordinal))[: roots.ROOT_DEPTH]
            fields = ("title_exact", "body_exact")
            counted = [roots.counts(found[i].candidate.frequencies.get(f, {}) for f in fields) for i in head]
            boosts = roots.boosts(set(wanted), [c for c, _ in counted], [n for _, n in counted])
            for i, boost in zip(head, boosts, strict=True):
                found[i].boost = boost
                scores[i] += boost
        scored = sorted(((-score, row.ordinal, row) for score, row in zip(scores, found, strict=True)),
                        key=lambda item: (item[0], item[1]))
        return [row for _negative, _ordinal, row in scored]

    def _deeper(
        self, xapian: Any, query: Any, request: PageRequest, first: int, count: int, everything: int
    ) -> list[Row]:
        """Matches ``first`` to ``first + count`` in Xapian's order (the same sort as the head's,
        so no match is in both or in neither), asked apart so only they travel."""
        enquire = self._ranked(xapian, query, request.collapse)
        if not request.collapse:
            enquire.set_sort_by_relevance_then_value(RERANK_SLOT, False)
        mset = enquire.get_mset(first, count, everything)
        _prefetch(mset)
        rows = [self._candidate_by_key(mset, i) for i in range(mset.size())]
        self._mark_phrases(xapian, request.query, rows)
        return rows

    def _oldest_first(self, xapian: Any, query: Any, request: PageRequest, everything: int) -> list[Row]:
        """One page of matches, oldest first and undated last. Xapian sorts a document without a
        value before every other and its remote backend takes no KeyMaker to change that, so the
        dated and the undated matches are asked for apart, the page continuing from one to the other."""
        Query = xapian.Query
        parts = [
            (Query(Query.OP_AND_NOT, query, Query(UNDATED_TERM)), True),
            (Query(Query.OP_FILTER, query, Query(UNDATED_TERM)), False),  # by relevance, as with newest
        ]
        rows: list[Row] = []
        start, wanted = request.start, request.limit
        for part, by_date in parts:
            enquire = self._ranked(xapian, part, request.collapse)
            if by_date:
                enquire.set_sort_by_value_then_relevance(DATE_SLOT, False)
            mset = enquire.get_mset(start, wanted, everything)
            _prefetch(mset)
            rows += [_candidate(match) for match in mset]
            start, wanted = max(0, start - mset.get_matches_estimated()), request.limit - len(rows)
            if wanted <= 0:
                break
        return rows

    def _best_of_groups(self, xapian: Any, collapsed: Any, query: Node, found: list[Row], stats: Any) -> None:
        """Collapsing, Xapian keeps each story group's best match by its own BM25 (the first stage);
        the embedded backend shows the group's best by BM25F. Put that one in its place: the other
        matching members of the candidates' groups, read in one query, scored by BM25F against the
        candidate (ties: the first in input order). Every group is asked: on remote shards, a
        match's collapse count misses members collapsed on another shard."""
        where: dict[bytes, int] = {}
        for i, row in enumerate(found):
            key = row.document.get_value(GROUP_SLOT) if row.document is not None else b""
            if key:
                where[key] = i
        if not where:
            return
        Query = xapian.Query
        groups = Query(Query.OP_OR, [Query(term(PREFIX["group"], key.decode("ascii", "replace"))) for key in where])
        shown = Query(Query.OP_OR, [Query(term(ID_PREFIX, row.doc_id)) for row in found])
        others = self._counting(xapian, Query(Query.OP_AND_NOT, Query(Query.OP_FILTER, collapsed, groups), shown))
        members = others.get_mset(0, MAX_GROUP_READ * len(where), self.db.get_doccount())
        if members.empty():
            return  # most stories are single articles
        _prefetch(members)
        rows = [_candidate(match) for match in members]
        self._mark_phrases(xapian, query, rows + [found[i] for i in where.values()])

        def rank(row: Row) -> tuple[float, int]:
            return -bm25f(query, row.candidate, stats, *self._k1_b()), row.ordinal

        best = {key: (rank(found[i]), found[i]) for key, i in where.items()}
        for row in rows:
            key = row.document.get_value(GROUP_SLOT)
            if key in best and rank(row) < best[key][0]:
                best[key] = (rank(row), row)
        for key, i in where.items():
            found[i] = best[key][1]

    def _candidate_by_key(self, mset: Any, i: int) -> Row:
        """The i-th match as a candidate, from its sort key (the rerank value) when it has one."""
        match = mset._get_hit_internal(i)  # the binding's MSetItem does not expose the sort key
        value = match.get_sort_key()
        if value:
            ordinal, doc_id, frequencies, lengths = read_rerank_value(value)
            return Row(match.get_docid(), None, ordinal, doc_id, Candidate(frequencies, lengths))
        return _candidate_of(match.get_document(), match.get_docid())  # an index without the slot

    def _mark_phrases(self, xapian: Any, query: Node, found: list[Row]) -> None:
        """Tell each candidate which phrases of the query it contains: one query per phrase,
        filtered to the candidates' ids."""
        phrases = phrases_in(query)
        if not phrases or not found:
            return
        by_docid = {row.docid: row.candidate for row in found}
        only = xapian.Query(xapian.Query.OP_OR, [xapian.Query(term(ID_PREFIX, row.doc_id)) for row in found])
        for phrase in phrases:
            enquire = xapian.Enquire(self.db)
            enquire.set_query(xapian.Query(xapian.Query.OP_FILTER, self._query(xapian, phrase), only))
            enquire.set_weighting_scheme(xapian.BoolWeight())
            for match in enquire.get_mset(0, len(by_docid)):
                candidate = by_docid.get(match.docid)
                if candidate is not None:
                    candidate.phrases = candidate.phrases | {phrase}

    def _k1_b(self) -> tuple[float, float]:
        b, k1 = self.backend.bm25
        return k1, b

    def _query(self, xapian: Any, node: Node) -> Any:
        Query = xapian.Query
        if isinstance(node, Term):
            if node.also:  # one term in several forms: Xapian weighs them as one (wdf summed)
                forms = [Query(term(PREFIX[node.field], form)) for form in (node.text, *node.also)]
                query = Query(Query.OP_SYNONYM, forms)
            else:
                query = Query(term(PREFIX[node.field], node.text))
            return query if node.boost == 1.0 else Query(Query.OP_SCALE_WEIGHT, query, node.boost)
        if isinstance(node, (AnyOf, AllOf)):
            op = Query.OP_OR if isinstance(node, AnyOf) else Query.OP_AND
            query = Query(op, [self._query(xapian, child) for child in node.children])
            return query if node.boost == 1.0 else Query(Query.OP_SCALE_WEIGHT, query, node.boost)
        if isinstance(node, AndNot):
            return Query(Query.OP_AND_NOT, self._query(xapian, node.positive), self._query(xapian, node.negative))
        if isinstance(node, AndMaybe):
            return Query(Query.OP_AND_MAYBE, self._query(xapian, node.required), self._query(xapian, node.optional))
        if isinstance(node, Filter):
            return Query(Query.OP_SCALE_WEIGHT, self._query(xapian, node.child), 0.0)
        if isinstance(node, Phrase):
            words = [term(PREFIX[node.field], word) for word in node.words]
            window = 1 + (len(words) - 1) * max(1, node.slop)
            return Query(Query.OP_PHRASE, words, window)
        # A query of its own each time, never the shared Query.MatchAll / MatchNothing: a Xapian object's
        # reference count is not atomic, and threads building queries on one static object crashed the
        # process (a segfault under eight threads asking /api/health during a reindex switch).
        if isinstance(node, Everything):
            return Query("")  # the empty term: every document (what Query.MatchAll is)
        if isinstance(node, Nothing):
            return Query()
        raise TypeError(f"not a query node: {node!r}")

    # -- documents ----------------------------------------------------------------

    def document(self, doc_id: str) -> Stored | None:
        def find() -> Stored | None:
            for posting in self.db.postlist(term(ID_PREFIX, doc_id)):
                return _fields(self.db.get_document(posting.docid))
            return None

        return self.backend.call(self, find)

    def group_sizes(self, keys: list[str]) -> dict[str, int]:
        return self.backend.call(self, lambda: {key: self.db.get_termfreq(term(PREFIX["group"], key)) for key in keys})

    def group(self, key: str, limit: int) -> tuple[int, list[Stored]]:
        xapian = self.backend.xapian

        def members() -> tuple[int, list[Stored]]:
            enquire = xapian.Enquire(self.db)
            enquire.set_query(xapian.Query(term(PREFIX["group"], key)))
            enquire.set_weighting_scheme(xapian.BoolWeight())
            mset = enquire.get_mset(0, MAX_GROUP_READ, self.db.get_doccount())
            _prefetch(mset)
            found = [(_fields(match.document), _candidate(match).ordinal) for match in mset]
            # Oldest first, undated last, then in input order (as the embedded backend orders them).
            found.sort(key=lambda item: (not item[0].get("date_iso"), _instant(item[0]), item[1]))
            return mset.get_matches_estimated(), [stored for stored, _ in found[:limit]]

        return self.backend.call(self, members)

    def more_like(self, doc_id: str, text: str, top: int) -> list[tuple[float, Stored]]:
        """Articles sharing the document's most telling body words (tf x idf)."""
        xapian = self.backend.xapian

        def related() -> list[tuple[float, Stored]]:
            postings = list(self.db.postlist(term(ID_PREFIX, doc_id)))
            if not postings:
                return []
            row = _candidate_of(self.db.get_document(postings[0].docid), postings[0].docid)
            stats = self.backend.statistics(self)
            words = row.candidate.frequencies.get("body", {})
            best = sorted(words, key=lambda w: -words[w] * stats.idf("body", w))[:RELATED_TERMS]
            if not best:
                return []
            query = xapian.Query(xapian.Query.OP_OR, [term(PREFIX["body"], w) for w in best])
            query = xapian.Query(xapian.Query.OP_AND_NOT, query, xapian.Query(term(ID_PREFIX, doc_id)))
            enquire = xapian.Enquire(self.db)
            enquire.set_query(query)
            mset = enquire.get_mset(0, top)
            _prefetch(mset)
            found = []
            for match in mset:
                found.append((float(match.weight), _fields(match.document)))
            return found

        return self.backend.call(self, related)

    def vocabulary(self) -> str | None:
        return self.state.vocabulary or None

    def info(self) -> dict[str, object]:
        answered, total = len(self.state.answered), self.state.total
        shards: dict[str, object] = {"total": total, "answered": answered}
        if self.state.problems:
            shards["problems"] = list(self.state.problems)
        return {
            "generation": self.state.generation,
            "built_at": None,
            "updated_at": self.state.updated or None,
            "status": "ok" if answered == total and not self.state.stale else "degraded",
            "shards": shards,
            "undated": self.backend.call(self, lambda: self.db.get_termfreq(UNDATED_TERM)),
        }


@dataclass
class Row:
    """A candidate of the reranker: its Xapian document when read (None: read it only if shown)."""

    docid: int
    document: Any
    ordinal: int
    doc_id: str
    candidate: Candidate
    boost: float = 0.0  # what the query's roots added to its score (search.roots)


def _prefetch(mset: Any) -> None:
    """Ask the shards for every document of ``mset`` at once (a hint; they are read on use).

    Xapian 1.4.22's MSet.fetch() and fetch(item) crash the process (segfault) on remote
    shards when the match set does not start at the first match (page 2 and on); the same
    hint given as a range of items does not."""
    if mset.size():
        mset.fetch(mset._get_hit_internal(0), mset._get_hit_internal(mset.size() - 1))


def _candidate(match: Any) -> Row:
    return _candidate_of(match.document, match.docid)


def _candidate_of(document: Any, docid: int) -> Row:
    value = document.get_value(RERANK_SLOT)
    if value:
        ordinal, doc_id, frequencies, lengths = read_rerank_value(value)
        return Row(docid, document, ordinal, doc_id, Candidate(frequencies, lengths))
    # An index written before the rerank slot: everything is in the document's data.
    data = json.loads(document.get_data())
    candidate = Candidate(data.get("tf", {}), data.get("len", {}))
    return Row(docid, document, int(data.get("n", 0)), str(data.get("id", "")), candidate)


def _instant(stored: Stored) -> float:
    """The stored date as the date order goes by it: the time as published (search.backends.base.local_time)."""
    text = stored.get("date_iso")
    try:
        return local_time(datetime.fromisoformat(str(text))).replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
        return 0.0


def _fields(document: Any) -> dict[str, Any]:
    """The stored fields of a document (without what older indexes kept there for reranking)."""
    data = json.loads(document.get_data())
    for name in ("tf", "len", "n"):
        data.pop(name, None)
    return data


class XapianBackend:
    """Reads the shards served at ``shards`` (one list of replicas per shard); safe to share between threads.

    A Xapian connection is not: each thread keeps its own connections (and the
    statistics read through them), as each keeps its own Whoosh searcher. With
    ``servers`` (an index folder), the list is the one ``baheth shards start``
    recorded there, read again when that record changes (servers restarted on
    other ports).
    """

    def __init__(
        self,
        shards: list[list[Address]],
        bm25: tuple[float, float] = (0.75, 1.2),
        rerank_depth: int = 100,
        timeout: float = 5.0,
        servers: Path | None = None,
    ) -> None:
        self.xapian = require()
        self.shards = shards
        self.bm25 = bm25
        self.rerank_depth = rerank_depth
        self.timeout_ms = int(timeout * 1000)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._down: dict[Address, tuple[float, float]] = {}  # a replica that failed -> (retry after, back-off)
        self._reported: tuple[str, ...] = ()
        self.servers = servers
        self.layout = 0  # changes when the shard list is read again
        self._record = _stamp(servers)
        self._looked_at = time.monotonic()

    # -- the protocol ---------------------------------------------------------------

    def snapshot(self) -> XapianSnapshot:
        state: _State | None = getattr(self._local, "state", None)
        started = time.monotonic()
        if state is None:
            state = self._local.state = self._connect()
        elif time.monotonic() - state.opened_at > CHECK_EVERY:
            if self._still_current(state):
                state.opened_at = time.monotonic()
            else:
                self._close(state)
                state = self._local.state = None
                state = self._local.state = self._connect()
        self._local.waited = getattr(self._local, "waited", 0.0) + time.monotonic() - started
        return XapianSnapshot(self, state)

    def waited(self) -> float:
        """Seconds this thread spent (re)connecting to the shards since it last asked: a search counts
        them in its time (a web request reconnects when it checks the index's state, before it searches)."""
        spent = float(getattr(self._local, "waited", 0.0))
        self._local.waited = 0.0
        return spent

    def warm(self) -> None:
        self.snapshot()

    def forget(self) -> None:
        self._close(getattr(self._local, "state", None))
        self._local.state = None
        self._local.stats = None

    def cache_stats(self) -> dict[str, dict[str, int]]:
        return {}

    # -- connections ----------------------------------------------------------------

    def call(self, snapshot: XapianSnapshot, work: Any) -> Any:
        """Run ``work`` on the snapshot's connections; after a network fault or a database
        modified under it, reconnect (a shard that is down is left out) and run it once more."""
        xapian = self.xapian
        try:
            return work()
        except (xapian.NetworkError, xapian.DatabaseModifiedError) as exc:
            log.warning("a shard failed during a search (%s): reconnecting", exc)
            self.forget()
            snapshot.state = self._local.state = self._connect()
            snapshot.db = snapshot.state.db
        try:
            return work()
        except (xapian.NetworkError, xapian.DatabaseModifiedError) as exc:
            self.forget()
            raise IndexProblem(
                f"the shard servers failed twice in one search ({exc})",
                public="the search index's servers did not answer",
                public_ar=SERVERS_DOWN_AR,
            ) from exc

    def _usable(self, address: Address) -> bool:
        """Not a replica that failed lately (one that stalls would cost ``shard_timeout`` each time)."""
        with self._lock:
            found = self._down.get(address)
        return found is None or time.monotonic() >= found[0]

    def _failed(self, address: Address, seconds: float) -> None:
        """Skip a replica that failed for a while, doubled at each failure in a row: a long one if it
        took ``seconds`` (it stalls: each try costs up to shard_timeout), a short one if it failed fast."""
        first, most = BACKOFF_SLOW if seconds >= min(SLOW_FAILURE, self.timeout_ms / 2000) else BACKOFF_FAST
        with self._lock:
            before = self._down.get(address)
            wait = min(most, 2 * before[1]) if before else first
            self._down[address] = (time.monotonic() + wait, wait)

    def _open(self, entry: int, shards: list[list[Address]]) -> _Opened | None:
        """The first replica of the shard list's ``entry`` that answers (skipping those that failed
        lately), with the generation it serves and which shard it says it is."""
        xapian = self.xapian
        for host, port in shards[entry]:
            if not self._usable((host, port)):
                continue
            started = time.monotonic()
            try:
                db = xapian.remote_open(host, port, self.timeout_ms, self.timeout_ms)
                generation = db.get_metadata(GENERATION_KEY).decode("utf-8", "replace")
                identity = read_shard_identity(db.get_metadata(SHARD_KEY))
            except xapian.Error as exc:
                log.warning("shard list entry %d at %s:%d does not answer: %s", entry + 1, host, port, exc)
                self._failed((host, port), time.monotonic() - started)
                continue
            with self._lock:
                self._down.pop((host, port), None)
            return _Opened(db, generation, identity, (host, port))
        return None

    def _shard_list(self) -> list[list[Address]]:
        """The shard list, read again from the servers' record when it changed (checked once a second)."""
        if self.servers is None or time.monotonic() - self._looked_at < CHECK_EVERY:
            return self.shards
        from search.backends.xapian.servers import addresses, dead

        with self._lock:
            self._looked_at = time.monotonic()
            record = _stamp(self.servers)
            if record == self._record:
                return self.shards
            self._record = record
            text = addresses(self.servers)
            try:
                shards = parse_shards(text) if text else None
            except ValueError as exc:
                log.warning("the shard servers recorded for %s cannot be read (%s): kept the previous list",
                            self.servers, exc)
                return self.shards
            if shards is not None and shards != self.shards:
                log.warning("the shard servers recorded for %s changed: now %s", self.servers, text)
                for line in dead(self.servers):
                    log.warning("%s", line)
                self.shards, self.layout = shards, self.layout + 1
            return self.shards

    def _connect(self) -> _State:
        shards = self._shard_list()
        layout = self.layout
        opened: dict[int, _Opened] = {}
        for attempt in range(AGREE_TRIES):
            opened = {k: found for k in range(len(shards)) if (found := self._open(k, shards)) is not None}
            generations = {found.generation for found in opened.values()}
            if len(generations) <= 1 or attempt == AGREE_TRIES - 1:  # still two: keep one (below)
                break
            for found in opened.values():
                found.db.close()
            time.sleep(0.05)  # a reindex is switching the stub files
        if not opened:
            hint = f": start them with `baheth shards start --index {self.servers}`" if self.servers else ""
            raise IndexProblem(
                f"no shard server answers ({_describe(shards)}){hint}",
                public="the search index's servers do not answer",
                public_ar=SERVERS_DOWN_AR,
            )
        # Never mix generations: the one most entries serve (a tie: the first listed); the others
        # count as not answering.
        votes = Counter(found.generation for found in opened.values())
        generation = max(votes, key=lambda g: (votes[g], -min(k for k, f in opened.items() if f.generation == g)))
        problems: list[str] = []
        stale = sorted(k for k, found in opened.items() if found.generation != generation)
        for k in stale:
            opened.pop(k).db.close()
        if stale:
            problems.append(
                f"shard list {_entries(stale, shards)} serve another generation of the index than the others "
                f"({generation}): servers left running by an earlier reindex, or a copy of the index not updated; "
                "restart them on the live index (on one machine: `baheth shards start`)"
            )
        numbers = self._numbers(opened, shards)
        identities = [found.identity for found in opened.values() if found.identity is not None]
        total = max(n for _k, n in identities) if identities else len(shards)
        if identities and len(shards) < total:
            problems.append(
                f"the index has {total} shards but the shard list names {len(shards)}: a reindex changed the "
                "shard count; run `baheth shards start` again (one machine) or name every shard in --shards "
                "or BAHETH_SHARDS"
            )
        unanswered = [k for k in range(len(shards)) if k not in opened and k not in stale]
        if identities and unanswered and len(numbers) == total:
            problems.append(
                f"shard list {_entries(unanswered, shards)} do(es) not answer, and the index has only {total} "
                "shard(s), all answering: left from an earlier shard count, remove it from the list"
            )
        xapian = self.xapian
        db = xapian.Database()
        lengths = dict.fromkeys(SCORED, 0)
        vocabulary, updated = "", ""
        for number in sorted(numbers):
            shard_db = opened[numbers[number]].db
            db.add_database(shard_db)
            for name in SCORED:
                lengths[name] += int(shard_db.get_metadata(LENGTH_KEY + name) or b"0")
            if number == 0:  # what the build wrote on shard 0, whichever entry serves it
                vocabulary = shard_db.get_metadata(VOCABULARY_KEY).decode("utf-8", "replace")
                updated = shard_db.get_metadata(UPDATED_KEY).decode("utf-8", "replace")
        self._report(problems)
        return _State(
            db, generation, sorted(numbers), total, lengths, db.get_doccount(), vocabulary, updated,
            entries=numbers, stale=stale, problems=problems, layout=layout,
        )

    def _numbers(self, opened: dict[int, _Opened], shards: list[list[Address]]) -> dict[int, int]:
        """Shard number -> the list entry that serves it: the number each shard's metadata gives (an
        index built before has none: its place in the list). A shard served twice is a mistake."""
        numbers: dict[int, int] = {}
        for k in sorted(opened):
            identity = opened[k].identity
            number = identity[0] if identity is not None else k
            if number in numbers:
                for found in opened.values():
                    found.db.close()
                raise IndexProblem(
                    f"shard list entries {numbers[number] + 1} ({_describe([shards[numbers[number]]])}) and {k + 1} "
                    f"({_describe([shards[k]])}) both serve shard {number}: name each shard once "
                    "(replicas of one shard are joined by |) in --shards or BAHETH_SHARDS",
                    public="the search index's servers are misconfigured",
                    public_ar=SERVERS_DOWN_AR,
                )
            numbers[number] = k
        return numbers

    def _report(self, problems: list[str]) -> None:
        """Log what is wrong with the shard list once, not on every reconnection."""
        with self._lock:
            if tuple(problems) == self._reported:
                return
            self._reported = tuple(problems)
        for problem in problems:
            log.warning("%s", problem)

    def _still_current(self, state: _State) -> bool:
        """Are the same shards still answering, on the same generation and revision?"""
        shards = self._shard_list()
        if state.layout != self.layout:
            return False  # the recorded servers changed
        unanswered = [k for k in range(len(shards)) if k not in state.entries.values() and k not in state.stale]
        if any(self._usable(address) for k in unanswered for address in shards[k]):
            return False  # try the missing shards again (one that failed lately waits its back-off)
        if state.stale and time.monotonic() - state.connected_at > RECHECK_STALE:
            return False
        found = self._open(state.entries.get(0, state.entries[state.answered[0]]), shards)
        if found is None:
            return False
        try:
            updated = found.db.get_metadata(UPDATED_KEY).decode("utf-8", "replace")
        except self.xapian.Error:
            return False
        finally:
            found.db.close()
        if found.generation != state.generation or (0 in state.entries and updated != state.updated):
            return False
        try:
            state.db.reopen()  # pick up add/delete commits on every shard
            state.documents = state.db.get_doccount()
        except self.xapian.Error:
            return False
        return True

    def _close(self, state: _State | None) -> None:
        if state is not None:
            try:
                state.db.close()
            except self.xapian.Error:
                pass

    def statistics(self, snapshot: XapianSnapshot) -> Statistics:
        """BM25F's collection statistics for this thread's state (kept until the state changes)."""
        state = snapshot.state
        found = getattr(self._local, "stats", None)
        if found is not None and found[0] is state and found[1] == state.documents:
            return found[2]
        n = max(state.documents, 1)
        db = state.db
        xapian = self.xapian

        def union_frequency(name: str, forms: tuple[str, ...]) -> int:
            # The documents holding any of a term's forms, counted exactly (every match checked):
            # the embedded backend's df for such a term. Xapian's own OP_SYNONYM only estimates it.
            count = xapian.Enquire(db)
            forms_held = [xapian.Query(term(PREFIX[name], form)) for form in forms]
            count.set_query(xapian.Query(xapian.Query.OP_OR, forms_held))
            count.set_weighting_scheme(xapian.BoolWeight())
            return int(count.get_mset(0, 0, db.get_doccount()).get_matches_estimated())

        stats = Statistics(
            documents=state.documents,
            average_length={name: state.lengths[name] / n for name in SCORED},
            doc_frequency=lambda name, word: db.get_termfreq(term(PREFIX[name], word)),
            union_frequency=union_frequency,
        )
        self._local.stats = (state, state.documents, stats)
        return stats


def _stamp(servers: Path | None) -> tuple[int, int] | None:
    """What tells that the servers' record changed: its inode and modification time."""
    if servers is None:
        return None
    from search.backends.xapian.servers import SERVERS_FILE

    try:
        found = (servers / SERVERS_FILE).stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


def _describe(shards: list[list[Address]]) -> str:
    return ", ".join("|".join(f"{h}:{p}" for h, p in replicas) for replicas in shards)


def _entries(entries: list[int], shards: list[list[Address]]) -> str:
    """«entries 2 (h:p), 3 (h:p)», counted from 1 as written."""
    named = ", ".join(f"{k + 1} ({_describe([shards[k]])})" for k in entries)
    return f"entr{'y' if len(entries) == 1 else 'ies'} {named}"
