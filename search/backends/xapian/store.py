"""Writing Xapian shards: a new generation built in parallel, stub files switched, add and delete.

Layout (beside the generic one of :mod:`search.backends.generations`)::

    DIR/
      CURRENT                 the live generation, for readers on this machine
      gen-<stamp>/shard-K/    one Xapian database per shard
      gen-<stamp>/vocabulary.tsv, baheth.json
      shard-K.stub            what xapian-tcpsrv serves: "auto gen-<stamp>/shard-K"

A reindex writes every shard in its own process, commits them, then replaces
each stub file with one atomic rename and CURRENT last. Each shard records its
generation, so a remote reader that finds its shards on two generations (in
the middle of the switch) waits and reconnects: it never mixes them. ``add``
and ``delete`` route each id to its shard by a stable hash, and replace by id,
so replaying them is harmless.
"""

from __future__ import annotations

import heapq
import json
import math
import multiprocessing as mp
import os
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from search import __version__, grouping
from search.analysis import widen_memo
from search.backends.base import BuildReport, prepare, storable_sources, stored_document
from search.backends.generations import BUILD_PREFIX, GENERATION_PREFIX, META_FILE, current_generation, read_meta
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
    analysed,
    date_value,
    day_value,
    document_data,
    group_key,
    rerank_value,
    shard_identity,
    shard_of,
    term,
)
from search.errors import IndexMissing, IndexProblem
from search.ingest import Document, LoadResult, Problem
from search.spelling import (
    VOCABULARY_FILE,
    read_vocabulary,
    spellings_after_change,
    spellings_from_counts,
    write_vocabulary,
)

SHARD_PREFIX = "shard-"
STUB_SUFFIX = ".stub"


def stub_path(root: Path, shard: int) -> Path:
    return root / f"{SHARD_PREFIX}{shard}{STUB_SUFFIX}"


def shard_stubs(root: Path) -> list[Path]:
    """The stub files of the index under ``root``, in shard order."""
    stubs = [p for p in root.glob(f"{SHARD_PREFIX}*{STUB_SUFFIX}") if p.stem[len(SHARD_PREFIX) :].isdigit()]
    return sorted(stubs, key=lambda p: int(p.stem[len(SHARD_PREFIX) :]))


def to_xapian(xapian: Any, doc: Document, ordinal: int) -> tuple[Any, dict[str, int]]:
    """A Document as a Xapian document (terms per field, positions, values, data), and its field lengths."""
    frequencies, positions, lengths = analysed(doc)
    xdoc = xapian.Document()
    for name in ("title", "body"):
        for word, count in frequencies[name].items():
            xdoc.add_term(term(PREFIX[name], word), count)
        for word, position in positions[name + "_exact"]:
            xdoc.add_posting(term(PREFIX[name + "_exact"], word), position + 1)
    for word, count in frequencies["lead"].items():
        xdoc.add_term(term(PREFIX["lead"], word), count)
    for name, slot in VALUE_SLOTS.items():
        value = getattr(doc, name)
        if value:
            xdoc.add_boolean_term(term(PREFIX[name], value))
            xdoc.add_value(slot, value.encode("utf-8", "replace"))
    seconds = date_value(doc)
    if seconds is None:
        xdoc.add_boolean_term(UNDATED_TERM)
    if seconds is not None:
        xdoc.add_value(DATE_SLOT, xapian.sortable_serialise(seconds))
        day = day_value(doc)
        if day is not None:
            xdoc.add_value(DAY_SLOT, day)
    xdoc.add_boolean_term(term(ID_PREFIX, doc.id))
    xdoc.add_boolean_term(term(PREFIX["group"], group_key(doc)))
    xdoc.add_value(GROUP_SLOT, group_key(doc).encode("ascii", "replace"))
    xdoc.set_data(document_data(doc))
    xdoc.add_value(RERANK_SLOT, rerank_value(doc, ordinal, frequencies, lengths))
    return xdoc, lengths


def _write_shard(
    folder: str, docs: list[tuple[int, Document]], generation: str, done: Any, identity: str = ""
) -> None:
    """In a forked process: write one shard and commit it, with its statistics, its generation and
    which shard it is (``identity``, "K/N": readers check their shard list against it)."""
    xapian = require()
    widen_memo()  # this process ends with its shard
    db = xapian.WritableDatabase(folder, xapian.DB_CREATE_OR_OPEN)
    totals = dict.fromkeys(SCORED, 0)
    try:
        for count, (ordinal, doc) in enumerate(docs, start=1):
            xdoc, lengths = to_xapian(xapian, doc, ordinal)
            for name, length in lengths.items():
                totals[name] += length
            db.replace_document(term(ID_PREFIX, doc.id), xdoc)
            if count % 50 == 0 or count == len(docs):
                with done.get_lock():
                    done.value += 50 if count % 50 == 0 else count % 50
        for name, total in totals.items():
            db.set_metadata(LENGTH_KEY + name, str(total))
        db.set_metadata(GENERATION_KEY, generation)
        if identity:
            db.set_metadata(SHARD_KEY, identity)
        db.commit()
    finally:
        db.close()


def _write_shards(
    building: Path, docs: list[Document], shards: int, generation: str, progress: Callable[[int], None] | None
) -> None:
    """One process per shard; a failed or killed process is reported by name, nothing switched."""
    register_die_with_parent()
    routed: list[list[tuple[int, Document]]] = [[] for _ in range(shards)]
    for ordinal, doc in enumerate(docs):
        routed[shard_of(doc.id, shards)].append((ordinal, doc))
    ctx = mp.get_context("fork")
    done = ctx.Value("q", 0)
    workers = []
    try:
        for k in range(shards):
            folder = str(building / f"{SHARD_PREFIX}{k}")
            args = (folder, routed[k], generation, done, shard_identity(k, shards))
            worker = ctx.Process(target=_shard_process, args=args, name=f"shard-{k}")
            worker.start()
            workers.append(worker)
        reported = 0
        while any(w.is_alive() for w in workers):
            time.sleep(0.2)
            if progress is not None and done.value > reported:
                progress(done.value - reported)
                reported = done.value
        for k, worker in enumerate(workers):
            worker.join()
            if worker.exitcode != 0:
                raise IndexProblem(f"the process writing shard {k} failed (exit code {worker.exitcode}); nothing was changed")
        if progress is not None and done.value > reported:
            progress(done.value - reported)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join()


def _shard_process(folder: str, docs: list[tuple[int, Document]], generation: str, done: Any, identity: str) -> None:
    try:
        _write_shard(folder, docs, generation, done, identity)
    except BaseException as exc:  # the parent reports the exit code; the reason goes to stderr
        print(f"writing {folder} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        os._exit(1)
    os._exit(0)


def _vocabulary(xapian: Any, folders: list[Path], path: Path, spellings: dict[str, str]) -> str:
    """Write the spelling vocabulary of the exact body field (all shards), with each word's most
    used written form (``spellings``), and return its text."""
    counts: dict[str, int] = {}
    prefix = PREFIX["body_exact"]
    documents = 0
    for folder in folders:
        db = xapian.Database(str(folder))
        documents += db.get_doccount()
        for item in db.allterms(prefix):
            word = item.term.decode("utf-8", "replace")[len(prefix) :]
            counts[word] = counts.get(word, 0) + item.termfreq
        db.close()
    write_vocabulary(counts, documents, path, spellings)
    return path.read_text(encoding="utf-8")


def _publish(xapian: Any, shard0: Path, vocabulary: str) -> None:
    """Store the vocabulary in shard 0, for readers that only reach the shard servers."""
    db = xapian.WritableDatabase(str(shard0), xapian.DB_OPEN)
    try:
        db.set_metadata(VOCABULARY_KEY, vocabulary)
        db.set_metadata(UPDATED_KEY, datetime.now(UTC).isoformat(timespec="seconds"))
        db.commit()
    finally:
        db.close()


def _switch_stub(root: Path, shard: int, live: Path) -> None:
    """Point one shard's stub file at the new generation with one atomic rename."""
    path = stub_path(root, shard)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f"auto {live.name}/{SHARD_PREFIX}{shard}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def build(
    root: Path,
    load: LoadResult,
    sources: list[str],
    shards: int = 2,
    progress: Callable[[int], None] | None = None,
    wait: bool = False,
) -> BuildReport:
    """Build ``shards`` shards of a new generation in parallel and switch to it."""
    xapian = require()
    started = time.perf_counter()
    report = BuildReport()
    docs = prepare(load, report, required=True)
    with writing(root), writer_lock(root, wait=wait):
        clean_abandoned(root)
        register_die_with_parent()  # the fingerprinting processes die with this one
        written: Counter[str] = Counter()  # the bodies' written words: their spellings, counted while grouping
        before = live_keys(root, report)
        found = grouping.assign(docs, min(shards, os.cpu_count() or 1), written=written, before=before)
        del before
        spellings = spellings_from_counts(written)
        del written
        report.groups, report.grouped = found.groups, found.grouped
        name = stamp()
        building = root / (BUILD_PREFIX + name)
        building.mkdir(parents=True)
        live = root / (GENERATION_PREFIX + name)
        try:
            _write_shards(building, docs, shards, live.name, progress)
            grouping.save_boilerplate(building / grouping.BOILERPLATE_FILE, found.boilerplate)
            folders = [building / f"{SHARD_PREFIX}{k}" for k in range(shards)]
            vocabulary = _vocabulary(xapian, folders, building / VOCABULARY_FILE, spellings)
            _publish(xapian, folders[0], vocabulary)
            report.indexed = len(docs)
            meta = {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "documents": report.indexed,
                "sources": storable_sources(sources),
                "version": __version__,
                "backend": "xapian",
                "shards": shards,
            }
            (building / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            fsync_dir(building)
            os.rename(building, live)
            for k in range(shards):
                _switch_stub(root, k, live)
            for stale in shard_stubs(root)[shards:]:  # a rebuild with fewer shards
                stale.unlink()
            switch_current(root, live)
        except BaseException:
            import shutil

            shutil.rmtree(building, ignore_errors=True)
            raise
        retire_old(root, live)
    report.generation = live.name
    report.size_bytes = folder_size(live)
    report.seconds = time.perf_counter() - started
    return report


def _live_shards(root: Path) -> tuple[Path, list[Path]]:
    gen = current_generation(root)
    if gen is None:
        raise IndexMissing(f"no index at {root}: build one with `baheth reindex --backend xapian`")
    folders = sorted(
        (p for p in gen.glob(f"{SHARD_PREFIX}*") if p.is_dir()), key=lambda p: int(p.name[len(SHARD_PREFIX) :])
    )
    if not folders:
        raise IndexProblem(f"{gen} holds no Xapian shard: rebuild it with `baheth reindex --backend xapian`")
    return gen, folders


def _change(
    root: Path, report: BuildReport, apply: Callable[[Any, list[Any]], None], added: list[Document] | None = None
) -> None:
    """Open every shard of the live generation for writing, apply, then commit each and refresh the vocabulary
    (its written forms: the previous ones, and the ``added`` documents' for new words)."""
    xapian = require()
    gen, folders = _live_shards(root)
    dbs = [xapian.WritableDatabase(str(folder), xapian.DB_OPEN) for folder in folders]
    try:
        apply(xapian, dbs)
        for db in dbs:
            db.commit()
    finally:
        for db in dbs:
            db.close()
    with after_commit(root):
        path = gen / VOCABULARY_FILE
        spellings = spellings_after_change(read_vocabulary(path), (doc.body for doc in added or ()))
        vocabulary = _vocabulary(xapian, folders, path, spellings)
        _publish(xapian, folders[0], vocabulary)
        meta = read_meta(gen)
        meta["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_text_atomically(gen / META_FILE, json.dumps(meta, ensure_ascii=False))
    report.generation = gen.name
    report.size_bytes = folder_size(gen)


def _adjust_lengths(db: Any, data: bytes, sign: int) -> None:
    lengths = json.loads(data).get("len", {})
    for name in SCORED:
        key = LENGTH_KEY + name
        current = int(db.get_metadata(key) or b"0")
        db.set_metadata(key, str(max(0, current + sign * int(lengths.get(name, 0)))))


def _existing(db: Any, doc_id: str) -> Any | None:
    for posting in db.postlist(term(ID_PREFIX, doc_id)):
        return db.get_document(posting.docid)
    return None


CANDIDATES = 10  # indexed articles compared with each added one
KEY_TERMS = 12  # the added article's most telling words, to find them
KEY_PARTS = 4  # the stretches of its text they are drawn from, an equal share each


class _IndexedGroups:
    """The story groups of the shards, as an add or a delete reads them before writing (grouping.Groups)."""

    def __init__(self, xapian: Any, dbs: list[Any]) -> None:
        self.xapian = xapian
        self.dbs = dbs
        self.db = xapian.Database()
        for shard in dbs:
            self.db.add_database(shard)

    def candidates(self, doc: Document) -> Iterator[tuple[Document, str]]:
        """The indexed articles most like a document, with their group keys: those holding its most
        telling body stems (tf-idf, among the stems the index holds), KEY_TERMS in all, an equal share
        from each of KEY_PARTS stretches of the text (its stems in the order met). Drawn from the whole
        text, so that an article that copies two others (one its first half, the other its second) finds
        both, and their groups are merged (grouping.assign_added): by tf-idf alone, the terms all came
        from the half whose copies the index holds fewer of. Ties go by a hash of the word."""
        frequencies, _positions, _lengths = analysed(doc)
        db = self.db
        documents = db.get_doccount() + 1
        scored = []
        for word, n in frequencies["body"].items():  # in the order met
            held = db.get_termfreq(term(PREFIX["body"], word))
            if held:
                scored.append((-n * math.log(documents / held), zlib.crc32(word.encode("utf-8", "replace")), word))
        step = -(-len(scored) // KEY_PARTS)
        words = [word for start in range(0, len(scored), step or 1)
                 for _score, _hash, word in heapq.nsmallest(KEY_TERMS // KEY_PARTS, scored[start : start + step])]
        if not words:
            return
        query = self.xapian.Query(self.xapian.Query.OP_OR, [term(PREFIX["body"], w) for w in words])
        for stored in self._found(query, CANDIDATES):
            yield stored_document(stored), str(stored.get("group") or "")

    def _found(self, query: Any, limit: int) -> Iterator[dict[str, Any]]:
        enquire = self.xapian.Enquire(self.db)
        enquire.set_query(query)
        for match in enquire.get_mset(0, limit):
            yield json.loads(match.document.get_data())

    def holders(self, key: str) -> list[str]:
        """The ids of (a few) indexed articles in a story group, over every shard."""
        query = self.xapian.Query(term(PREFIX["group"], key))
        return [str(stored.get("id")) for stored in self._found(query, CANDIDATES)]

    def size(self, key: str) -> int:
        return int(self.db.get_termfreq(term(PREFIX["group"], key)))

    def members(self, key: str) -> list[Document]:
        query = self.xapian.Query(term(PREFIX["group"], key))
        return [stored_document(stored) for stored in self._found(query, grouping.MAX_GROUP + 1)]

    def stored(self, doc_id: str) -> Document | None:
        old = _existing(self.dbs[shard_of(doc_id, len(self.dbs))], doc_id)
        return stored_document(json.loads(old.get_data())) if old is not None else None


def _rekey(xapian: Any, dbs: list[Any], doc: Document) -> None:
    """Give an indexed article its new story-group key (``doc.group``) in place: its group term, value
    and stored data; its text, statistics and input ordinal are kept."""
    db = dbs[shard_of(doc.id, len(dbs))]
    for docid in [posting.docid for posting in db.postlist(term(ID_PREFIX, doc.id))]:
        xdoc = db.get_document(docid)
        old = str(json.loads(xdoc.get_data()).get("group") or "")
        if old:
            try:
                xdoc.remove_term(term(PREFIX["group"], old))
            except xapian.InvalidArgumentError:  # an index built before groups has no such term
                pass
        xdoc.add_boolean_term(term(PREFIX["group"], group_key(doc)))
        xdoc.add_value(GROUP_SLOT, group_key(doc).encode("ascii", "replace"))
        xdoc.set_data(document_data(doc))
        db.replace_document(docid, xdoc)


def live_keys(root: Path, report: BuildReport) -> dict[str, str]:
    """Each article of the live shards -> its story-group key, for a reindex to keep the keys of the
    groups it finds again (grouping.keep_keys); empty when there is no live index or it cannot be
    read (then the keys are the founders', and a damaged index is a warning of the ``report``)."""
    xapian = require()
    found: dict[str, str] = {}
    try:
        _gen, folders = _live_shards(root)
        group_prefix, id_prefix = PREFIX["group"].encode(), ID_PREFIX.encode()
        for folder in folders:
            db = xapian.Database(str(folder))
            try:
                groups = {p.docid: item.term[len(group_prefix) :].decode("utf-8", "replace")
                          for item in db.allterms(group_prefix) for p in db.postlist(item.term)}
                for item in db.allterms(id_prefix):
                    doc_id = item.term[len(id_prefix) :].decode("utf-8", "replace")  # as ``term`` wrote it
                    for posting in db.postlist(item.term):
                        found[doc_id] = groups.get(posting.docid, "")
            finally:
                db.close()
    except IndexMissing:
        return {}
    except (IndexProblem, xapian.Error, OSError) as exc:
        report.warnings.append(Problem(str(root), "story-group keys of the live index unread",
                                       f"{type(exc).__name__}: {exc}; groups take their founders' keys"))
        return {}
    return found


def add(root: Path, load: LoadResult, progress: Callable[[int], None] | None = None, wait: bool = False) -> BuildReport:
    """Add documents to their shards; a document whose id exists replaces it. The indexed articles whose
    story group changes (groups merged or split: grouping.assign_added) take their new key in place."""
    started = time.perf_counter()
    report = BuildReport()
    docs = prepare(load, report)

    def apply(xapian: Any, dbs: list[Any]) -> None:
        kept = grouping.load_boilerplate(_live_shards(root)[0] / grouping.BOILERPLATE_FILE)
        indexed = _IndexedGroups(xapian, dbs)
        added = grouping.assign_added(docs, indexed.candidates, indexed.holders, kept, indexed)
        report.grouped = added.grouped
        for n, doc in enumerate(docs):
            db = dbs[shard_of(doc.id, len(dbs))]
            old = _existing(db, doc.id)
            if old is not None:
                report.replaced += 1
                _adjust_lengths(db, old.get_data(), -1)
            xdoc, _ = to_xapian(xapian, doc, ordinal=1_000_000_000 + int(time.time()) + n)
            _adjust_lengths(db, xdoc.get_data(), +1)
            db.replace_document(term(ID_PREFIX, doc.id), xdoc)
            if progress:
                progress(1)
        for doc in added.rekeyed:
            _rekey(xapian, dbs, doc)
        report.indexed = len(docs)

    with writing(root), writer_lock(root, wait=wait, existing="`baheth reindex --backend xapian`"):
        _change(root, report, apply, docs)
    report.seconds = time.perf_counter() - started
    return report


def delete(root: Path, ids: list[str], wait: bool = False) -> BuildReport:
    """Delete documents by id from their shards; the story groups they leave are regrouped without them
    (grouping.regroup_deleted), the articles whose key changes taking it in place."""
    started = time.perf_counter()
    report = BuildReport()

    def apply(xapian: Any, dbs: list[Any]) -> None:
        indexed = _IndexedGroups(xapian, dbs)
        kept = grouping.load_boilerplate(_live_shards(root)[0] / grouping.BOILERPLATE_FILE)
        rekeyed = grouping.regroup_deleted(ids, indexed, indexed.holders, kept)
        for doc_id in dict.fromkeys(ids):  # an id named twice is deleted once, counted once
            db = dbs[shard_of(doc_id, len(dbs))]
            old = _existing(db, doc_id)
            if old is None:
                report.not_found.append(doc_id)
                continue
            _adjust_lengths(db, old.get_data(), -1)
            db.delete_document(term(ID_PREFIX, doc_id))
            report.deleted += 1
        for doc in rekeyed:
            _rekey(xapian, dbs, doc)

    with writing(root), writer_lock(root, wait=wait, existing="`baheth reindex --backend xapian`"):
        _change(root, report, apply)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class XapianWriter:
    """Builds and changes the Xapian shards under ``root``."""

    root: Path
    shards: int = 2

    def build(
        self, load: LoadResult, sources: list[str], progress: Callable[[int], None] | None = None, wait: bool = False
    ) -> BuildReport:
        return build(self.root, load, sources, self.shards, progress, wait)

    def add(
        self, load: LoadResult, progress: Callable[[int], None] | None = None, wait: bool = False
    ) -> BuildReport:
        return add(self.root, load, progress, wait)

    def delete(self, ids: list[str], wait: bool = False) -> BuildReport:
        return delete(self.root, ids, wait)
