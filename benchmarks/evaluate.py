"""Retrieval quality: the engine, its ablations and the peer engines, on the development sets.

    python benchmarks/evaluate.py [--skip-peers] [--sets ki,jki,arcd,nq] [--arcd-distractors N|all]

Writes results/quality.md, results/quality.json and results/quality.png. Every
row runs in the same process on the same documents and topics; the engine's
rows rank through ``search.runs.run_topics`` (exactly as the web search ranks)
and metrics come from ir-measures (pytrec_eval), not from code of our own.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import inspect
import json
import platform
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import common
import ir_measures
from common import RESULTS, WORK, Collection, log
from ir_measures import RR, R, nDCG

from search.engine import Engine
from search.query import Weights
from search.roots import ROOT_DEPTH, ROOT_WEIGHT
from search.runs import run_topics

MEASURES = [RR @ 10, nDCG @ 10, R @ 10, R @ 100]
MEASURE_NAMES = {str(RR @ 10): "MRR@10", str(nDCG @ 10): "nDCG@10", str(R @ 10): "R@10", str(R @ 100): "R@100"}
DEFAULT_BM25: tuple[float, float] = inspect.signature(Engine.__init__).parameters["bm25"].default


@dataclass
class Row:
    name: str
    what: str
    analyser: str = "baheth"
    weights: Weights = field(default_factory=Weights)
    bm25: tuple[float, float] = DEFAULT_BM25
    peer: str | None = None
    needs_titles: bool = False  # meaningless on a collection indexed without titles
    patch: str | None = None  # a proposed engine change, tried here before it is made (see PATCHES)
    match: str = "auto"  # the engine's default: by relevance, any word


def rows() -> list[Row]:
    """The engine as configured, one row per ablated choice, then the peers."""
    w = Weights()
    b, k1 = DEFAULT_BM25
    out = [
        Row("baheth", f"the engine as shipped: project analyser, title x{w.title}, exact x{w.exact}, lead x{w.lead}, "
            f"BM25F b={b} k1={k1}, the first {ROOT_DEPTH} reranked by roots x{ROOT_WEIGHT:g}"),
        Row("no stemming", "exact (normalised, unstemmed) fields only", weights=Weights(w.title, w.exact, stemmed=False, lead=w.lead)),
        Row("light10 analyser", "Larkey's light10 stemmer instead of the project's (own index)", analyser="light10"),
        Row("snowball analyser", "Snowball's Arabic stemmer (snowballstemmer) instead of the project's (own index)",
            analyser="snowball"),
        Row("no stopword list", "no stopwords removed (own index)", analyser="nostop"),
        Row("no exact-form boost", "exact fields weight 0", weights=Weights(w.title, 0.0, lead=w.lead)),
        Row("no lead field", "the body's first 40 words not weighted apart (lead weight 0)",
            weights=Weights(w.title, w.exact, lead=0.0)),
        Row("lead weight 1", "lead weight 1", weights=Weights(w.title, w.exact, lead=1.0)),
        Row("lead weight 0.5", "lead weight 0.5", weights=Weights(w.title, w.exact, lead=0.5)),
        Row("exact weight 0.25", "exact fields weight 0.25", weights=Weights(w.title, 0.25, lead=w.lead)),
    ]
    for title in (1.0, 2.0):
        if title != w.title:
            out.append(Row(f"title weight {title:g}", f"title weight {title:g} (body 1)", weights=Weights(title, w.exact, lead=w.lead),
                           needs_titles=True))
    for bm in [(0.75, 1.2), (0.4, 0.9), (0.75, 2.0)]:
        if bm != DEFAULT_BM25:
            out.append(Row(f"BM25 b={bm[0]} k1={bm[1]}", "BM25F parameters", bm25=bm))
    out += [
        Row("short: every word", "every word of a query of up to 4 words (after stopwords), any of a longer "
            "one; the default ranks any word by relevance", match="short"),
        Row("match all", "every word of every query, long ones too (falling back to any word when no article "
            "has them all)", match="all"),
        Row("quotes strict", "a quoted phrase inside a longer query matches only as a phrase (the engine also"
            " counts its words one by one there)", weights=Weights(w.title, w.exact, loose_quotes=False, lead=w.lead)),
        Row("no month names", "a month name searched as typed, not by every tradition's name",
            weights=Weights(w.title, w.exact, lead=w.lead, months=False)),
        Row("no name variants", "a word searched as typed, not also by its reviewed spellings (name-variants.tsv)",
            weights=Weights(w.title, w.exact, lead=w.lead, variants=False)),
        Row("no roots rerank", "the best candidates not reranked by the query's roots (search/roots.py)",
            weights=Weights(w.title, w.exact, lead=w.lead, roots=False)),
        Row("no clitic forms", "a word not also searched after the proclitics the light stem keeps (جندوبة = بجندوبة, "
            "one term; search/query.py _clitic_forms)", weights=Weights(w.title, w.exact, lead=w.lead, clitics=False)),
    ]
    out += [
        Row("Lucene ArabicAnalyzer", "Lucene 8 ArabicAnalyzer + BM25 (k1=1.2, b=0.75)", peer="lucene_arabic"),
        Row("SQLite FTS5", "FTS5 unicode61 remove_diacritics 2, bm25()", peer="sqlite_fts5"),
        Row("Whoosh StandardAnalyzer", "stock Whoosh StandardAnalyzer, BM25F", peer="whoosh_standard"),
    ]
    return out


# --- Scoring -----------------------------------------------------------------


def score(ranked: dict[str, list[str]], qrels_path: Path) -> dict[str, float]:
    """Mean of each measure over every topic in the qrels (a topic with no results counts 0).

    Scores handed to trec_eval are 1/rank, so its ordering is the engine's own
    (trec_eval would otherwise re-break score ties by document id).
    """
    qrels = list(ir_measures.read_trec_qrels(str(qrels_path)))
    run = [ir_measures.ScoredDoc(q, d, 1.0 / i) for q, docs in ranked.items() for i, d in enumerate(docs, start=1)]
    per: dict[str, dict[str, float]] = defaultdict(dict)
    for m in ir_measures.iter_calc(MEASURES, qrels, run):
        per[MEASURE_NAMES[str(m.measure)]][m.query_id] = m.value
    qids = sorted({q.query_id for q in qrels})
    return {name: round(sum(per[name].get(q, 0.0) for q in qids) / len(qids), 4) for name in MEASURE_NAMES.values()}


def _relevant(qrels_path: Path) -> dict[str, set[str]]:
    """Each topic's relevant documents."""
    relevant: dict[str, set[str]] = defaultdict(set)
    for q in ir_measures.read_trec_qrels(str(qrels_path)):
        if q.relevance > 0:
            relevant[q.query_id].add(q.doc_id)
    return relevant


def _rr(docs: list[str], wanted: set[str]) -> float:
    """Reciprocal rank of the first relevant document in the top 10 (0 when none is there)."""
    return next((1.0 / i for i, d in enumerate(docs[:10], start=1) if d in wanted), 0.0)


EXPANSION_ROWS = ("no month names", "no name variants")  # query-time expansions: which topics they change


def changed_topics(shipped: str, without: str, qrels_path: Path) -> dict[str, object]:
    """The topics whose top 10 an expansion changes, and its effect on their reciprocal rank."""
    a, b = common.read_run(Path(shipped)), common.read_run(Path(without))
    relevant = _relevant(qrels_path)

    changed = [q for q in relevant if a.get(q, [])[:10] != b.get(q, [])[:10]]
    deltas = [_rr(a.get(q, []), relevant[q]) - _rr(b.get(q, []), relevant[q]) for q in changed]
    return {
        "topics": len(relevant), "changed": len(changed), "better": sum(d > 0 for d in deltas),
        "worse": sum(d < 0 for d in deltas), "mrr_delta": round(sum(deltas) / len(relevant), 4) if relevant else 0.0,
        "examples": changed[:5],
    }


PERMUTATIONS = 10_000  # sign flips of the paired randomization test
TEST_SEED = 20261201


def paired_test(shipped: str, other: str, qrels_path: Path) -> dict[str, object]:
    """The shipped run against another on the same topics: the mean difference of reciprocal rank
    (MRR@10, shipped minus other), the topics each ranks higher, and the two-sided p-value of a paired
    randomization test (each topic's difference kept or sign-flipped at random, PERMUTATIONS times, a
    fixed seed): how often chance alone gives a mean difference as large."""
    import numpy as np

    a, b = common.read_run(Path(shipped)), common.read_run(Path(other))
    relevant = _relevant(qrels_path)

    topics = sorted(relevant)
    diffs = np.array([_rr(a.get(q, []), relevant[q]) - _rr(b.get(q, []), relevant[q]) for q in topics])
    observed = float(diffs.mean()) if len(diffs) else 0.0
    signs = np.random.default_rng(TEST_SEED).choice((-1.0, 1.0), size=(PERMUTATIONS, len(diffs)))
    extreme = int(np.sum(np.abs(signs @ np.abs(diffs)) / max(1, len(diffs)) >= abs(observed) - 1e-12))
    return {"delta": round(observed, 4), "better": int(np.sum(diffs > 0)), "worse": int(np.sum(diffs < 0)),
            "p": round((extreme + 1) / (PERMUTATIONS + 1), 4)}


SYSTEMS = ("baheth", "Lucene ArabicAnalyzer", "SQLite FTS5", "Whoosh StandardAnalyzer")  # the engine and its peers


def ceiling(rows: dict[str, dict[str, object]], qrels_path: Path) -> dict[str, object] | None:
    """How far the systems' own evidence reaches: MRR@10 when each topic takes whichever ranking
    (the engine's or a peer's) puts its first relevant article highest, against the goal of
    1.10 x the best peer (issue #15). An upper bound for any choice or mix among them per topic."""
    if not all(name in rows for name in SYSTEMS):
        return None
    relevant = _relevant(qrels_path)
    runs = {name: common.read_run(Path(rows[name]["run"])) for name in SYSTEMS}

    def rr(name: str, topic: str) -> float:
        return _rr(runs[name].get(topic, []), relevant[topic])

    def best_of(names: tuple[str, ...]) -> float:
        return round(sum(max(rr(n, q) for n in names) for q in relevant) / len(relevant), 4)

    peers = max(rows[name]["metrics"]["MRR@10"] for name in SYSTEMS[1:])  # type: ignore[index]
    return {"with_lucene": best_of(SYSTEMS[:2]), "all": best_of(SYSTEMS), "goal": round(1.10 * peers, 4)}


# --- Our rows ----------------------------------------------------------------


def _cached(kind: str, key: str) -> tuple[Path, dict[str, object] | None]:
    """Runs are cached by everything they depend on, so a re-run only redoes what changed."""
    path = WORK / "cache" / kind / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")
    if path.exists():
        found = json.loads(path.read_text())
        if Path(found["run"]).exists():
            return path, found
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, None


def _source_hash(*files: Path) -> str:
    return hashlib.sha1(b"".join(f.read_bytes() for f in files)).hexdigest()[:10]


def run_engine(row: Row, coll: Collection) -> dict[str, object]:
    root, meta = common.build_index(coll, row.analyser)
    search_dir = common.ROOT / "search"
    # Any change to the engine's code may change a ranking: every module of search/ is in the key.
    # So is its data (the spelling-variant table is read at query time).
    key = repr((root.name, _source_hash(*sorted(search_dir.rglob("*.py")), *sorted((search_dir / "data").glob("*"))),
                row.weights, row.bm25, coll.topics.read_bytes(), row.patch, row.match))
    cache, found = _cached("engine", key)
    if found:
        return found
    topics = common.read_tsv_topics(coll.topics)
    run_path = WORK / "runs" / coll.name / f"{slug(row.name)}-{cache.stem}.run"
    run_path.parent.mkdir(parents=True, exist_ok=True)
    with common.analyser(row.analyser), PATCHES.get(row.patch, contextlib.nullcontext)():
        engine = Engine(root, weights=row.weights, bm25=row.bm25)
        started = time.perf_counter()
        lines = run_topics(engine, topics, limit=100, tag=slug(row.name), match=row.match)
        seconds = time.perf_counter() - started
    run_path.write_text("".join(lines), encoding="utf-8")
    result = {"run": str(run_path), "query_seconds": round(seconds, 1), "index": meta}
    cache.write_text(json.dumps(result))
    return result


PATCHES: dict[str, object] = {}


def run_peer(row: Row, coll: Collection) -> dict[str, object]:
    import peers

    peer_dir = common.HERE / "peers"
    key = repr((row.peer, coll.key(), _source_hash(peer_dir / "peers.py", peer_dir / "LuceneArabic.java"),
                coll.topics.read_bytes()))
    cache, found = _cached("peer", key)
    if found:
        return found
    run_path = WORK / "runs" / coll.name / f"{slug(row.name)}-{cache.stem}.run"
    run_path.parent.mkdir(parents=True, exist_ok=True)
    # A folder per collection: with --jobs 2, two sets' peers of one kind are built at once.
    stats = peers.RUNNERS[row.peer](coll.jsonl(), coll.topics, run_path, WORK / "peers" / coll.name, limit=100)
    result = {"run": str(run_path), "peer_stats": stats}
    cache.write_text(json.dumps(result))
    return result


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


# --- Orthographic robustness --------------------------------------------------------

FATHA, DAMMA, KASRA, SUKUN, SHADDA = "\u064e", "\u064f", "\u0650", "\u0652", "\u0651"
TATWEEL = "\u0640"
ARABIC_LETTER = r"[\u0621-\u064a]"
LAM_ALEF_LIGATURES = {"لا": "\ufefb", "لأ": "\ufef7", "لإ": "\ufef9", "لآ": "\ufef5"}  # ﻻ ﻷ ﻹ ﻵ
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans({"ي": "\u06cc", "ك": "\u06a9"})  # ی ک


def _per_word(text: str, change) -> str:
    return " ".join(change(w) for w in text.split(" "))


def _diacritics(word: str) -> str:
    marks = [FATHA, DAMMA, KASRA, SUKUN, SHADDA + FATHA]
    out = []
    for i, ch in enumerate(word):
        out.append(ch)
        if "\u0621" <= ch <= "\u064a":
            out.append(marks[i % len(marks)])
    return "".join(out)


def _hamza_dropped(word: str) -> str:
    return word.replace("أ", "ا").replace("إ", "ا").replace("آ", "ا")


def _hamza_added(word: str) -> str:
    return "أ" + word[1:] if word.startswith("ا") and not word.startswith("ال") and len(word) > 2 else word


def _final_ya(word: str) -> str:
    if word.endswith("ي"):
        return word[:-1] + "ى"
    if word.endswith("ى"):
        return word[:-1] + "ي"
    return word


def _teh_marbuta(word: str) -> str:
    return word[:-1] + "ه" if word.endswith("ة") else word


def _tatweel(word: str) -> str:
    return word[0] + TATWEEL + word[1:] if len(word) >= 3 and "\u0621" <= word[0] <= "\u064a" else word


def _lam_alef(text: str) -> str:
    for pair, ligature in LAM_ALEF_LIGATURES.items():
        text = text.replace(pair, ligature)
    return text


VARIANTS = {
    "diacritics": lambda t: _per_word(t, _diacritics),
    "hamza dropped (أ إ آ -> ا)": lambda t: _per_word(t, _hamza_dropped),
    "hamza added (ا -> أ)": lambda t: _per_word(t, _hamza_added),
    "final ي <-> ى": lambda t: _per_word(t, _final_ya),
    "final ة -> ه": lambda t: _per_word(t, _teh_marbuta),
    "tatweel": lambda t: _per_word(t, _tatweel),
    "Arabic-Indic digits": lambda t: t.translate(ARABIC_INDIC),
    "lam-alef ligature": _lam_alef,
    "Persian letters (ی ک)": lambda t: t.translate(PERSIAN),
}


def robustness(coll: Collection, sample: int | None) -> dict[str, object]:
    root, _ = common.build_index(coll)
    engine = Engine(root)
    topics = common.read_tsv_topics(coll.topics)[:sample]

    def top10(text: str) -> list[str]:
        return [h.id for h in engine.search(text, per_page=10, snippets=False, facets=False, suggest=False).hits]

    per_variant = {name: [0, 0] for name in VARIANTS}  # identical, applicable
    all_same = 0
    failures: list[dict[str, str]] = []
    for qid, text in topics:
        base = top10(text)
        ok = True
        for name, change in VARIANTS.items():
            varied = change(text)
            if varied == text:
                continue
            per_variant[name][1] += 1
            if top10(varied) == base:
                per_variant[name][0] += 1
            else:
                ok = False
                if len(failures) < 20:
                    failures.append({"qid": qid, "variant": name, "query": text, "varied": varied})
        all_same += ok
    return {
        "queries": len(topics),
        "all_variants_identical": round(all_same / len(topics), 4),
        "variants": {n: {"identical": a, "applicable": b, "share": round(a / b, 4) if b else None}
                     for n, (a, b) in per_variant.items()},
        "failures": failures,
    }


# --- Report ----------------------------------------------------------------------


def write_report(out: dict[str, object]) -> None:
    md = ["# Retrieval quality", "", f"Produced by `python benchmarks/evaluate.py` on {out['date']} "
          f"({out['seconds'] / 60:.0f} min of wall time, reusing the indexes and runs cached in results/work/). Metrics: ir-measures {ir_measures.__version__} (pytrec_eval); "
          "every topic counts, a topic with no results scores 0. Beside each row: the shipped engine's MRR@10 minus "
          "the row's, the topics where the shipped run ranks higher / lower, and the two-sided p of a paired "
          f"randomization test ({PERMUTATIONS:,} sign flips): a difference with p above 0.05 is within what "
          "chance gives on these topics.", ""]
    for coll_name, data in out["collections"].items():
        md += [f"## {coll_name}", "", data["note"], "",
               "| row | MRR@10 | nDCG@10 | R@10 | R@100 | vs Lucene MRR | shipped minus row: MRR@10 (topics +/-, p) "
               "| what |", "|---|---|---|---|---|---|---|---|"]
        lucene = data["rows"].get("Lucene ArabicAnalyzer", {}).get("metrics", {}).get("MRR@10")
        for name, r in data["rows"].items():
            m = r["metrics"]
            ratio = f"{m['MRR@10'] / lucene:.3f}x" if lucene else ""
            cells = " | ".join(f"{m[k]:.4f}" for k in ("MRR@10", "nDCG@10", "R@10", "R@100"))
            bold = "**" if name == "baheth" else ""
            t = r.get("test")
            test = f"{t['delta']:+.4f} ({t['better']}/{t['worse']}, p={t['p']:.3f})" if t else ""
            md.append(f"| {bold}{name}{bold} | {cells} | {ratio} | {test} | {r['what']} |")
        changed = data.get("changed") or {}
        if changed:
            md += ["", "What the query-time expansions change (the shipped run against the row without the "
                   "expansion): topics whose top 10 differs, how many of them rank their article higher or lower, "
                   "and the change of MRR@10 over all topics.", "",
                   "| without | topics changed | better | worse | MRR@10 change from the expansion |", "|---|---|---|---|---|"]
            for name, c in changed.items():
                md.append(f"| {name} | {c['changed']} of {c['topics']} | {c['better']} | {c['worse']} | {c['mrr_delta']:+.4f} |")
        top = data.get("ceiling")
        if top:
            md += ["", f"How far the four systems' evidence reaches: taking for each topic whichever ranking "
                   f"(baheth's or a peer's) puts its first relevant article highest gives MRR@10 **{top['all']:.4f}** "
                   f"(baheth's or Lucene's: {top['with_lucene']:.4f}); the goal, 1.10 x the best peer, is "
                   f"{top['goal']:.4f}."]
        rob = data.get("robustness")
        if rob:
            md += ["", f"Orthographic robustness of `baheth` ({rob['queries']} topics): top-10 identical to the "
                   f"original's for **{rob['all_variants_identical']:.1%}** of topics under every variant.", "",
                   "| variant | identical / applicable | share |", "|---|---|---|"]
            for vname, v in rob["variants"].items():
                share = f"{v['share']:.1%}" if v["share"] is not None else "n/a"
                md.append(f"| {vname} | {v['identical']} / {v['applicable']} | {share} |")
        md.append("")
    md += ["![MRR@10 by row](quality.png)", ""]
    (RESULTS / "quality.md").write_text("\n".join(md), encoding="utf-8")
    (RESULTS / "quality.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    chart(out)


def chart(out: dict[str, object]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colls = list(out["collections"])
    most = max(len(c["rows"]) for c in out["collections"].values())
    fig, axes = plt.subplots(1, len(colls), figsize=(6.5 * len(colls), 0.42 * most + 1.6), squeeze=False)
    for ax, coll in zip(axes[0], colls, strict=True):
        rows_ = out["collections"][coll]["rows"]
        shown = list(rows_)
        vals = [rows_[n]["metrics"]["MRR@10"] for n in shown]
        colours = ["#1b7837" if n == "baheth" else "#762a83" if rows_[n].get("peer") else "#9970ab" for n in shown]
        ax.barh(range(len(shown)), vals, color=colours)
        ax.set_yticks(range(len(shown)), shown, fontsize=8)
        ax.invert_yaxis()
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=7)
        ax.set_xlim(0, min(1.0, max(vals) * 1.18))
        ax.set_title(f"{coll}: MRR@10", fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "quality.png", dpi=110)


def evaluate_set(args: argparse.Namespace, which: str) -> dict[str, object]:
    """Every row and the robustness check on one development set."""
    if which == "ki":
        coll = common.known_item()
    elif which == "jki":
        coll = common.jawhara_known_item()
    elif which == "nq":
        coll = common.news_questions()
    else:
        coll = common.arcd(None if args.arcd_distractors == "all" else int(args.arcd_distractors))
    titles = which not in ("ki", "jki")
    chosen = [r for r in rows() if not (args.skip_peers and r.peer) and (titles or not r.needs_titles)]
    if args.rows:
        chosen = [r for r in chosen if r.name == "baheth" or any(s in r.name for s in args.rows.split(","))]
    data: dict[str, object] = {"name": coll.name, "note": coll.note, "rows": {}}
    for row in chosen:
        log.info("%s: %s", coll.name, row.name)
        result = run_peer(row, coll) if row.peer else run_engine(row, coll)
        result["metrics"] = score(common.read_run(Path(result["run"])), coll.qrels)
        result["what"] = row.what
        result["peer"] = row.peer
        result["config"] = {k: v for k, v in asdict(row).items() if k not in ("name", "what")}
        data["rows"][row.name] = result
        log.info("  %s", result["metrics"])
    data["changed"] = {
        name: changed_topics(data["rows"]["baheth"]["run"], data["rows"][name]["run"], coll.qrels)
        for name in EXPANSION_ROWS
        if name in data["rows"] and "baheth" in data["rows"]
    }
    data["ceiling"] = ceiling(data["rows"], coll.qrels)
    if "baheth" in data["rows"]:
        for name, row_data in data["rows"].items():
            if name != "baheth":
                row_data["test"] = paired_test(data["rows"]["baheth"]["run"], row_data["run"], coll.qrels)
    log.info("%s: orthographic robustness", coll.name)
    data["robustness"] = robustness(coll, args.robust_sample)
    log.info("  %s", data["robustness"]["all_variants_identical"])
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ki,jki,arcd,nq",
                    help="comma-separated: ki (ANT known-item), jki (JawharaFM known-item), arcd (ARCD-train), "
                    "nq (news questions)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--arcd-distractors", default=str(common.ARCD_DISTRACTORS), help="ANT articles added, or 'all'")
    ap.add_argument("--robust-sample", type=int, default=None, help="topics per set for the robustness check (default all)")
    ap.add_argument("--rows", default="", help="only rows whose name contains one of these (comma-separated)")
    ap.add_argument("--jobs", type=int, default=2, help="sets evaluated in parallel (quality is not timed)")
    ap.add_argument("--part", type=Path, help=argparse.SUPPRESS)  # a child evaluating one set writes here
    args = ap.parse_args()
    common.setup_logging()
    sets = [s for s in args.sets.split(",") if s]
    if args.part:
        args.part.write_text(json.dumps(evaluate_set(args, sets[0]), ensure_ascii=False))
        return
    started = time.perf_counter()
    parts = {}
    if args.jobs > 1 and len(sets) > 1:
        passed = ["--skip-peers"] * args.skip_peers + [f"--arcd-distractors={args.arcd_distractors}", f"--rows={args.rows}"]
        if args.robust_sample is not None:
            passed.append(f"--robust-sample={args.robust_sample}")
        procs = []
        for which in sets:
            part = common.WORK / f"quality-{which}.json"
            part.unlink(missing_ok=True)
            cmd = [sys.executable, str(Path(__file__).resolve()), *passed, f"--sets={which}", "--part", str(part)]
            procs.append((which, part, subprocess.Popen(cmd)))
        for which, part, proc in procs:
            if proc.wait() != 0:
                raise SystemExit(f"evaluating {which} failed")
            parts[which] = json.loads(part.read_text())
    else:
        parts = {which: evaluate_set(args, which) for which in sets}
    out: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
                              "collections": {d["name"]: d for d in parts.values()}}
    out["seconds"] = round(time.perf_counter() - started)
    write_report(out)
    log.info("wrote %s", RESULTS / "quality.md")


if __name__ == "__main__":
    main()
