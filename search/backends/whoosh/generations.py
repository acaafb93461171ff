"""How a reader opens the live Whoosh generation (the layout is :mod:`search.backends.generations`)."""

from __future__ import annotations

import time
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import FileIndex, Index

from search.backends.generations import current_generation
from search.backends.whoosh.mapped import MappedStorage
from search.errors import IndexMissing, IndexProblem


def open_index(root: Path) -> tuple[Index, Path]:
    """Open the live generation. The one function that opens an index for reading.

    Its segments are read through the process's shared maps (:mod:`.mapped`):
    every searcher of every thread reads the same pages, none copies them.
    """
    for _attempt in range(3):
        gen = current_generation(root)
        if gen is None:
            raise IndexMissing(f"no index at {root}: build one with `baheth reindex`")
        try:
            return FileIndex(MappedStorage(str(gen)), indexname=whoosh_index._DEF_INDEX_NAME), gen
        except (FileNotFoundError, whoosh_index.EmptyIndexError):
            # CURRENT moved on while we opened the old generation; read it again.
            time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - Whoosh raises many kinds on a damaged folder
            raise IndexProblem(
                f"the index at {gen} is damaged ({type(exc).__name__}: {exc}): rebuild it with `baheth reindex`",
                public="the search index is damaged and needs to be rebuilt",
            ) from exc
    raise IndexProblem(
        f"the index at {root} could not be opened: rebuild it with `baheth reindex`",
        public="the search index is damaged and needs to be rebuilt",
    )
