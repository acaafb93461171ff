"""The whole real corpus: every document is indexed or reported (slow: a few minutes)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest

from conftest import ANT, require_corpus
from search.backends.whoosh.generations import open_index
from search.backends.whoosh.store import build
from search.ingest import load_sources

pytestmark = pytest.mark.corpus


def test_every_ant_document_is_indexed_or_reported(tmp_path: Path) -> None:
    corpus = require_corpus(ANT)
    # Count the documents independently of the loader: one <DOC> per member file.
    with tarfile.open(corpus) as tar:
        expected = 0
        for member in tar:
            if member.isfile() and member.name.endswith(".txt"):
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                expected += max(1, len(re.findall(rb"<DOC>", data, re.I)))
    assert expected == 31_525

    loaded = load_sources([corpus])
    report = build(tmp_path, loaded, [str(corpus)], procs=2)
    skipped = sum(report.skipped.values())
    assert report.read == expected
    assert report.indexed + skipped + report.replaced == expected
    assert report.indexed > 31_000
    ix, _ = open_index(tmp_path)
    assert ix.doc_count() == report.indexed
    with ix.searcher() as searcher:
        for doc in loaded.documents[::997]:
            assert searcher.document_number(id=doc.id) is not None, doc.id


def test_every_jawharafm_article_with_a_date_in_its_record_is_dated() -> None:
    """Half of JawharaFM writes <TIME> as DD/MM/YYYY; the rest of its ids end in YYYYMMDD.
    Counted independently: every record whose <TIME> or DOCNO holds a date gets one, and
    where both do they agree."""
    from conftest import JAWHARA
    from search.ingest import date_in_id

    corpus = require_corpus(JAWHARA)
    with tarfile.open(corpus) as tar:
        times = {}
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
                for docno, time in re.findall(r"<DOCNO>(.*?)</DOCNO>.*?<TIME>(.*?)</TIME>", data, re.S):
                    times[docno.strip()] = time.strip()
    day_first = sum(1 for t in times.values() if re.fullmatch(r"\d{2}/\d{2}/\d{4}", t))
    assert day_first > 5000  # the format this test is about is really there
    loaded = load_sources([corpus])
    dated = {d.id: d.date for d in loaded.documents}
    with_a_date = [i for i, t in times.items() if re.search(r"\d{4}", t) or date_in_id(i)]
    assert with_a_date and all(dated.get(i) is not None for i in with_a_date if i in dated)
    assert sum(1 for d in loaded.documents if d.date is None) == 0
    for doc in loaded.documents:
        from_id = date_in_id(doc.id)
        assert from_id is None or doc.date is None or from_id.date() == doc.date.date(), doc.id
