"""The index on disk: its schema, building it, updating it. The only code that writes.

Layout of an index folder::

    index_data/
      CURRENT          the name of the live generation (replaced atomically)
      gen-<stamp>/     a complete Whoosh index, plus baheth.json (what was built)
      .build-<stamp>/  a generation being built; abandoned ones are removed
      .lock            held by the one writer at a time

A reindex builds a new generation in a ``.build-*`` folder and, only when it
is complete, renames it to ``gen-*`` and replaces ``CURRENT``. Whoever opens
the index at any moment reads ``CURRENT`` and gets the old or the new
generation, never a half-built one; a crash or Ctrl-C leaves the old one live.
The previous generation, and any replaced less than a minute ago, are kept for
readers that opened them a moment ago.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.index import Index

from search import __version__
from search.analysis import exact_analyzer, stem_analyzer
from search.documents import Document, LoadResult, Problem
from search.spelling import VOCABULARY_FILE, write_vocabulary

CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
META_FILE = "baheth.json"
GENERATION_PREFIX = "gen-"
BUILD_PREFIX = ".build-"
KEEP_GENERATIONS = 2
RETIRE_AFTER = 60.0  # seconds a replaced generation stays readable


class IndexProblem(Exception):
    """A problem with the index a user can act on (missing, damaged, locked)."""


class IndexMissing(IndexProblem):
    pass


class IndexBusy(IndexProblem):
    pass


def make_schema() -> Schema:
    """Stemmed fields for recall, exact (normalised, unstemmed) fields for precision and phrases."""
    stem = stem_analyzer()
    exact = exact_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=stem, stored=True, phrase=False),
        body=TEXT(analyzer=stem, stored=True, phrase=False),
        title_exact=TEXT(analyzer=exact, phrase=True),
        body_exact=TEXT(analyzer=exact, phrase=True),
        url=STORED,
        source=ID(stored=True, sortable=True),
        category=ID(stored=True, sortable=True),
        author=STORED,
        date=DATETIME(sortable=True),
        date_iso=STORED,
    )


def to_fields(doc: Document) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "title_exact": doc.title,
        "body_exact": doc.body,
        "url": doc.url,
        "source": doc.source,
        "category": doc.category,
        "author": doc.author,
        "date_iso": doc.date.isoformat() if doc.date else "",
    }
    if doc.date is not None:
        fields["date"] = doc.date.astimezone(timezone.utc).replace(tzinfo=None)
    return fields


# --- Locations ---------------------------------------------------------------


def current_generation(root: Path) -> Path | None:
    """The live generation's folder, or None when no index was ever built."""
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not name.startswith(GENERATION_PREFIX) or "/" in name:
        raise IndexProblem(f"{root / CURRENT_FILE} is damaged: it names {name!r}")
    return root / name


def open_index(root: Path) -> tuple[Index, Path]:
    """Open the live generation. The one function that opens an index for reading."""
    for _attempt in range(3):
        gen = current_generation(root)
        if gen is None:
            raise IndexMissing(f"no index at {root}: build one with `baheth reindex`")
        try:
            return whoosh_index.open_dir(str(gen)), gen
        except (FileNotFoundError, whoosh_index.EmptyIndexError):
            # CURRENT moved on while we opened the old generation; read it again.
            time.sleep(0.05)
        except Exception as exc:  # Whoosh raises many kinds on a damaged folder
            raise IndexProblem(f"the index at {gen} is damaged ({exc}): rebuild it with `baheth reindex`") from exc
    raise IndexProblem(f"the index at {root} could not be opened: rebuild it with `baheth reindex`")


def read_meta(gen: Path) -> dict[str, object]:
    try:
        return json.loads((gen / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextmanager
def writer_lock(root: Path, wait: bool = False) -> Iterator[None]:
    """Hold the index's writer lock; refuse (or wait) when another writer has it."""
    root.mkdir(parents=True, exist_ok=True)
    key = str(root.resolve())
    with _HELD_LOCK:
        if key in _HELD:
            # POSIX locks do not exclude threads of one process: refuse here.
            raise IndexBusy(f"this process is already changing the index at {root}")
        _HELD.add(key)
    try:
        with _locked_file(root, wait):
            yield
    finally:
        with _HELD_LOCK:
            _HELD.discard(key)


_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()


@contextmanager
def _locked_file(root: Path, wait: bool) -> Iterator[None]:
    with open(root / LOCK_FILE, "a+") as handle:
        try:
            # A POSIX record lock belongs to this process alone: the analysing
            # processes a reindex forks do not inherit it, so a writer killed
            # with -9 releases it at once even if its children linger.
            fcntl.lockf(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise IndexBusy(
                    f"another writer ({holder}) is changing the index at {root}; "
                    "wait for it to finish, or pass --wait"
                ) from exc
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.lockf(handle, fcntl.LOCK_UN)


# --- Building ----------------------------------------------------------------


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
    """Keep the last document of each id; count the replaced ones."""
    by_id: dict[str, Document] = {}
    for doc in load.documents:
        if doc.id in by_id:
            report.replaced += 1
            del by_id[doc.id]  # keep the order of the latest occurrence
        by_id[doc.id] = doc
    return list(by_id.values())


def _account(load: LoadResult, report: BuildReport) -> None:
    report.read = load.read
    report.problems = list(load.problems)
    report.warnings = list(load.warnings)
    for problem in load.problems:
        report.skipped[problem.reason] = report.skipped.get(problem.reason, 0) + 1


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"


def clean_abandoned(root: Path) -> list[str]:
    """Remove build folders left by a crashed writer (call with the lock held)."""
    removed = []
    for path in root.glob(BUILD_PREFIX + "*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def _retire_old(root: Path, live: Path) -> None:
    """Remove old generations, but none replaced less than RETIRE_AFTER seconds ago:
    a server may still be answering a request from it (reindexes can follow each
    other within seconds)."""
    gens = sorted(p for p in root.glob(GENERATION_PREFIX + "*") if p.is_dir())
    keep = {live.name, *[p.name for p in gens[-KEEP_GENERATIONS:]]}
    now = time.time()
    for gen, successor in zip(gens, gens[1:]):
        replaced_seconds_ago = now - successor.stat().st_mtime
        if gen.name not in keep and replaced_seconds_ago > RETIRE_AFTER:
            shutil.rmtree(gen, ignore_errors=True)


def _die_with_parent() -> None:
    """In a forked analysing process: be killed when the writer that forked it dies.

    Whoosh's MpWriter workers wait on a queue from their parent; if the parent
    is killed with -9 they would wait (holding hundreds of MB) forever.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass  # not Linux: nothing to set


PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_registered = False


def _register_die_with_parent() -> None:
    global _registered
    if not _registered:
        os.register_at_fork(after_in_child=_die_with_parent)
        _registered = True


def _write_docs(
    ix: Index, docs: list[Document], procs: int, progress: Callable[[int], None] | None, update: bool = False
) -> None:
    if procs > 1 and not update and len(docs) >= 2000:
        _register_die_with_parent()
        writer = ix.writer(procs=procs, multisegment=True, limitmb=256)
    else:
        writer = ix.writer(limitmb=256)
    try:
        for doc in docs:
            if update:
                writer.update_document(**to_fields(doc))
            else:
                writer.add_document(**to_fields(doc))
            if progress:
                progress(1)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def build(
    root: Path,
    load: LoadResult,
    sources: list[str],
    procs: int = 1,
    progress: Callable[[int], None] | None = None,
    wait: bool = False,
) -> BuildReport:
    """Build a new generation from loaded documents and make it live atomically."""
    started = time.perf_counter()
    report = BuildReport()
    _account(load, report)
    docs = _dedupe(load, report)
    with writer_lock(root, wait=wait):
        clean_abandoned(root)
        stamp = _stamp()
        building = root / (BUILD_PREFIX + stamp)
        building.mkdir(parents=True)
        try:
            ix = whoosh_index.create_in(str(building), make_schema())
            _write_docs(ix, docs, procs, progress)
            report.indexed = ix.doc_count()
            with ix.reader() as reader:
                write_vocabulary(reader, building / VOCABULARY_FILE)
            meta = {
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "documents": report.indexed,
                "sources": sources,
                "version": __version__,
            }
            (building / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            _fsync_dir(building)
            live = root / (GENERATION_PREFIX + stamp)
            os.rename(building, live)
            _switch(root, live)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _retire_old(root, live)
    report.generation = live.name
    report.size_bytes = _folder_size(live)
    report.seconds = time.perf_counter() - started
    return report


def _fsync_dir(path: Path) -> None:
    for file in path.iterdir():
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _switch(root: Path, live: Path) -> None:
    """Point CURRENT at the new generation with one atomic rename."""
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(live.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / CURRENT_FILE)
    _fsync_dir_only(root)


def _fsync_dir_only(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _touch_meta(gen: Path, ix: Index) -> None:
    meta = read_meta(gen)
    meta["documents"] = ix.doc_count()
    meta["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (gen / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def add(root: Path, load: LoadResult, progress: Callable[[int], None] | None = None, wait: bool = False) -> BuildReport:
    """Add documents to the live index; a document whose id exists replaces it."""
    started = time.perf_counter()
    report = BuildReport()
    _account(load, report)
    docs = _dedupe(load, report)
    with writer_lock(root, wait=wait):
        ix, gen = open_index(root)
        with ix.searcher() as searcher:
            report.replaced += sum(1 for doc in docs if searcher.document_number(id=doc.id) is not None)
        _write_docs(ix, docs, 1, progress, update=True)
        report.indexed = len(docs)
        _touch_meta(gen, ix)
    report.generation = gen.name
    report.size_bytes = _folder_size(gen)
    report.seconds = time.perf_counter() - started
    return report


def delete(root: Path, ids: list[str], wait: bool = False) -> BuildReport:
    """Delete documents by id from the live index."""
    started = time.perf_counter()
    report = BuildReport()
    with writer_lock(root, wait=wait):
        ix, gen = open_index(root)
        writer = ix.writer()
        try:
            for doc_id in ids:
                if writer.delete_by_term("id", doc_id):
                    report.deleted += 1
                else:
                    report.not_found.append(doc_id)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        _touch_meta(gen, ix)
    report.generation = gen.name
    report.size_bytes = _folder_size(gen)
    report.seconds = time.perf_counter() - started
    return report
