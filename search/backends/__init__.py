"""The stores an index can live in, behind one seam (:mod:`search.backends.base`).

``whoosh`` (embedded, the default) is the only one so far; each backend is a
package of its own here, with a read side and a writer.
"""

from __future__ import annotations

from pathlib import Path

from search.backends.base import Backend, Writer
from search.settings import Config


def open_backend(config: Config, bm25: tuple[float, float] = (0.75, 1.2)) -> Backend:
    """The read side of the index ``config`` names."""
    from search.backends.whoosh.backend import WhooshBackend

    return WhooshBackend(config.index, bm25, postings_cache_bytes=config.postings_cache_mb * 1024 * 1024)


def open_writer(config: Config) -> Writer:
    """The writer of the index ``config`` names."""
    from search.backends.whoosh.store import WhooshWriter

    return WhooshWriter(Path(config.index), procs=config.procs, memory_mb=config.memory_mb)
