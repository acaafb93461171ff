"""Building and updating the index on disk: atomic switch, locks, add, delete."""

from __future__ import annotations

import multiprocessing
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, SEED_ID, SEEDS
from search.backends import writing
from search.backends.generations import CURRENT_FILE, current_generation
from search.backends.whoosh import store as index_module
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.store import add, build, delete, split_by_size, writer_lock
from search.engine import Engine
from search.errors import IndexBusy, IndexMissing, IndexProblem
from search.ingest import Document, LoadResult, load_sources


def docs(*pairs: tuple[str, str]) -> LoadResult:
    return LoadResult(documents=[Document(id=i, title=t, body=t) for i, t in pairs])


def count(root: Path) -> int:
    ix, _ = open_index(root)
    return ix.doc_count()


def test_build_switches_atomically_and_keeps_one_previous_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "RETIRE_AFTER", 0.0)
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
from search.backends.whoosh.store import writer_lock
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


def test_added_words_can_be_suggested(fresh_index: Path) -> None:
    engine = Engine(fresh_index)
    assert engine.search("الكوانتمية").suggestion is None  # not in the seed index
    add(fresh_index, docs(("quantum-1", "الحوسبة الكوانتمية تتقدم")))
    assert engine.search("الكونتمية").suggestion == "الكوانتمية"  # as the added article writes it


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
                seen.add(engine.snapshot().doc_count())
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
    assert engine.snapshot().doc_count() == len(big.documents)


# -- segments written in parallel ---------------------------------------------------

WORDS = (
    "أعلنت وزارة الخارجية عن زيارة رسمية إلى القاهرة لبحث التعاون الاقتصادي وارتفعت أسعار النفط "
    "في الأسواق العالمية بعد قرار أوبك خفض الإنتاج وفاز المنتخب الوطني على نظيره في مباراة ودية "
    "استعدادا لكأس العالم وأطلقت الشركة هاتفا ذكيا جديدا يعمل بتقنية الذكاء الاصطناعي والمدرسة "
    "والجامعة والطلاب والمعلمون مؤتمر صحفي بالرياض وبيروت ودمشق وتونس ٢٠١٨ انتخابات البرلمان"
).split()


def varied_docs(n: int, seed: int = 3) -> list[Document]:
    rng = random.Random(seed)
    return [
        Document(
            id=f"v{i}",
            title=" ".join(rng.choices(WORDS, k=6)),
            body=" ".join(rng.choices(WORDS, k=rng.randint(5, 120))),
            source=rng.choice(["alpha", "beta"]),
        )
        for i in range(n)
    ]


def index_contents(root: Path) -> tuple[list, dict, dict]:
    """Stored fields in document-number order, every term's postings, and a few queries' scores."""
    ix, _ = open_index(root)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        stored = [reader.stored_fields(n) for n in range(reader.doc_count_all())]
        postings = {
            (field, term): list(reader.postings(field, term).items_as("frequency"))
            for field, term in reader.all_terms()
        }
    engine = Engine(root)
    scores = {
        q: [(h.id, round(h.score, 6)) for h in engine.search(q, per_page=20, facets=False, suggest=False).hits]
        for q in ("النفط", "المنتخب الوطني", '"وزارة الخارجية"', "الجامعه", "2018")
    }
    return stored, postings, scores


@pytest.mark.parametrize("procs, limit_mb", [(2, 256), (3, 0.1)])
def test_segments_written_in_parallel_equal_one_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, procs: int, limit_mb: float
) -> None:
    monkeypatch.setattr(index_module, "PARALLEL_FROM", 10)
    many = varied_docs(400)
    one = build(tmp_path / "one", LoadResult(documents=many), ["test"], procs=1)
    seen: list[int] = []
    par = build(  # memory_mb 0.1: every writer closes a segment and starts another every few documents
        tmp_path / "par", LoadResult(documents=many), ["test"], procs=procs, progress=seen.append, memory_mb=limit_mb
    )
    assert one.indexed == par.indexed == 400
    assert sum(seen) == 400  # progress counted every document once
    ix, _ = open_index(tmp_path / "par")
    assert [s.doc_count() for s in ix._segments()] != [400]  # really more than one segment
    if limit_mb >= 1:
        assert len(ix._segments()) == procs
    else:  # the memory bound held: each process wrote several segments
        assert len(ix._segments()) > 2 * procs
    one_stored, one_postings, one_scores = index_contents(tmp_path / "one")
    par_stored, par_postings, par_scores = index_contents(tmp_path / "par")
    assert par_stored == one_stored  # same documents in the same order: ties rank the same
    assert par_postings == one_postings
    assert par_scores == one_scores and all(par_scores.values())


def test_split_by_size_is_contiguous_and_balanced() -> None:
    many = varied_docs(300)
    for parts in (1, 2, 3, 7):
        ranges = split_by_size(many, parts)
        assert len(ranges) == parts
        assert ranges[0][0] == 0 and ranges[-1][1] == len(many)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        weights = [sum(len(d.title) + len(d.body) + 200 for d in many[a:b]) for a, b in ranges]
        largest_doc = max(len(d.title) + len(d.body) + 200 for d in many)
        assert max(weights) - min(weights) <= 2 * largest_doc
    assert split_by_size(many[:2], 5) == [(0, 1), (1, 2)]
    assert split_by_size([], 2) == []


def _fail_on(doc_id: str, how: str):
    real = index_module.to_fields

    def to_fields(doc: Document) -> dict[str, object]:
        if doc.id == doc_id:
            if how == "raise":
                raise ValueError(f"cannot index {doc.id}")
            os._exit(3)
        return real(doc)

    return to_fields


@pytest.mark.parametrize(
    "how, message", [("raise", "an indexing process failed: ValueError: cannot index v350"), ("exit", "died (exit code 3)")]
)
def test_a_failing_indexing_process_leaves_the_old_index_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, message: str
) -> None:
    build(tmp_path, docs(("old", "قديم")), ["test"])
    live = current_generation(tmp_path)
    monkeypatch.setattr(index_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(index_module, "to_fields", _fail_on("v350", how))
    with pytest.raises(IndexProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(tmp_path, LoadResult(documents=varied_docs(400)), ["test"], procs=2)
    assert current_generation(tmp_path) == live and count(tmp_path) == 1
    assert not list(tmp_path.glob(".build-*"))
    assert not multiprocessing.active_children()


def test_an_interrupted_parallel_build_stops_its_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(tmp_path, docs(("old", "قديم")), ["test"])
    live = current_generation(tmp_path)
    monkeypatch.setattr(index_module, "PARALLEL_FROM", 10)

    def interrupt(_: int) -> None:  # what Ctrl-C does while the processes write
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, LoadResult(documents=varied_docs(3000)), ["test"], procs=2, progress=interrupt)
    assert current_generation(tmp_path) == live and count(tmp_path) == 1
    assert not list(tmp_path.glob(".build-*"))
    assert not multiprocessing.active_children()


def test_a_thread_still_on_the_old_generation_ranks_with_it(tmp_path: Path) -> None:
    """Another thread moving the engine to a new generation must not hand this
    thread a ranker whose document numbers belong to the new one (it raised
    IndexError in a server under a reindex)."""
    build(tmp_path, docs(*[(f"old{i}", f"خبر قديم عن المريخ {i}") for i in range(3)]), ["test"])
    engine = Engine(tmp_path)
    backend = engine.backend
    mine = backend.snapshot()  # this thread, mid-request: the old generation, 3 documents
    build(tmp_path, docs(*[(f"new{i}", f"خبر جديد عن المريخ {i}") for i in range(40)]), ["test"])
    other = threading.Thread(target=backend.snapshot)  # another thread opens the new generation
    other.start()
    other.join()
    assert mine.ranker.searcher.doc_count_all() == mine.searcher.doc_count_all() == 3
    ranked = mine.ranker.rank(engine.parse("المريخ").query, 5.0)
    assert sorted(ranked.ids.tolist()) == [0, 1, 2]
    hits = engine.search("المريخ", facets=False, suggest=False).hits  # this thread catches up
    assert len(hits) == 10 and all(h.id.startswith("new") for h in hits)


def test_rankers_of_two_generations_sharing_a_cache_keep_their_own_postings(tmp_path: Path) -> None:
    """The postings cache is shared by the rankers of consecutive states; a thread still on
    the old one must never get the new one's document numbers (IndexError under a reindex)."""
    from search.backends.whoosh.ranker import Ranker
    from search.cache import ByteLRU

    old_root, new_root = tmp_path / "old", tmp_path / "new"
    build(old_root, docs(*[(f"old{i}", f"خبر قديم عن المريخ {i}") for i in range(3)]), ["test"])
    build(new_root, docs(*[(f"new{i}", f"خبر جديد عن المريخ {i}") for i in range(40)]), ["test"])
    cache: ByteLRU = ByteLRU(1 << 20)
    old_ix, _ = open_index(old_root)
    new_ix, _ = open_index(new_root)
    with old_ix.searcher() as old_searcher, new_ix.searcher() as new_searcher:
        new = Ranker(new_searcher, 0.75, 1.2, cache=cache)
        old = Ranker(old_searcher, 0.75, 1.2, cache=cache)
        assert len(new.postings("body", "مريخ")[0]) == 40
        ids, _ = old.postings("body", "مريخ")
        assert len(ids) == 3 and ids.max() < 3


def test_byte_lru_resize_drops_the_oldest_and_the_now_too_large() -> None:
    from search.cache import ByteLRU

    cache: ByteLRU[str] = ByteLRU(8000)
    for key, size in [("a", 900), ("b", 900), ("c", 500), ("d", 150)]:
        cache.put(key, key, size)
    cache.resize(1600)  # over the bound: a and b go (the oldest); c is now above 1/8 of it
    assert cache.stats() == {"entries": 1, "bytes": 150, "max_bytes": 1600} and cache.get("d") == "d"
    cache.resize(8000)
    cache.put("e", "e", 900)
    assert cache.stats()["bytes"] == 1050


def test_postings_cache_bound_follows_the_index_unless_set(tmp_path: Path) -> None:
    from search.backends.whoosh.backend import AUTO_POSTINGS_BYTES, WhooshBackend, auto_postings_bytes
    from search.backends.whoosh.generations import open_index

    build(tmp_path, docs(*[(f"d{i}", f"خبر عن المريخ {i}") for i in range(5)]), ["test"])
    _ix, generation = open_index(tmp_path)
    size = sum(p.stat().st_size for p in generation.iterdir())
    assert auto_postings_bytes(generation) == max(AUTO_POSTINGS_BYTES[0], min(AUTO_POSTINGS_BYTES[1], size // 4))
    auto = WhooshBackend(tmp_path)
    auto.snapshot()
    assert auto.postings_cache.max_bytes == auto_postings_bytes(generation)
    fixed = WhooshBackend(tmp_path, postings_cache_bytes=3 << 20)
    fixed.snapshot()
    assert fixed.postings_cache.max_bytes == 3 << 20
