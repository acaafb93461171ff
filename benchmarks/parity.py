"""Quality parity of the two backends: embedded Whoosh and Xapian shards served by xapian-tcpsrv.

    python benchmarks/parity.py [--sets ki,jki,arcd,nq] [--shards 2] [--depths 300,1000]

Writes results/parity.md and results/parity.json. For each development set the
same documents are indexed by both backends, every topic is ranked through
``search.runs.run_topics`` (as the web search and ``baheth batch`` rank) and
scored with ir-measures. Parity is about ranking, not time, so CPU noise from
other work on the machine does not change a figure. Indexes are cached under
``results/work/indexes/`` by the backend's code, the analyser and the collection.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import common
import evaluate
from common import RESULTS, ROOT, WORK, Collection, log

from search.backends.whoosh import store as whoosh_store
from search.backends.xapian import servers
from search.backends.xapian import store as xapian_store
from search.engine import Engine
from search.ingest import LoadResult
from search.runs import run_topics
from search.settings import Config, defaults

TARGET_MRR = 0.01  # MRR@10 within 1% of the Whoosh backend's
TARGET_TOP10 = 0.90  # top-10 identical for at least 90% of the topics
EXAMPLES = 3  # differing topics shown per set


# --- Indexes ----------------------------------------------------------------------


WRITE_SIDE = {  # the modules an index's content depends on, per backend (not the read side)
    "whoosh": ("backends/whoosh/schema.py", "backends/whoosh/store.py"),
    "xapian": ("backends/xapian/fields.py", "backends/xapian/store.py"),
}


def fingerprint(backend: str, coll: Collection, *extra: str) -> str:
    """What an index's content depends on: the analyser and its word lists, the backend's writer, the documents."""
    search_dir = ROOT / "search"
    files = [search_dir / "analysis.py", *sorted((search_dir / "data").glob("*.txt")),
             *(search_dir / name for name in WRITE_SIDE[backend]), *sorted((search_dir / "ingest").glob("*.py"))]
    h = hashlib.sha1()
    for path in files:
        h.update(path.read_bytes())
    for item in (coll.key(), *extra):
        h.update(item.encode())
    return h.hexdigest()[:10]


def build(coll: Collection, backend: str, shards: int = 2) -> tuple[Path, dict[str, object]]:
    """The cached index of a collection in one backend; built when missing."""
    extra = (str(shards),) if backend == "xapian" else ()
    label = f"{backend}-{shards}" if backend == "xapian" else backend
    root = WORK / "indexes" / f"parity-{coll.name}-{label}-{fingerprint(backend, coll, *extra)}"
    meta_path = root / "bench.json"
    if meta_path.exists():
        return root, json.loads(meta_path.read_text())
    shutil.rmtree(root, ignore_errors=True)
    log.info("building %s (%d docs)...", root.name, len(coll.docs))
    started = time.perf_counter()
    load = LoadResult(documents=list(coll.docs))
    if backend == "xapian":
        report = xapian_store.build(root, load, [coll.name], shards=shards)
    else:
        report = whoosh_store.build(root, load, [coll.name], procs=2)
    meta = {"seconds": round(time.perf_counter() - started, 1), "documents": report.indexed, "bytes": report.size_bytes}
    meta_path.write_text(json.dumps(meta))
    log.info("built %s in %.0f s", root.name, meta["seconds"])
    return root, meta


@contextlib.contextmanager
def serving(root: Path) -> Iterator[str]:
    """Loopback xapian-tcpsrv servers for the shards under ``root`` (as `baheth shards start`), always stopped."""
    try:
        addresses = servers.start(root)
        log.info("shard servers: %s", ", ".join(addresses))
        yield ",".join(addresses)
    finally:
        servers.stop(root)


# --- Runs and comparison --------------------------------------------------------------


Ranked = dict[str, list[str]]  # qid -> document ids in rank order


def rank(config: Config, coll: Collection, name: str) -> tuple[Ranked, dict[str, dict[str, float]], float]:
    """Every topic through run_topics: (qid -> ids in rank order, qid -> id -> score, seconds)."""
    topics = common.read_tsv_topics(coll.topics)
    engine = Engine(config=config)
    started = time.perf_counter()
    lines = run_topics(engine, topics, limit=100, tag=evaluate.slug(name))
    seconds = time.perf_counter() - started
    run_path = WORK / "runs" / "parity" / coll.name / f"{evaluate.slug(name)}.run"
    run_path.parent.mkdir(parents=True, exist_ok=True)
    run_path.write_text("".join(lines), encoding="utf-8")
    scores: dict[str, dict[str, float]] = {}
    for line in lines:
        qid, _q0, doc, _rank, score, _tag = line.split()
        scores.setdefault(qid, {})[doc] = float(score)
    return common.read_run(run_path), scores, seconds


def compare(base: dict[str, list[str]], other: dict[str, list[str]], qids: list[str]) -> dict[str, object]:
    """How alike two runs' top 10s are, topic by topic."""
    same_list = same_set = same_first = 0
    overlap = 0.0
    differing = []
    for q in qids:
        a, b = base.get(q, [])[:10], other.get(q, [])[:10]
        same_list += a == b
        same_set += set(a) == set(b)
        same_first += a[:1] == b[:1]
        overlap += len(set(a) & set(b)) / max(len(a), len(b), 1)
        if a != b:
            differing.append(q)
    n = len(qids)
    return {"top10_identical": round(same_list / n, 4), "top10_same_set": round(same_set / n, 4),
            "top1_identical": round(same_first / n, 4), "mean_overlap_at_10": round(overlap / n, 4),
            "differing": differing}


def relevant(qrels: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in qrels.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 4 and int(parts[3]) > 0:
            found.setdefault(parts[0], set()).add(parts[2])
    return found


def rank_of(ids: list[str], wanted: set[str]) -> int | None:
    return next((i for i, d in enumerate(ids, start=1) if d in wanted), None)


def explain(q: str, text: str, whoosh: list[str], xapian: list[str], candidates: dict[str, float],
            whoosh_scores: dict[str, float], wanted: set[str], depth: int) -> dict[str, object]:
    """One differing topic: both top 10s, where the relevant document ranks, and a likely cause.

    ``candidates`` are the documents Xapian's first stage handed to the reranker
    (its top ``depth`` by Xapian's BM25), with their BM25F scores.
    """
    a, b = whoosh[:10], xapian[:10]
    outside = [d for d in a if d not in candidates]
    gaps = [abs(whoosh_scores[d] - candidates[d]) for d in a if d in candidates]
    if outside:
        cause = f"first-stage cut: a Whoosh top-10 document is not among Xapian's first {depth} candidates"
    elif set(a) == set(b):
        cause = "same documents, order differs"
    else:
        cause = "every Whoosh top-10 document is a candidate, but the scores differ"
    return {
        "qid": q, "query": text, "cause": cause, "whoosh_top10": a, "xapian_top10": b,
        "only_whoosh": [d for d in a if d not in b], "only_xapian": [d for d in b if d not in a],
        "not_candidates": outside, "relevant_rank_whoosh": rank_of(whoosh, wanted),
        "relevant_rank_xapian": rank_of(xapian, wanted),
        "max_score_gap_on_whoosh_top10": round(max(gaps, default=0.0), 6),
    }


# --- One set ---------------------------------------------------------------------------


def parity_set(which: str, shards: int, depths: list[int]) -> dict[str, object]:
    coll = {"ki": common.known_item, "jki": common.jawhara_known_item, "arcd": common.arcd,
            "nq": common.news_questions}[which]()
    topics = common.read_tsv_topics(coll.topics)
    texts = dict(topics)
    qids = [q for q, _ in topics]
    wanted = relevant(coll.qrels)
    whoosh_root, whoosh_meta = build(coll, "whoosh")
    xapian_root, xapian_meta = build(coll, "xapian", shards)
    data: dict[str, object] = {"name": coll.name, "note": coll.note, "topics": len(topics), "shards": shards,
                               "index": {"whoosh": whoosh_meta, "xapian": xapian_meta}, "rows": {}}
    log.info("%s: whoosh", coll.name)
    base, base_scores, seconds = rank(defaults().replace(index=str(whoosh_root)), coll, "whoosh")
    base_metrics = evaluate.score(base, coll.qrels)
    data["rows"]["whoosh"] = {"metrics": base_metrics, "query_seconds": round(seconds, 1)}
    log.info("  %s", base_metrics)
    with serving(xapian_root) as addresses:
        for depth in depths:
            name = f"xapian, {shards} shards, rerank_depth={depth}"
            log.info("%s: %s", coll.name, name)
            config = defaults().replace(index=str(xapian_root), backend="xapian", shards=addresses, rerank_depth=depth)
            run, scores, seconds = rank(config, coll, f"xapian-{shards}-{depth}")
            metrics = evaluate.score(run, coll.qrels)
            same = compare(base, run, qids)
            differing = same.pop("differing")
            engine = Engine(config=config)
            causes: dict[str, int] = {}
            examples = []
            for q in differing:  # every candidate the reranker saw: did the first stage drop a document?
                hits = engine.search(texts[q], per_page=depth, snippets=False, facets=False, suggest=False).hits
                ex = explain(q, texts[q], base[q], run.get(q, []), {h.id: h.score for h in hits}, base_scores[q],
                             wanted.get(q, set()), depth)
                causes[ex["cause"]] = causes.get(ex["cause"], 0) + 1
                examples.append(ex)
            rr = {"xapian better": 0, "whoosh better": 0}
            for q in differing:
                ra, rb = rank_of(base[q][:10], wanted.get(q, set())), rank_of(run.get(q, [])[:10], wanted.get(q, set()))
                ra_, rb_ = 1 / ra if ra else 0.0, 1 / rb if rb else 0.0
                if rb_ > ra_:
                    rr["xapian better"] += 1
                elif ra_ > rb_:
                    rr["whoosh better"] += 1
            mrr_diff = (metrics["MRR@10"] - base_metrics["MRR@10"]) / base_metrics["MRR@10"]
            data["rows"][name] = {
                "rerank_depth": depth, "metrics": metrics, "query_seconds": round(seconds, 1),
                "mrr_relative_difference": round(mrr_diff, 4), **same,
                "differing_topics": len(differing), "reciprocal_rank_changed": rr, "causes": causes,
                "examples": examples,
                "meets_targets": abs(mrr_diff) <= TARGET_MRR and same["top10_identical"] >= TARGET_TOP10,
            }
            log.info("  %s; MRR %+.2f%%, top-10 identical %.1f%%", metrics, 100 * mrr_diff,
                     100 * same["top10_identical"])
    return data


# --- Report ----------------------------------------------------------------------------


def write_report(out: dict[str, object]) -> None:
    md = ["# Backend parity: Whoosh and Xapian", "",
          f"Produced by `{out['command']}` on {out['date']} ({out['seconds'] / 60:.0f} min of wall time, "
          f"reusing indexes cached in results/work/). Every topic ranked through `search.runs.run_topics` "
          f"(top 100, as the web search ranks); metrics from ir-measures {evaluate.ir_measures.__version__}; "
          f"every topic counts. Xapian: {out['shards']} shards built with `search.backends.xapian.store.build`, each "
          "served by its own loopback `xapian-tcpsrv` (as `baheth shards start`), read as one index; its first "
          "stage ranks by Xapian's BM25 and the first `rerank_depth` candidates are reranked with the engine's "
          "BM25F. Rankings do not depend on CPU load: these figures are exact.", "",
          f"Targets: MRR@10 within {TARGET_MRR:.0%} of the Whoosh backend, top 10 identical for at least "
          f"{TARGET_TOP10:.0%} of the development topics.", ""]
    md += ["| set | backend | MRR@10 | nDCG@10 | R@100 | MRR vs Whoosh | top 10 identical | same top-10 set | "
           "same top 1 | targets |", "|---|---|---|---|---|---|---|---|---|---|"]
    for data in out["collections"].values():
        for name, r in data["rows"].items():
            m = r["metrics"]
            cells = [f"{m['MRR@10']:.4f}", f"{m['nDCG@10']:.4f}", f"{m['R@100']:.4f}"]
            if name == "whoosh":
                cells += ["", "", "", "", ""]
            else:
                cells += [f"{100 * r['mrr_relative_difference']:+.2f}%", f"{r['top10_identical']:.1%}",
                          f"{r['top10_same_set']:.1%}", f"{r['top1_identical']:.1%}",
                          "met" if r["meets_targets"] else "missed"]
            md.append(f"| {data['name']} ({data['topics']}) | {name} | " + " | ".join(cells) + " |")
    md.append("")
    for data in out["collections"].values():
        md += [f"## {data['name']}", "", data["note"] + ".", ""]
        for name, r in data["rows"].items():
            if name == "whoosh":
                continue
            causes = "; ".join(f"{n} × {c}" for c, n in r["causes"].items()) or "none"
            md += [f"**{name}**: {r['differing_topics']} topics differ in their top 10 (mean overlap@10 "
                   f"{r['mean_overlap_at_10']:.3f}); the relevant document ranks higher with Xapian in "
                   f"{r['reciprocal_rank_changed']['xapian better']} of them, higher with Whoosh in "
                   f"{r['reciprocal_rank_changed']['whoosh better']}. Causes: {causes}.", ""]
        first = next((r for n, r in data["rows"].items() if n != "whoosh"), None)
        if first and first["examples"]:
            md += [f"Examples at rerank_depth={first['rerank_depth']} (ids only in one top 10; relevant rank "
                   "Whoosh / Xapian, top 100):", ""]
            for ex in first["examples"][:EXAMPLES]:
                md.append(f"- `{ex['qid']}` «{ex['query']}»: only Whoosh {ex['only_whoosh']}, only Xapian "
                          f"{ex['only_xapian']}; relevant at {ex['relevant_rank_whoosh']} / "
                          f"{ex['relevant_rank_xapian']}; "
                          f"{ex['cause']} (largest BM25F gap on Whoosh's top 10: "
                          f"{ex['max_score_gap_on_whoosh_top10']}).")
            md.append("")
    (RESULTS / "parity.md").write_text("\n".join(md), encoding="utf-8")
    (RESULTS / "parity.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ki,jki,arcd,nq",
                    help="comma-separated: ki (ANT known-item), jki (JawharaFM known-item), arcd (ARCD-train)")
    ap.add_argument("--shards", type=int, default=2, help="Xapian shards")
    ap.add_argument("--depths", default="100,300", help="Xapian rerank depths, one row each (100 is the default)")
    ap.add_argument("--jobs", type=int, default=2, help="sets run in parallel (parity is not timed)")
    ap.add_argument("--part", type=Path, help=argparse.SUPPRESS)  # a child running one set writes here
    args = ap.parse_args()
    common.setup_logging()
    started = time.perf_counter()
    depths = [int(d) for d in args.depths.split(",") if d]
    sets = [s for s in args.sets.split(",") if s]
    if args.part:
        args.part.write_text(json.dumps(parity_set(sets[0], args.shards, depths), ensure_ascii=False))
        return
    flags = [f"--{k} {v}" for k, v in vars(args).items() if k != "part" and v != ap.get_default(k)]
    out: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(), "shards": args.shards,
        "command": " ".join(["python benchmarks/parity.py", *flags]), "collections": {},
    }
    if args.jobs > 1 and len(sets) > 1:
        procs = []
        for which in sets:
            part = WORK / f"parity-{which}.json"
            part.unlink(missing_ok=True)
            cmd = [sys.executable, str(Path(__file__).resolve()), f"--sets={which}", f"--shards={args.shards}",
                   f"--depths={args.depths}", "--part", str(part)]
            procs.append((which, part, subprocess.Popen(cmd)))
        for which, part, proc in procs:
            if proc.wait() != 0:
                raise SystemExit(f"the parity of {which} failed")
            data = json.loads(part.read_text())
            out["collections"][data["name"]] = data
    else:
        for which in sets:
            data = parity_set(which, args.shards, depths)
            out["collections"][data["name"]] = data
    out["seconds"] = round(time.perf_counter() - started)
    write_report(out)
    log.info("wrote %s", RESULTS / "parity.md")


if __name__ == "__main__":
    main()
