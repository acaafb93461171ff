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
