"""The backend-neutral query tree: what the query language parses into and every backend evaluates.

Fields are logical names: the scored text fields ``title``, ``body`` (light
stems), ``title_exact``, ``body_exact`` (normalised surface forms) and ``lead``
(the stems of the body's first words, :attr:`search.ingest.Document.lead`), and the
keyword fields ``source`` and ``category``. Terms are already analysed (the
one analyser of :mod:`search.analysis`); a backend maps fields to its own
layout and evaluates the nodes with BM25F, as :mod:`search.backends.base` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

TEXT_FIELDS = ("title", "body", "title_exact", "body_exact", "lead")
KEYWORD_FIELDS = ("source", "category")
GROUP_FIELD = "group"  # an article's story group key: filtered on, never scored or counted


@dataclass(frozen=True)
class Term:
    field: str
    text: str
    boost: float = 1.0
    # Other forms searched as this same term (a synonym, not more words): their occurrences count as
    # its own and their documents as holding it (search.query: a word's forms with a proclitic).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phrase:
    """The words in order, at most ``slop`` positions apart (stopwords keep their positions)."""

    field: str
    words: tuple[str, ...]
    slop: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class AnyOf:
    """Matches when any child does; scores the sum of the children that match."""

    children: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class AllOf:
    """Matches when every child does; scores the sum."""

    children: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class AndNot:
    positive: Node
    negative: Node


@dataclass(frozen=True)
class AndMaybe:
    """Matches as ``required``; ``optional`` adds its score where it also matches."""

    required: Node
    optional: Node


@dataclass(frozen=True)
class Filter:
    """Matches as ``child``, scores nothing (source and category filters)."""

    child: Node


@dataclass(frozen=True)
class Everything:
    pass


@dataclass(frozen=True)
class Nothing:
    pass


Node = Union[Term, Phrase, AnyOf, AllOf, AndNot, AndMaybe, Filter, Everything, Nothing]  # noqa: UP007


def any_of(children: list[Node], boost: float = 1.0) -> Node:
    """One child as itself, several as AnyOf."""
    return children[0] if len(children) == 1 and boost == 1.0 else AnyOf(tuple(children), boost)


def all_of(children: list[Node]) -> Node:
    return children[0] if len(children) == 1 else AllOf(tuple(children))


def is_facet(node: Node) -> bool:
    """A query made only of source/category terms (a filter typed into the query)."""
    if isinstance(node, Term):
        return node.field in KEYWORD_FIELDS
    if isinstance(node, AnyOf):
        return all(is_facet(child) for child in node.children)
    return False
