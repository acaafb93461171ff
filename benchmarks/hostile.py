"""The worst request cost the settings allow: time and server memory for hostile requests.

    python benchmarks/hostile.py [--rounds 3]

Builds an index holding ordinary articles plus the longest articles the
settings allow (`max_body_chars` characters: one made of a single word, one of
ordinary words), starts a real `baheth serve` on loopback, and sends the most
expensive requests a client can make: the longest query (one word, and as many
words, phrases and prefixes as allowed), a 40,000-letter word (cut), the
longest word matching the longest article, the article pages of the longest
articles, sorts, date ranges and facets. For each request it records the
slowest answer and the server's resident memory (VmRSS) after it. Checks: no
request above `search_time_limit` + 0.5 s, no RSS growth above 200 MB from
the server's warm start, no 500. Writes benchmarks/results/hostile.md and
hostile.json; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from search.backends.whoosh.store import build  # noqa: E402
from search.ingest import Document, LoadResult  # noqa: E402
from search.settings import defaults  # noqa: E402

WORDS = (
    "أعلنت وزارة الخارجية المصرية عن زيارة رسمية إلى القاهرة لبحث التعاون الاقتصادي "
    "والإنترنت الحكومة الانتخابات النفط الأسواق العالمية المنتخب الوطني"
).split()
MAX_TIME_OVER_LIMIT = 0.5
MAX_RSS_GROWTH_MB = 200


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, time.perf_counter() - started, len(body)


def make_index(root: Path, body_chars: int) -> None:
    rng = random.Random(3)
    docs = [
        Document(
            id=f"n-{i}",
            title=" ".join(rng.sample(WORDS, 6)),
            body=" ".join(rng.choice(WORDS) for _ in range(300)),
            source=rng.choice(["alpha", "beta", "gamma"]),
        )
        for i in range(3000)
    ]
    ordinary = " ".join(rng.choice(WORDS) for _ in range(body_chars // 5))[:body_chars]
    docs.append(Document(id="longest-word", title="كلمة واحدة", body="س" * body_chars))
    docs.append(Document(id="longest-text", title="أطول مقالة", body=ordinary))
    build(root, LoadResult(documents=docs), ["hostile"], procs=2)


def requests(config: object) -> list[tuple[str, str]]:
    max_chars = config.max_query_chars  # type: ignore[attr-defined]
    max_terms = config.max_query_terms  # type: ignore[attr-defined]
    many_words = " ".join(rng_word(i) for i in range(max_terms))[:max_chars]
    phrases = " ".join(f'"{rng_word(i)} {rng_word(i + 1)}"' for i in range(max_terms // 2))[:max_chars]
    prefixes = " ".join(f"{w[:2]}*" for w in WORDS)[:max_chars]
    return [
        ("longest query, one word", "/api/search?q=" + urllib.parse.quote("ب" * max_chars)),
        ("a 40,000-letter word (a request line over the limit)", "/api/search?q=" + urllib.parse.quote("ت" * 40_000)),
        ("a 9,000-letter word (cut to max_query_chars)", "/api/search?q=" + urllib.parse.quote("ت" * 9_000)),
        ("longest query, many words", "/api/search?q=" + urllib.parse.quote(many_words)),
        ("longest query, phrases", "/api/search?q=" + urllib.parse.quote(phrases)),
        ("longest query, prefixes", "/api/search?q=" + urllib.parse.quote(prefixes)),
        ("longest word, matching the longest article", "/?q=" + urllib.parse.quote("س" * 100)),
        ("longest article, page with marks", "/doc/longest-text?q=" + urllib.parse.quote("الحكومة وزارة")),
        ("longest word article, page with marks", "/doc/longest-word?q=" + urllib.parse.quote("س" * 100)),
        ("longest article, API", "/api/doc/longest-text?q=" + urllib.parse.quote("النفط")),
        (
            "every word, newest, date range, facets, 100 per page",
            "/?per_page=100&sort=newest&from=2000-01-01&to=2030-01-01&q=" + urllib.parse.quote(" ".join(WORDS)),
        ),
        ("misspelt long words (suggestions)", "/?q=" + urllib.parse.quote(" ".join(w[::-1] + "ز" * 20 for w in WORDS))),
    ]


def rng_word(i: int) -> str:
    return WORDS[i % len(WORDS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each request is sent")
    args = parser.parse_args()
    config = defaults()
    work = Path(tempfile.mkdtemp(prefix="baheth-hostile-"))
    index = work / "ix"
    print(f"building the index in {index} …", flush=True)
    make_index(index, config.max_body_chars)
    port = free_port()
    env = {**os.environ, "BAHETH_INDEX": str(index), "BAHETH_PORT": str(port)}
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - closed at the end
    server = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "serve", "--workers", "1"],  # one process: its RSS is the server's
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    rows = []
    failed = []
    try:
        deadline = time.monotonic() + 60
        while fetch_ok(base + "/api/health") is False:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start: " + (work / "serve.log").read_text(errors="replace"))
            time.sleep(0.3)
        time.sleep(3)  # the background warm-up reads lengths, dates and the vocabulary
        for _ in range(3):
            fetch(base + "/?q=" + urllib.parse.quote("وزارة الخارجية"))
        start_rss = rss_mb(server.pid)
        print(f"warm server RSS {start_rss:.0f} MB", flush=True)
        peak = start_rss
        for name, path in requests(config):
            worst, statuses, size = 0.0, set(), 0
            for _ in range(args.rounds):
                status, seconds, size = fetch(base + path)
                worst = max(worst, seconds)
                statuses.add(status)
            rss = rss_mb(server.pid)
            peak = max(peak, rss)
            rows.append(
                {
                    "request": name,
                    "statuses": sorted(statuses),
                    "worst_seconds": round(worst, 3),
                    "response_kb": round(size / 1024, 1),
                    "rss_mb": round(rss, 1),
                }
            )
            print(f"{name}: {sorted(statuses)} worst {worst:.3f} s, RSS {rss:.0f} MB", flush=True)
            if 500 in statuses or worst > config.search_time_limit + MAX_TIME_OVER_LIMIT:
                failed.append(name)
        growth = peak - start_rss
        if growth > MAX_RSS_GROWTH_MB:
            failed.append(f"RSS growth {growth:.0f} MB")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "settings": {
            k: config[k] for k in ("max_query_chars", "max_query_terms", "max_body_chars", "search_time_limit")
        },
        "rounds": args.rounds,
        "start_rss_mb": round(start_rss, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(peak - start_rss, 1),
        "rows": rows,
        "failed": failed,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hostile.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [
        "# Hostile requests: the worst cost the settings allow",
        "",
        f"`python benchmarks/hostile.py --rounds {args.rounds}`, {report['when']}, on this project's 2-core machine.",
        f"Settings: {report['settings']}. Index: 3,000 ordinary articles plus two of {config.max_body_chars:,} "
        "characters (one word; ordinary words). One `baheth serve` process.",
        "",
        "| request | statuses | worst s | response KB | server RSS MB after |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['request']} | {r['statuses']} | {r['worst_seconds']} | {r['response_kb']} | {r['rss_mb']} |"
        for r in rows
    ]
    lines += [
        "",
        f"Warm server RSS {report['start_rss_mb']} MB, peak {report['peak_rss_mb']} MB: growth "
        f"{report['rss_growth_mb']} MB (limit {MAX_RSS_GROWTH_MB}). Time limit {config.search_time_limit} s "
        f"+ {MAX_TIME_OVER_LIMIT} s. Failed checks: {', '.join(failed) or 'none'}.",
    ]
    (RESULTS / "hostile.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    sys.exit(1 if failed else 0)


def fetch_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
