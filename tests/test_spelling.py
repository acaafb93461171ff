"""The "did you mean" speller: edit distance and suggestions from a vocabulary."""

from __future__ import annotations

import pytest

from search.spelling import Speller, edit_distance


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("مصر", "مصر", 0),
        ("مصرر", "مصر", 1),  # one letter too many
        ("الانترنيت", "الانترنت", 1),  # an extra yeh
        ("فيسبوك", "فسيبوك", 1),  # two letters swapped
        ("ترامب", "ترمب", 1),
        ("سوريا", "سورية", 1),
        ("لبنان", "مصر", 5),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


VOCABULARY = {"الانترنت": 40, "الانتخابات": 90, "مصر": 500, "مصري": 200, "فيسبوك": 30, "ترامب": 300}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("الانترنيت", "الانترنت"),
        ("الاننترنت", "الانترنت"),
        ("فسيبوك", "فيسبوك"),
        ("ترامبب", "ترامب"),
        ("مصرر", "مصر"),  # distance 1 to both مصر and مصري: the more used wins
        ("مصر", None),  # known words are not corrected
        ("كلمةمختلفةتماما", None),
        ("مص", None),  # too short to guess
    ],
)
def test_suggest(typed: str, expected: str | None) -> None:
    assert Speller(dict(VOCABULARY)).suggest(typed) == expected


def _reference_suggestion(frequency: dict[str, int], word: str) -> str | None:
    """The speller as first written: a dictionary from every deletion to its words."""
    from collections import defaultdict

    from search.spelling import _deletions

    by_deletion: dict[str, list[str]] = defaultdict(list)
    for known in frequency:
        for key in _deletions(known):
            by_deletion[key].append(known)
    if word in frequency or not 3 <= len(word) <= 30:
        return None
    candidates = set(by_deletion.get(word, ()))
    for key in _deletions(word):
        if key in frequency:
            candidates.add(key)
        candidates.update(by_deletion.get(key, ()))
    ranked = sorted((edit_distance(word, c), -frequency[c], c) for c in candidates if edit_distance(word, c) <= 2)
    return ranked[0][2] if ranked else None


def _corpus_vocabulary() -> dict[str, int]:
    """Real Arabic words with counts: every word of the fixture articles and the seed."""
    import collections
    import re

    from tests.conftest import FIXTURES, SEEDS

    text = " ".join(p.read_text(encoding="utf-8") for p in [*SEEDS.iterdir(), FIXTURES / "news.sgml"] if p.is_file())
    counts = collections.Counter(re.findall(r"[\u0621-\u064a]{3,}", text))
    return dict(counts)


def test_compact_speller_suggests_what_the_dictionary_speller_did() -> None:
    """Typos of real words (a letter dropped, doubled, changed, two swapped): the same suggestion."""
    import random

    vocabulary = _corpus_vocabulary()
    assert len(vocabulary) > 300
    speller = Speller(vocabulary)
    rng = random.Random(3)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    typos = []
    for word in rng.sample(sorted(vocabulary), 150):
        i = rng.randrange(len(word))
        typos += [
            word[:i] + word[i + 1 :],
            word[:i] + word[i] + word[i:],
            word[:i] + rng.choice(letters) + word[i + 1 :],
        ]
        if i + 1 < len(word):
            typos.append(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    differences = [t for t in typos if speller.suggest(t) != _reference_suggestion(vocabulary, t)]
    assert differences == []
    assert sum(speller.suggest(t) is not None for t in typos) > len(typos) // 2


def test_speller_is_bounded_in_bytes_keeping_the_most_used_words() -> None:
    vocabulary = _corpus_vocabulary()
    whole = Speller(vocabulary)
    bound = whole.nbytes // 4
    small = Speller(vocabulary, max_bytes=bound)
    assert 0 < len(small) < len(whole) and small.nbytes <= bound
    kept = {w for w in vocabulary if small.known(w)}
    assert min(vocabulary[w] for w in kept) >= max(vocabulary[w] for w in vocabulary if w not in kept)
    assert small.count(next(iter(kept))) == vocabulary[next(iter(kept))]
    assert small.count("ليستكلمة") == 0


def test_speller_estimate_is_close_to_what_python_allocates() -> None:
    import tracemalloc

    text = "".join(f"{word}\t{n}\n" for word, n in sorted(_corpus_vocabulary().items()))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        speller = Speller.from_text(text)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0.5 * used <= speller.nbytes <= 1.5 * used, (speller.nbytes, used)


# How often ANT's documents use each word (counted in its vocabulary), for the respelling rules.
ANT_LIKE = {
    "الانتخابات": 467, "الانتخاب": 60, "وتفيد": 388, "كوفي": 40, "الاقتصاد": 2100, "فلسطين": 1500,
    "ترامب": 3000, "ترمب": 535, "الحكومة": 5000, "الحكومي": 300, "الكتاب": 400, "بالكتاب": 30,
    "لبنانيين": 400, "لبنانيون": 15, "مصري": 900, "مصر": 3600, "السودان": 700, "السوداني": 300,
}


@pytest.mark.parametrize(
    ("typed", "used", "expected"),
    [
        ("الانتخبات", 14, "الانتخابات"),  # used a little, the respelling 33x more: suggested
        ("الانتخبات", 0, "الانتخابات"),
        ("كوفيد", 0, "كوفي"),  # not وتفيد: a clitic never replaces a letter
        ("لكوفي", 0, None),  # only a clitic dropped
        ("وبكوفي", 0, None),  # too far: two letters, in a word of five
        ("فلسطبن", 0, "فلسطين"),
        ("الاقتصد", 0, "الاقتصاد"),
        ("ترمب", 535, None),  # both spellings are in real use
        ("السوداني", 300, None),
        ("كتاب", 0, None),  # to الكتاب: only the article, the same light stem
        ("لبنانيون", 15, None),  # the same light stem as لبنانيين: the search finds both already
        ("مصرى", 0, None),  # folds to مصري, a known word: nothing to fix
    ],
)
def test_respelling_rules(typed: str, used: int, expected: str | None) -> None:
    from search.analysis import normalise
    from search.engine import _respelling

    speller = Speller(dict(ANT_LIKE))
    form = normalise(typed)
    assert _respelling(form, speller, used if not speller.known(form) else speller.count(form)) == expected


def test_no_results_shows_the_respellings_results_and_says_so(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/search?q=الانترنبت").get_json()
    assert data["respelled_from"] == "الانترنبت" and data["query"] == "الإنترنت" and data["total"] > 0
    page = client.get("/?q=الانترنبت").get_data(as_text=True)
    assert "عرض نتائج" in page and "بدلاً من" in page and "respell=0" in page
    as_typed = client.get("/api/search?q=الانترنبت&respell=0").get_json()
    assert as_typed["respelled_from"] is None and as_typed["total"] == 0 and as_typed["suggestion"] == "الإنترنت"
    bad = client.get("/api/search?q=x&respell=maybe")
    assert bad.status_code == 400 and "respell" in bad.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # The search form of each word -> the written form most articles use.
        (["عقد مؤتمر صحفي", "المؤتمر", "مؤتمر دولي", "مءتمر"], {"مءتمر": "مؤتمر", "المءتمر": "المؤتمر"}),
        (["الحكومة", "الحكومة", "الحكومه"], {"الحكومه": "الحكومة"}),
        (["قالت إسرائيل", "اسرائيل"], {"اسراءيل": "إسرائيل"}),  # one each: the first in code point order
        (["مُسؤوليّة"], {"مسءوليه": "مسؤولية"}),  # marks are not spelling
        (["مصر تونس"], {}),  # written as searched: nothing to keep
    ],
)
def test_count_spellings(texts: list[str], expected: dict[str, str]) -> None:
    from search.spelling import count_spellings

    assert count_spellings(texts) == expected


def test_vocabulary_keeps_written_forms_and_reads_older_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from search.spelling import read_spellings, write_vocabulary

    path = tmp_path / "vocabulary.tsv"
    write_vocabulary({"مءتمر": 5, "مصر": 9}, 5, path, {"مءتمر": "مؤتمر"})
    assert path.read_text(encoding="utf-8") == "مءتمر\t5\tمؤتمر\nمصر\t9\n"
    speller = Speller.from_text(path.read_text(encoding="utf-8"))
    assert speller.suggest("موتمر") == "مءتمر" and speller.written("مءتمر") == "مؤتمر"
    assert speller.written("مصر") == "مصر"
    older = Speller.from_text("مءتمر\t5\nمصر\t9\n")  # a vocabulary written before it kept written forms
    assert older.suggest("موتمر") == "مءتمر" and older.written("مءتمر") == "مءتمر"
    # A damaged third column (not a way of writing the word) is never shown.
    assert Speller.from_text("مءتمر\t5\tقنبلة\n").written("مءتمر") == "مءتمر"
    assert read_spellings("مءتمر\t5\tقنبلة\nمصر\t9\n") == {}


def test_suggestion_is_written_as_the_articles_write_it(client) -> None:  # type: ignore[no-untyped-def]
    """Not the search form (مءتمر, with ؤ folded to ء): the spelling of the articles, on both backends."""
    data = client.get("/api/search?q=موتمر").get_json()
    assert data["suggestion"] == "مؤتمر" and data["respelled_from"] == "موتمر" and data["total"] > 0
    page = client.get("/?q=موتمر").get_data(as_text=True)
    assert "<strong>مؤتمر</strong>" in page and "مءتمر" not in page
    as_typed = client.get("/?q=موتمر&respell=0").get_data(as_text=True)
    assert "هل تقصد" in as_typed and '<bdi dir="rtl">مؤتمر</bdi>' in as_typed and "مءتمر" not in as_typed
    # The suggestion searches what the respelling searched.
    assert client.get("/api/search?q=مؤتمر").get_json()["total"] == data["total"]


def test_added_articles_bring_their_written_forms(fresh_index) -> None:  # type: ignore[no-untyped-def]
    """`baheth add` keeps the written forms the index had and adds those of new words."""
    import json

    from search.engine import Engine
    from tests.conftest import cli

    body = "افتتح مستشفى جديد في المدينة، وقال مدير المستشفى إن مستشفى الأطفال"
    record = {"id": "SPELL-1", "title": "مستشفى", "body": body}
    source = fresh_index.parent / "spell.jsonl"
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli("add", source, "--index", fresh_index).returncode == 0
    engine = Engine(fresh_index)
    assert engine.search("مستشفا", respell=False).suggestion == "مستشفى"
    assert engine.search("موتمر", respell=False).suggestion == "مؤتمر"


@pytest.mark.parametrize(
    ("typed", "suggestion", "shown"),
    [
        ("كوفيد", "كوفي", False),  # a word the archive predates: not a typo of كوفي (Kofi Annan)
        ("كوفي", "كوفيد", False),
        ("كوفيد تونس", "كوفي تونس", False),
        ("الانترنبت", "الإنترنت", True),  # a letter inside the word: a typo
        ("موتمر", "مؤتمر", True),
        ("تونسس", "تونس", True),  # the last letter typed twice: a typo
        ("الانترنتت", "الإنترنت", True),
    ],
)
def test_a_respelling_that_only_cuts_or_adds_final_letters_is_offered_not_shown(
    typed: str, suggestion: str, shown: bool
) -> None:
    """Browser review: «كوفيد» showed 34 articles on Kofi Annan under «كوفي»; a journalist checking whether the
    archive covers a topic must see that it does not, with «هل تقصد: كوفي؟» to follow if meant."""
    from search.engine import _a_typo

    assert _a_typo(typed, suggestion) is shown


def test_a_word_the_archive_predates_finds_nothing_and_is_offered_its_neighbour(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from search.backends.whoosh.store import build
    from search.engine import Engine
    from search.ingest import Document, LoadResult

    docs = [Document(f"k{i}", f"كوفي أنان {i}", f"توفي كوفي أنان الأمين العام السابق للأمم المتحدة {i}.")
            for i in range(30)]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    found = Engine(tmp_path).search("كوفيد")
    assert found.total == 0 and found.respelled_from is None and found.suggestion == "كوفي"
