"""The user's query language, turned into the backend-neutral query tree (:mod:`search.querytree`).

The language (the same in the page, the JSON API and the CLI)::

    words               any of them; documents with more of them rank higher
    "exact phrase"      also “…” and «…»; matches the words in order, unstemmed
    -word, -"phrase"    exclude documents containing it
    a OR b, a أو b      either (words are already ORed; OR also joins field terms)
    title:word          in the title (also عنوان:)
    source:bbc          from a source (also مصدر:); a filter, required
    category:sport      in a category (also تصنيف:); a filter, required
    word*               any word starting with it (at least two letters)

Nothing a user types raises: unbalanced quotes close at the end, a lone
operator is a no-op, unknown ``field:`` prefixes are read as words, and text
that is all stopwords or punctuation gives an empty query with a notice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from search.analysis import exact_analyzer, normalise, stem_analyzer
from search.querytree import (
    AndMaybe,
    AndNot,
    AnyOf,
    Everything,
    Node,
    Nothing,
    Phrase,
    Term,
    all_of,
    any_of,
    is_facet,
)
from search.settings import Config, defaults

# Quote pairs a reader may type: ASCII, curly (either way round) and guillemets.
QUOTES = '"\u201c\u201d\u201e\u00ab\u00bb'  # " “ ” „ « »
OR_WORDS = {"OR", "أو", "او"}
FIELD_ALIASES = {
    "title": "title",
    "عنوان": "title",
    "العنوان": "title",
    "source": "source",
    "مصدر": "source",
    "المصدر": "source",
    "category": "category",
    "تصنيف": "category",
    "التصنيف": "category",
    "قسم": "category",
}
FIELD_CLAUSE = re.compile(r"([^\s:\"“”«»]+):(?=\S)")  # field:word or field:"phrase"
MIN_PREFIX_CHARS = 2


@dataclass
class Weights:
    """Ranking knobs; the defaults are the engine's, ablations change them."""

    # Title weighted like the body: x2 lost 0.067 MRR@10 on ARCD (benchmarks/results/quality.md).
    title: float = 1.0
    exact: float = 0.5
    stemmed: bool = True
    # Quotes beside other words also count their words loosely (ablation: False).
    loose_quotes: bool = True


@dataclass
class Clause:
    kind: str  # "word", "phrase", "prefix"
    text: str
    field: str | None = None  # None: title and body
    negated: bool = False
    or_next: bool = False


class Lexicon(Protocol):
    """What parsing needs to know of an index: its words and its keyword values."""

    def words(self, field: str, prefix: str) -> Iterator[str]:
        """The field's words that begin with ``prefix``, in order."""
        ...

    def doc_frequency(self, field: str, word: str) -> int: ...

    def values(self, field: str) -> list[str]:
        """Every value of a keyword field (source, category)."""
        ...


@dataclass
class ParsedQuery:
    """A query tree plus what the rest of the engine needs to know about it."""

    text: str
    query: Node | None
    highlight_terms: set[str] = field(default_factory=set)  # stems and exact forms
    notices: list[str] = field(default_factory=list)
    filters_only: bool = False

    @property
    def empty(self) -> bool:
        return self.query is None


# Control characters, unpaired surrogates, private-use and unassigned code points
# separate words in a query. Format controls (zero-width joiners, bidi marks)
# are left to the analyser, which removes them inside a word exactly as it does
# in the indexed text: a word copied with a ZWNJ inside still finds its article.
SEPARATING_CATEGORIES = {"Cc", "Cs", "Co", "Cn"}


def visible_query(text: str) -> str:
    """The query with characters that cannot be part of a word turned into spaces."""
    return "".join(
        " " if not ch.isspace() and unicodedata.category(ch) in SEPARATING_CATEGORIES else ch for ch in text
    )


def tokenize_query(text: str) -> list[Clause]:
    """Split the raw text into clauses; never fails."""
    clauses: list[Clause] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = False
        if ch in "-\u2212" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
            ch = text[i]
        field_name = None
        # field:word or field:"phrase"
        m = FIELD_CLAUSE.match(text, i)
        if m and m.group(1).casefold() in FIELD_ALIASES:
            field_name = FIELD_ALIASES[m.group(1).casefold()]
            i = m.end()
            ch = text[i]
        if ch in QUOTES:
            # An ASCII quote closes an ASCII quote; any typographic quote closes a
            # typographic one (readers mix “ ” „ and « » freely).
            closers = {'"'} if ch == '"' else set(QUOTES) - {'"'}
            end = next((j for j in range(i + 1, n) if text[j] in closers), -1)
            inner = text[i + 1 : end] if end != -1 else text[i + 1 :]
            i = end + 1 if end != -1 else n
            if inner.strip():
                clauses.append(Clause("phrase", inner.strip(), field_name, negated))
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in QUOTES:
            j += 1
        word = text[i:j]
        i = j
        if not word:
            i += 1
            continue
        if word in OR_WORDS and not negated and field_name is None:
            if clauses:
                clauses[-1].or_next = True
            continue
        if word.endswith("*") and len(word.rstrip("*")) > 0:
            clauses.append(Clause("prefix", word.rstrip("*"), field_name, negated))
        else:
            clauses.append(Clause("word", word, field_name, negated))
    return clauses


class QueryBuilder:
    """Builds query trees against one state of an index (for prefixes and field values)."""

    def __init__(self, lexicon: Lexicon, weights: Weights | None = None, config: Config | None = None) -> None:
        self.lexicon = lexicon
        self.weights = weights or Weights()
        self.config = config or defaults()
        self._stem = stem_analyzer()
        self._exact = exact_analyzer()

    # -- pieces ---------------------------------------------------------------

    def _fields(self, field_name: str | None) -> list[tuple[str, str, float]]:
        """(index field, analyser kind, boost) for a clause's field."""
        w = self.weights
        title_fields = [("title", "stem", w.title), ("title_exact", "exact", w.title * w.exact)]
        body_fields = [("body", "stem", 1.0), ("body_exact", "exact", w.exact)]
        if not w.stemmed:
            # Ablation: exact forms only, with the full weight.
            title_fields = [("title_exact", "exact", w.title)]
            body_fields = [("body_exact", "exact", 1.0)]
        chosen = title_fields if field_name == "title" else title_fields + body_fields
        return [(f, kind, b) for f, kind, b in chosen if b > 0]

    def _word(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        stems = [t.text for t in self._stem(text)]
        exacts = [t.text for t in self._exact(text)]
        if not stems:
            return None
        parts: list[Node] = [
            Term(fieldname, word, boost)
            for fieldname, kind, boost in self._fields(field_name)
            for word in (stems if kind == "stem" else exacts)
        ]
        parsed.highlight_terms.update(stems)
        parsed.highlight_terms.update(exacts)
        return any_of(parts)

    def _phrase(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        tokens = [(t.text, t.pos) for t in self._exact(text, positions=True)]  # Whoosh reuses its Token
        words = [word for word, _ in tokens]
        if not words:
            return None
        parsed.highlight_terms.update(words)
        parsed.highlight_terms.update(t.text for t in self._stem(text))
        if len(words) == 1:
            return self._word(text, field_name, parsed)
        positions = [pos for _, pos in tokens]
        slop = max(b - a for a, b in zip(positions, positions[1:]))
        fields = ["title_exact"] if field_name == "title" else ["title_exact", "body_exact"]
        boosts = {"title_exact": self.weights.title, "body_exact": 1.0}
        return AnyOf(tuple(Phrase(f, tuple(words), max(1, slop), boosts[f]) for f in fields))

    def _prefix(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        stem = normalise(text)
        stem = "".join(ch for ch in stem if ch.isalnum())
        if len(stem) < MIN_PREFIX_CHARS:
            parsed.notices.append(f"«{text}*»: a prefix needs at least {MIN_PREFIX_CHARS} letters; searched as a word")
            return self._word(text, field_name, parsed)
        fields = ["title_exact"] if field_name == "title" else ["title_exact", "body_exact"]
        cap = self.config.max_prefix_terms
        found: dict[str, int] = {}
        scanned = 0
        for fieldname in fields:
            for word in self.lexicon.words(fieldname, stem):
                found[word] = found.get(word, 0) + self.lexicon.doc_frequency(fieldname, word)
                scanned += 1
                if scanned > cap * 20:
                    break
        if not found:
            return None
        words = sorted(found, key=lambda w: -found[w])
        if len(words) > cap:
            parsed.notices.append(f"«{text}*» matches many words; only the {cap} most frequent were searched")
            words = words[:cap]
        parsed.highlight_terms.update(words)
        return AnyOf(tuple(Term(f, w, self.weights.title if f == "title_exact" else 1.0) for f in fields for w in words))

    def _facet_value(self, fieldname: str, text: str, parsed: ParsedQuery) -> Node:
        values = facet_values(self.lexicon, fieldname, text)
        if not values:
            parsed.notices.append(f"no {fieldname} called «{text}»")
            return Nothing()
        return any_of([Term(fieldname, v) for v in values])

    def _clause(self, clause: Clause, parsed: ParsedQuery) -> Node | None:
        if clause.field in ("source", "category"):
            return self._facet_value(clause.field, clause.text, parsed)
        if clause.kind == "phrase":
            return self._phrase(clause.text, clause.field, parsed)
        if clause.kind == "prefix":
            return self._prefix(clause.text, clause.field, parsed)
        return self._word(clause.text, clause.field, parsed)

    # -- whole query ------------------------------------------------------------

    def parse(self, text: str) -> ParsedQuery:
        """Turn what the user typed into a ParsedQuery; never raises on user input."""
        max_chars = self.config.max_query_chars
        parsed = ParsedQuery(text=text, query=None)
        if len(text) > max_chars:
            text = text[:max_chars]
            parsed.notices.append(f"the query was cut to its first {max_chars} characters")
        text = visible_query(text)
        clauses = tokenize_query(text)
        max_clauses = self.config.max_query_terms
        if len(clauses) > max_clauses:
            clauses = clauses[:max_clauses]
            parsed.notices.append(f"only the first {max_clauses} words of the query were used")

        optional: list[Node] = []
        required: list[Node] = []
        excluded: list[Node] = []
        pending_or: list[Node] = []
        # A phrase alone is a phrase search. Quotes inside a longer query (a pasted
        # headline or question) mostly quote speech: there a quoted phrase also
        # counts its words one by one, so a paraphrasing article still matches.
        loose_quotes = self.weights.loose_quotes and any(
            c.kind != "phrase" and c.field is None and not c.negated for c in clauses
        )
        for clause in clauses:
            built = self._clause(clause, parsed)
            if loose_quotes and built is not None and clause.kind == "phrase" and not clause.negated:
                if clause.field not in ("source", "category"):
                    loose = self._word(clause.text, clause.field, parsed)
                    if loose is not None and loose != built:
                        built = AnyOf((built, loose))
            if built is None:
                if pending_or and not clause.or_next:
                    self._place(any_of(pending_or), clause, required, optional)
                    pending_or = []
                continue
            if clause.negated:
                excluded.append(built)
                continue
            if clause.or_next or pending_or:
                pending_or.append(built)
                if not clause.or_next:
                    self._place(AnyOf(tuple(pending_or)), clause, required, optional)
                    pending_or = []
                continue
            self._place(built, clause, required, optional)
        if pending_or:
            optional.append(any_of(pending_or))

        if not optional and not required:
            if excluded:
                parsed.query = AndNot(Everything(), any_of(excluded))
                parsed.filters_only = True
            elif text.strip():
                parsed.notices.append("the query has no searchable words (only common words or symbols)")
            return parsed
        positive: Node
        if required and optional:
            positive = AndMaybe(all_of(required), any_of(optional))
        elif required:
            positive = all_of(required)
            parsed.filters_only = all(is_facet(q) for q in required)
        else:
            positive = any_of(optional)
        parsed.query = AndNot(positive, any_of(excluded)) if excluded else positive
        return parsed

    @staticmethod
    def _place(built: Node, clause: Clause, required: list[Node], optional: list[Node]) -> None:
        if clause.field is not None:
            required.append(built)
        else:
            optional.append(built)


def facet_values(lexicon: Lexicon, fieldname: str, text: str) -> list[str]:
    """The indexed values of a source or category field that match ``text``,
    ignoring case and spelling variants (bbc = BBC, اصداء = أصداء)."""
    wanted = normalise(text.strip())
    return [value for value in lexicon.values(fieldname) if normalise(value) == wanted]
