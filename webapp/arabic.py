"""How the page writes numbers, counts and ranges in Arabic.

One rule for digits on a page (the ``digits`` setting: Arabic-Indic ٠١٢… or
Western 012…), and the Arabic plural forms of a counted noun: ٠ and 1 and 2
have their own forms, 3–10 take the plural, 11–99 the singular (accusative),
and each hundred starts again (١٠٠ نتيجة، ١٠٣ نتائج، ١١١ نتيجة).
"""

from __future__ import annotations

from dataclasses import dataclass

from search.analysis import ARABIC_INDIC_DIGITS

EASTERN = str.maketrans("0123456789", ARABIC_INDIC_DIGITS)


def digits(text: str, style: str) -> str:
    """``text`` with its digits in the page's style ("eastern" or "western")."""
    return text.translate(EASTERN) if style == "eastern" else text


def number(value: int | float, style: str) -> str:
    """A whole number with thousands separated (٣٬٦٩١ or 3,691)."""
    if style == "eastern":
        return f"{value:,}".replace(",", "٬").translate(EASTERN)
    return f"{value:,}"


@dataclass(frozen=True)
class Noun:
    """A counted noun's forms: none, one, two, 3–10, 11 and up."""

    zero: str
    one: str
    two: str
    few: str
    many: str


RESULTS = Noun("لا نتائج", "نتيجة واحدة", "نتيجتان", "نتائج", "نتيجة")
ARTICLES = Noun("لا مقالات", "مقالة واحدة", "مقالتان", "مقالات", "مقالة")
OTHER_COPIES = Noun("لا نسخ أخرى", "نسخة أخرى", "نسختان أخريان", "نسخ أخرى", "نسخة أخرى")
HIDDEN_COPIES = Noun("لا نسخ مكرّرة", "نسخة مكرّرة واحدة", "نسختان مكرّرتان", "نسخ مكرّرة", "نسخة مكرّرة")


def counted(n: int, noun: Noun, style: str) -> str:
    """«نتيجة واحدة»، «نتيجتان»، «٣ نتائج»، «١١ نتيجة»، «١٠٣ نتائج»."""
    if n == 0:
        return noun.zero
    if n == 1:
        return noun.one
    if n == 2:
        return noun.two
    rest = n % 100
    word = noun.few if 3 <= rest <= 10 else noun.many
    return f"{number(n, style)} {word}"


def result_range(first: int, last: int, total: int, style: str) -> str:
    """«١١–٢٠ من ٩٥ نتيجة» (the noun agrees with the total)."""
    if last < first or (total <= last and first == 1):
        return counted(total, RESULTS, style)
    noun = RESULTS.few if 3 <= total % 100 <= 10 else RESULTS.many
    return f"{number(first, style)}–{number(last, style)} من {number(total, style)} {noun}"
