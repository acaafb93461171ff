"""What the quality and speed benchmarks share: collections, analyser variants, cached indexes, runs.

Indexes are cached under ``results/work/indexes/<collection>-<analyser>-<fingerprint>``;
the fingerprint covers the analyser's code and word lists, the index schema and
the collection, so an analyser change rebuilds and nothing stale is measured.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "peers"))

import search.backends.whoosh.schema  # noqa: E402
import search.backends.whoosh.store  # noqa: E402
import search.query  # noqa: E402
from search import analysis  # noqa: E402
from search.ingest import Document, LoadResult, load_sources  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "ant-multisource-v2.1.tar.gz"
EVAL = SHARED / "eval"
RESULTS = HERE / "results"
WORK = RESULTS / "work"
ARCD_DISTRACTORS = 9_769  # ANT articles added to ARCD's 231 paragraphs: a 10,000-document collection

log = logging.getLogger("bench")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")


# --- Analyser variants ----------------------------------------------------------


def _no_stop_stem() -> object:
    return analysis.TOKENIZER | analysis.ArabicStemFilter()


def _no_stop_exact() -> object:
    return analysis.TOKENIZER


def _light10_stem() -> object:
    return analysis.TOKENIZER | analysis.ArabicStopFilter() | analysis.Light10StemFilter()


@functools.lru_cache(maxsize=200_000)
def _snowball_word(word: str) -> str:
    import snowballstemmer

    global _SNOWBALL
    if _SNOWBALL is None:
        _SNOWBALL = snowballstemmer.stemmer("arabic")
    return _SNOWBALL.stemWord(word) or word


_SNOWBALL = None


class SnowballStemFilter(analysis.Filter):
    """Snowball's Arabic stemmer (snowballstemmer, BSD-3): an independent stemmer to compare with.
    Stateless, so the schema that holds it can be pickled into the index."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __call__(self, tokens):  # type: ignore[no-untyped-def]
        for t in tokens:
            t.text = _snowball_word(t.text)
            yield t


def _snowball_stem() -> object:
    return analysis.TOKENIZER | analysis.ArabicStopFilter() | SnowballStemFilter()


# name -> (stemmed analyser, exact analyser), both used at index and at query time
ANALYSERS: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
    "baheth": (analysis.stem_analyzer, analysis.exact_analyzer),
    "light10": (_light10_stem, analysis.exact_analyzer),
    "nostop": (_no_stop_stem, _no_stop_exact),
    "snowball": (_snowball_stem, analysis.exact_analyzer),
}


@contextlib.contextmanager
def analyser(name: str) -> Iterator[None]:
    """Make the engine index and parse queries with an analyser variant."""
    stem, exact = ANALYSERS[name]
    saved = [(m, a, getattr(m, a)) for m in (search.backends.whoosh.schema, search.query) for a in ("stem_analyzer", "exact_analyzer")]
    for module in (search.backends.whoosh.schema, search.query):
        module.stem_analyzer, module.exact_analyzer = stem, exact
    try:
        yield
    finally:
        for module, attr, value in saved:
            setattr(module, attr, value)


def fingerprint(*extra: str) -> str:
    """What an index's content depends on: the analyser, its word lists, the schema, the field mapping and
    how a loader joins an abstract to its text."""
    import ast

    h = hashlib.sha1()
    for path in [ROOT / "search" / "analysis.py", *sorted((ROOT / "search" / "data").glob("*.txt"))]:
        h.update(path.read_bytes())
    # From the file as it is now (inspect.getsource would mix an imported module's
    # line numbers with a file another engineer has since edited).
    source = (ROOT / "search" / "backends" / "whoosh" / "schema.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in ("make_schema", "to_fields"):
            h.update((ast.get_source_segment(source, node) or "").encode())
    # What a loader makes an article's body of (an abstract kept or not changes every count).
    source = (ROOT / "search" / "ingest" / "__init__.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "_abstract_and_text":
            h.update((ast.get_source_segment(source, node) or "").encode())
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:10]


# --- Collections ---------------------------------------------------------------


@dataclass
class Collection:
    name: str
    docs: list[Document]
    topics: Path
    qrels: Path
    note: str

    def key(self) -> str:
        return hashlib.sha1("\n".join(f"{d.id}\t{len(d.title)}\t{len(d.body)}" for d in self.docs).encode()).hexdigest()[:10]

    def jsonl(self) -> Path:
        """The collection as the peers read it (id, title, body)."""
        path = WORK / "collections" / f"{self.name}-{self.key()}.jsonl"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as out:
                for d in self.docs:
                    out.write(json.dumps({"id": d.id, "title": d.title, "body": d.body}, ensure_ascii=False) + "\n")
            tmp.rename(path)
        return path


_ANT: list[Document] | None = None


def ant_documents() -> list[Document]:
    global _ANT
    if _ANT is None:
        log.info("reading %s", CORPUS.name)
        _ANT = load_sources([CORPUS]).documents
    return [Document(**{**d.__dict__}) for d in _ANT]  # copies: callers change titles


def _stable_order(doc_id: str) -> str:
    return hashlib.sha1(doc_id.encode()).hexdigest()


def known_item() -> Collection:
    docs = ant_documents()
    for d in docs:
        d.title = ""  # the headline is the query: index without titles
    return Collection(
        "ant-known-item", docs, EVAL / "ant-known-item.tsv", EVAL / "ant-known-item.qrels",
        f"ANT v2.1, {len(docs):,} articles indexed without titles; 500 headlines, one relevant article each",
    )


JAWHARA = SHARED / "corpus" / "ant-jawharafm-v1.1.tar.gz"
JAWHARA_TOPICS = 500


def _same_story_key(text: str) -> str:
    return " ".join(analysis.normalise(text).split())


def jawhara_known_item() -> Collection:
    """Headlines of JawharaFM (Tunisia) find their article, indexed without titles, like the ANT set.

    Built here from the corpus, not from any test collection: the 500 articles whose
    sha1(id) sort first among those with a headline of at least 3 words and a body of at
    least 40; the query is the headline. A republished twin counts as relevant: another
    article with the same headline or the same body (after normalisation)."""
    docs = load_sources([JAWHARA]).documents
    by_title: dict[str, list[str]] = {}
    by_body: dict[str, list[str]] = {}
    for d in docs:
        by_title.setdefault(_same_story_key(d.title), []).append(d.id)
        by_body.setdefault(_same_story_key(d.body), []).append(d.id)
    eligible = [d for d in docs if len(d.title.split()) >= 3 and len(d.body.split()) >= 40]
    chosen = sorted(eligible, key=lambda d: _stable_order(d.id))[:JAWHARA_TOPICS]
    topics, qrels = [], []
    for n, d in enumerate(chosen, start=1):
        qid = f"jk{n:03d}"
        topics.append((qid, " ".join(d.title.split())))
        relevant = dict.fromkeys([d.id, *by_title[_same_story_key(d.title)], *by_body[_same_story_key(d.body)]])
        qrels += [f"{qid} 0 {doc_id} 1\n" for doc_id in relevant]
    topic_path = write_topics(topics, WORK / "sets" / "jawhara-known-item.tsv")
    qrel_path = WORK / "sets" / "jawhara-known-item.qrels"
    qrel_path.write_text("".join(qrels), encoding="utf-8")
    twins = len(qrels) - len(topics)
    for d in docs:
        d.title = ""
    return Collection(
        "jawhara-known-item", docs, topic_path, qrel_path,
        f"ANT JawharaFM v1.1, {len(docs):,} Tunisian articles indexed without titles; {len(topics)} headlines "
        f"(sha1(id) order), each relevant to its article and its republished twins ({twins} twins in all)",
    )


NEWS_QUESTIONS = HERE / "data" / "news-questions.tsv"
NEWS_QUESTION_DOCS = 10_000


def news_questions() -> Collection:
    """Questions a reader asks of the news, each answered by one ANT article (benchmarks/data/news-questions.tsv).

    Built from the corpus, not from any test collection: the 320 articles (of ANT's 10,000 whose
    sha1(id) sort first: the collection, indexed with titles) with a headline of 3 words or more and
    a body of 120 or more, in sha1("news-questions:" + id) order. Four annotators each read a
    quarter and wrote one question per article from a written guideline (data/news-questions-guideline.md):
    specific to the article, in their own words (no headline, no run of more than three words of
    the text), beginning with a question word. The article and its republished twins (same
    normalised headline or body) are relevant."""
    docs = ant_subset(NEWS_QUESTION_DOCS)
    by_title: dict[str, list[str]] = {}
    by_body: dict[str, list[str]] = {}
    for d in docs:
        by_title.setdefault(_same_story_key(d.title), []).append(d.id)
        by_body.setdefault(_same_story_key(d.body), []).append(d.id)
    article = {d.id: d for d in docs}
    topics, qrels = [], []
    for line in NEWS_QUESTIONS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        qid, doc_id, question = line.split("\t")
        d = article[doc_id]
        topics.append((qid, question))
        relevant = dict.fromkeys([d.id, *by_title[_same_story_key(d.title)], *by_body[_same_story_key(d.body)]])
        qrels += [f"{qid} 0 {doc_id} 1\n" for doc_id in relevant]
    topic_path = write_topics(topics, WORK / "sets" / "news-questions.tsv")
    qrel_path = WORK / "sets" / "news-questions.qrels"
    qrel_path.write_text("".join(qrels), encoding="utf-8")
    return Collection(
        "news-questions", docs, topic_path, qrel_path,
        f"{len(docs):,} ANT articles (with titles); {len(topics)} questions written from one article each, "
        f"in the annotators' own words; the article and its republished twins ({len(qrels) - len(topics)}) relevant",
    )


def ant_subset(n: int) -> list[Document]:
    """A fixed subset of ANT: the n articles whose sha1(id) sort first."""
    docs = ant_documents()
    return sorted(docs, key=lambda d: _stable_order(d.id))[:n]


def arcd(distractors: int | None = ARCD_DISTRACTORS) -> Collection:
    paragraphs = load_sources([EVAL / "arcd-train.jsonl"]).documents
    ant = ant_documents() if distractors is None else ant_subset(distractors)
    docs = paragraphs + sorted(ant, key=lambda d: d.id)
    return Collection(
        "arcd-train", docs, EVAL / "arcd-train.tsv", EVAL / "arcd-train.qrels",
        f"ARCD-train's {len(paragraphs)} paragraphs + {len(ant):,} ANT articles (with titles) as distractors"
        f" = {len(docs):,} documents; 693 questions",
    )


# --- Our indexes ---------------------------------------------------------------


def build_index(coll: Collection, variant: str = "baheth", procs: int = 2) -> tuple[Path, dict[str, object]]:
    """The cached index of a collection under an analyser variant; built when missing."""
    root = WORK / "indexes" / f"{coll.name}-{variant}-{fingerprint(variant, coll.key())}"
    meta_path = root / "bench.json"
    if meta_path.exists():
        return root, json.loads(meta_path.read_text())
    shutil.rmtree(root, ignore_errors=True)
    log.info("building %s (%s analyser, %d docs)...", root.name, variant, len(coll.docs))
    started = time.perf_counter()
    with analyser(variant):
        report = search.backends.whoosh.store.build(root, LoadResult(documents=list(coll.docs)), [coll.name], procs=procs)
    meta = {"seconds": round(time.perf_counter() - started, 1), "documents": report.indexed, "bytes": report.size_bytes}
    meta_path.write_text(json.dumps(meta))
    log.info("built %s in %.0f s", root.name, meta["seconds"])
    return root, meta


# --- Runs --------------------------------------------------------------------


def read_tsv_topics(path: Path) -> list[tuple[str, str]]:
    from search.runs import read_topics

    return read_topics(path)


def write_topics(topics: list[tuple[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{q}\t{t}\n" for q, t in topics), encoding="utf-8")
    return path


def read_run(path: Path) -> dict[str, list[str]]:
    """A TREC run as qid -> doc ids in rank order."""
    ranked: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 6:
            ranked.setdefault(parts[0], []).append((int(parts[3]), parts[2]))
    return {q: [d for _, d in sorted(v)] for q, v in ranked.items()}
