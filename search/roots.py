"""Roots at a low weight: kin words that light stems keep apart count for a little.

Light stems keep كاتب، يكتبون and المكتبات apart (rightly: a search for one
should rank it first); their root, كتب, ties them. After the first ranking, the
best ROOT_DEPTH candidates of a search by relevance get ROOT_WEIGHT times a BM25
score of the query's roots in them (k1 1.2, b 0.75), with the statistics of
those candidates themselves (how many of them hold a root, their average
length): no table is kept in the index, so every backend reranks the same
candidates the same way from the words it already keeps for them (their
normalised forms without stopwords, title and body).

Roots are NLTK's ISRI root stemmer (Apache-2.0), from the normalised form.
Measured as a reranking of the engine's candidates (benchmarks/features.py,
results/features.md), weight 3: the first 100 gain MRR@10 +4.1% on ANT
known-item, +2.3% on JawharaFM known-item, +3.0% on ARCD; the first 20 +3.0%,
+2.0%, +3.4%; the first 10, what ships, +2.1%, +1.3%, +2.4% (evaluate.py: +2.0%,
+1.3%, +2.5%). Each candidate's text is read and its words looked up (about
0.2 ms a candidate): 20 put a headline search's median past the 10 ms goal
(results/speed.md). The same BM25 over light stems or unstemmed forms instead
of roots lowers both known-item sets: the gain is the roots'.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain

ROOT_WEIGHT = 3.0  # chosen on the three development sets together (results/features.md: 2-5 alike)
ROOT_DEPTH = 10  # the candidates reranked: the first stage's best (deeper gains more and costs a read each)
K1, B = 1.2, 0.75
MIN_LETTERS = 2  # a one-letter form has no root worth the name
# What a candidate's text costs to read is bounded: its first TEXT_CHARS characters (a news article is
# shorter: the longest of ANT's 31,525 has 21,200; the other backend counts the whole article).
TEXT_CHARS = 50_000
_MAX_FORMS = 200_000  # the memo of roots, bounded

_lock = threading.Lock()
_stemmer = None
_roots: dict[str, str] = {}


def _isri():  # type: ignore[no-untyped-def]
    global _stemmer
    if _stemmer is None:
        with _lock:
            if _stemmer is None:
                _stemmer = _isri_module().ISRIStemmer()
    return _stemmer


def _isri_module():  # type: ignore[no-untyped-def]
    """nltk.stem.isri (Apache-2.0), without nltk's package initialisation: that imports most of
    nltk and scipy.stats (81 MB of memory and 0.85 s per process, measured) for a module that needs
    two small ones (nltk.redos, nltk.stem.api: 1.3 MB, 9 ms). The package is stood in for while
    they load, then left to a later ``import nltk`` to initialise as usual."""
    import importlib
    import importlib.util
    import os
    import sys
    import types

    if "nltk" in sys.modules:
        return importlib.import_module("nltk.stem.isri")
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nltk is not installed (pip install nltk): the roots rerank needs its ISRI stemmer")
    base = list(spec.submodule_search_locations)[0]
    standing_in = []
    for name, path in (("nltk", base), ("nltk.stem", os.path.join(base, "stem"))):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package
        standing_in.append(name)
    try:
        return importlib.import_module("nltk.stem.isri")
    finally:
        for name in standing_in:
            sys.modules.pop(name, None)


def warm() -> None:
    """Load the root stemmer now (a server does, before its first search)."""
    _isri()


def root(form: str) -> str:
    """The root of a normalised word form (the form itself when ISRI finds none shorter)."""
    found = _roots.get(form)
    if found is None:
        found = _isri().stem(form) or form
        if len(_roots) >= _MAX_FORMS:
            _roots.clear()
        _roots[form] = found
    return found


def query_roots(forms: Iterable[str]) -> set[str]:
    """The roots of the query's forms (normalised, stopwords already left out)."""
    return {root(f) for f in forms if len(f) >= MIN_LETTERS}


class _TokenRoots(dict):  # type: ignore[type-arg]
    """A whitespace-separated token -> the roots of the normalised forms of its words (stopwords
    and one-letter forms left out, as the exact fields keep them); filled on first sight, bounded."""

    def __missing__(self, token: str) -> tuple[str, ...]:
        from search.analysis import index_terms, written_words

        found = tuple(root(f) for f in index_terms(written_words(token), stem=False) if len(f) >= MIN_LETTERS)
        if len(self) >= _MAX_FORMS:
            self.clear()
        self[token] = found
        return found


_TOKEN_ROOTS = _TokenRoots()


def text_roots(*texts: str) -> list[str]:
    """The roots of a candidate's words, in order, from its texts (title, body; each read no
    further than TEXT_CHARS): one table lookup per whitespace-separated token, at C speed."""
    tokens = chain.from_iterable(text[:TEXT_CHARS].split() for text in texts)
    return list(chain.from_iterable(map(_TOKEN_ROOTS.__getitem__, tokens)))


def text_counts(*texts: str) -> Counter[str]:
    """A candidate's root frequencies, from its texts (see ``text_roots``)."""
    return Counter(text_roots(*texts))


def wanted_counts(found: list[str], wanted: Iterable[str]) -> tuple[dict[str, int], int]:
    """(frequency of each wanted root, how many roots) of a candidate's roots: what ``boosts``
    needs, without counting every root."""
    return {r: found.count(r) for r in wanted}, len(found)


def counts(frequencies: Iterable[Mapping[str, int]]) -> Counter[str]:
    """A candidate's root frequencies, from the frequencies of its normalised forms (one mapping
    per field: title, body)."""
    found: Counter[str] = Counter()
    for field in frequencies:
        for form, n in field.items():
            if len(form) >= MIN_LETTERS:
                found[root(form)] += n
    return found


def boosts(wanted: set[str], candidates: list[Mapping[str, int]], lengths: list[int] | None = None) -> list[float]:
    """ROOT_WEIGHT x BM25 of the wanted roots in each candidate (its root frequencies, at least the
    wanted ones; ``lengths``: how many roots each has, by default the sum of its frequencies), with
    the candidates' statistics."""
    if not wanted or not candidates:
        return [0.0] * len(candidates)
    n = len(candidates)
    lengths = lengths if lengths is not None else [sum(c.values()) for c in candidates]
    average = max(1.0, sum(lengths) / n)
    df = {r: sum(1 for c in candidates if c.get(r)) for r in wanted}
    idf = {r: math.log(1 + (n - d + 0.5) / (d + 0.5)) for r, d in df.items() if d}
    out = []
    for found, length in zip(candidates, lengths, strict=True):
        norm = K1 * (1 - B + B * length / average)
        score = sum(w * found[r] * (K1 + 1) / (found[r] + norm) for r, w in idf.items() if found.get(r))
        out.append(ROOT_WEIGHT * score)
    return out
