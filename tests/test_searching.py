"""Searching a real index on disk: ranking, highlighting, filters, facets, suggestions."""

from __future__ import annotations

import re
from datetime import date

import pytest

from conftest import JSON2_ID, SEED_ID
from search.engine import Engine, Filters
from search.ingest import Document


@pytest.fixture(params=["whoosh", "xapian"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every test here runs on both backends, over the same documents."""
    return request.getfixturevalue("engine" if request.param == "whoosh" else "xapian_engine")


def ids(engine: Engine, text: str, **kwargs) -> list[str]:
    return [hit.id for hit in engine.search(text, **kwargs).hits]


@pytest.mark.parametrize(
    "query",
    ["الانترنت", "الإنترنت", "انترنت", "للإنترنت", "#الانترنت", "الإِنْتَرْنِت", "الانـــترنت", "بالانترنت"],
)
def test_every_spelling_finds_the_seed(engine: Engine, query: str) -> None:
    assert SEED_ID in ids(engine, query)


def test_seed_highlights_whole_words(engine: Engine) -> None:
    result = engine.search("الانترنت")
    hit = next(h for h in result.hits if h.id == SEED_ID)
    assert "<mark>#الانترنت</mark>" in hit.title_html
    assert "<mark>الإنترنت</mark>" in hit.snippet or "<mark>للإنترنت</mark>" in hit.snippet
    doc = engine.document(SEED_ID, "الانترنت")
    assert doc is not None
    body = re.sub(r'<mark title="[^"]*">', "<mark>", doc.body_html)  # the page's marks say why (tested below)
    assert "<mark>الإنترنت</mark>" in body and "<mark>للإنترنت</mark>" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("مسؤولون", {SEED_ID, "FX-tech-1"}),  # مسئولون in the fixture
        ("مسئولون", {SEED_ID, "FX-tech-1"}),
        ("فيسبوك", {SEED_ID, JSON2_ID, "FX-tech-1"}),
        ("FACEBOOK", {SEED_ID, JSON2_ID, "FX-tech-1"}),  # Latin letters, any case: and its Arabic spellings
        ("٢٠١٨", {"FX-tech-1"}),
        ("لبنان", {"FX-intl-2"}),
        ("اللبن", {"FX-econ-3"}),  # milk does not find Lebanon
        ("واشنطن", {"FX-intl-2"}),
    ],
)
def test_matches(engine: Engine, query: str, expected: set[str]) -> None:
    assert set(ids(engine, query)) == expected


@pytest.mark.parametrize(
    "query",
    ['"مؤتمر الأمم"', "«رسائل التطرف»", "title:مسؤولون", "مسؤول*", "رسائل -مؤتمر", "وسائط التواصل", "مسئولون"],
)
def test_a_query_written_decomposed_finds_what_the_composed_one_finds(engine: Engine, query: str) -> None:
    """ئ and ؤ pasted decomposed (NFD: ي or و, then the combining hamza) are the same letters: in a
    phrase, a field, a prefix and an exclusion as in a word."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", query)
    assert decomposed != query
    composed = ids(engine, query, collapse=False)
    assert composed or query.startswith("رسائل -"), query
    assert ids(engine, decomposed, collapse=False) == composed


def test_a_missing_word_does_not_empty_the_results(engine: Engine) -> None:
    assert ids(engine, "لبنان كلمةغيرموجودةابدا")[0] == "FX-intl-2"


def test_a_whole_headline_finds_its_article(engine: Engine) -> None:
    assert ids(engine, "المنتخب المصري يتأهل إلى كأس العالم في روسيا")[0] == "FX-sport-4"


def test_exact_form_ranks_above_stem_only_match(engine: Engine) -> None:
    # Both mention حسابات forms; the exact form boosts the one that uses it as typed.
    result = engine.search("الحسابات المزيفة")
    assert result.hits[0].id == "FX-tech-1"


def test_phrase_and_exclusion(engine: Engine) -> None:
    assert ids(engine, '"الأمم المتحدة"') and set(ids(engine, '"الأمم المتحدة"')) <= {SEED_ID, JSON2_ID}
    assert "FX-intl-2" not in ids(engine, "وزارة -لبنان")
    assert "FX-culture-5" in ids(engine, "وزارة -لبنان")


def test_quotes_in_a_longer_query_also_count_their_words(engine: Engine) -> None:
    # Alone, a phrase is strict: the words apart do not match.
    assert "FX-culture-5" not in ids(engine, '"الفرعون المصري"')
    # Beside other words (a pasted headline), quoted words count one by one too.
    assert "FX-culture-5" in ids(engine, 'خبر "الفرعون المصري"')


def test_or_and_fields(engine: Engine) -> None:
    assert set(ids(engine, "لبنان OR المريخ")) == {"FX-intl-2", "FX-json-1"}
    assert ids(engine, "title:فيسبوك") == ["FX-tech-1"]  # FX-json-2 has it in the body only
    assert set(ids(engine, "وزارة source:cnn")) == {"FX-intl-2"}
    assert set(ids(engine, "مصدر:bbc")) == {"FX-tech-1", "FX-culture-5", "FX-json-3"}
    assert set(ids(engine, 'source:"اصداء الخليج"')) == {SEED_ID, JSON2_ID}


@pytest.mark.parametrize("match", ["auto", "any", "all"])
@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_a_filter_typed_beside_words_keeps_the_words(engine: Engine, match: str, sort: str) -> None:
    # source:/category: are filters: the words beside them must still match (at least one of them),
    # whatever the match mode and sort. Ranked «any», they once returned every article of the filter.
    bbc = set(ids(engine, "مصدر:bbc"))
    assert len(bbc) >= 3
    for query in ("وزارة source:bbc", "source:BBC وزارة", "وزارة مصدر:bbc", "وزارة كلمةغيرموجودةابدا source:bbc"):
        found = set(ids(engine, query, match=match, sort=sort))
        assert found == {"FX-culture-5"}, (query, found)
    everything = set(ids(engine, "وزارة OR الحسابات", match=match, sort=sort))
    assert set(ids(engine, "وزارة OR الحسابات source:bbc", match=match, sort=sort)) == everything & bbc
    assert ids(engine, "كلمةغيرموجودةابدا source:bbc", match=match, sort=sort) == []
    assert ids(engine, "كلمةغيرموجودةابدا category:technology", match=match, sort=sort) == []


def test_prefix(engine: Engine) -> None:
    assert SEED_ID in ids(engine, "الانترن*")


def test_filters_and_facets(engine: Engine) -> None:
    result = engine.search("وزارة", filters=Filters(source=["BBC"]))
    assert [h.id for h in result.hits] == ["FX-culture-5"]
    everything = engine.search("وزارة")
    # The seed (أصداء الخليج) writes «بوزارة الخارجية»: the word after the preposition ب.
    assert everything.facets["source"] == {"BBC": 1, "CNN": 1, "أصداء الخليج": 1}
    dated = engine.search(
        "الحسابات OR المنتخب", filters=Filters(date_from=date(2018, 1, 1), date_to=date(2018, 12, 31))
    )
    assert [h.id for h in dated.hits] == ["FX-tech-1"]


def test_filters_without_words_browse_newest_first(engine: Engine) -> None:
    result = engine.search("", filters=Filters(source=["bbc"]))
    assert [h.id for h in result.hits] == ["FX-culture-5", "FX-tech-1", "FX-json-3"]  # the undated one last
    assert result.total == 3


def _dated_then_undated(dates: list[str | None]) -> list[str]:
    """The dates of a date-sorted page, checking that the undated articles (None) come after every dated one."""
    dated = [d for d in dates if d is not None]
    assert dates == [*dated, *[None] * (len(dates) - len(dated))], dates
    return dated


def test_sort_newest_and_paging(engine: Engine) -> None:
    newest = engine.search("وزارة OR الحسابات OR المنتخب", sort="newest")
    # The undated seed matches too («بوزارة الخارجية»): last, after the dated ones newest first.
    dated = _dated_then_undated([h.date for h in newest.hits])
    assert dated == sorted(dated, reverse=True) and len(dated) == 4 and newest.hits[-1].id == SEED_ID
    page1 = engine.search("وزارة OR الحسابات OR المنتخب", per_page=3, page=1)
    page2 = engine.search("وزارة OR الحسابات OR المنتخب", per_page=3, page=2)
    assert page1.total == page2.total == 5
    assert not {h.id for h in page1.hits} & {h.id for h in page2.hits}
    assert len(page2.hits) == 2


def test_sort_oldest_first_with_the_undated_last(engine: Engine) -> None:
    oldest = engine.search("وزارة OR الحسابات OR المنتخب", sort="oldest")
    newest = engine.search("وزارة OR الحسابات OR المنتخب", sort="newest")
    dates = _dated_then_undated([h.date for h in oldest.hits])
    assert dates == sorted(dates) and dates[0] < dates[-1]
    # The dated in reverse order of newest first; the undated seed («بوزارة») last both ways.
    assert [h.id for h in oldest.hits] == [h.id for h in reversed(newest.hits[:-1])] + [SEED_ID]
    assert newest.hits[-1].id == SEED_ID
    # Browsing by filters alone: newest first by default, oldest first when asked; undated last both ways.
    browse = engine.search("", filters=Filters(source=["bbc"]), sort="oldest")
    assert [h.id for h in browse.hits] == ["FX-tech-1", "FX-culture-5", "FX-json-3"]
    pages = [engine.search("", filters=Filters(source=["bbc"]), sort="oldest", per_page=1, page=n) for n in (1, 2, 3)]
    assert [p.hits[0].id for p in pages] == ["FX-tech-1", "FX-culture-5", "FX-json-3"]


def test_suggestion_for_a_misspelling(engine: Engine) -> None:
    result = engine.search("الانترنيت")
    assert result.suggestion == "الإنترنت"  # as the articles write it most often


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "«",
        "OR",
        "أو",
        "-",
        "*",
        "في من على",
        "😀🔥",
        "\x00\x07",
        "a" * 5000,
        "title:",
        ":::",
        '"" "" -""',
        "(",
        "مصدر:",
    ],
)
def test_odd_queries_never_raise(engine: Engine, query: str) -> None:
    result = engine.search(query)
    assert result.total >= 0


def test_stopword_only_query_says_so(engine: Engine) -> None:
    result = engine.search("في من على")
    assert result.total == 0 and result.notices


def test_related_articles(engine: Engine) -> None:
    doc = engine.document(JSON2_ID)
    assert doc is not None
    assert SEED_ID in [h.id for h in doc.related]
    assert engine.document("no-such-id") is None


@pytest.mark.parametrize(
    ("query", "match", "expected", "applied"),
    # The seed writes «بوزارة الخارجية»: وزارة after the preposition ب, found as وزارة.
    [
        ("وزارة الآثار", "auto", {"FX-intl-2", "FX-culture-5", SEED_ID}, "any"),  # by relevance: any word
        ("وزارة الآثار", "all", {"FX-culture-5"}, "all"),
        ("وزارة الآثار", "any", {"FX-intl-2", "FX-culture-5", SEED_ID}, "any"),
        ("وزارة", "auto", {"FX-intl-2", "FX-culture-5", SEED_ID}, "any"),  # one word: nothing to require
        ("وزارة -الآثار", "auto", {"FX-intl-2", SEED_ID}, "any"),
        ("وزارة OR الآثار", "auto", {"FX-intl-2", "FX-culture-5", SEED_ID}, "any"),  # one clause
        # Five words: a pasted headline finds its article with words missing from it.
        ("وزارة الآثار المصرية تنقل قطعا", "auto", {"FX-culture-5", "FX-intl-2", "FX-sport-4", SEED_ID}, "any"),
        # fallback:
        ("وزارة الآثار المصرية تنقل قطعا", "all", {"FX-culture-5", "FX-intl-2", "FX-sport-4", SEED_ID}, "any"),
    ],
)
def test_match_all_or_any(engine: Engine, query: str, match: str, expected: set[str], applied: str) -> None:
    result = engine.search(query, match=match, per_page=50)
    assert {h.id for h in result.hits} == expected and result.total == len(expected)
    assert result.match == applied


def test_newest_first_requires_every_word_of_a_short_query(engine: Engine) -> None:
    newest = engine.search("وزارة الآثار", sort="newest", per_page=50)
    assert [h.id for h in newest.hits] == ["FX-culture-5"] and newest.match == "all"
    long = engine.search("وزارة الآثار المصرية تنقل قطعا", sort="newest", per_page=50)
    assert long.match == "any" and len(long.hits) == 4  # a pasted headline: any word (the seed: «بوزارة»)


def test_no_article_with_every_word_shows_those_with_some_and_says_so(engine: Engine) -> None:
    result = engine.search("وزارة المريخ", per_page=50, match="all")
    assert {h.id for h in result.hits} == {"FX-intl-2", "FX-culture-5", "FX-json-1", SEED_ID}  # SEED_ID: «بوزارة»
    assert result.match == "any" and [n.code for n in result.notices] == ["not_all_words"]
    newest = engine.search("وزارة المريخ", sort="newest", per_page=50)
    assert len(newest.hits) == 4 and [n.code for n in newest.notices] == ["not_all_words"]


def test_undated_articles_are_counted_and_can_be_chosen(engine: Engine) -> None:
    from search.engine import Filters

    assert engine.health()["undated"] == 2  # the seed and the JSON line without a date
    browsed = engine.search("", filters=Filters(undated=True), per_page=50)
    assert {h.id for h in browsed.hits} == {SEED_ID, "FX-json-3"} and all(h.date is None for h in browsed.hits)
    result = engine.search("الانترنت", per_page=50)
    assert result.undated == sum(1 for h in result.hits if h.date is None) >= 1
    only = engine.search("الانترنت", filters=Filters(undated=True), per_page=50)
    assert only.total == result.undated and all(h.date is None for h in only.hits)


def test_words_in_the_lead_rank_an_article_above_the_same_words_further_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two articles of the same length with the same words: where the body's first 40 words hold them wins."""
    from search.backends.whoosh.store import build
    from search.ingest import LoadResult
    from search.query import Weights

    filler = " ".join(["تقرير", "جديد", "حول", "الطقس", "والمرور", "في", "المدينة", "اليوم"] * 8)
    lead_first = "أعلنت وزارة الصحة التونسية حملة تلقيح واسعة " + filler
    lead_later = filler + " أعلنت وزارة الصحة التونسية حملة تلقيح واسعة"
    docs = [Document(id="later", body=lead_later), Document(id="first", body=lead_first)]
    build(tmp_path / "ix", LoadResult(documents=docs), ["t"], procs=1)
    result = Engine(tmp_path / "ix").search("حملة تلقيح وزارة الصحة", facets=False, suggest=False)
    assert [h.id for h in result.hits] == ["first", "later"]
    tied = Engine(tmp_path / "ix", weights=Weights(lead=0.0)).search(
        "حملة تلقيح وزارة الصحة", facets=False, suggest=False
    )
    assert tied.hits[0].score == pytest.approx(tied.hits[1].score)  # without the lead field, nothing tells them apart


def test_each_mark_on_the_article_page_names_the_query_word_it_answers(engine: Engine) -> None:
    import re

    hit = engine.search("الانترنت").hits[0]
    view = engine.document(hit.id, 'انترن* وزير "الأمم المتحدة" إنترنت')
    marks = re.findall(r'<mark title="يطابق كلمة البحث: ([^"]+)">([^<]+)</mark>', view.title_html + view.body_html)
    assert marks, view.body_html[:300]
    for origin, word in marks:
        # a quoted phrase beside other words also counts its words loosely: each names its own word
        assert origin in {"انترن*", "وزير", "«الأمم المتحدة»", "الأمم", "المتحدة", "إنترنت"}, (origin, word)
    assert "<mark>" not in view.body_html  # every mark says why
    assert "<mark title" not in "".join(h.snippet for h in engine.search("الانترنت").hits)  # snippets stay plain
    from search.highlight import highlight_all

    marked = highlight_all("عن الإنترنت اليوم", {"انترنت"}, origins={"انترنت": '"><script>x'})
    assert marked == 'عن <mark title="يطابق كلمة البحث: &quot;&gt;&lt;script&gt;x">الإنترنت</mark> اليوم'


def test_a_hit_in_json_carries_every_field_but_its_page_html() -> None:
    """Hit.to_json is written out for speed; it must not drop a field added later."""
    from dataclasses import asdict, fields

    from search.engine import Group, Hit, Member

    group = Group(
        "g0123456789abcdef",
        2,
        "a1",
        "2018-01-01",
        [Member("a1", "عنوان", "bbc", "2018-01-01"), Member("b2", "ع", "cnn", None)],
    )
    for hit in (
        Hit("b2", "عنوان", "http://x", "cnn", "world", "", None, 1.234567, "<mark>ع</mark>", "ع", "<b>t</b>", group),
        Hit("c3", "", "", "", "", "", "2018-02-02", 0.5),
    ):
        expected = asdict(hit)
        expected.pop("title_html")
        expected["score"] = round(hit.score, 4)
        assert hit.to_json() == expected
    assert {f.name for f in fields(Hit)} - {"title_html"} == set(hit.to_json())


def test_a_prefix_no_word_begins_with_says_so(engine: Engine) -> None:
    alone = engine.search("زززز*")
    codes = [n.code for n in alone.notices]
    assert alone.total == 0 and "prefix_no_match" in codes and "no_searchable_words" not in codes
    beside = engine.search("زززز* لبنان")
    assert "FX-intl-2" in [h.id for h in beside.hits] and "prefix_no_match" in [n.code for n in beside.notices]


@pytest.mark.parametrize("typed", ["title:", "title: لبنان", "المصدر: bbc", "Category:", "عنوان:"])
def test_a_field_name_alone_says_it_needs_its_word_after_it(engine: Engine, typed: str) -> None:
    """«title: لبنان» (a space after the colon) is no field search: every field is searched, and the
    reader is told to write title:لبنان. A field name alone is told the same."""
    result = engine.search(typed)
    notice = next(n for n in result.notices if n.code == "field_without_word")
    assert typed.split()[0] in notice.message_ar and "بلا مسافة" in notice.message_ar
    assert not any(n.code == "field_without_word" for n in engine.search("title:لبنان").notices)
    assert not any(n.code == "field_without_word" for n in engine.search("لبنان: الحكومة").notices)


@pytest.mark.parametrize("words", ["زززز*", "title:زززز*", "في", "title:في", "من في"])
def test_words_beside_a_filter_that_search_nothing_find_nothing(engine: Engine, words: str) -> None:
    """As alone: typed words that search nothing (no word begins with the prefix, only common words)
    find nothing beside a filter too, and say why; never every article of the filter."""
    for query in (f"{words} source:bbc", f"category:technology {words}"):
        result = engine.search(query)
        codes = [n.code for n in result.notices]
        assert result.total == 0, (query, [h.id for h in result.hits])
        assert {"prefix_no_match", "no_searchable_words"} & set(codes), (query, codes)
    assert engine.search("-لبنان source:bbc").total == len(ids(engine, "مصدر:bbc"))  # only excluded words: the filter
