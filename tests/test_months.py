"""Month names: one word for search in all three traditions, and the page's tradition a setting.

The Arabic press names June يونيو (Egypt, the Gulf), جوان (the Maghreb) or حزيران
(the Levant, Iraq); a search for one finds the others. Some names are also
everyday words (مارس "practised", آب "father", ماي, نيسان): they are taken for a
month only beside a day or a year.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import embedded_engine
from search.analysis import normalise
from search.engine import Engine
from search.ingest import Document
from search.querytree import Phrase, Term


def _words(node) -> set[str]:  # type: ignore[no-untyped-def]
    """The exact-field words and phrases a query tree searches (a term's other spellings too: Term.also)."""
    if isinstance(node, Term):
        return {node.text, *node.also} if node.field == "body_exact" else set()
    if isinstance(node, Phrase):
        return {" ".join(node.words)} if node.field == "body_exact" else set()
    found: set[str] = set()
    for name in ("children", "positive", "negative", "required", "optional", "child"):
        value = getattr(node, name, None)
        for child in value if isinstance(value, tuple) else (value,) if value is not None else ():
            found |= _words(child)
    return found


def n(*words: str) -> set[str]:
    return {normalise(w) for w in words}


DAY = datetime(2017, 6, 5, 10, 0, tzinfo=UTC)
DOCS = [
    Document("egypt", "افتتاح المعرض", "افتتح المعرض الدولي للكتاب يوم 5 يونيو 2017 في القاهرة.", date=DAY),
    Document("maghreb", "افتتاح المهرجان", "افتتح المهرجان الصيفي يوم 5 جوان 2017 في الحمامات.", date=DAY),
    Document("levant", "افتتاح المعرض الفني", "افتتح المعرض الفني يوم 5 حزيران 2017 في بيروت.", date=DAY),
    Document("march", "معرض الربيع", "افتتح معرض الربيع في 15 مارس 2017 بمشاركة واسعة.", date=DAY),
    Document("verb", "رياضي قديم", "مارس الرياضة منذ صغره وفاز ببطولات كثيرة.", date=DAY),
    Document("father", "عيد الأب", "احتفل آب وأبناؤه بالعيد في الحديقة.", date=DAY),
    Document("january", "موسم الشتاء", "بدأ موسم الشتاء في كانون الثاني من كل عام.", date=DAY),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return embedded_engine(tmp_path_factory, "months", DOCS)


@pytest.mark.parametrize(
    ("typed", "includes", "excludes"),
    [
        ("جوان", n("يونيو", "يونيه", "جوان", "حزيران"), set()),
        ("حزيران", n("يونيو", "جوان"), set()),
        ("كانون الثاني", n("يناير", "جانفي") | {normalise("كانون الثاني")}, set()),
        ("يناير", {normalise("كانون الثاني")} | n("جانفي"), set()),
        ("مارس", n("مارس"), n("آذار")),  # alone, perhaps the verb: not a month
        ("15 مارس", n("مارس", "آذار"), set()),  # beside a day: the month
        ("مارس 2017", n("مارس", "آذار"), set()),  # beside a year
        ("آذار", n("آذار"), n("مارس")),  # to an ambiguous name only beside a date
        ("آذار ٢٠١٧", n("آذار", "مارس"), set()),  # Arabic-Indic digits
        ("آب", set(), n("أغسطس", "أوت")),  # "father" (a stopword once normalised): not a month
        ("آب 2017", n("أغسطس", "أوت"), set()),
        ("أوت", n("أغسطس", "أوت"), n("آب")),
        ("-يونيو", n("يونيو", "جوان", "حزيران"), set()),  # excluded: every name of June, as every spelling of a name
        ("-جوان تونس", n("يونيو", "جوان", "حزيران"), set()),
        ("ويونيو", n("يونيو", "جوان", "حزيران"), set()),  # «and June»: after a proclitic
        ("بحزيران 2017", n("يونيو", "جوان", "حزيران"), set()),
        # without the article (أول is a stopword: تشرين where «تشرين الثاني» is not, test below)
        ("تشرين أول", n("أكتوبر") | {normalise("تشرين الأول")}, set()),
        ("كانون ثاني", n("يناير", "جانفي") | {normalise("كانون الثاني")}, set()),
        ("غشت", n("أغسطس", "أوت", "غشت"), set()),  # the Moroccan press's names
        ("شتنبر", n("سبتمبر", "أيلول"), set()),
        ("دجنبر", n("ديسمبر") | {normalise("كانون الأول")}, set()),
        ("مارس2017", n("مارس", "آذار", "2017"), set()),  # joined to a year, a slash or a hyphen: the month
        ("15مارس", n("مارس", "آذار"), set()),
        ("جوان/يونيو", n("يونيو", "جوان", "حزيران"), set()),
        ("كانون-الثاني", {normalise("كانون الثاني")} | n("يناير"), n("الثاني")),
        ("الثاني-عشر", set(), n("يناير")),  # not a month: a part is no month word
        ("(آب 2017)", n("أغسطس", "أوت"), set()),  # beside a year in brackets: still beside a year
        ("مارس 2017،", n("مارس", "آذار"), set()),
    ],
)
def test_a_month_is_one_word_in_every_tradition(engine: Engine, typed: str, includes: set, excludes: set) -> None:
    parsed = engine.parse(typed)
    found = _words(parsed.query) if parsed.query is not None else set()
    assert includes <= found, found
    assert not excludes & found, found


def test_the_reader_is_told_which_names_were_added(engine: Engine) -> None:
    result = engine.search("جوان", suggest=False)
    notice = next(n for n in result.notices if n.code == "also_searched")
    assert "يونيو" in notice.message_ar and "حزيران" in notice.message_ar and "جوان" not in notice.message_ar
    assert not any(n.code == "also_searched" for n in engine.search("مارس", suggest=False).notices)


@pytest.mark.parametrize("typed", ["(جوان)", "جوان،", "جوان.", "جوان؟", "جوان:", "(كانون الثاني)"])
def test_punctuation_around_a_month_name_does_not_hide_its_other_names(engine: Engine, typed: str) -> None:
    """A name pasted with a comma, a full stop or brackets is the name: the analyser reads it so, and so
    do the other traditions' names (the page's notice says which were added, not the one typed)."""
    bare = typed.strip("()،.؟:")
    result = engine.search(typed, suggest=False)
    expected = engine.search(bare, suggest=False)
    assert {h.id for h in result.hits} == {h.id for h in expected.hits} and result.hits
    notice = next(n for n in result.notices if n.code == "also_searched")
    assert bare not in notice.message_ar and notice.message_ar == next(
        n for n in expected.notices if n.code == "also_searched").message_ar


@pytest.mark.parametrize("typed", ["يونيو", "جوان", "حزيران", "يونيه"])
def test_june_finds_june_in_every_tradition(engine: Engine, typed: str) -> None:
    assert {h.id for h in engine.search(typed, suggest=False).hits} == {"egypt", "maghreb", "levant"}


def test_ambiguous_names_find_the_month_only_beside_a_date(engine: Engine) -> None:
    assert "verb" not in {h.id for h in engine.search("آذار", suggest=False).hits}
    assert {h.id for h in engine.search("آذار 2017", suggest=False, match="any").hits} >= {"march"}
    assert "father" not in {h.id for h in engine.search("أغسطس", suggest=False).hits}
    assert {h.id for h in engine.search("يناير", suggest=False).hits} == {"january"}


@pytest.mark.parametrize(
    ("tradition", "june", "others"),
    [("mashriq", "يونيو", ("جوان", "حزيران")), ("maghreb", "جوان", ("يونيو", "حزيران")), ("levant", "حزيران", ("يونيو", "جوان"))],
)
def test_the_page_names_months_in_the_tradition_set(
    engine: Engine, tradition: str, june: str, others: tuple[str, ...]
) -> None:
    from webapp import create_app

    client = create_app({"INDEX": str(engine.root), "TESTING": True, "month_names": tradition}).test_client()
    page = client.get("/doc/egypt").get_data(as_text=True)
    meta = page[page.index('<p class="meta">') : page.index("</p>", page.index('<p class="meta">'))]
    assert june in meta and not any(other in meta for other in others)


def test_a_bad_tradition_is_refused_naming_the_setting(tmp_path: Path) -> None:
    from conftest import cli

    done = cli("search", "جوان", "--index", tmp_path, env={"BAHETH_MONTH_NAMES": "french", "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "BAHETH_MONTH_NAMES" in done.stderr


def test_a_long_query_is_not_widened(engine: Engine) -> None:
    parsed = engine.parse("افتتاح المعرض الدولي للكتاب في جوان")
    assert not n("يونيو", "حزيران") & _words(parsed.query)


def test_no_did_you_mean_for_a_month_name_the_search_widened(tmp_path_factory: pytest.TempPathFactory) -> None:
    """جوان was searched as June in every tradition, yet the page offered «هل تقصد: جون؟» (John McCain):
    the more frequent neighbour of a word the search already widened is no correction."""
    docs = [
        *(Document(f"john{k}", f"جون ماكين {k}", f"قال السيناتور جون ماكين في تصريح اليوم {k}.", date=DAY)
          for k in range(45)),
        Document("juin", "المهرجان الصيفي", "افتتح المهرجان يوم 5 جوان 2017 في الحمامات.", date=DAY),
        Document("june", "المعرض", "افتتح المعرض يوم 5 يونيو 2017 في القاهرة.", date=DAY),
    ]
    engine = embedded_engine(tmp_path_factory, "months-suggest", docs)
    found = engine.search("جوان", snippets=False)
    assert {hit.id for hit in found.hits} == {"juin", "june"}
    assert found.suggestion is None
    assert engine.search("جونن", snippets=False).suggestion == "جون"  # a typo still gets its correction


@pytest.mark.parametrize("typed", ["افتتح -يونيو", "افتتح -جوان", "افتتح -(حزيران)", "افتتح -يونيه"])
def test_an_excluded_month_excludes_every_name_of_it(engine: Engine, typed: str) -> None:
    """«تونس -يونيو» kept the June articles written جوان (red team): a month excluded by one name is
    excluded by all, as a name excluded by one spelling is; and no line says a name was «also searched»."""
    found = engine.search(typed, suggest=False)
    assert {hit.id for hit in found.hits} == {"march"}
    assert not [n for n in found.notices if n.code == "also_searched"]


@pytest.mark.parametrize("typed", ["ويونيو", "وجوان", "بحزيران", "جوان/يونيو", "يونيو-حزيران"])
def test_a_month_with_a_clitic_or_joined_to_another_name_is_the_month(engine: Engine, typed: str) -> None:
    """«ويونيو» found 5 articles against 357 for يونيو on JawharaFM, and «جوان/يونيو» fewer than جوان."""
    assert {hit.id for hit in engine.search(typed, suggest=False).hits} == {"egypt", "maghreb", "levant"}


@pytest.mark.parametrize(("typed", "excluded"), [("يناير -جانفي", "جانفي"), ("يونيو -جوان", "حزيران"),
                                              ("يونيو -جوان", "يونيه")])
def test_the_line_never_names_a_month_name_the_reader_excluded(engine: Engine, typed: str, excluded: str) -> None:
    told = [n.params["text"] for n in engine.search(typed, suggest=False).notices if n.code == "also_searched"]
    assert not any(excluded in text for text in told)


LEVANT = [
    Document("oct-lev", "قمة في تشرين أول", "عقدت القمة في 3 تشرين أول 2016 في بيروت.", date=DAY),
    Document("oct", "قمة أكتوبر", "عقدت القمة في 3 أكتوبر 2016 في القاهرة.", date=DAY),
    Document("nov", "قمة تشرين الثاني", "عقدت القمة في 3 تشرين الثاني 2016 في دمشق.", date=DAY),
    Document("nov-lev", "قمة تشرين ثاني", "عقدت القمة في 3 تشرين ثاني 2016 في عمان.", date=DAY),
    Document("dec-lev", "عيد في كانون أول", "احتفلوا في 25 كانون أول بالعيد.", date=DAY),
    Document("jan", "شتاء كانون الثاني", "برد شديد في كانون الثاني.", date=DAY),
]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("تشرين أول", {"oct", "oct-lev"}),  # the name typed finds the articles that write it
        ("أكتوبر", {"oct", "oct-lev"}),
        ("تشرين الأول", {"oct", "oct-lev"}),
        ("نوفمبر", {"nov", "nov-lev"}),  # and November's articles are not October's
        ("تشرين ثاني", {"nov", "nov-lev"}),
        ("كانون أول", {"dec-lev"}),
        ("ديسمبر", {"dec-lev"}),
        ("يناير", {"jan"}),
    ],
)
def test_a_name_whose_second_word_is_a_stopword_is_its_month(
    tmp_path_factory: pytest.TempPathFactory, typed: str, found: set[str]
) -> None:
    """أول is a stopword, so no phrase holds «تشرين أول»: left out, the name found nothing, not even an
    article that writes it; as its first word alone it was November too. It is تشرين where no other
    month's name with it is written."""
    engine = embedded_engine(tmp_path_factory, "levant", LEVANT)
    assert {hit.id for hit in engine.search(typed, suggest=False).hits} == found
