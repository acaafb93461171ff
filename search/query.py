"""The user's query language, turned into the backend-neutral query tree (:mod:`search.querytree`).

The language (the same in the page, the JSON API and the CLI)::

    words               any of them; documents with more of them rank higher
    "exact phrase"      also “…” and «…»; matches the words in order, unstemmed
    -word, -"phrase"    exclude documents containing it
    a OR b, a أو b      either (words are already ORed; OR also joins field terms)
    a AND b             the same as a b: articles with every word rank first already
    title:word          in the title (also عنوان:)
    source:bbc          from a source (also مصدر:); a filter, required
    category:sport      in a category (also تصنيف:); a filter, required
    word*               any word starting with it (at least two letters)

Nothing a user types raises: unbalanced quotes close at the end, a lone
operator is a no-op, unknown ``field:`` prefixes are read as words, and text
that is all stopwords or punctuation gives an empty query with a notice.
"""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

from search.analysis import (
    AMBIGUOUS_MONTH_NAMES,
    G_LETTERS,
    G_SPELLINGS,
    MONTH_NAMES,
    PREPOSITION_CLITICS,
    PROCLITICS,
    WORD_PATTERN,
    exact_analyzer,
    is_date_number,
    light_stem,
    month_names,
    normalise,
    possessive_forms,
    proclitic_forms,
    spelling_variants,
    stem_analyzer,
    strip_article,
    with_article,
    without_proclitic,
    written_words,
)
from search.labels import label_matches
from search.notices import Notice
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
# AND as other engines write it: every word of a query counts already (articles with all of them first), so
# it is no word to search (it found the Latin word "and") but a no-op, as a lone operator is.
AND_WORDS = {"AND"}
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
MATCHES = ("auto", "all", "any")
# match=auto, newest first, requires every word of a query of up to this many words (وزارة الصحة
# is a search for both); a longer one (a pasted headline, a question) any of them.
AUTO_ALL_MAX_WORDS = 4
NAME_WORDS = 4  # the words a source's or category's name typed without quotes may take (سي إن إن بالعربية)
# Clitic forms of a phrase (first word x last word) searched at most; the most used first.
MAX_PHRASE_FORMS = 16
# The light stem keeps a proclitic preposition or conjunction on a word without the article (بسوسة,
# لقطار, وبنزرت): a word is also searched with them, and a word typed with one without it, as one
# term (Term.also). Only a bare word of this many letters or more (رد is not برد).
CLITIC_MIN_CHARS = 3
MAX_CLITIC_WORDS = 16  # the distinct words of one query looked up in their clitic forms


@dataclass
class Weights:
    """Ranking knobs; the defaults are the engine's, ablations change them."""

    # Title weighted like the body: x2 lost 0.067 MRR@10 on ARCD (benchmarks/results/quality.md).
    title: float = 1.0
    exact: float = 0.5
    stemmed: bool = True
    # Quotes beside other words also count their words loosely (ablation: False).
    loose_quotes: bool = True
    # The body's first words again, as a field of their own (ablation: 0). 0.75 was above 0.5 on
    # every development set at once (benchmarks/results/quality.md); 1 cost ARCD.
    lead: float = 0.75
    # A month by every tradition's name (جوان = يونيو = حزيران); ablation: False.
    months: bool = True
    # A name by its reviewed spellings (ترامب = ترمب, search/data/name-variants.tsv); ablation: False.
    variants: bool = True
    # A word also after a proclitic the light stem keeps (جندوبة = بجندوبة, one term: Term.also); ablation: False.
    clitics: bool = True
    # The best candidates of a search by relevance reranked by the query's roots (search.roots);
    # ablation: False.
    roots: bool = True


@dataclass
class Clause:
    kind: str  # "word", "phrase", "prefix"
    text: str
    field: str | None = None  # None: title and body
    negated: bool = False
    or_next: bool = False


class Lexicon(Protocol):
    """What parsing needs to know of an index: its words and its keyword values."""

    def words(self, field: str, prefix: str, limit: int | None = None) -> Iterator[str]:
        """The field's words that begin with ``prefix``, in order; the first ``limit`` of them."""
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
    # The normalised forms of the words and phrases the reader wants (not excluded, not a source
    # or category): a search by relevance reranks its best candidates by their roots (search.roots).
    wanted_forms: list[str] = field(default_factory=list)
    # What the reader typed that each highlight term (and each phrase, by number) came from:
    # the article page says why a word is marked.
    highlight_origins: dict[str, str] = field(default_factory=dict)
    # Each phrase as the normalised forms each of its words may take: marked as one span.
    highlight_phrases: list[tuple[frozenset[str], ...]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    filters_only: bool = False
    timed_out: bool = False  # the builder's deadline passed while prefixes were expanded: some are cut short
    match: str = "any"  # as applied: "all" when every word is required
    loose: Node | None = None  # with match "all": the same words, any of them (the fallback when none has all)
    # Words a prefix expanded to, by the fields looked in: a prefix repeated in one query is read once.
    expansions: dict[tuple[tuple[str, str], ...], dict[tuple[str, str], int]] = field(default_factory=dict, repr=False)
    # The typed words searched with their other spellings or names (ترامب -> ترمب, جوان -> يونيو): the
    # search already holds what a «did you mean» would offer for them.
    expanded: set[str] = field(default_factory=set)
    # The forms an excluded word was excluded in (-جوان: every name of June): never said to be «also searched».
    excluded_forms: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return self.query is None

    def marks(self) -> tuple[set[str], list[tuple[frozenset[str], ...]], dict[str, str]]:
        """What the article page would mark, as it is now (a part built only to exclude is then undone)."""
        return set(self.highlight_terms), list(self.highlight_phrases), dict(self.highlight_origins)

    def restore_marks(self, marks: tuple[set[str], list[tuple[frozenset[str], ...]], dict[str, str]]) -> None:
        self.highlight_terms, self.highlight_phrases, self.highlight_origins = marks

    def cause_told(self) -> bool:
        """Whether the query's emptiness is told already: out of time while prefixes were read (the search
        says time_limit), or a prefix no word begins with; not then «no searchable words»."""
        return self.timed_out or any(n.code == "prefix_no_match" for n in self.notices)

    def was_expanded(self, typed: str) -> bool:
        """Was this typed word searched with its other spellings or names?"""
        return bool(set(_looked_up(typed).split()) & self.expanded)


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
        if word in AND_WORDS and not negated and field_name is None:
            continue
        if word.endswith("*") and len(word.rstrip("*")) > 0:
            clauses.append(Clause("prefix", word.rstrip("*"), field_name, negated))
        else:
            clauses.append(Clause("word", word, field_name, negated))
    return clauses


MAX_G_LETTERS = 2  # letters for g in one word tried with every combination (4 x 4 forms at most)

MAX_ORIGIN_CHARS = 60  # what a marked word's title repeats of the query text it answers, at most


def _origin(text: str) -> str:
    """The query text a marked word answers, as its title shows it: bounded, whatever was typed."""
    return text if len(text) <= MAX_ORIGIN_CHARS else text[: MAX_ORIGIN_CHARS - 1] + "…"


def capped(clauses: list[Clause], most: int) -> tuple[list[Clause], bool]:
    """The clauses holding the query's first ``most`` written words, and whether any were left
    out: a clause may hold several words (joined by punctuation, or quoted), each of them a cost.

    Only a plain word clause (words to find, joined by punctuation) is cut partway, to its first
    words; a phrase keeps at least two of its words or goes; an exclusion, a field's clause or a
    source or category filter is kept whole or left out whole: cutting those would change what
    they select (``-"وزارة الدفاع"`` is not ``-وزارة``)."""
    kept: list[Clause] = []
    left = most
    for clause in clauses:
        filters = clause.field in ("source", "category")
        words = [clause.text] if clause.kind == "prefix" or filters else written_words(clause.text)
        cost = max(1, len(words))
        if cost <= left:
            kept.append(clause)
            left -= cost
            continue
        plain = left > 0 and not clause.negated and clause.field is None
        if plain and (clause.kind == "word" or (clause.kind == "phrase" and left >= 2)):
            kept.append(replace(clause, text=" ".join(words[:left]), or_next=False))
        return kept, True
    return kept, False


LATE_EVERY = 100  # words a prefix expansion reads between two looks at the clock


class QueryBuilder:
    """Builds query trees against one state of an index (for prefixes and field values)."""

    def __init__(
        self, lexicon: Lexicon, weights: Weights | None = None, config: Config | None = None,
        deadline: float | None = None,
    ) -> None:
        self.lexicon = lexicon
        # When the search must end (time.monotonic()): expanding prefixes reads the lexicon word by word,
        # up to max_prefix_terms * 40 words each, and stops there (a query of 64 short prefixes read 128,000
        # words, 1.3 s, whatever the search's time limit).
        self.deadline = deadline
        self._clitic_memo: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # a word's clitic forms
        self.weights = weights or Weights()
        self.config = config or defaults()
        self._stem = stem_analyzer()
        self._exact = exact_analyzer()

    # -- pieces ---------------------------------------------------------------

    def _fields(self, field_name: str | None) -> list[tuple[str, str, float]]:
        """(index field, analyser kind, boost) for a clause's field."""
        w = self.weights
        title_fields = [("title", "stem", w.title), ("title_exact", "exact", w.title * w.exact)]
        body_fields = [("body", "stem", 1.0), ("body_exact", "exact", w.exact), ("lead", "stem", w.lead)]
        if not w.stemmed:
            # Ablation: exact forms only, with the full weight.
            title_fields = [("title_exact", "exact", w.title)]
            body_fields = [("body_exact", "exact", 1.0)]
        chosen = title_fields if field_name == "title" else title_fields + body_fields
        return [(f, kind, b) for f, kind, b in chosen if b > 0]

    def _rarer(self, form: str, typed: str) -> bool:
        """Is ``form`` held, and is the word after a preposition no more used than the word alone (بجندوبه
        81 articles, جندوبه 165)? A word with a preposition written more often than without it is
        another word: بكين (Beijing, 464) is not ب + كين (Kane, 192), باسم not ب + اسم."""
        held = self.lexicon.doc_frequency("body_exact", form)
        if not held:
            return False
        typed_held = self.lexicon.doc_frequency("body_exact", typed)
        if not typed_held:
            return True  # the word typed is written nowhere else: its forms are the only match
        return held <= typed_held if len(form) > len(typed) else typed_held <= held

    def _own_word(self, form: str) -> bool:
        """Does the index hold the form with the article (الفكره for فكره): a word in its own right?"""
        return bool(self.lexicon.doc_frequency("body_exact", with_article(form)))

    def _clitic_forms(self, exact: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(stems, exact forms) a typed normalised word also stands for, that the index holds: the
        word after a proclitic (سوسه -> بسوسه، لسوسه، وبسوسه …) or, typed with one, without it."""
        if len(exact) < 2 or strip_article(exact) != exact or not "\u0621" <= exact[0] <= "\u06ff":
            return (), ()
        found = self._clitic_memo.get(exact)
        if found is None:
            if len(self._clitic_memo) >= MAX_CLITIC_WORDS:
                return (), ()  # bounded: on remote shards every lookup is a round trip
            found = self._clitic_memo[exact] = self._clitic_lookup(exact)
        return found

    def _clitic_lookup(self, exact: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        forms = [p + exact for p in PREPOSITION_CLITICS] if len(exact) >= CLITIC_MIN_CHARS else []
        if exact[0] in PREPOSITION_CLITICS and len(exact) > CLITIC_MIN_CHARS and not self._own_word(exact):
            forms.append(exact[1:])
        base = light_stem(exact)
        # A form the index holds has its stem there too: a form whose stem it lacks is not looked up.
        # A form the index also holds with the article is a word of its own, not the word after a
        # proclitic: فكره (الفكره) is not ف + كره, لجنه (اللجنه) not ل + جنه, بلديه not ب + لديه.
        # Looked up in that order, cheapest test first: on remote shards each lookup is a round trip.
        held = [s for s in dict.fromkeys(map(light_stem, forms)) if s == base or self.lexicon.doc_frequency("body", s)]
        exacts = tuple(
            f for f in dict.fromkeys(forms)
            if f != exact and light_stem(f) in held and self._rarer(f, exact)
            and (f == exact[1:] or not self._own_word(f))
        )
        # The stems of the forms found, not of every form tried: ولجنه is not held, and its stem
        # لجن is لجنه's (a committee), not جنه's.
        stems = tuple(s for s in dict.fromkeys(map(light_stem, exacts)) if s != base)
        return stems, exacts

    def _word(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        stems = [t.text for t in self._stem(text)]
        exacts = [t.text for t in self._exact(text)]
        if not stems:
            return None
        # Each analysed form's clitic forms the index holds, searched as that form (Term.also).
        also: dict[tuple[str, str], tuple[str, ...]] = {}
        for exact in exacts if self.weights.clitics else ():
            stem_forms, exact_forms = self._clitic_forms(exact)
            for key, found in ((("stem", light_stem(exact)), stem_forms), (("exact", exact), exact_forms)):
                if found:
                    also[key] = tuple(dict.fromkeys((*also.get(key, ()), *found)))
        parts: list[Node] = [
            Term(fieldname, word, boost, also.get((kind, word), ()))
            for fieldname, kind, boost in self._fields(field_name)
            for word in (stems if kind == "stem" else exacts)
        ]
        # A form searched as the word (بجندوبة for جندوبة) is marked where the word is, and credited to it.
        def with_also(terms: list[str]) -> list[str]:
            return [*terms, *(form for kind in ("stem", "exact") for t in terms for form in also.get((kind, t), ()))]

        searched = with_also([*stems, *exacts])
        parsed.highlight_terms.update(searched)
        written = written_words(text)
        if len(written) > 1:  # words joined by punctuation: each term is credited to its own word
            for word in written:
                for term in with_also([*(t.text for t in self._stem(word)), *(t.text for t in self._exact(word))]):
                    parsed.highlight_origins.setdefault(term, _origin(word))
        for term in searched:
            parsed.highlight_origins.setdefault(term, _origin(text))
        return any_of(parts)

    def _phrase(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        tokens = [(t.text, t.pos) for t in self._exact(text, positions=True)]  # Whoosh reuses its Token
        words = [word for word, _ in tokens]
        if not words:
            return None
        if len(words) == 1:
            return self._word(text, field_name, parsed)
        positions = [pos for _, pos in tokens]
        slop = max(1, max(b - a for a, b in zip(positions, positions[1:])))
        fields = ["title_exact"] if field_name == "title" else ["title_exact", "body_exact"]
        boosts = {"title_exact": self.weights.title, "body_exact": 1.0}
        # Through the clitics: the first word after a conjunction, preposition or article
        # form, the last with a possessive suffix; only the forms the index holds.
        firsts = self._used_forms(fields, proclitic_forms(words[0]))
        lasts = self._used_forms(fields, possessive_forms(words[-1]))
        combos = [(first, last) for first in firsts for last in lasts][:MAX_PHRASE_FORMS]
        parsed.highlight_origins.setdefault(f"\0phrase{len(parsed.highlight_phrases)}", f"«{_origin(text)}»")
        parsed.highlight_phrases.append(
            (frozenset(f for f, _ in combos), *(frozenset({w}) for w in words[1:-1]), frozenset(l for _, l in combos))
        )
        return AnyOf(
            tuple(
                Phrase(f, (first, *words[1:-1], last), slop, boosts[f]) for f in fields for first, last in combos
            )
        )

    def _used_forms(self, fields: list[str], forms: tuple[str, ...]) -> list[str]:
        """``forms[0]`` (as typed) and the other forms some document uses, the most used first."""
        used = {}
        for form in forms[1:]:
            n = sum(self.lexicon.doc_frequency(f, form) for f in fields)
            if n:
                used[form] = n
        return [forms[0], *sorted(used, key=lambda form: -used[form])]

    def _prefix(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        stem = normalise(text)
        stem = "".join(ch for ch in stem if ch.isalnum())
        if len(stem) < MIN_PREFIX_CHARS:
            parsed.notices.append(Notice("prefix_too_short", {"text": text, "limit": MIN_PREFIX_CHARS}))
            return self._word(text, field_name, parsed)
        # Words as written (exact fields), and their stems: a stem has lost its clitics and
        # article, so انترن* also finds الإنترنت، بالإنترنت، للانترنت. A typed article is
        # dropped for the stems (الانترن* = انترن*).
        # The stems keep ب ل ك ف before a word without the article (بتونس): those forms are
        # looked up as written, for prefixes of three letters or more.
        bare = strip_article(stem)
        clitics = [p + stem for p in PROCLITICS if p != "و"] if len(stem) >= 3 and bare == stem else []
        title = [("title_exact", stem), ("title", bare)] + [("title_exact", c) for c in clitics]
        body = [("body_exact", stem), ("body", bare)] + [("body_exact", c) for c in clitics]
        fields = title if field_name == "title" else title + body
        cap = self.config.max_prefix_terms
        found = parsed.expansions.get(tuple(fields))
        if found is None:
            found = parsed.expansions[tuple(fields)] = self._expand(fields, cap, parsed)
        if not found:
            if not parsed.timed_out:  # out of time, the lexicon was not read: it is not known to hold none
                parsed.notices.append(Notice("prefix_no_match", {"text": text}))
            return None
        # The cap counts distinct words; each is searched in every field that holds it.
        totals: dict[str, int] = {}
        for (_fieldname, word), n in found.items():
            totals[word] = totals.get(word, 0) + n
        words = sorted(totals, key=lambda w: -totals[w])
        if len(words) > cap:
            parsed.notices.append(Notice("prefix_too_broad", {"text": text, "limit": cap}))
            words = words[:cap]
        kept = set(words)
        parsed.highlight_terms.update(words)
        for word in words:
            parsed.highlight_origins.setdefault(word, _origin(text + "*"))
        boost = {f: b for f, _kind, b in self._fields(field_name)}
        return AnyOf(tuple(Term(f, w, boost[f]) for (f, w) in found if w in kept and f in boost))

    def _expand(self, fields: list[tuple[str, str]], cap: int, parsed: ParsedQuery) -> dict[tuple[str, str], int]:
        """(field, word) -> documents, for the words beginning with each field's start; those read before
        the deadline only (then ``parsed.timed_out``)."""
        found: dict[tuple[str, str], int] = {}
        scanned = 0
        for fieldname, start in fields:
            if len(start) < MIN_PREFIX_CHARS:
                continue
            if self._late(parsed):
                break
            # The loop below stops once more than cap * 40 are scanned (each field reads one at least):
            # the lexicon need not read further.
            for word in self.lexicon.words(fieldname, start, max(1, cap * 40 + 1 - scanned)):
                found[fieldname, word] = self.lexicon.doc_frequency(fieldname, word)
                scanned += 1
                if scanned > cap * 40 or (scanned % LATE_EVERY == 0 and self._late(parsed)):
                    break
        return found

    def _late(self, parsed: ParsedQuery) -> bool:
        """Whether the deadline has passed (and say so on ``parsed``)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            parsed.timed_out = True
        return parsed.timed_out

    def _facet_value(self, fieldname: str, text: str, parsed: ParsedQuery) -> Node:
        values = facet_values(self.lexicon, fieldname, text)
        if not values:
            parsed.notices.append(Notice(f"unknown_{fieldname}", {"text": text}))
            return Nothing()
        return any_of([Term(fieldname, v) for v in values])

    def _whole_names(self, clauses: list[Clause]) -> list[Clause]:
        """A source or category typed by a name of several words without quotes (مصدر:سكاي نيوز عربية,
        مصدر:فرانس 24) as that name: when the first word names nothing and, with the next words (up to
        NAME_WORDS in all), it names a value, those words are the value, not words to search."""
        out: list[Clause] = []
        index = 0
        while index < len(clauses):
            clause = clauses[index]
            out.append(clause)
            index += 1
            if clause.field not in ("source", "category") or clause.kind != "word" or clause.or_next:
                continue
            if facet_values(self.lexicon, clause.field, clause.text):
                continue
            for more in range(NAME_WORDS - 1, 0, -1):  # the longest name first: «بي بي سي عربي», not «بي بي سي»
                following = clauses[index : index + more]
                if len(following) < more or any(c.field or c.kind != "word" or c.negated for c in following):
                    continue
                name = " ".join([clause.text, *(c.text for c in following)])
                if facet_values(self.lexicon, clause.field, name):
                    out[-1] = replace(clause, text=name, or_next=following[-1].or_next)
                    index += more
                    break
        return out

    def _clause(self, clause: Clause, parsed: ParsedQuery) -> Node | None:
        if clause.field in ("source", "category"):
            return self._facet_value(clause.field, clause.text, parsed)
        if clause.kind == "phrase":
            return self._phrase(clause.text, clause.field, parsed)
        if clause.kind == "prefix":
            return self._prefix(clause.text, clause.field, parsed)
        return self._word(clause.text, clause.field, parsed)

    # -- whole query ------------------------------------------------------------

    def parse(self, text: str, match: str = "auto") -> ParsedQuery:
        """Turn what the user typed into a ParsedQuery; never raises on user input.

        ``match``: "all" requires every word (clause) typed, "any" ranks articles
        with any of them, "auto" is "all" for queries of up to AUTO_ALL_MAX_WORDS
        words and "any" for longer ones."""
        parsed = self._parse(text, match)
        _also_searched_once(parsed)
        return parsed

    def _parse(self, text: str, match: str) -> ParsedQuery:
        max_chars = self.config.max_query_chars
        parsed = ParsedQuery(text=text, query=None)
        if len(text) > max_chars:
            text = text[:max_chars]
            parsed.notices.append(Notice("query_cut", {"limit": max_chars}))
        text = visible_query(text)
        clauses = tokenize_query(text)
        for clause in clauses:  # «title: word»: the field's name alone, the word after a space
            name = clause.text[:-1].casefold()
            if clause.kind == "word" and clause.field is None and clause.text.endswith(":") and name in FIELD_ALIASES:
                parsed.notices.append(Notice("field_without_word", {"text": clause.text}))
        max_words = self.config.max_query_terms
        clauses, cut = capped(clauses, max_words)
        if cut:
            parsed.notices.append(Notice("too_many_words", {"limit": max_words}))
        clauses = self._whole_names(clauses)

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
        # Expansions (a month's other names, a name's other spellings) are for what a reader types:
        # a query of a few words. A pasted headline or a question is written in its article's own
        # spelling: widening it lowered MRR@10 on every known-item set (benchmarks/results/quality.md).
        if self.weights.months:
            clauses = _month_apart(clauses)
        short = len([c for c in clauses if not c.negated]) <= AUTO_ALL_MAX_WORDS
        months = self._months(clauses) if self.weights.months and short else {}
        pairs = self._variant_pairs(clauses, months) if self.weights.variants and short else set()
        skipped: set[int] = set()
        # Words typed to be found (not excluded, not a filter), and how many of them are searched.
        typed_words = sum(1 for c in clauses if not c.negated and c.field not in ("source", "category"))
        searched_words = 0
        for index, clause in enumerate(clauses):
            if index in skipped:
                continue
            # An excluded word is not why an article matched: it marks nothing and names no written form.
            marks = parsed.marks() if clause.negated else None
            month = months.get(index)
            if month is not None:  # a month name, in any tradition (two words for كانون الثاني)
                number, span, beside_date = month
                skipped.update(range(index + 1, index + span))
                typed = " ".join(c.text for c in clauses[index : index + span])
                built = self._month(number, typed, clause.field, beside_date, parsed, clause.negated)
            elif index in pairs:  # two words typed that the table lists as one spelling (فيس بوك)
                skipped.add(index + 1)
                built = self._with_variants(clause, parsed, clauses[index + 1])
            elif self.weights.variants and short and clause.kind == "word" and clause.field in (None, "title", "body"):
                built = self._with_variants(clause, parsed)
            else:
                built = self._clause(clause, parsed)
            if loose_quotes and built is not None and clause.kind == "phrase" and not clause.negated:
                if clause.field not in ("source", "category"):
                    loose = self._word(clause.text, clause.field, parsed)
                    if loose is not None and loose != built:
                        built = AnyOf((built, loose))
            if marks is not None:
                parsed.restore_marks(marks)
            if built is not None and not clause.negated and clause.field not in ("source", "category"):
                searched_words += 1
            if built is None:
                if pending_or and not clause.or_next:
                    self._place(any_of(pending_or), clause, required, optional)
                    pending_or = []
                continue
            if clause.negated:
                excluded.append(built)
                continue
            if clause.kind in ("word", "phrase") and clause.field in (None, "title", "body"):
                parsed.wanted_forms.extend(t.text for t in self._exact(clause.text))
            if clause.or_next or pending_or:
                pending_or.append(built)
                if not clause.or_next:
                    self._place(AnyOf(tuple(pending_or)), clause, required, optional)
                    pending_or = []
                continue
            self._place(built, clause, required, optional)
        if pending_or:
            optional.append(any_of(pending_or))

        if typed_words and not searched_words and (optional or required):
            # Beside filters, words typed that search nothing (no word begins with a prefix, only
            # common words) find nothing, as they do alone: not every article of the filter.
            if not parsed.cause_told():
                parsed.notices.append(Notice("no_searchable_words"))
            return parsed
        if not optional and not required:
            if excluded:
                parsed.query = AndNot(Everything(), any_of(excluded))
                parsed.filters_only = True
            elif text.strip() and not parsed.cause_told():
                parsed.notices.append(Notice("no_searchable_words"))
            return parsed
        wants_all = match == "all" or (match == "auto" and len(optional) + len(required) <= AUTO_ALL_MAX_WORDS)
        if wants_all and optional and len(optional) + len(required) >= 2:
            loose = _required_and_any(required, optional)
            parsed.loose = AndNot(loose, any_of(excluded)) if excluded else loose
            required, optional = required + optional, []
            parsed.match = "all"
        elif match == "all":
            parsed.match = "all"  # one word or phrase (or only required ones): every one is required, as asked
        positive: Node
        if required and optional:
            positive = _required_and_any(required, optional)
        elif required:
            positive = all_of(required)
            parsed.filters_only = all(is_facet(q) for q in required)
        else:
            positive = any_of(optional)
        parsed.query = AndNot(positive, any_of(excluded)) if excluded else positive
        return parsed

    @staticmethod
    def _months(clauses: list[Clause]) -> dict[int, tuple[int, int, bool]]:
        """Clause index -> (month, clauses it spans, beside a day or a year) for each month name, also
        after a proclitic (ويونيو: «and June») and excluded (-يونيو excludes every name of June)."""
        names = {words: number for number in MONTH_NAMES for words in month_names(number)}
        plain = [
            _looked_up(c.text) if c.kind == "word" and c.field in (None, "title", "body") else None for c in clauses
        ]
        found: dict[int, tuple[int, int, bool]] = {}
        index = 0
        while index < len(clauses):
            typed = plain[index]
            span, number, word = 0, None, None
            following = plain[index + 1] if index + 1 < len(clauses) else None
            if following is not None and clauses[index + 1].negated != clauses[index].negated:
                following = None  # «-كانون الثاني» excludes كانون and looks for الثاني: not one name
            for word in without_proclitic(typed) if typed is not None else ():
                if following is not None and (word, following) in names:
                    span, number = 2, names[(word, following)]
                elif (word,) in names:
                    span, number = 1, names[(word,)]
                if number is not None:
                    break
            if number is None:
                index += 1
                continue
            beside = [clauses[k] for k in (index - 1, index + span) if 0 <= k < len(clauses)]
            beside_date = any(c.kind == "word" and is_date_number(_looked_up(c.text)) for c in beside)
            if span == 2 or beside_date or word not in AMBIGUOUS_MONTH_NAMES:
                found[index] = (number, span, beside_date)
            index += span
        return found

    def _month(
        self, number: int, typed: str, field_name: str | None, beside_date: bool, parsed: ParsedQuery,
        negated: bool = False,
    ) -> Node | None:
        """A month name as every name of that month (يونيو = جوان = حزيران); a name that is also
        an everyday word only beside a day or a year. The page says which names were added (not for
        an excluded month: every name of it is excluded)."""
        parts: list[Node] = []
        added: list[str] = []
        seen: set[str] = set()
        before = set(parsed.highlight_origins)
        own = set(without_proclitic(_looked_up(typed)))
        for name in MONTH_NAMES[number]:
            form = normalise(name)
            if form in seen or (form in AMBIGUOUS_MONTH_NAMES and not beside_date):
                continue
            seen.add(form)
            if " " in name and len(list(self._exact(name))) < len(name.split()):
                node = self._first_word_only(name, number, field_name, parsed)
            else:
                node = self._phrase(name, field_name, parsed) if " " in name else self._word(name, field_name, parsed)
            if node is not None:
                parts.append(node)
                if " ".join(form.split()) not in own:
                    added.append(name)
        if negated:
            parsed.excluded_forms.update(_looked_up(name) for name in MONTH_NAMES[number])
        elif added:
            parsed.notices.append(Notice("also_searched", {"text": "، ".join(added)}))
            parsed.expanded.update(_looked_up(typed).split())
        _credit(parsed, before, typed)
        return as_one_term(parts) if parts else None

    def _first_word_only(self, name: str, number: int, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        """A two-word month name whose second word is a stopword, which no phrase can hold (تشرين أول,
        كانون أول): its first word where another month's name with it is not written (تشرين, not in
        «تشرين الثاني»). A phrase of its first word alone was November too; left out, the name found
        nothing, not even an article that writes it."""
        first = name.split()[0]
        others = [other for month, names in MONTH_NAMES.items() if month != number for other in names
                  if other.split()[0] == first and len(list(self._exact(other))) == len(other.split())]
        word = self._word(first, field_name, parsed)
        marks = parsed.marks()
        unwanted = [node for other in others if (node := self._phrase(other, field_name, parsed)) is not None]
        parsed.restore_marks(marks)  # those mark nothing
        if word is None or not unwanted:
            return word
        return AndNot(word, any_of(unwanted))

    @staticmethod
    def _variant_pairs(clauses: list[Clause], months: dict[int, tuple[int, int, bool]]) -> set[int]:
        """Indexes of clauses that, with the next, are two words the table lists as one spelling."""
        found: set[int] = set()
        index = 0
        while index + 1 < len(clauses):
            first, second = clauses[index], clauses[index + 1]
            # Two excluded words are two exclusions (-فيس -بوك), not one excluded name.
            alike = (first.kind, first.field) == (second.kind, second.field) and not (first.negated or second.negated)
            if (
                alike and first.kind == "word" and first.field in (None, "title", "body")
                and not first.or_next and not second.or_next and index not in months and index + 1 not in months
                and spelling_variants(f"{_looked_up(first.text)} {_looked_up(second.text)}")
            ):
                found.add(index)
                index += 2
            else:
                index += 1
        return found

    def _with_variants(self, clause: Clause, parsed: ParsedQuery, second: Clause | None = None) -> Node | None:
        """A word, and the other reviewed spellings of it (ترمب -> ترامب), each with the clitics typed;
        a spelling of two words (فيس بوك) as a phrase. ``second``: the next word typed, when the two
        are one listed spelling (فيس بوك -> فيسبوك): then both are searched as that phrase or as
        any other spelling."""
        typed = clause.text if second is None else f"{clause.text} {second.text}"
        built = self._clause(clause, parsed) if second is None else self._spelling(typed, clause.field, parsed)
        found = spelling_variants(_looked_up(typed))  # an excluded name: every spelling excluded
        g_forms = self._g_spellings(typed)
        if g_forms:
            found = tuple(dict.fromkeys([*found, *g_forms, *(v for g in g_forms for v in spelling_variants(g))]))
        if not found or built is None:
            return built
        before = set(parsed.highlight_origins)
        parts = [built, *(node for v in found if (node := self._spelling(v, clause.field, parsed)) is not None)]
        _credit(parsed, before, typed)
        parsed.expanded.update(_looked_up(typed).split())
        if not clause.negated:
            # Arabic spellings first: the line is read right to left, a Latin spelling at its end.
            parsed.notices.append(Notice("also_searched", {"text": "، ".join(sorted(found, key=str.isascii))}))
        else:
            parsed.excluded_forms.update(_looked_up(v) for v in found)
        return as_one_term(parts)

    def _g_spellings(self, typed: str) -> tuple[str, ...]:
        """A name typed with a letter Arabic lacks for g (گوگل, Iraqi and Persian; ڭ, ݣ Moroccan): its
        spellings with each letter Arabic news writes a g with (غوغل، جوجل، قوقل، كوكل) that the index
        holds. Normalised, گ is ك, and كوكل is in no article: the speller then offered كوكب («planet»).
        At most MAX_G_LETTERS letters are tried each way; beyond, one letter for all of them."""
        at = [i for i, ch in enumerate(typed) if ch in G_LETTERS]
        if not at:
            return ()
        if len(at) <= MAX_G_LETTERS:
            combos = list(itertools.product(G_SPELLINGS, repeat=len(at)))
        else:
            combos = [(letter,) * len(at) for letter in G_SPELLINGS]
        own = _looked_up(typed)
        found: list[str] = []
        for combo in combos:
            chars = list(typed)
            for i, letter in zip(at, combo, strict=True):
                chars[i] = letter
            form = _looked_up("".join(chars))
            if form and form != own and form not in found and all(
                self.lexicon.doc_frequency("body_exact", w) or self.lexicon.doc_frequency("body", light_stem(w))
                for w in form.split()
            ):
                found.append(form)
        return tuple(found)

    def _spelling(self, text: str, field_name: str | None, parsed: ParsedQuery) -> Node | None:
        """One listed spelling: a word, or two words as a phrase, also without the article or a
        proclitic typed on the first (الفيسبوك, بفيسبوك -> فيس بوك): the phrase search adds clitics
        to its first word, it does not take them away."""
        if " " not in text:
            return self._word(text, field_name, parsed)
        first, rest = text.split(" ", 1)
        bare = [strip_article(first), *(first[k:] for k in (1, 2) if first[:k] in PROCLITICS and len(first) - k >= 2)]
        firsts = [first, *(b for b in bare if b != first and spelling_variants(f"{b} {rest}"))]
        phrases = [self._phrase(f"{f} {rest}", field_name, parsed) for f in dict.fromkeys(firsts)]
        found = [p for p in phrases if p is not None]
        return any_of(found) if found else None

    @staticmethod
    def _place(built: Node, clause: Clause, required: list[Node], optional: list[Node]) -> None:
        if clause.field is not None:
            required.append(built)
        else:
            optional.append(built)


def _required_and_any(required: list[Node], optional: list[Node]) -> Node:
    """What must match and what may: a word typed beside a field-qualified word («title:…») is
    optional, it ranks. Beside filters only (source:, category:), at least one of the words must
    match: «لبنان category:sport» is the sport articles about Lebanon, not every sport article."""
    if all(is_facet(node) for node in required):
        return all_of([*required, any_of(optional)])
    return AndMaybe(all_of(required), any_of(optional))


_MONTH_WORDS = frozenset(word for number in MONTH_NAMES for name in month_names(number) for word in name)


def _month_apart(clauses: list[Clause]) -> list[Clause]:
    """A word typed with a month name joined to a number, a slash or a hyphen (مارس2018, 15مارس,
    جوان/يونيو, كانون-الثاني) as its words apart, so that the month is found as when typed apart:
    joined, it was searched as any of its parts («كانون-الثاني»: every article with الثاني). Only when
    each part is a word of a month name or a day or a year."""
    out: list[Clause] = []
    for clause in clauses:
        parts = written_words(clause.text) if clause.kind == "word" and clause.field in (None, "title", "body") else []
        if len(parts) > 1 and any(set(without_proclitic(_looked_up(p))) & _MONTH_WORDS for p in parts) and all(
            set(without_proclitic(_looked_up(p))) & _MONTH_WORDS or is_date_number(_looked_up(p)) for p in parts
        ):
            out += [replace(clause, text=p, or_next=False) for p in parts[:-1]]
            out.append(replace(clause, text=parts[-1]))
        else:
            out.append(clause)
    return out


def _also_searched_once(parsed: ParsedQuery) -> None:
    """One «also searched» line for the whole query, naming only what the reader did not type or exclude:
    «Google غوغل» said two lines, each with a word typed, «يناير -جانفي» said it also searched the word
    excluded, and «يونيو -جوان» the other names of the month excluded.
    Arabic spellings first (the line is read right to left); a Latin name capitalised, as the press writes it."""
    told = [n for n in parsed.notices if n.code == "also_searched"]
    if not told:
        return
    typed = set(_looked_up(parsed.text).split())
    added: dict[str, None] = {}
    for notice in told:
        for word in str(notice.params["text"]).split("، "):
            if word and not set(_looked_up(word).split()) <= typed and _looked_up(word) not in parsed.excluded_forms:
                added[word.capitalize() if word.isascii() and word.islower() else word] = None
    at = parsed.notices.index(told[0])
    parsed.notices = [n for n in parsed.notices if n.code != "also_searched"]
    if added:
        parsed.notices.insert(at, Notice("also_searched", {"text": "، ".join(sorted(added, key=str.isascii))}))


def _terms_only(node: Node) -> list[Term] | None:
    """The terms a word was searched as (one per field and form), or None for anything else (a phrase)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, AnyOf) and node.boost == 1.0 and all(isinstance(c, Term) for c in node.children):
        return list(node.children)  # type: ignore[arg-type]
    return None


def as_one_term(spellings: list[Node]) -> Node:
    """Several spellings of one word (ترامب، ترمب; جوان، يونيو، حزيران) searched as one term per field:
    each one-word spelling's forms join the first's (Term.also), so an article scores by how often it
    names the thing, in whichever spelling, with the idf of the whole set. Scored as separate words, the
    rarer spelling's higher idf put one outlet first: for ترامب, 98 of the top 100 were the one outlet
    writing ترمب. A spelling of two words (فيس بوك, كانون الثاني) stays a phrase beside them."""
    merged: list[Term] = []
    rest: list[Node] = []
    for node in spellings:
        terms = _terms_only(node)
        if terms is None:
            rest.append(node)
            continue
        for term in terms:
            at = next((k for k, t in enumerate(merged) if (t.field, t.boost) == (term.field, term.boost)), None)
            if at is None:
                merged.append(term)
                continue
            first = merged[at]
            forms = dict.fromkeys((*first.also, term.text, *term.also))
            forms.pop(first.text, None)
            merged[at] = replace(first, also=tuple(forms))
    return any_of([*merged, *rest])


def _looked_up(text: str) -> str:
    """A typed word (or two) as the expansions look it up: normalised, its words as the analyser reads
    them, without the punctuation around them: «ترمب،», «(جانفي)», «-(فايسبوك)» are ترمب, جانفي, فايسبوك."""
    words = WORD_PATTERN.findall(normalise(text))
    return " ".join(w.lstrip("#") for w in words) if words else " ".join(normalise(text).split())


def _credit(parsed: ParsedQuery, before: set[str], typed: str) -> None:
    """The terms an expansion added answer the word the reader typed (the article page's marks
    and the forms line name it, not the added spelling)."""
    for term in set(parsed.highlight_origins) - before:
        parsed.highlight_origins[term] = _origin(typed)


def facet_values(lexicon: Lexicon, fieldname: str, text: str) -> list[str]:
    """The indexed values of a source or category field that match ``text``,
    ignoring case and spelling variants (bbc = BBC, اصداء = أصداء); a category
    also by its Arabic label (تصنيف:رياضة = category:sport), a source by the name it publishes under
    (مصدر:العربية = source:alarabia)."""
    wanted = normalise(text.strip())
    if fieldname in ("category", "source"):
        return [value for value in lexicon.values(fieldname) if label_matches(value, text, fieldname)]
    return [value for value in lexicon.values(fieldname) if normalise(value) == wanted]
