"""Growth: how query time grows from 1x to ~4x the articles, Baheth beside Lucene in one run.

    python benchmarks/growth.py [--queries 100] [--rounds 3]

The speed issue's fifth goal: a query's cost should grow with the documents
that match, not with the archive. Collections, from scale.py: 1x is ANT
(31,525 articles); 4x is 126,100 articles, ANT + JawharaFM repeated under new
ids with dates a year back per copy (the same words, so every query matches
about four times as many articles).

Baheth: indexes built by scale.py's builder (cached in results/work/growth/),
searched in this process, top 10, without snippets (what Lucene returns: ids)
and with them; the two sizes alternate query set by query set within each of
``--rounds`` rounds. Lucene 8 ArabicAnalyzer + BM25 (benchmarks/peers) indexes
and searches each collection in its own JVM (warm-up passes first), top 10,
each query timed inside the JVM. Goal: for each query set, Baheth's p50 grows
by at most Lucene's factor x 1.5. Writes results/growth.md and growth.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import common
import scale
from common import RESULTS, WORK, log

SCALES = (1, 4)
SETS = ("1 word", "3 words", "headline")
MODES = {"no snippets": {"snippets": False}, "snippets": {"snippets": True}}
GOAL = 1.5  # Baheth's growth may be at most Lucene's times this


def our_index(size: int) -> Path:
    root = WORK / "growth" / f"baheth-x{size}"
    if not (root / "CURRENT").exists():
        scale.build("whoosh", size, root)
    return root


def lucene(size: int, sets: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Lucene's per-set latency on one collection, from a fresh child process (its own peak memory)."""
    topics = [(f"{name}-{i}", q) for name in SETS for i, q in enumerate(sets[name])]
    topics_path = common.write_topics(topics, WORK / "growth" / "queries.tsv")
    jsonl = common.Collection(f"growth-x{size}", scale.documents(size), topics_path, topics_path, "").jsonl()
    out = WORK / "growth" / f"lucene-x{size}.json"
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_lucene", str(jsonl), str(topics_path), str(out)],
        check=True,
        close_fds=True,
    )
    raw = json.loads(out.read_text())
    found, i = {}, 0
    for name in SETS:
        found[name] = scale.percentiles(raw["raw"][i : i + len(sets[name])])
        i += len(sets[name])
    found["docs"] = raw["docs"]
    return found


def _child_lucene(jsonl: str, topics: str, out: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
    import peers

    common.setup_logging()
    keep = peers.latency_summary
    peers.latency_summary = lambda lat: {**keep(lat), "raw": list(lat)}
    stats = peers.run_lucene_arabic(Path(jsonl), Path(topics), Path(out).with_suffix(".run"), WORK / "peers", limit=10)
    Path(out).write_text(json.dumps({"raw": stats["latency_ms"]["raw"], "docs": stats["docs"]}))


def ours(roots: dict[int, Path], sets: dict[str, list[str]], rounds: int) -> dict[str, dict[int, dict[str, dict]]]:
    from search.engine import Engine

    engines = {size: Engine(root) for size, root in roots.items()}
    for engine in engines.values():  # open, read the columns, fill the caches
        for name in SETS:
            for q in sets[name]:
                engine.search(q, per_page=10, snippets=True, facets=False, suggest=False)
    times: dict[str, dict[int, dict[str, list[float]]]] = {
        mode: {size: {name: [] for name in SETS} for size in roots} for mode in MODES
    }
    for round_no in range(rounds):
        for name in SETS:
            for mode, kwargs in MODES.items():
                order = list(roots) if round_no % 2 == 0 else list(reversed(roots))
                for size in order:
                    for q in sets[name]:
                        started = time.perf_counter_ns()
                        engines[size].search(q, per_page=10, facets=False, suggest=False, **kwargs)
                        times[mode][size][name].append((time.perf_counter_ns() - started) / 1e6)
    docs = {size: engine.snapshot().doc_count() for size, engine in engines.items()}
    return {
        "docs": docs,
        "latency": {
            mode: {
                size: {name: scale.percentiles(ms) for name, ms in by_set.items()} for size, by_set in by_size.items()
            }
            for mode, by_size in times.items()
        },
    }


def write_report(out: dict) -> None:
    (RESULTS / "growth.json").write_text(json.dumps(out, ensure_ascii=False, indent=1))
    lines = [
        "# Growth: query time from 1x to ~4x the articles, beside Lucene",
        "",
        f"Produced by `{out['command']}` on {out['when']} ({out['minutes']} min), {os.cpu_count()} cores (load average "
        f"{out['load_start']} at the start, {out['load_end']} at the end), Python {platform.python_version()}. "
        "How it is measured: the docstring of benchmarks/growth.py.",
        "",
        f"Articles: 1x {out['docs'][1]:,}, 4x {out['docs'][4]:,} (Lucene indexed {out['lucene'][1]['docs']:,} and "
        f"{out['lucene'][4]['docs']:,}).",
        "",
        "| queries | Lucene p50 1x / 4x (ms) | Lucene growth | Baheth mode | Baheth p50 1x / 4x (ms) | Baheth p95 1x / 4x (ms) "
        "| Baheth growth (p50) | goal: ≤ Lucene's x 1.5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for name in SETS:
        l1, l4 = out["lucene"][1][name]["p50"], out["lucene"][4][name]["p50"]
        lucene_growth = l4 / l1
        for mode in MODES:
            o1, o4 = (out["ours"]["latency"][mode][size][name] for size in SCALES)
            growth = o4["p50"] / o1["p50"]
            met = growth <= lucene_growth * GOAL
            verdicts.append(met)
            lines.append(
                f"| {name} ({o1['n']}) | {l1} / {l4} | x{lucene_growth:.2f} | {mode} | {o1['p50']} / {o4['p50']} | "
                f"{o1['p95']} / {o4['p95']} | x{growth:.2f} | {'met' if met else 'not met'} (≤ x{lucene_growth * GOAL:.2f}) |"
            )
    lines += [
        "",
        f"Goal (issue #11, 5): Baheth's p50 grows by at most Lucene's factor plus 50%: "
        f"**{'met' if all(verdicts) else 'not met'}** in {sum(verdicts)} of {len(verdicts)} rows. Baheth's percentiles "
        f"pool {out['rounds']} rounds; Lucene's are one timed pass after its warm-up passes. Lucene returns ids only: "
        "compare it with the 'no snippets' rows.",
        "",
    ]
    (RESULTS / "growth.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_lucene":
        _child_lucene(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100, help="queries per set")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    common.setup_logging()
    started, load_start = time.monotonic(), os.getloadavg()[0]
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    all_sets = scale.query_sets(args.queries)
    sets = {name: all_sets[name] for name in SETS}
    roots = {size: our_index(size) for size in SCALES}
    measured_ours = ours(roots, sets, args.rounds)
    measured_lucene = {size: lucene(size, sets) for size in SCALES}
    write_report(
        {
            "command": "python benchmarks/growth.py" + "".join(f" {a}" for a in sys.argv[1:]),
            "when": when,
            "minutes": round((time.monotonic() - started) / 60, 1),
            "load_start": round(load_start, 1),
            "load_end": round(os.getloadavg()[0], 1),
            "rounds": args.rounds,
            "docs": measured_ours["docs"],
            "ours": measured_ours,
            "lucene": measured_lucene,
        }
    )
    log.info("wrote %s", RESULTS / "growth.md")


if __name__ == "__main__":
    main()
