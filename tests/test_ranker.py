"""The embedded backend's NumPy ranker: its phrase matcher against Whoosh's own.

The ranker matches phrases itself (posting lists from its cache, positions read
only for the documents holding every word); Whoosh's Phrase query is the
reference. Every ordered pair and triple of a small vocabulary, at slop 1 and 2,
in both exact fields, over an index of three segments, one with deletions: the
same documents and the same scores.
"""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as Q

from search.analysis import light_stem
from search.backends.whoosh.store import add, build, delete
from search.engine import Engine
from search.ingest import Document, LoadResult
from search.querytree import Phrase, Term

# Normalised forms as the exact fields hold them; في is a stopword: it keeps its position.
VOCABULARY = ["الامم", "المتحده", "مجلس", "الامن", "الدولي", "قرار"]
FILLER = ["في", "عن", "جديد"]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCABULARY + FILLER) for _ in range(words))


def _docs(rng: random.Random, prefix: str, n: int) -> LoadResult:
    return LoadResult(
        documents=[
            Document(id=f"{prefix}{i}", title=_text(rng, rng.randint(2, 8)), body=_text(rng, rng.randint(5, 60)))
            for i in range(n)
        ]
    )


@pytest.fixture(scope="module")
def ranker(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    root: Path = tmp_path_factory.mktemp("phrases")
    build(root, _docs(rng, "a", 300), ["test"], procs=2)  # two segments
    add(root, _docs(rng, "b", 120))  # a third
    delete(root, [f"a{i}" for i in range(0, 300, 7)] + [f"b{i}" for i in range(0, 120, 5)])
    engine = Engine(root)
    snapshot = engine.snapshot()
    assert len(snapshot.searcher.reader().leaf_readers()) >= 2 and snapshot.searcher.reader().has_deletions()
    return snapshot.ranker


def _whoosh(ranker, phrase: Phrase) -> dict[int, float]:  # type: ignore[no-untyped-def]
    q = Q.Phrase(phrase.field, list(phrase.words), slop=phrase.slop, boost=phrase.boost)
    return {hit.docnum: hit.score for hit in ranker.searcher.search(q, limit=None)}


def _ours(ranker, phrase: Phrase) -> dict[int, float]:  # type: ignore[no-untyped-def]
    ids, scores = ranker._phrase(phrase, time.monotonic() + 30)
    return {int(d): float(s) for d, s in zip(ids, scores, strict=True) if ranker.live[d]}


PHRASES = [
    Phrase(field, words, slop, boost)
    for field in ("body_exact", "title_exact")
    for n in (2, 3)
    for words in itertools.permutations(VOCABULARY, n)
    for slop, boost in ((1, 1.0), (2, 0.5))
] + [
    Phrase("body_exact", ("الامن", "الامن"), 1, 1.0),  # a word repeated
    Phrase("body_exact", ("مجلس", "الامن", "مجلس", "الامن"), 1, 1.0),
    Phrase("body_exact", ("مجلس", "غائب"), 1, 1.0),  # a word no document holds
]


def test_phrases_match_and_score_as_whoosh_does(ranker) -> None:  # type: ignore[no-untyped-def]
    matched = 0
    for phrase in PHRASES:
        ours, theirs = _ours(ranker, phrase), _whoosh(ranker, phrase)
        assert ours.keys() == theirs.keys(), phrase
        for doc, score in theirs.items():
            assert ours[doc] == pytest.approx(score, rel=1e-9), (phrase, doc)
        matched += bool(theirs)
    assert matched > len(PHRASES) // 2  # the table is not vacuous: most phrases occur


def test_a_phrase_past_its_deadline_stops(ranker) -> None:  # type: ignore[no-untyped-def]
    from search.backends.whoosh.ranker import Deadline

    with pytest.raises(Deadline):
        ranker._phrase(Phrase("body_exact", ("مجلس", "الامن")), time.monotonic() - 1)


def test_positions_are_read_only_for_the_documents_asked(ranker) -> None:  # type: ignore[no-untyped-def]
    ids, _ = ranker.postings("body_exact", "مجلس")
    some = ids[::9]
    found = ranker._positions("body_exact", "مجلس", some)
    assert len(found) == len(some) and all(found)
    missing = np.setdiff1d(np.arange(ranker.n), ids)[:5]
    assert ranker._positions("body_exact", "مجلس", missing) == [[]] * len(missing)


@pytest.fixture(scope="module")
def undeleted(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    root: Path = tmp_path_factory.mktemp("terms")
    build(root, _docs(rng, "c", 200), ["test"], procs=2)
    snapshot = Engine(root).snapshot()
    assert not snapshot.searcher.reader().has_deletions()
    return snapshot.ranker


@pytest.mark.parametrize("which", ["with deletions", "without deletions"])
def test_terms_score_as_whoosh_does(which, ranker, undeleted) -> None:  # type: ignore[no-untyped-def]
    # Without deletions the document frequency is the posting list's length; with them,
    # Whoosh still counts the deleted documents, and so must the ranker.
    chosen = ranker if which == "with deletions" else undeleted
    for field in ("body", "title", "body_exact", "title_exact"):
        for word in VOCABULARY:
            word = word if field.endswith("_exact") else light_stem(word)
            q = Q.Term(field, word)
            theirs = {hit.docnum: hit.score for hit in chosen.searcher.search(q, limit=None)}
            ids, scores = chosen._term(Term(field, word))
            ours = {int(d): float(s) for d, s in zip(ids, scores, strict=True) if chosen.live[d]}
            assert ours.keys() == theirs.keys() and theirs, (field, word)
            for doc, score in theirs.items():
                assert ours[doc] == pytest.approx(score, rel=1e-9), (field, word, doc)
