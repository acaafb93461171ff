"""Arabic labels of the category codes news feeds use, shown on the page and accepted in queries.

Every category of the shared corpora (ANT v2.1, JawharaFM) has a label; an
unknown code is shown as it is. A label typed after ``تصنيف:`` (with or without
the article, in any spelling the analyser folds) selects every code it names.
"""

from __future__ import annotations

from search.analysis import normalise, strip_article

CATEGORY_LABELS = {
    "internationalNews": "دولي",
    "middleEast": "الشرق الأوسط",
    "localNews": "وطني",
    "national": "وطني",
    "regional": "جهوي",
    "world": "عالمي",
    "politics": "سياسة",
    "politic": "سياسة",
    "economy": "اقتصاد",
    "sport": "رياضة",
    "sports": "رياضة",
    "technology": "تكنولوجيا",
    "culture": "ثقافة",
    "society": "مجتمع",
    "diverse": "منوعات",
    "health": "صحة",
    "science": "علوم",
}


def category_label(code: str) -> str:
    """The Arabic label of a category code; the code itself when it has none."""
    return CATEGORY_LABELS.get(code, code)


def _folded(text: str) -> str:
    return strip_article(normalise(text.strip()))


def label_matches(code: str, text: str) -> bool:
    """Whether ``text`` names the category ``code`` by its code or by its Arabic label (رياضة, الرياضة)."""
    wanted = _folded(text)
    return bool(wanted) and (_folded(code) == wanted or _folded(category_label(code)) == wanted)
