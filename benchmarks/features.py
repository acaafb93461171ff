"""Evidence beyond bag-of-words, tried before it is built: proximity, coverage and feedback over the top 100.

    python benchmarks/features.py [--sets ki,jki,arcd]

Each candidate feature is measured as a re-ranking of what the shipped engine
returns (its top 100 per topic, from the cached index of ``evaluate.py``):

* proximity: for each pair of neighbouring query words (stems, stopwords left
  out), how often the article has them side by side in order (window 1) or
  within 4 words either way, saturated like BM25 (tf * 2.2 / (tf + 1.2)) and
  weighted; the sequential dependence model's ordered and unordered windows;
* coverage: the share of the query's idf mass whose stems the article holds
  (score x share^p), or its first 40 words hold (score x (1 + w x share));
* pseudo-relevance feedback (RM3-style): the 10 stems most frequent in the top
  3 articles, weighted by idf, added to the query, which is searched again.

A feature that does not pay on every set at once is not built into the engine;
one that does is built as a real field and measured again by ``evaluate.py``.
Writes results/features.md.
"""

from __future__ import annotations

import argparse
import collections
import math
import time

import common
import ir_measures
from common import RESULTS, log

from search.analysis import terms
from search.engine import Engine

SETS = {"ki": common.known_item, "jki": common.jawhara_known_item, "arcd": common.arcd}
WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def saturate(tf: int) -> float:
    return tf * 2.2 / (tf + 1.2)


def proximity(query: list[str], doc: list[str], window: int) -> float:
    places: dict[str, list[int]] = collections.defaultdict(list)
    for i, word in enumerate(doc):
        places[word].append(i)
    score = 0.0
    for a, b in zip(query, query[1:]):
        if a == b or a not in places or b not in places:
            continue
        after = set(places[b])
        if window == 1:
            tf = sum(1 for i in places[a] if i + 1 in after)
        else:
            tf = sum(1 for i in places[a] if any(j in after for j in range(i - window, i + window + 1) if j != i))
        if tf:
            score += saturate(tf)
    return score


def common_lead(body: str) -> str:
    from search.ingest import Document

    return Document(id="", body=body).lead


def mrr(ranked: dict[str, list[str]], relevant: dict[str, set[str]]) -> float:
    total = 0.0
    for qid, rel in relevant.items():
        for i, doc in enumerate(ranked.get(qid, [])[:10], start=1):
            if doc in rel:
                total += 1 / i
                break
    return total / len(relevant)


def measure(which: str) -> dict[str, object]:
    coll = SETS[which]()
    root, _ = common.build_index(coll)
    engine = Engine(root)
    topics = common.read_tsv_topics(coll.topics)
    relevant: dict[str, set[str]] = collections.defaultdict(set)
    for q in ir_measures.read_trec_qrels(str(coll.qrels)):
        relevant[q.query_id].add(q.doc_id)
    bodies = {d.id: d.body for d in coll.docs}
    started = time.perf_counter()
    base = {}
    for qid, query in topics:
        result = engine.search(query, per_page=100, snippets=False, facets=False, suggest=False)
        base[qid] = [(h.id, h.score) for h in result.hits]
    stems = {doc: terms(bodies[doc]) for hits in base.values() for doc, _ in hits}
    query_stems = {qid: terms(query) for qid, query in topics}
    rows: dict[str, float] = {"engine as shipped": mrr({q: [d for d, _ in h] for q, h in base.items()}, relevant)}
    for window, label in ((1, "ordered, side by side"), (4, "unordered, within 4 words")):
        feature = {(q, d): proximity(query_stems[q], stems[d], window) for q, hits in base.items() for d, _ in hits}
        for weight in WEIGHTS[1:]:
            ranked = {q: [d for d, s in sorted(hits, key=lambda h: -(h[1] + weight * feature[(q, h[0])]))]
                      for q, hits in base.items()}
            rows[f"proximity {label}, weight {weight:g}"] = mrr(ranked, relevant)
    snapshot = engine.backend.snapshot()
    n = snapshot.doc_count()
    # Coverage: the share of the query's idf mass whose stems the article (or its lead) holds.
    idf: dict[str, float] = {}
    for qs in query_stems.values():
        for w in qs:
            if w not in idf:
                idf[w] = math.log(1 + n / (1 + snapshot.doc_frequency("body", w)))
    leads = {doc: set(terms(common_lead(bodies[doc]))) for doc in stems}
    sets = {doc: set(words) for doc, words in stems.items()}

    def coverage(qid: str, held: set[str]) -> float:
        wanted = set(query_stems[qid])
        total = sum(idf[w] for w in wanted)
        return sum(idf[w] for w in wanted if w in held) / total if total else 0.0

    for power in (0.5, 1.0, 2.0):
        ranked = {q: [d for d, s in sorted(hits, key=lambda h: -(h[1] * coverage(q, sets[h[0]]) ** power))]
                  for q, hits in base.items()}
        rows[f"coverage: score x (idf share of query stems in the article)^{power:g}"] = mrr(ranked, relevant)
    for weight in (0.25, 0.5, 1.0):
        ranked = {q: [d for d, s in sorted(hits, key=lambda h: -(h[1] * (1 + weight * coverage(q, leads[h[0]]))))]
                  for q, hits in base.items()}
        rows[f"lead coverage: score x (1 + {weight:g} x idf share of query stems in the first 40 words)"] = mrr(
            ranked, relevant)
    # RM3-style feedback: expand with the top articles' most telling stems, search again.
    expanded = {}
    for qid, query in topics:
        counts: collections.Counter[str] = collections.Counter()
        for doc, _ in base[qid][:3]:
            counts.update(stems[doc])
        scored = {w: c * math.log(n / (1 + snapshot.doc_frequency("body", w)))
                  for w, c in counts.items() if w not in query_stems[qid]}
        extra = [w for w, _ in sorted(scored.items(), key=lambda kv: -kv[1])[:10]]
        result = engine.search(query + " " + " ".join(extra), per_page=100, snippets=False, facets=False, suggest=False)
        expanded[qid] = [h.id for h in result.hits]
    rows["feedback: + 10 stems of the top 3 (RM3-style)"] = mrr(expanded, relevant)
    log.info("%s: %s", coll.name, rows)
    return {"name": coll.name, "rows": rows, "seconds": round(time.perf_counter() - started)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ki,jki,arcd")
    args = ap.parse_args()
    common.setup_logging()
    parts = [measure(s) for s in args.sets.split(",") if s]
    names = list(parts[0]["rows"])
    lines = [
        "# Candidate evidence, as re-rankings of the engine's top 100",
        "",
        f"Produced by `python benchmarks/features.py` on {time.strftime('%Y-%m-%d %H:%M')}. MRR@10 per "
        "development set (computed here: the first relevant article's reciprocal rank within the top 10; "
        "`evaluate.py` computes the same with ir-measures). A feature is built only if it pays on every set.",
        "",
        "| candidate | " + " | ".join(p["name"] for p in parts) + " |",
        "|---|" + "---|" * len(parts),
    ]
    for name in names:
        cells = []
        for p in parts:
            value, base = p["rows"][name], p["rows"]["engine as shipped"]
            change = "" if name == "engine as shipped" else f" ({(value / base - 1) * 100:+.1f}%)"
            cells.append(f"{value:.4f}{change}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    (RESULTS / "features.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s", RESULTS / "features.md")


if __name__ == "__main__":
    main()
