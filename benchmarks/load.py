"""Load test: wrk against a real `baheth serve` on loopback, worker counts side by side, bounded in time.

    python benchmarks/load.py --index /path/to/ant-index [--seconds 15] [--clients 8 32] [--workers 1 2] [--rounds 3]

Drives /api/search with a rotating list of real queries (ANT headlines and
keywords). Round by round, for each worker count in turn (interleaved, because
this 2-core machine's speed drifts between minutes), it starts a fresh server
with `--workers N` on a free loopback port, warms it, runs wrk at each client
count, reads the resident memory and CPU time of every worker process from
/proc, and stops it. Writes the median round's requests/s, latency p50/p95/p99,
the errors, requests/s of N workers ÷ the first worker count, and the memory of
each worker to benchmarks/results/load.md and load.json. Needs Debian's wrk
(apt-get install wrk).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TOPICS = ROOT.parent / "shared" / "eval" / "ant-known-item.tsv"
KEYWORDS = ["الانترنت", "مصر", "لبنان سوريا", "كأس العالم", "ترامب", "النفط", "الأمم المتحدة", "محمد صلاح", "إيران", "الاقتصاد"]
ERRORS = ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The speed issue's goals, checked when the run has 1 and 2 workers and 8 clients.
GOAL_CLIENTS, GOAL_RATIO, GOAL_P95_MS = 8, 1.8, 120.0

LUA = r"""
local paths = {}
for line in io.lines(os.getenv("BAHETH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"p50_ms\": %.2f, \"p95_ms\": %.2f, \"p99_ms\": %.2f, \"mean_ms\": %.2f, \"errors_connect\": %d, \"errors_read\": %d, \"errors_write\": %d, \"errors_status\": %d, \"errors_timeout\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query_paths(limit: int = 200) -> list[str]:
    queries = list(KEYWORDS)
    if TOPICS.exists():
        queries += [line.split("\t", 1)[1] for line in TOPICS.read_text(encoding="utf-8").splitlines()[:limit]]
    return ["/api/search?q=" + urllib.parse.quote(q) for q in queries]


# --- Server processes (Linux /proc) ------------------------------------------------------


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked (the workers of a pre-forking server)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(found)


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of ``pid``: VmRSS (what /api/health reports), its private part (RssAnon), and
    PSS, which shares each page among the processes that map it (VmRSS counts the index files once per
    mapping and the pages a worker shares with its siblings in full)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            out["rss_mb" if name == "VmRSS" else "anon_mb"] = round(int(value.split()[0]) / 1024, 1)
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            out["pss_mb"] = round(int(line.split()[1]) / 1024, 1)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def worker_pids(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The processes that serve requests: the server itself with one worker, else its children."""
    return [server.pid] if workers == 1 else children(server.pid)


class Server:
    """`baheth serve --workers N` on a free loopback port, started fresh and stopped at the end."""

    def __init__(
        self, index: Path, workers: int, threads: int, log: Path, cwd: Path = ROOT, extra: tuple[str, ...] = ()
    ) -> None:
        self.workers = workers
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "search.cli", "serve", "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1],
             "--workers", str(workers), "--threads", str(threads), "--index", str(index), *extra],
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=self.log,
        )

    def wait_ready(self, log: Path) -> dict[str, Any]:
        """Wait for /api/health and for every worker to have started."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the server ended at start:\n{log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2) as response:
                    health = json.loads(response.read())
                if len(worker_pids(self.process, self.workers)) == self.workers:
                    return health
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit(f"the server did not start within 60 s:\n{log.read_text(errors='replace')[-2000:]}")

    def pids(self) -> list[int]:
        return worker_pids(self.process, self.workers)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- Measuring ---------------------------------------------------------------------------


def wrk(url: str, clients: int, seconds: int, work: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(work / "rotate.lua"), url],
        env={**os.environ, "BAHETH_PATHS": str(work / "paths.txt")}, capture_output=True, text=True, check=True,
    ).stdout
    stats = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
    stats["requests_per_s"] = round(stats["requests"] / stats["seconds"], 1)
    stats["errors"] = sum(stats[k] for k in ERRORS)
    return stats


def measure(args: argparse.Namespace, workers: int, round_no: int, work: Path) -> dict[str, Any]:
    """One fresh server with ``workers`` workers: warm, wrk at each client count, memory and CPU of each worker."""
    log = work / f"server-{workers}-{round_no}.log"
    extra = ("--backend", "xapian", "--shards", args.shards) if args.backend == "xapian" else ()
    server = Server(args.index, workers, args.threads, log, extra=extra)
    try:
        health = server.wait_ready(log)
        # Warm every worker's searchers and caches before measuring.
        wrk(server.url, args.threads * workers, args.warm, work)
        pids = server.pids()
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
        rows = []
        for clients in args.clients:
            stats = {"workers": workers, "round": round_no, "clients": clients}
            before = {pid: cpu_seconds(pid) for pid in pids}
            stats.update(wrk(server.url, clients, args.seconds, work))
            # How evenly the workers shared this row: keep-alive connections stay with the worker that accepted them.
            stats["worker_cpu_s"] = [round(cpu_seconds(pid) - before[pid], 1) for pid in pids]
            rows.append(stats)
            print(json.dumps(stats), file=sys.stderr, flush=True)
        if server.pids() != pids:
            print(f"warning: workers changed during the run ({pids} -> {server.pids()})", file=sys.stderr)
        each = [memory_mb(pid) for pid in pids]
        memory = {
            "worker_rss_mb": [m["rss_mb"] for m in each],
            "worker_anon_mb": [m["anon_mb"] for m in each],
            "worker_pss_mb": [m["pss_mb"] for m in each],
            "parent_rss_mb": memory_mb(server.process.pid)["rss_mb"] if workers > 1 else None,
            "worker_cpu_s": [round(cpu_seconds(pid) - cpu_before[pid], 1) for pid in pids],
        }
    finally:
        server.stop()
    print(json.dumps({"workers": workers, "round": round_no, **memory}), file=sys.stderr, flush=True)
    return {"documents": health["documents"], "rows": rows, **memory}


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians over rounds of one worker count at one client count; errors summed."""
    out: dict[str, Any] = {k: rows[0][k] for k in ("workers", "clients")}
    for key in ("requests_per_s", "p50_ms", "p95_ms", "p99_ms"):
        out[key] = round(statistics.median(float(r[key]) for r in rows), 1)
    out["requests"] = sum(int(r["requests"]) for r in rows)
    for key in (*ERRORS, "errors"):
        out[key] = sum(int(r[key]) for r in rows)
    out["rounds_requests_per_s"] = [r["requests_per_s"] for r in rows]
    out["rounds_p95_ms"] = [r["p95_ms"] for r in rows]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--seconds", type=int, default=15, help="seconds of wrk per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, worker counts interleaved in each")
    parser.add_argument("--threads", type=int, default=8, help="server threads of each worker")
    parser.add_argument("--warm", type=int, default=10, help="seconds of warm-up per server")
    parser.add_argument("--backend", choices=("whoosh", "xapian"), default="whoosh")
    parser.add_argument("--shards", default="", help="with --backend xapian: host:port,… (e.g. from `baheth shards start`)")
    args = parser.parse_args()
    if args.backend == "xapian" and not args.shards:
        sys.exit("--backend xapian needs --shards host:port,… (start them with `baheth shards start --index DIR`)")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    if min(args.workers) < 1 or args.rounds < 1:
        sys.exit("--workers must be >= 1 each and --rounds >= 1")

    work = Path(tempfile.mkdtemp(prefix="baheth-load-"))
    (work / "paths.txt").write_text("\n".join(query_paths()) + "\n", encoding="utf-8")
    (work / "rotate.lua").write_text(LUA, encoding="utf-8")
    started, load_start = time.monotonic(), os.getloadavg()[0]
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    runs: list[dict[str, Any]] = []
    try:
        for round_no in range(1, args.rounds + 1):
            for workers in args.workers:
                runs.append({"workers": workers, "round": round_no, **measure(args, workers, round_no, work)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    minutes, load_end = (time.monotonic() - started) / 60, os.getloadavg()[0]

    rows = [r for run in runs for r in run["rows"]]
    table = [
        median_row([r for r in rows if r["workers"] == w and r["clients"] == c])
        for w in args.workers
        for c in args.clients
    ]
    base = args.workers[0]

    def cell(workers: int, clients: int) -> dict[str, Any]:
        return next(r for r in table if r["workers"] == workers and r["clients"] == clients)

    def round_cell(workers: int, clients: int, round_no: int) -> dict[str, Any]:
        return next(r for r in rows if r["workers"] == workers and r["clients"] == clients and r["round"] == round_no)

    for r in table:
        ratio = float(r["requests_per_s"]) / float(cell(base, int(r["clients"]))["requests_per_s"])
        r["ratio"] = round(ratio, 2)
        r["rounds_ratio"] = [
            round(float(round_cell(int(r["workers"]), int(r["clients"]), n)["requests_per_s"])
                  / float(round_cell(base, int(r["clients"]), n)["requests_per_s"]), 2)
            for n in range(1, args.rounds + 1)
        ]

    meta = {
        "date": when, "minutes": round(minutes, 1), "documents": runs[0]["documents"], "server_threads": args.threads,
        "seconds": args.seconds, "warm_seconds": args.warm, "rounds": args.rounds, "workers": args.workers,
        "clients": args.clients, "queries": len(query_paths()), "cpus": os.cpu_count(),
        "load_average_start": round(load_start, 1), "load_average_end": round(load_end, 1),
        "python": platform.python_version(),
    }
    keys = ("workers", "round", "worker_rss_mb", "worker_anon_mb", "worker_pss_mb", "parent_rss_mb", "worker_cpu_s")
    memory = [{k: run[k] for k in keys} for run in runs]
    RESULTS.mkdir(parents=True, exist_ok=True)
    everything = {"meta": meta, "table": table, "memory": memory, "rows": rows}
    suffix = "-xapian" if args.backend == "xapian" else ""
    (RESULTS / f"load{suffix}.json").write_text(json.dumps(everything, indent=2, ensure_ascii=False), encoding="utf-8")

    command = (
        f"python benchmarks/load.py --index {args.index} --seconds {args.seconds} "
        f"--clients {' '.join(map(str, args.clients))} --workers {' '.join(map(str, args.workers))} "
        f"--rounds {args.rounds}" + (f" --backend xapian --shards {args.shards}" if args.backend == "xapian" else "")
    )
    base_name = f"{base} worker{'s' if base > 1 else ''}"
    lines = [
        "# Load: wrk against `baheth serve --workers N`" + (" on Xapian shards" if args.backend == "xapian" else ""),
        "",
        f"Produced by `{command}` on {when} ({meta['minutes']} min), {meta['cpus']} cores (load average "
        f"{meta['load_average_start']} at the start, {meta['load_average_end']} at the end), Python {meta['python']}. "
        f"{meta['documents']} documents (ANT), {args.threads} threads per worker, {meta['queries']} rotating queries "
        f"to /api/search on loopback, {args.seconds} s of wrk per row after {args.warm} s of warm-up; a fresh server "
        f"per worker count and round, worker counts interleaved in each of {args.rounds} rounds; each cell is the "
        "median over rounds (requests and errors are summed).",
        "",
        f"| workers | clients | requests | req/s | req/s ÷ {base_name} | p50 ms | p95 ms | p99 ms "
        "| errors (connect/read/write/status/timeout) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        errors = "/".join(str(r[k]) for k in ERRORS)
        lines.append(
            f"| {r['workers']} | {r['clients']} | {r['requests']} | {r['requests_per_s']} | {r['ratio']:.2f}x "
            f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {errors} |"
        )
    lines += ["", f"Rounds (req/s; p95 ms; req/s ÷ the same round's {base_name}; CPU s of each worker in the row):"]
    for r in table:
        cpu = ", ".join(
            " + ".join(map(str, round_cell(r["workers"], r["clients"], n)["worker_cpu_s"]))
            for n in range(1, args.rounds + 1)
        )
        lines.append(
            f"{r['workers']} worker{'s' if r['workers'] != 1 else ''}, {r['clients']} clients: "
            f"{', '.join(map(str, r['rounds_requests_per_s']))}; {', '.join(map(str, r['rounds_p95_ms']))}; "
            f"{', '.join(f'{x:.2f}x' for x in r['rounds_ratio'])}; {cpu}."
        )
    lines += [
        "",
        "Memory of each worker after the run, in MB, round by round (worker + worker): RSS is VmRSS, what "
        "/api/health reports; it counts the index files once per mapping and pages shared with the other worker "
        "in full. Private is RssAnon; PSS divides each shared page among the processes that map it.",
        "",
        "| workers | RSS | private | PSS | supervisor RSS | CPU s of each worker during the measured rows |",
        "|---|---|---|---|---|---|",
    ]

    def by_round(mine: list[dict[str, Any]], key: str) -> str:
        return "; ".join(" + ".join(map(str, m[key])) for m in mine)

    for workers in args.workers:
        mine = [m for m in memory if m["workers"] == workers]
        parent = "; ".join(str(m["parent_rss_mb"]) for m in mine) if workers > 1 else "(none: the server is the worker)"
        lines.append(
            f"| {workers} | {by_round(mine, 'worker_rss_mb')} | {by_round(mine, 'worker_anon_mb')} "
            f"| {by_round(mine, 'worker_pss_mb')} | {parent} | {by_round(mine, 'worker_cpu_s')} |"
        )
    if 1 in args.workers and 2 in args.workers and GOAL_CLIENTS in args.clients and base == 1:
        two = cell(2, GOAL_CLIENTS)
        ratio_met = float(two["ratio"]) >= GOAL_RATIO
        p95_met = float(two["p95_ms"]) <= GOAL_P95_MS
        lines += [
            "",
            f"Goals at {GOAL_CLIENTS} clients: 2 workers ≥ {GOAL_RATIO}x the req/s of 1: **{two['ratio']:.2f}x** "
            f"({'met' if ratio_met else 'not met'}); p95 with 2 workers ≤ {GOAL_P95_MS:.0f} ms: "
            f"**{two['p95_ms']:.1f} ms** ({'met' if p95_met else 'not met'}).",
        ]
    lines.append("")
    (RESULTS / f"load{suffix}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if any(r["errors"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
