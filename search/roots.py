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
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain

from search.analysis import MAX_ROOTS, WordTable, content_forms, root, written_words

ROOT_WEIGHT = 3.0  # chosen on the three development sets together (results/features.md: 2-5 alike)
ROOT_DEPTH = 10  # the candidates reranked: the first stage's best (deeper gains more and costs a read each)
K1, B = 1.2, 0.75
MIN_LETTERS = 2  # a one-letter form has no root worth the name
# What a candidate's text costs to read is bounded: its first TEXT_CHARS characters (a news article is
# shorter: the longest of ANT's 31,525 has 21,200; the other backend counts the whole article).
TEXT_CHARS = 50_000


def query_roots(forms: Iterable[str]) -> set[str]:
    """The roots of the query's forms (normalised, stopwords already left out)."""
    return {root(f) for f in forms if len(f) >= MIN_LETTERS}


def _roots_of_token(token: str) -> tuple[str, ...]:
    """The roots of the content forms of a whitespace-separated token's words."""
    return tuple(root(f) for f in chain.from_iterable(map(content_forms, written_words(token))))


_TOKEN_ROOTS = WordTable(_roots_of_token, MAX_ROOTS)  # a whitespace-separated token -> its roots


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
