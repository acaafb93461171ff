"""The stores an index can live in, behind one seam (:mod:`search.backends.base`).

``whoosh`` (embedded, the default) and ``xapian`` (shards served by
``xapian-tcpsrv``, for archives that outgrow one machine); each backend is a
package of its own here, with a read side and a writer.
"""

from __future__ import annotations

import logging
from pathlib import Path

from search.backends.base import Backend, Writer
from search.errors import IndexProblem
from search.settings import Config

log = logging.getLogger(__name__)


def open_backend(config: Config, bm25: tuple[float, float] = (0.75, 1.2)) -> Backend:
    """The read side of the index ``config`` names."""
    if config.backend == "xapian":
        from search.backends.xapian.backend import XapianBackend, parse_shards
        from search.backends.xapian.servers import SERVERS_FILE, addresses, dead

        root = Path(config.index)
        # No shards setting: the servers `baheth shards start` recorded, followed when they change.
        shards, servers = (config.shards, None) if config.shards else (addresses(root), root)
        if not shards:
            raise IndexProblem(
                f"no shard servers: pass --shards host:port,… or start them with `baheth shards start --index {config.index}`",
                public="the search index's servers are not configured",
            )
        if servers is not None:
            for line in dead(root):
                log.warning("%s", line)
        try:
            parsed = parse_shards(shards)
        except ValueError as exc:  # the setting is checked with the others: this is the servers' record
            raise IndexProblem(f"the shard servers recorded in {root / SERVERS_FILE} cannot be read: {exc}; "
                               f"run `baheth shards start --index {config.index}` again") from None
        return XapianBackend(
            parsed, bm25, rerank_depth=config.rerank_depth, timeout=config.shard_timeout, servers=servers
        )
    from search.backends.whoosh.backend import WhooshBackend

    return WhooshBackend(config.index, bm25, postings_cache_bytes=config.postings_cache_mb * 1024 * 1024)  # 0: from the index's size


def open_writer(config: Config) -> Writer:
    """The writer of the index ``config`` names."""
    if config.backend == "xapian":
        from search.backends.xapian.store import XapianWriter

        return XapianWriter(Path(config.index), shards=config.shard_count)
    from search.backends.whoosh.store import WhooshWriter

    return WhooshWriter(Path(config.index), procs=config.procs, memory_mb=config.memory_mb)
