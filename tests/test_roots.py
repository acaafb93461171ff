"""Roots at a low weight: kin words rerank the best candidates of a search by relevance.

The unit tests hold the pieces (roots, the two ways a backend counts them, the
BM25 with the candidates' own statistics); the engine tests run on both
backends, on real indexes, with the same articles.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from conftest import cli, xapian_shards
from search import roots
from search.analysis import exact_analyzer, normalise
from search.backends.whoosh import store as whoosh_store
from search.backends.whoosh.store import add, build
from search.engine import Engine
from search.ingest import Document, LoadResult
from search.query import Weights
from search.settings import defaults


@pytest.mark.parametrize(
    ("words", "why"),
    [
        (("كاتب", "يكتبون", "المكتبات", "كتب", "الكتابة"), "writer, they write, the libraries, books, writing"),
        (("المزارعين", "زراعة", "مزروعات"), "farmers, farming, crops"),
        (("الانتخابات", "انتخب", "الناخبين"), "elections, he elected, the voters"),
    ],
)
def test_kin_words_share_a_root(words: tuple[str, ...], why: str) -> None:
    assert len({roots.root(normalise(w)) for w in words}) == 1, why


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("الكِتَابَةُ عادةٌ يوميّة", "الكتابة عادة يومية"),  # diacritics
        ("الكتـــابة عادة يومية", "الكتابة عادة يومية"),  # tatweel
        ("إنتخب الناخبون", "انتخب الناخبون"),  # hamza forms
        ("کتاب یومی", "كتاب يومي"),  # Persian kaf and yeh
        ("الكتا\u200bبة عادة \u200fيومية", "الكتابة عادة يومية"),  # zero-width and bidi controls
    ],
)
def test_the_counts_do_not_depend_on_spelling(written: str, plain: str) -> None:
    assert roots.text_counts(written) == roots.text_counts(plain) != Counter()


def test_both_ways_of_counting_agree() -> None:
    """The embedded backend counts roots from a candidate's text, the Xapian backend from the
    normalised forms its rerank value keeps: the same counts (stopwords and one-letter forms out)."""
    title = "الكاتب التونسي يصدر روايته الثالثة"
    body = "قال الكاتب إنّه كتب روايته في عامين، وإن الكتابة عنده و Python 3 عادة يومية منذ ٢٠١٨."
    exact = exact_analyzer()
    frequencies = [Counter(t.text for t in exact(text)) for text in (title, body)]
    assert roots.text_counts(title, body) == roots.counts(frequencies)[0]
    assert roots.counts(frequencies)[1] == len(roots.text_roots(title, body))
    assert "في" not in roots.text_counts(body) and roots.text_counts(body)["كتب"] >= 3


def test_boosts_follow_the_rarer_roots_and_saturate() -> None:
    wanted = roots.query_roots([normalise("يكتب"), normalise("رواية")])
    kin = roots.text_counts("الكاتب الذي كتب رواية عن الحرب يواصل الكتابة")
    once = roots.text_counts("صدرت رواية جديدة لكاتب عن الحرب")
    neither = roots.text_counts("صدرت رواية عن الحرب")
    boosts = roots.boosts(wanted, [kin, once, neither, neither])
    assert boosts[0] > boosts[1] > boosts[2] == boosts[3] > 0
    assert roots.boosts(set(), [kin, once]) == [0.0, 0.0]
    assert roots.boosts(wanted, []) == []
    many = roots.text_counts(" ".join(["يكتب الكاتب"] * 500) + " رواية")
    ceiling = roots.ROOT_WEIGHT * (roots.K1 + 1) * len(wanted) * math.log(1 + 1.5 / 0.5)  # idf of 1 in 2
    assert roots.boosts(wanted, [many, neither])[0] <= ceiling


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("الكاتب التونسي يصدر روايته", "قال الكاتب إنّه كتب روايته في عامين، وإن الكتابة عنده عادة يومية."),
        ("الكِتَابَةُ عادةٌ", "الكتـــابة إنتخب الناخبون کتاب یومی الكتا\u200bبة \u200fيومية"),  # spellings
        ("", "Python 3 و ٢٠١٨ كتب: «الكاتب» (المكتبات)، يكتبون!"),  # Latin, digits, punctuation
        ("", ""),
    ],
)
def test_the_column_holds_what_the_text_holds(title: str, body: str) -> None:
    """The roots column written at indexing counts what reading the stored text counts."""
    value = roots.roots_column(title, body)
    wanted = roots.query_roots([normalise(w) for w in ("يكتب", "رواية", "انتخاب", "يوم", "غائب")])
    found, length = roots.column_counts(value, roots.wanted_ids(wanted)) if value else ({}, 0)
    expected, text_length = roots.wanted_counts(roots.text_roots(title, body), wanted)
    assert length == text_length and found == {r: n for r, n in expected.items() if n}


def test_the_column_value_bounds_and_edges() -> None:
    wanted = roots.wanted_ids({roots.root("يكتب")})
    assert roots.column_counts(b"", wanted) is None, "no value (an older writer, or no words): the text is read"
    assert roots.forms_column([], []) == b""
    # one-letter forms have no root; a frequency past a uint16 is kept at the bound on every path
    value = roots.forms_column(["و", "يكتب", "الكاتب"], [3, 70_000, 2])
    bounded = roots.MAX_FREQUENCY + 2
    assert roots.column_counts(value, wanted) == ({roots.root("يكتب"): bounded}, bounded)
    assert roots.counts([{"و": 3}, {"يكتب": 70_000, "الكاتب": 2}]) == (Counter({roots.root("يكتب"): bounded}), bounded)
    assert roots.column_counts(value[:-3], wanted) is None, "a damaged value is no value: the text is read"
    # the other backend looks up the roots of the first MAX_FORMS forms, and counts the length of all
    many = {f"كلمة{i}": 1 for i in range(roots.MAX_FORMS)}
    found, length = roots.counts([many, {"يكتب": 4}])
    assert found[roots.root("يكتب")] == 0 and sum(found.values()) == roots.MAX_FORMS == length - 4


def test_the_fast_root_stemmer_gives_nltks_roots() -> None:
    """search.analysis's ISRI is NLTK's with sets and inlined steps: the same root for every word.
    Words: the seed article's, and every ISRI prefix and suffix around patterns of kin words, with
    diacritics, hamza forms and a doubled waw (ANT's 205,558 forms agreed when it was written)."""
    from search.analysis import _isri, _isri_module

    fast, nltk = _isri(), _isri_module().ISRIStemmer()
    assert type(fast) is not type(nltk)
    seed = (Path(__file__).parent.parent / "seeds").glob("*.txt")
    words = {normalise(w) for path in seed for w in path.read_text(encoding="utf-8").split()}
    stems = ["كتب", "كاتب", "مكتوب", "استكتب", "مكتبة", "تكاتب", "انكتب", "كتاب", "كتيب", "مكاتيب", "اكتتاب",
             "افعوعل", "مستفعل", "تفاعيل", "ووصل", "أكرم", "إكرام", "آمال", "كَتَبَ", "ا", ""]
    affixed = {p + w + f for w in stems for p in ["", *nltk.p3, *nltk.p2, *nltk.p1]
               for f in ["", *nltk.s3, *nltk.s2, *nltk.s1]}
    assert len(words) > 200 and len(affixed) > 9_000
    assert [fast.stem(w) for w in sorted(words | affixed)] == [nltk.stem(w) for w in sorted(words | affixed)]


# -- the engine, on both backends ------------------------------------------------

# A search for «يكتب رواية» (writes a novel): every article has the novel, one has a writer writing
# it without the word يكتب; the short one ranks first on words alone, the writer's on roots.
ARTICLES = [
    Document("short", "", "صدرت رواية عن الحرب", source="وكالة"),
    Document("writer", "", "الكاتب الذي كتب رواية عن الحرب يواصل الكتابة كل صباح في مكتبه", source="وكالة"),
    *(Document(f"other-{i}", "", f"صدرت رواية عن الحرب في طبعة جديدة رقم {i} عند ناشر", source="وكالة")
      for i in range(3)),
]
QUERY = "يكتب رواية"


@pytest.fixture(params=["whoosh", "xapian"])
def index(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(backend, index root, config) of ARTICLES."""
    root = tmp_path / "index"
    if request.param == "whoosh":
        build(root, LoadResult(documents=list(ARTICLES)), ["roots"])
        yield defaults().replace(index=str(root))
        return
    source = tmp_path / "articles.jsonl"
    source.write_text("\n".join(json.dumps(d.to_json(), ensure_ascii=False) for d in ARTICLES) + "\n", encoding="utf-8")
    shards = xapian_shards(root, [source])
    try:
        yield defaults().replace(index=str(root), backend="xapian", shards=shards)
    finally:
        cli("shards", "stop", "--index", root)


def test_roots_rerank_the_best_candidates(index) -> None:  # type: ignore[no-untyped-def]
    plain = Engine(config=index, weights=Weights(roots=False)).search(QUERY, suggest=False)
    rooted = Engine(config=index).search(QUERY, suggest=False)
    assert plain.hits[0].id == "short", "on words alone, the shorter article first"
    assert rooted.hits[0].id == "writer", "its kin words (الكاتب، كتب، الكتابة، مكتبه) lift it"
    assert rooted.total == plain.total and {h.id for h in rooted.hits} == {h.id for h in plain.hits}
    assert rooted.hits[0].score > plain.hits[0].score
    # sorted by date, or with no word to take roots of, nothing is reranked
    newest = Engine(config=index).search(QUERY, sort="newest", suggest=False)
    unranked = Engine(config=index, weights=Weights(roots=False)).search(QUERY, sort="newest", suggest=False)
    assert [h.id for h in newest.hits] == [h.id for h in unranked.hits]
    excluded = Engine(config=index).search("رواية -يكتب", suggest=False)
    assert excluded.hits[0].id == "short", "an excluded word's root lifts nothing"


def _ranker_and_docnums(root: Path):  # type: ignore[no-untyped-def]
    snapshot = Engine(config=defaults().replace(index=str(root))).backend.snapshot()
    ids = {snapshot.searcher.stored_fields(d)["id"]: d for d in range(snapshot.doc_count())}
    return snapshot, ids


def test_whoosh_writes_the_roots_column_on_reindex_and_add(tmp_path: Path) -> None:
    root = tmp_path / "index"
    build(root, LoadResult(documents=list(ARTICLES)), ["roots"])
    added = Document("added", "الكاتب يكتب", "المكتبات تبيع كتب الكاتب", source="وكالة")
    add(root, LoadResult(documents=[added]))
    snapshot, docnums = _ranker_and_docnums(root)
    assert snapshot.ranker.has_roots() and len(docnums) == len(ARTICLES) + 1
    for doc in [*ARTICLES, added]:
        assert snapshot.ranker.roots(docnums[doc.id]) == roots.roots_column(doc.title, doc.body) != b"", doc.id


def test_an_index_without_the_column_reranks_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index written before the roots column: its candidates' roots are read from their text."""
    build(tmp_path / "new", LoadResult(documents=list(ARTICLES)), ["roots"])
    schema = whoosh_store.make_schema

    def old_schema():  # type: ignore[no-untyped-def]
        made = schema()
        made.remove("roots")
        return made

    monkeypatch.setattr(whoosh_store, "make_schema", old_schema)
    build(tmp_path / "old", LoadResult(documents=list(ARTICLES)), ["roots"])
    monkeypatch.undo()
    # a schema with the column whose writer left it empty (a writer that does not know it)
    monkeypatch.setattr(whoosh_store, "ROOTS", "not a field")
    build(tmp_path / "unwritten", LoadResult(documents=list(ARTICLES)), ["roots"])
    monkeypatch.undo()
    assert not _ranker_and_docnums(tmp_path / "old")[0].ranker.has_roots()
    unwritten = _ranker_and_docnums(tmp_path / "unwritten")[0].ranker
    assert unwritten.has_roots() and unwritten.roots(0) == b""
    for name in ("old", "new", "unwritten"):
        add(tmp_path / name, LoadResult(documents=[Document("added", "", "رواية جديدة", source="وكالة")]))
    old, new, empty = (Engine(config=defaults().replace(index=str(tmp_path / n))).search(QUERY, suggest=False)
                       for n in ("old", "new", "unwritten"))
    assert new.hits[0].id == "writer"
    assert [(h.id, h.score) for h in old.hits] == [(h.id, h.score) for h in new.hits]
    assert [(h.id, h.score) for h in empty.hits] == [(h.id, h.score) for h in new.hits]


def test_a_very_long_candidate_is_read_no_further_than_the_bound() -> None:
    head = ("الكاتب يكتب " * roots.TEXT_CHARS)[: roots.TEXT_CHARS]  # exactly what is read
    found = roots.text_counts(head + " " + "المزارعين " * 100_000)
    assert found["كتب"] > 0 and found["زرع"] == 0


def test_the_stemmer_loads_without_the_rest_of_nltk() -> None:
    """Its package's initialisation would import most of nltk and scipy.stats (81 MB a process)."""
    import subprocess
    import sys

    code = ("import sys; from search import roots; print(roots.root('المكتبات'));"
            "print('nltk.metrics' in sys.modules, 'scipy.stats' in sys.modules, 'nltk' in sys.modules);"
            "import nltk; from nltk.stem.isri import ISRIStemmer;"
            "print(ISRIStemmer().stem('يكتبون'), nltk.__version__ > '')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:3] == ["كتب", "False False False", "كتب True"]


def test_ids_looked_up_ahead_are_the_ids_the_writer_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """IdsAhead: a forked helper's ids land in the table as the writer would find them; a helper
    that dies adds nothing; closing leaves the table as small as before."""
    forms = {normalise(w) for w in ("الكاتب", "يكتبون", "المكتبات", "مدرسة", "و", "إستراتيجية", "ﻻعب", "x")}
    expected = {f: roots._form_id(f) for f in forms}
    roots._FORM_IDS.clear()
    with roots.IdsAhead() as ahead:
        ahead.start(forms)
        assert ahead.collect() == len(forms)
        assert {f: roots._FORM_IDS[f] for f in forms} == expected
    assert len(roots._FORM_IDS) == 0  # closed: the parent's table is back to its usual size

    def dies(forms: list[str], send: object) -> None:
        raise SystemExit(3)

    monkeypatch.setattr(roots, "_send_ids", dies)
    with roots.IdsAhead() as ahead:
        ahead.start(forms)
        assert ahead.collect() == 0 and len(roots._FORM_IDS) == 0
    with roots.IdsAhead() as ahead:  # a grouping that fails before collecting: the helper is stopped
        ahead.start(forms)
    assert ahead._helper is None


def test_a_parallel_reindex_writes_the_same_roots_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked writers (and forked fingerprinting, whose forms are looked up ahead) write each
    article's column as one process does."""
    from search import grouping
    from search.backends.whoosh.generations import open_index

    docs = [
        Document(f"d{i}", f"{ARTICLES[i % len(ARTICLES)].title} {i}", f"{ARTICLES[i % len(ARTICLES)].body} رقم {i}")
        for i in range(40)
    ]
    monkeypatch.setattr(whoosh_store, "PARALLEL_FROM", 10)
    monkeypatch.setattr(grouping, "PARALLEL_FROM", 10)
    met: list[int] = []
    start = roots.IdsAhead.start

    def counted(self, forms):  # type: ignore[no-untyped-def]
        met.append(len(forms))
        return start(self, forms)

    monkeypatch.setattr(roots.IdsAhead, "start", counted)
    build(tmp_path / "parallel", LoadResult(documents=list(docs)), ["roots"], procs=2)
    assert met and met[0] > 20  # the fingerprinting processes sent back the forms they met
    snapshot, docnums = _ranker_and_docnums(tmp_path / "parallel")
    assert len(open_index(tmp_path / "parallel")[0]._segments()) == 2  # one per forked writer
    for doc in docs:
        assert snapshot.ranker.roots(docnums[doc.id]) == roots.roots_column(doc.title, doc.body), doc.id


def test_ids_ahead_gives_way_when_it_cannot_help(monkeypatch: pytest.MonkeyPatch) -> None:
    """No process or pipe to spare, more forms than a writer's table keeps, a helper too slow: the
    reindex goes on without the ids (nothing raised, nothing left open or running)."""
    import multiprocessing.context as mp_context
    import os

    forms = {normalise(w) for w in ("الكاتب", "يكتبون", "المكتبات")}
    roots._FORM_IDS.clear()

    def no_fork(self):  # type: ignore[no-untyped-def]
        raise BlockingIOError(11, "Resource temporarily unavailable")

    open_fds = len(os.listdir("/proc/self/fd"))
    with monkeypatch.context() as patched:
        patched.setattr(mp_context.ForkProcess, "start", no_fork)
        for _ in range(3):
            with roots.IdsAhead() as ahead:
                ahead.start(forms)
                assert ahead.collect() == 0
    assert len(os.listdir("/proc/self/fd")) == open_fds  # the pipes were closed
    with monkeypatch.context() as patched:
        patched.setattr(roots, "WRITER_MEMO_WORDS", 2)  # more forms than a writer keeps: no helper
        with roots.IdsAhead() as ahead:
            ahead.start(forms)
            assert ahead._helper is None and ahead.collect() == 0

    def slow(forms: list[str], send: object) -> None:
        import time

        time.sleep(30)

    with monkeypatch.context() as patched:
        patched.setattr(roots, "_send_ids", slow)
        with roots.IdsAhead() as ahead:
            ahead.start(forms)
            helper = ahead._helper
            assert ahead.collect(timeout=0.2) == 0
        assert not helper.is_alive() and len(roots._FORM_IDS) == 0
