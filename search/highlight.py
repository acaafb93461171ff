"""Snippets cut from the original text, with every matching word marked whole.

A word matches when its stem or its normalised form is one of the query's
terms, so the query انترنت marks الإنترنت, للإنترنت and #الانترنت: the mark
spans the word as written, diacritics, tatweel and clitics included. Text
around the marks is HTML-escaped; the marks are the only markup.
"""

from __future__ import annotations

import html
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


Analysed = tuple[tuple[int, int, str, str], ...]
# Library callers share this one; the engine passes its own, sized by a setting.
DEFAULT_CACHE: ByteLRU[Analysed] = ByteLRU(16 * 1024 * 1024)
BYTES_PER_WORD = 250  # a 4-tuple, two ints and two short strings, measured with sys.getsizeof


# Each written word's (form, stem) pairs, stopwords left out: the words of news are
# Zipfian, so most words of an article shown were seen in articles shown before.
# Bounded like the analyser's own table (then it starts afresh).
_KEYS: dict[str, tuple[tuple[str, str], ...]] = {}


def _keys(surface: str) -> tuple[tuple[str, str], ...]:
    stops = stopwords()
    found = tuple((form, light_stem(form)) for form in surface_forms(surface) if form not in stops)
    if len(surface) <= MAX_MEMO_CHARS:
        if len(_KEYS) >= MAX_MEMO_WORDS:
            _KEYS.clear()
        _KEYS[surface] = found
    return found


def _analyse(text: str) -> Analysed:
    found: list[tuple[int, int, str, str]] = []
    for match in WORD_PATTERN.finditer(text):
        surface = match.group(0)
        keys = _KEYS.get(surface)
        if keys is None:
            keys = _keys(surface)
        if keys:
            start, end = match.span()
            found.extend((start, end, form, stem) for form, stem in keys)
    return tuple(found)


def analysed(text: str, cache: ByteLRU[Analysed] | None = None) -> Analysed:
    """(start, end, normalised form, stem) of each non-stopword word; cached, since
    the same popular articles are shown for many queries."""
    cache = DEFAULT_CACHE if cache is None else cache
    return cache.get_or_make(text, lambda: _analyse(text), lambda words: len(text) * 2 + BYTES_PER_WORD * len(words))


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
    spans: list[Span] = []
    covered_until = -1
    firsts = frozenset().union(*(phrase[0] for phrase in phrases)) if phrases else frozenset()
    for i, (start, end, form, stem) in enumerate(words):
        if start < covered_until:
            continue  # inside a phrase already marked
        phrase_end = _phrase_at(words, i, phrases) if form in firsts else None
        if phrase_end is not None:
            if spans and spans[-1].start == start:
                spans.pop()
            spans.append(Span(start, phrase_end[0], "\0phrase" + str(phrase_end[1])))
            covered_until = phrase_end[0]
            continue
        if form in terms or stem in terms:
            if spans and spans[-1].start == start:
                continue  # one written word that normalised to several
            key = stem
            if origins is not None and stem not in origins and form in origins:
                key = form  # matched by its written form: name the query word that form came from
            spans.append(Span(start, end, key))
    return spans


def _phrase_at(words: Analysed, i: int, phrases: Phrases) -> tuple[int, int] | None:
    """(end offset, phrase number) of the first phrase whose words start at ``words[i]``."""
    for number, phrase in enumerate(phrases):
        if i + len(phrase) <= len(words) and all(words[i + k][2] in forms for k, forms in enumerate(phrase)):
            return words[i + len(phrase) - 1][1], number
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
    """(the term a word matched, the word as written) for each single-word match."""
    return [(s.key, written_form(text[s.start : s.end])) for s in spans if not s.key.startswith("\0phrase")]


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
