"""Scale (on demand): build speed and query latency of Whoosh, Xapian with 1 shard and with 2 loopback shards.

    python benchmarks/scale.py [--scale 1|4|…] [--queries 100] [--rounds 3] [--build-rounds 1]

Writes results/scale.md and results/scale.json. ``--scale 1`` is ANT (31,525
articles with titles); ``--scale N`` builds N x 31,525 documents from ANT and
JawharaFM, each article repeated under a new id and shifted back a year per
copy. Each index is built in a child process (wall time, CPU seconds of every
process it ran); the queries then run through one ``Engine`` per backend as the
web page asks (snippets, facets, suggestions), round by round with the backends
interleaved, because this 2-core machine's speed drifts between minutes.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Iterator
from pathlib import Path

import common
from common import RESULTS, WORK, log

from search.backends.xapian import servers
from search.engine import Engine, Filters
from search.ingest import Document, LoadResult, load_sources
from search.settings import defaults

JAWHARA = common.SHARED / "corpus" / "ant-jawharafm-v1.1.tar.gz"
BACKENDS = {  # name -> (backend, shards)
    "whoosh": ("whoosh", 0),
    "xapian, 1 shard": ("xapian", 1),
    "xapian, 2 shards (loopback)": ("xapian", 2),
}
QUERY_SETS = ("1 word", "3 words", "headline", "newest + date range + facets")
DATE_RANGE = (dt.date(2018, 1, 1), dt.date(2018, 6, 30))
WEB_PAGE = {"per_page": 10, "snippets": True, "facets": True, "suggest": True}  # what the search page asks


# --- Documents ------------------------------------------------------------------------


def _shifted(date: dt.datetime | None, years: int) -> dt.datetime | None:
    if date is None or years == 0:
        return date
    try:
        return date.replace(year=date.year - years)
    except ValueError:  # 29 February
        return date.replace(year=date.year - years, day=28)


def documents(scale: int) -> list[Document]:
    """ANT at scale 1; else scale x 31,525 documents: ANT + JawharaFM, repeated with new ids, a year back per copy."""
    ant = common.ant_documents()
    if scale == 1:
        return ant
    base = ant + load_sources([JAWHARA]).documents
    wanted = scale * len(ant)
    out: list[Document] = []
    copy = 0
    while len(out) < wanted:
        for d in base[: wanted - len(out)]:
            out.append(d if copy == 0 else Document(**{**d.__dict__, "id": f"{d.id}~r{copy}",
                                                       "date": _shifted(d.date, copy)}))
        copy += 1
    return out


# --- Building, in a child process ------------------------------------------------------


def _child_build(backend: str, shards: str, dest: str, scale: str, first: str) -> None:
    """Build one index and print its figures (run as `scale.py _build BACKEND SHARDS DEST SCALE FIRST`)."""
    docs = documents(int(scale))[: int(first) or None]
    text_bytes = sum(len(d.title.encode()) + len(d.body.encode()) for d in docs)
    root = Path(dest)
    shutil.rmtree(root, ignore_errors=True)
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    started = time.perf_counter()
    if backend == "xapian":
        from search.backends.xapian import store

        store.build(root, LoadResult(documents=docs), ["scale"], shards=int(shards))
    else:
        from search.backends.whoosh import store

        store.build(root, LoadResult(documents=docs), ["scale"], procs=2)
    seconds = time.perf_counter() - started
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime - cpu_before
    size_bytes = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(json.dumps({
        "docs": len(docs), "seconds": round(seconds, 1), "docs_per_s": round(len(docs) / seconds, 1),
        "mb_per_s": round(text_bytes / 1e6 / seconds, 3), "input_text_mb": round(text_bytes / 1e6, 1),
        "index_mb": round(size_bytes / 1e6, 1), "cpu_seconds": round(cpu, 1),
        "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "load_average_after": round(os.getloadavg()[0], 2),
    }))


def build(name: str, scale: int, dest: Path, first: int = 0) -> dict[str, object]:
    backend, shards = BACKENDS[name]
    log.info("building %s at scale %d...", name, scale)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_build", backend, str(shards), str(dest), str(scale),
           str(first)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    stats = json.loads(out.strip().splitlines()[-1])
    log.info("  %s", stats)
    return stats


def index_root(name: str, scale: int) -> Path:
    return WORK / "scale" / f"x{scale}-{name.split(',')[0]}-{BACKENDS[name][1]}"


# --- Queries ----------------------------------------------------------------------------


def query_sets(per_set: int) -> dict[str, list[str]]:
    """1 and 3 words cut from ANT headlines, other whole headlines pasted, and 1 word browsed newest first."""
    from search.analysis import terms

    headlines = [t for _, t in common.read_tsv_topics(common.EVAL / "ant-known-item.tsv")]
    sets: dict[str, list[str]] = {name: [] for name in QUERY_SETS}
    for text in headlines[:per_set]:
        words = [w for w in text.split() if w.isalpha() and terms(w)]
        if words:
            sets["1 word"].append(words[0])
        if len(words) >= 3:
            sets["3 words"].append(" ".join(words[:3]))
    sets["headline"] = headlines[per_set : 2 * per_set]
    for text in headlines[2 * per_set : 3 * per_set]:
        words = [w for w in text.split() if w.isalpha() and terms(w)]
        if words:
            sets["newest + date range + facets"].append(words[0])
    return sets


def ask(engine: Engine, set_name: str, query: str) -> None:
    if set_name == "newest + date range + facets":
        engine.search(query, sort="newest", filters=Filters(date_from=DATE_RANGE[0], date_to=DATE_RANGE[1]), **WEB_PAGE)
    else:
        engine.search(query, **WEB_PAGE)


def percentiles(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(q[49], 2), "p95": round(q[94], 2), "mean": round(statistics.fmean(ms), 2), "n": len(ms)}


def process_cpu(groups: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes of these process groups.

    A shard server forks a child per connection; the child does the work, so
    the whole group is counted (the leader's cutime/cstime add children that ended).
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid, group = int(stat.parent.name), int(fields[2])
            if group in groups:
                total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if pid == group else 0)
    return total / tick


def latency(engines: dict[str, Engine], server_pids: dict[str, list[int]], sets: dict[str, list[str]],
            rounds: int) -> dict[str, object]:
    """Each round runs every set on every backend, the backends' order rotating from round to round."""
    names = list(engines)
    for name in names:  # warm-up: connect, read field lengths and dates, fill caches
        log.info("warming %s...", name)
        for set_name, queries in sets.items():
            for q in queries:
                ask(engines[name], set_name, q)
    times: dict[str, dict[str, list[float]]] = {n: {s: [] for s in sets} for n in names}
    per_round: list[dict[str, dict[str, float]]] = []
    cpu = {n: {"client": 0.0, "servers": 0.0} for n in names}
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        log.info("round %d of %d (%s)", round_ + 1, rounds, " -> ".join(order))
        medians: dict[str, dict[str, float]] = {}
        for name in order:
            own0, srv0 = time.process_time(), process_cpu(server_pids.get(name, []))
            medians[name] = {}
            for set_name, queries in sets.items():
                ms = []
                for q in queries:
                    t0 = time.perf_counter_ns()
                    ask(engines[name], set_name, q)
                    ms.append((time.perf_counter_ns() - t0) / 1e6)
                times[name][set_name] += ms
                medians[name][set_name] = round(statistics.median(ms), 2)
            cpu[name]["client"] += time.process_time() - own0
            cpu[name]["servers"] += process_cpu(server_pids.get(name, [])) - srv0
        per_round.append(medians)
        log.info("  medians %s", medians)
    return {
        "by_backend": {n: {s: percentiles(ms) for s, ms in by_set.items()} for n, by_set in times.items()},
        "round_medians": per_round,
        "cpu_seconds": {n: {k: round(v, 1) for k, v in c.items()} for n, c in cpu.items()},
    }


@contextlib.contextmanager
def serving(roots: dict[str, Path]) -> Iterator[tuple[dict[str, str], dict[str, list[int]]]]:
    """Start the shard servers of every Xapian index (as `baheth shards start`); always stop them."""
    started: list[Path] = []
    addresses: dict[str, str] = {}
    pids: dict[str, list[int]] = {}
    try:
        for name, root in roots.items():
            if BACKENDS[name][0] != "xapian":
                continue
            started.append(root)
            addresses[name] = ",".join(servers.start(root))
            pids[name] = [int(s["pid"]) for s in servers.running(root)]
            log.info("%s served at %s", name, addresses[name])
        yield addresses, pids
    finally:
        for root in started:
            servers.stop(root)


# --- Report -------------------------------------------------------------------------------


def median_build(rounds: list[dict[str, object]]) -> dict[str, object]:
    return sorted(rounds, key=lambda r: r["docs_per_s"])[len(rounds) // 2]


def write_report(out: dict) -> None:
    builds = out["builds"]
    lat = out["latency"]["by_backend"]
    base = "whoosh"
    md = ["# Scale: Whoosh and Xapian shards on one machine", "",
          f"Produced by `{out['command']}` on {out['date']} ({out['seconds'] / 60:.0f} min), {out['cpus']} cores, "
          f"load average {out['load_average_at_start'][0]:.1f} at the start and {out['load_average_at_end'][0]:.1f} at "
          f"the end, Python {out['python']}. Collection: {out['collection']}.", "",
          "## Building", "",
          "| backend | docs | docs/s (wall) | seconds | CPU seconds (all processes) | index MB | docs/s ÷ Whoosh's |",
          "|---|---|---|---|---|---|---|"]
    for name, rounds in builds.items():
        s = median_build(rounds)
        ratio = s["docs_per_s"] / median_build(builds[base])["docs_per_s"]
        every = f" (rounds: {', '.join(str(r['docs_per_s']) for r in rounds)})" if len(rounds) > 1 else ""
        md.append(f"| {name} | {s['docs']:,} | {s['docs_per_s']}{every} | {s['seconds']} | {s['cpu_seconds']} | "
                  f"{s['index_mb']} | {ratio:.2f}x |")
    if out.get("builds_reused"):
        md += ["", f"These build figures were printed by an earlier run of this script on the same indexes (read from "
               f"`{out['builds_reused']}`); this run measured the latency on them."]
    md += ["", "Whoosh builds with procs=2 (two forked writers); Xapian with one forked writer per shard. "
           "CPU seconds are user + system of the build process and every process it waited for.", "",
           f"## Query latency (ms, as the web page asks: top 10, snippets, facets, suggestions; "
           f"{out['rounds']} rounds, backends interleaved)", "",
           "| queries | " + " | ".join(f"{n} p50 / p95" for n in lat) + " | "
           + " | ".join(f"{n} ÷ Whoosh p50" for n in lat if n != base) + " |",
           "|---" * (1 + 2 * len(lat) - 1) + "|"]
    for set_name in QUERY_SETS:
        cells = [f"{lat[n][set_name]['p50']} / {lat[n][set_name]['p95']}" for n in lat]
        ratios = []
        for n in lat:
            if n == base:
                continue
            per = [r[n][set_name] / r[base][set_name] for r in out["latency"]["round_medians"] if r[base][set_name]]
            ratios.append(f"{lat[n][set_name]['p50'] / lat[base][set_name]['p50']:.2f}x "
                          f"(rounds {', '.join(f'{x:.2f}' for x in per)})")
        n = lat[base][set_name]["n"]
        md.append(f"| {set_name} ({n}) | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    cpu = out["latency"]["cpu_seconds"]
    md += ["", "CPU seconds over the timed rounds, client process / shard servers: "
           + "; ".join(f"{n} {c['client']} / {c['servers']}" for n, c in cpu.items()) + ".", "",
           f"Query sets: {out['queries_per_set']} each; 1 word and 3 words cut from ANT known-item headlines, "
           "other whole headlines pasted, and a word from yet other headlines browsed newest first within "
           f"{DATE_RANGE[0]}..{DATE_RANGE[1]} with facets.", "",
           "## What this machine can and cannot show", "", out["caveat"], ""]
    name = report_name(out.get("scale", 1))
    (RESULTS / f"{name}.md").write_text("\n".join(md), encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


def report_name(scale: int) -> str:
    """results/scale.md for ANT itself; results/scale-x10.md for ten times as many articles, and so on."""
    return "scale" if scale == 1 else f"scale-x{scale}"


CAVEAT = (
    "Everything here runs on one 2-core machine with one disk. The two \"remote\" shards are two "
    "`xapian-tcpsrv` processes on the loopback interface: they share the same two cores and the same disk with "
    "each other and with the client (which reranks, makes snippets and counts facets), so splitting the index "
    "in two shows the cost of the split (a round trip per shard, the merge, the work done twice for small "
    "shards), not the speed-up that shards on separate machines would give, where each shard's work runs on "
    "its own cores and memory. Likewise the build: Whoosh (procs=2) and 2 Xapian shards both use both cores, "
    "so their docs/s compare writers, not machines; a 1-shard Xapian build uses one core. The ~300,000-document "
    "figures are in results/scale-x10.md (`--scale 10`). Latency percentiles are pooled over the rounds; the per-round ratios "
    "show how much the machine's speed drifted (other work, e.g. a test suite run by another engineer, may "
    "have shared the cores during this run): compare ratios within a round, not absolute milliseconds between runs."
)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        _child_build(*sys.argv[2:7])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=1, help="collection size in multiples of ANT's 31,525 articles")
    ap.add_argument("--queries", type=int, default=100, help="queries per set")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds of every set on every backend")
    ap.add_argument("--build-rounds", type=int, default=1, help="interleaved builds per backend (median reported)")
    ap.add_argument("--keep", action="store_true", help="keep the indexes in results/work/scale/")
    ap.add_argument("--docs", type=int, default=0, help="only the first N documents (a quick check of the script)")
    ap.add_argument("--builds", type=Path, help="reuse the indexes in results/work/scale/ and the build figures an "
                    "earlier run printed, as JSON {backend: [figures]} (when only its latency phase must be re-run)")
    args = ap.parse_args()
    common.setup_logging()
    started = time.perf_counter()
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "keep" and v != ap.get_default(k)]
    scale_note = ("ANT v2.1, 31,525 articles with titles" if args.scale == 1 else
                  f"{args.scale} x 31,525 documents: ANT v2.1 + JawharaFM v1.1, repeated with new ids, dates a year "
                  "back per copy")
    if args.docs:
        scale_note += f", first {args.docs:,} only (a quick check)"
    out: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(), "cpus": os.cpu_count(),
        "command": " ".join(["python benchmarks/scale.py", *flags]), "collection": scale_note,
        "load_average_at_start": os.getloadavg(), "rounds": args.rounds, "queries_per_set": args.queries,
        "builds": {name: [] for name in BACKENDS}, "caveat": CAVEAT, "scale": args.scale,
    }
    roots = {name: index_root(name, args.scale) for name in BACKENDS}
    if args.builds:
        out["builds"] = json.loads(args.builds.read_text())
        out["builds_reused"] = str(args.builds)
    for _ in range(0 if args.builds else args.build_rounds):
        for name in BACKENDS:
            out["builds"][name].append(build(name, args.scale, roots[name], args.docs))
    sets = query_sets(args.queries)
    out["queries"] = sets
    with serving(roots) as (addresses, pids):
        engines = {}
        for name, root in roots.items():
            config = defaults().replace(index=str(root))
            if name in addresses:
                config = config.replace(backend="xapian", shards=addresses[name])
            engines[name] = Engine(config=config)
        out["latency"] = latency(engines, pids, sets, args.rounds)
    if not args.keep:
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)
    out["seconds"] = round(time.perf_counter() - started)
    out["load_average_at_end"] = os.getloadavg()
    write_report(out)
    log.info("wrote %s", RESULTS / f"{report_name(args.scale)}.md")


if __name__ == "__main__":
    main()
