#!/usr/bin/env python3
"""Peer engines that Baheth is benchmarked against.

Each peer has one entry point with the same signature::

    run_<peer>(docs_jsonl, topics_tsv, run_path, workdir, limit=100) -> dict

It indexes ``docs_jsonl`` (one JSON object per line: "id", "title", "body"),
runs every topic of ``topics_tsv`` ("qid<TAB>query" lines), writes a TREC run
(``qid Q0 docid rank score tag``) to ``run_path`` and returns stats::

    {"peer", "docs", "index_seconds", "docs_per_s", "mb_per_s", "index_bytes",
     "peak_rss_mb", "latency_ms": {"p50", "p95", "mean"}, "queries", ...}

Indexing and searching each run in a child process (the JVM itself for
Lucene, ``python peers.py _worker ...`` for the Python peers); peak RSS is that
child's ``ru_maxrss`` read with ``os.wait4``. ``index_seconds`` and the query
latencies are measured inside the child (so JVM / interpreter start-up is not
included; the ``*_wall_seconds`` extras include it). Every query is run once
untimed (warm-up), then once timed; a timed query covers parsing, searching and
fetching the top ``limit`` doc ids.

CLI::

    python benchmarks/peers/peers.py PEER DOCS.jsonl TOPICS.tsv RUN --workdir DIR [--limit N]
    python benchmarks/peers/peers.py check      # are jars / javac / FTS5 / whoosh there?
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import unicodedata
import zipfile
from pathlib import Path
from typing import Iterator

PEERS = ("lucene_arabic", "sqlite_fts5", "whoosh_standard")
WARMUP_ROUNDS = 1  # untimed passes over all topics before the timed pass
HERE = Path(__file__).resolve().parent
JAVA_SRC = HERE / "LuceneArabic.java"
# (jar name prefix, a class it must contain)
LUCENE_JARS = (
    ("lucene-core", "org/apache/lucene/index/IndexWriter.class"),
    ("lucene-analyzers-common", "org/apache/lucene/analysis/ar/ArabicAnalyzer.class"),
    ("lucene-queryparser", "org/apache/lucene/queryparser/classic/MultiFieldQueryParser.class"),
)
DEFAULT_JAVA_OPTS = "-Xmx1g"  # override with env PEERS_JAVA_OPTS


# --------------------------------------------------------------------------- io

def _clean(s: str) -> str:
    """Make a string encodable as UTF-8 (JSON may carry lone surrogates)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace").decode("utf-8")


def read_docs(path: Path) -> Iterator[tuple[str, str, str]]:
    """Yield (id, title, body) from a docs JSONL file."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            doc = (str(d["id"]), d.get("title") or "", d.get("body") or "")
            if "\\ud" in line or "\\uD" in line:  # possible lone surrogate
                doc = tuple(_clean(x) for x in doc)
            yield doc


def read_topics(path: Path) -> list[tuple[str, str]]:
    topics = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or "\t" not in line:
                continue
            qid, query = line.split("\t", 1)
            topics.append((qid.strip(), query))
    return topics


def write_run(run_path: Path, topics, results, tag: str) -> None:
    run_path.parent.mkdir(parents=True, exist_ok=True)
    with open(run_path, "w", encoding="utf-8") as f:
        for (qid, _), hits in zip(topics, results):
            for rank, (docid, score) in enumerate(hits, 1):
                f.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def corpus_stats(docs_jsonl: Path) -> tuple[int, int]:
    """(number of docs, UTF-8 bytes of title+body text)."""
    n = nbytes = 0
    for _, title, body in read_docs(docs_jsonl):
        n += 1
        nbytes += len(title.encode("utf-8")) + len(body.encode("utf-8"))
    return n, nbytes


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _percentile(sorted_vals: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_vals:
        return float("nan")
    k = (len(sorted_vals) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def latency_summary(lat_ms: list[float]) -> dict:
    s = sorted(lat_ms)
    return {
        "p50": round(_percentile(s, 50), 4),
        "p95": round(_percentile(s, 95), 4),
        "mean": round(sum(s) / len(s), 4) if s else float("nan"),
    }


def _run_child(cmd: list[str]) -> tuple[dict, float, float]:
    """Run cmd, return (last JSON line of its stdout, peak RSS MB, wall seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None)
    out = p.stdout.read()
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"child failed ({p.returncode}): {' '.join(cmd)}")
    lines = [ln for ln in out.decode("utf-8", "replace").splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"child printed no JSON stats: {' '.join(cmd)}")
    return json.loads(lines[-1]), ru.ru_maxrss / 1024.0, wall  # ru_maxrss is KiB on Linux


def _fresh(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _result(peer, n_docs, text_bytes, idx, idx_rss, idx_wall, srch, srch_rss, srch_wall,
            index_bytes, limit, run_path) -> dict:
    secs = idx["index_seconds"]
    if idx["docs"] != n_docs:
        raise RuntimeError(f"{peer}: indexed {idx['docs']} docs, input has {n_docs}")
    return {
        "peer": peer,
        "docs": idx["docs"],
        "index_seconds": round(secs, 3),
        "docs_per_s": round(n_docs / secs, 1) if secs else None,
        "mb_per_s": round(text_bytes / 1e6 / secs, 3) if secs else None,
        "index_bytes": index_bytes,
        "peak_rss_mb": round(max(idx_rss, srch_rss), 1),
        "latency_ms": latency_summary(srch["latencies_ms"]),
        "queries": srch["queries"],
        # extras
        "input_text_mb": round(text_bytes / 1e6, 3),
        "index_peak_rss_mb": round(idx_rss, 1),
        "search_peak_rss_mb": round(srch_rss, 1),
        "index_wall_seconds": round(idx_wall, 3),
        "search_wall_seconds": round(srch_wall, 3),
        "query_errors": srch.get("errors", 0),
        "limit": limit,
        "run": str(run_path),
    }


def _worker_cmd(*args) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "_worker", *map(str, args)]


def _timed_queries(topics, search_one, limit):
    """Warm-up passes, then one timed pass. search_one(text, limit) -> [(docid, score)]."""
    errors = 0
    for _ in range(WARMUP_ROUNDS):
        for _, text in topics:
            try:
                search_one(text, limit)
            except Exception:
                pass
    lat, results = [], []
    for _, text in topics:
        t0 = time.perf_counter_ns()
        try:
            hits = search_one(text, limit)
        except Exception as e:  # a peer's parser may reject odd input
            print(f"query error: {e!r} for {text!r}", file=sys.stderr)
            errors += 1
            hits = []
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        results.append(hits)
    return results, lat, errors


# ---------------------------------------------------------------- lucene_arabic

def find_lucene_jars(jar_dir: Path | None = None) -> list[Path]:
    jar_dir = Path(jar_dir or os.environ.get("LUCENE_JAR_DIR", "/usr/share/java"))
    found = []
    for prefix, cls in LUCENE_JARS:
        cands = sorted(jar_dir.glob(f"{prefix}-8*.jar"), reverse=True) + [jar_dir / f"{prefix}.jar"]
        for jar in cands:
            try:
                with zipfile.ZipFile(jar) as z:
                    z.getinfo(cls)
                found.append(jar)
                break
            except (OSError, KeyError, zipfile.BadZipFile):
                continue
        else:
            raise FileNotFoundError(f"no {prefix} jar with {cls} in {jar_dir}; run benchmarks/peers/setup.sh")
    return found


def compile_lucene(workdir: Path) -> str:
    """javac LuceneArabic.java into workdir/_javac/<hash>/; return the run classpath."""
    jars = find_lucene_jars()
    cp = os.pathsep.join(str(j) for j in jars)
    key = hashlib.sha256(JAVA_SRC.read_bytes() + cp.encode()).hexdigest()[:16]
    out = Path(workdir) / "_javac" / key
    if not (out / "LuceneArabic.class").exists():
        tmp = out.with_name(key + ".tmp")
        _fresh(tmp).mkdir()
        subprocess.run(["javac", "-encoding", "UTF-8", "-nowarn", "-cp", cp, "-d", str(tmp), str(JAVA_SRC)],
                       check=True)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    return os.pathsep.join([str(out), cp])


def _tsv_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def run_lucene_arabic(docs_jsonl: Path, topics_tsv: Path, run_path: Path, workdir: Path,
                      limit: int = 100) -> dict:
    """Lucene 8 (Debian), ArabicAnalyzer (default stopwords) on title+body, BM25 (1.2, 0.75)."""
    peer = "lucene_arabic"
    workdir = Path(workdir)
    cp = compile_lucene(workdir)
    base = workdir / peer
    base.mkdir(parents=True, exist_ok=True)
    tsv = base / "docs.tsv"
    n = nbytes = 0
    with open(tsv, "w", encoding="utf-8", errors="replace", newline="\n") as f:
        for did, title, body in read_docs(docs_jsonl):
            n += 1
            nbytes += len(title.encode("utf-8")) + len(body.encode("utf-8"))
            f.write(f"{_tsv_escape(did)}\t{_tsv_escape(title)}\t{_tsv_escape(body)}\n")
    index_dir = _fresh(base / "index")
    java = ["java", *os.environ.get("PEERS_JAVA_OPTS", DEFAULT_JAVA_OPTS).split(), "-cp", cp, "LuceneArabic"]
    idx, idx_rss, idx_wall = _run_child(java + ["index", str(tsv), str(index_dir)])
    tsv.unlink()
    run_path = Path(run_path)
    run_path.parent.mkdir(parents=True, exist_ok=True)
    srch, srch_rss, srch_wall = _run_child(
        java + ["search", str(index_dir), str(topics_tsv), str(run_path), str(limit), str(WARMUP_ROUNDS)])
    return _result(peer, n, nbytes, idx, idx_rss, idx_wall, srch, srch_rss, srch_wall,
                   dir_bytes(index_dir), limit, run_path)


# ------------------------------------------------------------------ sqlite_fts5

FTS5_TOKENIZE = "unicode61 remove_diacritics 2"


def fts5_query(text: str) -> str:
    """OR of the query's word tokens, each double-quoted (so FTS5 syntax never errors).

    A word token is a run of characters that are not whitespace, punctuation,
    symbols or controls; each quoted token is re-tokenized by unicode61 itself
    (so e.g. a word with Arabic harakat becomes a phrase of its pieces, exactly
    as on the index side)."""
    toks, cur = [], []
    for ch in text:
        if unicodedata.category(ch)[0] in "ZPSC":
            if cur:
                toks.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        toks.append("".join(cur))
    seen, uniq = set(), []
    for t in toks:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in uniq)


def _sqlite_index(docs_jsonl: Path, db: Path) -> dict:
    import sqlite3
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='{FTS5_TOKENIZE}')")
    n = 0

    def rows():
        nonlocal n
        for doc in read_docs(docs_jsonl):
            n += 1
            yield doc

    with con:
        con.executemany("INSERT INTO docs(id, title, body) VALUES (?, ?, ?)", rows())
    con.close()
    return {"docs": n, "index_seconds": time.perf_counter() - t0}


def _sqlite_search(db: Path, topics_tsv: Path, run_path: Path, limit: int) -> dict:
    import sqlite3
    topics = read_topics(topics_tsv)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sql = "SELECT id, rank FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT ?"

    def search_one(text, k):
        q = fts5_query(text)
        if not q:
            return []
        # rank == bm25(docs): lower is better, so negate for the run's score
        return [(did, -r) for did, r in con.execute(sql, (q, k)).fetchall()]

    results, lat, errors = _timed_queries(topics, search_one, limit)
    write_run(run_path, topics, results, "sqlite_fts5")
    return {"queries": len(topics), "latencies_ms": lat, "errors": errors}


def run_sqlite_fts5(docs_jsonl: Path, topics_tsv: Path, run_path: Path, workdir: Path,
                    limit: int = 100) -> dict:
    """SQLite FTS5 (stdlib sqlite3), unicode61 remove_diacritics 2, ranked by bm25()."""
    peer = "sqlite_fts5"
    n, nbytes = corpus_stats(docs_jsonl)
    db = _fresh(Path(workdir) / peer / "index.sqlite")
    idx, idx_rss, idx_wall = _run_child(_worker_cmd(peer, "index", docs_jsonl, db))
    srch, srch_rss, srch_wall = _run_child(_worker_cmd(peer, "search", db, topics_tsv, run_path, limit))
    return _result(peer, n, nbytes, idx, idx_rss, idx_wall, srch, srch_rss, srch_wall,
                   dir_bytes(db), limit, run_path)


# -------------------------------------------------------------- whoosh_standard

def _whoosh_index(docs_jsonl: Path, index_dir: Path) -> dict:
    from whoosh import index
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    t0 = time.perf_counter()
    schema = Schema(id=ID(stored=True),
                    title=TEXT(analyzer=StandardAnalyzer()),
                    body=TEXT(analyzer=StandardAnalyzer()))
    index_dir.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(index_dir), schema)
    w = ix.writer()  # plain single SegmentWriter (procs=1, default limitmb)
    n = 0
    for did, title, body in read_docs(docs_jsonl):
        w.add_document(id=did, title=title, body=body)
        n += 1
    w.commit()
    ix.close()
    return {"docs": n, "index_seconds": time.perf_counter() - t0}


def _whoosh_search(index_dir: Path, topics_tsv: Path, run_path: Path, limit: int) -> dict:
    from whoosh import index
    from whoosh.qparser import MultifieldParser, OrGroup
    topics = read_topics(topics_tsv)
    ix = index.open_dir(str(index_dir))
    with ix.searcher() as searcher:  # BM25F() default weighting
        parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)

        def search_one(text, k):
            hits = searcher.search(parser.parse(text), limit=k)
            return [(h["id"], h.score) for h in hits]

        results, lat, errors = _timed_queries(topics, search_one, limit)
    write_run(run_path, topics, results, "whoosh_standard")
    return {"queries": len(topics), "latencies_ms": lat, "errors": errors}


def run_whoosh_standard(docs_jsonl: Path, topics_tsv: Path, run_path: Path, workdir: Path,
                        limit: int = 100) -> dict:
    """Whoosh (whoosh-reloaded), StandardAnalyzer on title+body, BM25F, OR-group parser."""
    peer = "whoosh_standard"
    n, nbytes = corpus_stats(docs_jsonl)
    index_dir = _fresh(Path(workdir) / peer / "index")
    idx, idx_rss, idx_wall = _run_child(_worker_cmd(peer, "index", docs_jsonl, index_dir))
    srch, srch_rss, srch_wall = _run_child(_worker_cmd(peer, "search", index_dir, topics_tsv, run_path, limit))
    return _result(peer, n, nbytes, idx, idx_rss, idx_wall, srch, srch_rss, srch_wall,
                   dir_bytes(index_dir), limit, run_path)


RUNNERS = {
    "lucene_arabic": run_lucene_arabic,
    "sqlite_fts5": run_sqlite_fts5,
    "whoosh_standard": run_whoosh_standard,
}


# ------------------------------------------------------------------------ CLI

def _worker(argv: list[str]) -> None:
    peer, phase, *rest = argv
    fns = {
        ("sqlite_fts5", "index"): _sqlite_index,
        ("sqlite_fts5", "search"): _sqlite_search,
        ("whoosh_standard", "index"): _whoosh_index,
        ("whoosh_standard", "search"): _whoosh_search,
    }
    if phase == "index":
        out = fns[(peer, phase)](Path(rest[0]), Path(rest[1]))
    else:
        out = fns[(peer, phase)](Path(rest[0]), Path(rest[1]), Path(rest[2]), int(rest[3]))
    print(json.dumps(out))


def check() -> None:
    import sqlite3
    jars = find_lucene_jars()
    if not shutil.which("javac") or not shutil.which("java"):
        raise SystemExit("java/javac not found; run benchmarks/peers/setup.sh")
    sqlite3.connect(":memory:").execute(
        f"CREATE VIRTUAL TABLE t USING fts5(a, tokenize='{FTS5_TOKENIZE}')")
    import whoosh
    print(json.dumps({"lucene_jars": [str(j) for j in jars], "sqlite": sqlite3.sqlite_version,
                      "whoosh": ".".join(map(str, whoosh.__version__))}))


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        return _worker(argv[1:])
    if argv and argv[0] == "check":
        return check()
    ap = argparse.ArgumentParser(description="Run one peer engine: index, search, write a TREC run.")
    ap.add_argument("peer", choices=PEERS)
    ap.add_argument("docs", type=Path, help="docs JSONL (id, title, body)")
    ap.add_argument("topics", type=Path, help="topics TSV (qid<TAB>query)")
    ap.add_argument("run", type=Path, help="TREC run file to write")
    ap.add_argument("--workdir", type=Path, required=True, help="scratch dir for indexes / compiled classes")
    ap.add_argument("--limit", type=int, default=100)
    a = ap.parse_args(argv)
    stats = RUNNERS[a.peer](a.docs, a.topics, a.run, a.workdir, limit=a.limit)
    print(json.dumps(stats, ensure_ascii=False))


if __name__ == "__main__":
    main()
