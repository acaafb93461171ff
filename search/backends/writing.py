"""What every backend's writer shares: the writer lock, generation folders, atomic switches.

The layout is in :mod:`search.backends.generations`. A writer holds the lock,
builds a new generation in a ``.build-*`` folder, renames it to ``gen-*``, and
points ``CURRENT`` at it with one atomic rename; a crash or Ctrl-C leaves the
old one live. Replaced generations stay readable for RETIRE_AFTER seconds.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import pickle
import shutil
import signal
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from search.backends.generations import BUILD_PREFIX, CURRENT_FILE, GENERATION_PREFIX, LOCK_FILE
from search.errors import IndexBusy, IndexMissing, IndexProblem

KEEP_GENERATIONS = 2
RETIRE_AFTER = 60.0  # seconds a replaced generation stays readable


@contextmanager
def writer_lock(root: Path, wait: bool = False, existing: str = "") -> Iterator[None]:
    """Hold the index's writer lock; refuse (or wait) when another writer has it. With ``existing``
    (add, delete: how to build one), there must be an index at ``root`` already: a mistyped
    path is refused before anything is created there."""
    if existing and not (root / CURRENT_FILE).exists():
        raise IndexMissing(f"no index at {root}: build one with {existing}")
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
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.lockf(handle, fcntl.LOCK_UN)


# --- Building ----------------------------------------------------------------


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"


def clean_abandoned(root: Path) -> list[str]:
    """Remove build folders left by a crashed writer (call with the lock held)."""
    removed = []
    for path in root.glob(BUILD_PREFIX + "*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def retire_old(root: Path, live: Path) -> None:
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
    """In a forked indexing process: be killed when the writer that forked it dies.

    The parent waits on its children; if the parent is killed with -9 they
    would otherwise go on (holding hundreds of MB) with nobody to collect them.
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


def register_die_with_parent() -> None:
    global _registered
    if not _registered:
        os.register_at_fork(after_in_child=_die_with_parent)
        _registered = True


# What reading a damaged index file raises (a file cut short, bytes overwritten): a length field
# overwritten asks for exabytes (MemoryError), a string field for bytes that are not text.
DAMAGED = (EOFError, struct.error, zlib.error, pickle.UnpicklingError, UnicodeDecodeError, IndexError, MemoryError,
           OverflowError)


def _failure(exc: OSError) -> str:
    """A filesystem error in words: what happened, and to which file."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"{exc.strerror or exc}{where}"


@contextmanager
def writing(root: Path) -> Iterator[None]:
    """A filesystem error while writing (read-only folder, disk full, another owner) is a
    message, not a traceback; the build folder is removed and the live index stays."""
    try:
        yield
    except OSError as exc:
        raise IndexProblem(
            f"cannot write the index at {root}: {_failure(exc)}; the live index is unchanged",
            public="the search index could not be written",
        ) from exc
    except DAMAGED as exc:  # a truncated or overwritten file of the live index, read by add or delete
        raise IndexProblem(
            f"the index at {root} could not be read ({type(exc).__name__}: {exc}); it may be damaged: "
            "rebuild it with `baheth reindex`",
            public="the search index could not be read; it may be damaged and needs to be rebuilt",
        ) from exc


@contextmanager
def after_commit(root: Path) -> Iterator[None]:
    """What follows a committed add or delete (the spelling vocabulary, the metadata): a filesystem
    error there is reported as such. The change is in and searches see it; only those files lag."""
    try:
        yield
    except OSError as exc:
        raise IndexProblem(
            f"the change was written to the index at {root} and searches see it, but its spelling "
            f"vocabulary and metadata could not be updated: {_failure(exc)}; they are updated by the next "
            "add, delete or reindex",
            public="the search index was changed, but its metadata could not be updated",
        ) from exc


def write_text_atomically(path: Path, text: str) -> None:
    """Replace a small file in one rename: a reader sees the old text or the new, never half; a
    failed write leaves the old file and no temporary one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fsync_dir(path: Path) -> None:
    for file in path.iterdir():
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def switch_current(root: Path, live: Path) -> None:
    """Point CURRENT at the new generation with one atomic rename."""
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(live.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / CURRENT_FILE)
    fsync_dir_only(root)


def fsync_dir_only(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
