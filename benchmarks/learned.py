"""A learned re-ranking of the engine's top 100, tested set by set: does a weighted mix of evidence transfer?

    python benchmarks/learned.py [--sets ki,jki,arcd,nq]

``features.py`` tries one kind of evidence at a time at fixed weights. This
script asks whether weights learned from several development sets together
carry over to a set they were not learned on (the held-out collections are
other sets again). For every topic it takes the shipped engine's top 100
(from the cached index of ``evaluate.py``) and, per article:

* the engine's score over the topic's best score, and the score before the
  roots rerank over that run's best;
* coverage: the share of the query's idf mass whose stems the article holds,
  its first 40 words hold (the lead), its first sentence holds, and the best
  window of twice the query's words holds;
* proximity (``features.proximity``), ordered side by side and unordered
  within 4 words, over the query's distinct words;
* the article's length (log of its words), the share of its words that are
  distinct, whether it has more than two lines, and 1 / its engine rank.

A linear mix (the engine's score at weight 1) is fitted by coordinate ascent
over a grid of weights, two passes, maximising the mean of each set's MRR@10
over its shipped MRR@10 plus half the smallest such ratio (no set left
behind). Leave one set out: fitted on the other sets, measured on the one
left out. A mix is worth building only if every left-out set gains. Fitted on
one set alone, in sample: how far this evidence can take that set at all.
Writes results/learned.md and learned.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import re
import time

import common
import ir_measures
from common import RESULTS, log
from features import SETS, common_lead, proximity

from search.analysis import terms
from search.engine import Engine
from search.query import Weights

NAMES = ("score", "score before roots", "coverage", "lead coverage", "first-sentence coverage",
         "best window coverage", "proximity side by side", "proximity within 4", "log length",
         "distinct share", "more than two lines", "1 / rank")
GRID = (-1.0, -0.5, -0.25, -0.1, -0.05, 0.0, 0.05, 0.1, 0.25, 0.5, 1.0)
FIRST_SENTENCE = re.compile(r"[.!؟?\n]")

Topic = tuple[list[list[float]], list[bool]]  # each candidate's features, whether it is relevant


def candidates(which: str) -> dict[str, Topic]:
    """Each topic's top 100 of the shipped engine, as feature vectors."""
    coll = SETS[which]()
    root, _ = common.build_index(coll)
    engine, before = Engine(root), Engine(root, weights=Weights(roots=False))
    relevant: dict[str, set[str]] = collections.defaultdict(set)
    for q in ir_measures.read_trec_qrels(str(coll.qrels)):
        relevant[q.query_id].add(q.doc_id)
    texts = {d.id: (d.title, d.body) for d in coll.docs}
    snapshot = engine.backend.snapshot()
    n = snapshot.doc_count()
    found: dict[str, Topic] = {}
    for qid, query in common.read_tsv_topics(coll.topics):
        options = {"per_page": 100, "snippets": False, "facets": False, "suggest": False}
        hits = engine.search(query, **options).hits
        earlier = {h.id: h.score for h in before.search(query, **options).hits}
        words = terms(query)
        wanted = set(words)
        idf = {w: math.log(1 + n / (1 + snapshot.doc_frequency("body", w))) for w in wanted}
        total = sum(idf.values()) or 1.0

        def share(held: set[str], idf: dict[str, float] = idf, total: float = total) -> float:
            return sum(weight for w, weight in idf.items() if w in held) / total

        top, top_before = (hits[0].score if hits else 1.0) or 1.0, max(earlier.values(), default=1.0) or 1.0
        span = max(4, 2 * len(wanted))
        rows, rel = [], []
        for rank, hit in enumerate(hits, start=1):
            title, body = texts[hit.id]
            stems = terms(title + "\n" + body)
            best = max((share(set(stems[i : i + span])) for i, w in enumerate(stems) if w in wanted), default=0.0)
            first = FIRST_SENTENCE.split(body.strip(), 1)[0]
            rows.append([hit.score / top, earlier.get(hit.id, 0.0) / top_before, share(set(stems)),
                         share(set(terms(common_lead(body)))), share(set(terms(first))),
                         best, proximity(words, stems, 1) / max(1, len(wanted)),
                         proximity(words, stems, 4) / max(1, len(wanted)), math.log(1 + len(stems)),
                         len(set(stems)) / max(1, len(stems)), float(body.count("\n") > 2), 1 / rank])
            rel.append(hit.id in relevant[qid])
        found[qid] = (rows, rel)
    log.info("%s: %d topics", which, len(found))
    return found


def mrr(topics: dict[str, Topic], weights: list[float]) -> float:
    total = 0.0
    for rows, rel in topics.values():
        scores = [sum(w * x for w, x in zip(weights, row, strict=True)) for row in rows]
        order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
        total += next((1 / k for k, i in enumerate(order[:10], start=1) if rel[i]), 0.0)
    return total / max(1, len(topics))


SHIPPED = [1.0] + [0.0] * (len(NAMES) - 1)


def fit(sets: dict[str, dict[str, Topic]], shipped: dict[str, float], passes: int = 2) -> list[float]:
    def objective(weights: list[float]) -> float:
        ratios = [mrr(topics, weights) / shipped[name] for name, topics in sets.items()]
        return sum(ratios) / len(ratios) + 0.5 * min(ratios)

    weights = SHIPPED[:]
    for _ in range(passes):
        for j in range(1, len(NAMES)):
            best, best_value = objective(weights), weights[j]
            for value in GRID:
                trial = weights[:j] + [value] + weights[j + 1 :]
                score = objective(trial)
                if score > best + 1e-9:
                    best, best_value = score, value
            weights[j] = best_value
    return weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ki,jki,arcd,nq")
    args = ap.parse_args()
    common.setup_logging()
    started = time.perf_counter()
    data = {which: candidates(which) for which in args.sets.split(",") if which}
    shipped = {which: mrr(topics, SHIPPED) for which, topics in data.items()}
    rows = []
    for held in data:
        weights = fit({k: v for k, v in data.items() if k != held}, shipped)
        rows.append({"left out": held, "weights": dict(zip(NAMES, weights, strict=True)),
                     "mrr": {k: mrr(v, weights) for k, v in data.items()}})
        log.info("left out %s: %s", held, rows[-1]["mrr"])
    for alone in data:
        weights = fit({alone: data[alone]}, shipped)
        rows.append({"left out": None, "alone": alone, "weights": dict(zip(NAMES, weights, strict=True)),
                     "mrr": {k: mrr(v, weights) for k, v in data.items()}})
        log.info("fitted on %s alone: %s", alone, rows[-1]["mrr"])
    weights = fit(data, shipped)
    rows.append({"left out": None, "weights": dict(zip(NAMES, weights, strict=True)),
                 "mrr": {k: mrr(v, weights) for k, v in data.items()}})
    result = {"shipped": shipped, "rows": rows, "minutes": round((time.perf_counter() - started) / 60, 1)}
    (RESULTS / "learned.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = ["# A learned re-ranking, left out one set at a time", "",
             f"Produced by `python benchmarks/learned.py` on {time.strftime('%Y-%m-%d %H:%M')} "
             f"({result['minutes']} min). What is mixed and how it is fitted: the script's docstring. MRR@10 computed "
             "here (the first relevant article's reciprocal rank within the top 10), change against the shipped "
             "engine in brackets; **bold**: the set the mix was not fitted on.", "",
             "| fitted without | " + " | ".join(data) + " | weights other than the score's 1 |",
             "|---|" + "---|" * len(data) + "---|",
             "| (shipped engine) | " + " | ".join(f"{shipped[k]:.4f}" for k in data) + " | |"]
    for row in rows:
        cells = []
        for k in data:
            cell = f"{row['mrr'][k]:.4f} ({(row['mrr'][k] / shipped[k] - 1) * 100:+.1f}%)"
            cells.append(f"**{cell}**" if k == row["left out"] else cell)
        mix = ", ".join(f"{name} {w:+g}" for name, w in list(row["weights"].items())[1:] if w)
        label = row["left out"] or (f"every set but {row['alone']} (fitted on it alone)" if row.get("alone")
                                    else "nothing (fitted on every set)")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {mix} |")
    lines += ["", "A mix is built only if every left-out set gains (bold cells all above the shipped engine)."]
    (RESULTS / "learned.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s", RESULTS / "learned.md")


if __name__ == "__main__":
    main()
