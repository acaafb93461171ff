"""Load test: wrk against a real `baheth serve` on loopback, bounded in time.

    python benchmarks/load.py --index /path/to/ant-index [--seconds 20] [--clients 8 32]

Starts the server on a free loopback port, drives /api/search with a rotating
list of real queries (ANT headlines and keywords) at each client count, and
writes requests/s, latency p50/p95/p99 and error counts to
benchmarks/results/load.md and load.json. Needs Debian's wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TOPICS = ROOT.parent / "shared" / "eval" / "ant-known-item.tsv"
KEYWORDS = ["الانترنت", "مصر", "لبنان سوريا", "كأس العالم", "ترامب", "النفط", "الأمم المتحدة", "محمد صلاح", "إيران", "الاقتصاد"]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="baheth-load-"))
    (work / "paths.txt").write_text("\n".join(query_paths()) + "\n", encoding="utf-8")
    (work / "rotate.lua").write_text(LUA, encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "serve", "--port", str(port), "--threads", str(args.threads),
         "--index", str(args.index)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=2) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start")
        # Warm every server thread's searcher before measuring.
        subprocess.run(["wrk", "-t1", f"-c{args.threads}", "-d3s", "-s", str(work / "rotate.lua"), url],
                       env={**os.environ, "BAHETH_PATHS": str(work / "paths.txt")}, capture_output=True, check=True)
        for clients in args.clients:
            out = subprocess.run(
                ["wrk", "-t2", f"-c{clients}", f"-d{args.seconds}s", "--timeout", "10s", "-s", str(work / "rotate.lua"), url],
                env={**os.environ, "BAHETH_PATHS": str(work / "paths.txt")}, capture_output=True, text=True, check=True,
            ).stdout
            stats = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
            stats["clients"] = clients
            stats["requests_per_s"] = round(stats["requests"] / stats["seconds"], 1)
            stats["errors"] = sum(v for k, v in stats.items() if k.startswith("errors_"))
            rows.append(stats)
            print(json.dumps(stats))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"documents": health["documents"], "server_threads": args.threads, "seconds": args.seconds,
            "queries": len(query_paths()), "cpus": os.cpu_count()}
    (RESULTS / "load.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8")
    lines = [
        f"# Load: wrk against `baheth serve` ({meta['documents']} documents, {args.threads} server threads, "
        f"{meta['cpus']} cores, {args.seconds} s per row, {meta['queries']} rotating queries)",
        "",
        "| clients | requests | req/s | p50 ms | p95 ms | p99 ms | errors (connect/read/write/status/timeout) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        errors = "/".join(str(r[k]) for k in ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout"))
        lines.append(f"| {r['clients']} | {r['requests']} | {r['requests_per_s']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {errors} |")
    lines += ["", f"Command: `python benchmarks/load.py --index {args.index} --seconds {args.seconds}`", ""]
    (RESULTS / "load.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if any(r["errors"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
