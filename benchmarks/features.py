"""Evidence beyond bag-of-words, tried before it is built: proximity, coverage and feedback over the top 100.

    python benchmarks/features.py [--sets ki,jki,arcd,nq]

Each candidate feature is measured as a re-ranking of what the shipped engine
returns (its top 100 per topic, from the cached index of ``evaluate.py``):

* proximity: for each pair of neighbouring query words (stems, stopwords left
  out), how often the article has them side by side in order (window 1) or
  within 4 words either way, saturated like BM25 (tf * 2.2 / (tf + 1.2)) and
  weighted; the sequential dependence model's ordered and unordered windows;
* coverage: the share of the query's idf mass whose stems the article holds
  (score x share^p), or its first 40 words hold (score x (1 + w x share));
* pseudo-relevance feedback (RM3-style): the 10 stems most frequent in the top
  3 articles, weighted by idf, added to the query, which is searched again;
* roots at a low weight: the query's words and the article's reduced to their
  roots (NLTK's ISRI root stemmer, Apache-2.0), scored with BM25 (k1 1.2,
  b 0.75, idf over the whole collection's roots) and added to the engine's
  score times a weight: kin words the light stems keep apart (كاتب، يكتبون،
  المكتبات) count for a little.

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
from search.query import Weights

BASE = "engine without the roots rerank"
SETS = {"ki": common.known_item, "jki": common.jawhara_known_item, "arcd": common.arcd, "nq": common.news_questions}
WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def saturate(tf: int) -> float:
    return tf * 2.2 / (tf + 1.2)


def proximity(query: list[str], doc: list[str], window: int) -> float:
    places: dict[str, list[int]] = collections.defaultdict(list)
    for i, word in enumerate(doc):
        places[word].append(i)
    score = 0.0
    for a, b in zip(query, query[1:], strict=False):
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
    engine = Engine(root, weights=Weights(roots=False))  # the candidates before the roots rerank
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
    rows: dict[str, float] = {BASE: mrr({q: [d for d, _ in h] for q, h in base.items()}, relevant)}
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
    rows.update(roots(coll, topics, base, relevant))
    log.info("%s: %s", coll.name, rows)
    return {"name": coll.name, "rows": rows, "seconds": round(time.perf_counter() - started)}


def roots(coll, topics, base, relevant) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Rows for roots at a low weight (see the module docstring), and the same BM25 over the
    project's light stems and over unstemmed forms: whether roots or a second BM25 pay."""
    from nltk.stem.isri import ISRIStemmer  # Apache-2.0; a benchmark dependency only

    from search.analysis import light_stem

    isri = ISRIStemmer()
    rows = {}
    for label, reduce, weights in (("roots (ISRI)", isri.stem, (0.5, 1.0, 2.0, 3.0, 5.0)),
                                   ("light stems (control)", light_stem, (1.0, 3.0)),
                                   ("unstemmed forms (control)", lambda form: form, (1.0, 3.0))):
        rows.update(_reduced_bm25(label, reduce, weights, coll, topics, base, relevant))
    return rows


def _reduced_bm25(label, reduce, weights, coll, topics, base, relevant) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from search.analysis import WORD_PATTERN, memoised_forms, stopwords

    stops = stopwords()
    root_of: dict[str, str] = {}

    def rooted(text: str) -> list[str]:
        found = []
        for word in WORD_PATTERN.findall(text):
            for form in memoised_forms(word):
                if form in stops or len(form) < 2:
                    continue
                if form not in root_of:
                    root_of[form] = reduce(form)
                found.append(root_of[form])
        return found

    df: collections.Counter[str] = collections.Counter()
    lengths, doc_roots = [], {}
    pooled = {doc for hits in base.values() for doc, _ in hits}
    for d in coll.docs:
        found = rooted(d.title + "\n" + d.body)
        df.update(set(found))
        lengths.append(len(found))
        if d.id in pooled:
            doc_roots[d.id] = collections.Counter(found)
    n, average = len(lengths), sum(lengths) / max(1, len(lengths))
    query_roots = {qid: set(rooted(query)) for qid, query in topics}

    def bm25(qid: str, doc: str) -> float:
        tf, dl = doc_roots[doc], sum(doc_roots[doc].values())
        norm = 1.2 * (0.25 + 0.75 * dl / average)
        return sum(math.log(1 + (n - df[r] + 0.5) / (df[r] + 0.5)) * tf[r] * 2.2 / (tf[r] + norm)
                   for r in query_roots[qid] if tf[r])

    feature = {(q, d): bm25(q, d) for q, hits in base.items() for d, _ in hits}
    rows = {}
    for weight in weights:
        ranked = {q: [d for d, s in sorted(hits, key=lambda h: -(h[1] + weight * feature[(q, h[0])]))]
                  for q, hits in base.items()}
        rows[f"{label}, BM25, weight {weight:g}"] = mrr(ranked, relevant)

    def pooled_bm25(qid: str, depth: int = 100) -> dict[str, float]:
        """The same, with statistics from the query's own candidates: no collection-wide table."""
        docs = [d for d, _ in base[qid]][:depth]
        pool_df = collections.Counter(r for d in docs for r in doc_roots[d])
        pool_avg = sum(sum(doc_roots[d].values()) for d in docs) / max(1, len(docs))
        out = {}
        for d in docs:
            tf, dl = doc_roots[d], sum(doc_roots[d].values())
            norm = 1.2 * (0.25 + 0.75 * dl / max(1.0, pool_avg))
            idf = {r: math.log(1 + (len(docs) - pool_df[r] + 0.5) / (pool_df[r] + 0.5)) for r in query_roots[qid]}
            out[d] = sum(idf[r] * tf[r] * 2.2 / (tf[r] + norm) for r in query_roots[qid] if tf[r])
        return out

    if label.startswith("roots"):
        local = {q: pooled_bm25(q) for q in base}
        for weight in weights:
            ranked = {q: [d for d, s in sorted(hits, key=lambda h: -(h[1] + weight * local[q][h[0]]))]
                      for q, hits in base.items()}
            rows[f"{label}, BM25 with the candidates' statistics, weight {weight:g}"] = mrr(ranked, relevant)
        for depth in (10, 15, 20, 30, 50):
            local = {q: pooled_bm25(q, depth) for q in base}
            ranked = {q: [d for d, s in sorted(hits, key=lambda h: -(h[1] + 3.0 * local[q].get(h[0], 0.0)))]
                      for q, hits in base.items()}
            rows[f"{label}, BM25 with the candidates' statistics, the first {depth}, weight 3"] = mrr(ranked, relevant)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ki,jki,arcd,nq")
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
            value, base = p["rows"][name], p["rows"][BASE]
            change = "" if name == BASE else f" ({(value / base - 1) * 100:+.1f}%)"
            cells.append(f"{value:.4f}{change}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    (RESULTS / "features.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s", RESULTS / "features.md")


if __name__ == "__main__":
    main()
