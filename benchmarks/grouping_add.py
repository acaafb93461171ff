"""Story groups kept by `baheth add` against those a reindex finds (results/grouping-add.md).

    python benchmarks/grouping_add.py [--added 3000] [--seed 7]

Issue #13 asks that grouping be updated by `add` as well as by reindex. A reindex
compares candidate pairs over the whole collection; `add` compares each new article
with the indexed articles most like it (its key terms) and with the other new ones.
This measures what that costs in copies found: ANT's 31.5k articles are split at
random (fixed seed) into an index of all but ``--added`` of them, to which the rest
are then added with the engine's add, and a reindex of all of them. Every pair of
articles sharing a group in either index, one of them added, is counted: found by
both, by the add path only, or by the reindex only.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import tempfile
import time
from pathlib import Path

import common

from search.backends.whoosh.store import add, build
from search.ingest import LoadResult, load_sources


def grouped_pairs(root: Path, added: set[str]) -> set[tuple[str, str]]:
    """Pairs of articles in one story group, one of them added."""
    from whoosh import index

    live = sorted(p for p in root.iterdir() if p.name.startswith("gen-"))[-1]
    members: dict[str, list[str]] = collections.defaultdict(list)
    with index.open_dir(str(live)).searcher() as searcher:
        for fields in searcher.all_stored_fields():
            members[fields.get("group") or fields["id"]].append(fields["id"])
    return {(a, b) for ids in members.values() for a in ids for b in ids if a < b and (a in added or b in added)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--added", type=int, default=3000, help="articles added after the first build")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not common.CORPUS.exists():
        raise SystemExit(f"grouping_add.py: the shared corpus is absent: {common.CORPUS} not found")
    docs = load_sources([common.CORPUS]).documents
    order = list(range(len(docs)))
    random.Random(args.seed).shuffle(order)
    later = set(order[: args.added])
    first = [d for i, d in enumerate(docs) if i not in later]
    rest = [d for i, d in enumerate(docs) if i in later]
    added_ids = {d.id for d in rest}
    with tempfile.TemporaryDirectory() as tmp:
        grown, whole = Path(tmp) / "grown", Path(tmp) / "whole"
        build(grown, LoadResult(documents=first), ["split"], procs=2)
        started = time.perf_counter()
        report = add(grown, LoadResult(documents=rest))
        add_seconds = time.perf_counter() - started
        build(whole, LoadResult(documents=list(docs)), ["all"], procs=2)
        by_add, by_reindex = grouped_pairs(grown, added_ids), grouped_pairs(whole, added_ids)
    result = {"documents": len(docs), "added": len(rest), "seed": args.seed, "add_seconds": round(add_seconds, 1),
              "joined": report.grouped, "both": len(by_add & by_reindex), "add_only": len(by_add - by_reindex),
              "reindex_only": len(by_reindex - by_add), "examples_reindex_only": sorted(by_reindex - by_add)[:10],
              "examples_add_only": sorted(by_add - by_reindex)[:10]}
    lines = [
        "# Story groups kept by `baheth add`, against a reindex",
        "",
        f"Produced by `python benchmarks/grouping_add.py --added {args.added} --seed {args.seed}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}. What is measured: the docstring of benchmarks/grouping_add.py.",
        "",
        "| articles | added | pairs with an added article grouped by both | by add only | by reindex only "
        "| add's share of the reindex's pairs | add, seconds |",
        "|---|---|---|---|---|---|---|",
        f"| {len(docs):,} | {len(rest):,} | {result['both']:,} | {result['add_only']:,} | {result['reindex_only']:,} "
        f"| {result['both'] / max(1, len(by_reindex)):.3f} | {result['add_seconds']} |",
        "",
        f"Pairs the reindex groups and the add does not (first ten): {result['examples_reindex_only']}",
        "",
        f"Pairs the add groups and the reindex does not (first ten): {result['examples_add_only']}",
    ]
    (common.RESULTS / "grouping-add.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (common.RESULTS / "grouping-add.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if not k.startswith("examples")}))


if __name__ == "__main__":
    main()
