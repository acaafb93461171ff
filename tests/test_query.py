"""The query language: what users type -> clauses -> Whoosh queries."""

from __future__ import annotations

import pytest

from search.query import Clause, tokenize_query

TOKENIZE = [
    ("الانترنت", [("word", "الانترنت", None, False, False)]),
    ('"الأمم المتحدة"', [("phrase", "الأمم المتحدة", None, False, False)]),
    ("“الأمم المتحدة”", [("phrase", "الأمم المتحدة", None, False, False)]),
    ("«الأمم المتحدة» مكافحة", [("phrase", "الأمم المتحدة", None, False, False), ("word", "مكافحة", None, False, False)]),
    ("مصر -السودان", [("word", "مصر", None, False, False), ("word", "السودان", None, True, False)]),
    ("لبنان OR سوريا", [("word", "لبنان", None, False, True), ("word", "سوريا", None, False, False)]),
    ("لبنان أو سوريا", [("word", "لبنان", None, False, True), ("word", "سوريا", None, False, False)]),
    ("title:لبنان", [("word", "لبنان", "title", False, False)]),
    ("عنوان:لبنان", [("word", "لبنان", "title", False, False)]),
    ("مصدر:BBC تصنيف:sport", [("word", "BBC", "source", False, False), ("word", "sport", "category", False, False)]),
    ('source:"أصداء الخليج"', [("phrase", "أصداء الخليج", "source", False, False)]),
    ("انترن*", [("prefix", "انترن", None, False, False)]),
    ('"غير مغلق', [("phrase", "غير مغلق", None, False, False)]),
    ("foo:bar", [("word", "foo:bar", None, False, False)]),
    ("OR", []),
    ("تونس AND الجزائر", [("word", "تونس", None, False, False), ("word", "الجزائر", None, False, False)]),
    ("AND", []),
    ("-AND title:AND", [("word", "AND", None, True, False), ("word", "AND", "title", False, False)]),
    ("research and development", [("word", w, None, False, False) for w in ("research", "and", "development")]),
    ("-", [("word", "-", None, False, False)]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), TOKENIZE)
def test_tokenize_query(text: str, expected: list[tuple]) -> None:
    got = [(c.kind, c.text, c.field, c.negated, c.or_next) for c in tokenize_query(text)]
    assert got == expected


def test_clause_defaults() -> None:
    assert tokenize_query("كلمة")[0] == Clause("word", "كلمة")


@pytest.mark.parametrize(
    ("typed", "codes"),
    [
        ("رياضة", {"sport"}),
        ("الرياضة", {"sport"}),
        ("رياضه", {"sport"}),
        ("sport", {"sport"}),
        ("SPORT", {"sport"}),
        ("سياسة", {"politic", "politics"}),  # one label, the codes of two feeds
        ("وطني", {"localNews"}),
        ("منوعات", {"diverse"}),
        ("طقس", set()),
    ],
)
def test_categories_are_selected_by_their_arabic_label(typed: str, codes: set[str]) -> None:
    from search.query import facet_values

    class Values:
        def values(self, field: str) -> list[str]:
            return ["sport", "politic", "politics", "localNews", "diverse", "culture"]

    assert set(facet_values(Values(), "category", typed)) == codes  # type: ignore[arg-type]


def test_every_category_of_the_shared_corpora_has_an_arabic_label() -> None:
    from search.labels import CATEGORY_LABELS

    ant = {"culture", "economy", "internationalNews", "middleEast", "sport", "technology"}
    jawhara = {"culture", "diverse", "economy", "internationalNews", "localNews", "politic", "society", "sport",
               "technology"}
    assert ant | jawhara <= set(CATEGORY_LABELS)
    assert all(any("\u0600" <= ch <= "\u06ff" for ch in label) for label in CATEGORY_LABELS.values())


class _CountingLexicon:
    """A lexicon over a fixed word list that counts what it is asked."""

    def __init__(self, words: list[str]) -> None:
        self.all = sorted(words)
        self.read: list[tuple[str, str, int | None]] = []
        self.frequencies = 0

    def words(self, field: str, prefix: str, limit: int | None = None):  # type: ignore[no-untyped-def]
        self.read.append((field, prefix, limit))
        return iter([w for w in self.all if w.startswith(prefix)][:limit])

    def doc_frequency(self, field: str, word: str) -> int:
        self.frequencies += 1
        return 1

    def values(self, field: str) -> list[str]:
        return []


def test_a_prefix_repeated_in_one_query_is_expanded_once_and_reads_are_bounded() -> None:
    """A query of the same broad prefix 64 times read the term list 64 times (55 s on Xapian
    shards); each lexicon read is bounded by what the prefix's cap can still use."""
    from search.query import QueryBuilder
    from search.settings import defaults

    lexicon = _CountingLexicon([f"انتر{chr(0x0621 + i % 26)}{chr(0x0621 + i // 26 % 26)}" for i in range(5000)])
    config = defaults().replace(max_prefix_terms=5)
    QueryBuilder(lexicon, config=config).parse("انتر*")
    once, frequencies = len(lexicon.read), lexicon.frequencies
    assert once >= 1 and all(limit is not None and limit <= 5 * 40 + 1 for _f, _p, limit in lexicon.read)
    assert frequencies <= 5 * 40 + once  # never the whole list of 5,000
    lexicon.read.clear()
    lexicon.frequencies = 0
    parsed = QueryBuilder(lexicon, config=config).parse(" ".join(["انتر*"] * 20))
    assert len(lexicon.read) == once and lexicon.frequencies == frequencies
    assert parsed.query is not None


# Words a query holds however they are joined: by spaces, by punctuation inside one clause, in quotes.
MANY_WORDS = [
    " ".join(f"وزير{chr(0x0628 + i % 20)}{chr(0x0628 + i // 20 % 20)}" for i in range(300)),
    ",".join(f"وزير{chr(0x0628 + i % 20)}{chr(0x0628 + i // 20 % 20)}" for i in range(300)),
    "،".join(f"وزير{chr(0x0628 + i % 20)}{chr(0x0628 + i // 20 % 20)}" for i in range(300)),
    '"' + " ".join(f"وزير{chr(0x0628 + i % 20)}{chr(0x0628 + i // 20 % 20)}" for i in range(300)) + '" لبنان',
]


@pytest.mark.parametrize("typed", MANY_WORDS, ids=["spaces", "commas", "arabic-commas", "phrase"])
def test_the_words_searched_are_bounded_however_they_are_joined(typed: str) -> None:
    """max_query_terms bounds the words a search looks up, not the clauses: a query of 300 words
    joined by punctuation (one clause) searched them all."""
    from search.query import QueryBuilder
    from search.settings import defaults

    config = defaults().replace(max_query_terms=10)
    parsed = QueryBuilder(_CountingLexicon([]), config=config).parse(typed)
    assert any(n.code == "too_many_words" for n in parsed.notices)
    assert 0 < len(parsed.wanted_forms) <= 10


def test_a_marked_words_origin_is_its_own_word_and_bounded() -> None:
    """The article page titles each marked word with the query word it answers: the word itself
    when words are joined by punctuation, never the whole clause; a long phrase is cut."""
    from search.query import MAX_ORIGIN_CHARS, QueryBuilder
    from search.settings import defaults

    builder = QueryBuilder(_CountingLexicon([]), config=defaults())
    parsed = builder.parse("الانتخابات,البلدية,تونس")
    assert parsed.highlight_origins["انتخاب"] == "الانتخابات" and parsed.highlight_origins["تونس"] == "تونس"
    long_phrase = '"' + " ".join(["كلمة"] + [f"خبر{chr(0x0628 + i % 20)}" for i in range(200)]) + '" لبنان'
    parsed = builder.parse(long_phrase)
    assert parsed.highlight_origins and all(len(o) <= MAX_ORIGIN_CHARS + 2 for o in parsed.highlight_origins.values())


@pytest.mark.parametrize(
    ("typed", "kept_whole"),
    [
        ('وزير لبنان source:"BBC Arabic"', 'source:"BBC Arabic"'),  # a filter: whole or not at all
        ('وزير -"وزارة الدفاع"', None),  # an exclusion never narrowed to one of its words
        ("وزير -كوفيد,تونس", None),
        ("فيروس title:كوفيد,تونس", None),  # a field's clause: whole or not at all
    ],
)
def test_the_word_cap_never_changes_what_a_clause_selects(typed: str, kept_whole: str | None) -> None:
    """At the word cap, only a plain clause of words is cut partway; a filter, an exclusion, a
    field's clause is kept whole or left out whole, with the notice."""
    from search.query import capped

    clauses = tokenize_query(typed)
    kept, cut = capped(clauses, 3 if kept_whole else 2)
    originals = {(c.kind, c.field, c.negated): c.text for c in clauses}
    for clause in kept:
        if clause.field is not None or clause.negated:
            assert clause.text == originals[(clause.kind, clause.field, clause.negated)], clause
    if kept_whole:
        assert not cut and len(kept) == len(clauses)  # a source counts as one word
    else:
        assert cut and all(c.field is None and not c.negated for c in kept)


def test_a_phrase_at_the_cap_keeps_two_words_or_goes() -> None:
    from search.query import capped

    kept, cut = capped(tokenize_query('فيروس "انتشار فيروس كوفيد"'), 3)
    assert cut and kept[-1].kind == "phrase" and kept[-1].text == "انتشار فيروس"
    kept, cut = capped(tokenize_query('فيروس "انتشار فيروس كوفيد"'), 2)
    assert cut and [c.kind for c in kept] == ["word"]


def test_a_prefix_origin_is_bounded_too() -> None:
    from search.query import MAX_ORIGIN_CHARS, QueryBuilder
    from search.settings import defaults

    parsed = QueryBuilder(_CountingLexicon(["تونس"]), config=defaults()).parse("تون" + "ـ" * 1900 + "*")
    assert parsed.highlight_origins and all(len(o) <= MAX_ORIGIN_CHARS for o in parsed.highlight_origins.values())
