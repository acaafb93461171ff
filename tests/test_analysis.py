"""The analyser, specified as tables of real Arabic text."""

from __future__ import annotations

import pytest

from search.analysis import (
    exact_analyzer,
    index_terms,
    light_stem,
    normalise,
    stem_analyzer,
    stopwords,
    terms,
    written_words,
)

# Each group: spellings a reader may type for the same word; all must give the same terms.
SAME_TERMS = [
    ("internet", ["الإنترنت", "#الانترنت", "بالإنترنت", "للإنترنت", "الانترنت", "والإنترنت", "إنترنت"]),
    ("hamza seat", ["مسؤولون", "مسئولون", "مسؤول", "المسؤولون"]),
    # Decomposed (NFD, as macOS and some PDFs write them): و or ي, then the combining hamza (U+0654).
    ("decomposed hamza seats", ["الرئيس", "الري\u0654يس", "الرئيس".replace("ئ", "\u064a\u0654")]),
    ("decomposed waw hamza", ["مسؤولون", "مسو\u0654ولون", "مسؤُولون", "مسو\u064f\u0654ولون"]),
    ("decomposed hamza with a mark first", ["رئَيس", "ري\u064e\u0654يس", "رئيس"]),
    ("decomposed alef hamza and madda", ["أمريكا", "ا\u0654مريكا", "إمريكا", "ا\u0655مريكا", "ا\u0653مريكا"]),
    ("teh marbuta", ["المتحدة", "المتحده", "متحدة"]),
    ("digits", ["٢٠٠٦", "2006", "۲۰۰۶"]),
    ("diacritics", ["مُسْؤُولُونَ", "مسؤولون"]),
    ("shadda and tanween", ["مكافحةً", "مُكافَحَة", "مكافحة"]),
    ("tatweel", ["الـــمتحدة", "المتحدة", "مـتـحـدة"]),
    ("alef forms", ["أمريكا", "إمريكا", "آمريكا", "امريكا", "ٱمريكا"]),
    ("alef maksura", ["مصطفى", "مصطفي"]),
    ("egyptian spelling", ["الأثرى", "الأثري", "الاثري"]),
    ("lam-alef ligature", ["ﻻعب", "لاعب", "ﻼعب"]),
    ("presentation forms", ["ﺍﻟﻌﺮﺏ", "العرب"]),
    ("persian letters", ["کتاب", "كتاب"]),
    ("persian yeh", ["دبی", "دبي", "دبى"]),
    ("heh goal", ["مدرسہ", "مدرسة"]),
    ("maghrebi qaf with three dots", ["الڨصرين", "القصرين"]),
    ("veh", ["ڤيروس", "فيروس", "ڥيروس"]),
    ("peh", ["پاريس", "باريس"]),
    ("tcheh", ["چنيف", "جنيف"]),
    ("gaf and moroccan gaf", ["گولف", "كولف", "ڭولف", "ݣولف"]),
    ("jeh", ["ژوان", "زوان"]),
    ("latin case", ["Facebook", "FACEBOOK", "facebook"]),
    ("bidi controls", ["\u200fالعرب\u200e", "العرب", "ال\u200cعرب"]),
    ("plural suffix", ["الحسابات", "حسابات", "والحسابات"]),
    ("conjunction waw", ["وقال", "قال"]),
    ("clitic article combos", ["وبالمنتخب", "المنتخب", "للمنتخب", "فالمنتخب", "كالمنتخب"]),
]


@pytest.mark.parametrize(("name", "forms"), SAME_TERMS, ids=[g[0] for g in SAME_TERMS])
def test_forms_give_the_same_terms(name: str, forms: list[str]) -> None:
    results = {form: terms(form) for form in forms}
    first = results[forms[0]]
    assert first, f"{forms[0]} gave no term"
    for form, got in results.items():
        assert got == first, f"{name}: {form} -> {got}, but {forms[0]} -> {first}"


# Pairs light10 wrongly merges (or that must stay apart); they must give different terms.
MUST_DIFFER = [
    ("واشنطن", "اشنطن"),  # light10 strips the radical و
    ("وافق", "افق"),  # agreed / horizon
    ("وزارة", "زارة"),
    ("لبنان", "لبن"),  # Lebanon / milk
    ("البحرين", "بحر"),  # Bahrain / sea
    ("سلطان", "سلطة"),  # sultan / authority
    ("إيران", "إير"),
    ("الإنترنت", "الانتخابات"),
]


@pytest.mark.parametrize(("a", "b"), MUST_DIFFER)
def test_forms_stay_apart(a: str, b: str) -> None:
    assert terms(a) != terms(b)


SENTENCES = [
    # (real sentence, terms that must be among its stemmed terms)
    (
        "مسؤولون أمميون: منع استخدام #الانترنت لأغراض #التطرف مسؤولية مشتركة",
        ["مسءول", "انترنت", "تطرف", "مشترك"],
    ),
    ("أعلنت شركة Facebook أنها حذفت ملايين الحسابات خلال عام ٢٠١٨", ["facebook", "2018", "حساب"]),
    ("ينتشر فيروس COVID-19 في 2020", ["covid", "19", "2020"]),
    ("خبراء ذخائر يوضحون لـCNN مواصفات القنبلة", ["cnn", "قنبل"]),
]


@pytest.mark.parametrize(("sentence", "expected"), SENTENCES)
def test_sentence_terms(sentence: str, expected: list[str]) -> None:
    got = terms(sentence)
    for term in expected:
        assert term in got, f"{term} missing from {got}"


STOPWORDS = ["فِي", "في", "فى", "إلى", "الى", "إلي", "وفي", "ومن", "لهذا", "التي", "الذى", "على", "عن"]


@pytest.mark.parametrize("word", STOPWORDS)
def test_stopwords_are_removed(word: str) -> None:
    assert terms(word) == []
    assert terms(word, stem=False) == []


def test_stopword_list_is_normalised() -> None:
    stops = stopwords()
    assert len(stops) > 10_000  # the clitic forms of arabic-stopwords
    assert all(word == normalise(word) for word in stops)
    for content_word in ["انترنت", "لبنان", "قال", "وزير", "مصر"]:
        assert content_word not in stops


def test_offsets_point_into_the_original_text() -> None:
    text = "استخدام #الانترنت و لِلْإِنْتَرْنِتِ والـــعرب"
    tokens = [(t.text, text[t.startchar : t.endchar]) for t in stem_analyzer()(text, chars=True, positions=True)]
    assert ("انترنت", "#الانترنت") in tokens
    assert ("انترنت", "لِلْإِنْتَرْنِتِ") in tokens  # diacritics inside the word stay inside it
    assert ("عرب", "والـــعرب") in tokens


def test_a_word_with_diacritics_is_one_token() -> None:
    assert len(list(exact_analyzer()("مُسْؤُولُونَ"))) == 1


def test_positions_survive_stopword_removal() -> None:
    # Whoosh reuses one Token object, so read each token as it comes.
    tokens = [(t.text, t.pos) for t in exact_analyzer()("الشرق في الأوسط", positions=True)]
    assert tokens == [("الشرق", 0), ("الاوسط", 2)]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("الحسابات", "حساب"),
        ("والمسؤولون", "مسءول"),
        ("المتحدة", "متحد"),
        ("وزيرها", "وزير"),
        ("واشنطن", "واشنطن"),
        ("لبنان", "لبنان"),
        ("كتب", "كتب"),  # too short to strip
        ("facebook", "facebook"),
        ("2018", "2018"),
    ],
)
def test_light_stem(word: str, stem: str) -> None:
    assert light_stem(normalise(word)) == stem


@pytest.mark.parametrize("text", ["", "   ", "!!! ؟؟ ،،", "😀🔥", "\x00\x01\x02", "ـــ"])
def test_nothing_to_index(text: str) -> None:
    assert terms(text) == []


CHAIN_TEXTS = [
    "أعلنت وزارةُ الخارجيّة المصريّة، اليوم، عن زيارةٍ رسميّة إلى واشنطن لبحث التعاون",
    "منع استخدام #الانترنت لأغراض #التطرف مسؤولية مشتركة بين الحكومات والقطاع الخاص",
    "ﻻ للإرهاب في ٢٠١٨ ولا في 2019: قال الرئيـــس إنّ «الأمن» أولوية",
    "کتاب یک فارسی و العربية معاً مع CNN وBBC وe-mail و x\u200cy و الكتا\u200cب",
    "في من على إلى عن مع هذا الذي",
    "",
    "😀 !!! ... ؟؟",
]


@pytest.mark.parametrize("text", CHAIN_TEXTS)
@pytest.mark.parametrize("stem", [True, False])
def test_the_one_pass_analyser_gives_the_chain_of_pieces_tokens(text: str, stem: bool) -> None:
    from search.analysis import TOKENIZER, ArabicStemFilter, ArabicStopFilter, exact_analyzer, stem_analyzer

    chain = TOKENIZER | ArabicStopFilter() | ArabicStemFilter() if stem else TOKENIZER | ArabicStopFilter()
    fused = stem_analyzer() if stem else exact_analyzer()
    for options in ({}, {"positions": True, "chars": True}, {"positions": True, "removestops": False}):
        def seen(analyzer):  # type: ignore[no-untyped-def]
            return [
                (t.text, getattr(t, "pos", None), getattr(t, "startchar", None), getattr(t, "endchar", None), t.stopped)
                for t in analyzer(text, **options)
            ]

        assert seen(fused) == seen(chain), options


def test_long_words_are_analysed_but_not_memoised() -> None:
    """The per-word tables keep words of up to MAX_MEMO_CHARS: a text of long junk tokens cannot fill them."""
    from search import analysis

    long_word = "الاقتصاد" * 10  # 80 letters
    analysis._SURFACE_TERMS.pop(long_word, None)
    analysis._SURFACES.pop(long_word, None)
    assert terms(f"{long_word} الاقتصاد", stem=False) == [normalise(long_word), "الاقتصاد"]
    assert long_word not in analysis._SURFACE_TERMS and long_word not in analysis._SURFACES
    assert all(long_word not in table for table in analysis._KEPT.values())
    assert "الاقتصاد" in analysis._SURFACE_TERMS


@pytest.mark.parametrize("stem", [True, False])
def test_the_fast_path_gives_the_tokens_of_the_full_one(stem: bool) -> None:
    """Without offsets the analyser takes a memoised fast path: same texts, same positions."""
    from search.analysis import ArabicAnalyzer
    from tests.conftest import FIXTURES, SEEDS

    texts = [p.read_text(encoding="utf-8") for p in [*SEEDS.iterdir(), FIXTURES / "news.sgml"]]
    texts += ["", "و في من على", "ﻻ ﻷ الأمم لا", "الـــقـــدس ١٢٣ COVID-19 e\u0301te\u0301", "كتب" * 40 + " و" * 3]
    analyzer = ArabicAnalyzer(stem=stem)
    for text in texts:
        for _round in range(2):  # the second time from the memo
            fast = [(t.text, t.pos) for t in analyzer(text, positions=True, start_pos=5)]
            full = [(t.text, t.pos) for t in analyzer(text, positions=True, start_pos=5, keeporiginal=True)]
            assert fast == full


def test_widen_memo_lets_every_table_keep_more_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked index writer widens the tables (search.analysis.widen_memo): past the usual bound a
    table starts afresh; widened, it keeps every word, and the words' terms are the same."""
    from search import analysis, roots

    monkeypatch.setattr(analysis, "MAX_MEMO_WORDS", 50)
    monkeypatch.setattr(analysis, "MAX_ROOTS", 50)
    for table in analysis._WORD_TABLES:
        monkeypatch.setattr(table, "limit", 50)
    tables = (analysis._SURFACES, analysis._SURFACE_TERMS, analysis._KEPT[False], analysis._TERMS_OF_WORD[False, False])
    letters = "بتثجحخدذرزسشصضطظعغفقكلمن"
    words = [f"و{a}{b}ات" for a in letters for b in letters][:120]  # 120 distinct written words
    before = [index_terms(written_words(w), stem=False) for w in words]
    assert all(len(table) <= 50 for table in tables)  # the usual bound: each started afresh
    analysis.widen_memo(500)
    assert analysis.MAX_MEMO_WORDS == 500 and analysis.MAX_ROOTS == 500
    assert roots._FORM_IDS in analysis._WORD_TABLES and roots._FORM_IDS.limit == 500
    for table in tables:
        table.clear()
    after = [index_terms(written_words(w), stem=False) for w in words]
    assert after == before
    assert all(set(words) <= set(table) for table in tables[1:])  # every word kept
    forms = [f for t in after for f in t]
    roots._FORM_IDS.clear()
    roots.forms_column(forms, [1] * len(forms))
    assert len(set(forms)) > 100 and set(forms) <= set(roots._FORM_IDS)
    analysis.widen_memo(10)  # never narrows
    assert analysis.MAX_MEMO_WORDS == 500
