"""A word found after a proclitic (ب ل ك ف و) where the light stem keeps it, on both backends.

The light stem strips the article and its combinations, not a preposition or conjunction on a word
without the article: بجندوبة's stem is بجندوب, not جندوب. A typed word is also searched in the
forms with a proclitic that the index holds, as the same term (Term.also): جندوبة finds «بجندوبة».
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import cli, embedded_engine, engine_on, write_articles, xapian_shards
from search.backends.whoosh.store import build
from search.engine import Engine
from search.ingest import Document, LoadResult, load_sources
from search.query import CLITIC_MIN_CHARS, Weights
from search.querytree import AllOf, AndMaybe, AndNot, AnyOf, Node, Term
from search.settings import defaults

ARTICLES = {
    "jendouba": "أعلنت ولاية جندوبة عن موسم فلاحي واعد هذا العام.",
    "jendouba-bi": "تهاطلت أمطار غزيرة بجندوبة ليلة أمس وتضررت الطرقات.",
    "jendouba-li": "أدى وزير الفلاحة زيارة لجندوبة لمتابعة موسم الحصاد.",
    "jendoubi": "قال المدرب الجندوبي إن فريقه جاهز للمباراة.",
    "bizerte-bi": "انطلقت المهرجانات الصيفية ببنزرت هذا الأسبوع.",
    "train-li": "انتظر المسافرون ساعتين لقطار الضاحية الجنوبية.",
    "sousse": "شهدت مدينة سوسة توافدا كبيرا للسياح هذا الصيف.",
    "reply": "جاء رد الوزارة على الانتقادات سريعا.",
    "cold": "اشتد برد الشتاء في المرتفعات الغربية.",
    # Words that begin as a proclitic + another word does, but are words of their own (the index also
    # holds them with the article): كرة is not فكرة, جنة not لجنة, بلدية not لدية.
    "ball": "سجل اللاعب هدفا بكرة رأسية في مرمى الفريق المنافس.",
    "idea": "طرح الوزير فكرة جديدة لإصلاح التعليم.",
    "idea-al": "لقيت الفكرة ترحيبا واسعا من النقابات.",
    "committee": "اجتمعت لجنة المالية في البرلمان أمس.",
    "committee-al": "أصدرت اللجنة تقريرها النهائي.",
    "paradise": "وصف السياح الجزيرة بأنها جنة على الأرض.",
    "council": "صادق المجلس على ميزانية بلدية تونس.",
    "council-al": "أعلنت البلدية عن حملة نظافة.",
    "has": "قال إن لدية معلومات جديدة عن القضية.",
}


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_articles(tmp_path_factory.mktemp("clitic-words"), ARTICLES)


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def engine(request: pytest.FixtureRequest, collection: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from engine_on(request.param, collection, tmp_path_factory.mktemp(request.param) / "index", "clitic-words")


def found(engine: Engine, query: str) -> set[str]:
    return {hit.id for hit in engine.search(query, per_page=50).hits}


def terms(node: Node | None) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, (AnyOf, AllOf)):
        return [t for child in node.children for t in terms(child)]
    if isinstance(node, AndNot):
        return terms(node.positive) + terms(node.negative)
    if isinstance(node, AndMaybe):
        return terms(node.required) + terms(node.optional)
    return []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("جندوبة", {"jendouba", "jendouba-bi", "jendouba-li", "jendoubi"}),  # بجندوبة، لجندوبة
        ("بنزرت", {"bizerte-bi"}),  # ببنزرت
        ("قطار", {"train-li"}),  # لقطار
        ("بسوسة", {"sousse"}),  # typed with its clitic: the word without it
        ("رد", {"reply"}),  # too short for a clitic: رد is not برد
        # With the article, as before: its own stem (جندوب), never the forms with a proclitic.
        ("الجندوبي", {"jendouba", "jendoubi"}),
    ],
)
def test_a_word_is_found_after_a_proclitic(engine: Engine, query: str, expected: set[str]) -> None:
    assert found(engine, query) == expected


def test_only_forms_the_index_holds_and_none_for_short_or_article_words(engine: Engine) -> None:
    parsed = engine.parse("جندوبة")
    also = {form for t in terms(parsed.query) for form in t.also}
    assert also == {"بجندوب", "لجندوب", "بجندوبه", "لجندوبه"}  # not كجندوبه، فجندوبه …: not in the index
    assert len("رد") < CLITIC_MIN_CHARS
    for query in ("رد", "الجندوبي"):
        assert all(not t.also for t in terms(engine.parse(query).query)), query


def test_forms_with_a_proclitic_are_marked_and_credited_to_the_word_typed(engine: Engine) -> None:
    result = engine.search("جندوبة", per_page=50)
    snippets = {hit.id: hit.snippet for hit in result.hits}
    assert "<mark>بجندوبة</mark>" in snippets["jendouba-bi"]
    assert "<mark>لجندوبة</mark>" in snippets["jendouba-li"]
    forms = {f.word: dict(f.forms) for f in result.forms}
    assert set(forms["جندوبة"]) >= {"جندوبة", "بجندوبة", "لجندوبة"}
    page = engine.document("jendouba-bi", "جندوبة")
    assert page is not None and 'title="يطابق كلمة البحث: جندوبة">بجندوبة</mark>' in page.body_html


def test_an_excluded_word_excludes_its_forms_with_a_proclitic(engine: Engine) -> None:
    assert found(engine, "موسم -جندوبة") == set()  # «موسم» is in jendouba and jendouba-li


# --- one term, not two: the df of a word and its forms is the documents holding any of them ----

FILLER = "في المدينة خبر عادي عن الطقس والأسواق"


def _docs(second: str) -> list[Document]:
    """Three articles holding «سوسة» and ``second``, three others: only ``second`` differs."""
    day = datetime(2020, 5, 1, tzinfo=UTC)
    docs = [Document(f"both-{i}", "", f"سوسة {second} {FILLER} {i}", date=day) for i in range(3)]
    docs += [Document(f"other-{i}", "", f"{FILLER} رياضة {i}", date=day) for i in range(3)]
    return docs


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def twins(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two indexes alike but for one word: «سوسة بسوسة» in one, «سوسة سوسة» in the other."""
    engines, stops = [], []
    for name, second in (("clitic", "بسوسة"), ("twice", "سوسة")):
        root = tmp_path_factory.mktemp(f"{request.param}-{name}") / "index"
        if request.param == "whoosh":
            build(root, LoadResult(documents=_docs(second)), [name])
            engines.append(Engine(root, weights=Weights(roots=False)))
            continue
        source = root.parent / "articles.jsonl"
        rows = [{"id": d.id, "title": d.title, "body": d.body, "date": d.date.isoformat()} for d in _docs(second)]
        source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        shards = xapian_shards(root, [source])
        config = defaults().replace(index=str(root), backend="xapian", shards=shards)
        engines.append(Engine(config=config, weights=Weights(roots=False)))
        stops.append(root)
    yield engines
    for root in stops:
        cli("shards", "stop", "--index", root)


def test_a_word_and_its_clitic_form_in_one_article_rank_as_the_word_twice(twins: list[Engine]) -> None:
    """«سوسة بسوسة» scores as «سوسة سوسة»: frequencies summed, and the three articles holding both
    forms count three for the idf (the union), not six (the sum of each form's)."""
    clitic, twice = twins
    assert any(t.also for t in terms(clitic.parse("سوسة").query))
    one, other = clitic.search("سوسة", per_page=50), twice.search("سوسة", per_page=50)
    assert {h.id for h in one.hits} == {h.id for h in other.hits} == {"both-0", "both-1", "both-2"}
    assert [round(h.score, 6) for h in one.hits] == [round(h.score, 6) for h in other.hits]


@pytest.mark.parametrize(
    ("typed", "wanted", "not_wanted"),
    [
        ("كرة", {"ball"}, {"idea", "idea-al"}),  # بكرة: the ball after ب; فكرة: an idea, الفكرة in the index
        ("جنة", {"paradise"}, {"committee", "committee-al"}),
        ("بلدية", {"council", "council-al"}, {"has"}),  # البلدية in the index: بلدية is a word, not ب + لدية
    ],
)
def test_a_word_of_its_own_is_not_a_clitic_form(
    engine: Engine, typed: str, wanted: set[str], not_wanted: set[str]
) -> None:
    hits = found(engine, typed)
    assert wanted <= hits and not hits & not_wanted


def test_the_ablation_switch_turns_the_forms_off(collection: Path, tmp_path: Path) -> None:
    """benchmarks/evaluate.py's «no clitic forms» row: Weights(clitics=False) searches the word as typed."""
    build(tmp_path / "index", load_sources([collection]), ["clitic-words"])
    plain = found(Engine(tmp_path / "index", weights=Weights(clitics=False)), "جندوبة")
    assert plain == {"jendouba", "jendoubi"}  # الجندوبي: the light stem's own match
    assert found(Engine(tmp_path / "index"), "جندوبة") == plain | {"jendouba-bi", "jendouba-li"}


FRIENDS = [  # a word after ب / ك / ف that is another word, written more often than the word alone
    *(Document(f"beijing-{i}", "", f"وصل الوفد إلى بكين في زيارة رسمية رقم {i}.") for i in range(3)),
    Document("kane", "", "سجل المهاجم كين هدفين في المباراة."),
    Document("biden", "", "قال بايدن إن الاتفاق مهم."),
    *(Document(f"hazard-{i}", "", f"سجل ايدن هازارد هدفا جميلا رقم {i}.") for i in range(2)),
    Document("faisal", "", "استقبل الأمير فيصل الوفد الزائر."),
    Document("arrive", "", "يصل الوزير غدا إلى العاصمة."),
    *(Document(f"canada-{i}", "", f"أعلنت كندا عن إجراءات جديدة رقم {i}.") for i in range(2)),
    Document("nada", "", "غنت المطربة ندا أغنية جديدة."),
]


@pytest.fixture(scope="module")
def friends(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return embedded_engine(tmp_path_factory, "friends", FRIENDS)


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("كين", {"kane"}),  # بكين (Beijing) is written more often than كين (Kane): another word
        ("بكين", {"beijing-0", "beijing-1", "beijing-2"}),
        ("فيصل", {"faisal"}),  # ف and ك are not looked up: فيصل is a name, not ف + يصل
        ("يصل", {"arrive"}),
        ("كندا", {"canada-0", "canada-1"}),
        ("ندا", {"nada"}),
    ],
)
def test_a_preposition_s_form_more_used_than_the_word_is_another_word(
    friends: Engine, typed: str, wanted: set[str]
) -> None:
    assert found(friends, typed) == wanted


def test_the_clitic_forms_of_a_query_are_bounded(tmp_path: Path, collection: Path) -> None:
    """A word is looked up once per query, and at most MAX_CLITIC_WORDS distinct words are: on remote
    shards every lookup is a round trip."""
    from search.query import MAX_CLITIC_WORDS

    build(tmp_path / "index", load_sources([collection]), ["clitic-words"])
    engine = Engine(tmp_path / "index")
    lookups = []
    snapshot = engine.backend.snapshot()
    real = snapshot.doc_frequency

    def counted(field: str, word: str) -> int:
        lookups.append(word)
        return real(field, word)

    snapshot.doc_frequency = counted  # type: ignore[method-assign]
    builder = engine._builder(snapshot)
    builder.parse(" ".join(["جندوبة"] * 60), match="any")
    once = len(lookups)
    assert 0 < once <= 30
    lookups.clear()
    words = [f"كلمة{chr(0x0628 + i)}" for i in range(40)]
    builder = engine._builder(snapshot)
    builder.parse(" ".join(words), match="any")
    assert len(builder._clitic_memo) == MAX_CLITIC_WORDS
