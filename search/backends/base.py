"""The seam between the engine's recipe and the stores that hold the index.

A backend keeps documents and answers one page of a query tree
(:mod:`search.querytree`) with filters, facets and a sort, ranked by BM25F
over the logical fields. The recipe (:class:`search.engine.Engine`) parses,
asks a :class:`Snapshot` for a page, then cuts snippets and marks matches: it
knows no Whoosh or Xapian type. Writes go through a :class:`Writer`; what a
write did is a :class:`BuildReport`, the same for every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Protocol

from search.errors import NothingToIndex
from search.ingest import REPLACEMENT, UNSTORABLE, Document, LoadResult, Problem
from search.notices import Notice
from search.querytree import Node


def local_time(moment: datetime) -> datetime:
    """A date as it was published, without its zone: «2018-02-20T23:30-05:00» is 20 February 23:30,
    the day every page shows. The date filter, the timeline's days and the date order all go by it,
    so that an article is on the day it is shown on (an index built before this went by UTC).
    To the millisecond: Whoosh keeps microseconds since year 1 in a float64, exact to 8 µs today, and
    23:59:59.999999 would round to the next midnight, the next day."""
    return moment.replace(tzinfo=None, microsecond=moment.microsecond // 1000 * 1000)


Stored = dict[str, object]  # a document's stored fields: id, title, body, url, source, category, author, date_iso


@dataclass
class PageRequest:
    """One page of results for a query tree."""

    query: Node
    start: int  # the first result, counted from 0
    limit: int  # how many results from ``start``
    newest: bool = False  # newest first (ties by score), else by score
    oldest: bool = False  # oldest first (ties by score); undated articles last either way
    date_from: datetime | None = None  # naive UTC, inclusive
    date_to: datetime | None = None
    undated: bool = False  # only documents without a date
    facets: bool = True
    seconds: float = 3.0  # the time the backend may take
    collapse: bool = False  # one result per story group: its best-ranked (or newest) member
    # By relevance: the query's roots, by which the best candidates are reranked (search.roots)
    roots: frozenset[str] = frozenset()


@dataclass
class Page:
    total: int  # results (with collapse: groups)
    hits: list[tuple[float, Stored]]
    articles: int | None = None  # with collapse: the articles that match (total counts their groups)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> value -> count, most first
    undated: int = 0  # with facets: how many of the matches have no date
    days: dict[str, int] = field(default_factory=dict)  # with facets: matches per day, "YYYY-MM-DD" -> count
    timed_out: bool = False
    notices: list[Notice] = field(default_factory=list)  # what the reader should know (a shard did not answer)


class Snapshot(Protocol):
    """One fixed state of the index; shared by threads; what one request reads from start to end."""

    @property
    def key(self) -> Hashable:
        """Equal for two snapshots of the same state (caches keyed on it stay valid)."""
        ...

    @property
    def pinned(self) -> bool:
        """Whether it reads the state it was opened on for as long as it is kept, whatever is written
        meanwhile (a download in passes then reads one state). When not (remote shards follow each
        commit), a reader that reads more than once compares ``key`` to see that the index changed."""
        ...

    def doc_count(self) -> int: ...

    def words(self, field: str, prefix: str, limit: int | None = None) -> Iterator[str]: ...

    def doc_frequency(self, field: str, word: str) -> int: ...

    def values(self, field: str) -> list[str]: ...

    def search(self, request: PageRequest) -> Page: ...

    def document(self, doc_id: str) -> Stored | None: ...

    def more_like(self, doc_id: str, text: str, top: int) -> list[tuple[float, Stored]]: ...

    def group_sizes(self, keys: list[str]) -> dict[str, int]:
        """How many articles each story group holds (0 for a key no article has)."""
        ...

    def group(self, key: str, limit: int) -> tuple[int, list[Stored]]:
        """A story group: how many articles it holds, and the first ``limit`` of them, oldest first."""
        ...

    def vocabulary(self) -> str | None:
        """The spelling vocabulary of this state (``word<TAB>documents`` lines), if any."""
        ...

    def info(self) -> dict[str, object]:
        """What is served: generation, built_at, updated_at, and status ("ok", or "degraded"
        when part of the index does not answer)."""
        ...


class Backend(Protocol):
    """The read side: follows the live index, opens a new state when it changed."""

    def snapshot(self) -> Snapshot:
        """The live state; raises IndexProblem when there is no usable index."""
        ...

    def warm(self) -> None:
        """Read now what the first search would read."""
        ...

    def forget(self) -> None:
        """Drop whatever is open (after a failure), so the next call opens afresh."""
        ...

    def cache_stats(self) -> dict[str, dict[str, int]]: ...

    def waited(self) -> float:
        """Seconds this thread spent opening the index's state since it last asked (a backend that
        reconnects to servers counts them; a search counts them in its time and its limit)."""
        ...


class Writer(Protocol):
    def build(
        self, load: LoadResult, sources: list[str], progress: Callable[[int], None] | None = None, wait: bool = False
    ) -> BuildReport: ...

    def add(
        self, load: LoadResult, progress: Callable[[int], None] | None = None, wait: bool = False
    ) -> BuildReport: ...

    def delete(self, ids: list[str], wait: bool = False) -> BuildReport: ...


# --- What a write did -------------------------------------------------------------------


@dataclass
class BuildReport:
    """What a reindex, add or delete did, for the summary line and tests."""

    read: int = 0
    indexed: int = 0
    replaced: int = 0
    deleted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    undated: int = 0  # documents written without a date (in no date range; last by «الأحدث»)
    grouped: int = 0  # documents written into a story group of two or more (copies of one report)
    groups: int = 0  # such groups (a reindex)
    seconds: float = 0.0
    size_bytes: int = 0
    generation: str = ""

    @property
    def docs_per_second(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["problems"] = [str(p) for p in self.problems]
        data["warnings"] = [str(p) for p in self.warnings]
        data["docs_per_second"] = round(self.docs_per_second, 1)
        return data


def _dedupe(load: LoadResult, report: BuildReport) -> list[Document]:
    """Keep the last document of each id; count the replaced ones, and name each with a warning
    (where it was read, and where the record kept in its place was): none is lost unsaid."""
    by_id: dict[str, Document] = {}
    replaced: list[Document] = []
    for doc in load.documents:
        earlier = by_id.pop(doc.id, None)  # popped: the order is that of the latest occurrence
        if earlier is not None:
            replaced.append(earlier)
        by_id[doc.id] = doc
    report.replaced += len(replaced)
    for doc in replaced:
        kept = by_id[doc.id].origin or "(input)"
        report.warnings.append(Problem(doc.origin or "(input)", "duplicate id", f"{doc.id!r}: the record at {kept} is kept"))
    return list(by_id.values())


def _account(load: LoadResult, report: BuildReport) -> None:
    report.read = load.read
    report.problems = list(load.problems)
    report.warnings = list(load.warnings)
    for problem in load.problems:
        report.skipped[problem.reason] = report.skipped.get(problem.reason, 0) + 1


def _nothing_message(load: LoadResult, report: BuildReport) -> str:
    if not load.read and not load.files:
        why = "the sources hold no readable files"
    elif not load.read:
        why = f"{load.files} file(s) read, but they hold no documents"
    else:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(report.skipped.items()))
        why = f"all {load.read} documents were skipped ({reasons})"
    return f"nothing to index: {why}; the live index was not changed"


def stored_document(stored: Stored) -> Document:
    """A Document again from its stored fields: whole, as it was written (a story group's change
    writes it again)."""
    date = None
    text = stored.get("date_iso")
    if isinstance(text, str) and text:
        try:
            date = datetime.fromisoformat(text)
        except ValueError:
            date = None
    return Document(
        id=str(stored.get("id") or ""),
        title=str(stored.get("title") or ""),
        body=str(stored.get("body") or ""),
        url=str(stored.get("url") or ""),
        source=str(stored.get("source") or ""),
        category=str(stored.get("category") or ""),
        author=str(stored.get("author") or ""),
        date=date,
        group=str(stored.get("group") or ""),
    )


def storable_sources(sources: list[str]) -> list[str]:
    """The sources an index was built from, as its metadata keeps them: a path that is not UTF-8
    (a folder named in Latin-1, read as lone surrogates) cannot be written as UTF-8; those
    characters become U+FFFD."""
    return [UNSTORABLE.sub(REPLACEMENT, source) for source in sources]


def prepare(load: LoadResult, report: BuildReport, required: bool = False) -> list[Document]:
    """Account for what was loaded and keep the last document of each id.

    With ``required``, no document to write raises NothingToIndex (a reindex
    must never replace the live index with an empty one).
    """
    _account(load, report)
    docs = _dedupe(load, report)
    report.undated = sum(1 for doc in docs if doc.date is None)
    if required and not docs:
        raise NothingToIndex(_nothing_message(load, report), public="nothing to index")
    return docs
