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
