"""The Whoosh schema: which fields are indexed how, and a Document as Whoosh fields.

The logical fields of :mod:`search.querytree` are the schema's field names.
"""

from __future__ import annotations

from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, STORED, TEXT, Schema

from search.analysis import exact_analyzer, stem_analyzer
from search.backends.base import local_time
from search.grouping import key_of
from search.ingest import Document

# A column of the root id of each of an article's distinct forms, with the form's frequency
# (search.roots.forms_column), written by the index writers (not among to_fields' values): the
# roots rerank reads it.
ROOTS = "roots"
ROOTS_FROM = ("title_exact", "body_exact")  # the fields whose normalised forms it counts


def make_schema() -> Schema:
    """Stemmed fields for recall, exact (normalised, unstemmed) fields for precision and phrases."""
    stem = stem_analyzer()
    exact = exact_analyzer()
    date = DATETIME(sortable=True)
    # The engine reads dates from the column only (filters, sorts, the timeline). Whoosh
    # also indexes 8 "tiered" terms per date for its own range queries, which nothing
    # here asks: 17% of a segment's terms on ANT. One exact term per date is enough.
    date.shift_step = 0
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=stem, stored=True, phrase=False),
        body=TEXT(analyzer=stem, stored=True, phrase=False),
        title_exact=TEXT(analyzer=exact, phrase=True),
        body_exact=TEXT(analyzer=exact, phrase=True),
        lead=TEXT(analyzer=stem, phrase=False),  # derived from the body: not stored
        url=STORED,
        source=ID(stored=True, sortable=True),
        category=ID(stored=True, sortable=True),
        author=STORED,
        date=date,
        date_iso=STORED,
        group=ID(stored=True, sortable=True),  # the story group's key (search.grouping)
        roots=COLUMN(VarBytesColumn()),  # see ROOTS
    )


def to_fields(doc: Document) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "title_exact": doc.title,
        "body_exact": doc.body,
        "lead": doc.lead,
        "url": doc.url,
        "source": doc.source,
        "category": doc.category,
        "author": doc.author,
        "date_iso": doc.date.isoformat() if doc.date else "",
        "group": doc.group or key_of(doc.id),
    }
    if doc.date is not None:
        try:
            # The date and time as the article was published, in its own zone: the day shown is the
            # day the date filter, the timeline and the date order go by (search.timeline).
            fields["date"] = local_time(doc.date)
        except (OverflowError, ValueError):  # the loader reports such dates; never abort a build on one
            fields["date_iso"] = ""
    return fields
