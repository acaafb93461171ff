"""Query latency of two checkouts of the engine on one index, interleaved: before and after a change.

    git worktree add /work/before <commit>
    python benchmarks/compare.py --before /work/before [--index DIR] [--rounds 3] [--queries 200] [--name NAME]

Each round runs each checkout once, in a fresh process whose `search` package is
that checkout's, the order alternating from round to round (this machine is
shared and noisy: only ratios within one run mean something). Both read the
same index, built by this checkout (an older engine ignores fields it does not
know). The query sets are speed.py's: 1, 2 and 3 words cut from ANT headlines,
and whole headlines. Modes: without snippets, with snippets, and the web page's
search (snippets, facets, timeline, suggestions, and story groups collapsed
where the checkout has them). Writes results/compare.md and compare.json:
p50/p95 per checkout as the median over rounds, and after ÷ before.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = {
    "no snippets": {"snippets": False, "facets": False, "suggest": False},
    "snippets": {"snippets": True, "facets": False, "suggest": False},
    "web page": {"snippets": True, "facets": True, "suggest": True, "collapse": True},
}


def _child(tree: str, index: str, sets_path: str, out_path: str) -> None:
    """In a fresh process: this checkout's engine, every mode over every set."""
    assert "search" not in sys.modules, "the child must import the engine of its own checkout"
    sys.path.insert(0, tree)
    import search
    from search.engine import Engine

    assert Path(search.__file__).resolve().is_relative_to(Path(tree).resolve()), search.__file__

    known = inspect.signature(Engine.search).parameters
    engine = Engine(Path(index))
    sets = json.loads(Path(sets_path).read_text(encoding="utf-8"))
    for queries in sets.values():  # warm-up: open the index, fill the caches
        for q in queries:
            engine.search(q, per_page=10, **{k: v for k, v in MODES["web page"].items() if k in known})
    out: dict[str, dict[str, list[float]]] = {}
    for mode, kwargs in MODES.items():
        usable = {k: v for k, v in kwargs.items() if k in known}
        out[mode] = {}
        for name, queries in sets.items():
            ms = []
            for q in queries:
                started = time.perf_counter_ns()
                engine.search(q, per_page=10, **usable)
                ms.append((time.perf_counter_ns() - started) / 1e6)
            out[mode][name] = ms
    found = {"collapse": "collapse" in known, "engine": str(Path(search.__file__).parent), "ms": out}
    Path(out_path).write_text(json.dumps(found), encoding="utf-8")


def _percentiles(ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return q[49], q[94]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(*sys.argv[2:6])
        return
    import common  # puts this checkout on sys.path: only here, never in a child
    from common import RESULTS, WORK, log

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, type=Path, help="a checkout of the older engine")
    ap.add_argument("--after", type=Path, default=HERE.parent, help="a checkout of the newer one (default: this one)")
    ap.add_argument("--index", type=Path, default=WORK / "speed" / "baheth-31.5k", help="built by --after")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=200, help="queries per set")
    ap.add_argument("--name", default="compare", help="results/NAME.md and NAME.json")
    args = ap.parse_args()
    common.setup_logging()
    import speed

    sets = speed.query_sets(args.queries)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        sets_path = Path(tmp) / "sets.json"
        sets_path.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
        for round_ in range(args.rounds):
            order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
            for which in order:
                out = Path(tmp) / f"{which}-{round_}.json"
                log.info("round %d: %s (%s)", round_ + 1, which, trees[which])
                env = {**os.environ, "PYTHONPATH": ""}
                subprocess.run(
                    [sys.executable, __file__, "_child", str(trees[which]), str(args.index), str(sets_path), str(out)],
                    check=True, env=env,
                )
                runs[which].append(json.loads(out.read_text()))
    table: dict[str, dict[str, dict[str, float]]] = {}
    for mode in MODES:
        table[mode] = {}
        for name in sets:
            row: dict[str, float] = {}
            for which in runs:
                p50s, p95s = zip(*(_percentiles(r["ms"][mode][name]) for r in runs[which]), strict=True)
                row[f"{which} p50"], row[f"{which} p95"] = statistics.median(p50s), statistics.median(p95s)
            row["p50 ratio"] = row["after p50"] / row["before p50"]
            row["p95 ratio"] = row["after p95"] / row["before p95"]
            table[mode][name] = {k: round(v, 3) for k, v in row.items()}
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "minutes": round((time.time() - started) / 60, 1),
        "before": str(trees["before"]), "after": str(trees["after"]), "index": str(args.index),
        "rounds": args.rounds, "queries": args.queries, "collapse": {w: runs[w][0]["collapse"] for w in runs},
        "engines": {w: runs[w][0]["engine"] for w in runs},
        "table": table, "load_average": os.getloadavg(),
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    lines = [
        "# Before and after: query latency of two checkouts on one index",
        "",
        f"Produced by `python benchmarks/compare.py --before {trees['before']} --index {args.index} "
        f"--rounds {args.rounds} --name {args.name}` on "
        f"{result['date']} ({result['minutes']} min), {os.cpu_count()} cores. Index: {args.index} "
        f"(31,525 ANT articles with titles, built by the 'after' checkout). Each cell: the median over "
        f"{args.rounds} interleaved rounds of each round's percentile, {args.queries} queries per set, top 10. "
        "'web page' is the page's search: snippets, facets, timeline, suggestions, and one result per story "
        f"group where the checkout has groups (before: {result['collapse']['before']}, after: "
        f"{result['collapse']['after']}).",
        "",
        "| mode | queries | before p50 / p95 ms | after p50 / p95 ms | after ÷ before p50 | after ÷ before p95 |",
        "|---|---|---|---|---|---|",
    ]
    for mode, rows in table.items():
        for name, r in rows.items():
            lines.append(
                f"| {mode} | {name} | {r['before p50']:.2f} / {r['before p95']:.2f} | {r['after p50']:.2f} / "
                f"{r['after p95']:.2f} | {r['p50 ratio']:.2f}× | {r['p95 ratio']:.2f}× |"
            )
    worst = max(r["p95 ratio"] for rows in table.values() for r in rows.values())
    lines += ["", f"Largest p95 ratio: {worst:.2f}× (issue #13's bound for grouping and the timeline: 1.20×)."]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s", RESULTS / f"{args.name}.md")


if __name__ == "__main__":
    main()
