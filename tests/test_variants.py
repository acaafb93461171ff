"""Spelling variants of names: ترمب finds ترامب, الأميركي finds الأمريكي (search/data/name-variants.tsv)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from search.analysis import VARIANTS_FILE, normalise, spelling_variants
from search.backends.whoosh.store import build
from search.engine import Engine
from search.ingest import Document, LoadResult
from search.query import Weights

DAY = datetime(2018, 7, 1, tzinfo=UTC)
DOCS = [
    Document("sky", "ترامب يلتقي بوتين", "التقى الرئيس الأمريكي دونالد ترامب نظيره الروسي فلاديمير بوتين.", date=DAY),
    Document("bbc", "ترمب يلتقي بوتن", "التقى الرئيس الأميركي دونالد ترمب نظيره الروسي فلاديمير بوتن.", date=DAY),
    Document("other", "قمة المناخ", "اجتمع قادة العالم لبحث تغير المناخ.", date=DAY),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root: Path = tmp_path_factory.mktemp("variants")
    build(root, LoadResult(documents=list(DOCS)), ["variants"])
    return Engine(root)


def test_the_table_is_well_formed() -> None:
    seen: set[str] = set()
    for line in VARIANTS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        words, support, corpus, reviewed = line.split("\t")
        words = words.split(",")
        assert len(words) >= 2 and int(support) >= 2 and corpus and reviewed.split(), line
        assert all(normalise(w) == w for w in words), "the table holds normalised forms"
        assert not seen & set(words), "a word belongs to one set"
        seen |= set(words)


@pytest.mark.parametrize(
    ("typed", "variants"),
    [
        ("ترمب", ("ترامب",)),
        ("ترامب", ("ترمب",)),
        ("وترمب", ("وترامب",)),  # the clitic typed is kept
        ("لترمب", ("لترامب",)),
        ("الاميركي", ("الامريكي",)),  # and the article
        ("للاميركيه", ("للامريكيه",)),
        ("بوتين", ("بوتن",)),
        ("ترامبي", ()),  # not a listed spelling
        ("المناخ", ()),
        ("تر", ()),
    ],
)
def test_spelling_variants_keep_what_was_typed_around_the_name(typed: str, variants: tuple[str, ...]) -> None:
    assert spelling_variants(normalise(typed)) == variants


@pytest.mark.parametrize("typed", ["ترمب", "ترامب", "ترْمب", "تـرامب"])
def test_either_spelling_finds_both_and_the_page_says_so(engine: Engine, typed: str) -> None:
    result = engine.search(typed, suggest=False)
    assert {h.id for h in result.hits} == {"sky", "bbc"}
    notice = next(n for n in result.notices if n.code == "also_searched")
    assert ("ترامب" in notice.message_ar) != ("ترامب" in normalise(typed))


def test_without_the_table_only_the_spelling_typed_is_found(engine: Engine, tmp_path: Path) -> None:
    plain = Engine(engine.root, weights=Weights(variants=False))
    assert {h.id for h in plain.search("ترمب", suggest=False).hits} == {"bbc"}
    assert {h.id for h in engine.search("الرئيس الاميركي", suggest=False).hits} >= {"sky", "bbc"}


def test_an_excluded_name_excludes_every_spelling(engine: Engine) -> None:
    assert engine.search("الروسي -ترمب", suggest=False, match="any").total == 0
    assert {h.id for h in engine.search("الروسي -المناخ", suggest=False, match="any").hits} == {"sky", "bbc"}


def test_a_long_query_keeps_its_own_spelling(engine: Engine) -> None:
    """A pasted headline is written in its article's spelling: widening it lowered MRR@10 on the
    known-item sets, so only queries of up to four words are expanded."""
    long = engine.search("ترمب يلتقي بوتن في قمة هلسنكي", suggest=False, match="any")
    assert not any(n.code == "also_searched" for n in long.notices)
    assert [h.id for h in long.hits][0] == "bbc"
    short = engine.search("ترمب يلتقي بوتن", suggest=False, match="any")
    assert any(n.code == "also_searched" for n in short.notices)
