"""Candidate spelling variants of names and words, mined from story groups, for review.

    python benchmarks/variants.py > candidates.json

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
"""

from __future__ import annotations

import collections
import itertools
import json
import sys

import common  # noqa: F401 - puts the repository on sys.path

from search import grouping
from search.analysis import WORD_PATTERN, light_stem, memoised_forms, stopwords, strip_article
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


if __name__ == "__main__":
    json.dump(candidates(), sys.stdout, ensure_ascii=False, indent=1)
