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
