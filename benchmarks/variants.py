"""Candidate spelling variants of names and words, mined from the corpora, for review.

    python benchmarks/variants.py > candidates.json                # from story groups
    python benchmarks/variants.py --vocabulary > candidates.json   # from the whole vocabulary
    python benchmarks/variants.py --table                          # the table's second part, from the review
    python benchmarks/variants.py --effect                         # what the table adds to a search (results/)

Two copies of one report (a story group, search/grouping.py) often differ only in
how each outlet spells a name: ترامب / ترمب, الأمريكي / الأميركي, بوتين / بوتن. For
every group of the shared corpora, each pair of its first six copies is compared:
a word only one copy uses and a word only the other uses are a candidate when
they are within edit distance 2, at least four letters, not stopwords, not one
light stem, each in at least 3 articles (5 for the list printed), and not the
same word with a clitic letter added. Candidates are counted over all groups
(support) and printed most supported first, each with an example pair of copies.
Each was then reviewed by reading it; the accepted ones are
search/data/name-variants.tsv, with their support and candidate numbers.

The story groups find only the spellings two outlets use for one report: a name one
corpus spells one way and the other another (JawharaFM's فايسبوك, ANT's فيسبوك), one
written as two words (فيس بوك) or in Latin letters (Facebook) never meet in a group.
``--vocabulary`` looks at every word of both corpora in at least MIN_DF_LISTED articles,
and proposes three kinds of candidates:

- **letters**: two words that differ only in the letters transliteration varies: the
  letter for a Latin g (غ ج ق ك), v (ف ڤ) or p (ب پ), and the long vowels ا و ي written
  or not inside the word (بوتين/بوتن, غوغل/جوجل), within edit distance 2, not one light
  stem, the edit not at either end (a suffix, a clitic, tanween) unless a letter swap;
- **two words**: a word that is two words of the corpora written together, the two
  written apart in at least MIN_DF_LISTED places (فيسبوك/فيس بوك, عبدالله/عبد الله);
- **Latin**: a Latin word in at least 3 articles and an Arabic word whose consonants
  match it (one letter off at most) in at least 30% of those articles (facebook/فيسبوك).

Each candidate carries the cosine of the two words' contexts (the words two either side,
stopwords left out, over both corpora): a "letters" candidate is listed from CONTEXT
up. Each was reviewed by reading it (2026-12-01): a spelling of one name or word is a
"variant"; a word's other form (a plural, a verb's person, a masdar), another name
(برانسون Branson / برونسون Brunson), a typo of one article or a run-together
phrase (ملياردولار) is "rejected". The review is
benchmarks/data/variant-candidates-vocabulary.jsonl; ``--table`` makes the sets the
table's second part holds from it.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import os
import sys
import time

import common  # noqa: F401 - puts the repository on sys.path

from search import grouping
from search.analysis import WORD_PATTERN, light_stem, memoised_forms, normalise, stopwords, strip_article
from search.ingest import load_sources
from search.spelling import edit_distance

CORPORA = {"ant": common.SHARED / "corpus" / "ant-multisource-v2.1.tar.gz",
           "jawhara": common.SHARED / "corpus" / "ant-jawharafm-v1.1.tar.gz"}
COPIES = 6  # the first copies of a group compared pairwise
MIN_DF, MIN_DF_LISTED, MIN_SUPPORT = 3, 5, 2


def candidates() -> list[dict[str, object]]:
    stops = stopwords()
    support: collections.Counter[tuple[str, str, str]] = collections.Counter()
    example: dict[tuple[str, str, str], tuple[str, str]] = {}
    frequency: dict[str, collections.Counter[str]] = {}
    for name, path in CORPORA.items():
        docs = load_sources([path]).documents
        keys = grouping.group_documents(docs, 2).keys
        words = [{f for s in WORD_PATTERN.findall(d.title + " " + d.body) for f in memoised_forms(s)} for d in docs]
        df = frequency[name] = collections.Counter(w for ws in words for w in ws)
        members: dict[str, list[int]] = collections.defaultdict(list)
        for i, key in enumerate(keys):
            members[key].append(i)
        for group in members.values():
            for a, b in itertools.combinations(group[:COPIES], 2):
                only_a = [w for w in words[a] - words[b] if len(w) >= 4 and w not in stops and df[w] >= MIN_DF]
                only_b = [w for w in words[b] - words[a] if len(w) >= 4 and w not in stops and df[w] >= MIN_DF]
                if len(only_a) > 60 or len(only_b) > 60:
                    continue  # not a light edit: a different text around the same report
                for wa, wb in itertools.product(only_a, only_b):
                    if abs(len(wa) - len(wb)) <= 2 and light_stem(wa) != light_stem(wb) and edit_distance(wa, wb) <= 2:
                        pair = (name, *sorted((wa, wb)))
                        support[pair] += 1
                        example.setdefault(pair, (docs[a].id, docs[b].id))
    found, seen = [], set()
    for (name, a, b), count in support.most_common():
        a0, b0 = strip_article(a), strip_article(b)
        if count < MIN_SUPPORT or min(frequency[name][a], frequency[name][b]) < MIN_DF_LISTED:
            continue
        if a0.endswith(b0) or b0.endswith(a0) or (a0[1:] == b0[1:] and a0[0] in "وفبلكيتن" and b0[0] in "وفبلكيتن"):
            continue  # a clitic or a verb's person, not a spelling
        if (a0, b0) in seen:
            continue
        seen.add((a0, b0))
        found.append({"n": len(found), "a": a0, "b": b0, "support": count, "corpus": name,
                      "df": [frequency[name][a], frequency[name][b]], "example": example[(name, a, b)]})
    return found


CONTEXT = 0.45  # a "letters" candidate's context cosine, from which it is listed for review
LATIN_SHARE = 0.3  # of a Latin word's articles, the share holding the Arabic word
# The letters whose choice transliteration varies, as one class each.
_LETTER_CLASSES = str.maketrans(
    {"غ": "G", "ج": "G", "ق": "G", "ك": "G", "گ": "G", "ڤ": "F", "ف": "F", "پ": "B", "ب": "B"})
_LATIN_CONSONANTS = str.maketrans(
    {"b": "B", "p": "B", "f": "F", "v": "F", "g": "G", "k": "G", "c": "G", "q": "G", "j": "G", "t": "T", "d": "D",
     "s": "S", "z": "S", "x": "GS", "l": "L", "m": "M", "n": "N", "r": "R", **dict.fromkeys("aeiouyhw", "")})
_ARABIC_CONSONANTS = str.maketrans(
    {**dict.fromkeys("بپ", "B"), **dict.fromkeys("فڤ", "F"), **dict.fromkeys("غجقكگخ", "G"), **dict.fromkeys("تط", "T"),
     **dict.fromkeys("دض", "D"), **dict.fromkeys("سصزثش", "S"), "ل": "L", "م": "M", "ن": "N", "ر": "R",
     **dict.fromkeys("هحاويىءعة", "")})


def _letters_key(word: str) -> str:
    """The word's letters as transliteration varies them: long vowels inside it dropped, like letters one class."""
    core = strip_article(word)
    return (core[0] + "".join(ch for ch in core[1:] if ch not in "اويى")).translate(_LETTER_CLASSES)


def _letters_edit_inside(a: str, b: str) -> bool:
    """Is the edit inside the words (or a letter swapped), not a suffix, a clitic or tanween at an end?"""
    start = len(os.path.commonprefix([a, b]))
    end = len(os.path.commonprefix([a[::-1], b[::-1]]))
    return len(a) == len(b) or (start > 0 and end > 0)


def _texts() -> list[list[str]]:
    """Every article of both corpora as its normalised words."""
    norm: dict[str, str] = {}
    texts: list[list[str]] = []
    for path in CORPORA.values():
        for doc in load_sources([path]).documents:
            words = []
            for surface in WORD_PATTERN.findall(doc.title + "\n" + doc.body):
                form = norm.get(surface)
                if form is None:
                    form = norm[surface] = normalise(surface)
                words.append(form)
            texts.append(words)
    return texts


def _counts(texts: list[list[str]]) -> collections.Counter[str]:
    """How often each word and each two-word sequence is written."""
    found: collections.Counter[str] = collections.Counter()
    for words in texts:
        found.update(words)
        found.update(f"{x} {y}" for x, y in zip(words, words[1:], strict=False))
    return found


def vocabulary_candidates() -> list[dict[str, object]]:
    stops = stopwords()
    texts = _texts()
    df = collections.Counter(w for words in texts for w in set(words))
    vocab = sorted(w for w, n in df.items()
                   if n >= MIN_DF_LISTED and len(w) >= 4 and w not in stops and not w.isdigit())
    found: dict[tuple[str, str], str] = {}
    by_key: dict[str, list[str]] = collections.defaultdict(list)
    for w in vocab:
        if not w.isascii():
            by_key[_letters_key(w)].append(w)
    for ws in by_key.values():
        if len(ws) > 12:
            continue  # a key that common: the long vowels of a pattern, not of a name
        for a, b in itertools.combinations(ws, 2):
            a0, b0 = strip_article(a), strip_article(b)
            if a0 == b0 or light_stem(a) == light_stem(b) or edit_distance(a0, b0) > 2 or (a != a0) != (b != b0):
                continue
            if a0.endswith(b0) or b0.endswith(a0) or not _letters_edit_inside(a, b) or min(len(a), len(b)) < 4:
                continue
            found[(a, b)] = "letters"
    wanted: dict[tuple[str, str], str] = {}
    for w in vocab:
        for k in range(3, len(w) - 2):
            x, y = w[:k], w[k:]
            if df[x] >= 3 and df[y] >= 3 and x not in stops and y not in stops:
                wanted[(x, y)] = w
    apart = collections.Counter(
        pair for words in texts for pair in zip(words, words[1:], strict=False) if pair in wanted)
    for (x, y), n in apart.items():
        if n >= MIN_DF_LISTED:
            found[(wanted[(x, y)], f"{x} {y}")] = "two words"
    latin_docs: dict[str, list[int]] = collections.defaultdict(list)
    for k, words in enumerate(texts):
        for w in set(words):
            if w.isascii() and w.isalpha() and len(w) >= 4:
                latin_docs[w].append(k)
    by_consonants: dict[str, list[str]] = collections.defaultdict(list)
    for w in vocab:
        if not w.isascii():
            by_consonants[strip_article(w).translate(_ARABIC_CONSONANTS)].append(w)
    for latin, docs in sorted(latin_docs.items()):
        consonants = latin.translate(_LATIN_CONSONANTS)
        if len(docs) < 3 or len(consonants) < 2:
            continue
        for key, ws in by_consonants.items():
            if edit_distance(key, consonants) > (0 if len(consonants) <= 3 else 1):
                continue
            for w in ws:
                both = sum(1 for k in docs if w in texts[k])
                if both >= 2 and both >= LATIN_SHARE * len(docs):
                    found[(w, latin)] = "Latin"
    context = _contexts({w for pair in found for w in pair}, texts, stops)
    rows = []
    for (a, b), how in found.items():
        cosine = _cosine(context[a], context[b])
        if how == "letters" and cosine < CONTEXT:
            continue
        second = apart[tuple(b.split())] if how == "two words" else len(latin_docs[b]) if how == "Latin" else df[b]
        rows.append({"how": how, "a": a, "b": b, "context": round(cosine, 3), "df": [df[a], second]})
    rows.sort(key=lambda r: (r["how"], -r["context"], r["a"], r["b"]))
    return [{"n": n, **row} for n, row in enumerate(rows)]


def _contexts(wanted: set[str], texts: list[list[str]], stops: frozenset[str]) -> dict[str, collections.Counter[str]]:
    """The words two either side of each wanted word or two-word sequence, stopwords left out."""
    found: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for words in texts:
        for i, w in enumerate(words):
            spans = [(w, i, i)] if w in wanted else []
            if i + 1 < len(words) and f"{w} {words[i + 1]}" in wanted:
                spans.append((f"{w} {words[i + 1]}", i, i + 1))
            for key, start, end in spans:
                for j in (start - 2, start - 1, end + 1, end + 2):
                    if 0 <= j < len(words) and words[j] not in stops:
                        found[key][words[j]] += 1
    return found


def _cosine(a: collections.Counter[str], b: collections.Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(n * b.get(w, 0) for w, n in a.items())
    return dot / math.sqrt(sum(n * n for n in a.values()) * sum(n * n for n in b.values()))


REVIEWED = common.HERE / "data" / "variant-candidates-vocabulary.jsonl"


def _first_part() -> list[str]:
    """The table's lines mined from story groups (before its second part)."""
    from search.analysis import VARIANTS_FILE

    text = VARIANTS_FILE.read_text(encoding="utf-8").split("# --- Second part", 1)[0]
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def table_sets(reviewed: list[dict], written: collections.Counter[str]) -> list[tuple[list[str], list[int]]]:
    """The sets of spellings the accepted candidates join (two by two, then copies of copies),
    each word without the article; a letter both begin with that can be a clitic (و، ب، ل …)
    is left out where the two are written without it more often than with it (ببنعروس -> بنعروس,
    not وستهام -> ستهام): ``written`` counts the words and two-word sequences of the corpora.
    Each set with the numbers of its candidates."""
    parent: dict[str, str] = {}

    def root(w: str) -> str:
        while parent.setdefault(w, w) != w:
            w = parent[w]
        return w

    numbers: dict[str, list[int]] = collections.defaultdict(list)
    for r in reviewed:
        if r["label"] != "variant":
            continue
        a, b = strip_article(r["a"]), (r["b"] if " " in r["b"] else strip_article(r["b"]))
        if a[0] == b[0] and a[0] in "وفبلك" and written[a[1:]] + written[b[1:]] > written[a] + written[b]:
            a, b = a[1:], b[1:]
        parent[root(a)] = root(b)
        numbers[a].append(r["n"])
    members: dict[str, list[str]] = collections.defaultdict(list)
    for w in list(parent):
        members[root(w)].append(w)
    sets = [(sorted(ws), sorted({n for w in ws for n in numbers[w]})) for ws in members.values() if len(ws) > 1]
    return sorted(sets, key=lambda s: s[0])


def effect() -> dict[str, object]:
    """For every spelling in the table: the articles of both corpora that write it, and those that
    write any spelling of its set (what a search for it finds now), counted on the articles' words
    without the article and the clitics (ال، و، ب، ل، ف، ك) a reader's search also reaches."""
    from search.analysis import _variant_sets

    sets: dict[tuple[str, ...], list[str]] = {}
    for word, others in _variant_sets().items():
        sets.setdefault(tuple(sorted((word, *others))), []).append(word)
    spellings = {w for members in sets for w in members}
    articles: dict[str, set[int]] = collections.defaultdict(set)
    for k, words in enumerate(_texts()):
        for i, w in enumerate(words):
            pair = f"{w} {words[i + 1]}" if i + 1 < len(words) else ""
            for form in (w, pair):
                for bare in dict.fromkeys((form, strip_article(form), form[1:], form[2:])):
                    if bare in spellings:
                        articles[bare].add(k)
    rows = []
    for members in sets:
        found = set().union(*(articles[w] for w in members))
        for w in members:
            rows.append({"spelling": w, "set": list(members), "alone": len(articles[w]), "with_set": len(found)})
    widened = [r for r in rows if r["with_set"] > r["alone"]]
    return {"sets": len(sets), "spellings": len(rows), "widened": len(widened),
            "extra_articles": sum(r["with_set"] - r["alone"] for r in widened), "rows": rows}


ISSUE_EXAMPLES = ("ترامب", "ترمب", "فيسبوك", "فايسبوك", "فيس بوك", "facebook", "غوغل", "جوجل", "قوقل", "google",
                  "بوتين", "بوتن")


def write_effect(found: dict[str, object]) -> None:
    rows = sorted(found["rows"], key=lambda r: (r["alone"] - r["with_set"], r["spelling"]))  # type: ignore[union-attr]
    lines = [
        "# Name variants: what a search for one spelling finds",
        "",
        f"Produced by `python benchmarks/variants.py --effect` on {time.strftime('%Y-%m-%d %H:%M')}, over both shared "
        "corpora (41,686 articles). For each spelling in search/data/name-variants.tsv: the articles that write it "
        "(what a search for it found before the table) and those that write any spelling of its set (what it finds "
        "with the table; a query of up to four words). Counted on the articles' normalised words, the article and "
        "clitics left out as the search leaves them out.",
        "",
        f"{found['sets']} sets, {found['spellings']} spellings; a search for {found['widened']} of them finds more "
        f"articles, {found['extra_articles']:,} more in all.",
        "",
        "| spelling | articles writing it | articles a search finds with the table | the set |",
        "|---|---|---|---|",
    ]
    for r in rows[:40]:
        lines.append(f"| {r['spelling']} | {r['alone']:,} | {r['with_set']:,} | {' · '.join(r['set'])} |")
    lines += ["", "The 40 spellings whose searches gain the most articles; every spelling: results/variants.json.", "",
              "The names issue #13 gives as examples:", "",
              "| spelling | articles writing it | articles a search finds with the table |", "|---|---|---|"]
    by_spelling = {r["spelling"]: r for r in rows}
    for name in ISSUE_EXAMPLES:
        r = by_spelling.get(name)
        lines.append(f"| {name} | {r['alone']:,} | {r['with_set']:,} |" if r else f"| {name} | not in the table | |")
    (common.RESULTS / "variants.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (common.RESULTS / "variants.json").write_text(json.dumps(found, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    if "--vocabulary" in sys.argv:
        for row in vocabulary_candidates():
            print(json.dumps(row, ensure_ascii=False))
    elif "--effect" in sys.argv:
        write_effect(effect())
    elif "--table" in sys.argv:
        reviewed = [json.loads(line) for line in REVIEWED.read_text(encoding="utf-8").splitlines() if line.strip()]
        first = [set(line.split("\t")[0].split(",")) for line in _first_part()]
        for spellings, numbers in table_sets(reviewed, _counts(_texts())):
            if any(set(spellings) <= held for held in first):
                continue  # the story groups' part of the table holds it already
            print(f"{','.join(spellings)}\t-\tant+jawhara\t{' '.join(f'v{n}' for n in numbers)}")
    else:
        json.dump(candidates(), sys.stdout, ensure_ascii=False, indent=1)
