"""The user's query language, turned into a Whoosh query.

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
from dataclasses import dataclass, field

from whoosh import query as Q
from whoosh.reading import IndexReader

from search.analysis import exact_analyzer, normalise, stem_analyzer
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


@dataclass
class ParsedQuery:
    """A Whoosh query plus what the rest of the engine needs to know about it."""

    text: str
    query: Q.Query | None
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
    """Builds Whoosh queries against one index reader (for prefixes and field values)."""

    def __init__(self, reader: IndexReader, weights: Weights | None = None, config: Config | None = None) -> None:
        self.reader = reader
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

    def _word(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Q.Query | None:
        stems = [t.text for t in self._stem(text)]
        exacts = [t.text for t in self._exact(text)]
        if not stems:
            return None
        parts = [
            Q.Term(fieldname, word, boost=boost)
            for fieldname, kind, boost in self._fields(field_name)
            for word in (stems if kind == "stem" else exacts)
        ]
        parsed.highlight_terms.update(stems)
        parsed.highlight_terms.update(exacts)
        return Q.Or(parts) if len(parts) > 1 else parts[0]

    def _phrase(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Q.Query | None:
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
        return Q.Or([Q.Phrase(f, words, slop=max(1, slop), boost=boosts[f]) for f in fields])

    def _prefix(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Q.Query | None:
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
            for term in self.reader.expand_prefix(fieldname, stem):
                word = term.decode("utf-8") if isinstance(term, bytes) else term
                found[word] = found.get(word, 0) + self.reader.doc_frequency(fieldname, word)
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
        return Q.Or([Q.Term(f, w, boost=self.weights.title if f == "title_exact" else 1.0) for f in fields for w in words])

    def _facet_value(self, fieldname: str, text: str, parsed: ParsedQuery) -> Q.Query:
        values = facet_values(self.reader, fieldname, text)
        if not values:
            parsed.notices.append(f"no {fieldname} called «{text}»")
            return Q.NullQuery
        return Q.Or([Q.Term(fieldname, v) for v in values]) if len(values) > 1 else Q.Term(fieldname, values[0])

    def _clause(self, clause: Clause, parsed: ParsedQuery) -> Q.Query | None:
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

        optional: list[Q.Query] = []
        required: list[Q.Query] = []
        excluded: list[Q.Query] = []
        pending_or: list[Q.Query] = []
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
                        built = Q.Or([built, loose])
            if built is None:
                if pending_or and not clause.or_next:
                    self._place(Q.Or(pending_or) if len(pending_or) > 1 else pending_or[0], clause, required, optional)
                    pending_or = []
                continue
            if clause.negated:
                excluded.append(built)
                continue
            if clause.or_next or pending_or:
                pending_or.append(built)
                if not clause.or_next:
                    self._place(Q.Or(pending_or), clause, required, optional)
                    pending_or = []
                continue
            self._place(built, clause, required, optional)
        if pending_or:
            optional.append(Q.Or(pending_or) if len(pending_or) > 1 else pending_or[0])

        if not optional and not required:
            if excluded:
                parsed.query = Q.AndNot(Q.Every(), Q.Or(excluded))
                parsed.filters_only = True
            elif text.strip():
                parsed.notices.append("the query has no searchable words (only common words or symbols)")
            return parsed
        positive: Q.Query
        if required and optional:
            positive = Q.AndMaybe(Q.And(required), Q.Or(optional))
        elif required:
            positive = Q.And(required) if len(required) > 1 else required[0]
            parsed.filters_only = all(_is_facet(q) for q in required)
        else:
            positive = Q.Or(optional) if len(optional) > 1 else optional[0]
        parsed.query = Q.AndNot(positive, Q.Or(excluded)) if excluded else positive
        return parsed

    @staticmethod
    def _place(built: Q.Query, clause: Clause, required: list[Q.Query], optional: list[Q.Query]) -> None:
        if clause.field is not None:
            required.append(built)
        else:
            optional.append(built)


def facet_values(reader: IndexReader, fieldname: str, text: str) -> list[str]:
    """The indexed values of a source or category field that match ``text``,
    ignoring case and spelling variants (bbc = BBC, اصداء = أصداء)."""
    wanted = normalise(text.strip())
    values = []
    for value in reader.lexicon(fieldname):
        value = value.decode("utf-8") if isinstance(value, bytes) else value
        if normalise(value) == wanted:
            values.append(value)
    return values


def _is_facet(q: Q.Query) -> bool:
    if isinstance(q, Q.Term):
        return q.fieldname in ("source", "category")
    if isinstance(q, Q.Or):
        return all(_is_facet(sub) for sub in q.subqueries)
    return False
