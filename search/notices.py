"""What a reader should know about a search: a machine code, an Arabic and an English message.

Each notice names its code once, here, with both messages as templates. The
page shows the Arabic one with what the user typed isolated in ``<bdi>`` (so
brackets and punctuation stay in place in a right-to-left line); the API
gives the code and both messages; the CLI prints the English one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from search.analysis import has_arabic

# code -> (Arabic template, English template); {text} is what the user typed.
MESSAGES: dict[str, tuple[str, str]] = {
    "query_cut": (
        "اقتُصر البحث على أول {limit} حرف مما كُتب",
        "the query was cut to its first {limit} characters",
    ),
    "too_many_words": (
        "استُخدمت أول {limit} كلمة من البحث فقط",
        "only the first {limit} words of the query were used",
    ),
    "prefix_too_short": (
        "البادئة «{text}*» تحتاج إلى {limit} حرف على الأقل، فبُحث عنها كلمةً كاملة",
        "«{text}*»: a prefix needs at least {limit} letters; searched as a word",
    ),
    "prefix_too_broad": (
        "«{text}*» تطابق كلمات كثيرة، فبُحث عن أكثر {limit} كلمة منها شيوعًا",
        "«{text}*» matches many words; only the {limit} most frequent were searched",
    ),
    "prefix_no_match": (
        "لا كلمة في الأرشيف تبدأ بـ«{text}»",
        "no word in the archive begins with «{text}»",
    ),
    "field_without_word": (
        "«{text}» بلا كلمة بعده، فبُحث عن كل الحقول: اكتب {text}كلمة بلا مسافة",
        "«{text}» has no word after it, so every field was searched: write {text}word, without a space",
    ),
    "page_past_last": (
        "الصفحة {page} بعد آخر صفحة لهذا البحث ({last})",
        "page {page} is past this search's last page ({last})",
    ),
    "unknown_parameter": (
        "المعامل «{text}» غير معروف فلم يُؤخذ به",
        "the parameter «{text}» is not one a search reads; it was ignored",
    ),
    "unknown_source": ("لا يوجد مصدر باسم «{text}»", "no source called «{text}»"),
    "unknown_category": ("لا يوجد تصنيف باسم «{text}»", "no category called «{text}»"),
    "also_searched": ("شمل البحث أيضًا: {text}", "the search also included: {text}"),
    "unknown_group": ("لا توجد مجموعة أخبار بالمعرّف «{text}»", "no story group «{text}»"),
    "no_searchable_words": (
        "لا كلمات يُبحث بها في هذا البحث (كلمات شائعة أو رموز فقط)",
        "the query has no searchable words (only common words or symbols)",
    ),
    "dates_reversed": (
        "تاريخ البداية ({start}) بعد تاريخ النهاية ({end}): لا مقالة بينهما",
        "the start date ({start}) is after the end date ({end}): no article lies between them",
    ),
    "undated_with_range": (
        "المقالات بلا تاريخ لا تقع في أي مدة: أزل المدة أو «بدون تاريخ»",
        "articles without a date lie in no date range: remove the range or «undated»",
    ),
    "not_all_words": (
        "لا مقالة فيها كل الكلمات، فهذه المقالات التي فيها بعضها",
        "no article has all the words: these have some of them",
    ),
    "time_limit": (
        "استغرق البحث وقتًا طويلًا فأُوقف؛ جرّب كلمات أقل أو أندر",
        "the search took too long and was stopped; try fewer or rarer words",
    ),
    "snippets_skipped": (
        "استغرق البحث وقتًا طويلًا: تظهر بعض النتائج بلا مقتطف",
        "the search took too long: some results are shown without a snippet",
    ),
    "partial": (
        "أجاب {answered} من {total} من أجزاء الفهرس فقط: قد تنقص بعض النتائج",
        "only {answered} of {total} shards answered: some results may be missing",
    ),
}


@dataclass(frozen=True)
class Notice:
    code: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.code not in MESSAGES:
            raise ValueError(f"unknown notice code {self.code!r}")

    @property
    def message(self) -> str:
        """English, for the API and the CLI."""
        return MESSAGES[self.code][1].format(**self.params)

    @property
    def message_ar(self) -> str:
        """Arabic, plain text."""
        return MESSAGES[self.code][0].format(**self.params)

    def html_ar(self, number: Callable[[int], str] = str, digits: Callable[[str], str] = str) -> str:
        """Arabic, escaped, with the user's text isolated in <bdi>, numbers written by ``number``
        and the digits of other values (dates) by ``digits``."""
        params = {
            # What the user typed, laid out as the search box lays it out: right to left when it holds
            # Arabic, even when it opens with a Latin word («Facebook تونس»).
            name: f'<bdi dir="{"rtl" if has_arabic(str(value)) else "ltr"}">{html.escape(str(value))}</bdi>'
            if name == "text"
            else html.escape(number(value) if isinstance(value, int) else digits(str(value)))
            for name, value in self.params.items()
        }
        return html.escape(MESSAGES[self.code][0]).format(**params)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_ar": self.message_ar}
