""""Did you mean": respellings from the index's own vocabulary, found fast.

Whoosh's corrector walks the whole term list through a Levenshtein automaton
in Python: seconds per word on a 31.5k-article index. Here the vocabulary of
the exact (normalised, unstemmed) body field, words seen in at least
MIN_DOCS documents, written beside the index by the backend that builds it, is indexed by
its one-letter deletions (the SymSpell
idea): a typed word finds every word at one edit, and most at two (a wrong
letter, a swapped pair), by looking up its own deletions. Candidates are
ranked by edit distance, then by how many documents use them.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

MIN_DOCS = 3
SMALL_COLLECTION = 1000
MIN_LENGTH = 3
# No news word is longer: longer ones are never written to the vocabulary nor
# looked up, so a suggestion costs at most MAX_WORD_CHARS**2 steps per word.
MAX_WORD_CHARS = 30
MAX_VOCABULARY_BYTES = 64 * 1024 * 1024  # a larger vocabulary file is damaged, not read


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein with adjacent swaps)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


VOCABULARY_FILE = "vocabulary.tsv"


def write_vocabulary(counts: Mapping[str, int], doc_count: int, path: Path) -> int:
    """Write ``word<TAB>documents`` for the words used often enough to suggest.

    ``counts`` is each word of the exact body field with the number of
    documents using it. Called when an index is built or changed (reading the
    term list takes seconds), so that a search never has to read it.
    """
    # In a small collection every word counts; in a large one, rare words are mostly typos.
    min_docs = MIN_DOCS if doc_count >= SMALL_COLLECTION else 1
    words = sorted(
        w for w, n in counts.items() if n >= min_docs and MIN_LENGTH <= len(w) <= MAX_WORD_CHARS and w.isalpha()
    )
    # Replace the file in one rename: a server may be reading it (after `baheth add`).
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text("".join(f"{w}\t{counts[w]}\n" for w in words), encoding="utf-8")
    os.replace(tmp, path)
    return len(words)


def read_vocabulary(path: Path) -> str | None:
    """A vocabulary file's text; None when it is missing or unusable (a folder, not UTF-8, too large)."""
    try:
        if path.stat().st_size > MAX_VOCABULARY_BYTES:
            raise ValueError(f"larger than {MAX_VOCABULARY_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        if not isinstance(exc, FileNotFoundError):
            logging.getLogger(__name__).warning("the spelling vocabulary %s is unusable: %s", path, exc)
        return None


class Speller:
    def __init__(self, frequency: dict[str, int]) -> None:
        self.frequency = frequency
        self._by_deletion: dict[str, list[str]] = defaultdict(list)
        for word in frequency:
            for key in _deletions(word):
                self._by_deletion[key].append(word)

    @classmethod
    def load(cls, path: Path) -> Speller:
        """Read a vocabulary file; an index without one, or with a damaged one, gets no suggestions."""
        return cls.from_text(read_vocabulary(path) or "")

    @classmethod
    def from_text(cls, text: str) -> Speller:
        """``word<TAB>documents`` lines; malformed or overlong lines are skipped."""
        frequency: dict[str, int] = {}
        for line in text[:MAX_VOCABULARY_BYTES].splitlines():
            word, _, n = line.partition("\t")
            if n.isdecimal() and len(n) < 12 and MIN_LENGTH <= len(word) <= MAX_WORD_CHARS:
                frequency[word] = int(n)
        return cls(frequency)

    def known(self, word: str) -> bool:
        return word in self.frequency

    def suggest(self, word: str, max_distance: int = 2) -> str | None:
        """The most used vocabulary word closest to ``word``, or None."""
        if not MIN_LENGTH <= len(word) <= MAX_WORD_CHARS or word in self.frequency:
            return None
        candidates: set[str] = set(self._by_deletion.get(word, ()))
        for key in _deletions(word):
            if key in self.frequency:
                candidates.add(key)
            candidates.update(self._by_deletion.get(key, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = edit_distance(word, candidate)
            if distance <= max_distance:
                rank = (distance, -self.frequency[candidate], candidate)
                if best is None or rank < best:
                    best = rank
        return best[2] if best else None
