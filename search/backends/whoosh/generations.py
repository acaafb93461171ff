"""Where a Whoosh index lives on disk, and how a reader opens the live generation.

Layout of an index folder::

    index_data/
      CURRENT          the name of the live generation (replaced atomically)
      gen-<stamp>/     a complete Whoosh index, plus baheth.json (what was built)
                       and vocabulary.tsv (the words «هل تقصد» may offer)
      .build-<stamp>/  a generation being built; abandoned ones are removed
      .lock            held by the one writer at a time

A reindex builds a new generation in a ``.build-*`` folder and, only when it
is complete, renames it to ``gen-*`` and replaces ``CURRENT``. Whoever opens
the index at any moment reads ``CURRENT`` and gets the old or the new
generation, never a half-built one. This module only reads; the writer is
:mod:`search.backends.whoosh.store`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import Index

from search.errors import IndexMissing, IndexProblem

CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
META_FILE = "baheth.json"
GENERATION_PREFIX = "gen-"
BUILD_PREFIX = ".build-"


def current_generation(root: Path) -> Path | None:
    """The live generation's folder, or None when no index was ever built."""
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, unreadable, not UTF-8
        raise IndexProblem(
            f"{root / CURRENT_FILE} cannot be read ({exc}): rebuild the index with `baheth reindex`",
            public="the search index is damaged and needs to be rebuilt",
        ) from exc
    if not name.startswith(GENERATION_PREFIX) or "/" in name or "\0" in name or len(name) > 200:
        raise IndexProblem(
            f"{root / CURRENT_FILE} is damaged: it names {name[:80]!r}",
            public="the search index is damaged and needs to be rebuilt",
        )
    return root / name


def open_index(root: Path) -> tuple[Index, Path]:
    """Open the live generation. The one function that opens an index for reading."""
    for _attempt in range(3):
        gen = current_generation(root)
        if gen is None:
            raise IndexMissing(f"no index at {root}: build one with `baheth reindex`")
        try:
            return whoosh_index.open_dir(str(gen)), gen
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


def read_meta(gen: Path) -> dict[str, object]:
    try:
        meta = json.loads((gen / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, unreadable, not UTF-8, not JSON
        return {}
    return meta if isinstance(meta, dict) else {}
