"""Fault drill: kill -9 a reindex at random moments, and reindex under load.

    python benchmarks/faults.py --source ../shared/corpus/ant-multisource-v2.1.tar.gz --trials 5

Builds a starting index from the seeds, starts `baheth serve` on loopback,
keeps 8 clients querying it throughout, and then:
1. starts `baheth reindex SOURCE` TRIALS times and kills it with SIGKILL after
   a random delay; after each kill the server must still answer 200 from the
   old index (same generation, same document count);
2. runs one reindex to completion: it must succeed, remove the abandoned build
   folders, and the server must move to the new index;
counting every client request and every non-200 answer. Writes
benchmarks/results/faults.md and faults.json; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUERIES = ["الانترنت", "مصر", "لبنان سوريا", "كأس العالم", '"الأمم المتحدة"', "ترامب -كيم", "النفط*"]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except OSError:
        return 0, {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--max-delay", type=float, default=60.0, help="kill within this many seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    index = Path(tempfile.mkdtemp(prefix="baheth-faults-")) / "index"
    cli = [sys.executable, "-m", "search.cli"]
    subprocess.run([*cli, "reindex", str(ROOT / "seeds"), "--index", str(index)], check=True, cwd=ROOT,
                   capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*cli, "serve", "--port", str(port), "--index", str(index)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while get(url + "/api/health")[0] != 200:
        time.sleep(0.2)

    counts = {"requests": 0, "non_200": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        i = n
        while not stop.is_set():
            status, _ = get(f"{url}/api/search?q={urllib.parse.quote(QUERIES[i % len(QUERIES)])}")
            with lock:
                counts["requests"] += 1
                counts["non_200"] += status != 200
            i += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in clients:
        t.start()
    trials = []
    failures = []
    try:
        _, before = get(url + "/api/health")
        for trial in range(args.trials):
            delay = rng.uniform(1.0, args.max_delay)
            writer = subprocess.Popen([*cli, "reindex", args.source, "--index", str(index)], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            finished = writer.poll() is not None
            if not finished:
                os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
            status, health = get(url + "/api/health")
            ok = status == 200 and (finished or (health["generation"] == before["generation"]
                                                 and health["documents"] == before["documents"]))
            left = [p.name for p in index.glob(".build-*")]
            trials.append({"trial": trial + 1, "killed_after_s": round(delay, 1), "finished_first": finished,
                           "health": status, "documents": health.get("documents"), "old_index_served": ok,
                           "abandoned_build_folders": len(left)})
            print(json.dumps(trials[-1]), flush=True)
            if not ok:
                failures.append(f"trial {trial + 1}: server did not keep the old index")
            if finished:
                _, before = get(url + "/api/health")
        started = time.monotonic()
        done = subprocess.run([*cli, "reindex", args.source, "--index", str(index)], cwd=ROOT,
                              capture_output=True, text=True)
        seconds = time.monotonic() - started
        time.sleep(1.0)
        status, health = get(url + "/api/health")
        final = {"reindex_exit": done.returncode, "seconds": round(seconds, 1), "summary": done.stdout.strip(),
                 "health": status, "documents": health.get("documents"),
                 "abandoned_build_folders": len(list(index.glob(".build-*"))),
                 "generations_on_disk": len(list(index.glob("gen-*")))}
        print(json.dumps(final, ensure_ascii=False), flush=True)
        if done.returncode != 0 or final["abandoned_build_folders"] or health.get("generation") == before["generation"]:
            failures.append("the final reindex did not succeed cleanly")
    finally:
        stop.set()
        for t in clients:
            t.join()
        server.terminate()
        server.wait(timeout=10)
    if counts["non_200"]:
        failures.append(f"{counts['non_200']} of {counts['requests']} client requests failed")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"source": args.source, "trials": trials, "final": final, "clients": counts, "failures": failures}
    (RESULTS / "faults.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [f"# Fault drill: kill -9 during reindex of `{args.source}`, 8 clients querying throughout", "",
             "| trial | killed after s | finished first | health | docs served | old index kept | abandoned builds |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {t['trial']} | {t['killed_after_s']} | {t['finished_first']} | {t['health']} | {t['documents']} | "
              f"{t['old_index_served']} | {t['abandoned_build_folders']} |" for t in trials]
    lines += ["", f"Final reindex: exit {final['reindex_exit']}, {final['seconds']} s, serving {final['documents']} "
              f"documents, {final['abandoned_build_folders']} abandoned build folders left, "
              f"{final['generations_on_disk']} generations on disk.",
              f"Client requests during the drill: {counts['requests']}, failed: {counts['non_200']}.",
              f"Result: {'PASS' if not failures else 'FAIL: ' + '; '.join(failures)}", "",
              f"Command: `python benchmarks/faults.py --source {args.source} --trials {args.trials} "
              f"--max-delay {args.max_delay} --seed {args.seed}`", ""]
    (RESULTS / "faults.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
