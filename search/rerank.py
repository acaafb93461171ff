"""BM25F over a set of candidates: the final ranking of backends that retrieve with plain BM25.

The embedded backend computes BM25F over whole posting lists itself. A
backend whose engine cannot weight fields apart (Xapian 1.4 normalises by the
whole document's length) retrieves candidates with its own BM25, then ranks
them here with the same formula and statistics as the embedded one (the
formula of Whoosh's BM25F): idf = log(N / (df + 1)) + 1 per field, each
field's length against that field's average length, boosts from the query
tree. So both backends rank the same candidates the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from search.querytree import (
    TEXT_FIELDS,
    AllOf,
    AndMaybe,
    AndNot,
    AnyOf,
    Everything,
    Filter,
    Node,
    Nothing,
    Phrase,
    Term,
)


def phrases_in(node: Node) -> list[Phrase]:
    """The distinct phrases of a query tree."""
    if isinstance(node, Phrase):
        return [node]
    if isinstance(node, (AnyOf, AllOf)):
        children = node.children
    elif isinstance(node, AndNot):
        children = (node.positive,)
    elif isinstance(node, AndMaybe):
        children = (node.required, node.optional)
    else:
        return []
    found: list[Phrase] = []
    for child in children:
        found += [p for p in phrases_in(child) if p not in found]
    return found

# Field lengths are kept as one byte in the embedded index; the same rounding here keeps scores equal.
try:
    from whoosh.util.numeric import byte_to_length, length_to_byte

    def stored_length(length: int) -> int:
        return byte_to_length(length_to_byte(length))

except ImportError:  # pragma: no cover - whoosh is a dependency

    def stored_length(length: int) -> int:
        return length


@dataclass
class Statistics:
    """What BM25F needs of the whole collection."""

    documents: int
    average_length: Mapping[str, float]  # per scored field
    doc_frequency: Callable[[str, str], int]  # (field, term) -> documents containing it
    scored_fields: frozenset[str] = frozenset(TEXT_FIELDS)
    # (field, forms) -> documents containing any of them: a term searched with other forms
    # (Term.also) counts as one term, its documents the union (not the sum of each form's).
    union_frequency: Callable[[str, tuple[str, ...]], int] | None = None
    _idf: dict[tuple[str, str | tuple[str, ...]], float] = field(default_factory=dict)

    def idf(self, fieldname: str, term: str, also: tuple[str, ...] = ()) -> float:
        key: tuple[str, str | tuple[str, ...]] = (fieldname, (term, *also) if also else term)
        found = self._idf.get(key)
        if found is None:
            if not also:
                df = self.doc_frequency(fieldname, term)
            elif self.union_frequency is None:
                raise ValueError("a term with other forms needs the statistics' union_frequency")
            else:
                df = self.union_frequency(fieldname, (term, *also))
            found = self._idf[key] = math.log(max(self.documents, 1) / (df + 1)) + 1
        return found


@dataclass
class Candidate:
    """One document's term frequencies and lengths per field (what its backend stored),
    and the phrases of the query it contains (its backend matched them)."""

    frequencies: Mapping[str, Mapping[str, int]]
    lengths: Mapping[str, int]
    phrases: frozenset[Phrase] = frozenset()


def bm25f(node: Node, doc: Candidate, stats: Statistics, k1: float = 1.2, b: float = 0.75) -> float:
    """The score of ``doc`` for the query tree, as the embedded backend scores it.

    The candidate is known to match the query; a term it lacks scores 0, and a
    phrase it does not contain scores 0 (a pasted headline ORs a quoted phrase
    with its loose words). A phrase it contains scores the sum of its words'
    scores in the phrase's field, as the embedded backend's phrase matcher does.
    """
    if isinstance(node, Term):
        held = doc.frequencies.get(node.field, {})
        tf = held.get(node.text, 0) + sum(held.get(form, 0) for form in node.also)
        if not tf:
            return 0.0
        if node.field not in stats.scored_fields:
            return tf * node.boost
        length = stored_length(doc.lengths.get(node.field, 0)) or 1
        average = stats.average_length.get(node.field) or 1
        idf = stats.idf(node.field, node.text, node.also)
        return idf * (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / average)) * node.boost
    if isinstance(node, (AnyOf, AllOf)):
        return sum(bm25f(child, doc, stats, k1, b) for child in node.children) * node.boost
    if isinstance(node, AndNot):
        return bm25f(node.positive, doc, stats, k1, b)
    if isinstance(node, AndMaybe):
        return bm25f(node.required, doc, stats, k1, b) + bm25f(node.optional, doc, stats, k1, b)
    if isinstance(node, Phrase):
        if node not in doc.phrases:
            return 0.0
        words = [Term(node.field, word) for word in node.words]
        return sum(bm25f(word, doc, stats, k1, b) for word in words) * node.boost
    if isinstance(node, (Filter, Everything, Nothing)):
        return 0.0
    raise TypeError(f"not a query node: {node!r}")
