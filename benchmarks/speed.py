"""Speed: indexing, query latency and analyser throughput, the engine next to its peers.

    python benchmarks/speed.py [--skip-peers] [--queries N]

Writes results/speed.md and results/speed.json. Each index is built in a child
process so its time and peak memory are its own; everything runs one after the
other (the machine has two cores, and the engine's build uses both).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common
from common import RESULTS, WORK, log

from search.settings import SETTINGS  # noqa: E402 (common puts the project on the path)

SIZES = {"10k": 10_000, "31.5k": None}  # None: the whole ANT corpus (31,525 articles)
QUERY_SETS = ("1 word", "2 words", "3 words", "headline")
MODES = {  # name -> Engine.search keyword arguments
    "no snippets": {"snippets": False, "facets": False, "suggest": False},
    "snippets": {"snippets": True, "facets": False, "suggest": False},
    "web page (snippets, facets, suggestions, story groups)": {
        "snippets": True, "facets": True, "suggest": True, "collapse": True,
    },
}


# --- Building, in a child process ------------------------------------------------------


OURS = "baheth (segments written in parallel, procs=2)"
PLAIN = "plain Whoosh writer, same analyser (procs=1)"
OUR_POOL_MB = 2 * SETTINGS["memory_mb"].default  # our two processes' posting pools together
PLAIN_SAME_MEMORY = f"plain Whoosh writer, same analyser, our pool memory (procs=1, limitmb={OUR_POOL_MB})"
REINDEX_ROWS = {"baheth": OURS, "plain": PLAIN, f"plain-{OUR_POOL_MB}": PLAIN_SAME_MEMORY}


def _docs(size: str) -> list:
    n = SIZES[size]
    return common.ant_documents() if n is None else common.ant_subset(n)


def _child_build(mode: str, size: str, dest: str) -> None:
    """Build one index and print its figures (run as `speed.py _build MODE SIZE DEST`)."""
    from search.backends.whoosh import schema, store
    from search.ingest import LoadResult

    docs = _docs(size)
    text_bytes = sum(len(d.title.encode()) + len(d.body.encode()) for d in docs)
    root = Path(dest)
    shutil.rmtree(root, ignore_errors=True)
    extra: dict[str, float] = {}
    if hasattr(store, "_write_vocabulary"):  # time the spelling vocabulary apart from the writer
        write_vocabulary = store._write_vocabulary

        def timed_vocabulary(*a: object, **k: object) -> object:
            t0 = time.perf_counter()
            try:
                return write_vocabulary(*a, **k)
            finally:
                extra["vocabulary_seconds"] = round(time.perf_counter() - t0, 2)

        store._write_vocabulary = timed_vocabulary
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    started = time.perf_counter()
    if mode == "baheth":
        store.build(root, LoadResult(documents=docs), ["ant"], procs=2)
    else:  # a plain single-process Whoosh writer, the same schema and analysers
        from whoosh import index as whoosh_index

        root.mkdir(parents=True)
        ix = whoosh_index.create_in(str(root), schema.make_schema())
        # "plain": Whoosh's defaults (a 128 MB pool); "plain-N": a pool of N MB
        writer = ix.writer() if mode == "plain" else ix.writer(limitmb=int(mode.split("-")[1]))
        for doc in docs:
            writer.add_document(**schema.to_fields(doc))
        writer.commit()
    seconds = time.perf_counter() - started
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime - cpu_before
    size_bytes = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(json.dumps({
        "docs": len(docs), "seconds": round(seconds, 2), "docs_per_s": round(len(docs) / seconds, 1),
        "mb_per_s": round(text_bytes / 1e6 / seconds, 3), "input_text_mb": round(text_bytes / 1e6, 1),
        "index_mb": round(size_bytes / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "cpu_seconds": round(cpu, 1), "load_average_after": os.getloadavg()[0], **extra,
    }))


def build(mode: str, size: str, dest: Path) -> dict[str, object]:
    log.info("indexing ANT %s with %s...", size, mode)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_build", mode, size, str(dest)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    stats = json.loads(out.strip().splitlines()[-1])
    log.info("  %s", stats)
    return stats


def reindex_rounds(repeat: int, ours_first_round: dict | None = None) -> dict[str, dict[str, object]]:
    """Build ANT 31.5k with each writer, `repeat` rounds interleaved (the machine's load
    drifts: each round measures every writer within minutes); each row keeps its
    median round and lists every round's docs/s."""
    dest = WORK / "speed" / "reindex-31.5k"
    runs: dict[str, list[dict[str, object]]] = {mode: [] for mode in REINDEX_ROWS}
    for round_ in range(repeat):
        for mode in REINDEX_ROWS:
            if mode == "baheth" and round_ == 0 and ours_first_round is not None:
                runs[mode].append(ours_first_round)  # the full run's own build counts as round one
                continue
            runs[mode].append(build(mode, "31.5k", dest))
    shutil.rmtree(dest, ignore_errors=True)
    rows = {}
    for mode, label in REINDEX_ROWS.items():
        ordered = sorted(runs[mode], key=lambda r: r["docs_per_s"])
        rows[label] = {**ordered[len(ordered) // 2], "rounds_docs_per_s": [r["docs_per_s"] for r in runs[mode]]}
    return rows


# --- Queries ------------------------------------------------------------------------


def query_sets(per_set: int) -> dict[str, list[str]]:
    """1-, 2- and 3-word queries cut from ANT headlines, and whole headlines (other ones)."""
    from search.analysis import terms

    headlines = [t for _, t in common.read_tsv_topics(common.EVAL / "ant-known-item.tsv")]
    sets: dict[str, list[str]] = {name: [] for name in QUERY_SETS}
    for text in headlines[:per_set]:
        words = [w for w in text.split() if w.isalpha() and terms(w)]
        for n, name in ((1, "1 word"), (2, "2 words"), (3, "3 words")):
            if len(words) >= n:
                sets[name].append(" ".join(words[:n]))
    sets["headline"] = headlines[per_set : 2 * per_set]
    return sets


def percentiles(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(q[49], 2), "p95": round(q[94], 2), "mean": round(statistics.fmean(ms), 2), "n": len(ms)}


def our_latency(root: Path, sets: dict[str, list[str]]) -> dict[str, dict[str, dict[str, float]]]:
    from search.engine import Engine

    engine = Engine(root)
    for queries in sets.values():  # warm-up: open the index, fill caches
        for q in queries:
            engine.search(q, per_page=10, snippets=True, facets=True, suggest=True)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for mode, kwargs in MODES.items():
        out[mode] = {}
        for name, queries in sets.items():
            ms = []
            for q in queries:
                t0 = time.perf_counter_ns()
                engine.search(q, per_page=10, **kwargs)
                ms.append((time.perf_counter_ns() - t0) / 1e6)
            out[mode][name] = percentiles(ms)
    return out


DATE_RANGE = (dt.date(2018, 1, 1), dt.date(2018, 6, 30))


def combinations(engine) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Sort, filter and facet combinations the page offers, as Engine.search keyword arguments; the
    source and the category are the index's most common ones (the largest sets to filter)."""
    from search.engine import Filters

    facets = engine.search("تونس", per_page=10, snippets=False, suggest=False).facets
    source = max(facets["source"], key=facets["source"].get)
    category = max(facets["category"], key=facets["category"].get)
    web = {"snippets": True, "facets": True, "suggest": True, "collapse": True}
    return {
        "newest + date range + facets": {**web, "sort": "newest",
                                         "filters": Filters(date_from=DATE_RANGE[0], date_to=DATE_RANGE[1])},
        f"newest + source ({source}) + facets": {**web, "sort": "newest", "filters": Filters(source=[source])},
        f"relevance + category ({category}) + date range + facets": {
            **web, "filters": Filters(category=[category], date_from=DATE_RANGE[0], date_to=DATE_RANGE[1])},
        "relevance + two sources + two categories + facets": {
            **web, "filters": Filters(source=sorted(facets["source"])[:2], category=sorted(facets["category"])[:2])},
        "newest, page 5, + facets": {**web, "sort": "newest", "page": 5},
    }


def combination_latency(root: Path, sets: dict[str, list[str]]) -> dict[str, dict[str, dict[str, float]]]:
    """The web page's search (snippets, facets, suggestions, story groups) under each combination, for
    one-word and headline queries; combinations interleaved query by query."""
    from search.engine import Engine

    engine = Engine(root)
    combos = combinations(engine)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in ("1 word", "headline"):
        ms: dict[str, list[float]] = {combo: [] for combo in combos}
        for q in sets[name]:  # warm-up
            for kwargs in combos.values():
                engine.search(q, per_page=10, **kwargs)
        for q in sets[name]:
            for combo, kwargs in combos.items():
                t0 = time.perf_counter_ns()
                engine.search(q, per_page=10, **kwargs)
                ms[combo].append((time.perf_counter_ns() - t0) / 1e6)
        for combo, times in ms.items():
            out.setdefault(combo, {})[name] = percentiles(times)
    return out


def peer_runs(size: str, sets: dict[str, list[str]]) -> dict[str, dict[str, object]]:
    """Each peer indexes the same documents and runs every query set (top 10), timed per query.

    The peers run from a fresh child process: a process started from this one
    would report this one's memory as its own peak (Linux carries ru_maxrss
    across fork and exec), and this one holds the whole corpus.
    """
    topics = [(f"{i}-{n}", q) for i, (name, qs) in enumerate(sets.items()) for n, q in enumerate(qs)]
    topics_path = common.write_topics(topics, WORK / "speed" / f"queries-{size}.tsv")
    jsonl = common.Collection(f"ant-{size}", _docs(size), topics_path, topics_path, "").jsonl()
    sets_path = WORK / "speed" / f"sets-{size}.json"
    sets_path.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
    out_path = WORK / "speed" / f"peers-{size}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "_peers", size, str(jsonl), str(topics_path), str(sets_path),
           str(out_path)]
    subprocess.run(cmd, check=True, close_fds=True)
    return json.loads(out_path.read_text())


def _child_peers(size: str, jsonl: str, topics_path: str, sets_path: str, out_path: str) -> None:
    import peers

    common.setup_logging()
    sets = json.loads(Path(sets_path).read_text(encoding="utf-8"))
    keep = peers.latency_summary
    peers.latency_summary = lambda lat: {**keep(lat), "raw": list(lat)}  # keep per-query times to split by set
    out = {}
    for peer, runner in peers.RUNNERS.items():
        log.info("peer %s on ANT %s...", peer, size)
        stats = runner(Path(jsonl), Path(topics_path), WORK / "speed" / f"{peer}-{size}.run", WORK / "peers", limit=10)
        raw = stats["latency_ms"].pop("raw")
        by_set, i = {}, 0
        for name, qs in sets.items():
            by_set[name] = percentiles(raw[i : i + len(qs)])
            i += len(qs)
        stats["latency_by_set"] = by_set
        out[peer] = stats
        log.info("  %s docs/s, p95 %s ms, peak RSS %s MB", stats["docs_per_s"], stats["latency_ms"]["p95"],
                 stats["peak_rss_mb"])
    Path(out_path).write_text(json.dumps(out, ensure_ascii=False))


def analyser_throughput(sample: int = 3000) -> dict[str, dict[str, float]]:
    """Tokens per second of each analyser over the same texts: a cold pass (every per-word
    table emptied first, as at the start of a reindex) and a warm one (as once a reindex is
    under way: news vocabulary is Zipfian, most words were seen in the last articles)."""
    from whoosh.analysis import StandardAnalyzer

    from search import analysis

    texts = [d.title + "\n" + d.body for d in common.ant_subset(sample)]
    chains = {
        "baheth (stemmed field)": analysis.stem_analyzer(),
        "baheth (exact field)": analysis.exact_analyzer(),
        "light10 chain": common.ANALYSERS["light10"][0](),
        "Whoosh StandardAnalyzer": StandardAnalyzer(),
    }
    out = {}
    for name, chain in chains.items():
        analysis.light_stem.cache_clear()
        analysis.light10_stem.cache_clear()
        analysis.TOKENIZER._last = None
        for table in (analysis._SURFACE_TERMS, analysis._SURFACES, *analysis._KEPT.values(),
                      *analysis._TERMS_OF_WORD.values()):
            table.clear()
        passes = []
        for _pass in ("cold", "warm"):
            tokens = 0
            t0 = time.perf_counter()
            for text in texts:
                tokens += sum(1 for _ in chain(text))
            passes.append((tokens, time.perf_counter() - t0))
        (tokens, cold), (_, warm) = passes
        out[name] = {"tokens": tokens, "seconds": round(cold, 2), "tokens_per_s": round(tokens / cold),
                     "warm_seconds": round(warm, 2), "warm_tokens_per_s": round(tokens / warm)}
        log.info("analyser %s: %s tokens/s cold, %s warm", name, out[name]["tokens_per_s"],
                 out[name]["warm_tokens_per_s"])
    return out


# --- Report -----------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else ""


def goals(out: dict) -> list[str]:
    """Each goal of the speed issue (#11) beside its figure from this run (or the benchmark that measures it)."""
    lat = out["latency"]["31.5k"]["baheth"]
    snip = lat["snippets"]
    head = snip["headline"]
    kw = max(snip[qs]["p95"] for qs in ("1 word", "2 words", "3 words"))
    rows = [
        ("headline queries with snippets, 31.5k", "p50 ≤ 10 ms, p95 ≤ 25 ms", f"p50 {head['p50']}, p95 {head['p95']}",
         head["p50"] <= 10 and head["p95"] <= 25),
        ("keyword queries (1-3 words) with snippets, 31.5k", "p95 ≤ 15 ms", f"worst p95 {kw}", kw <= 15),
    ]
    combos = out.get("combinations", {})
    if combos:
        worst = max(by_set[n]["p95"] for by_set in combos.values() for n in by_set)
        rows.append(("any sort, filter and facet combination, 31.5k", "p95 ≤ 50 ms", f"worst p95 {worst}", worst <= 50))
    analyser = out["analyser"].get("baheth (stemmed field)")
    if analyser:
        warm, cold = analyser.get("warm_tokens_per_s", 0), analyser["tokens_per_s"]
        rows.append(("analyser, stemmed field", "≥ 1,000,000 tokens/s", f"{warm:,} warm, {cold:,} cold",
                     warm >= 1_000_000))
    ours = out["indexing"][OURS]["docs_per_s"]
    rows.append(("reindex 31.5k with two processes", "≥ 1,000 docs/s", f"{ours}", ours >= 1000))
    md = ["## The speed issue's goals (#11), this run", "", "| goal | target | measured | |", "|---|---|---|---|"]
    md += [f"| {goal} | {target} | {figure} | {'met' if met else 'not met'} |" for goal, target, figure, met in rows]
    md += ["", "Serving with `--workers` (≥ 1.8x one worker, p95 ≤ 120 ms at 8 clients): `benchmarks/load.py`, "
           "results/load.md. Cost from 1x to 4x the articles beside Lucene's: `benchmarks/growth.py`, "
           "results/growth.md.", ""]
    return md


def write_report(out: dict) -> None:
    first = [label for label in REINDEX_ROWS.values() if label in out["indexing"]]
    idx = {**{label: out["indexing"][label] for label in first}, **out["indexing"]}  # our builds first, then peers
    ours = idx[OURS]
    md = ["# Speed", "", f"Produced by `python benchmarks/speed.py` on {out['date']} ({out['seconds'] / 60:.0f} min), "
          f"{out['cpus']} cores (load average {out['load_average_at_start'][0]:.1f} at the start, "
          f"{out['load_average_at_end'][0]:.1f} at the end), Python {out['python']}. Corpus: ANT v2.1 with titles; 10k = the fixed subset of "
          "10,000 articles whose sha1(id) sort first.", "",
          "## Indexing ANT (31,525 articles)", "",
          "| engine | docs/s | MB/s | index MB | peak RSS MB | seconds | our docs/s ÷ theirs |",
          "|---|---|---|---|---|---|---|"]
    for name, s in idx.items():
        rss = s.get("peak_rss_mb")
        if s.get("workers_peak_rss_mb"):
            rss = f"{s['peak_rss_mb']} (+ worker {s['workers_peak_rss_mb']})"
        md.append(f"| {name} | {s['docs_per_s']} | {s['mb_per_s']} | {s['index_mb']} | {rss} | {s['seconds']} | "
                  f"{ratio(ours['docs_per_s'], s['docs_per_s'])} |")
    plain = idx[PLAIN]
    speedup = ours["docs_per_s"] / plain["docs_per_s"]
    md += ["", f"Target reindex ≥ 2x a plain single-process writer: **{speedup:.2f}x** "
           f"({'met' if speedup >= 2 else 'missed'}).", ""]
    rounds = {name: s["rounds_docs_per_s"] for name, s in idx.items() if s.get("rounds_docs_per_s")}
    if len(rounds.get(OURS, [])) > 1 and PLAIN in rounds:
        per_round = [a / b for a, b in zip(rounds[OURS], rounds[PLAIN])]
        md[-1:-1] = [f"Rounds, interleaved (docs/s; each row above is its median round): "
                     + "; ".join(f"{name}: {', '.join(map(str, r))}" for name, r in rounds.items())
                     + f". Our docs/s ÷ the plain writer's, round by round: {', '.join(f'{x:.2f}x' for x in per_round)}."]
    if ours.get("cpu_seconds") and plain.get("cpu_seconds"):
        cpu_rows = [(name, s["cpu_seconds"]) for name, s in idx.items() if s.get("cpu_seconds")]
        md[-1:-1] = ["CPU seconds (user + system, all processes) of the median round: "
                     + ", ".join(f"{name} {cpu}" for name, cpu in cpu_rows) + "."]
    if out.get("reindex_measured"):
        md[-1:-1] = [f"The reindex rows (ours and the plain writers) were re-measured on {out['reindex_measured']} "
                     f"(`speed.py --reindex-only --repeat {out.get('reindex_repeat', 1)}`)."]
    if out.get("latency_measured"):
        md[-1:-1] = [f"Our query latency and the combinations were re-measured on {out['latency_measured']} "
                     "(`speed.py --latency-only`, on the indexes built by the full run)."]
    if out.get("peers_measured"):
        md[-1:-1] = [f"The peers were re-measured on {out['peers_measured']} (`speed.py --peers-only`)."]
    if ours.get("vocabulary_seconds"):
        md[-1:-1] = [f"Our build includes {ours['vocabulary_seconds']} s writing the spelling vocabulary after the "
                     "Whoosh commit (single process)."]
    for size, lat in out["latency"].items():
        md += [f"## Query latency, {size} documents (ms, top 10)", "",
               "| queries | " + " | ".join(f"{m} p50 / p95" for m in MODES) + " | "
               + " | ".join(f"{p} p50 / p95" for p in lat.get("peers", {})) + " |",
               "|---" * (1 + len(MODES) + len(lat.get("peers", {}))) + "|"]
        for qs in QUERY_SETS:
            cells = [f"{lat['baheth'][m][qs]['p50']} / {lat['baheth'][m][qs]['p95']}" for m in MODES]
            for _peer, ps in lat.get("peers", {}).items():
                b = ps["latency_by_set"][qs]
                ours_p95 = lat["baheth"]["no snippets"][qs]["p95"]
                cells.append(f"{b['p50']} / {b['p95']} (ours ÷ theirs p95: {ratio(ours_p95, b['p95'])})")
            md.append(f"| {qs} ({lat['baheth']['snippets'][qs]['n']}) | " + " | ".join(cells) + " |")
        md.append("")
    kw = [out["latency"]["31.5k"]["baheth"]["snippets"][qs]["p95"] for qs in ("1 word", "2 words", "3 words")]
    md += [f"Target keyword queries with snippets p95 ≤ 50 ms at 31.5k: worst of 1-3 words **{max(kw)} ms** "
           f"({'met' if max(kw) <= 50 else 'missed'}). Peers return ids only (no snippets); compare them with "
           "the 'no snippets' column.", ""]
    combos = out.get("combinations", {})
    if combos:
        md += ["## Sort, filter and facet combinations, 31.5k documents (ms, top 10, as the web page asks)", "",
               "Each combination is the web page's search (snippets, facets, suggestions, story groups) with that sort "
               f"and those filters; date range {DATE_RANGE[0]}..{DATE_RANGE[1]}; combinations interleaved query by "
               "query. The peers' harness ranks only, so it has no row here.", "",
               "| combination | 1 word p50 / p95 | headline p50 / p95 |", "|---|---|---|"]
        for combo, by_set in combos.items():
            md.append(f"| {combo} | " + " | ".join(f"{by_set[n]['p50']} / {by_set[n]['p95']} ({by_set[n]['n']})"
                                                    for n in ("1 word", "headline")) + " |")
        md.append("")
    md += goals(out) + ["## Analyser throughput", "",
           f"Title + body of {out['analyser_sample']:,} ANT articles, single process: a cold pass (every per-word "
           "table and cache emptied first) then a warm one over the same texts"
           + (f" (measured {out['analyser_measured']})" if out.get("analyser_measured") else "") + ".", "",
           "| analyser | tokens | cold: seconds | cold: tokens/s | warm: seconds | warm: tokens/s |",
           "|---|---|---|---|---|---|"]
    for name, a in out["analyser"].items():
        md.append(f"| {name} | {a['tokens']:,} | {a['seconds']} | {a['tokens_per_s']:,} | "
                  f"{a.get('warm_seconds', '')} | {a.get('warm_tokens_per_s', 0):,} |")
    md.append("")
    (RESULTS / "speed.md").write_text("\n".join(md), encoding="utf-8")
    (RESULTS / "speed.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        _child_build(*sys.argv[2:5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_peers":
        _child_peers(*sys.argv[2:7])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--queries", type=int, default=200, help="queries per set")
    ap.add_argument("--peers-only", action="store_true",
                    help="re-measure only the peers, keeping the rest of results/speed.json")
    ap.add_argument("--reindex-only", action="store_true",
                    help="re-measure only the 31.5k builds, keeping the rest of results/speed.json")
    ap.add_argument("--analyser-only", action="store_true",
                    help="re-measure only the analysers, keeping the rest of results/speed.json")
    ap.add_argument("--latency-only", action="store_true",
                    help="re-measure our query latency and the combinations on the built indexes; keep the rest")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of the 31.5k builds, interleaved; each row reports its median round")
    args = ap.parse_args()
    common.setup_logging()
    if args.peers_only:
        out = json.loads((RESULTS / "speed.json").read_text())
        sets = out["queries"]
        for size in SIZES:
            found = peer_runs(size, sets)
            out["latency"][size]["peers"] = found
            if size == "31.5k":
                for peer, s in found.items():
                    out["indexing"][peer] = {**s, "seconds": s["index_seconds"], "index_mb": round(s["index_bytes"] / 1e6, 1)}
        out["peers_measured"] = time.strftime("%Y-%m-%d %H:%M")
        write_report(out)
        return
    if args.analyser_only:
        out = json.loads((RESULTS / "speed.json").read_text())
        out["analyser"] = analyser_throughput(out.get("analyser_sample", 3000))
        out["analyser_measured"] = time.strftime("%Y-%m-%d %H:%M")
        write_report(out)
        return
    if args.latency_only:
        out = json.loads((RESULTS / "speed.json").read_text())
        sets = out["queries"]
        for size in SIZES:
            log.info("latency at %s...", size)
            out["latency"][size]["baheth"] = our_latency(WORK / "speed" / f"baheth-{size}", sets)
        out["combinations"] = combination_latency(WORK / "speed" / "baheth-31.5k", sets)
        out["latency_measured"] = time.strftime("%Y-%m-%d %H:%M")
        write_report(out)
        return
    if args.reindex_only:
        out = json.loads((RESULTS / "speed.json").read_text())
        out["indexing"].update(reindex_rounds(args.repeat))
        out["reindex_measured"] = time.strftime("%Y-%m-%d %H:%M")
        out["reindex_repeat"] = args.repeat
        write_report(out)
        return

    started = time.perf_counter()
    out: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
                              "cpus": os.cpu_count(), "indexing": {}, "latency": {},
                              "load_average_at_start": os.getloadavg()}
    sets = query_sets(args.queries)
    out["queries"] = sets
    roots = {}
    for size in SIZES:
        roots[size] = WORK / "speed" / f"baheth-{size}"
        stats = build("baheth", size, roots[size])
        if size == "31.5k":
            out["indexing"][OURS] = stats
        else:
            out["indexing_10k"] = stats
    out["indexing"].update(reindex_rounds(args.repeat, ours_first_round=out["indexing"][OURS]))
    for size in SIZES:
        log.info("latency at %s...", size)
        out["latency"][size] = {"baheth": our_latency(roots[size], sets)}
        if not args.skip_peers:
            found = peer_runs(size, sets)
            out["latency"][size]["peers"] = found
            if size == "31.5k":
                for peer, s in found.items():
                    out["indexing"][peer] = {**s, "seconds": s["index_seconds"], "index_mb": round(s["index_bytes"] / 1e6, 1)}
    out["combinations"] = combination_latency(roots["31.5k"], sets)
    out["analyser_sample"] = 3000
    out["analyser"] = analyser_throughput(out["analyser_sample"])
    out["seconds"] = round(time.perf_counter() - started)
    out["load_average_at_end"] = os.getloadavg()
    write_report(out)
    log.info("wrote %s", RESULTS / "speed.md")


if __name__ == "__main__":
    main()
