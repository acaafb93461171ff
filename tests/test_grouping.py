"""Story groups: which articles are copies of one report, and what search does with them.

The fixtures (tests/copies.py) hold a wire report and its copies, and
the articles that must stay apart from it. The engine tests run on both
backends, on real indexes: collapse, the group's members, the group filter,
related articles, and `add`/`delete` keeping groups current.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import copies
import numpy as np
import pytest

from conftest import cli
from search import grouping
from search.backends.whoosh.store import add, build, delete
from search.engine import Engine, Filters
from search.ingest import Document, LoadResult

DOCS = {doc.id: doc for doc in copies.documents()}
STORY = {"wire-1", "copy-2", "copy-3"}  # one report: the wire, an edited copy, a respelled copy


def _similar(a: str, b: str) -> bool:
    return grouping.similar(grouping.fingerprint(DOCS[a]), grouping.fingerprint(DOCS[b]))


@pytest.mark.parametrize(
    ("a", "b", "same", "why"),
    [
        ("wire-1", "copy-2", True, "another outlet: new headline, dateline, two words changed, a sentence cut"),
        ("wire-1", "copy-3", True, "the same text with diacritics, tatweel and another hamza form"),
        ("copy-2", "copy-3", True, "two copies of one report"),
        ("wire-1", "later-4", False, "a new development written over the report's background paragraphs"),
        ("wire-1", "reprint-5", False, "the same text six weeks later: another publication, not a copy of the day"),
        ("weather-6", "weather-7", False, "two bulletins of one template"),
        ("wire-1", "weather-6", False, "same day and words (storm, sea), different article"),
    ],
)
def test_which_articles_are_copies(a: str, b: str, same: bool, why: str) -> None:
    assert _similar(a, b) is same, why
    assert _similar(b, a) is same, "the rule is symmetric"


# An outlet updating its report under the same headline: the first lines kept, the rest rewritten
# as the story developed (live pages, match reports). LSH on the whole text does not propose them.
UPDATE_LEAD = (
    "أعلن الحرس البحري التونسي مساء الأربعاء عن إنقاذ ثلاثين مهاجرا غير نظامي قبالة سواحل جزيرة قرقنة "
    "بعد أن تعطل محرك مركبهم في عرض البحر. "
)
FIRST = UPDATE_LEAD + (
    "وقال متحدث باسم الحرس إن عمليات البحث ما زالت جارية عن مفقودين آخرين، وإن الظروف الجوية الصعبة "
    "تعرقل عمل الوحدات البحرية. ولم يذكر المتحدث جنسيات المهاجرين ولا الميناء الذي انطلق منه المركب."
)
UPDATED = UPDATE_LEAD + (
    "وفي حصيلة محينة، أكد المتحدث الرسمي أن جثتين انتشلتا صباح الخميس وأن الناجين نقلوا إلى مستشفى "
    "صفاقس الجامعي لتلقي الإسعافات. وأضاف أن التحقيقات الأولية تشير إلى أن المركب أبحر من شاطئ الشابة "
    "ليلا، وأن منظمي الرحلة أوقفوا في عملية أمنية بولاية المهدية."
)
HEADLINE = "إنقاذ ثلاثين مهاجرا قبالة قرقنة"
OTHER_STORY = (
    "تمكنت وحدات الحرس البحري من إحباط عملية اجتياز للحدود البحرية خلسة انطلاقا من سواحل ولاية نابل، "
    "وحجزت مركبا ومحركين، فيما تواصل الأبحاث لكشف بقية أفراد الشبكة التي نظمت الرحلة."
)


@pytest.mark.parametrize(
    ("second", "later", "title", "same", "why"),
    [
        (UPDATED, timedelta(hours=14), HEADLINE, True, "the report updated under its headline the next morning"),
        (UPDATED, timedelta(days=3), HEADLINE, False, "the same headline three days later: another publication"),
        (OTHER_STORY, timedelta(hours=2), HEADLINE, False, "one headline reused for another story (another lead)"),
        (UPDATED, timedelta(hours=14), "إنقاذ مهاجرين", False, "a headline of two words says too little"),
    ],
    ids=["update", "days-later", "other-story", "short-headline"],
)
def test_an_update_under_one_headline_is_a_copy(
    second: str, later: timedelta, title: str, same: bool, why: str
) -> None:
    first = Document("live-1", title, FIRST, source="Jawhara FM", date=copies.DAY)
    other = Document("live-2", title, second, source="Jawhara FM", date=copies.DAY + later)
    a, b = grouping.fingerprint(first), grouping.fingerprint(other)
    assert grouping.similar(a, b) is same and grouping.similar(b, a) is same, why
    found = grouping.group_documents([first, other, *copies.documents()])
    assert (found.keys[0] == found.keys[1]) is same, why
    assert ((0, 1) in grouping.headline_pairs([a, b])) is (later <= timedelta(days=1) and title == HEADLINE)


# A report cut to its first paragraph and republished the same day under a like headline: it shares too
# few shingles with the whole for the Jaccard rules, and LSH does not propose it.
WHOLE = FIRST + " " + UPDATED[len(UPDATE_LEAD):] + " " + OTHER_STORY


NEW_STORY = OTHER_STORY + " " + UPDATED[len(UPDATE_LEAD):] + " " + UPDATE_LEAD  # a new lead over the old paragraph


@pytest.mark.parametrize(
    ("title", "later", "body", "same", "why"),
    [
        ("قرقنة: إنقاذ ثلاثين مهاجرا", timedelta(hours=5), None, True, "its first paragraph, the same day"),
        ("قرقنة: إنقاذ ثلاثين مهاجرا", timedelta(days=1), None, False, "the next day: another publication"),
        (LEAD_ONLY := "الحرس البحري يواصل البحث عن المفقودين", timedelta(hours=5), None, False,
         "another headline: a reused lead"),
        ("قرقنة: إنقاذ ثلاثين مهاجرا", timedelta(hours=5), NEW_STORY, False,
         "a new story written over the paragraph: its lead is not in the shorter"),
    ],
    ids=["same-day", "next-day", "other-headline", "new-lead-over-it"],
)
def test_a_shortened_copy_under_a_like_headline_is_a_copy(
    title: str, later: timedelta, body: str | None, same: bool, why: str
) -> None:
    whole = Document("whole-1", "إنقاذ ثلاثين مهاجرا قبالة قرقنة وانتشال جثتين", WHOLE, source="Jawhara FM",
                     date=copies.DAY.replace(hour=8))
    cut = Document("cut-2", title, UPDATE_LEAD, source="Jawhara FM", date=whole.date + later)
    if body is not None:  # the longer article is another story written over the cut one's paragraph
        whole = Document("whole-1", whole.title, body, source=whole.source, date=whole.date)
    a, b = grouping.fingerprint(whole), grouping.fingerprint(cut)
    assert grouping._jaccard(a.shingles, b.shingles) < grouping.LEAD_JACCARD, "no Jaccard rule sees it"
    shorter = min(len(a.shingles), len(b.shingles))
    assert grouping._overlap(a.shingles, b.shingles) >= grouping.SHORT_CONTAINED * shorter, "the shorter is in"
    assert grouping.similar(a, b) is same and grouping.similar(b, a) is same, why
    assert ((0, 1) in grouping.near_headline_pairs([a, b])) is (later < timedelta(days=1) and title != LEAD_ONLY)
    found = grouping.group_documents([whole, cut, *copies.documents()])
    assert (found.keys[0] == found.keys[1]) is same, why


def test_near_headline_candidates_do_not_follow_a_word_on_every_headline_of_a_day() -> None:
    """A word on more than MAX_HEADLINE_POSTINGS of one day's headlines pairs none of them by itself;
    a word they share beside it still does."""
    many = grouping.MAX_HEADLINE_POSTINGS + 1
    day = [grouping.fingerprint(Document(f"n-{i}", f"تونس {i}", UPDATE_LEAD, date=copies.DAY)) for i in range(many)]
    day += [grouping.fingerprint(Document(i, "تونس قرقنة", UPDATE_LEAD, date=copies.DAY)) for i in ("x", "y")]
    assert grouping._jaccard(day[0].title_words, day[1].title_words) >= grouping.SHORT_HEADLINE, "one word in three"
    assert grouping.near_headline_pairs(day) == {(many, many + 1)}
    assert len(grouping.near_headline_pairs(day[:3])) == 3, "a day of three articles follows the word"


def test_a_very_long_headline_posts_a_bounded_sample_of_its_words() -> None:
    """A headline of hundreds of words posts its HEADLINE_POSTED smallest word hashes: two articles
    under one such headline are still paired, and each costs a bounded number of counts."""
    long_title = " ".join(f"كلمة{chr(0x0628 + i % 20)}{chr(0x0628 + i // 20 % 20)}" for i in range(300))
    same = [grouping.fingerprint(Document(f"l-{i}", long_title, UPDATE_LEAD, date=copies.DAY)) for i in range(2)]
    assert len(same[0].title_words) > grouping.HEADLINE_POSTED
    assert grouping.near_headline_pairs(same) == {(0, 1)}


WIRE = {doc.id: doc for doc in copies.wire_reports()}


def _moved(doc: Document, *, source: str | None = None, later: timedelta = timedelta(0)) -> Document:
    return Document(doc.id, doc.title, doc.body, source=doc.source if source is None else source,
                    date=doc.date + later if doc.date else None)


@pytest.mark.parametrize(
    ("b", "source", "later", "same", "why"),
    [
        ("agency-2", None, timedelta(0), True, "another outlet's lightly reworded copy, two hours later"),
        ("around-3", None, timedelta(0), False, "another outlet's own report around the same quotations"),
        ("agency-2", "France 24", timedelta(0), False, "one outlet's two texts: the wire rule is for two outlets"),
        ("agency-2", None, timedelta(days=2), False, "the reworded copy two days later"),
    ],
    ids=["reworded-copy", "around-the-quotes", "same-outlet", "two-days-later"],
)
def test_a_wire_report_reworded_by_another_outlet_is_a_copy(
    b: str, source: str | None, later: timedelta, same: bool, why: str
) -> None:
    first = grouping.fingerprint(WIRE["agency-1"])
    second = grouping.fingerprint(_moved(WIRE[b], source=source, later=later))
    assert grouping.similar(first, second) is same and grouping.similar(second, first) is same, why
    # what the rule stands on: the shingles alone do not make the reworded copy a copy, and the words
    # alone would make the report around the quotations one
    if b == "agency-2":
        assert grouping._jaccard(first.shingles, second.shingles) < grouping.LEAD_JACCARD
    else:
        assert grouping._jaccard(first.words(), second.words()) >= grouping.WIRE_WORDS
        assert grouping._jaccard(first.narration(), second.narration()) < grouping.WIRE_NARRATION


def test_groups_hold_the_reworded_copy_not_the_report_around_the_quotes() -> None:
    docs = [*copies.wire_reports(), *copies.documents()]
    keys = dict(zip([d.id for d in docs], grouping.group_documents(docs).keys, strict=True))
    assert keys["agency-1"] == keys["agency-2"] == grouping.key_of("agency-1")
    assert keys["around-3"] == grouping.key_of("around-3")


def test_the_narration_leaves_out_quotations_of_each_kind() -> None:
    narration = "قال الوزير أمام الصحافيين"
    for quoted in ("«الحكومة ستخصص مبلغا إضافيا»", '"الحكومة ستخصص مبلغا إضافيا"', "“الحكومة ستخصص مبلغا إضافيا”"):
        doc = Document("q", "", f"{narration} {quoted} في العاصمة", source="BBC", date=copies.DAY)
        found = grouping.fingerprint(doc)
        words, outside = found.words(), found.narration()
        assert np.array_equal(outside, grouping.content_words(f"{narration} في العاصمة")), quoted
        assert np.array_equal(words, grouping.content_words(f"{narration} الحكومة ستخصص مبلغا إضافيا في العاصمة"))
    # a quotation mark never closed quotes nothing; stopwords and one-letter forms are not content words
    doc = Document("u", "", f"{narration} «الحكومة ستخصص\nمبلغا إضافيا", source="BBC", date=copies.DAY)
    found = grouping.fingerprint(doc)
    words, outside = found.words(), found.narration()
    assert np.array_equal(words, outside) and len(words) == len(grouping.content_words("الوزير أمام الصحافيين الحكومة "
                                                                                         "ستخصص مبلغا إضافيا قال"))
    assert len(grouping.content_words("في من إلى و ب")) == 0


def test_forked_fingerprints_compare_on_their_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fingerprints made in forked processes read their words from the parent's documents."""
    monkeypatch.setattr(grouping, "PARALLEL_FROM", 2)
    docs = [*copies.wire_reports(), *copies.documents()]
    prints, _signatures = grouping.fingerprints(docs, procs=2)
    assert all(p.doc is d for p, d in zip(prints, docs, strict=True))
    assert grouping.group_documents(docs, procs=2).keys == grouping.group_documents(docs).keys


def test_the_written_words_counted_while_grouping_give_the_spellings_a_count_of_the_bodies_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reindex counts the bodies' written words in the fingerprinting processes (forked or not):
    the vocabulary's spellings (search.spelling) are those a count of the bodies gives."""
    from collections import Counter

    from search.spelling import count_spellings, spellings_from_counts

    monkeypatch.setattr(grouping, "PARALLEL_FROM", 2)
    docs = [*copies.wire_reports(), *copies.documents()]
    expected = count_spellings(doc.body for doc in docs)
    assert expected, "the bodies hold words whose search form differs from how they are written"
    for procs in (1, 2):
        written: Counter[str] = Counter()
        grouping.group_documents(docs, procs=procs, written=written)
        assert spellings_from_counts(written) == expected


def test_headline_candidates_pair_each_article_with_a_bounded_few() -> None:
    """A headline repeated every day («أسعار الذهب اليوم») pairs only articles within a day, each with
    at most MAX_CANDIDATES others."""
    daily = [
        grouping.fingerprint(Document(f"gold-{i}", "أسعار الذهب اليوم في تونس", f"سعر الغرام {i}", date=copies.DAY
                                      + timedelta(hours=6 * i)))
        for i in range(200)
    ]
    pairs = grouping.headline_pairs(daily)
    assert pairs and all(abs(daily[i].day - daily[j].day) <= grouping.HEADLINE_DAYS for i, j in pairs)
    per_article = max(sum(1 for p in pairs if p[0] == i) for i in range(len(daily)))
    assert per_article <= grouping.MAX_CANDIDATES


def test_spelling_does_not_change_a_text_s_shingles() -> None:
    assert np.array_equal(
        grouping.fingerprint(DOCS["wire-1"]).shingles, grouping.fingerprint(DOCS["copy-3"]).shingles
    )


def test_groups_and_their_keys_do_not_depend_on_the_input_order() -> None:
    docs = copies.documents()
    expected = dict(zip([d.id for d in docs], grouping.group_documents(docs).keys, strict=True))
    for seed in range(5):
        shuffled = copies.documents()
        random.Random(seed).shuffle(shuffled)
        keys = dict(zip([d.id for d in shuffled], grouping.group_documents(shuffled).keys, strict=True))
        assert keys == expected
    assert {expected[i] for i in STORY} == {grouping.key_of("wire-1")}, "the key is the earliest article's"
    others = [i for i in expected if i not in STORY]
    assert len({expected[i] for i in others}) == len(others), "every other article is a group of its own"


def test_texts_without_words_too_short_or_very_long() -> None:
    empty = Document("empty", "", "")
    symbols = Document("symbols", "؟!", "… — …")
    short = [Document(f"short-{i}", "عاجل", "انفجار في العاصمة") for i in range(2)]  # same words, too few to tell
    huge = Document("huge", "عنوان", " ".join(f"كلمة{i}" for i in range(200_000)))
    found = grouping.group_documents([empty, symbols, *short, huge, DOCS["wire-1"]])
    assert len(set(found.keys)) == 6
    assert len(grouping.fingerprint(huge).shingles) <= grouping.MAX_SHINGLES


def test_an_added_copy_joins_the_group_of_the_indexed_report() -> None:
    indexed = copies.documents()
    keys = dict(zip([d.id for d in indexed], grouping.group_documents(indexed).keys, strict=True))
    new = copies.added_copy()
    grouped = grouping.assign_added([new], lambda doc: [(d, keys[d.id]) for d in indexed]).grouped
    assert grouped == 1 and new.group == keys["wire-1"]
    alone = Document("alone", "خبر آخر", "نص لا علاقة له بالعاصفة ولا بالميناء في شيء على الإطلاق")
    assert grouping.assign_added([alone], lambda doc: [(d, keys[d.id]) for d in indexed]).grouped == 0
    assert alone.group == grouping.key_of("alone")


def _keys(docs: list[Document], **kwargs) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip([d.id for d in docs], grouping.group_documents(docs, **kwargs).keys, strict=True))


def test_digests_of_different_days_share_only_their_opening() -> None:
    """A template's opening, met on BOILERPLATE_DAYS different days, makes no two articles copies;
    the same digest republished the same day still is one."""
    digests = copies.digests(grouping.BOILERPLATE_DAYS + 2)
    plain = _keys(digests, boilerplate=np.zeros(0, dtype=np.uint64))
    assert len(set(plain.values())) == 1, "without the veto the rules take the digests for copies"
    republished = Document("digest-again", digests[3].title, digests[3].body, source="Jawhara FM",
                           date=digests[3].date + timedelta(hours=1))
    keys = _keys([*digests, republished])
    assert len({keys[d.id] for d in digests}) == len(digests), "each day's digest is a group of its own"
    assert keys["digest-again"] == keys["digest-3"]
    fewer = copies.digests(grouping.BOILERPLATE_DAYS - 1)
    assert len(set(_keys(fewer).values())) == 1, "an opening on fewer days is not known as boilerplate"


def test_boilerplate_is_the_lead_shingles_of_many_days(tmp_path: Path) -> None:
    digests = copies.digests(grouping.BOILERPLATE_DAYS)
    prints = [grouping.fingerprint(d) for d in digests]
    found = grouping.boilerplate_of(prints)
    opening = grouping._shingles(grouping.words(copies.DIGEST_OPENING))
    assert set(opening.tolist()) <= set(found.tolist()), "every shingle of the opening"
    assert set(found.tolist()) <= set.intersection(*(set(p.lead.tolist()) for p in prints)), "none of one day's"
    assert not len(grouping.boilerplate_of(prints[1:])), "nine days are not enough"
    one_day = [Document(d.id, d.title, d.body, date=digests[0].date) for d in digests]
    assert not len(grouping.boilerplate_of([grouping.fingerprint(d) for d in one_day])), "days, not articles"
    undated = [Document(d.id, d.title, d.body) for d in digests]
    assert not len(grouping.boilerplate_of([grouping.fingerprint(d) for d in undated]))
    path = tmp_path / grouping.BOILERPLATE_FILE
    grouping.save_boilerplate(path, found)
    assert np.array_equal(grouping.load_boilerplate(path), found)
    assert grouping.load_boilerplate(tmp_path / "absent") is None
    path.write_bytes(b"\x00" * 7)
    assert grouping.load_boilerplate(path) is None, "a damaged file: the add finds its own"


def test_an_added_digest_of_another_day_uses_the_indexed_boilerplate() -> None:
    """The boilerplate of the whole index, not of the one article added, decides an add."""
    indexed = copies.digests(grouping.BOILERPLATE_DAYS + 1)
    keys = _keys(indexed)
    kept = grouping.group_documents(indexed).boilerplate
    new = Document("digest-new", "أبرز أحداث اليوم", copies.DIGEST_OPENING + copies.DIGEST_HEADLINES[-1],
                   source="Jawhara FM", date=indexed[-1].date + timedelta(days=1))
    assert grouping.assign_added([new], lambda doc: [(d, keys[d.id]) for d in indexed]).grouped == 1, "alone, a copy"
    assert grouping.assign_added([new], lambda doc: [(d, keys[d.id]) for d in indexed], boilerplate=kept).grouped == 0
    assert new.group == grouping.key_of("digest-new")


# -- the engine, on both backends ---------------------------------------------------------


def _jsonl(path: Path, docs: list[Document]) -> Path:
    path.write_text("\n".join(json.dumps(d.to_json(), ensure_ascii=False) for d in docs) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["whoosh", "xapian"])
def grouped(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An index of the fixtures on each backend: (engine, add, delete)."""
    root = tmp_path / "index"
    if request.param == "whoosh":
        build(root, LoadResult(documents=copies.documents()), ["copies"])
        yield Engine(root), lambda docs: add(root, LoadResult(documents=docs)), lambda ids: delete(root, ids)
        return
    from conftest import xapian_shards
    from search.settings import defaults

    shards = xapian_shards(root, [_jsonl(tmp_path / "copies.jsonl", copies.documents())])
    engine = Engine(config=defaults().replace(index=str(root), backend="xapian", shards=shards))

    def added(docs: list[Document]) -> None:
        done = cli("add", _jsonl(tmp_path / "added.jsonl", docs), "--backend", "xapian", "--index", root)
        assert done.returncode == 0, done.stderr

    def deleted(ids: list[str]) -> None:
        done = cli("delete", *ids, "--backend", "xapian", "--index", root)
        assert done.returncode == 0, done.stderr

    try:
        yield engine, added, deleted
    finally:
        cli("shards", "stop", "--index", root)


QUERY = "ميناء صفاقس"


def _wait_for(engine: Engine, check) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + 10
    while not check() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert check()


def test_collapse_shows_one_result_per_group(grouped) -> None:  # type: ignore[no-untyped-def]
    engine, _add, _delete = grouped
    every = engine.search(QUERY, collapse=False, suggest=False)
    assert STORY <= {h.id for h in every.hits}
    one = engine.search(QUERY, collapse=True, suggest=False)
    ids = [h.id for h in one.hits]
    assert len(STORY & set(ids)) == 1, ids
    assert one.articles == every.total and one.total == every.total - 2
    assert one.facets == every.facets and one.timeline == every.timeline, "facets and timeline count articles"
    group_ids = [h.group.id for h in one.hits]
    assert len(group_ids) == len(set(group_ids)), "no group twice"
    story = next(h for h in one.hits if h.id in STORY)
    assert story.group.size == 3 and story.group.earliest_id == "wire-1"
    assert [m.id for m in story.group.members] == ["wire-1", "copy-2", "copy-3"], "oldest first"
    newest = engine.search(QUERY, collapse=True, sort="newest", suggest=False)
    assert len(STORY & {h.id for h in newest.hits}) == 1 and newest.articles - newest.total == 2


def test_a_group_is_listed_whole_and_related_articles_leave_it_out(grouped) -> None:  # type: ignore[no-untyped-def]
    engine, _add, _delete = grouped
    key = grouping.key_of("wire-1")
    listed = engine.search("", filters=Filters(group=key), collapse=True, suggest=False)
    assert {h.id for h in listed.hits} == STORY and listed.total == 3
    unknown = engine.search("", filters=Filters(group="g" + "0" * 16), suggest=False)
    assert unknown.total == 0 and [n.code for n in unknown.notices] == ["unknown_group"]
    doc = engine.document("copy-2", related=5)
    assert doc is not None and doc.group is not None and doc.group.size == 3
    assert not STORY & {h.id for h in doc.related}, "its copies are its group, not related articles"


def test_add_and_delete_keep_groups_current(grouped) -> None:  # type: ignore[no-untyped-def]
    engine, added, deleted = grouped
    key = grouping.key_of("wire-1")
    added([copies.added_copy()])
    _wait_for(engine, lambda: engine.search("", filters=Filters(group=key), suggest=False).total == 4)
    deleted(["copy-2"])
    _wait_for(engine, lambda: engine.search("", filters=Filters(group=key), suggest=False).total == 3)
    hit = next(h for h in engine.search(QUERY, collapse=False, suggest=False).hits if h.id == "copy-8")
    assert hit.group.id == key and hit.group.size == 3


FOOTBALL = Document(
    "wire-1", "مباراة كرة القدم",
    "فاز المنتخب الوطني لكرة القدم على نظيره في مباراة ودية أقيمت مساء أمس في الملعب الأولمبي بحضور آلاف "
    "المشجعين الذين ملأوا المدرجات وهتفوا طويلا للاعبين بعد صافرة النهاية.",
    date=copies.DAY + timedelta(days=400),
)


@pytest.mark.parametrize("how", ["replaced", "deleted-then-added", "replaced-beside-its-copies"])
def test_an_article_under_a_founder_s_id_is_no_copy_of_its_group(grouped, how: str) -> None:  # type: ignore[no-untyped-def]
    """The story's group keeps the key of its first article's id. Another article under that id,
    re-added or added after the first was deleted, is not one of its copies; nor when one of the
    story's copies is added again beside it, in the same add."""
    engine, added, deleted = grouped
    key = grouping.key_of("wire-1")
    if how == "deleted-then-added":
        deleted(["wire-1"])
        _wait_for(engine, lambda: engine.search("", filters=Filters(group=key), suggest=False).total == 2)
    story = [d for d in copies.documents() if d.id in STORY - {"wire-1"}]  # every other holder of the key
    added([FOOTBALL, *story] if how == "replaced-beside-its-copies" else [FOOTBALL])
    _wait_for(engine, lambda: engine.document("wire-1") is not None and engine.document("wire-1").title == FOOTBALL.title)
    doc = engine.document("wire-1")
    assert doc is not None and doc.group is not None
    assert doc.group.id != key and doc.group.size == 1
    assert {h.id for h in engine.search("", filters=Filters(group=key), suggest=False).hits} == STORY - {"wire-1"}
    again = copies.documents()[0]  # the first article itself, added back: a copy of its group again
    assert again.id == "wire-1"
    added([again])
    _wait_for(engine, lambda: engine.document("wire-1").title == again.title)
    assert engine.document("wire-1").group.id == key


def test_an_added_reworded_wire_copy_joins_its_report(grouped) -> None:  # type: ignore[no-untyped-def]
    engine, added, _deleted = grouped
    first, reworded, around = copies.wire_reports()
    added([first, around])
    key = grouping.key_of("agency-1")
    _wait_for(engine, lambda: engine.search("", filters=Filters(group=key), suggest=False).total == 1)
    added([reworded])
    _wait_for(engine, lambda: engine.search("", filters=Filters(group=key), suggest=False).total == 2)
    hits = {h.id: h for h in engine.search("الجفاف المزارعين", collapse=False, suggest=False).hits}
    assert hits["agency-2"].group.id == key and hits["around-3"].group.id == grouping.key_of("around-3")


@pytest.mark.parametrize("backend", ["whoosh", "xapian"])
def test_a_reindex_keeps_its_boilerplate_for_the_adds(backend: str, tmp_path: Path) -> None:
    """A digest of a new day added to an index of digests is a group of its own, as a reindex of all
    of them would make it; the same digest republished joins its group."""
    root = tmp_path / "index"
    digests = copies.digests(grouping.BOILERPLATE_DAYS + 1)
    new = Document("digest-new", "أبرز أحداث اليوم", copies.DIGEST_OPENING + copies.DIGEST_HEADLINES[-1],
                   source="Jawhara FM", date=digests[-1].date + timedelta(days=1))
    again = Document("digest-again", digests[2].title, digests[2].body, source="Jawhara FM",
                     date=digests[2].date + timedelta(hours=2))
    if backend == "whoosh":
        build(root, LoadResult(documents=digests), ["digests"])
        add(root, LoadResult(documents=[new, again]))
        engine = Engine(root)
    else:
        from conftest import xapian_shards
        from search.settings import defaults

        shards = xapian_shards(root, [_jsonl(tmp_path / "digests.jsonl", digests)])
        done = cli("add", _jsonl(tmp_path / "added.jsonl", [new, again]), "--backend", "xapian", "--index", root)
        assert done.returncode == 0, done.stderr
        engine = Engine(config=defaults().replace(index=str(root), backend="xapian", shards=shards))
    try:
        generation = next(p for p in root.iterdir() if p.is_dir() and (p / grouping.BOILERPLATE_FILE).exists())
        assert len(grouping.load_boilerplate(generation / grouping.BOILERPLATE_FILE))
        _wait_for(engine, lambda: engine.document("digest-again") is not None)
        added = engine.document("digest-new")
        assert added is not None and added.group is not None and added.group.size == 1
        assert engine.document("digest-again").group.id == grouping.key_of("digest-2")
        assert engine.document("digest-2").group.size == 2
    finally:
        if backend == "xapian":
            cli("shards", "stop", "--index", root)


def test_the_api_and_the_page_show_groups(tmp_path: Path) -> None:
    from webapp import create_app

    build(tmp_path, LoadResult(documents=copies.documents()), ["copies"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    body = client.get("/api/search", query_string={"q": QUERY}).get_json()
    assert body["collapse"] is True and body["articles"] == body["total"] + 2
    story = next(r for r in body["results"] if r["id"] in STORY)
    assert story["group"]["size"] == 3 and story["group"]["earliest_id"] == "wire-1"
    every = client.get("/api/search", query_string={"q": QUERY, "collapse": "0"}).get_json()
    assert every["collapse"] is False and every["total"] == every["articles"] == body["articles"]
    bad = client.get("/api/search", query_string={"group": "wire-1"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_group"
    page = client.get("/", query_string={"q": QUERY}).get_data(as_text=True)
    assert "نُشر أيضًا في" in page and f"group={story['group']['id']}" in page and "عرض كل النسخ" in page
    listed = client.get("/", query_string={"group": story["group"]["id"]}).get_data(as_text=True)
    assert listed.count('<li class="hit">') == 3 and "نسخ الخبر نفسه" in listed
    doc = client.get("/doc/copy-2").get_data(as_text=True)
    assert "نسخ أخرى من هذا الخبر" in doc and "/doc/wire-1" in doc and "النسخة الأولى" in doc


def test_exports_feeds_and_the_page_follow_the_groups_of_the_search(tmp_path: Path) -> None:
    """The downloads reproduce the search as the page shows it: collapsed, one row per story,
    unless collapse=0; a story's «كل النسخ» page offers downloads and a feed that work."""
    import csv
    import io
    import xml.etree.ElementTree as ET

    from webapp import create_app

    build(tmp_path, LoadResult(documents=copies.documents()), ["copies"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    for collapse in ("1", "0"):
        shown = client.get("/api/search", query_string={"q": QUERY, "collapse": collapse, "per_page": 100}).get_json()
        response = client.get("/export.csv", query_string={"q": QUERY, "collapse": collapse})
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert [r["id"] for r in rows] == [r["id"] for r in shown["results"]]
        assert int(response.headers["X-Total-Count"]) == shown["total"] == len(rows)
        lines = client.get("/export.jsonl", query_string={"q": QUERY, "collapse": collapse}).get_data(as_text=True)
        assert [json.loads(line)["id"] for line in lines.splitlines()] == [r["id"] for r in shown["results"]]
    collapsed = client.get("/api/search", query_string={"q": QUERY}).get_json()
    assert collapsed["total"] < collapsed["articles"]  # the query does meet a story group
    group = next(r["group"]["id"] for r in collapsed["results"] if r["id"] in STORY)
    for path in ("/export.csv", "/export.jsonl", "/feed.atom"):
        response = client.get(path, query_string={"group": group, "sort": "oldest"})
        assert response.status_code == 200 and "wire-1" in response.get_data(as_text=True), path
    feed = ET.fromstring(client.get("/feed.atom", query_string={"group": group}).get_data())
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 3
    listed = client.get("/", query_string={"group": group, "sort": "oldest"}).get_data(as_text=True)
    form = listed.split('class="filters"', 1)[1].split("</form>", 1)[0]
    assert f'name="group" value="{group}"' in form  # «تطبيق» keeps the story it lists
    every = client.get("/", query_string={"q": QUERY, "collapse": "0"}).get_data(as_text=True)
    assert 'name="collapse" value="0"' in every.split('class="filters"', 1)[1].split("</form>", 1)[0]


LONG_TITLE = "فيديو يوثق لحظة انهيار مبنى سكني من خمسة طوابق في حي المنشية وسط المدينة بعد أمطار غزيرة ليلة أمس"


@pytest.mark.parametrize("body", ["", "شاهد", "شاهد الفيديو", "شاهد الفيديو كاملا", "شاهد الفيديو كاملا هنا"])
@pytest.mark.parametrize("later", [None, timedelta(days=3)], ids=["undated", "three-days-later"])
def test_an_exact_republication_with_a_body_shorter_than_a_shingle_is_a_copy(
    body: str, later: timedelta | None
) -> None:
    """A video post (a long headline, a body of a few words) republished as it was: a copy, dated or not.
    A body under five words has a lead of words, not shingles; it has nothing of a lead to miss."""
    day = None if later is None else copies.DAY
    first = Document("video-1", LONG_TITLE, body, source="Jawhara FM", date=day)
    again = Document("video-2", LONG_TITLE, body, source="Jawhara FM", date=None if day is None else day + later)
    a, b = grouping.fingerprint(first), grouping.fingerprint(again)
    assert grouping.similar(a, b) and grouping.similar(b, a)
    found = grouping.group_documents([first, again])
    assert found.keys[0] == found.keys[1]


@pytest.mark.parametrize(
    ("first_body", "second_body"),
    [("الغرام بـ ٣٢٠٠ جنيه", "الغرام بـ ٣٢٥٠ جنيه"), ("شاهد الفيديو", "التفاصيل في الرابط")],
)
def test_two_short_posts_under_one_long_headline_are_not_copies(first_body: str, second_body: str) -> None:
    """Two posts of one template (a long headline, bodies of a few different words): not copies."""
    first = Document("post-1", LONG_TITLE, first_body, source="Jawhara FM")
    second = Document("post-2", LONG_TITLE, second_body, source="Jawhara FM")
    a, b = grouping.fingerprint(first), grouping.fingerprint(second)
    assert not grouping.similar(a, b) and not grouping.similar(b, a)


def test_a_group_s_page_offers_no_controls_it_cannot_use(tmp_path: Path) -> None:
    """A story group's page lists copies published within days, without words: no «الكلمات»
    setting and no date presets, which mean nothing there; a search still has them."""
    from webapp import create_app

    build(tmp_path, LoadResult(documents=copies.documents()), ["copies"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    group = client.get(f"/?group={grouping.key_of('wire-1')}&sort=oldest").get_data(as_text=True)
    assert 'class="match"' not in group and 'class="presets"' not in group and "wire-1" in group
    search = client.get("/?q=" + QUERY).get_data(as_text=True)
    assert 'class="match"' in search and 'class="presets"' in search


# -- groups kept current by add and delete, and their keys kept by a reindex ---------------------
#
# A running story in three passes (tests/copies.py): pass-1 ~ pass-2 ~ pass-3, pass-1 and pass-3 no
# copies of each other; pass-0, an earlier copy of pass-1 (and of pass-2); pass-3b, a copy of pass-3.
RUNNING = {doc.id: doc for doc in [*copies.running_story(), copies.earlier_pass(), copies.third_pass_copy()]}
KEY = {doc_id: grouping.key_of(doc_id) for doc_id in RUNNING}


def _running(*ids: str) -> list[Document]:
    return [dataclasses.replace(RUNNING[i]) for i in ids]  # fresh copies: writers set ``group``


def _parts(keys: dict[str, str]) -> set[frozenset[str]]:
    """The groups, as sets of ids (whatever their keys)."""
    found: dict[str, set[str]] = {}
    for doc_id, key in keys.items():
        found.setdefault(key, set()).add(doc_id)
    return {frozenset(ids) for ids in found.values()}


class Story:
    """An index of the running story on one backend: written through the engine's writers (Whoosh) or
    the command line (Xapian, read through its shard servers), each article's key read through the engine."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend, self.tmp, self.root = backend, tmp_path, tmp_path / "index"
        self.engine: Engine | None = None
        self.files = 0

    def _file(self, docs: list[Document]) -> Path:
        self.files += 1
        return _jsonl(self.tmp / f"docs-{self.files}.jsonl", docs)

    def _run(self, *args: object) -> str:
        done = cli(*args, "--backend", "xapian", "--index", self.root)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def reindex(self, docs: list[Document]) -> str:
        """Build or rebuild the index; returns its warnings."""
        if self.backend == "whoosh":
            report = build(self.root, LoadResult(documents=docs), ["story"])
            self.engine = Engine(self.root)
            return "\n".join(map(str, report.warnings))
        if self.engine is None:
            from conftest import xapian_shards
            from search.settings import defaults

            shards = xapian_shards(self.root, [self._file(docs)])
            self.engine = Engine(config=defaults().replace(index=str(self.root), backend="xapian", shards=shards))
            return ""
        return self._run("reindex", self._file(docs), "--shard-count", 2)

    def add(self, docs: list[Document]) -> None:
        if self.backend == "whoosh":
            add(self.root, LoadResult(documents=docs))
        else:
            self._run("add", self._file(docs))

    def delete(self, ids: list[str]) -> None:
        if self.backend == "whoosh":
            delete(self.root, ids)
        else:
            self._run("delete", *ids)

    def keys(self, ids: Iterable[str]) -> dict[str, str]:
        assert self.engine is not None
        found = {doc_id: self.engine.document(doc_id) for doc_id in ids}
        return {doc_id: doc.group.id if doc is not None and doc.group else "" for doc_id, doc in found.items()}

    def settles(self, expected: dict[str, str]) -> None:
        """The keys become ``expected`` (the Xapian readers see a change within a second or so; a reader
        of shards that were damaged reports it once, and the next call opens them afresh)."""
        import time

        from search.errors import IndexProblem

        def keys() -> dict[str, str] | None:
            try:
                return self.keys(expected)
            except IndexProblem:
                return None

        deadline = time.monotonic() + 10
        while keys() != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.keys(expected) == expected


@pytest.fixture(params=["whoosh", "xapian"])
def story(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    made = Story(request.param, tmp_path)
    try:
        yield made
    finally:
        if request.param == "xapian":
            cli("shards", "stop", "--index", made.root)


@pytest.mark.parametrize(
    ("deleted", "expected", "why"),
    [
        (["pass-2"], {"pass-0": KEY["pass-0"], "pass-1": KEY["pass-0"], "pass-3": KEY["pass-3"],
                      "pass-3b": KEY["pass-3"]}, "the link is gone: the part with the founder keeps the key"),
        (["pass-0", "pass-2"], {"pass-1": KEY["pass-1"], "pass-3": KEY["pass-0"], "pass-3b": KEY["pass-0"]},
         "the founder gone too: the larger part keeps the key, so that its links still show the story"),
    ],
)
def test_a_delete_regroups_the_articles_left_as_a_reindex_would(  # type: ignore[no-untyped-def]
    story, deleted: list[str], expected: dict[str, str], why: str
) -> None:
    story.reindex(_running("pass-0", "pass-1", "pass-2", "pass-3", "pass-3b"))
    story.settles(dict.fromkeys(RUNNING, KEY["pass-0"]))
    story.delete(deleted)
    story.settles(expected)
    assert _parts(expected) == _parts(_keys(_running(*expected))), "the groups a reindex of them finds"
    assert story.engine is not None
    sources = Filters(source=["وكالة تونس", "Mosaique"])
    collapsed = story.engine.search("", filters=sources, collapse=True, suggest=False)
    assert collapsed.total == len(_parts(expected)), why


def test_an_article_replaced_by_another_text_leaves_its_group_regrouped(story) -> None:  # type: ignore[no-untyped-def]
    """pass-2, the copy linking pass-1 and pass-3, replaced under its id by a text that is no copy."""
    story.reindex(_running("pass-1", "pass-2", "pass-3"))
    story.settles(dict.fromkeys(["pass-1", "pass-2", "pass-3"], KEY["pass-1"]))
    other = Document("pass-2", FOOTBALL.title, FOOTBALL.body, source="وكالة تونس", date=copies.DAY)
    story.add([other])
    story.settles({"pass-1": KEY["pass-1"], "pass-2": KEY["pass-2"], "pass-3": KEY["pass-3"]})
    story.add(_running("pass-2"))  # the running text again: it links the two parts again, under the older key
    story.settles(dict.fromkeys(["pass-1", "pass-2", "pass-3"], KEY["pass-1"]))


def test_an_added_copy_of_two_groups_merges_them(story) -> None:  # type: ignore[no-untyped-def]
    """pass-2 is a copy of pass-1 (a group of one) and of pass-3 (a group of two, with pass-3b): the groups
    merge, as a reindex merges them; the larger group's key is kept, the smaller's article takes it."""
    story.reindex(_running("pass-1", "pass-3", "pass-3b"))
    story.settles({"pass-1": KEY["pass-1"], "pass-3": KEY["pass-3"], "pass-3b": KEY["pass-3"]})
    story.add(_running("pass-2"))
    story.settles(dict.fromkeys(["pass-1", "pass-2", "pass-3", "pass-3b"], KEY["pass-3"]))
    assert story.engine is not None
    assert story.engine.search("", filters=Filters(group=KEY["pass-3"]), suggest=False).total == 4
    assert story.engine.search("", filters=Filters(group=KEY["pass-1"]), suggest=False).total == 0


def test_a_copy_of_two_groups_finds_both_among_other_articles(story) -> None:  # type: ignore[no-untyped-def]
    """Among other articles, the Whoosh store's add looked for copies by the twelve most telling words of
    the whole text, which all came from pass-3's half: pass-1 was never compared and the groups stayed
    apart (red team). Its words are now drawn from each stretch of the text, as the Xapian store's are."""
    others = [dataclasses.replace(doc) for doc in copies.documents()]
    story.reindex(_running("pass-1", "pass-3") + others)
    larger = story.keys(["pass-1"])["pass-1"]  # pass-1's group holds three of the others' copies too
    assert larger != story.keys(["pass-3"])["pass-3"]
    story.add(_running("pass-2"))
    story.settles(dict.fromkeys(["pass-1", "pass-2", "pass-3"], larger))


def test_a_reindex_keeps_the_keys_of_the_groups_it_finds_again(story) -> None:  # type: ignore[no-untyped-def]
    """An earlier copy added joins its group under the group's key; a reindex, which would key the group
    by its new earliest article, keeps the key its articles held, so that links to it keep working. A
    group split by a reindex leaves the key with the part holding its founder."""
    story.reindex(_running("pass-1", "pass-3"))
    story.add(_running("pass-0"))
    added = {"pass-0": KEY["pass-1"], "pass-1": KEY["pass-1"], "pass-3": KEY["pass-3"]}
    story.settles(added)
    assert grouping.group_documents(_running("pass-0", "pass-1")).keys == [KEY["pass-0"]] * 2, "without the index"
    story.reindex(_running("pass-0", "pass-1", "pass-3"))
    story.settles(added)
    story.reindex(_running("pass-0", "pass-1", "pass-2", "pass-3"))  # merged through pass-2: the most held key
    story.settles(dict.fromkeys(["pass-0", "pass-1", "pass-2", "pass-3"], KEY["pass-1"]))
    story.reindex(_running("pass-0", "pass-1", "pass-3"))  # split again: the founder's part keeps its key
    story.settles(added)


def test_a_reindex_over_an_unreadable_index_keys_groups_by_their_founders(story) -> None:  # type: ignore[no-untyped-def]
    story.reindex(_running("pass-1", "pass-3"))
    story.add(_running("pass-0"))
    story.settles({"pass-0": KEY["pass-1"], "pass-1": KEY["pass-1"]})
    live = story.root / (story.root / "CURRENT").read_text(encoding="utf-8").strip()
    for path in live.rglob("*"):
        if path.suffix == ".toc":  # Whoosh's table of contents: lost
            path.unlink()
        elif path.suffix == ".glass":  # Xapian's tables: overwritten
            path.write_bytes(b"damaged")
    warnings = story.reindex(_running("pass-0", "pass-1", "pass-3"))
    assert "story-group keys of the live index unread" in warnings
    story.settles({"pass-0": KEY["pass-0"], "pass-1": KEY["pass-0"], "pass-3": KEY["pass-3"]})


D = copies.DAY


@pytest.mark.parametrize(
    ("groups", "before", "expected", "why"),
    [
        ({"A0": ["A0", "A"]}, {"A": "kA"}, {"A0": "kA", "A": "kA"}, "an earlier copy joined: the group's key kept"),
        ({"A": ["A", "B"], "C": ["C"]}, {"A": "kA", "B": "kA", "C": "kA"}, {"A": "kA", "B": "kA", "C": "g:C"},
         "a split: the part holding the key's founder (A) keeps it"),
        ({"B": ["B"], "C": ["C", "D"]}, {"B": "kA", "C": "kA", "D": "kA"}, {"B": "g:B", "C": "kA", "D": "kA"},
         "a split, the founder gone: the larger part keeps it"),
        ({"A": ["A", "C", "D"]}, {"A": "kA", "C": "kC", "D": "kC"}, {"A": "kC", "C": "kC", "D": "kC"},
         "a merge: the key most of it held"),
        ({"X": ["X"], "Y": ["Y"]}, {"Y": "g:X"}, {"X": "fresh", "Y": "g:X"},
         "a key is never given to two groups: X's own key is held by Y's group, X takes another"),
        ({"A": ["A", "B"]}, {}, {"A": "g:A", "B": "g:A"}, "no live index: the founder's key"),
    ],
)
def test_which_group_keeps_a_key(
    groups: dict[str, list[str]], before: dict[str, str], expected: dict[str, str], why: str
) -> None:
    """``keep_keys``, on groups as ``group_documents`` gives them (the founder first, each a day apart)."""
    known = {"kA": "A", "kC": "C"}  # the articles that founded these keys

    def key(name: str) -> str:
        return grouping.key_of(known.get(name, name[2:]))

    order = sorted({doc_id for ids in groups.values() for doc_id in ids})
    docs = [Document(doc_id, date=D + timedelta(days=order.index(doc_id))) for doc_id in order]
    by_group = {doc_id: founder for founder, ids in groups.items() for doc_id in ids}
    keys = grouping.keep_keys(docs, [grouping.key_of(by_group[d.id]) for d in docs],
                              {doc_id: key(old) for doc_id, old in before.items()})
    found = dict(zip(order, keys, strict=True))
    for doc_id, wanted in expected.items():
        if wanted == "fresh":
            assert found[doc_id] not in {grouping.key_of(i) for i in order}, why
        else:
            assert found[doc_id] == key(wanted), why
    assert len({found[ids[0]] for ids in groups.values()}) == len(groups), "one key per group"
