"""The scale-out backend: Xapian databases, one per shard, served by ``xapian-tcpsrv``.

``fields`` maps the logical fields to Xapian terms, values and document data;
``store`` builds shards in parallel into a generation and switches each
shard's stub file; ``servers`` starts and stops loopback shard servers;
``backend`` reads remote shards as one database (Xapian computes the global
term statistics, merges the top-k and counts facets across shards), reranks
the candidates with the engine's BM25F (:mod:`search.rerank`), reconnects, and
answers from the live shards when one is down. A reader never imports ``store``.

Needs Debian's ``xapian-tools`` and ``python3-xapian``; :func:`require` says so
in one line when they are missing.
"""

from __future__ import annotations

from types import ModuleType

from search.errors import IndexProblem

INSTALL_HINT = "apt-get install xapian-tools python3-xapian (and run .ci/run, which exposes the binding to .venv)"


def require() -> ModuleType:
    """The xapian module, or an IndexProblem naming what to install."""
    try:
        import xapian
    except ImportError as exc:
        raise IndexProblem(
            f"the xapian backend needs Xapian's Python binding: {INSTALL_HINT}",
            public="the search backend is not installed",
        ) from exc
    return xapian
