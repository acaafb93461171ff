"""The whole real corpus: every document is indexed or reported (slow: a few minutes)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest

from conftest import ANT, require_corpus
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.store import build
from search.ingest import load_sources

pytestmark = pytest.mark.corpus


def test_every_ant_document_is_indexed_or_reported(tmp_path: Path) -> None:
    corpus = require_corpus(ANT)
    # Count the documents independently of the loader: one <DOC> per member file.
    with tarfile.open(corpus) as tar:
        expected = 0
        for member in tar:
            if member.isfile() and member.name.endswith(".txt"):
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                expected += max(1, len(re.findall(rb"<DOC>", data, re.I)))
    assert expected == 31_525

    loaded = load_sources([corpus])
    report = build(tmp_path, loaded, [str(corpus)], procs=2)
    skipped = sum(report.skipped.values())
    assert report.read == expected
    assert report.indexed + skipped + report.replaced == expected
    assert report.indexed > 31_000
    ix, _ = open_index(tmp_path)
    assert ix.doc_count() == report.indexed
    with ix.searcher() as searcher:
        for doc in loaded.documents[::997]:
            assert searcher.document_number(id=doc.id) is not None, doc.id


def test_every_jawharafm_article_with_a_date_in_its_record_is_dated() -> None:
    """Half of JawharaFM writes <TIME> as DD/MM/YYYY; the rest of its ids end in YYYYMMDD.
    Counted independently: every record whose <TIME> or DOCNO holds a date gets one, and
    where both do they agree."""
    from conftest import JAWHARA
    from search.ingest import date_in_id

    corpus = require_corpus(JAWHARA)
    with tarfile.open(corpus) as tar:
        times = {}
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
                for docno, time in re.findall(r"<DOCNO>(.*?)</DOCNO>.*?<TIME>(.*?)</TIME>", data, re.S):
                    times[docno.strip()] = time.strip()
    day_first = sum(1 for t in times.values() if re.fullmatch(r"\d{2}/\d{2}/\d{4}", t))
    assert day_first > 5000  # the format this test is about is really there
    loaded = load_sources([corpus])
    dated = {d.id: d.date for d in loaded.documents}
    with_a_date = [i for i, t in times.items() if re.search(r"\d{4}", t) or date_in_id(i)]
    assert with_a_date and all(dated.get(i) is not None for i in with_a_date if i in dated)
    assert sum(1 for d in loaded.documents if d.date is None) == 0
    for doc in loaded.documents:
        from_id = date_in_id(doc.id)
        assert from_id is None or doc.date is None or from_id.date() == doc.date.date(), doc.id


# -- phrases and prefixes through clitics, counted independently on JawharaFM -------------

ARTICLE = r"(?:[وف]?[بك]?ال|[وف]?لل)"  # the article with its clitics, as the scan below reads it
POSSESSIVE = r"(?:ه|ها|هم|هما|هن|كم|كن|نا)"


@pytest.fixture(scope="module")
def jawhara(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """JawharaFM indexed, and each record's title, abstract and text normalised, read straight from the tarball."""
    from conftest import JAWHARA
    from search.analysis import normalise
    from search.engine import Engine

    corpus = require_corpus(JAWHARA)
    texts: dict[str, str] = {}
    with tarfile.open(corpus) as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".txt")):
                continue
            data = tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
            for record in re.findall(r"<DOC>(.*?)</DOC>", data, re.S):
                docno = re.search(r"<DOCNO>(.*?)</DOCNO>", record, re.S)
                parts = [m.group(1) for tag in ("TITLE", "ABSTRACT", "TEXT")
                         if (m := re.search(rf"<{tag}>(.*?)</{tag}>", record, re.S))]
                if docno:
                    texts[docno.group(1).strip()] = normalise(" \n ".join(parts))
    root = tmp_path_factory.mktemp("jawhara") / "index"
    build(root, load_sources([corpus]), [str(corpus)], procs=2)
    return Engine(root), texts


def _phrase_pattern(words: list[str]) -> re.Pattern[str]:
    """A phrase as the scan reads it: any article or clitic form of its first word; a
    possessive suffix on its last word when that word has no article."""
    first, *middle, last = words
    head = ARTICLE + re.escape(first[2:]) if first.startswith("ال") else r"[وف]?[بلك]?" + re.escape(first)
    if re.match(ARTICLE, last):
        tail = re.escape(last)
    elif last.endswith("ه"):
        tail = re.escape(last[:-1]) + "(?:ه|ت" + POSSESSIVE + ")"
    else:
        tail = re.escape(last) + POSSESSIVE + "?"
    body = r"\W+".join([head, *map(re.escape, middle), tail])
    return re.compile(r"(?<!\w)" + body + r"(?!\w)")


def _all_ids(engine, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    ids: set[str] = set()
    page = 1
    while True:
        result = engine.search(query, page=page, per_page=100, facets=False, suggest=False)
        ids |= {hit.id for hit in result.hits}
        if page * 100 >= result.total:
            return ids
        page += 1


@pytest.mark.parametrize(
    "phrase",
    ["الاتحاد العام التونسي للشغل", "الأمم المتحدة", "وزارة الصحة", "رئيس الحكومة", "كرة القدم", "مجلس نواب الشعب"],
)
def test_phrases_find_every_clitic_form_in_jawharafm(jawhara, phrase: str) -> None:  # type: ignore[no-untyped-def]
    from search.analysis import normalise

    engine, texts = jawhara
    pattern = _phrase_pattern(normalise(phrase).split())
    expected = {docno for docno, text in texts.items() if pattern.search(text)}
    assert len(expected) >= 20, "the phrase is common in the corpus: the count means something"
    got = _all_ids(engine, f'"{phrase}"')
    missed = expected - got
    assert len(missed) <= 0.01 * len(expected), (len(expected), len(got), sorted(missed)[:10])
    assert len(got - expected) <= 0.01 * len(expected), sorted(got - expected)[:10]


@pytest.mark.parametrize("prefix", ["انترن", "الانترن", "اقتصاد", "انتخاب"])
def test_prefixes_find_words_after_clitics_in_jawharafm(jawhara, prefix: str) -> None:  # type: ignore[no-untyped-def]
    engine, texts = jawhara
    bare = prefix[2:] if prefix.startswith("ال") else prefix
    pattern = re.compile(r"(?<!\w)(?:[وف]?[بلك]?|" + ARTICLE + ")" + re.escape(bare))
    expected = {docno for docno, text in texts.items() if pattern.search(text)}
    assert len(expected) >= 20
    got = _all_ids(engine, prefix + "*")
    missed = expected - got
    assert len(missed) <= 0.01 * len(expected), (len(expected), len(got), sorted(missed)[:10])


GROUPING_PAIRS = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "grouping-pairs.jsonl"


def test_story_groups_on_jawharafm(jawhara) -> None:  # type: ignore[no-untyped-def]
    """The judged JawharaFM pairs (benchmarks/grouping.py) as the index groups them, and common
    one-word queries: their top 10 repeats stories, and shows none twice once collapsed."""
    import json

    engine, _texts = jawhara
    pairs = [json.loads(line) for line in GROUPING_PAIRS.read_text(encoding="utf-8").splitlines()]
    pairs = [p for p in pairs if p["corpus"] == "jawhara" and p["label"] in ("same", "different")]
    assert len(pairs) >= 80

    def key(doc_id: str) -> str:
        doc = engine.document(doc_id, related=0)
        assert doc is not None and doc.group is not None, doc_id
        return doc.group.id

    grouped = [(key(p["a"]) == key(p["b"]), p["label"] == "same") for p in pairs]
    together = [same for is_grouped, same in grouped if is_grouped]
    precision = sum(together) / len(together)
    recall = sum(1 for is_grouped, same in grouped if is_grouped and same) / sum(same for _, same in grouped)
    # Measured 0.947 / 0.878 on these 90 pairs (benchmarks/results/grouping.md): a guard, not a target.
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)

    repeated = 0
    for query in ["تونس", "الانتخابات", "الصحة", "فرنسا", "النفط", "الحكومة", "كرة القدم", "الأمطار"]:
        every = engine.search(query, collapse=False, suggest=False, facets=False)
        keys = [h.group.id for h in every.hits]
        repeated += len(keys) != len(set(keys))
        one = engine.search(query, collapse=True, suggest=False, facets=False)
        keys = [h.group.id for h in one.hits]
        assert len(keys) == len(set(keys)) == min(10, one.total), query
        assert one.articles == every.total >= one.total
    assert repeated >= 2, "the sample should hold queries whose top 10 repeats a story"


def test_june_finds_the_maghrebi_name_the_tunisian_press_writes(jawhara) -> None:  # type: ignore[no-untyped-def]
    """JawharaFM writes جوان; a reader types يونيو (or حزيران): every article naming the month is found."""
    engine, texts = jawhara
    named = {doc_id for doc_id, text in texts.items() if re.search(r"(?<!\w)[وبل]?جوان(?!\w)", text)}
    assert len(named) > 50, "the corpus should name June as جوان"
    for typed in ("يونيو", "حزيران"):
        found = _all_ids(engine, typed)
        assert len(named & found) >= 0.99 * len(named), (typed, len(named & found), len(named))
