""" "Did you mean": respellings from the index's own vocabulary, found fast.

Whoosh's corrector walks the whole term list through a Levenshtein automaton
in Python: seconds per word on a 31.5k-article index. Here the vocabulary of
the exact (normalised, unstemmed) body field, words seen in at least
MIN_DOCS documents, written beside the index by the backend that builds it, is indexed by
its one-letter deletions (the SymSpell
idea): a typed word finds every word at one edit, and most at two (a wrong
letter, a swapped pair), by looking up its own deletions, kept as hashes in
compact arrays. Candidates are
ranked by edit distance, then by how many documents use them.

The vocabulary's words are search forms (ؤ/ئ -> ء, ة -> ه, ى -> ي, أ/إ/آ -> ا),
which no article writes: beside each, the vocabulary keeps the form the articles
write most often (مءتمر -> مؤتمر), and a suggestion is shown in it.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from search.analysis import normalise, written_form, written_words

MIN_DOCS = 3
SMALL_COLLECTION = 1000
MIN_LENGTH = 3
# No news word is longer: longer ones are never written to the vocabulary nor
# looked up, so a suggestion costs at most MAX_WORD_CHARS**2 steps per word.
MAX_WORD_CHARS = 30
MAX_VOCABULARY_BYTES = 64 * 1024 * 1024  # a larger vocabulary file is damaged, not read
# Memory per word of a Speller, for its bound: the str object and its list slot,
# its count; then per letter (one deletion each) a 64-bit hash and a word number.
BYTES_PER_WORD = 90
BYTES_PER_DELETION = 12
BYTES_PER_SPELLING = 110  # a word's written form: its str object and its dictionary entry
LOAD_CHUNK = 4096  # words whose deletions are made at once while loading


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


def count_spellings(texts: Iterable[str]) -> dict[str, str]:
    """Each search form of the texts' words -> the written form most documents use, where
    the two differ (مءتمر -> مؤتمر, الحكومه -> الحكومة); marks and tatweel left out."""
    documents: Counter[str] = Counter()
    for text in texts:
        count_written(written_words(text), documents)
    return spellings_from_counts(documents)


def count_written(written: list[str], documents: Counter[str]) -> None:
    """Count one document's distinct written words (a C-level set and Counter update). A reindex
    counts them where it reads the words anyway: in the processes fingerprinting copies."""
    documents.update(set(written))


def spellings_from_counts(documents: Mapping[str, int]) -> dict[str, str]:
    """``count_spellings`` from the documents counted per written word: each distinct written
    word is folded once."""
    best: dict[str, tuple[int, str]] = {}
    for surface, n in documents.items():
        if len(surface) > 2 * MAX_WORD_CHARS:
            continue
        written = written_form(surface)
        form = normalise(written)
        if not MIN_LENGTH <= len(form) <= MAX_WORD_CHARS or not form.isalpha():
            continue  # never in the vocabulary (and a ligature folding to two words is no one spelling)
        found = best.get(form)
        # The most used; among equals, the first in code point order, so every build picks the same.
        if found is None or n > found[0] or (n == found[0] and written < found[1]):
            best[form] = (n, written)
    return {form: written for form, (_n, written) in best.items() if written != form}


def read_spellings(text: str | None) -> dict[str, str]:
    """The written forms a vocabulary's text keeps (its third column); none in an older one."""
    found: dict[str, str] = {}
    for line in (text or "")[:MAX_VOCABULARY_BYTES].splitlines():
        word, _, rest = line.partition("\t")
        _n, _, written = rest.partition("\t")
        if written and _spells(word, written):
            found[word] = written
    return found


def spellings_after_change(previous: str | None, texts: Iterable[str]) -> dict[str, str]:
    """The written forms for a vocabulary after ``baheth add`` or ``delete``: those the previous
    vocabulary kept (counted over the whole collection), and for words it had none, the most used
    in the added texts. An older vocabulary without them gets them for the added texts' words only."""
    return {**count_spellings(texts), **read_spellings(previous)}


def _spells(word: str, written: str) -> bool:
    """Whether ``written`` is a way of writing the search form ``word`` (a damaged line is not)."""
    return len(written) <= 2 * MAX_WORD_CHARS and "\t" not in written and normalise(written) == word


def write_vocabulary(
    counts: Mapping[str, int], doc_count: int, path: Path, spellings: Mapping[str, str] | None = None
) -> int:
    """Write ``word<TAB>documents[<TAB>written form]`` for the words used often enough to suggest.

    ``counts`` is each word of the exact body field with the number of
    documents using it; ``spellings`` each word's most used written form, where it
    differs (:func:`count_spellings`). Called when an index is built or changed (reading the
    term list takes seconds), so that a search never has to read it.
    """
    spellings = spellings or {}
    # In a small collection every word counts; in a large one, rare words are mostly typos.
    min_docs = MIN_DOCS if doc_count >= SMALL_COLLECTION else 1
    words = sorted(
        w for w, n in counts.items() if n >= min_docs and MIN_LENGTH <= len(w) <= MAX_WORD_CHARS and w.isalpha()
    )
    # Replace the file in one rename: a server may be reading it (after `baheth add`).
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        lines = (f"{w}\t{counts[w]}\t{spellings[w]}\n" if w in spellings else f"{w}\t{counts[w]}\n" for w in words)
        tmp.write_text("".join(lines), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:  # disk full: the old vocabulary stays, and no half-written file beside it
        tmp.unlink(missing_ok=True)
        raise
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
    """Words of the vocabulary and the hashes of their one-letter deletions, in compact arrays.

    A dictionary from each deletion to its words took ~90 MB for the 88k words
    of the ANT vocabulary; here the deletions are 64-bit hashes in one sorted
    NumPy array beside the word numbers (12 bytes each, ~9 MB). A hash that
    collides only adds a candidate, which the edit distance then rejects.
    ``max_bytes`` bounds the whole: beyond it, the least used words are left out.
    """

    def __init__(
        self, frequency: Mapping[str, int], max_bytes: int = 0, spellings: Mapping[str, str] | None = None
    ) -> None:
        spellings = spellings or {}
        words = [w for w in frequency if MIN_LENGTH <= len(w) <= MAX_WORD_CHARS]
        if max_bytes:
            words.sort(key=lambda w: (-frequency[w], w))
            budget, kept = max_bytes, 0
            for word in words:
                budget -= BYTES_PER_WORD + len(word) * (2 + BYTES_PER_DELETION)
                if word in spellings:
                    budget -= BYTES_PER_SPELLING + 2 * len(spellings[word])
                if budget < 0:
                    break
                kept += 1
            words = words[:kept]
        words.sort()
        self._words = words
        self._spellings = {w: spellings[w] for w in words if w in spellings}
        self._counts = np.fromiter((frequency[w] for w in words), dtype=np.int64, count=len(words))
        self._most_used = int(self._counts.max()) if len(words) else 0
        # In chunks, so that loading never holds every deletion as a Python string at once.
        upper = sum(map(len, words))
        keys = np.empty(upper, dtype=np.int64)
        owners = np.empty(upper, dtype=np.int32)
        filled = 0
        for first in range(0, len(words), LOAD_CHUNK):
            chunk = [_deletions(w) for w in words[first : first + LOAD_CHUNK]]
            sizes = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
            count = int(sizes.sum())
            keys[filled : filled + count] = np.fromiter((hash(d) for ds in chunk for d in ds), np.int64, count)
            owners[filled : filled + count] = np.repeat(np.arange(first, first + len(chunk), dtype=np.int32), sizes)
            filled += count
        order = np.argsort(keys[:filled], kind="stable")
        self._keys = keys[:filled][order]
        self._owners = owners[:filled][order]

    @property
    def nbytes(self) -> int:
        """Memory held, estimated: the arrays plus the word strings and their list."""
        strings = sum(BYTES_PER_WORD + len(w) * 2 for w in self._words)  # the counts are in BYTES_PER_WORD
        strings += sum(BYTES_PER_SPELLING + 2 * len(w) for w in self._spellings.values())
        return self._keys.nbytes + self._owners.nbytes + strings

    def __len__(self) -> int:
        return len(self._words)

    @classmethod
    def load(cls, path: Path, max_bytes: int = 0) -> Speller:
        """Read a vocabulary file; an index without one, or with a damaged one, gets no suggestions."""
        return cls.from_text(read_vocabulary(path) or "", max_bytes)

    @classmethod
    def from_text(cls, text: str, max_bytes: int = 0) -> Speller:
        """``word<TAB>documents[<TAB>written form]`` lines; malformed or overlong lines are skipped."""
        frequency: dict[str, int] = {}
        spellings: dict[str, str] = {}
        for line in text[:MAX_VOCABULARY_BYTES].splitlines():
            word, _, rest = line.partition("\t")
            n, _, written = rest.partition("\t")
            if n.isdecimal() and len(n) < 12 and MIN_LENGTH <= len(word) <= MAX_WORD_CHARS:
                frequency[word] = int(n)
                if written and _spells(word, written):
                    spellings[word] = written
        return cls(frequency, max_bytes, spellings)

    def _number(self, word: str) -> int:
        at = bisect.bisect_left(self._words, word)
        return at if at < len(self._words) and self._words[at] == word else -1

    def known(self, word: str) -> bool:
        return self._number(word) >= 0

    def written(self, word: str) -> str:
        """How the articles most often write the vocabulary word ``word`` (مءتمر -> مؤتمر); ``word``
        itself when the vocabulary does not say (one written before it kept written forms)."""
        return self._spellings.get(word, word)

    def count(self, word: str) -> int:
        """How many documents use ``word`` (0 when it is not in the vocabulary)."""
        number = self._number(word)
        return int(self._counts[number]) if number >= 0 else 0

    def _sharing(self, key: str) -> np.ndarray:
        """Numbers of the words one of whose deletions hashes like ``key``."""
        h = hash(key)
        lo = int(np.searchsorted(self._keys, h, side="left"))
        hi = int(np.searchsorted(self._keys, h, side="right"))
        return self._owners[lo:hi]

    def suggest(self, word: str, max_distance: int = 2) -> str | None:
        """The most used vocabulary word closest to ``word``, or None when ``word`` is known."""
        if self.known(word):
            return None
        return self.closest(word, max_distance)

    def closest(self, word: str, max_distance: int = 2, min_count: int = 0) -> str | None:
        """The most used vocabulary word other than ``word`` within ``max_distance`` edits and
        used by at least ``min_count`` documents, or None."""
        if not MIN_LENGTH <= len(word) <= MAX_WORD_CHARS:
            return None
        if min_count > self._most_used:
            return None  # no word is used that often: nothing to look up
        found = [self._sharing(word)]  # a letter missing from ``word``
        for key in _deletions(word):
            number = self._number(key)
            if number >= 0:
                found.append(np.array([number], dtype=self._owners.dtype))  # a letter too many
            found.append(self._sharing(key))  # a wrong letter, a swapped pair
        numbers = np.unique(np.concatenate(found))
        if min_count:
            # Only words used often enough can win: measure no other distance.
            numbers = numbers[self._counts[numbers] >= min_count]
        candidates = numbers.tolist()
        best: tuple[int, int, str] | None = None
        for number in candidates:
            candidate = self._words[number]
            if candidate == word:
                continue
            distance = edit_distance(word, candidate)
            if distance <= max_distance:
                rank = (distance, -int(self._counts[number]), candidate)
                if best is None or rank < best:
                    best = rank
        return best[2] if best else None
