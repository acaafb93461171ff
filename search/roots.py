"""Roots at a low weight: kin words that light stems keep apart count for a little.

Light stems keep كاتب، يكتبون and المكتبات apart (rightly: a search for one
should rank it first); their root, كتب, ties them. After the first ranking, the
best ROOT_DEPTH candidates of a search by relevance get ROOT_WEIGHT times a BM25
score of the query's roots in them (k1 1.2, b 0.75), with the statistics of
those candidates themselves (how many of them hold a root, their average
length): the index keeps no statistics of roots, so every backend reranks the
same candidates the same way from what it keeps of their words (their normalised
forms without stopwords, title and body).

Roots are NLTK's ISRI root stemmer (Apache-2.0), from the normalised form.
Measured as a reranking of the engine's candidates (benchmarks/features.py,
results/features.md), weight 3: the first 10 gain MRR@10 +2.1% on ANT
known-item, +1.3% on JawharaFM known-item, +2.4% on ARCD; the first 20 +3.0%,
+2.0%, +3.4%; the first 30, what ships, +3.6%, +2.4%, +3.0% (evaluate.py: the
same); 50 and 100 no more on average. The same BM25 over light stems or
unstemmed forms instead of roots lowers both known-item sets: the gain is the
roots'.

So that reading a candidate's roots costs little, the embedded backend keeps
each article's roots as a column written when the article is indexed
(``forms_column``: the root id of each distinct normalised form with the form's
frequency, from the forms the writer has just found for the exact fields, so
indexing analyses nothing twice); a search compares its roots' ids with its
candidates' in NumPy.
A root's id is the CRC-32 of its UTF-8 bytes: no table to keep between builds
and adds; two roots sharing an id (about one chance in 10^5 for a query root
against a collection's roots) would count together in this low-weight score.
An index written before the column reads the candidates' stored text instead
(``text_roots``).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain
from typing import Any

import numpy as np

from search.analysis import (
    MAX_ROOTS,
    WRITER_MEMO_WORDS,
    WordTable,
    content_forms,
    index_terms,
    root,
    widen_memo,
    written_words,
)

ROOT_WEIGHT = 3.0  # chosen on the three development sets together (results/features.md: 2-5 alike)
ROOT_DEPTH = 30  # the candidates reranked: the first stage's best (results/features.md: 30 to 100 alike)
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


def root_id(found: str) -> int:
    """A root's id in the roots column: the CRC-32 of its UTF-8 bytes."""
    return zlib.crc32(found.encode("utf-8"))


_NO_ROOT = bytes(4)  # the id of a form too short to have a root (no root's id: CRC-32 of "" is 0)


def _form_id(form: str) -> bytes:
    """A normalised form's root id as the column stores it (little-endian uint32)."""
    return root_id(root(form)).to_bytes(4, "little") if len(form) >= MIN_LETTERS else _NO_ROOT


_FORM_IDS = WordTable(_form_id, MAX_ROOTS)  # a normalised form -> its root id's bytes
ID_TYPE = np.dtype("<u4")  # a root id, in the column
COUNT_TYPE = np.dtype("<u2")  # a form's frequency, in the column
MAX_FREQUENCY = 0xFFFF  # a form's frequency, as every counting path keeps it
# What counting one candidate's forms costs the other backend, which looks each up, is bounded: the
# roots of its first MAX_FORMS distinct forms (title's, then body's). ANT's 31,525 articles have at
# most 1,762; past that, the embedded backend (which counts ids, whatever their number) differs.
MAX_FORMS = 2_000


def forms_column(forms: Iterable[str], frequencies: Iterable[int]) -> bytes:
    """An article's roots column value from its distinct normalised forms (title's, then body's)
    and their frequencies: each form's root id (little-endian uint32; 0 for a form too short to
    have a root), then each form's frequency (little-endian uint16, at most MAX_FREQUENCY). The
    index writer passes the forms it has just found for the exact fields."""
    ids = b"".join(map(_FORM_IDS.__getitem__, forms))
    frequencies = list(frequencies)
    try:
        counts = array("H", frequencies)
    except OverflowError:  # a form past a uint16's count: kept at the bound
        counts = array("H", (min(n, MAX_FREQUENCY) for n in frequencies))
    if sys.byteorder == "big":
        counts.byteswap()
    return ids + counts.tobytes()


AHEAD_SECONDS = 30.0  # the longest a reindex waits for the ids looked up ahead (ANT's 205,000 forms: 1.3 s)


class IdsAhead:
    """The root ids of the forms a reindex's writers are about to meet, looked up in a helper
    process while the caller works on: the pairing of a reindex's grouping takes one core, and
    the writers, forked afterwards, find the ids in their table instead of stemming each form
    again in each process (measured with ANT's 31,525 articles: 1.1 s less per writer).

    It only spares work: a helper that fails or is late adds nothing, and the writers look the
    ids up themselves."""

    def __init__(self) -> None:
        self._forms: list[str] = []
        self._helper: Any = None
        self._receive: Any = None
        self.added = 0  # ids put in this process's table

    def start(self, forms: set[str]) -> None:
        """Look up the forms' ids in a forked helper (where processes are forked). More forms than
        a writer's table keeps are left to the writers: its first miss would empty the table."""
        if self._helper is not None or "fork" not in mp.get_all_start_methods() or len(forms) > WRITER_MEMO_WORDS:
            return
        ctx = mp.get_context("fork")
        ordered = list(forms)  # the helper has the same list, through fork
        receive = send = helper = None
        try:
            receive, send = ctx.Pipe(duplex=False)
            helper = ctx.Process(target=_send_ids, args=(ordered, send), name="baheth-roots", daemon=True)
            helper.start()
        except OSError:  # no process or pipe to spare: the writers look the ids up themselves
            for end in (receive, send):
                if end is not None:
                    end.close()
            return
        send.close()
        self._forms, self._helper, self._receive = ordered, helper, receive

    def collect(self, timeout: float | None = None) -> int:
        """Put the helper's ids in this process's table, for the processes forked after; how many.
        Waits at most ``timeout`` seconds (by default, what looking up that many forms takes with
        ample margin, never more than AHEAD_SECONDS): a late helper is stopped and adds nothing."""
        if self._helper is None:
            return 0
        if timeout is None:
            timeout = min(AHEAD_SECONDS, 2.0 + 20e-6 * len(self._forms))
        found = b""
        try:
            if self._receive.poll(timeout):
                found = self._receive.recv_bytes()
        except (EOFError, OSError):
            found = b""
        finally:
            if self._helper.is_alive():
                self._helper.kill()
            self._helper.join()
            self._receive.close()
            self._helper = None
        if len(found) == 4 * len(self._forms):
            ids = (found[i : i + 4] for i in range(0, len(found), 4))
            _FORM_IDS.update(zip(self._forms, ids, strict=True))
            self.added = len(self._forms)
        self._forms = []
        return self.added

    def close(self) -> None:
        """Stop a helper still running, and leave this process's table as small as usual again
        (the writers forked meanwhile have their copies)."""
        if self._helper is not None:
            self.collect(timeout=0)
        if self.added:
            _FORM_IDS.clear()
            self.added = 0

    def __enter__(self) -> IdsAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _send_ids(forms: list[str], send: Any) -> None:
    """In a forked helper: the forms' ids, in their order, as one byte string."""
    widen_memo()  # this process ends with its one table
    send.send_bytes(b"".join(map(_FORM_IDS.__getitem__, forms)))
    send.close()


def roots_column(title: str, body: str) -> bytes:
    """An article's roots column value from its text (what ``forms_column`` makes of the exact
    fields' forms, in the order they first occur)."""
    fields = [Counter(index_terms(written_words(text), stem=False)) for text in (title, body)]
    return forms_column(chain.from_iterable(fields), chain.from_iterable(f.values() for f in fields))


def wanted_ids(wanted: Iterable[str]) -> dict[str, int]:
    """The column ids of the wanted roots."""
    return {r: root_id(r) for r in wanted}


def column_counts(value: bytes, wanted: Mapping[str, int]) -> tuple[dict[str, int], int] | None:
    """(frequency of each wanted root, how many roots) of an article's roots column value
    (``wanted``: root -> id, see ``wanted_ids``), counted by NumPy; None when there is no value (a
    document written without one, or with no words) or it is damaged: the caller reads the text."""
    item = ID_TYPE.itemsize + COUNT_TYPE.itemsize
    if not value or len(value) % item:
        return None
    n = len(value) // item
    ids = np.frombuffer(value, dtype=ID_TYPE, count=n)
    counts = np.frombuffer(value, dtype=COUNT_TYPE, offset=n * ID_TYPE.itemsize)
    found = {r: int(counts[ids == i].sum()) for r, i in wanted.items()}
    return {r: c for r, c in found.items() if c}, int(counts[ids != 0].sum())


def text_counts(*texts: str) -> Counter[str]:
    """A candidate's root frequencies, from its texts (see ``text_roots``)."""
    return Counter(text_roots(*texts))


def wanted_counts(found: list[str], wanted: Iterable[str]) -> tuple[dict[str, int], int]:
    """(frequency of each wanted root, how many roots) of a candidate's roots: what ``boosts``
    needs, without counting every root."""
    return {r: found.count(r) for r in wanted}, len(found)


def counts(frequencies: Iterable[Mapping[str, int]]) -> tuple[Counter[str], int]:
    """(root frequencies, how many roots) of a candidate, from the frequencies of its normalised
    forms (one mapping per field: title, body): the roots of the first MAX_FORMS forms, the length
    of them all."""
    found: Counter[str] = Counter()
    length = 0
    for at, (form, n) in enumerate(chain.from_iterable(field.items() for field in frequencies)):
        if len(form) >= MIN_LETTERS:
            n = min(n, MAX_FREQUENCY)
            length += n
            if at < MAX_FORMS:
                found[root(form)] += n
    return found, length


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
