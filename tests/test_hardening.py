"""Hostile input and damaged state: every cost bounded, no 500, nothing switched to an empty index.

One table per class of the hardening issue; each row is a case that failed
before the fix of its class.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SEEDS, cli
from search.backends.generations import CURRENT_FILE, current_generation
from search.backends.whoosh.store import build, delete
from search.engine import Engine, Filters
from search.errors import IndexProblem, NothingToIndex
from search.ingest import Document, LoadResult, load_sources, load_text
from search.query import QueryBuilder
from search.settings import SETTINGS, SettingError, defaults, resolve
from search.spelling import Speller
from webapp import create_app

WORDS = "أعلنت وزارة الخارجية عن زيارة رسمية إلى القاهرة لبحث التعاون الاقتصادي والإنترنت".split()


def docs_result(docs: list[Document]) -> LoadResult:
    return LoadResult(documents=docs)


def article(i: int, **fields: object) -> Document:
    rng = random.Random(i)
    body = " ".join(rng.choice(WORDS) for _ in range(40))
    return Document(id=f"d-{i}", title=" ".join(rng.sample(WORDS, 5)), body=body, **fields)  # type: ignore[arg-type]


def app_client(root: Path, **settings: object):  # type: ignore[no-untyped-def]
    return create_app({"INDEX": str(root), "TESTING": True, **settings}).test_client()


def never_500(client, root: Path, doc_id: str = "d-1") -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Every kind of request; none answers 500 nor shows a server path."""
    statuses = {}
    for path in (
        "/",
        "/?q=الانترنت",
        "/?q=وزارة&sort=newest&from=2018-01-01&to=2019-01-01",
        "/?source=x",
        "/api/search?q=الخارجية",
        "/api/search?q=%22وزارة+الخارجية%22",
        "/api/search?q=القاه*&sort=newest",
        "/api/search?q=وزارة&from=2001-01-01",
        "/api/health",
        f"/api/doc/{doc_id}?q=وزارة",
        f"/doc/{doc_id}?q=وزارة",
    ):
        response = client.get(path)
        assert response.status_code != 500, (path, response.data[:300])
        assert str(root) not in response.get_data(as_text=True), f"{path} shows a server path"
        statuses[path] = response.status_code
    return statuses


# -- 1. every cost bounded ----------------------------------------------------------------


def test_a_very_long_query_word_costs_little(engine: Engine) -> None:
    started = time.perf_counter()
    result = engine.search("ب" * 40_000)
    assert time.perf_counter() - started < 2.0
    assert any("cut to its first" in n for n in map(str, result.notices))


def test_the_speller_never_looks_up_a_long_word() -> None:
    speller = Speller({"الانتخابات": 10, "الحكومة": 5})
    started = time.perf_counter()
    assert speller.suggest("ا" * 100_000) is None
    assert time.perf_counter() - started < 0.1
    assert speller.suggest("الانتخبات") == "الانتخابات"


@pytest.fixture(scope="module")
def long_word_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An article made of one 500,000-letter word beside ordinary ones (a small collection:
    every word counts for the vocabulary)."""
    root = tmp_path_factory.mktemp("long-word")
    docs = [article(i) for i in range(20)]
    docs.append(Document(id="long", title="كلمة طويلة", body="س" * 500_000))
    docs.append(Document(id="long-latin", title="long", body="x" * 300_000 + " الانترنت"))
    build(root, docs_result(docs), ["test"])
    return root


def test_an_article_of_one_huge_word_does_not_stall_the_engine(long_word_index: Path) -> None:
    engine = Engine(long_word_index)
    started = time.perf_counter()
    engine.warm()  # the speller loads the vocabulary: the long word is not in it
    assert engine.search("س" * 100).total >= 1  # terms are cut to the same length at both ends
    assert engine.search("الانترنت").hits
    assert engine.search("سسسسسسس").suggestion in (None, "")
    doc = engine.document("long", "س" * 100)
    assert doc is not None and doc.body_html.startswith("<mark")
    assert time.perf_counter() - started < 10.0
    snippet = next(h for h in engine.search("الانترنت").hits if h.id == "long-latin").snippet_text
    assert len(snippet) < 400  # a snippet is cut inside a huge word, not stretched to its end


def test_highlight_and_posting_caches_are_bounded_in_bytes(long_word_index: Path) -> None:
    config = defaults().replace(highlight_cache_mb=1, postings_cache_mb=1)
    engine = Engine(long_word_index, config=config)
    for word in WORDS + ["س" * 100]:
        engine.search(word, per_page=30)
    engine.document("long", "س" * 100)
    assert 0 < engine.highlight_cache.bytes <= 1024 * 1024
    assert 0 < engine.backend.postings_cache.bytes <= 1024 * 1024  # type: ignore[attr-defined]
    health = engine.health()
    assert health["caches"]["highlight"]["max_bytes"] == 1024 * 1024  # type: ignore[index]


def test_the_time_limit_covers_snippets(long_word_index: Path) -> None:
    engine = Engine(long_word_index, config=defaults().replace(search_time_limit=0.0))
    result = engine.search("الانترنت")
    assert result.timed_out and any("too long" in n for n in map(str, result.notices))


def test_expanding_prefixes_stops_at_the_search_time_limit(tmp_path: Path) -> None:
    """A prefix reads the lexicon word by word (max_prefix_terms * 40 words at most): a query of 64 short
    prefixes read 128,000 words of ANT, 1.3 s, before the search's time limit was looked at (1.2-1.9 s at a
    limit of 0.2 s). The expansion now stops at the deadline; the search says it ran out of time, and never
    that no word begins with a prefix it did not look up."""
    root = tmp_path / "ix"
    stems = [f"مست{a}{b}{c}" for a in "بتثجحخدذ" for b in "رزسشصضطظ" for c in "عغفقكلمن"]  # 512 words
    docs = [Document(id=f"d{i}", title="خبر", body=" ".join(stems[i::40])) for i in range(40)]
    build(root, docs_result(docs), ["test"])
    engine = Engine(root)
    snapshot = engine.backend.snapshot()
    read: list[str] = []

    class Counting:  # the index's lexicon, counting the words a parse reads
        def words(self, field: str, prefix: str, limit: int | None = None) -> Iterator[str]:
            for word in snapshot.words(field, prefix, limit):
                read.append(word)
                yield word

        def __getattr__(self, name: str) -> object:
            return getattr(snapshot, name)

    late = QueryBuilder(Counting(), deadline=time.monotonic() - 1).parse("مستب* مستت*")  # type: ignore[arg-type]
    assert late.timed_out and late.query is None and not read
    assert not {"prefix_no_match", "no_searchable_words"} & {n.code for n in late.notices}
    on_time = QueryBuilder(Counting(), deadline=time.monotonic() + 60).parse("مستب*")  # type: ignore[arg-type]
    assert not on_time.timed_out and on_time.query is not None and len(read) >= 64
    result = Engine(root, config=defaults().replace(search_time_limit=0.0)).search("مستب* مستت*")
    codes = [n.code for n in result.notices]  # the time is told once, and no other cause is made up
    assert result.timed_out and codes.count("time_limit") == 1
    assert not {"prefix_no_match", "no_searchable_words"} & set(codes)
    # The article page reads the words it marks within the same limit.
    marked = engine.document("d0", "مستب*")
    assert marked is not None and "<mark" in marked.body_html
    unmarked = Engine(root, config=defaults().replace(search_time_limit=0.0)).document("d0", "مستب*")
    assert unmarked is not None and "<mark" not in unmarked.body_html


@pytest.mark.parametrize("limit", [0.0, 2.0])
def test_the_page_of_a_dated_filtered_search_keeps_to_one_time_limit(
    small_index: Path, monkeypatch: pytest.MonkeyPatch, limit: float
) -> None:
    """The page of a dated search with a source counts its date presets and what the filters hid with one
    more search each: those share the search's search_time_limit, never one each (a 64-prefix query
    took the API 0.56 s and its page 1.6 s at a limit of 0.5 s). Out of time, they are not run."""
    client = app_client(small_index, search_time_limit=limit)
    engine = client.application.extensions["baheth"]
    given: list[float | None] = []
    search = engine.search

    def timed(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        given.append(kwargs.get("seconds"))  # type: ignore[arg-type]
        return search(*args, **kwargs)

    monkeypatch.setattr(engine, "search", timed)
    page = client.get("/?q=الانترنت&from=2001-01-01&to=2001-01-02&source=لا-مصدر")
    assert page.status_code == 200
    if limit == 0.0:
        assert len(given) == 1  # the search itself, out of time: no count after it
    else:
        assert len(given) == 3 and all(s is not None and 0 < s <= limit for s in given[1:])


# -- 2. no 500 from any state of the index ---------------------------------------------------


def test_an_empty_index_answers(tmp_path: Path) -> None:
    root = tmp_path / "ix"
    build(root, docs_result([article(1), article(2)]), ["test"])
    delete(root, ["d-1", "d-2"])
    client = app_client(root)
    statuses = never_500(client, root)
    assert statuses["/api/search?q=الخارجية"] == 200
    assert client.get("/api/search?q=الخارجية").get_json()["total"] == 0


def test_an_undated_collection_built_in_parallel_answers_every_sort_and_filter(tmp_path: Path) -> None:
    root = tmp_path / "ix"
    docs = [article(i) for i in range(2400)]  # over PARALLEL_FROM: two segments, neither with a date column
    build(root, docs_result(docs), ["test"], procs=2)
    client = app_client(root)
    statuses = never_500(client, root)
    assert set(statuses.values()) <= {200, 404}
    newest = client.get("/api/search?q=وزارة&sort=newest").get_json()
    assert newest["total"] > 0
    assert client.get("/api/search?q=وزارة&from=2018-01-01").get_json()["total"] == 0


def test_a_collection_half_dated_across_segments_filters_by_date(tmp_path: Path) -> None:
    root = tmp_path / "ix"
    dated = datetime(2019, 5, 1, tzinfo=UTC)
    docs = [article(i, date=dated if i >= 1200 else None) for i in range(2400)]
    build(root, docs_result(docs), ["test"], procs=2)
    engine = Engine(root)
    inside = engine.search("وزارة", filters=Filters(date_from=dated.date(), date_to=dated.date()), per_page=5)
    everything = engine.search("وزارة", per_page=5)
    assert 0 < inside.total < everything.total
    assert all(hit.date and hit.date.startswith("2019-05-01") for hit in inside.hits)
    newest = engine.search("وزارة", sort="newest", per_page=3)
    assert all(hit.date for hit in newest.hits)


def test_stored_lone_surrogates_are_shown_not_a_500(tmp_path: Path) -> None:
    """An index built before ingestion cleaned text may hold a lone surrogate."""
    root = tmp_path / "ix"
    doc = Document(id="emoji", title="تغريدة مقطوعة \ud83d", body="الانترنت والهاتف \ud83d")
    build(root, docs_result([doc, article(1)]), ["test"])
    client = app_client(root)
    response = client.get("/api/search?q=الانترنت")
    assert response.status_code == 200
    hit = response.get_json()["results"][0]
    assert hit["title"].endswith("\ufffd")
    assert client.get("/?q=الانترنت").status_code == 200
    assert client.get("/doc/emoji").status_code == 200
    assert client.get("/api/doc/emoji").status_code == 200


DAMAGES = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)]),
    "empty": lambda p: p.write_bytes(b""),
    "missing": lambda p: p.unlink(),
    "garbage": lambda p: p.write_bytes(bytes(random.Random(p.name).randrange(256) for _ in range(200))),
    "not UTF-8": lambda p: p.write_bytes(b"\xff\xfe\xfa gen-\xff"),
    "a folder": lambda p: (p.unlink(), p.mkdir()),
}


@pytest.fixture(scope="module")
def built_for_damage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damage") / "ix"
    build(root, docs_result([article(i, date=datetime(2018, 1, 1 + i, tzinfo=UTC)) for i in range(20)]), ["t"])
    return root


def _index_files(root: Path) -> list[str]:
    gen = current_generation(root)
    assert gen is not None
    names = [CURRENT_FILE] + sorted(str(p.relative_to(root)) for p in gen.rglob("*") if p.is_file())
    assert len(names) >= 6, names  # CURRENT, TOC, segment files, vocabulary, metadata
    return names


def test_the_damage_matrix_covers_every_file(built_for_damage: Path) -> None:
    names = _index_files(built_for_damage)
    assert any(n.endswith(".toc") for n in names) and any(n.endswith(".seg") for n in names)
    assert any(n.endswith("vocabulary.tsv") for n in names) and any(n.endswith("baheth.json") for n in names)


# Whoosh leaves a file it failed to read to the garbage collector, which closes it (and warns).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_every_damaged_index_file_answers_503_or_serves(built_for_damage: Path, tmp_path: Path, damage: str) -> None:
    """Each file of a built index, damaged each way: the page and the API answer (200 when the
    damage does not matter to the request, 503 with a plain message when it does), never 500;
    the CLI prints one line and exits non-zero, or answers."""
    for name in _index_files(built_for_damage):
        root = tmp_path / f"{damage}-{name.replace('/', '_')}"
        shutil.copytree(built_for_damage, root)
        DAMAGES[damage](root / name)
        client = app_client(root)
        statuses = never_500(client, root)
        if statuses["/api/health"] == 503:
            body = client.get("/api/health").get_json()
            assert body["status"] == "unavailable" and body["error"], name
        runner = CliRunner()
        from search.cli import main

        result = runner.invoke(main, ["search", "وزارة", "--index", str(root)])
        assert "Traceback" not in result.output, (damage, name, result.output)
        assert result.exit_code == 0 or (result.exit_code == 1 and result.output.startswith("Error:")), (
            damage,
            name,
            result.output,
        )
        del client
        gc.collect()  # close what Whoosh left open here, under this test's warning filter


# -- 4. a reindex that indexes nothing never switches ---------------------------------------


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (["{tmp}/mistyped/path"], "no such file or folder"),
        (["{tmp}/empty-folder"], "nothing to index"),
        (["{tmp}/bad.jsonl"], "nothing to index: all 2 documents were skipped"),
        ([str(SEEDS), "{tmp}/mistyped"], "no such file or folder"),
    ],
)
def test_a_reindex_that_indexes_nothing_leaves_the_live_index(
    fresh_index: Path, tmp_path: Path, sources: list[str], message: str
) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\n{"id": "y", "body": ""}\n', encoding="utf-8")
    live = current_generation(fresh_index)
    result = cli("reindex", *[s.format(tmp=tmp_path) for s in sources], "--index", fresh_index)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert current_generation(fresh_index) == live
    assert Engine(fresh_index).search("الانترنت").total > 0


def test_build_refuses_no_documents(tmp_path: Path) -> None:
    with pytest.raises(NothingToIndex):
        build(tmp_path / "ix", LoadResult(), ["nothing"])
    assert not (tmp_path / "ix" / CURRENT_FILE).exists()


# -- 5. settings read and validated once -------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BAHETH_PER_PAGE": "0"}, "BAHETH_PER_PAGE"),
        ({"BAHETH_PROCS": "two"}, "BAHETH_PROCS"),
        ({"BAHETH_THREADS": "0"}, "BAHETH_THREADS"),
        ({"BAHETH_PORT": "abc"}, "BAHETH_PORT"),
        ({"BAHETH_PORT": "70000"}, "BAHETH_PORT"),
        ({"BAHETH_SEARCH_TIME_LIMIT": "nan"}, "BAHETH_SEARCH_TIME_LIMIT"),
        ({"BAHETH_MAX_QUERY_CHARS": "1.5"}, "BAHETH_MAX_QUERY_CHARS"),
        ({"BAHETH_PER_PAGE": "500", "BAHETH_MAX_PER_PAGE": "100"}, "max_per_page"),
        ({"BAHETH_PER_PAGE": "1_0"}, "BAHETH_PER_PAGE"),  # Python's float() reads 10
        ({"BAHETH_PER_PAGE": "\u0967\u0966"}, "BAHETH_PER_PAGE"),  # Devanagari digits: float() reads 10
        ({"BAHETH_SEARCH_TIME_LIMIT": "infinity"}, "BAHETH_SEARCH_TIME_LIMIT"),
        ({"BAHETH_SHARDS": "[::1]:7001"}, "BAHETH_SHARDS"),  # Xapian's client resolves no IPv6 address
        ({"BAHETH_SHARDS": "a:7001,b:70001"}, "BAHETH_SHARDS"),
        ({"BAHETH_SHARDS": "a:7001,a:7001"}, "BAHETH_SHARDS"),  # one server counted as two shards
    ],
)
def test_a_bad_setting_is_one_line_before_anything_starts(tmp_path: Path, env: dict[str, str], named: str) -> None:
    for command in (["search", "x"], ["settings"], ["reindex", str(SEEDS)], ["serve"]):
        result = cli(*command, "--index", tmp_path / "ix", env={**os.environ, **env}, timeout=60)
        assert result.returncode != 0, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0] and "Traceback" not in result.stderr, (command, result.stderr)
    assert not (tmp_path / "ix").exists()  # nothing started
    with pytest.raises(SettingError, match=named):
        resolve(environ=env)


@pytest.mark.parametrize(
    ("written", "read"),
    [("20", 20), (" 20 ", 20), ("٢٠", 20), ("۲۰", 20), ("2e1", 20), ("+20", 20), ("20.0", 20)],
)
def test_a_whole_number_setting_reads_ascii_and_arabic_indic_digits(written: str, read: int) -> None:
    assert resolve(environ={"BAHETH_PER_PAGE": written})["per_page"] == read


def test_create_app_validates_its_config(small_index: Path) -> None:
    with pytest.raises(SettingError, match="per_page"):
        create_app({"INDEX": str(small_index), "per_page": 0})


def test_the_readme_settings_table_is_the_settings_table() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert SETTINGS.markdown() in readme, "regenerate the README table with `baheth settings --markdown`"
    for setting in SETTINGS:
        assert setting.check(setting.default) == setting.default


# -- 6. filesystem errors are messages -------------------------------------------------------


def test_an_index_path_that_is_a_file_is_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for index in (blocker, blocker / "below"):
        result = cli("reindex", SEEDS, "--index", index)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "cannot write the index" in result.stderr or "not a directory" in result.stderr.lower()


def test_disk_full_during_a_reindex_keeps_the_live_index(fresh_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import search.backends.whoosh.store as store

    live = current_generation(fresh_index)

    def full(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "fsync_dir", full)
    with pytest.raises(IndexProblem, match="No space left on device"):
        build(fresh_index, load_sources([SEEDS]), ["seeds"])
    assert current_generation(fresh_index) == live
    assert not list(fresh_index.glob(".build-*"))


def test_batch_into_a_missing_folder_is_a_message(tmp_path: Path, small_index: Path) -> None:
    topics = tmp_path / "t.tsv"
    topics.write_text("q1\tالانترنت\n", encoding="utf-8")
    result = cli("batch", topics, "-o", tmp_path / "no" / "run", "--index", small_index)
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr


# -- 7. the query removes exactly what the indexer removes -----------------------------------

INVISIBLE = ["\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2066", "\u2069", "\u00ad", "\u2060", "\ufeff"]
# Unicode's other default-ignorable code points, which show nothing either: the combining grapheme joiner,
# the Mongolian vowel separator, the deprecated Arabic shaping controls (U+206A-U+206F), a variation
# selector, a tag character. A text carrying one inside a word was indexed as two words.
INVISIBLE += ["\u034f", "\u180e", "\u206c", "\u206d", "\ufe0f", "\U000e0041"]


@pytest.mark.parametrize("mark", INVISIBLE)
def test_a_word_copied_with_an_invisible_mark_inside_finds_its_article(tmp_path: Path, mark: str) -> None:
    root = tmp_path / "ix"
    docs = [
        Document(id="in-text", title="خبر", body=f"افتتح معرض الكتا{mark}ب في القاهرة وأعلنت فيس{mark}بوك"),
        Document(id="plain", title="خبر آخر", body="المعرض الدولي للكتاب وفيسبوك"),
        Document(id="latin", title="news", body=f"Face{mark}book and Twitter"),
    ]
    build(root, docs_result(docs), ["test"])
    engine = Engine(root)
    assert {h.id for h in engine.search(f"الكتا{mark}ب").hits} >= {"in-text"}
    assert {h.id for h in engine.search("الكتاب").hits} >= {"in-text"}
    assert {h.id for h in engine.search(f"Face{mark}book").hits} >= {"latin"}
    assert {h.id for h in engine.search("facebook").hits} >= {"latin"}


@pytest.mark.parametrize(("written", "typed"), [("ＣＮＮ", "cnn"), ("ｃｎｎ", "CNN"), ("Ｆａｃｅｂｏｏｋ", "facebook"),
                                            ("２０１８", "2018"), ("２٠١٨", "٢٠١٨")])
def test_fullwidth_latin_and_digits_are_the_same_words(tmp_path: Path, written: str, typed: str) -> None:
    """ｃｎｎ (fullwidth, as East Asian input methods and some pasted text write it) found nothing, CNN 3,064
    articles: each is one word with its ASCII spelling, at index time and in a query."""
    root = tmp_path / "ix"
    docs = [
        Document(id="fullwidth", title="خبر", body=f"نقلت شبكة {written} خبرا عن تونس"),
        Document(id="ascii", title="خبر آخر", body=f"نقلت شبكة {typed} خبرا عن ليبيا"),
        Document(id="other", title="خبر ثالث", body="نقلت وكالة الأنباء خبرا عن مصر"),
    ]
    build(root, docs_result(docs), ["test"])
    engine = Engine(root)
    assert {h.id for h in engine.search(typed).hits} == {"fullwidth", "ascii"}
    assert {h.id for h in engine.search(written).hits} == {"fullwidth", "ascii"}
    marked = engine.document("fullwidth", typed)
    assert marked is not None and f"{written}</mark>" in marked.body_html  # marked as written


# -- 9. formats written are well-formed --------------------------------------------------------


def test_batch_writes_six_columns_whatever_the_ids(tmp_path: Path) -> None:
    root = tmp_path / "ix"
    ids = ["a b", "tab\there", "نص عربي", "100%", "nbsp\u00a0x", "plain"]
    build(root, docs_result([Document(id=i, title="الانترنت", body="الانترنت في كل مكان") for i in ids]), ["t"])
    topics = tmp_path / "t.tsv"
    topics.write_text("q1\tالانترنت\n", encoding="utf-8")
    out = tmp_path / "run"
    result = cli("batch", topics, "-o", out, "--index", root)
    assert result.returncode == 0, result.stderr
    rows = out.read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(ids) and all(len(row.split()) == 6 for row in rows)
    assert {row.split()[2] for row in rows} == {"a%20b", "tab%09here", "نص%20عربي", "100%25", "nbsp%C2%A0x", "plain"}
    bad_tag = cli("batch", topics, "-o", out, "--tag", "my tag", "--index", root)
    assert bad_tag.returncode != 0 and "--tag" in bad_tag.stderr
    spaced = tmp_path / "spaced.tsv"
    spaced.write_text("q 1\tالانترنت\n", encoding="utf-8")
    assert cli("batch", spaced, "-o", out, "--index", root).returncode != 0


def test_a_facet_value_with_a_comma_is_selectable_from_its_link(tmp_path: Path) -> None:
    root = tmp_path / "ix"
    docs = [
        Document(id="1", title="الانترنت", body="الانترنت", source="Reuters, London"),
        Document(id="2", title="الانترنت", body="الانترنت", source="Reuters"),
        Document(id="3", title="الانترنت", body="الانترنت", source="London"),
    ]
    build(root, docs_result(docs), ["t"])
    client = app_client(root)
    page = client.get("/?q=الانترنت").get_data(as_text=True)
    import html as html_module
    import re

    links = [html_module.unescape(h) for h in re.findall(r'href="(/\?[^"]*source=[^"]*)"', page)]
    link = next(h for h in links if "Reuters%2C" in h or "Reuters,+London" in h or "Reuters%2C+London" in h)
    data = client.get(link.replace("/?", "/api/search?")).get_json()
    assert [r["id"] for r in data["results"]] == ["1"]
    both = client.get("/api/search?q=الانترنت&source=Reuters,London").get_json()
    assert {r["id"] for r in both["results"]} == {"2", "3"}  # a list, as documented, when no value is so called


def test_health_reports_cache_sizes(client) -> None:  # type: ignore[no-untyped-def]
    caches = client.get("/api/health").get_json()["caches"]
    assert "highlight" in caches and all(cache["max_bytes"] > 0 for cache in caches.values())
    assert {"highlight", "spelling"} <= set(caches) <= {"postings", "highlight", "spelling"}
    assert all(cache["bytes"] <= cache["max_bytes"] for cache in caches.values())


def test_stored_json_is_valid_utf8(small_index: Path) -> None:
    data = json.dumps(Engine(small_index).health(), ensure_ascii=False)
    assert data.encode("utf-8")


def test_every_id_a_loader_accepts_has_a_working_link(tmp_path: Path) -> None:
    """The page links each result to /doc/<id>; the link must open that article."""
    import html as html_module
    import re

    ids = ["a b", "a/b", "a//b", "x?y=1", "x#y", "%41", "نص/عربي", "100%", "a+b", "trailing.", "é"]
    root = tmp_path / "ix"
    build(root, docs_result([Document(id=i, title="الانترنت", body="الانترنت اليوم") for i in ids]), ["t"])
    client = app_client(root)
    page = client.get("/?q=الانترنت&per_page=50").get_data(as_text=True)
    links = {html_module.unescape(h) for h in re.findall(r'href="(/doc/[^"]+)"', page)}
    assert len(links) == len(ids)
    opened = set()
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, (link, response.status_code)
        api = client.get(link.replace("/doc/", "/api/doc/", 1).split("?")[0])
        assert api.status_code == 200, link
        opened.add(api.get_json()["id"])
    assert opened == set(ids)


# Whoosh leaves a file it failed to read to the garbage collector, which closes it (and warns).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_every_command_on_a_damaged_segment_is_one_line(built_for_damage: Path, tmp_path: Path) -> None:
    """A segment file cut in half: search, batch, add and delete each print one `Error:` line (no
    traceback, no bare `Aborted!`) and exit 1, as the README says; run as a user runs them."""
    root = tmp_path / "ix"
    shutil.copytree(built_for_damage, root)
    gen = current_generation(root)
    assert gen is not None
    segment = max(gen.glob("*.seg"), key=lambda p: p.stat().st_size)
    DAMAGES["truncated"](segment)
    topics = tmp_path / "topics.tsv"
    topics.write_text("q1\tوزارة\n", encoding="utf-8")
    added = tmp_path / "added.jsonl"
    added.write_text(json.dumps({"id": "new", "title": "وزارة", "body": "خبر عن وزارة الصحة"}, ensure_ascii=False) + "\n")
    for args in (["search", "وزارة"], ["batch", topics, "--output", tmp_path / "run.txt"], ["add", added], ["delete", "d-1"]):
        done = cli(*args, "--index", root)
        assert done.returncode == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr and "Aborted!" not in done.stderr, (args, done.stderr)
        assert done.stderr.strip().splitlines()[-1].startswith("Error:"), (args, done.stderr)
        assert "rebuild it" in done.stderr, (args, done.stderr)


def test_duplicate_ids_in_one_input_are_each_named(tmp_path: Path) -> None:
    """Two records with one id: the last is indexed, and the first is named in a warning line (where
    it was read and where the one kept was), not only counted."""
    source = tmp_path / "dups.jsonl"
    lines = [{"id": "dup-1", "title": f"عنوان {n}", "body": f"نص الخبر رقم {n}"} for n in range(3)]
    lines.append({"id": "other", "title": "عنوان آخر", "body": "نص آخر"})
    source.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    done = cli("reindex", source, "--index", tmp_path / "ix")
    assert done.returncode == 0, done.stderr
    named = [line for line in (done.stdout + done.stderr).splitlines() if "duplicate id" in line]
    assert len(named) == 2 and all("'dup-1'" in line and "dups.jsonl" in line for line in named), named
    # each names the record kept in its place: the third (line 3), never the second, itself replaced
    assert all(line.split("'dup-1'")[1].count("line 3") == 1 for line in named), named
    assert {re.search(r"line (\d+): duplicate id", line).group(1) for line in named} == {"1", "2"}, named  # type: ignore[union-attr]
    engine = Engine(config=defaults().replace(index=str(tmp_path / "ix")))
    assert [h.title for h in engine.search("عنوان", per_page=10).hits if h.id == "dup-1"] == ["عنوان 2"]


def test_batch_refuses_a_topic_id_twice_and_names_topics_out_of_time(tmp_path: Path, small_index: Path) -> None:
    twice = tmp_path / "twice.tsv"
    twice.write_text("q1\tوزير\nq2\tلبنان\nq1\tمصر\n", encoding="utf-8")
    done = cli("batch", twice, "--output", tmp_path / "run.txt", "--index", small_index)
    assert done.returncode == 1 and "line 3" in done.stderr and "'q1' again (first on line 1)" in done.stderr
    topics = tmp_path / "topics.tsv"
    topics.write_text("q1\tوزير\nq2\tلبنان\n", encoding="utf-8")
    slow = cli("batch", topics, "--output", tmp_path / "run.txt", "--index", small_index,
               env={**os.environ, "BAHETH_SEARCH_TIME_LIMIT": "0"})
    assert slow.returncode == 0, slow.stderr
    assert "warning: topic q1: the search ran out of time" in slow.stderr and "topic q2" in slow.stderr


def test_metadata_values_of_the_wrong_type_are_no_dates(tmp_path: Path) -> None:
    """A metadata file whose dates are numbers: /about and /api/health answer (dates null), never 500."""
    root = tmp_path / "ix"
    build(root, docs_result([article(i) for i in range(3)]), ["t"])
    gen = current_generation(root)
    assert gen is not None
    meta = json.loads((gen / "baheth.json").read_text(encoding="utf-8"))
    meta.update(built_at=5, updated_at=["x"], generation={"a": 1})
    (gen / "baheth.json").write_text(json.dumps(meta), encoding="utf-8")
    client = app_client(root)
    assert client.get("/about").status_code == 200
    health = client.get("/api/health").get_json()
    assert health["built_at"] is None and health["updated_at"] is None


def test_facets_list_the_most_used_values_up_to_a_setting(tmp_path: Path) -> None:
    """5,000 sources must not make a 700 KB answer: max_facet_values bounds each facet (most used
    first), and /about lists the 200 largest categories and counts the rest."""
    docs = [article(i, source=f"مصدر {i}", category=f"تصنيف {i}") for i in range(60)]
    docs += [article(100 + i, source="مصدر 0", category="تصنيف 0") for i in range(5)]
    root = tmp_path / "ix"
    build(root, docs_result(docs), ["t"])
    client = app_client(root, max_facet_values=20)
    data = client.get("/api/search?source=" + "مصدر 0" + "&q=").get_json()
    word = max(WORDS, key=lambda w: sum(w in d.body.split() for d in docs))  # in most of the articles
    listed = client.get("/api/search?q=" + word + "&per_page=1").get_json()["facets"]
    assert 0 < len(listed["source"]) <= 20 and 0 < len(listed["category"]) <= 20
    counts = [row["count"] for row in listed["source"]]
    assert counts == sorted(counts, reverse=True)
    assert data["total"] == 6
    about = client.get("/api/health").get_json()["collection"]
    assert about["more_categories"] == 0 and len(about["categories"]) == 60
    engine = Engine(config=defaults().replace(index=str(root)))
    few = engine.overview(most=10)
    assert len(few["categories"]) == 10 and few["more_categories"] == 50


@pytest.mark.parametrize("query_string", ["q=%ED%A0%80", "q=%D9", "source=%FF%FE", "q=%D9%84&to=%C0"])
def test_percent_encoding_that_is_not_utf8_is_a_400_naming_the_parameter(small_index: Path, query_string: str) -> None:
    """Werkzeug keeps bytes that are not UTF-8 as the literal text ("%D9"), which was then searched."""
    client = app_client(small_index)
    name = query_string.split("&")[-1].split("=")[0] if "C0" in query_string else query_string.split("=")[0]
    for path in ("/api/search", "/", "/feed.atom", "/export.csv"):
        response = client.get(f"{path}?{query_string}")
        assert response.status_code == 400, (path, response.status_code)
    body = client.get(f"/api/search?{query_string}").get_json()
    assert body["error"]["code"] == f"invalid_{name}" and "UTF-8" in body["error"]["message"]
    assert client.get("/api/search?q=%D9%84%D8%A8%D9%86%D8%A7%D9%86").status_code == 200  # UTF-8: fine
    # parameters no route reads may carry any bytes (a tracking parameter in Latin-1)
    for fine in ("/?q=%D9%84&utm_source=caf%E9", "/api/search?q%FF=1&q=x", "/api/health?x=%FF", "/api/search?q=100%"):
        assert client.get(fine).status_code == 200, fine
    assert client.get("/api/health?q=%FF").status_code == 400  # declared in the OpenAPI document


def test_stored_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """A title with an escape sequence (one that retitles a terminal) reaches `baheth search` without
    its control characters: the loader leaves them out of every field."""
    source = tmp_path / "evil.jsonl"
    record = {"id": "evil", "title": "خبر \x1b]0;pwned\x07 عاجل", "body": "نص الخبر العاجل \x1b[31m", "source": "BBC\x07"}
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli("reindex", source, "--index", tmp_path / "ix").returncode == 0
    done = cli("search", "عاجل", "--index", tmp_path / "ix")
    assert done.returncode == 0 and "خبر" in done.stdout
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "]0;pwned" in done.stdout


def test_add_of_nothing_is_an_error_like_reindex(tmp_path: Path, small_index: Path) -> None:
    root = tmp_path / "ix"
    shutil.copytree(small_index, root)
    (tmp_path / "empty").mkdir()
    done = cli("add", tmp_path / "empty", "--index", root)
    assert done.returncode == 1 and "nothing to add" in done.stderr
    assert cli("reindex", "--procs", "32", "--index", tmp_path / "procs", SEEDS).returncode == 0  # the setting's range


@pytest.mark.parametrize("encoding", ["utf-16", "cp1256"])
def test_topics_that_are_not_utf8_are_refused_with_where(tmp_path: Path, small_index: Path, encoding: str) -> None:
    topics = tmp_path / "topics.tsv"
    topics.write_bytes("q1\tوزير\nq2\tلبنان\n".encode(encoding))
    done = cli("batch", topics, "--output", tmp_path / "run.txt", "--index", small_index)
    assert done.returncode == 1 and "not UTF-8" in done.stderr and "line 1" in done.stderr, done.stderr


def test_an_id_of_only_white_space_is_a_warning(tmp_path: Path) -> None:
    source = tmp_path / "blank.jsonl"
    records = [{"id": "   ", "title": "عنوان", "body": "نص الخبر"}, {"title": "بلا معرف", "body": "نص آخر"}]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    loaded = load_sources([str(source)])
    assert len(loaded.documents) == 2
    assert [(w.reason, w.where.rsplit(" ", 1)[-1]) for w in loaded.warnings] == [("blank id", "1")]  # no id at all: no warning


@pytest.mark.parametrize(
    "control",
    ["\u202e", "\u202b", "\u2067", "\u200f", "\u061c", "\u200b", "\u2060", "\ufeff", "\u00ad", "\u2028",
     "\ufe0f", "\u034f", "\u3164"],
)
def test_an_id_with_an_invisible_character_is_refused_and_named(control: str) -> None:
    """A bidi override, a zero-width space, a soft hyphen inside an id make it show as another id:
    refused, with the character named."""
    text = "\n".join(json.dumps({"id": doc_id, "title": "عنوان", "body": "نص الخبر"})
                     for doc_id in (f"news-{control}cba", "news-عربي-1"))
    result = load_text(text, "input.jsonl")
    assert [d.id for d in result.documents] == ["news-عربي-1"]
    assert len(result.problems) == 1
    problem = str(result.problems[0])
    assert "invalid id" in problem and f"U+{ord(control):04X}" in problem and "input.jsonl" in problem, problem


@pytest.mark.parametrize("doc_id", ["خبر-می\u200cخواهم", "آية-\u06dd٢٥٥", "سنة-\u0601١٤٤٠"])
def test_an_id_written_with_zwnj_or_a_visible_arabic_sign_loads(doc_id: str) -> None:
    """Persian and Urdu words are written with ZWNJ (می‌خواهم); the end of ayah ۝ and the Arabic number
    signs are format characters that show: such ids are text, not a trick."""
    result = load_text(json.dumps({"id": doc_id, "title": "عنوان", "body": "نص الخبر"}), "input.jsonl")
    assert [d.id for d in result.documents] == [doc_id] and not result.problems


@pytest.mark.parametrize("written", ["1_0", "\u0967", "\uff11", "2.5"])
def test_procs_on_the_command_line_is_read_like_every_setting(tmp_path: Path, written: str) -> None:
    result = cli("reindex", str(SEEDS), "--index", tmp_path / "ix", "--procs", written, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "procs" in lines[0] and "Usage" not in result.stderr, result.stderr
    assert not (tmp_path / "ix").exists()


def test_a_refused_name_is_printed_escaped_not_reordering_the_line(tmp_path: Path, small_index: Path) -> None:
    """A file named with a bidi override: its problem line shows the character as \\u202e."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "news-\u202eabc.txt").write_text("عنوان\nنص الخبر", encoding="utf-8")
    index = tmp_path / "ix"
    shutil.copytree(small_index, index)
    result = cli("add", str(folder), "--index", index, timeout=60)
    assert "\u202e" not in result.stderr and "\\u202e" in result.stderr and "invalid id" in result.stderr, result.stderr
    gone = cli("delete", "x\u202eabc", "--index", index, timeout=60)
    assert "\u202e" not in gone.stderr and "not found: x\\u202eabc" in gone.stderr, gone.stderr
    missing = cli("add", str(tmp_path / "nope\u202ecba"), "--index", index, timeout=60)
    assert missing.returncode != 0, missing.stderr
    assert "\u202e" not in missing.stderr and "nope\\u202ecba" in missing.stderr, missing.stderr


def test_a_text_setting_of_two_lines_says_so() -> None:
    with pytest.raises(SettingError, match="BAHETH_INDEX: must be one line of text"):
        resolve(environ={"BAHETH_INDEX": "a\nb"})


def test_a_setting_whose_value_cannot_be_shown_is_still_one_line(small_index: Path) -> None:
    with pytest.raises(SettingError, match="per_page"):
        create_app({"INDEX": str(small_index), "per_page": [10**5000]})


def test_a_folder_named_in_another_encoding_can_be_indexed(tmp_path: Path) -> None:
    """A folder whose name is not UTF-8 (Latin-1 «é» is the byte 0xE9): indexed, and the index's
    metadata keeps its name with U+FFFD where the byte was (it crashed writing the metadata)."""
    folder = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")
    os.mkdir(folder)
    Path(folder, "a.txt").write_text("عنوان\nنص الخبر", encoding="utf-8")
    result = cli("reindex", folder, "--index", tmp_path / "ix", timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    meta = json.loads(next((tmp_path / "ix").glob("gen-*/baheth.json")).read_text(encoding="utf-8"))
    assert meta["sources"] == [os.fsdecode(bytes(tmp_path)) + "/caf\ufffd"]


@pytest.mark.parametrize(
    ("written", "accepted"), [("٥", True), ("5", True), ("1_0", False), ("\u0967", False), ("0", False)]
)
def test_search_limit_is_read_like_a_setting(small_index: Path, written: str, accepted: bool) -> None:
    result = cli("search", "الانترنت", "--index", small_index, "--limit", written, timeout=60)
    assert (result.returncode == 0) is accepted, result.stderr
    if not accepted:
        assert "--limit" in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "url", ["notaurl", "javascript:alert(1)", "ftp://example.org", "https://", "https://a b.example", "http://x/?q=1",
            "https://example.org/#top", "http://[x", "http://x:99999", "http://x:abc/", "http://host/p?", "http://host#"],
)
def test_public_url_must_be_a_web_address(url: str) -> None:
    from search.settings import SettingError, resolve

    with pytest.raises(SettingError, match="public_url"):
        resolve({"public_url": url}, environ={})
    assert resolve({"public_url": "https://search.example.org/baheth/"}, environ={}).public_url


def test_trec_paragraph_tags_are_line_breaks_not_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from search.ingest import load_sources

    source = tmp_path / "p.sgml"
    source.write_text("<DOC>\n<DOCNO>P-1</DOCNO>\n<TITLE>عنوان</TITLE>\n<TEXT>\n<P>الفقرة الأولى</P>\n<p>الفقرة الثانية\n"
                      "</TEXT>\n</DOC>\n", encoding="utf-8")
    [doc] = load_sources([source]).documents
    assert "<P>" not in doc.body.upper() and doc.body.split() == ["الفقرة", "الأولى", "الفقرة", "الثانية"]
    unclosed = tmp_path / "u.sgml"  # an unclosed <TEXT> runs to the next field's tag, not to its first <P>
    unclosed.write_text("<DOC><DOCNO>P-2</DOCNO><TEXT><P>أولى</P><P>ثانية</P><TITLE>عنوان</TITLE></DOC>", encoding="utf-8")
    [doc] = load_sources([unclosed]).documents
    assert doc.body.split() == ["أولى", "ثانية"] and doc.title == "عنوان"


@pytest.mark.parametrize("path", ["/", "/api/search", "/feed.atom", "/export.csv", "/export.jsonl"])
def test_a_query_longer_than_the_setting_is_echoed_cut_so_a_response_stays_bounded(small_index: Path, path: str) -> None:
    """The engine searches the first max_query_chars of a query; the links, the search box, the API's
    ``query`` and ``next``, the feed and the exports carry no more of it. A 60,000-character query made
    each link of the page carry all of it (a 2.6 MB page)."""
    limit = 200
    client = app_client(small_index, max_query_chars=limit)
    words = "الانترنت وزارة الخارجية " * 2_500  # 60,000 characters
    response = client.get(path, query_string={"q": words})
    assert response.status_code == 200, response.data[:300]
    body = response.get_data(as_text=True)
    as_searched = client.get(path, query_string={"q": words[:limit]}).get_data(as_text=True)
    assert len(body) <= len(as_searched) + 1_000, (len(body), len(as_searched))  # the notice, not the query
    assert words[: limit + 40] not in body
    if path == "/api/search":
        found = response.get_json()
        assert len(found["query"]) <= limit
        assert any(n["code"] == "query_cut" for n in found["notices"])
        assert found["next"] is None or len(found["next"]) < 8 * limit
