"""The fast segment writer writes what Whoosh's own writer writes.

Whoosh's ``SegmentWriter`` is the reference: the same documents written by
both must give the same terms, postings (document numbers, weights, positions),
term statistics, field lengths, columns and stored fields. With Whoosh's own
block encoding switched on (every block compressed, pickle protocol 2, no
shared values) every file of the segment is the same bytes; as shipped only the
encoding of a block differs, never what it says.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from conftest import FIXTURES, SEEDS
from search.backends.whoosh import segment
from search.backends.whoosh import store as store_module
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.schema import make_schema, to_fields
from search.backends.whoosh.segment import FastSegmentWriter
from search.ingest import Document, LoadResult, load_sources
from search.spelling import VOCABULARY_FILE, count_spellings

# Real Arabic with what readers and outlets write: diacritics, hamza forms, tatweel,
# Persian and Maghrebi letters, Arabic-Indic digits, Latin, zero-width and bidi controls.
LINES = [
    "أعلنت وزارة الصحة التونسية اليوم عن تسجيل ١٢ إصابة جديدة بفيروس كورونا",
    "قالَ الرئيسُ إنّ الحكومةَ ستُقدّم مشروعَ القانون إلى البرلمان",
    "ارتفعت أسعار النفــــط في الأسواق العالمية بنسبة 3.5% خلال تعاملات الثلاثاء",
    "الڨصرين: انطلاق موسم جني الزيتون وسط توقعات بصابة قياسية ڤيروس",
    "فيسبوك وFacebook و‌جوجل تتسابق على الذكاء الاصطناعي \u200fGoogle\u200e",
    "مئة ألف مسافر عبر مطار تونس قرطاج في شهر جوان ۲۰۱۹",
    "یک کتاب جدید للكاتب الإيراني عن تاريخ الخليج",
    "سيدي بوزيد والقيروان وصفاقس تشهد أمطارا غزيرة",
    "لا لا لا إلى من عن على في",  # stopwords only: positions still advance
]


def sample_docs(n: int = 160, seed: int = 7) -> list[Document]:
    rng = random.Random(seed)
    base = datetime(2019, 6, 1, tzinfo=UTC)
    found = []
    for i in range(n):
        body = " ".join(rng.choice(LINES) for _ in range(rng.randint(1, 30)))
        found.append(
            Document(
                id=f"s{i:04d}",
                title="" if i % 17 == 0 else rng.choice(LINES),
                body=body,
                source=rng.choice(["alpha", "beta", "gamma"]),
                category=rng.choice(["sport", "economy", ""]),
                author="" if i % 3 else "هيئة التحرير",
                url=f"https://example.org/{i}",
                date=None if i % 11 == 0 else base + timedelta(hours=7 * i),
            )
        )
    # real articles too: the seed and the fixtures
    real = load_sources([SEEDS, FIXTURES / "news.sgml", FIXTURES / "extra.jsonl"]).documents
    return found + real


def write(root: Path, writer_class: type, docs: list[Document]) -> Path:
    root.mkdir()
    ix = whoosh_index.create_in(str(root), make_schema())
    writer = writer_class(ix, compound=False)
    for doc in docs:
        writer.add_document(**to_fields(doc))
    writer.commit()
    return root


def files_by_kind(root: Path) -> dict[str, bytes]:
    """The segment's files keyed by what follows the segment's random name."""
    found = {}
    for path in root.iterdir():
        if path.name.startswith("MAIN_") and path.suffix != ".toc" and "WRITELOCK" not in path.name:
            _segment_name, _, kind = path.name.removeprefix("MAIN_").partition(".")
            found[kind] = path.read_bytes()
    return found


def contents(root: Path) -> dict[str, object]:
    """Everything a reader can see: terms, postings with values, term statistics, lengths, columns."""
    ix = whoosh_index.open_dir(str(root))
    with ix.reader() as reader:
        postings, stats = {}, {}
        for field, term in reader.all_terms():
            matcher = reader.postings(field, term)
            items = []
            while matcher.is_active():
                items.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            postings[field, term] = items
            info = reader.term_info(field, term)
            stats[field, term] = (
                info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                info.max_weight(), info.min_id(), info.max_id(),
            )
        n = reader.doc_count_all()
        lengths = {f: [reader.doc_field_length(d, f) for d in range(n)] for f in reader.schema.scorable_names()}
        columns = {f: list(reader.column_reader(f, translate=False)) for f in ("source", "category", "group", "date")}
        return {
            "stored": [reader.stored_fields(d) for d in range(n)],
            "postings": postings,
            "stats": stats,
            "lengths": lengths,
            "columns": columns,
            "field_length_totals": {f: reader.field_length(f) for f in reader.schema.scorable_names()},
        }


def test_whooshs_own_block_encoding_gives_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment, "COMPRESS_FROM", 0)
    monkeypatch.setattr(segment, "COMPRESS_LEVEL", 3)
    monkeypatch.setattr(segment, "DATA_PROTOCOL", 2)
    monkeypatch.setattr(segment, "ONE_POSITION_CACHE", 0)  # distinct value objects, as Whoosh makes
    docs = sample_docs()
    theirs = files_by_kind(write(tmp_path / "whoosh", SegmentWriter, docs))
    ours = files_by_kind(write(tmp_path / "fast", FastSegmentWriter, docs))
    assert set(theirs) == set(ours)
    assert len(theirs["pst"]) > 100_000  # a real amount of postings, many multi-block terms
    differing = sorted(kind for kind in theirs if theirs[kind] != ours[kind])
    assert differing == []
    assert contents(tmp_path / "whoosh") == contents(tmp_path / "fast")


def test_as_shipped_the_index_says_exactly_what_whooshs_says(tmp_path: Path) -> None:
    docs = sample_docs(seed=11)
    theirs = write(tmp_path / "whoosh", SegmentWriter, docs)
    ours = write(tmp_path / "fast", FastSegmentWriter, docs)
    expected, found = contents(theirs), contents(ours)
    assert found["postings"] == expected["postings"] and len(found["postings"]) > 1000
    assert found == expected
    assert files_by_kind(ours)["pst"] != files_by_kind(theirs)["pst"]  # really the shipped encoding
    # a term with more than one block is among them
    assert max(len(v) for v in found["postings"].values()) > segment.BLOCK


def test_blocks_are_compressed_only_from_the_set_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: dict[bool, list[int]] = {True: [], False: []}
    real = segment._compress

    def watched(data: bytes) -> bytes:
        sizes[True].append(len(data))
        return real(data)

    monkeypatch.setattr(segment, "_compress", watched)
    write(tmp_path / "fast", FastSegmentWriter, sample_docs(seed=3))
    assert sizes[True] and min(sizes[True]) >= segment.COMPRESS_FROM


def test_a_text_field_must_be_text(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    writer = FastSegmentWriter(ix)
    with pytest.raises(TypeError, match="field 'body': text expected"):
        writer.add_document(id="x", body=["not", "text"])
    writer.cancel()


def test_a_reindex_writes_the_vocabulary_the_index_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "PARALLEL_FROM", 10)
    docs = sample_docs(n=300, seed=5)
    store_module.build(tmp_path, LoadResult(documents=docs), ["test"], procs=2)
    ix, gen = open_index(tmp_path)
    assert len(ix._segments()) == 2
    written = (gen / VOCABULARY_FILE).read_text(encoding="utf-8")
    # read back from the terms, with the spellings a count of the bodies gives
    store_module._write_vocabulary(ix, tmp_path / "from-the-index.tsv", count_spellings(d.body for d in docs))
    assert written == (tmp_path / "from-the-index.tsv").read_text(encoding="utf-8")
    assert "الزيتون\t" in written


def test_a_commit_adds_the_segment_and_never_merges(tmp_path: Path) -> None:
    """Merging rewrites old segments' postings through Whoosh's pool: only Whoosh's writer may."""
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    for i in range(6):  # small segments that Whoosh's default commit would merge
        writer = SegmentWriter(ix)
        writer.add_document(**to_fields(Document(id=f"old{i}", body="ارتفعت أسعار النفط")))
        writer.commit(merge=False)
    fast = FastSegmentWriter(ix)
    fast.add_document(**to_fields(Document(id="new", body="ارتفعت أسعار النفط اليوم")))
    fast.commit()
    with ix.reader() as reader:
        assert len(ix._segments()) == 7 and reader.doc_count() == 7
        ids = {reader.stored_fields(d)["id"] for d in reader.postings("body", "نفط").all_ids()}
        assert ids == {"new", *(f"old{i}" for i in range(6))}  # no document lost its terms
    for how in ({"optimize": True}, {"merge": True}):
        writer = FastSegmentWriter(ix)
        with pytest.raises(TypeError, match="never merges"):
            writer.commit(**how)
        writer.cancel()


@pytest.mark.parametrize("extra", [{"_boost": 2.0}, {"_body_boost": 3.0}, {"_stored_body": "نص آخر"}])
def test_whooshs_boosts_and_stored_overrides_are_refused_not_ignored(tmp_path: Path, extra: dict) -> None:
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    writer = FastSegmentWriter(ix)
    with pytest.raises(TypeError, match="field values only"):
        writer.add_document(id="x", body="نص", **extra)
    writer.cancel()
