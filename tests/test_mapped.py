"""Whoosh segments read through one shared map per process: no copies, released with their generation."""

from __future__ import annotations

import io
import os
import shutil
import threading
from pathlib import Path

import pytest

from search.backends.whoosh import mapped
from search.backends.whoosh.backend import WhooshBackend
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.store import build
from search.engine import Engine
from search.ingest import load_sources
from tests.conftest import FIXTURES, SEEDS

DATA = b"first line\nsecond\n\nno newline at the end"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([("read", -1)], [DATA]),
        ([("read", 5), ("read", 6)], [b"first", b" line\n"]),
        ([("read", None)], [DATA]),
        ([("read", 0)], [b""]),
        ([("seek", 6), ("read", 4)], [6, b"line"]),
        ([("seek", -3, os.SEEK_END), ("read", 10)], [len(DATA) - 3, b"end"]),
        ([("read", 5), ("seek", 1, os.SEEK_CUR), ("tell",)], [b"first", 6, 6]),
        ([("seek", 1000), ("read", 3), ("tell",)], [1000, b"", 1000]),
        ([("read", 2), ("seek", -5, os.SEEK_CUR)], [b"fi", 0]),
        ([("seek", -len(DATA) - 9, os.SEEK_END), ("read", 5)], [0, b"first"]),
        (
            [("readline",), ("readline",), ("readline",), ("readline",), ("readline",)],
            [b"first line\n", b"second\n", b"\n", b"no newline at the end", b""],
        ),
        ([("readline", 3), ("readline",)], [b"fir", b"st line\n"]),
    ],
)
def test_view_file_reads_like_bytesio(steps: list[tuple], expected: list[object]) -> None:
    """Every answer equals what io.BytesIO gives for the same calls."""
    view, reference = mapped.ViewFile(memoryview(DATA)), io.BytesIO(DATA)
    got, want = [], []
    for name, *args in steps:
        got.append(getattr(view, name)(*args))
        want.append(getattr(reference, name)(*args))
    assert got == want == expected


def test_view_file_refuses_a_negative_position_like_bytesio() -> None:
    for file in (mapped.ViewFile(memoryview(DATA)), io.BytesIO(DATA)):
        with pytest.raises(ValueError, match="negative seek value"):
            file.seek(-5)


def test_view_file_readline_longer_than_one_chunk() -> None:
    data = b"x" * (mapped.READLINE_CHUNK * 3 + 7) + b"\nrest"
    view = mapped.ViewFile(memoryview(data))
    assert view.readline() == data.split(b"\n")[0] + b"\n"
    assert view.read() == b"rest"


def test_view_file_readinto() -> None:
    view = mapped.ViewFile(memoryview(DATA))
    buffer = bytearray(5)
    assert view.readinto(buffer) == 5 and bytes(buffer) == b"first"


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    root = tmp_path / "index"
    build(root, load_sources([SEEDS, FIXTURES / "news.sgml", FIXTURES / "extra.jsonl"]), ["fixtures"])
    return root


def _maps_under(root: Path) -> list[str]:
    with mapped._MAPS_LOCK:
        return [path for path in mapped._MAPS if path.startswith(str(root))]


def test_sub_files_are_views_into_the_shared_map(index: Path) -> None:
    ix, _gen = open_index(index)
    with ix.searcher() as searcher:
        reader = next(iter(searcher.reader().leaf_readers()))[0]
        compound = reader.storage().a
        assert isinstance(compound, mapped.MappedCompound)
        sub = compound.open_file(compound.list()[0])
        assert isinstance(sub.file, mapped.ViewFile)
        assert sub._buf.obj is compound._shared.map  # a view, not a copy
        assert searcher.document_number(id="000_a9563e54c2c4a4f9") is not None
    assert _maps_under(index) == []  # the last reader closed: the map is gone


def test_threads_share_one_map_per_segment(index: Path) -> None:
    backend = WhooshBackend(index)
    snapshots = []

    def search() -> None:
        snapshot = backend.snapshot()
        snapshot.document("000_a9563e54c2c4a4f9")
        snapshots.append(snapshot)

    threads = [threading.Thread(target=search) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    segments = len(list(snapshots[0].reader.leaf_readers()))
    maps = _maps_under(index)
    assert len(maps) == segments, maps  # 7 searchers (6 threads + the ranker's), one map per segment
    with mapped._MAPS_LOCK:
        assert all(mapped._MAPS[path].users >= 7 for path in maps)
    assert mapped.mapped_bytes() >= sum(os.path.getsize(path) for path in maps)


def test_a_reindex_releases_the_old_generations_maps(index: Path) -> None:
    engine = Engine(index)
    assert engine.search("مصر").total > 0
    old = _maps_under(index)
    assert old
    build(index, load_sources([SEEDS]), ["seeds"])
    assert engine.search("مصر").total == 0  # the next search reads the new generation (the seed only)
    new = _maps_under(index)
    assert new and not set(new) & set(old)  # the old state closed with its last snapshot


def test_a_snapshot_in_use_keeps_its_state_open_until_dropped(index: Path) -> None:
    engine = Engine(index)
    held = engine.snapshot()
    old = _maps_under(index)
    build(index, load_sources([SEEDS]), ["seeds"])
    engine.search("مصر")
    assert set(old) <= set(_maps_under(index))  # a request still reading the old state
    assert held.document("000_a9563e54c2c4a4f9") is not None
    del held
    assert not set(old) & set(_maps_under(index))


def test_threads_reuse_pooled_searchers(index: Path) -> None:
    backend = WhooshBackend(index)
    for _ in range(20):
        backend.snapshot().doc_count()  # dropped at once: its searcher goes back to the pool
    state = backend._state
    assert state is not None and state.searchers() == 1


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_a_damaged_compound_file_is_an_error_not_a_leak(index: Path, damage: str) -> None:
    segment = next(index.glob("gen-*/*.seg"))
    size = segment.stat().st_size
    if damage == "truncated":
        os.truncate(segment, size // 3)
    elif damage == "empty":
        os.truncate(segment, 0)
    else:
        segment.write_bytes(b"\x00\x00\x00\x00\x00\x00\x00\x08" + b"garbage" * 50)
    ix, _gen = open_index(index)
    with pytest.raises(Exception):  # noqa: B017 - Whoosh and mmap raise several kinds; the engine names them
        ix.searcher()
    assert str(segment) not in _maps_under(index)


def test_other_storages_keep_whooshs_own_reading(index: Path, tmp_path: Path) -> None:
    from whoosh import index as whoosh_index

    copy = tmp_path / "copy"
    shutil.copytree(next(index.glob("gen-*")), copy)
    ix = whoosh_index.open_dir(str(copy))
    with ix.searcher() as searcher:
        reader = next(iter(searcher.reader().leaf_readers()))[0]
        assert not isinstance(reader.storage().a, mapped.MappedCompound)
    assert _maps_under(copy) == []
