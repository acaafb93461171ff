"""Where an index lives on disk, for every backend, and how a reader finds the live generation.

Layout of an index folder::

    index_data/
      CURRENT          the name of the live generation (replaced atomically)
      gen-<stamp>/     a complete index (Whoosh files, or one Xapian database per shard),
                       plus baheth.json (what was built)
                       and vocabulary.tsv (the words «هل تقصد» may offer)
      .build-<stamp>/  a generation being built; abandoned ones are removed
      .lock            held by the one writer at a time

A reindex builds a new generation in a ``.build-*`` folder and, only when it
is complete, renames it to ``gen-*`` and replaces ``CURRENT``. Whoever opens
the index at any moment reads ``CURRENT`` and gets the old or the new
generation, never a half-built one. This module only reads; what writers
share is :mod:`search.backends.writing`.
"""

from __future__ import annotations

import json
from pathlib import Path

from search.errors import IndexProblem

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


def read_meta(gen: Path) -> dict[str, object]:
    try:
        meta = json.loads((gen / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, unreadable, not UTF-8, not JSON
        return {}
    return meta if isinstance(meta, dict) else {}
