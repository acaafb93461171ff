"""The "did you mean" speller: edit distance and suggestions from a vocabulary."""

from __future__ import annotations

import pytest

from search.spelling import Speller, edit_distance


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("مصر", "مصر", 0),
        ("مصرر", "مصر", 1),  # one letter too many
        ("الانترنيت", "الانترنت", 1),  # an extra yeh
        ("فيسبوك", "فسيبوك", 1),  # two letters swapped
        ("ترامب", "ترمب", 1),
        ("سوريا", "سورية", 1),
        ("لبنان", "مصر", 5),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


VOCABULARY = {"الانترنت": 40, "الانتخابات": 90, "مصر": 500, "مصري": 200, "فيسبوك": 30, "ترامب": 300}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("الانترنيت", "الانترنت"),
        ("الاننترنت", "الانترنت"),
        ("فسيبوك", "فيسبوك"),
        ("ترامبب", "ترامب"),
        ("مصرر", "مصر"),  # distance 1 to both مصر and مصري: the more used wins
        ("مصر", None),  # known words are not corrected
        ("كلمةمختلفةتماما", None),
        ("مص", None),  # too short to guess
    ],
)
def test_suggest(typed: str, expected: str | None) -> None:
    assert Speller(dict(VOCABULARY)).suggest(typed) == expected


def _reference_suggestion(frequency: dict[str, int], word: str) -> str | None:
    """The speller as first written: a dictionary from every deletion to its words."""
    from collections import defaultdict

    from search.spelling import _deletions

    by_deletion: dict[str, list[str]] = defaultdict(list)
    for known in frequency:
        for key in _deletions(known):
            by_deletion[key].append(known)
    if word in frequency or not 3 <= len(word) <= 30:
        return None
    candidates = set(by_deletion.get(word, ()))
    for key in _deletions(word):
        if key in frequency:
            candidates.add(key)
        candidates.update(by_deletion.get(key, ()))
    ranked = sorted((edit_distance(word, c), -frequency[c], c) for c in candidates if edit_distance(word, c) <= 2)
    return ranked[0][2] if ranked else None


def _corpus_vocabulary() -> dict[str, int]:
    """Real Arabic words with counts: every word of the fixture articles and the seed."""
    import collections
    import re

    from tests.conftest import FIXTURES, SEEDS

    text = " ".join(p.read_text(encoding="utf-8") for p in [*SEEDS.iterdir(), FIXTURES / "news.sgml"] if p.is_file())
    counts = collections.Counter(re.findall(r"[\u0621-\u064a]{3,}", text))
    return dict(counts)


def test_compact_speller_suggests_what_the_dictionary_speller_did() -> None:
    """Typos of real words (a letter dropped, doubled, changed, two swapped): the same suggestion."""
    import random

    vocabulary = _corpus_vocabulary()
    assert len(vocabulary) > 300
    speller = Speller(vocabulary)
    rng = random.Random(3)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    typos = []
    for word in rng.sample(sorted(vocabulary), 150):
        i = rng.randrange(len(word))
        typos += [
            word[:i] + word[i + 1 :],
            word[:i] + word[i] + word[i:],
            word[:i] + rng.choice(letters) + word[i + 1 :],
        ]
        if i + 1 < len(word):
            typos.append(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    differences = [t for t in typos if speller.suggest(t) != _reference_suggestion(vocabulary, t)]
    assert differences == []
    assert sum(speller.suggest(t) is not None for t in typos) > len(typos) // 2


def test_speller_is_bounded_in_bytes_keeping_the_most_used_words() -> None:
    vocabulary = _corpus_vocabulary()
    whole = Speller(vocabulary)
    bound = whole.nbytes // 4
    small = Speller(vocabulary, max_bytes=bound)
    assert 0 < len(small) < len(whole) and small.nbytes <= bound
    kept = {w for w in vocabulary if small.known(w)}
    assert min(vocabulary[w] for w in kept) >= max(vocabulary[w] for w in vocabulary if w not in kept)
    assert small.count(next(iter(kept))) == vocabulary[next(iter(kept))]
    assert small.count("ليستكلمة") == 0


def test_speller_estimate_is_close_to_what_python_allocates() -> None:
    import tracemalloc

    text = "".join(f"{word}\t{n}\n" for word, n in sorted(_corpus_vocabulary().items()))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        speller = Speller.from_text(text)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0.5 * used <= speller.nbytes <= 1.5 * used, (speller.nbytes, used)
