"""Phrases and prefixes through Arabic clitics, on both backends, and phrases marked as one span."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import engine_on, write_articles
from search.analysis import normalise, possessive_forms, proclitic_forms
from search.engine import Engine

ARTICLES = {
    "plain": "قال الأمين العام للمنظمة إن الأمم المتحدة سترسل بعثة جديدة.",
    "li": "وجه الرئيس رسالة إلى الأمين العام للأمم المتحدة أمس.",
    "wa": "رحبت الحكومة والأمم المتحدة بالاتفاق الجديد.",
    "bi": "اجتمع الوفد بمسؤولين في مقر الأمم المتحدة وبالأمم المتحدة في جنيف.",
    "apart": "الأمم القديمة عرفت التجارة، والولايات المتحدة بلد كبير.",  # both words, never together
    "union": "أعلن الاتحاد العام التونسي للشغل إضرابا عاما في قطاع التعليم.",
    "union-li": "ينتمي المعلمون للاتحاد العام التونسي للشغل منذ سنوات.",
    "union-bi": "التقى رئيس الحكومة بالاتحاد العام التونسي للشغل صباح اليوم.",
    "poss": "أعلن رئيس حكومتها استقالته بعد الأزمة السياسية.",
    "poss-plain": "التقى رئيس حكومة تونس بالسفير الفرنسي.",
    "net": "انتشر الفيديو على الإنترنت بسرعة كبيرة.",
    "net-bi": "يتصل الطلاب بالإنترنت من المدرسة.",
    "net-li": "أسعار جديدة للانترنت في تونس هذا العام.",
    "net-plain": "خدمات انترنت سريعة في المدن الكبرى.",
    "tunis": "زار الوزير تونس ثم عاد إلى بلاده.",
    "tunis-bi": "عقد المؤتمر بتونس العاصمة الأسبوع الماضي.",
    "tunis-wa": "بين الجزائر وتونس علاقات قديمة.",
}


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_articles(tmp_path_factory.mktemp("clitics"), ARTICLES)


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def engine(request: pytest.FixtureRequest, collection: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from engine_on(request.param, collection, tmp_path_factory.mktemp(request.param) / "index", "clitics")


def found(engine: Engine, query: str) -> set[str]:
    return {hit.id for hit in engine.search(query, per_page=50).hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"الأمم المتحدة"', {"plain", "li", "wa", "bi"}),  # للأمم، والأمم، بالأمم: not "apart"
        ('"للأمم المتحدة"', {"plain", "li", "wa", "bi"}),  # typed with its clitic: every form too
        ('"الاتحاد العام التونسي للشغل"', {"union", "union-li", "union-bi"}),
        ('"رئيس حكومة"', {"poss", "poss-plain"}),  # a possessive on the last word: حكومتها
        ('"الامم المتحده"', {"plain", "li", "wa", "bi"}),  # without hamza and with ه
    ],
)
def test_phrases_match_through_clitics(engine: Engine, query: str, expected: set[str]) -> None:
    assert found(engine, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("انترن*", {"net", "net-bi", "net-li", "net-plain"}),
        ("الانترن*", {"net", "net-bi", "net-li", "net-plain"}),  # a typed article is no obstacle
        ("الإنترن*", {"net", "net-bi", "net-li", "net-plain"}),
        ("تون*", {"tunis", "tunis-bi", "tunis-wa", "union", "union-li", "union-bi", "net-li", "poss-plain"}),
    ],
)
def test_prefixes_match_after_clitics(engine: Engine, query: str, expected: set[str]) -> None:
    assert found(engine, query) == expected


def test_a_phrase_is_marked_as_one_span(engine: Engine) -> None:
    hits = {hit.id: hit for hit in engine.search('"الأمم المتحدة"', per_page=50).hits}
    assert hits["li"].snippet.count("<mark>") == 1
    assert "<mark>للأمم المتحدة</mark>" in hits["li"].snippet
    assert "<mark>وبالأمم المتحدة</mark>" in hits["bi"].snippet and "<mark>الأمم المتحدة</mark>" in hits["bi"].snippet
    doc = engine.document("apart", '"الأمم المتحدة"')
    assert doc is not None and "<mark" not in doc.body_html  # its words apart are not the phrase


def test_phrase_words_elsewhere_are_marked_when_they_matched_alone(engine: Engine) -> None:
    hit = next(h for h in engine.search('"الأمم المتحدة" بعثة', per_page=50).hits if h.id == "plain")
    assert "<mark>الأمم المتحدة</mark>" in hit.snippet and "<mark>بعثة</mark>" in hit.snippet


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("الاتحاد", {"الاتحاد", "للاتحاد", "والاتحاد", "بالاتحاد", "فالاتحاد", "كالاتحاد", "وللاتحاد", "وبالاتحاد"}),
        ("للاتحاد", {"الاتحاد", "للاتحاد", "والاتحاد"}),
        ("تونس", {"تونس", "وتونس", "بتونس", "لتونس", "فتونس", "كتونس", "وبتونس", "ولتونس"}),
    ],
)
def test_proclitic_forms(word: str, forms: set[str]) -> None:
    got = proclitic_forms(normalise(word))
    assert got[0] == normalise(word) and forms <= set(got)


@pytest.mark.parametrize(
    ("word", "forms", "not_forms"),
    [
        ("حكومة", {"حكومه", "حكومتها", "حكومته", "حكومتنا"}, {"حكومهها"}),
        ("كتاب", {"كتاب", "كتابه", "كتابهم"}, {"كتابي"}),  # ي mostly makes an adjective: not searched
        ("المتحدة", {"المتحده"}, {"المتحدتها"}),  # the article: no possessive
        ("له", {"له"}, set()),  # too short
    ],
)
def test_possessive_forms(word: str, forms: set[str], not_forms: set[str]) -> None:
    got = set(possessive_forms(normalise(word)))
    assert forms <= got and not (not_forms & got)
