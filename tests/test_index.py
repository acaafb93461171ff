"""Building and updating the index on disk: atomic switch, locks, add, delete."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, SEED_ID, SEEDS
from search import index as index_module
from search.documents import Document, LoadResult, load_sources
from search.index import (
    CURRENT_FILE,
    IndexBusy,
    IndexMissing,
    IndexProblem,
    add,
    build,
    current_generation,
    delete,
    open_index,
    writer_lock,
)
from search.searching import Engine


def docs(*pairs: tuple[str, str]) -> LoadResult:
    return LoadResult(documents=[Document(id=i, title=t, body=t) for i, t in pairs])


def count(root: Path) -> int:
    ix, _ = open_index(root)
    return ix.doc_count()


def test_build_switches_atomically_and_keeps_one_previous_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "RETIRE_AFTER", 0.0)
    gens = []
    for n in range(4):
        report = build(tmp_path, docs(*[(f"d{i}", f"خبر رقم {i}") for i in range(n + 1)]), ["test"])
        gens.append(report.generation)
        assert report.indexed == n + 1
        assert (tmp_path / CURRENT_FILE).read_text().strip() == report.generation
        assert count(tmp_path) == n + 1
    on_disk = sorted(p.name for p in tmp_path.glob("gen-*"))
    assert on_disk == sorted(gens[-2:])  # the live one and the one before it
    assert not list(tmp_path.glob(".build-*"))


def test_a_generation_replaced_moments_ago_stays_readable(tmp_path: Path) -> None:
    for n in range(4):
        build(tmp_path, docs((f"d{n}", "خبر")), ["test"])
    assert len(list(tmp_path.glob("gen-*"))) == 4  # all replaced within the last minute


def test_repeated_id_replaces_and_is_counted(tmp_path: Path) -> None:
    report = build(tmp_path, docs(("a", "الأول"), ("b", "الثاني"), ("a", "الأول المعدل")), ["test"])
    assert (report.indexed, report.replaced) == (2, 1)
    ix, _ = open_index(tmp_path)
    with ix.searcher() as s:
        assert s.document(id="a")["title"] == "الأول المعدل"


def test_failed_build_leaves_the_old_index_live(tmp_path: Path) -> None:
    build(tmp_path, docs(("old", "قديم")), ["test"])
    live = current_generation(tmp_path)

    def explode(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, docs(("new1", "جديد"), ("new2", "جديد")), ["test"], progress=explode)
    assert current_generation(tmp_path) == live
    assert count(tmp_path) == 1
    assert not list(tmp_path.glob(".build-*"))


def test_abandoned_build_folders_are_cleaned(tmp_path: Path) -> None:
    build(tmp_path, docs(("a", "خبر")), ["test"])
    (tmp_path / ".build-20200101T000000-99999").mkdir()
    (tmp_path / ".build-20200101T000000-99999" / "half.seg").write_bytes(b"x" * 100)
    build(tmp_path, docs(("a", "خبر")), ["test"])
    assert not list(tmp_path.glob(".build-*"))


def test_second_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    build(tmp_path, docs(("a", "خبر")), ["test"])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexBusy, match=f"another writer \\(pid {holder.pid} since"):
            build(tmp_path, docs(("b", "خبر")), ["test"])
        with pytest.raises(IndexBusy):
            add(tmp_path, docs(("c", "خبر")))
        with pytest.raises(IndexBusy):
            delete(tmp_path, ["a"])
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    # The holder died without unlocking: the lock is free again at once.
    assert build(tmp_path, docs(("b", "خبر")), ["test"]).indexed == 1


def test_one_process_cannot_hold_two_writers(tmp_path: Path) -> None:
    with writer_lock(tmp_path):
        with pytest.raises(IndexBusy, match="this process"):
            build(tmp_path, docs(("b", "خبر")), ["test"])


HOLD_LOCK = """
import sys, time
from pathlib import Path
from search.index import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_add_and_delete(fresh_index: Path) -> None:
    before = count(fresh_index)
    report = add(fresh_index, docs(("new-1", "خبر جديد عن المريخ"), ("FX-tech-1", "نسخة معدلة")))
    assert (report.indexed, report.replaced) == (2, 1)
    assert count(fresh_index) == before + 1
    report = delete(fresh_index, ["new-1", "no-such-id"])
    assert report.deleted == 1 and report.not_found == ["no-such-id"]
    assert count(fresh_index) == before


def test_missing_and_damaged_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="baheth reindex"):
        open_index(tmp_path)
    (tmp_path / CURRENT_FILE).write_text("../../etc\n")
    with pytest.raises(IndexProblem, match="damaged"):
        open_index(tmp_path)
    (tmp_path / CURRENT_FILE).write_text("gen-nothing-here\n")
    (tmp_path / "gen-nothing-here").mkdir()
    with pytest.raises(IndexProblem, match="rebuild"):
        open_index(tmp_path)


def test_a_reader_during_a_reindex_sees_old_or_new_never_half(tmp_path: Path) -> None:
    small = load_sources([SEEDS])
    big = load_sources([SEEDS, FIXTURES / "news.sgml", FIXTURES / "extra.jsonl"])
    build(tmp_path, small, ["seeds"])
    engine = Engine(tmp_path)
    seen: set[int] = set()
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                result = engine.search("الانترنت OR وزارة", facets=False, suggest=False)
                seen.add(engine.searcher().doc_count())
                assert SEED_ID in [h.id for h in result.hits]
            except BaseException as exc:  # noqa: BLE001 - the test reports any failure
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(5):
        build(tmp_path, big, ["all"])
        build(tmp_path, small, ["seeds"])
    build(tmp_path, big, ["all"])
    done.set()
    thread.join()
    assert not errors, errors
    assert seen <= {1, len(big.documents)}
    assert engine.searcher().doc_count() == len(big.documents)
