"""Which written forms of the query's words matched: «صيغ …: الإنترنت ١٢ · الأنترنت ٥ · انترنت ٥»."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from search.analysis import written_form
from search.backends.whoosh.store import build
from search.engine import MAX_FORMS, Engine
from search.ingest import Document, LoadResult

DAY = datetime(2020, 1, 1, tzinfo=UTC)
TEXTS = [
    "انقطع الإنترنت في العاصمة، وعاد الإنترنت بعد ساعة.",
    "شبكة الأنترنت بطيئة، وخدمات الأنترنت غالية.",
    "ارتفع عدد مستخدمي الانترنت، وقال خبير إن الإِنْتَرْنِت ضروري.",
    "اشترك للإنترنت السريع، أو اتصل بالإنتـــرنت عبر الهاتف.",
    "#الانترنت وسم منتشر، وكلمة انترنت تكتب بلا أداة.",
    "سوق العاصمة مزدحم اليوم.",
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root: Path = tmp_path_factory.mktemp("forms")
    docs = [Document(f"d{i}", f"خبر {i}", text, date=DAY) for i, text in enumerate(TEXTS)]
    build(root, LoadResult(documents=docs), ["forms"])
    return Engine(root)


@pytest.mark.parametrize(
    ("surface", "written"),
    [
        ("الإِنْتَرْنِت", "الإنترنت"),  # marks are not spelling
        ("بالإنتـــرنت", "بالإنترنت"),  # nor is tatweel
        ("#الانترنت", "الانترنت"),  # nor a hashtag's sign
        ("لل\u200bإنترنت", "للإنترنت"),  # nor a zero-width space copied with the word
        ("الأنترنت", "الأنترنت"),  # hamza forms are kept: they are what differs
        ("ﻻ", "لا"),  # a presentation-form ligature as its letters
        # decomposed (NFD) hamza seats keep their hamza: the forms line said «رييس», a spelling no article has
        ("ر\u064a\u0654\u064aس", "رئيس"),
        ("مس\u0648\u0654\u0648ل", "مسؤول"),
        ("ال\u0627\u0655\u0646ترنت", "الإنترنت"),
        ("س\u064a\u0650\u0654ل", "سئل"),  # a vowel mark between the seat and its hamza
    ],
)
def test_a_written_form_keeps_only_what_spells_the_word(surface: str, written: str) -> None:
    assert written_form(surface) == written


def test_the_written_forms_of_a_word_that_matched_several_ways(engine: Engine) -> None:
    result = engine.search("انترنت", suggest=False, per_page=10)
    (word,) = result.forms
    assert word.word == "انترنت"
    forms = dict(word.forms)
    assert forms["الإنترنت"] == 3 and forms["الأنترنت"] == 2  # the diacritised one counts as الإنترنت
    assert set(forms) == {"الإنترنت", "الأنترنت", "الانترنت", "للإنترنت", "بالإنترنت", "انترنت"}
    counts = [n for _, n in word.forms]
    assert counts == sorted(counts, reverse=True) and len(word.forms) <= MAX_FORMS


def test_a_word_written_one_way_is_not_listed(engine: Engine) -> None:
    assert engine.search("مزدحم", suggest=False).forms == []


def test_the_api_and_the_page_show_the_forms(engine: Engine) -> None:
    from webapp import create_app

    client = create_app({"INDEX": str(engine.root), "TESTING": True}).test_client()
    body = client.get("/api/search", query_string={"q": "انترنت"}).get_json()
    assert body["forms"][0]["word"] == "انترنت" and body["forms"][0]["forms"][0] == {"form": "الإنترنت", "count": 3}
    page = client.get("/", query_string={"q": "انترنت"}).get_data(as_text=True)
    assert 'class="forms"' in page and "<bdi>الأنترنت</bdi>&nbsp;٢" in page


def test_a_spelling_of_two_words_and_a_phrase_are_counted_with_the_forms(tmp_path: Path) -> None:
    """The forms line said nothing for فيسبوك on the ANT archive (browser review): the outlets there write
    فيسبوك or فيس بوك, and a phrase's matches were left out of the count, so one form was left. A quoted
    phrase's forms (with a clitic on its first word) are counted the same way."""
    texts = ["نشر الوزير صورة على فيس بوك أمس.", "حذف فيس بوك آلاف الحسابات.", "أعلن فيسبوك عن ميزة جديدة.",
             "دعا رئيس مجلس الأمن إلى اجتماع.", "قدمت الدولة شكوى لمجلس الأمن الدولي."]
    docs = [Document(f"d{i}", f"خبر {i}", text, date=DAY) for i, text in enumerate(texts)]
    build(tmp_path, LoadResult(documents=docs), ["forms"])
    engine = Engine(tmp_path)
    forms = {f.word: dict(f.forms) for f in engine.search("فيسبوك", suggest=False).forms}
    assert forms == {"فيسبوك": {"فيس بوك": 2, "فيسبوك": 1}}
    forms = {f.word: dict(f.forms) for f in engine.search('"مجلس الأمن"', suggest=False).forms}
    assert forms == {"«مجلس الأمن»": {"مجلس الأمن": 1, "لمجلس الأمن": 1}}
