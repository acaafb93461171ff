"""Arabic labels of the category and source codes news feeds use, shown on the page and accepted in queries.

Every category and source of the shared corpora (ANT v2.1, JawharaFM) has a label; an
unknown code is shown as it is. A label typed after ``تصنيف:`` or ``مصدر:`` (with or without
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


# The outlets by the names they publish under (a code is a folder's or a feed's name: «alarabia»
# cited as a source is of no use to a researcher).
SOURCE_LABELS = {
    "alarabia": "العربية",
    "skynews": "سكاي نيوز عربية",
    "france24": "فرانس 24",
    "BBC": "بي بي سي عربي",
    "CNN": "سي إن إن بالعربية",
    "Jawhara FM": "جوهرة أف أم",
}


# Shorter names readers use for them, accepted as the label is (مصدر:سي إن إن).
SOURCE_ALIASES = {
    "skynews": ("سكاي نيوز",),
    "france24": ("فرانس24",),
    "BBC": ("بي بي سي",),
    "CNN": ("سي إن إن",),
    "Jawhara FM": ("جوهرة", "إذاعة جوهرة"),
}


def category_label(code: str) -> str:
    """The Arabic label of a category code; the code itself when it has none."""
    return CATEGORY_LABELS.get(code, code)


def source_label(code: str) -> str:
    """The name an outlet publishes under; the code itself when it has none."""
    return SOURCE_LABELS.get(code, code)


def label_of(field: str, code: str) -> str:
    """The label of a source or category code (any other field's value as it is)."""
    return category_label(code) if field == "category" else source_label(code) if field == "source" else code


def _folded(text: str) -> str:
    return strip_article(normalise(text.strip()))


def label_matches(code: str, text: str, field: str = "category") -> bool:
    """Whether ``text`` names the category (or source) ``code`` by its code or by its Arabic label
    (رياضة, الرياضة; العربية, سكاي نيوز عربية)."""
    wanted = _folded(text)
    aliases = SOURCE_ALIASES.get(code, ()) if field == "source" else ()
    return bool(wanted) and any(_folded(name) == wanted for name in (code, label_of(field, code), *aliases))
