"""Snippets cut from the original text, with every matching word marked whole.

A word matches when its stem or its normalised form is one of the query's
terms, so the query انترنت marks الإنترنت, للإنترنت and #الانترنت: the mark
spans the word as written, diacritics, tatweel and clitics included. Text
around the marks is HTML-escaped; the marks are the only markup.
"""

from __future__ import annotations

import html
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from search.analysis import (
    MAX_MEMO_CHARS,
    MAX_MEMO_WORDS,
    WORD_PATTERN,
    light_stem,
    stopwords,
    surface_forms,
    written_form,
)
from search.cache import ByteLRU

ELLIPSIS = "…"
WHY = "يطابق كلمة البحث: "  # a mark's title on the article page: why this word is marked


@dataclass
class Span:
    start: int
    end: int
    key: str  # the term that matched, to count distinct matches


@dataclass
class Snippet:
    html: str
    text: str
    spans: list[Span] = field(default_factory=list)  # every match in the whole text, not only the cut


Keys = tuple[tuple[str, str], ...]  # one written word's (normalised form, stem) pairs


@dataclass(frozen=True, slots=True)
class Analysed:
    """A text's non-stopword words, in order: where each is written and the (form, stem)
    pairs it is searched as. Offsets are kept in two compact arrays and each word's pairs
    are the one tuple shared by every article that writes the word, so a cached article
    costs ~16 bytes a word, not a tuple of four objects a word."""

    starts: array[int]
    ends: array[int]
    keys: tuple[Keys, ...]
    unshared: int  # words whose pairs are not in the shared table (long words, table full)

    def __len__(self) -> int:
        return len(self.keys)

    def size(self, text: str) -> int:
        """Bytes this entry and its text pin in a cache."""
        return len(text) * 2 + BYTES_PER_WORD * len(self.keys) + BYTES_PER_UNSHARED * self.unshared + BYTES_PER_ENTRY


# Library callers share this one; the engine passes its own, sized by a setting.
DEFAULT_CACHE: ByteLRU[Analysed] = ByteLRU(16 * 1024 * 1024)
BYTES_PER_WORD = 16  # two 4-byte offsets and a pointer to the word's shared pairs
BYTES_PER_UNSHARED = 250  # a word's own pairs: tuples and short strings, measured with sys.getsizeof
BYTES_PER_ENTRY = 500  # the arrays, the tuple and the cache's own bookkeeping (tracemalloc: ~330 over 3,000 articles)

# Each written word's (form, stem) pairs, stopwords left out: the words of news are
# Zipfian, so most words of an article shown were seen in articles shown before.
# Bounded like the analyser's tables; once full, it keeps the words it has (the
# frequent ones came first) instead of starting afresh, so the pairs cached
# articles point to stay shared.
_KEYS: dict[str, Keys] = {}


def _keys(surface: str) -> tuple[Keys, bool]:
    """A word's pairs, and whether they are now in the shared table."""
    stops = stopwords()
    found = tuple((form, light_stem(form)) for form in surface_forms(surface) if form not in stops)
    if len(surface) <= MAX_MEMO_CHARS and len(_KEYS) < MAX_MEMO_WORDS:
        _KEYS[surface] = found
        return found, True
    return found, False


def _analyse(text: str) -> Analysed:
    starts: array[int] = array("I")
    ends: array[int] = array("I")
    keys: list[Keys] = []
    unshared = 0
    shared = _KEYS.get
    for match in WORD_PATTERN.finditer(text):
        found = shared(match.group(0))
        if found is None:
            found, kept = _keys(match.group(0))
            unshared += not kept and bool(found)
        if found:
            start, end = match.span()
            starts.append(start)
            ends.append(end)
            keys.append(found)
    return Analysed(starts, ends, tuple(keys), unshared)


def analysed(text: str, cache: ByteLRU[Analysed] | None = None) -> Analysed:
    """Each non-stopword word of ``text``, where it is and its (form, stem) pairs; cached,
    since the same popular articles are shown for many queries."""
    cache = DEFAULT_CACHE if cache is None else cache
    return cache.get_or_make(text, lambda: _analyse(text), lambda words: words.size(text))


Phrases = Sequence[tuple[frozenset[str], ...]]  # each phrase: the forms each of its words may take


def matches(
    text: str,
    terms: set[str] | frozenset[str],
    cache: ByteLRU[Analysed] | None = None,
    phrases: Phrases = (),
    origins: dict[str, str] | None = None,
) -> list[Span]:
    """Spans of the words in ``text`` that match any of ``terms``, and of each place where a
    phrase occurs (its words in order, each one of the forms its position allows): one span
    from its first word to its last."""
    if (not terms and not phrases) or not text:
        return []
    words = analysed(text, cache)
    starts, ends = words.starts, words.ends
    spans: list[Span] = []
    covered_until = -1
    firsts = frozenset().union(*(phrase[0] for phrase in phrases)) if phrases else frozenset()
    for i, keys in enumerate(words.keys):
        start = starts[i]
        if start < covered_until:
            continue  # inside a phrase already marked
        if firsts and any(form in firsts for form, _stem in keys):
            phrase_end = _phrase_at(words, i, phrases)
            if phrase_end is not None:
                spans.append(Span(start, phrase_end[0], "\0phrase" + str(phrase_end[1])))
                covered_until = phrase_end[0]
                continue
        for form, stem in keys:
            if form in terms or stem in terms:
                key = stem
                if origins is not None and stem not in origins and form in origins:
                    key = form  # matched by its written form: name the query word that form came from
                spans.append(Span(start, ends[i], key))
                break  # one written word that normalised to several
    return spans


def _phrase_at(words: Analysed, i: int, phrases: Phrases) -> tuple[int, int] | None:
    """(end offset, phrase number) of the first phrase whose words start at word ``i``."""
    keys = words.keys
    for number, phrase in enumerate(phrases):
        if i + len(phrase) <= len(keys) and all(
            any(form in forms for form, _stem in keys[i + k]) for k, forms in enumerate(phrase)
        ):
            return words.ends[i + len(phrase) - 1], number
    return None


def mark(
    text: str, spans: list[Span], start: int = 0, end: int | None = None, origins: dict[str, str] | None = None
) -> str:
    """Escape ``text[start:end]`` and wrap the spans inside it in <mark>; with ``origins`` (the
    query words each term and phrase came from) each mark's title says which one it answers."""
    end = len(text) if end is None else end
    out = []
    pos = start
    for span in spans:
        if span.start < start or span.end > end:
            continue
        out.append(html.escape(text[pos : span.start]))
        origin = origins.get(span.key) if origins else None
        opening = f'<mark title="{html.escape(WHY + origin, quote=True)}">' if origin else "<mark>"
        out.append(opening + html.escape(text[span.start : span.end]) + "</mark>")
        pos = span.end
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def written_forms(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    """(the term a word or a phrase matched, the words as written) for each match: a phrase too, so that a
    name one outlet writes as two words (فيس بوك) is counted beside its other spellings (فيسبوك, Facebook);
    left out, a search whose page held only one one-word spelling showed no forms at all."""
    return [(s.key, " ".join(written_form(text[s.start : s.end]).split())) for s in spans]


def highlight_all(
    text: str,
    terms: set[str] | frozenset[str],
    cache: ByteLRU[Analysed] | None = None,
    phrases: Phrases = (),
    origins: dict[str, str] | None = None,
) -> str:
    """The whole text, escaped, with every match marked (for the article view), each mark
    titled with the query word it answers when ``origins`` are given."""
    return mark(text, matches(text, terms, cache, phrases, origins), origins=origins)


MAX_WALK = 40  # characters a cut walks to reach a word boundary; a longer word is cut inside


def _word_boundary_before(text: str, pos: int) -> int:
    """The start of the word at ``pos`` (``pos`` itself inside a very long word)."""
    stop = max(0, pos - MAX_WALK)
    at = pos
    while at > stop and not text[at - 1].isspace():
        at -= 1
    return at if at == 0 or text[at - 1].isspace() else pos


def _word_boundary_after(text: str, pos: int) -> int:
    """The end of the word at ``pos`` (``pos`` itself inside a very long word)."""
    stop = min(len(text), pos + MAX_WALK)
    at = pos
    while at < stop and not text[at].isspace():
        at += 1
    return at if at == len(text) or text[at].isspace() else pos


def snippet(
    text: str,
    terms: set[str] | frozenset[str],
    length: int = 220,
    cache: ByteLRU[Analysed] | None = None,
    phrases: Phrases = (),
) -> Snippet:
    """The window of about ``length`` characters holding the most distinct matches."""
    text = text.strip()
    if not text:
        return Snippet("", "")
    spans = matches(text, terms, cache, phrases)
    if len(text) <= length:
        start, end = 0, len(text)
    elif not spans:
        start, end = 0, _word_boundary_before(text, length) or length
    else:
        best, best_score = 0, -1
        candidates = spans[:300]
        for i, first in enumerate(candidates):
            window_end = first.start + length
            keys = {s.key for s in candidates[i:] if s.end <= window_end}
            score = len(keys)
            if score > best_score:
                best, best_score = i, score
        # Start a little before the first match, at a word boundary.
        anchor = candidates[best].start
        start = _word_boundary_before(text, max(0, anchor - length // 5))
        end = min(len(text), start + length)
        if end < len(text):
            end = _word_boundary_before(text, end) or end
            if end <= anchor:
                end = _word_boundary_after(text, min(len(text), start + length))
    while end > start and text[end - 1].isspace():
        end -= 1
    body = text[start:end].replace("\n", " ")
    prefix = ELLIPSIS + " " if start > 0 else ""
    suffix = " " + ELLIPSIS if end < len(text) else ""
    marked = mark(text, spans, start, end).replace("\n", " ")
    return Snippet(prefix + marked + suffix, prefix + body + suffix, spans)
