"""Writing a new Whoosh segment fast: what Whoosh's own writer writes, without its pool.

Whoosh's ``SegmentWriter`` puts every posting through Python one by one
several times: a 5-tuple into a sorting pool (pickled to disk when the pool
fills), a sort of those tuples, then a method call per posting into the
codec's block writer. Building ANT (31,525 articles) spent most of its time
there. :class:`FastSegmentWriter` keeps Whoosh's per-document writer (stored
fields, lengths, columns) and replaces only the postings path:

* a text field's terms come from one ``map`` over the text's written words
  (found once per document for the fields that index the same text), counted
  by a C-level ``Counter`` or placed by position;
* postings gather as flat lists per field, in document order, and are grouped
  by term with one stable NumPy sort;
* each term's blocks of 128 postings are minified, pickled and compressed in
  ``W3PostingsWriter``'s format, into one buffer per file.

With Whoosh's own block encoding switched on, every file of the segment is the
same bytes as Whoosh's writer makes (tests/test_segment.py). As shipped, two
choices of encoding differ (``COMPRESS_FROM``, ``DATA_PROTOCOL``), never what a
block says. It builds new segments (a reindex); ``baheth add`` still updates
through Whoosh's writer.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections import Counter
from hashlib import md5
from itertools import chain, count, repeat
from operator import sub
from pickle import dumps
from typing import Any

import numpy as np
from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec
from whoosh.fields import ID
from whoosh.formats import Existence, Frequency, Positions
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from search.analysis import ArabicAnalyzer, index_slots, index_terms, written_words
from search.roots import forms_column

BLOCK = 128  # postings per block: W3Codec's blocklimit
_INFO = struct.Struct("!BfIBBfII")  # W3TermInfo's fixed part
_INT = struct.Struct("!i")
_LONG = struct.Struct("!q")
_USHORT = struct.Struct("!H")
_KEY_VALUE_LENGTHS = struct.Struct("!ii")  # filetables' per-entry header
_UINT = struct.Struct("!I")
FLUSH_BYTES = 8 << 20  # write the postings buffer out past this size
# Blocks whose pickle is shorter than this are stored uncompressed (the block's
# info says so, and Whoosh's reader decompresses only when it says so). Whoosh
# meant to skip compressing pickles under 20 bytes but a slip overwrites the
# choice, so it compresses every block: a 30-byte block (one posting, most terms)
# then grows by zlib's header and checksum and costs a decompression per read.
# 0 compresses every block, as Whoosh does (the tests compare bytes that way).
COMPRESS_FROM = 256
# zlib's level for the blocks it compresses: Whoosh's is 3. zlib.compress was 7% of a reindex's CPU;
# at level 1 ANT's index grows 0.6% (209.3 against 208.1 MB) and a reindex is some 4% faster
# (1,042 and 1,019 docs/s against 968 to 1,006 at level 3, measured in one session).
COMPRESS_LEVEL = 1
# A block's data is read back with ``pickle.loads`` (any protocol). Whoosh pickles it
# with protocol 2, which has no bytes type: each posting's encoded value (the
# positions of a phrase field's word, the frequencies) goes through
# ``_codecs.encode(text, "latin1")``, nearly doubling its size and costing a call
# per value to write and to read. Protocol 3 stores bytes as bytes and, unlike 4
# and 5, adds no frame header to these small pickles. The block's info tuple stays
# protocol 2, as Whoosh writes it: it holds only numbers and is read from a stream.
DATA_PROTOCOL = 3

# Bytes held per posting while a segment gathers (three list slots; the values'
# own bytes are counted apart): the estimate the memory setting bounds.
POSTING_BYTES = 24


class FastSegmentWriter(SegmentWriter):
    """A ``SegmentWriter`` for new documents whose postings skip Whoosh's pool.

    Only ``add_document`` with field values is offered (no updates, deletions or
    merges: those go through the index's existing segments, so Whoosh's writer
    does them), and only for schemas without term vectors or spelling fields.
    ``held_bytes`` estimates the postings held so far, for the caller to close
    the segment and start another when it passes a bound.
    """

    def __init__(
        self,
        ix: Any,
        counted_field: str | None = None,
        roots_field: str | None = None,
        roots_from: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("codec", W3Codec())
        super().__init__(ix, **kwargs)
        self.counted_field = counted_field
        # A column of each document's root ids (search.roots.forms_column), from the forms these
        # phrase fields have just found: no second analysis of the text.
        self.roots_field = roots_field
        self.roots_from = roots_from
        if roots_field is not None and self.schema[roots_field].column_type is None:
            raise TypeError(f"field {roots_field!r}: the roots need a column")
        self._forms: dict[str, tuple[dict[str, list[int]], list[int]]] = {}  # field -> (its places, frequencies)
        self.term_counts: dict[str, int] = {}  # counted_field's terms -> documents, once written
        if self.codec.__class__ is not W3Codec:
            raise TypeError("FastSegmentWriter writes W3Codec segments only")
        self._plans: dict[str, tuple[str, ArabicAnalyzer | None]] = {}
        self._whole_values: dict[str, float] = {}
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise TypeError(f"field {name!r}: term vectors and spelling fields are not supported")
            if not field.indexed:
                continue
            analyzer = getattr(field, "analyzer", None)
            fmt = field.format
            if isinstance(analyzer, ArabicAnalyzer) and fmt.field_boost == 1.0 and type(fmt) in (Frequency, Positions):
                self._plans[name] = ("positions" if type(fmt) is Positions else "counts", analyzer)
            else:
                self._plans[name] = ("generic", None)
                if type(field) is ID and type(analyzer) is IDTokenizer and type(fmt) is Existence:
                    self._whole_values[name] = fmt.field_boost  # the value is the one term, as Whoosh's ID does
        self._gathered = {name: _Gathered() for name in self._plans}
        self._value_bytes = 0
        self._words: dict[str, list[str]] = {}

    @property
    def held_bytes(self) -> int:
        postings = sum(len(g.terms) for g in self._gathered.values())
        return postings * POSTING_BYTES + self._value_bytes

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        pdw = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        extras = sorted(name for name in fields if name.startswith("_"))
        if extras:  # Whoosh's _boost, _<field>_boost, _stored_<field>: nothing here writes them
            raise TypeError(f"FastSegmentWriter takes field values only, not {', '.join(extras)}")
        names = sorted(fields)
        self._check_fields(schema, names)
        self._words.clear()
        self._forms.clear()
        if self.roots_field in fields:
            raise TypeError(f"field {self.roots_field!r}: the writer counts the roots itself")
        pdw.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    length = self._index(name, field, value, docnum)
                pdw.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    pdw.add_column_value(name, column, field.to_column_value(value))
            if self.roots_field is not None:
                exact = [self._forms.get(name, ({}, [])) for name in self.roots_from]
                forms = chain.from_iterable(f for f, _ in exact)
                found = forms_column(forms, chain.from_iterable(n for _, n in exact))
                pdw.add_column_value(self.roots_field, self.schema[self.roots_field].column_type, found)
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def commit(self, mergetype: Any = None, optimize: Any = None, merge: Any = None) -> None:
        """Add the new segment to the index as it is: merging segments rewrites their postings
        through Whoosh's pool, which this writer does not write (Whoosh's writer merges)."""
        if mergetype is not None or optimize or merge:
            raise TypeError("FastSegmentWriter never merges segments; Whoosh's own writer does")
        super().commit(merge=False)

    def add_reader(self, reader: Any) -> None:
        raise TypeError("FastSegmentWriter writes new documents only; Whoosh's own writer merges segments")

    def _written(self, text: str) -> list[str]:
        """A text's written words, found once per document however many fields index the text."""
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = written_words(text)
        return found

    def _index(self, name: str, field: Any, value: Any, docnum: int) -> int:
        """Gather one field's postings for a document; return its length (0 if not scorable)."""
        kind, analyzer = self._plans[name]
        gathered = self._gathered[name]
        if kind == "counts":
            if value.__class__ is not str:
                raise TypeError(f"field {name!r}: text expected, got {type(value).__name__}")
            forms = index_terms(self._written(value), analyzer.stem)  # type: ignore[union-attr]
            counts = Counter(forms)
            gathered.terms.extend(counts)
            gathered.weights.extend(counts.values())
            gathered.docs.extend(repeat(docnum, len(counts)))
            return len(forms) if field.scorable else 0
        if kind == "positions":
            if value.__class__ is not str:
                raise TypeError(f"field {name!r}: text expected, got {type(value).__name__}")
            places = _positions(index_slots(self._written(value), analyzer.stem))  # type: ignore[union-attr]
            freqs = list(map(len, places.values()))
            if name in self.roots_from:
                self._forms[name] = (places, freqs)
            encoded = list(map(_encode_positions, places.values()))
            gathered.terms.extend(places)
            gathered.weights.extend(freqs)
            gathered.docs.extend(repeat(docnum, len(places)))
            gathered.values.extend(encoded)  # type: ignore[union-attr]
            self._value_bytes += sum(map(len, encoded)) + 33 * len(encoded)
            return sum(freqs) if field.scorable else 0
        boost = self._whole_values.get(name)
        if boost is not None and value.__class__ is str:
            gathered.terms.append(value.encode("utf-8"))
            gathered.weights.append(boost)
            gathered.docs.append(docnum)
            gathered.values.append(b"")  # type: ignore[union-attr]
            self._value_bytes += 33
            return 0
        length = 0
        for tbytes, freq, weight, vbytes in field.index(value):
            if field.scorable:
                length += freq
            gathered.terms.append(tbytes)
            gathered.weights.append(weight)
            gathered.docs.append(docnum)
            gathered.values.append(vbytes)  # type: ignore[union-attr]
            self._value_bytes += len(vbytes or b"") + 33
        return length

    def _flush_segment(self) -> None:
        from search.backends.whoosh.store import _Lengths

        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            lengths = _Lengths(pdr, self.schema.scorable_names(), self.docnum)
            counts = _write_postings(
                self.fieldwriter, self.schema, self._plans, self._gathered, lengths, self.counted_field
            )
            self.term_counts = counts or {}
        finally:
            pdr.close()
        self._gathered = {}
        self.fieldwriter.close()


class _Gathered:
    """One field's postings in arrival (document) order, as flat lists."""

    __slots__ = ("terms", "docs", "weights", "values")

    def __init__(self) -> None:
        self.terms: list = []
        self.docs: list[int] = []
        self.weights: list = []  # frequencies (or Whoosh's weights for other fields)
        self.values: list[bytes] = []  # encoded values, where the format has no fixed size

    def grouped(self) -> tuple[list, list[int], list[int], list, list | None]:
        """The terms in sorted order, where each one's postings start and end, and the postings
        (document numbers, weights, values) in that order: each term's in document order."""
        n = len(self.terms)
        first: dict[Any, int] = {}
        ids = np.fromiter(map(first.setdefault, self.terms, count()), dtype=np.int64, count=n)
        ordered = sorted(first)
        rank = np.zeros(n, dtype=np.int64)
        rank[np.fromiter(map(first.__getitem__, ordered), dtype=np.int64, count=len(ordered))] = np.arange(
            len(ordered), dtype=np.int64
        )
        keys = rank[ids]
        order = np.argsort(keys, kind="stable").tolist()
        bounds = np.zeros(len(ordered) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=len(ordered)), out=bounds[1:])
        docs = list(map(self.docs.__getitem__, order))
        weights = list(map(self.weights.__getitem__, order))
        values = list(map(self.values.__getitem__, order)) if self.values else None
        self.terms = self.docs = self.weights = self.values = []  # released as the segment is written
        return ordered, bounds.tolist(), docs, weights, values


# The encoded value of a word seen once in a text, by its position: shared objects
# (most postings of a phrase field), made once. 0 turns the sharing off.
ONE_POSITION_CACHE = 100_000
_ONE_POSITION: dict[int, bytes] = {}


def _encode_positions(where: list[int]) -> bytes:
    """Whoosh's Positions.encode: the count, then the pickled gaps."""
    if len(where) == 1:
        pos = where[0]
        found = _ONE_POSITION.get(pos) if ONE_POSITION_CACHE else None
        if found is None:
            found = _UINT.pack(1) + dumps([pos], 2)
            if len(_ONE_POSITION) < ONE_POSITION_CACHE:
                _ONE_POSITION[pos] = found
        return found
    return _UINT.pack(len(where)) + dumps(list(map(sub, where, [0, *where[:-1]])), 2)


def _positions(slots: list[str | None]) -> dict[str, list[int]]:
    """Each kept term of a text with its positions (a stopword's slot is None)."""
    places: dict[str, list[int]] = {}
    get = places.get
    for pos, term in enumerate(slots):
        if term is not None:
            where = get(term)
            if where is None:
                places[term] = [pos]
            else:
                where.append(pos)
    return places


def _write_postings(
    fieldwriter: Any, schema: Any, plans: dict, gathered: dict, lengths: Any, counted: str | None = None
) -> dict[str, int] | None:
    """Write every field's terms, in the order and the format of ``W3FieldWriter.add_postings``;
    return the ``counted`` field's terms with their document counts."""
    counts: dict[str, int] | None = {} if counted else None
    postfile = fieldwriter._postfile
    fieldmap = fieldwriter._fieldmap
    base = postfile.tell()
    out = bytearray()
    terms = _TermTable(fieldwriter._tindex)
    for name in sorted(gathered):
        table = gathered[name]
        if not table.terms:
            continue
        fieldmap[name] = fieldid = len(fieldmap)
        prefix = _USHORT.pack(fieldid)
        kind = plans[name][0]
        fixed = schema[name].format.fixed_value_size()
        column = lengths._by_field.get(name)  # the field lengths as Whoosh reads them back
        length_bytes = None if column is None else list(map(_length_byte, column))
        keep = counts if name == counted else None
        ordered, bounds, docs, weights, values = table.grouped()
        fast = kind != "generic"
        for i, term in enumerate(ordered):
            a, b = bounds[i], bounds[i + 1]
            offset = base + len(out)
            info = _write_term(
                out, docs[a:b], weights[a:b], values[a:b] if values is not None else None, kind, fixed, length_bytes
            )
            if keep is not None:
                keep[term] = b - a
            extent = _LONG.pack(offset) + _INT.pack(base + len(out) - offset)
            terms.add(prefix + (term.encode("utf-8") if fast else term), info + extent)
            if len(out) > FLUSH_BYTES:
                postfile.write(bytes(out))
                base += len(out)
                out.clear()
        terms.flush()
    postfile.write(bytes(out))
    terms.flush()
    return counts


_BYTE_OF_LENGTH = [length_to_byte(n) for n in range(1 << 14)]


def _length_byte(length: int | None) -> int:
    """Whoosh's one-byte approximation of a field length (0 only for none: no posting counts it)."""
    if not length:
        return 0
    return _BYTE_OF_LENGTH[length] if length < 16384 else length_to_byte(length)


def _write_term(out: bytearray, ids: list, weights: list, values: list | None, kind: str, fixed: int | None,
                length_bytes: list[int] | None) -> bytes:
    """Append one term's blocks to ``out``; return its W3TermInfo bytes without the extent.

    Lengths are handled as Whoosh's bytes throughout: the byte of the shortest
    length is the shortest byte (the mapping is monotonic), and only a length
    of 0 (a field that is not scored) maps to byte 0, which Whoosh skips.
    """
    out += WHOOSH3_HEADER_MAGIC
    n = len(ids)
    total = 0.0
    max_weight = 0.0
    min_byte = 0
    max_byte = 0
    for start in range(0, n, BLOCK):
        stop = start + BLOCK if start + BLOCK < n else n
        count = stop - start
        block_ids = ids[start:stop] if n > BLOCK else ids
        block_weights = weights[start:stop] if n > BLOCK else weights
        if kind == "generic":
            rounded = array("f", block_weights)  # Whoosh keeps weights as float32
            total += sum(rounded)
            top = max(block_weights)
            if all(w == 1.0 for w in rounded):
                mini_weights = None
            elif all(w == rounded[0] for w in rounded):
                mini_weights = rounded[0]
            else:
                mini_weights = tuple(rounded)
            if fixed is None:
                mini_values = tuple(values[start:stop])  # type: ignore[index]
            elif fixed == 0:
                mini_values = None
            else:
                mini_values = b"".join(values[start:stop])  # type: ignore[index]
        elif count == 1:  # most terms of a segment: one posting
            top = block_weights[0]
            total += top
            mini_weights = None if top == 1 else float(top)
            mini_values = _UINT.pack(top) if kind == "counts" else (values[start],)  # type: ignore[index]
        else:  # frequencies: weight = frequency (field boost 1)
            total += sum(block_weights)
            top = max(block_weights)
            low = min(block_weights)
            mini_weights = None if top == 1 else (float(top) if low == top else tuple(map(float, block_weights)))
            if kind == "counts":
                mini_values = struct.pack(f"!{count}I", *block_weights)
            else:
                mini_values = tuple(values[start:stop])  # type: ignore[index]
        block_top = float(top) if top > 0 else 0
        if length_bytes is None:
            low_byte = high_byte = 0
        elif count == 1:
            low_byte = high_byte = length_bytes[block_ids[0]]
        else:
            scored = [b for b in map(length_bytes.__getitem__, block_ids) if b]
            low_byte, high_byte = (min(scored), max(scored)) if scored else (0, 0)
        deltas = tuple(map(sub, block_ids, [0, *block_ids[:-1]])) if count > 1 else (block_ids[0],)
        data = dumps((deltas, mini_weights, mini_values), DATA_PROTOCOL)
        if len(data) >= COMPRESS_FROM:
            data = _compress(data)
            info = dumps((count, block_ids[-1], block_top, 3, low_byte, high_byte), 2)
        else:
            info = dumps((count, block_ids[-1], block_top, 0, low_byte, high_byte), 2)
        size = len(info) + len(data)
        out += _INT.pack(-size if stop == n else size)
        out += info
        out += data
        if low_byte and (not min_byte or low_byte < min_byte):
            min_byte = low_byte
        if high_byte > max_byte:
            max_byte = high_byte
        if block_top > max_weight:
            max_weight = block_top
    return _INFO.pack(0, total, n, min_byte, max_byte, max_weight, ids[0], ids[-1])


def _compress(data: bytes) -> bytes:
    return zlib.compress(data, COMPRESS_LEVEL)


class _TermTable:
    """Adds entries to Whoosh's OrderedHashWriter as its ``add`` does, through one buffer."""

    def __init__(self, tindex: Any) -> None:
        self._tindex = tindex
        self._file = tindex.dbfile
        self._base = self._file.tell()
        self._out = bytearray()
        self._buckets = tindex.buckets
        self._positions = tindex.index

    def add(self, key: bytes, value: bytes) -> None:
        if key <= self._tindex.lastkey:
            raise ValueError(f"Keys must increase: {self._tindex.lastkey!r}..{key!r}")
        pos = self._base + len(self._out)
        self._positions.append(pos)
        out = self._out
        out += _KEY_VALUE_LENGTHS.pack(len(key), len(value))
        out += key
        out += value
        h = int.from_bytes(md5(key, usedforsecurity=False).digest()[-4:], "big")  # filetables.md5_hash
        self._buckets[h & 255].append((h, pos))
        self._tindex.lastkey = key

    def flush(self) -> None:
        self._file.write(bytes(self._out))
        self._base += len(self._out)
        self._out.clear()
