"""Memory of a real `baheth serve` under 1,000 varied searches, and where it goes.

    python benchmarks/memory.py --index DIR [--index DIR ...] [--searches 1000] [--clients 8]
                                [--compare REV] [--profile]

For each index (e.g. ANT's 31,525 articles and 4x that, built with
`python benchmarks/scale.py _build whoosh 1 DIR 4 0`), starts a fresh server
on a free loopback port (one worker, its threads), reads the worker's memory
from /proc at start, after a warm-up of the first tenth of the searches, and
at the end (and its peak, sampled every 0.2 s), with the latency of each kind
of request. The searches are a fixed, seeded mix of what readers do: pasted
headlines, keywords, phrases, prefixes, both sorts, date ranges, source and
category filters, later pages, article pages, through the page and the API,
from ``--clients`` concurrent clients.

``--compare REV`` runs the same searches against the server of another commit
(checked out in a temporary worktree, same Python), interleaved, to show the
change. ``--profile`` also runs the searches in this process under tracemalloc
and writes the allocation sites that hold the most memory at the end.

Writes benchmarks/results/memory.md and memory.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.load import TOPICS, Server, memory_mb  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
KEYWORDS = [
    "الانترنت",
    "مصر",
    "لبنان",
    "كأس العالم",
    "ترامب",
    "النفط",
    "إيران",
    "الاقتصاد",
    "تونس",
    "الانتخابات",
    "الصحة",
    "فلسطين",
    "روسيا",
    "السعودية",
    "البرلمان",
    "الجزائر",
    "المغرب",
    "اللاجئين",
    "الدولار",
    "كورونا",
]
PHRASES = ["الأمم المتحدة", "كأس العالم", "الشرق الأوسط", "البنك المركزي", "مجلس الأمن", "وزارة الصحة"]
PREFIXES = ["انترن*", "اقتصا*", "انتخا*", "فلسطي*", "حكوم*", "تكنولوج*"]
GOALS_MB = {31_525: 500, 126_100: 1200}  # the memory issue's bounds per worker, by collection size
WARM_SHARE = 10  # the first tenth of the searches is the warm-up


def requests_for(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (kind, path) pairs, the same for every server and index."""
    rng = random.Random(seed)
    headlines = (
        [line.split("\t", 1)[1] for line in TOPICS.read_text(encoding="utf-8").splitlines()] if TOPICS.exists() else []
    )
    kinds = ["headline", "keyword", "phrase", "prefix", "newest", "date range", "filter", "page 2+", "api"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)] if i % 11 else "article"
        q = rng.choice(headlines) if kind == "headline" and headlines else rng.choice(KEYWORDS)
        params: dict[str, str] = {"q": q}
        if kind == "phrase":
            params["q"] = f'"{rng.choice(PHRASES)}"'
        elif kind == "prefix":
            params["q"] = rng.choice(PREFIXES)
        elif kind == "newest":
            params["sort"] = "newest"
        elif kind == "date range":
            year = rng.randint(2016, 2021)
            month = rng.choice([1, 7])
            params.update(
                {
                    "sort": rng.choice(["newest", "relevance"]),
                    "from": f"{year}-{month:02d}-01",
                    "to": f"{year}-{month + 5:02d}-30",
                }
            )
        elif kind == "filter":
            params[rng.choice(["source", "category"])] = "@first"  # filled from the server's own facets
        elif kind == "page 2+":
            params["page"] = str(rng.randint(2, 6))
        path = "/api/search" if kind in ("api", "filter", "article") or i % 2 else "/"
        out.append((kind, path + "?" + urllib.parse.urlencode(params)))
    return out


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def resolve(base: str, kind: str, path: str, facets: dict[str, list[str]]) -> str:
    """Fill a filter from the index's own facet values, an article from a search's first hit."""
    if "%40first" in path:
        field = "source" if "source=" in path else "category"
        values = facets.get(field) or [""]
        path = path.replace("%40first", urllib.parse.quote(values[hash(path) % len(values)]))
    if kind == "article":
        status, body = fetch(base + path)
        results = json.loads(body).get("results", []) if status == 200 else []
        if results:
            path = "/doc/" + urllib.parse.quote(results[0]["id"], safe="")
    return path


def server_facets(base: str) -> dict[str, list[str]]:
    status, body = fetch(base + "/api/search?" + urllib.parse.urlencode({"q": "مصر"}))
    facets = json.loads(body).get("facets", {}) if status == 200 else {}
    out: dict[str, list[str]] = {}
    for field in ("source", "category"):
        value = facets.get(field, {})
        names = list(value) if isinstance(value, dict) else [v.get("value") for v in value]
        out[field] = [n for n in names if n][:8]
    return out


def run_server(
    label: str, index: Path, searches: list[tuple[str, str]], args: argparse.Namespace, cwd: Path, work: Path
) -> dict[str, Any]:
    server = Server(index, 1, args.threads, work / f"{label}.log", cwd=cwd)
    try:
        health = server.wait_ready(work / f"{label}.log")
        pid = server.pids()[0]
        time.sleep(1.0)
        start = memory_mb(pid)
        peak = dict(start)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                try:
                    now = memory_mb(pid)
                except OSError:
                    return
                for key, value in now.items():
                    peak[key] = max(peak.get(key, 0.0), value)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        facets = server_facets(server.url)
        latencies: dict[str, list[float]] = {}
        statuses: dict[int, int] = {}

        def one(item: tuple[str, str]) -> None:
            kind, path = item
            path = resolve(server.url, kind, path, facets)
            started = time.perf_counter()
            status, _body = fetch(server.url + path)
            latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

        warm = len(searches) // WARM_SHARE
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, searches[:warm]))
            after_warm = memory_mb(pid)
            list(pool.map(one, searches[warm:]))
        seconds = time.perf_counter() - started
        end = memory_mb(pid)
        stop.set()
        sampler.join()
        _status, body = fetch(server.url + "/api/health")
        final = json.loads(body)
        return {
            "label": label,
            "documents": health.get("documents"),
            "start": start,
            "after_warm_up": after_warm,
            "end": end,
            "peak": peak,
            "seconds": round(seconds, 1),
            "statuses": statuses,
            "latency_ms": {
                k: {
                    "n": len(v),
                    "p50": round(statistics.median(v), 1),
                    "p95": round(sorted(v)[max(0, int(len(v) * 0.95) - 1)], 1),
                }
                for k, v in latencies.items()
            },
            "caches": final.get("caches", {}),
            "mapped_bytes": final.get("mapped_bytes"),
        }
    finally:
        server.stop()


def profile(index: Path, searches: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The searches in this process under tracemalloc: the allocation sites holding memory at the end."""
    from webapp import create_app

    tracemalloc.start(1)
    app = create_app({"index": str(index)})
    client = app.test_client()
    facets: dict[str, list[str]] = {}
    response = client.get("/api/search?" + urllib.parse.urlencode({"q": "مصر"}))
    for field, value in (response.get_json() or {}).get("facets", {}).items():
        facets[field] = (list(value) if isinstance(value, dict) else [v.get("value") for v in value])[:8]
    for kind, path in searches:
        if "%40first" in path:
            field = "source" if "source=" in path else "category"
            values = facets.get(field) or [""]
            path = path.replace("%40first", urllib.parse.quote(values[hash(path) % len(values)]))
        if kind == "article":
            results = (client.get(path).get_json() or {}).get("results", [])
            if results:
                path = "/doc/" + urllib.parse.quote(results[0]["id"], safe="")
        client.get(path)
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size for s in snapshot.statistics("filename"))
    rows = [
        {"site": str(s.traceback), "mb": round(s.size / 1e6, 1), "blocks": s.count}
        for s in snapshot.statistics("lineno")[:15]
    ]
    by_part: dict[str, int] = {}
    for stat in snapshot.statistics("filename"):
        name = stat.traceback[0].filename
        part = (
            ("search/" + name.split("/search/", 1)[1])
            if "/search/" in name and "site-packages" not in name
            else name.split("site-packages/", 1)[1].split("/", 1)[0]
            if "site-packages/" in name
            else "webapp"
            if "/webapp/" in name
            else "Python's own modules"
        )
        by_part[part] = by_part.get(part, 0) + stat.size
    parts = sorted(by_part.items(), key=lambda kv: -kv[1])[:12]
    return [{"total_mb": round(total / 1e6, 1), "parts": [(p, round(b / 1e6, 1)) for p, b in parts], "sites": rows}]


def worktree(rev: str, work: Path) -> Path:
    dest = work / f"tree-{rev}"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(dest), rev],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return dest


def write_report(out: dict[str, Any]) -> None:
    md = [
        "# Memory: one `baheth serve` worker under 1,000 varied searches",
        "",
        f"Produced by `{out['command']}` on {out['date']} ({out['minutes']} min), {out['machine']}. "
        f"{out['searches']} searches from {out['clients']} concurrent clients, one worker with {out['threads']} "
        "threads, a fresh server per row; the mix: pasted headlines, keywords, phrases, prefixes, «الأحدث», date "
        "ranges, source and category filters, later pages, article pages, through the page and the API. "
        "RSS is VmRSS (what /api/health reports; it counts the index pages the process has mapped), private is "
        "RssAnon, PSS shares mapped pages among processes. Memory in MB.",
        "",
        "| server | documents | RSS start | RSS after warm-up | RSS end | RSS peak | private end | PSS end "
        "| goal (RSS) | 500s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in out["rows"]:
        goal = GOALS_MB.get(row["documents"]) or (500 if row["documents"] <= 40_000 else 1200)
        met = "met" if row["end"]["rss_mb"] <= goal and row["peak"]["rss_mb"] <= goal else "NOT met"
        md.append(
            f"| {row['label']} | {row['documents']:,} | {row['start']['rss_mb']} | {row['after_warm_up']['rss_mb']} | "
            f"{row['end']['rss_mb']} | {row['peak']['rss_mb']} | {row['end']['anon_mb']} | {row['end']['pss_mb']} | "
            f"≤ {goal} ({met}) | {sum(v for k, v in row['statuses'].items() if int(k) >= 500)} |"
        )
    md += [
        "",
        "Latency of each kind of request in the same runs (ms, p50 / p95, from the clients, "
        f"{out['clients']} at once; the speed issue's figures come from `benchmarks/speed.py`):",
        "",
    ]
    kinds = sorted({k for row in out["rows"] for k in row["latency_ms"]})
    md.append("| server | " + " | ".join(kinds) + " |")
    md.append("|---|" + "---|" * len(kinds))
    for row in out["rows"]:
        cells = [
            f"{row['latency_ms'][k]['p50']} / {row['latency_ms'][k]['p95']}" if k in row["latency_ms"] else "–"
            for k in kinds
        ]
        md.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    md += ["", "Caches at the end (/api/health), MB used of the bound:", ""]
    for row in out["rows"]:
        caches = ", ".join(
            f"{name} {c['bytes'] / 2**20:.1f} of {c['max_bytes'] / 2**20:.0f}" for name, c in row["caches"].items()
        )
        mapped = row.get("mapped_bytes")
        md.append(f"- {row['label']}: {caches}" + (f"; index files mapped {mapped / 2**20:.0f}" if mapped else ""))
    if out.get("profile"):
        prof = out["profile"][0]
        md += [
            "",
            f"## Where the memory goes (tracemalloc, in process, same searches on {out['profile_index']})",
            "",
            f"Python allocations alive at the end: {prof['total_mb']} MB. By part:",
            "",
            "| part | MB |",
            "|---|---|",
        ]
        md += [f"| {part} | {mb} |" for part, mb in prof["parts"]]
        md += ["", "Largest allocation sites:", "", "| MB | blocks | site |", "|---|---|---|"]
        md += [
            f"| {row['mb']} | {row['blocks']} | `{row['site'].replace(str(ROOT) + '/', '')}` |" for row in prof["sites"]
        ]
    md.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory.md").write_text("\n".join(md), encoding="utf-8")
    (RESULTS / "memory.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, action="append", required=True, help="an index folder (repeatable)")
    ap.add_argument("--searches", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--compare", metavar="REV", help="also run the server of this commit, interleaved")
    ap.add_argument("--profile", action="store_true", help="tracemalloc breakdown on the first index")
    args = ap.parse_args()
    began = time.time()
    searches = requests_for(args.searches)
    out: dict[str, Any] = {
        "command": "python benchmarks/memory.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "searches": args.searches,
        "clients": args.clients,
        "threads": args.threads,
        "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="baheth-memory-") as tmp:
        work = Path(tmp)
        other = worktree(args.compare, work) if args.compare else None
        try:
            for index in args.index:
                if other is not None:
                    out["rows"].append(run_server(f"{args.compare} (before)", index, searches, args, other, work))
                out["rows"].append(run_server("this commit", index, searches, args, ROOT, work))
        finally:
            if other is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    if args.profile:
        out["profile"] = profile(args.index[0], searches)
        first = next(row for row in out["rows"] if row["label"] == "this commit")
        out["profile_index"] = f"{first['documents']:,} documents"
    out["minutes"] = round((time.time() - began) / 60, 1)
    write_report(out)
    print((RESULTS / "memory.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
