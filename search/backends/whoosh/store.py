"""Writing a Whoosh index: a new generation built beside the live one, add and delete.

The only code that writes (the layout is in :mod:`.generations`). A reindex
builds a new generation in a ``.build-*`` folder and switches ``CURRENT`` to
it with one atomic rename; a crash or Ctrl-C leaves the old one live. The
previous generation, and any replaced less than a minute ago, are kept for
readers that opened them a moment ago.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.index import Index
from whoosh.searching import Searcher
from whoosh.writing import SegmentWriter

from search import __version__, grouping
from search.analysis import widen_memo
from search.backends.base import BuildReport, prepare, storable_sources, stored_document
from search.backends.generations import BUILD_PREFIX, GENERATION_PREFIX, META_FILE, read_meta
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.schema import ROOTS, ROOTS_FROM, make_schema, to_fields
from search.backends.whoosh.segment import FastSegmentWriter
from search.backends.writing import (
    after_commit,
    clean_abandoned,
    folder_size,
    fsync_dir,
    register_die_with_parent,
    retire_old,
    stamp,
    switch_current,
    write_text_atomically,
    writer_lock,
    writing,
)
from search.errors import IndexMissing, IndexProblem
from search.ingest import Document, LoadResult, Problem
from search.roots import IdsAhead, roots_column
from search.settings import SETTINGS
from search.spelling import (
    VOCABULARY_FILE,
    read_vocabulary,
    spellings_after_change,
    spellings_from_counts,
    write_vocabulary,
)


class _Writer(SegmentWriter):
    """Whoosh's segment writer, with the field lengths read once per document at flush.

    Writing the postings asks for the length of the document's field once per
    posting (about 300 per article); Whoosh answers each from the lengths file
    just written. Here they are read once per document and field into lists:
    the same numbers, the same segment. Building 10,000 ANT articles with two
    processes took 15-22% less CPU with it (two rounds, 104 -> 81 s and 118 -> 101 s).
    """

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        lengths = _Lengths(pdr, self.schema.scorable_names(), self.docnum) if pdr else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if pdr:
            pdr.close()


class _Lengths:
    def __init__(self, pdr: object, fieldnames: list[str], doccount: int) -> None:
        self._pdr = pdr
        field_length = pdr.doc_field_length  # type: ignore[attr-defined]
        self._by_field = {name: [field_length(n, name) for n in range(doccount)] for name in fieldnames}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        column = self._by_field.get(fieldname)
        if column is None:
            return self._pdr.doc_field_length(docnum, fieldname, default)  # type: ignore[attr-defined]
        return column[docnum]


LIMIT_MB = SETTINGS["memory_mb"].default  # MB of postings each writer holds before spilling
# Spilling is costly in Whoosh: the runs are pickled to disk posting by posting
# and merged back in Python. Writing ANT (31.5k articles) in one process took
# 294 CPU seconds with Whoosh's default 128 MB and 190 s with 2048 MB
# (benchmarks/results/speed.md); at 1024 MB each of our two processes does not spill.
PARALLEL_FROM = 2000  # fewer documents than this are written by one process


def _write_docs(
    ix: Index,
    docs: list[Document],
    procs: int,
    progress: Callable[[int], None] | None,
    update: bool = False,
    memory_mb: float = LIMIT_MB,
    rewritten: list[Document] | None = None,
) -> dict[str, int] | None:
    """Write docs; for new documents (not ``update``) return the spelling field's terms with
    their document counts, as the writers saw them. ``rewritten``: indexed articles written again
    in the same commit (a new story-group key), not counted in the progress."""
    if not update:
        return _write_new_segments(ix, docs, procs, progress, memory_mb)
    writer = _Writer(ix, limitmb=memory_mb)
    names = set(ix.schema.names())  # an index built before a field was added lacks it
    try:
        for doc in docs:
            writer.update_document(**_fields(doc, names))
            if progress:
                progress(1)
        for doc in rewritten or ():
            writer.update_document(**_fields(doc, names))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return None


def _fields(doc: Document, names: set[str]) -> dict[str, object]:
    """A document's fields for an index with the fields ``names``."""
    fields = {k: v for k, v in to_fields(doc).items() if k in names}
    if ROOTS in names:
        fields[ROOTS] = roots_column(doc.title, doc.body)  # the fast writer finds it on its way
    return fields


def _write_new_segments(
    ix: Index, docs: list[Document], procs: int, progress: Callable[[int], None] | None, memory_mb: float
) -> dict[str, int]:
    """Write docs as new segments (FastSegmentWriter), in forked processes when there are
    enough of them, and commit the segments together, unmerged, in one table of contents."""
    if procs > 1 and len(docs) >= PARALLEL_FROM and "fork" in mp.get_all_start_methods():
        parts = _write_segments_in_parallel(ix, docs, procs, progress, memory_mb)
    else:
        parts = [_write_range(ix, docs, 0, len(docs), memory_mb, progress)]
    segments = [segment for part_segments, _counts in parts for segment in part_segments]
    counts = _merged([part_counts for _segments, part_counts in parts])
    writer = ix.writer()
    try:
        writer._close_segment()  # the committing writer's own segment stays empty
        writer._commit_toc(list(writer.segments) + segments)  # existing ones first
    except BaseException:
        writer.cancel()
        raise
    writer._finish()
    return counts


def _merged(parts: list[dict[str, int]]) -> dict[str, int]:
    merged = dict(parts[0]) if parts else {}
    for part in parts[1:]:
        for word, n in part.items():
            merged[word] = merged.get(word, 0) + n
    return merged


def _write_range(
    ix: Index, docs: list[Document], start: int, stop: int, memory_mb: float, counted: Callable[[int], None] | None
) -> tuple[list[object], dict[str, int]]:
    """Write docs[start:stop] as one segment, or as several when the postings held in memory
    would pass ``memory_mb``; return the segments' descriptions in document order, and the
    spelling field's terms with their document counts."""
    limit = memory_mb * 1024 * 1024
    segments = []
    counts: list[dict[str, int]] = []
    names = set(ix.schema.names())
    roots = {"roots_field": ROOTS, "roots_from": ROOTS_FROM} if ROOTS in names else {}
    writer = FastSegmentWriter(ix, counted_field=SPELLING_FIELD, _lk=False, **roots)
    try:
        for i in range(start, stop):
            fields = to_fields(docs[i])
            writer.add_document(**{k: v for k, v in fields.items() if k in names})
            if counted is not None and ((i - start) % 50 == 49 or i == stop - 1):
                counted((i - start) % 50 + 1)
            if writer.held_bytes > limit and i < stop - 1:
                segments.append(writer._finalize_segment())
                counts.append(writer.term_counts)
                writer = FastSegmentWriter(ix, counted_field=SPELLING_FIELD, _lk=False, **roots)
        if writer.docnum or not segments:
            segments.append(writer._finalize_segment())
            counts.append(writer.term_counts)
        # Not writer._finish(): it would remove the temporary folder that all the
        # writers of this index share, with the other processes' column files in it.
    except BaseException:
        writer._close_segment()
        raise
    return [s for s in segments if s.doc_count_all()], _merged(counts)


def split_by_size(docs: list[Document], parts: int) -> list[tuple[int, int]]:
    """Cut docs into contiguous ranges of about equal text length (the cost of analysing them).

    Contiguous, so document numbers follow the input order whatever the number of
    processes, and a rebuild of the same input ranks ties the same way.
    """
    sizes = [len(doc.title) + len(doc.body) + 200 for doc in docs]  # + fixed cost per document
    total = sum(sizes)
    bounds, start, running = [], 0, 0
    for i, size in enumerate(sizes):
        running += size
        if len(bounds) < parts - 1 and running >= total * (len(bounds) + 1) / parts and i + 1 < len(docs):
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, len(docs)))
    return [b for b in bounds if b[1] > b[0]]


def _write_segments_in_parallel(
    ix: Index, docs: list[Document], procs: int, progress: Callable[[int], None] | None, memory_mb: float
) -> list[tuple[list[object], dict[str, int]]]:
    """Each forked process writes its own range of docs as its own segments; returns each
    process's segments (in document order) and spelling-field counts.

    The documents reach the children through fork (copy-on-write memory), so
    nothing is pickled on the way in; only the small segment descriptions come
    back. Whoosh's own MpWriter instead pickles every document through files
    while the parent competes with its workers for the same cores.
    """
    register_die_with_parent()
    ctx = mp.get_context("fork")
    done = ctx.Value("q", 0)
    workers = []
    try:
        for start, stop in split_by_size(docs, procs):
            receive, send = ctx.Pipe(duplex=False)
            worker = ctx.Process(
                target=_segment_worker,
                args=(ix, docs, start, stop, done, send, memory_mb),
                name=f"baheth-index-{start}",
            )
            worker.start()
            send.close()
            workers.append((worker, receive))
        return _collect_segments(workers, done, progress)
    finally:
        for worker, receive in workers:
            if worker.is_alive():
                worker.kill()
            worker.join()
            receive.close()


def _collect_segments(workers: list, done: object, progress: Callable[[int], None] | None) -> list:
    pending = {receive: worker for worker, receive in workers}
    results: dict[object, list] = {}
    reported = 0
    while pending:
        for receive in mp_connection.wait(list(pending), timeout=0.25):
            worker = pending.pop(receive)
            try:
                status, value = receive.recv()
            except EOFError:
                worker.join()
                raise IndexProblem(
                    f"an indexing process died (exit code {worker.exitcode}); nothing was changed"
                ) from None
            if status != "ok":
                raise IndexProblem(f"an indexing process failed: {value}")
            results[receive] = value
        if progress is not None:
            now = done.value  # type: ignore[attr-defined]
            if now > reported:
                progress(now - reported)
                reported = now
    return [results[receive] for _worker, receive in workers]


def _segment_worker(
    ix: Index, docs: list[Document], start: int, stop: int, done: object, send: object, memory_mb: float
) -> None:
    """In a forked process: write docs[start:stop] as segments and send back their descriptions."""

    def counted(n: int) -> None:
        with done.get_lock():  # type: ignore[attr-defined]
            done.value += n  # type: ignore[attr-defined]

    widen_memo()  # this process ends with its share of the reindex
    try:
        written = _write_range(ix, docs, start, stop, memory_mb, counted)
        send.send(("ok", written))  # type: ignore[attr-defined]
    except BaseException as exc:  # the parent raises it, with context, as the one message
        try:
            send.send(("error", f"{type(exc).__name__}: {exc}"))  # type: ignore[attr-defined]
        except OSError:
            pass  # the parent is gone
        sys.exit(1)


def build(
    root: Path,
    load: LoadResult,
    sources: list[str],
    procs: int = 1,
    progress: Callable[[int], None] | None = None,
    wait: bool = False,
    memory_mb: float = LIMIT_MB,
) -> BuildReport:
    """Build a new generation from loaded documents and make it live atomically.

    Raises NothingToIndex, leaving the live index as it was, when there is no
    document to index (a mistyped path, unreadable files, every document skipped).
    """
    started = time.perf_counter()
    report = BuildReport()
    docs = prepare(load, report, required=True)
    with writing(root), writer_lock(root, wait=wait):
        clean_abandoned(root)
        register_die_with_parent()  # the fingerprinting processes die with this one
        written: Counter[str] = Counter()  # the bodies' written words: their spellings, counted while grouping
        before = live_keys(root, report)
        with IdsAhead() as ahead:  # the roots column's ids, looked up while the grouping pairs copies
            found = grouping.assign(docs, procs, meanwhile=ahead.start, written=written, before=before)
            del before
            ahead.collect()
            spellings = spellings_from_counts(written)
            del written
            live = _write_generation(root, docs, sources, procs, progress, memory_mb, report, spellings,
                                     found.boilerplate)
        report.groups, report.grouped = found.groups, found.grouped
        retire_old(root, live)
    report.generation = live.name
    report.size_bytes = folder_size(live)
    report.seconds = time.perf_counter() - started
    return report


def live_keys(root: Path, report: BuildReport) -> dict[str, str]:
    """Each article of the live index -> its story-group key, for a reindex to keep the keys of the
    groups it finds again (grouping.keep_keys); empty when there is no live index or it cannot be
    read (then the keys are the founders', and a damaged index is a warning of the ``report``).
    From the group column and the id terms: 0.25 s for ANT."""
    try:
        ix, _gen = open_index(root)
        with ix.reader() as reader:
            if "group" not in ix.schema.names():
                return {}
            groups = list(reader.column_reader("group"))
            found: dict[str, str] = {}
            for leaf, offset in reader.leaf_readers():
                for term, info in leaf.iter_field("id"):
                    numbers = [info.min_id()] if info.doc_frequency() == 1 else leaf.postings("id", term).all_ids()
                    for number in numbers:
                        if not leaf.is_deleted(number):
                            doc_id = term.decode("utf-8", "surrogatepass") if isinstance(term, bytes) else term
                            found[doc_id] = str(groups[offset + number] or "")
            return found
    except IndexMissing:
        return {}
    except Exception as exc:  # noqa: BLE001 - Whoosh raises many kinds on a damaged folder: keys as without it
        report.warnings.append(Problem(str(root), "story-group keys of the live index unread",
                                       f"{type(exc).__name__}: {exc}; groups take their founders' keys"))
        return {}


def _write_generation(
    root: Path,
    docs: list[Document],
    sources: list[str],
    procs: int,
    progress: Callable[[int], None] | None,
    memory_mb: float,
    report: BuildReport,
    spellings: dict[str, str],
    boilerplate: np.ndarray,
) -> Path:
    """Write the documents as a new generation and make it the live one; return its folder
    (``spellings``: search.spelling.count_spellings of the bodies; ``boilerplate``: the grouping's,
    kept for adds)."""
    name = stamp()
    building = root / (BUILD_PREFIX + name)
    building.mkdir(parents=True)
    try:
        ix = whoosh_index.create_in(str(building), make_schema())
        counts = _write_docs(ix, docs, procs, progress, memory_mb=memory_mb)
        report.indexed = ix.doc_count()
        _write_vocabulary(ix, building / VOCABULARY_FILE, spellings, counts)
        grouping.save_boilerplate(building / grouping.BOILERPLATE_FILE, boilerplate)
        meta = {
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "documents": report.indexed,
            "sources": storable_sources(sources),
            "version": __version__,
        }
        (building / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        fsync_dir(building)
        live = root / (GENERATION_PREFIX + name)
        os.rename(building, live)
        switch_current(root, live)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return live


SPELLING_FIELD = "body_exact"


def _write_vocabulary(
    ix: Index, path: Path, spellings: dict[str, str], counts: dict[str, int] | None = None
) -> None:
    """The spelling vocabulary: each word of the exact body field and its document count
    (``counts``, as the writers of a new index saw them, or read from the index), with its
    most used written form (``spellings``)."""
    if counts is not None:
        write_vocabulary(counts, ix.doc_count(), path, spellings)
        return
    counts = {}
    fieldname = SPELLING_FIELD
    with ix.reader() as reader:
        for subreader, _offset in reader.leaf_readers():
            for term, info in subreader.iter_field(fieldname):
                word = term.decode("utf-8") if isinstance(term, bytes) else term
                counts[word] = counts.get(word, 0) + info.doc_frequency()
        write_vocabulary(counts, reader.doc_count(), path, spellings)


def _touch_meta(gen: Path, ix: Index, added: list[Document] | None = None) -> None:
    """After add or delete: the document count, and the spelling vocabulary of the changed index."""
    path = gen / VOCABULARY_FILE
    _write_vocabulary(ix, path, spellings_after_change(read_vocabulary(path), (doc.body for doc in added or ())))
    meta = read_meta(gen)
    meta["documents"] = ix.doc_count()
    meta["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_text_atomically(gen / META_FILE, json.dumps(meta, ensure_ascii=False))


def add(
    root: Path,
    load: LoadResult,
    progress: Callable[[int], None] | None = None,
    wait: bool = False,
    memory_mb: float = LIMIT_MB,
) -> BuildReport:
    """Add documents to the live index; a document whose id exists replaces it. The indexed articles
    whose story group changes (groups merged or split: grouping.assign_added) are written again."""
    started = time.perf_counter()
    report = BuildReport()
    docs = prepare(load, report)
    rekeyed: list[Document] = []
    with writing(root), writer_lock(root, wait=wait, existing="`baheth reindex`"):
        ix, gen = open_index(root)
        with ix.searcher() as searcher:
            report.replaced += sum(1 for doc in docs if searcher.document_number(id=doc.id) is not None)
            if "group" in ix.schema.names():
                kept = grouping.load_boilerplate(gen / grouping.BOILERPLATE_FILE)
                indexed = _IndexedGroups(searcher)
                added = grouping.assign_added(docs, indexed.candidates, indexed.holders, kept, indexed)
                report.grouped, rekeyed = added.grouped, added.rekeyed
        _write_docs(ix, docs, 1, progress, update=True, memory_mb=memory_mb, rewritten=rekeyed)
        report.indexed = len(docs)
        with after_commit(root):
            _touch_meta(gen, ix, docs)
    report.generation = gen.name
    report.size_bytes = folder_size(gen)
    report.seconds = time.perf_counter() - started
    return report


CANDIDATES = 10  # indexed articles compared with each added one
KEY_TERMS = 12  # the added article's most telling words, to find them
KEY_PARTS = 4  # the stretches of its text they are drawn from, an equal share each


class _IndexedGroups:
    """The live index's story groups, as an add or a delete reads them (grouping.Groups), through a
    searcher opened before the change is written."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher

    def candidates(self, doc: Document) -> Iterator[tuple[Document, str]]:
        """The indexed articles most like a document, with their group keys: those holding its most
        telling words, KEY_TERMS in all, an equal share from each of KEY_PARTS stretches of its text, as
        the Xapian store finds them. From the whole text by tf-idf, the words all came from the half
        whose copies the index holds fewer of, and an article copying two reports (one its first half,
        the other its second) found one: their groups were never merged (red team)."""
        written = (doc.title + "\n" + doc.body).split()
        step = -(-len(written) // KEY_PARTS) or 1
        words = list(dict.fromkeys(
            word for start in range(0, len(written), step)
            for word, _ in self.searcher.key_terms_from_text(
                "body", " ".join(written[start : start + step]), numterms=KEY_TERMS // KEY_PARTS)
        ))
        if not words:
            return
        for hit in self.searcher.search(Q.Or([Q.Term("body", w) for w in words]), limit=CANDIDATES):
            stored = hit.fields()
            yield stored_document(stored), str(stored.get("group") or "")

    def holders(self, key: str) -> list[str]:
        """The ids of (a few) indexed articles in a story group."""
        return [str(hit.fields().get("id")) for hit in self.searcher.search(Q.Term("group", key), limit=CANDIDATES)]

    def size(self, key: str) -> int:
        return sum(1 for _ in self.searcher.document_numbers(group=key))

    def members(self, key: str) -> list[Document]:
        numbers = islice(self.searcher.document_numbers(group=key), grouping.MAX_GROUP + 1)
        return [stored_document(self.searcher.stored_fields(n)) for n in numbers]

    def stored(self, doc_id: str) -> Document | None:
        fields = self.searcher.document(id=doc_id)
        return stored_document(fields) if fields is not None else None


def delete(root: Path, ids: list[str], wait: bool = False) -> BuildReport:
    """Delete documents by id from the live index; the story groups they leave are regrouped without
    them (grouping.regroup_deleted), and the articles whose key changes written again with it."""
    started = time.perf_counter()
    report = BuildReport()
    with writing(root), writer_lock(root, wait=wait, existing="`baheth reindex`"):
        ix, gen = open_index(root)
        names = set(ix.schema.names())
        rekeyed: list[Document] = []
        if "group" in names:
            with ix.searcher() as searcher:
                indexed = _IndexedGroups(searcher)
                kept = grouping.load_boilerplate(gen / grouping.BOILERPLATE_FILE)
                rekeyed = grouping.regroup_deleted(ids, indexed, indexed.holders, kept)
        writer = ix.writer()
        try:
            for doc_id in dict.fromkeys(ids):  # an id named twice is deleted once, counted once
                if writer.delete_by_term("id", doc_id):
                    report.deleted += 1
                else:
                    report.not_found.append(doc_id)
            for doc in rekeyed:
                writer.update_document(**_fields(doc, names))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        with after_commit(root):
            _touch_meta(gen, ix)
    report.generation = gen.name
    report.size_bytes = folder_size(gen)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class WhooshWriter:
    """Builds and changes the Whoosh index under ``root`` (see :mod:`.store`)."""

    root: Path
    procs: int = 1
    memory_mb: int = LIMIT_MB

    def build(
        self, load: LoadResult, sources: list[str], progress: Callable[[int], None] | None = None, wait: bool = False
    ) -> BuildReport:
        return build(self.root, load, sources, self.procs, progress, wait, self.memory_mb)

    def add(self, load: LoadResult, progress: Callable[[int], None] | None = None, wait: bool = False) -> BuildReport:
        return add(self.root, load, progress, wait, self.memory_mb)

    def delete(self, ids: list[str], wait: bool = False) -> BuildReport:
        return delete(self.root, ids, wait)
