"""Print candidate entries for search/data/waw-initial.txt from a corpus.

A word w = و + r (four letters or more) is a candidate when it is seen at least
MIN_COUNT times and r, bare or with a common clitic, occurs less than a tenth as
often: then the و is most likely a root letter (وزارة, واشنطن), not "and".
The output is read by hand before it goes into the lexicon.

    python scripts/derive_waw_lexicon.py ../shared/corpus/ant-jawharafm-v1.1.tar.gz
"""

from __future__ import annotations

import sys
from collections import Counter

from search.analysis import WORD_PATTERN, normalise
from search.ingest import load_sources

MIN_COUNT = 8


def main(paths: list[str]) -> None:
    counts: Counter[str] = Counter()
    for doc in load_sources(paths).documents:
        for match in WORD_PATTERN.finditer(doc.title + "\n" + doc.body):
            counts[normalise(match.group(0))] += 1
    for word, n in counts.most_common():
        if n < MIN_COUNT or len(word) < 4 or not word.startswith("و") or word.startswith("وال"):
            continue
        rest = word[1:]
        rest_count = sum(counts[p + rest] for p in ("", "ال", "ب", "ل", "ف"))
        if rest_count < 0.1 * n:
            print(f"{word}\t{n}\t{rest_count}")


if __name__ == "__main__":
    main(sys.argv[1:])
