"""The Arabic analyser: normalise -> tokenize (offsets into the original) -> stopwords -> stem.

Everything the engine knows about Arabic spelling lives in this module. The
same analysers are used when indexing and when parsing a query, so a reader's
spelling and the article's spelling meet on the same terms.

The chain is made of small Whoosh pieces composed with ``|``:

* :class:`ArabicTokenizer` finds words in the ORIGINAL text (so ``startchar`` /
  ``endchar`` point into what the reader sees) and normalises each one;
* :class:`ArabicStopFilter` drops function words, clitic-attached ones included;
* :class:`ArabicStemFilter` applies the light stemmer :func:`light_stem`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import chain
from pathlib import Path

from pyarabic import araby
from whoosh.analysis import Analyzer, Filter, Token, Tokenizer

# --- Character classes -------------------------------------------------------

# Single letters by name from pyarabic's table of the Arabic alphabet.
TATWEEL = araby.TATWEEL  # kashida, a stretching stroke with no meaning
SUPERSCRIPT_ALEF = araby.SMALL_ALEF  # dagger alef, a vowel mark
HARAKAT = "\u064b-\u065f"  # tanween, fatha, damma, kasra, shadda, sukun and other marks
QURANIC_MARKS = "\u06d6-\u06ed"  # small high letters and pause marks of Quranic text
# Zero-width, bidi and other invisible format controls that editors leave inside
# words: ZWSP, ZWNJ, ZWJ, LRM, RLM, ALM, LRE..RLO, LRI..PDI, soft hyphen, word
# joiner and invisible operators, the deprecated Arabic shaping and digit controls,
# the BOM used as a zero-width no-break space; and Unicode's other default-ignorable
# marks: the combining grapheme joiner, Mongolian selectors, variation selectors, tags.
# (The Hangul fillers, default-ignorable too, are letters: they make no word here.)
FORMAT_CONTROL_RANGES = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x206F), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]
FORMAT_CONTROLS = "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in FORMAT_CONTROL_RANGES)
# Longer "words" (a hostile or broken text) are cut to this many characters, at
# index and at query time alike, so no term, stem or suggestion costs more.
MAX_TERM_CHARS = 100

ALEF = araby.ALEF  # ا
# أ إ آ ٱ: alef with hamza above, below, with madda, wasla
ALEF_VARIANTS = araby.ALEF_HAMZA_ABOVE + araby.ALEF_HAMZA_BELOW + araby.ALEF_MADDA + araby.ALEF_WASLA
ALEF_MAKSURA = araby.ALEF_MAKSURA  # ى
YEH = araby.YEH  # ي
TEH_MARBUTA = araby.TEH_MARBUTA  # ة
HEH = araby.HEH  # ه
HAMZA = araby.HAMZA  # ء
HAMZA_SEATS = araby.WAW_HAMZA + araby.YEH_HAMZA  # ؤ ئ: hamza on waw and on yeh, spelled interchangeably
WAW = araby.WAW  # و
ARABIC_BLOCK = ("\u0621", "\u06ff")  # first and last code point a stemmable Arabic word starts with
ARABIC_LETTERS = "\u0621-\u064a"  # hamza to yeh, as a regex character range
# Persian and Urdu keyboard letters and their Arabic equivalents.
PERSIAN_LETTERS = {
    "\u06cc": YEH,  # ی Farsi yeh
    "\u06d0": YEH,  # ې
    "\u06a9": "\u0643",  # ک keheh -> ك
    "\u06aa": "\u0643",  # ڪ swash kaf -> ك
    "\u06c1": HEH,  # ہ heh goal
    "\u06c0": HEH,  # ۀ heh with yeh above
    "\u06d5": HEH,  # ە ae
    "\u06be": HEH,  # ھ heh doachashmee
    # Letters Persian, Urdu and Maghrebi writing add for sounds Arabic lacks, read as the
    # Arabic letter the same word is also written with (الڨصرين = القصرين, ڤيروس = فيروس).
    "\u06a8": "\u0642",  # ڨ qaf with three dots (Tunisia, Algeria: g) -> ق
    "\u06a4": "\u0641",  # ڤ veh (v) -> ف
    "\u06a5": "\u0641",  # ڥ veh with dots below (Maghreb: v) -> ف
    "\u067e": "\u0628",  # پ peh (p) -> ب
    "\u0686": "\u062c",  # چ tcheh (ch, Egyptian g) -> ج
    "\u0698": "\u0632",  # ژ jeh (zh) -> ز
    "\u06af": "\u0643",  # گ gaf (g) -> ك
    "\u06ad": "\u0643",  # ڭ ng (Morocco: g) -> ك
    "\u0763": "\u0643",  # ݣ keheh with three dots above (Morocco: g) -> ك
    "\u06cb": WAW,  # ۋ ve (Maghreb: v) -> و
}
# A g of a foreign name written with a letter Arabic lacks (گوگل: Iraq, Persian; ڭ, ݣ: Morocco), which
# normalisation reads as ك; and the letters Arabic news writes a g with (غوغل، جوجل، قوقل، كوكل).
G_LETTERS = "\u06af\u06ad\u0763"  # گ ڭ ݣ
G_SPELLINGS = "غجقك"
ARABIC_INDIC_DIGITS = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"  # ٠-٩
PERSIAN_DIGITS = "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9"  # ۰-۹
ARABIC_DECIMAL_SEPARATOR = "\u066b"  # ٫, as in ٢٫٥
# Presentation forms: contextual glyphs and ligatures (lam-alef ﻻ among them).
PRESENTATION_FORMS = [(0xFB50, 0xFDFF), (0xFE70, 0xFEFF)]
# Fullwidth Latin letters, digits and punctuation (ｃｎｎ, ２０１８), as East Asian input methods and some
# pasted text write them: one character each, folded (NFKC) to ASCII, so they are the same words.
FULLWIDTH_FORMS = [(0xFF01, 0xFF5E)]

# Letters that make up an Arabic word, and what may sit inside one.
_ARABIC_LETTERS = (
    "\u0621-\u063f\u0641-\u064a\u066e-\u066f\u0671-\u06d3\u06d5\u06ee\u06ef"
    "\u06fa-\u06fc\u06ff\u0750-\u077f\u08a0-\u08c9\ufb50-\ufdfb\ufe70-\ufefc"
)
_ARABIC_LETTER = re.compile(f"[{_ARABIC_LETTERS}]")


def has_arabic(text: str) -> bool:
    """Does the text hold an Arabic letter (of any script that writes Arabic)?"""
    return _ARABIC_LETTER.search(text) is not None


_INSIDE_WORD = _ARABIC_LETTERS + HARAKAT + SUPERSCRIPT_ALEF + QURANIC_MARKS + TATWEEL + FORMAT_CONTROLS
_EXCLUDED_FROM_OTHER = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_DIGITS = ARABIC_INDIC_DIGITS + PERSIAN_DIGITS

# A word is a run of Arabic letters (with the marks inside it), or a run of
# other letters and digits (Latin, numbers, Arabic-Indic numbers). Scripts are
# split apart so that "لـCNN" gives ل and cnn. A leading '#' belongs to the word
# for highlighting (a hashtag is one word) but not to its term.
WORD_PATTERN = re.compile(
    rf"#?(?:[{_ARABIC_LETTERS}][{_INSIDE_WORD}]*"
    rf"|(?:[^\W_{_EXCLUDED_FROM_OTHER}]|[{_DIGITS}])(?:[^\W_{_EXCLUDED_FROM_OTHER}]|[{_DIGITS}{FORMAT_CONTROLS}])*)"
)


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for lo, hi in [(0x064B, 0x065F), (0x06D6, 0x06ED)]:
        for cp in range(lo, hi + 1):
            table[cp] = None
    for ch in SUPERSCRIPT_ALEF + TATWEEL + "#":
        table[ord(ch)] = None
    for lo, hi in FORMAT_CONTROL_RANGES:
        for cp in range(lo, hi + 1):
            table[cp] = None
    for ch in ALEF_VARIANTS:
        table[ord(ch)] = ALEF
    table[ord(ALEF_MAKSURA)] = YEH
    table[ord(TEH_MARBUTA)] = HEH
    for ch in HAMZA_SEATS:
        table[ord(ch)] = HAMZA
    for ch, base in PERSIAN_LETTERS.items():
        table[ord(ch)] = base
    for i, ch in enumerate(ARABIC_INDIC_DIGITS):
        table[ord(ch)] = str(i)
    for i, ch in enumerate(PERSIAN_DIGITS):
        table[ord(ch)] = str(i)
    # Presentation forms decompose (NFKC) to base letters, which are then folded; fullwidth forms to ASCII.
    for lo, hi in PRESENTATION_FORMS + FULLWIDTH_FORMS:
        for cp in range(lo, hi + 1):
            base = unicodedata.normalize("NFKC", chr(cp))
            if base != chr(cp):
                table[cp] = base.translate(table)
    return table


NORMALISE_TABLE = _build_table()
# What a word's letters are as written: marks, tatweel, '#' and invisible controls removed,
# hamza forms, letters and clitics kept (the forms a reader is shown as matched: الإنترنت, للانترنت).
_WRITTEN_TABLE = {cp: None for cp, to in NORMALISE_TABLE.items() if to is None}


def written_form(surface: str) -> str:
    """A matched word as written, without what does not spell it (marks, tatweel, controls). Composed
    first: a hamza seat written decomposed (ي or و then U+0654) keeps its hamza (رئيس, not رييس)."""
    return unicodedata.normalize("NFKC", surface).translate(_WRITTEN_TABLE)


HAMZA_ABOVE = "\u0654"  # ٔ the combining hamza: ئ and ؤ decomposed (NFD) are ي and و followed by it
# A hamza seat written decomposed (text from macOS, some PDFs and CMSs): waw, yeh or alef maksura, any marks
# canonical ordering put first, then the combining hamza. Folded as the composed letters are (to ء); without
# this the hamza would be dropped as a mark and رئيس searched as رييس.
_DECOMPOSED_SEAT = re.compile(f"[{WAW}{YEH}{ALEF_MAKSURA}]([\u064b-\u0653\u0655-\u065f\u0670]*){HAMZA_ABOVE}")


def normalise(text: str) -> str:
    """Fold one word (or a whole text) to its search form."""
    if HAMZA_ABOVE in text:
        text = _DECOMPOSED_SEAT.sub(HAMZA + r"\1", text)
    return text.translate(NORMALISE_TABLE).casefold()


# --- Month names and digits in dates --------------------------------------------------

# The months as the three traditions of the Arabic press write them: Egyptian and
# Gulf (يناير …), Maghrebi (جانفي …, from French) and Levantine/Iraqi (كانون الثاني …).
_FIRST_MONTH_NAMES = {
    1: ("يناير", "جانفي", "كانون الثاني"),
    2: ("فبراير", "فيفري", "شباط"),
    3: ("مارس", "آذار"),
    4: ("أبريل", "إبريل", "أفريل", "نيسان"),
    5: ("مايو", "ماي", "أيار"),
    6: ("يونيو", "يونيه", "جوان", "حزيران"),
    7: ("يوليو", "يوليه", "جويلية", "جويلة", "تموز"),
    8: ("أغسطس", "أوت", "آب"),
    9: ("سبتمبر", "أيلول"),
    10: ("أكتوبر", "تشرين الأول"),
    11: ("نوفمبر", "تشرين الثاني"),
    12: ("ديسمبر", "كانون الأول"),
}
# More names the press writes: the Levantine ones without the article (تشرين أول، كانون ثاني: the
# multisource corpus has some 220 lines of them) and the Moroccan press's (يوليوز، غشت، شتنبر، نونبر،
# دجنبر). Searched and read in dates as their month; shown in no tradition.
_MORE_MONTH_NAMES = {
    1: ("كانون ثاني",), 7: ("يوليوز",), 8: ("غشت",), 9: ("شتنبر",), 10: ("تشرين أول",),
    11: ("تشرين ثاني", "نونبر"), 12: ("كانون أول", "دجنبر"),
}
MONTH_NAMES = {number: names + _MORE_MONTH_NAMES.get(number, ()) for number, names in _FIRST_MONTH_NAMES.items()}


# The twelve months as each tradition's pages write them (the page's `month_names` setting).
MONTH_TRADITIONS = {
    "mashriq": (
        "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
    ),
    "maghreb": (
        "جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
    ),
    "levant": (
        "كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران",
        "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول",
    ),
}
# Month names that are also everyday words once normalised: مارس "practised", آب -> اب
# "father", ماي (Tunisian "water"), نيسان (a car maker). A query takes them for a month
# only beside a day or a year (١٥ مارس، مارس 2018), and only then searches them for another
# tradition's name (آذار 2018 finds مارس 2018, آذار alone does not find every مارس).
AMBIGUOUS_MONTH_NAMES = frozenset(normalise(name) for name in ("مارس", "آب", "ماي", "نيسان"))


def month_names(number: int) -> tuple[tuple[str, ...], ...]:
    """Every name of a month, each as its normalised words (كانون الثاني: two words)."""
    return tuple(tuple(normalise(name).split()) for name in MONTH_NAMES[number])


def is_date_number(text: str) -> bool:
    """A day of the month or a year, as a query word beside a month name (15, ١٥, 2018)."""
    digits = ascii_digits(text)
    return digits.isascii() and digits.isdigit() and (1 <= int(digits) <= 31 or 1800 <= int(digits) <= 2199)


# --- Spelling variants of names and words ---------------------------------------------

VARIANTS_FILE = Path(__file__).with_name("data") / "name-variants.tsv"


@lru_cache(maxsize=1)
def _variant_sets() -> dict[str, tuple[str, ...]]:
    """Each listed spelling -> the others of its set (the table's first column, comma-separated;
    sets that share a spelling are one)."""
    if not VARIANTS_FILE.exists():
        return {}
    parent: dict[str, str] = {}

    def root(word: str) -> str:
        while parent.setdefault(word, word) != word:
            word = parent[word]
        return word

    for line in VARIANTS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        # A spelling of two words (فيس بوك) is kept as its words, one space between them.
        words = [" ".join(normalise(w).split()) for w in line.split("\t", 1)[0].split(",") if w.strip()]
        for word in words[1:]:
            parent[root(word)] = root(words[0])  # a spelling on two lines joins their sets
    sets: dict[str, list[str]] = {}
    for word in parent:
        sets.setdefault(root(word), []).append(word)
    return {word: tuple(w for w in members if w != word) for members in sets.values() for word in members}


def spelling_variants(word: str) -> tuple[str, ...]:
    """The other spellings of a normalised word (or two words, one space between) in the reviewed
    table, with the clitics it was typed with (وترمب -> وترامب; الاميركي -> الامريكي; وفيسبوك ->
    وفيس بوك and facebook); () for a word the table does not list."""
    table = _variant_sets()
    if not table:
        return ()
    if word.isascii():  # a Latin word is looked up as typed: no Arabic clitic to strip (dfacebook)
        return table.get(word, ())
    base = strip_article(word)
    # The article, or a proclitic (و ف ب ل ك, or two of them): not any first letters (اصلاح is not ا + صلاح).
    for rest in dict.fromkeys((word, base, *without_proclitic(word)[1:])):
        found = table.get(rest)
        if found:
            prefix = word[: len(word) - len(rest)]
            # A Latin spelling takes no Arabic clitic: وفيسبوك -> وفايسبوك and facebook.
            return tuple(dict.fromkeys(other if other.isascii() else prefix + other for other in found))
    return ()


def without_proclitic(word: str) -> list[str]:
    """The word, then the word without each proclitic (و ف ب ل ك, or two of them) it may start with, at
    least three letters left: ويونيو -> يونيو, وترمب -> ترمب."""
    return [word, *(word[k:] for k in (1, 2) if len(word) - k >= 3 and word[:k] in PROCLITICS)]


def month_number(name: str) -> int | None:
    """The month a written Arabic month name means (any tradition, any spelling of hamza), or None."""
    wanted = " ".join(normalise(name).split())
    for number, names in MONTH_NAMES.items():
        if wanted in {normalise(n) for n in names}:
            return number
    return None


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as 0-9, the rest unchanged."""
    return text.translate(_DIGIT_TABLE)


_DIGIT_TABLE = {ord(ch): str(i) for digits in (ARABIC_INDIC_DIGITS, PERSIAN_DIGITS) for i, ch in enumerate(digits)}


# --- Stopwords ---------------------------------------------------------------


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Return the stopword set, normalised by the same rules as the text.

    Source: the ``arabic-stopwords`` package (Taha Zerrouki, GPL-3.0), which
    lists every clitic-attached form of each function word (وفي، ومن، لهذا …),
    13,465 forms; plus the project's own additions in ``data/stopwords-extra.txt``.
    """
    from arabicstopwords.arabicstopwords import stopwords_list

    words = set(stopwords_list())
    extra = Path(__file__).with_name("data") / "stopwords-extra.txt"
    for line in extra.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.add(line)
    return frozenset(normalise(w) for w in words if w)


# --- Light stemming ----------------------------------------------------------

# The article and its combinations with a conjunction or preposition, longest first.
ARTICLE_PREFIXES = ("وبال", "وكال", "فبال", "ولل", "فلل", "وال", "بال", "كال", "فال", "لل", "ال")
# Suffixes stripped in this order, each at most once (Larkey's light10, after
# our folding of ة to ه): ها ان ات ون ين يه ه ي.
SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


@lru_cache(maxsize=1)
def _lexicon(name: str) -> frozenset[str]:
    path = Path(__file__).with_name("data") / name
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.add(normalise(line))
    return frozenset(words)


@lru_cache(maxsize=1)
def protected_words() -> frozenset[str]:
    """Words whose ending looks like a suffix but is not one (لبنان is not لبن + ان), and the
    words of the month names (جوان is not جو "air" + ان, يونيه not يون as in اليونان)."""
    # The first names only: أول and ثاني (تشرين أول) are everyday words, stemmed as ever.
    months = {word for names in _FIRST_MONTH_NAMES.values() for name in names for word in normalise(name).split()}
    return frozenset(_strip_article(w) for w in _lexicon("protected.txt")) | months


@lru_cache(maxsize=1)
def waw_initial_stems() -> frozenset[str]:
    """Stems of words whose first و is a root letter, not the conjunction (واشنطن, وافق)."""
    return frozenset(_strip_suffixes(w) for w in _lexicon("waw-initial.txt"))


def _strip_article(word: str) -> str:
    for prefix in ARTICLE_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


def with_article(word: str) -> str:
    """The normalised word with the definite article (فكره -> الفكره)."""
    return "ال" + word


def strip_article(word: str) -> str:
    """The normalised word without the article and its clitic combinations (للاتحاد -> اتحاد)."""
    return _strip_article(word)


def _strip_suffixes(word: str) -> str:
    if word in protected_words():
        return word
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)]
    return word


# --- Clitic forms, for phrases and prefixes ------------------------------------

# Proclitics a word without the article may carry: conjunctions و ف, prepositions ب ل ك, and their pairs.
PROCLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك")
CLITIC_LETTERS = frozenset("".join(PROCLITICS))  # و ف ب ل ك
# The prepositions whose forms a query word is also searched in (search.query): ب and ل, alone or
# after و. Not ف or ك: before a verb or a name they make another word more often than a
# preposition's form (فيصل is not ف + يصل, كندا not ك + ندا).
PREPOSITION_CLITICS = ("ب", "ل", "وب", "ول")
# Possessive suffixes that follow a noun without the article (كتاب -> كتابه، كتابها، كتابهم ...);
# ي is left out: on a name it mostly makes an adjective (مصر -> مصري), not "my".
POSSESSIVES = ("ه", "ها", "هم", "هما", "هن", "كم", "كن", "نا")


def proclitic_forms(word: str) -> tuple[str, ...]:
    """The normalised ``word`` as a phrase's first word may be written: with the article's
    combinations (الاتحاد -> للاتحاد، والاتحاد، بالاتحاد …) or, without the article, after
    a conjunction or preposition (تونس -> وتونس، بتونس، لتونس …). ``word`` itself first."""
    if not word or not ARABIC_BLOCK[0] <= word[0] <= ARABIC_BLOCK[1]:
        return (word,)
    bare = _strip_article(word)
    if bare != word:  # it carries the article, maybe already with a clitic: every article form
        forms = [word] + [prefix + bare for prefix in ARTICLE_PREFIXES]
    elif len(word) >= 2:
        forms = [word] + [prefix + word for prefix in PROCLITICS]
    else:
        forms = [word]
    return tuple(dict.fromkeys(forms))


def possessive_forms(word: str) -> tuple[str, ...]:
    """The normalised ``word`` as a phrase's last word may be written with a possessive
    suffix, where that is safe: only a word without the article, of three letters or more;
    a final ة (folded to ه) becomes ت before the suffix (حكومه -> حكومتها). ``word`` first."""
    if len(word) < 3 or _strip_article(word) != word or not ARABIC_BLOCK[0] <= word[0] <= ARABIC_BLOCK[1]:
        return (word,)
    stem = word[:-1] + "ت" if word.endswith("ه") else word
    return (word, *[stem + suffix for suffix in POSSESSIVES])


@lru_cache(maxsize=200_000)
def light_stem(word: str) -> str:
    """Stem a normalised word: light10's affixes, with its known mistakes fixed.

    * One article prefix (ال، وال، بال، كال، فال، لل and their و/ف+ب/ك forms),
      leaving at least two letters.
    * Otherwise the conjunction و, in a word of four letters or more,
      unless the word begins with a radical و (واشنطن, وافق, وزير).
    * Then light10's suffixes, each once, while two letters remain; names such
      as لبنان and إيران are protected.
    """
    if not word or not (ARABIC_BLOCK[0] <= word[0] <= ARABIC_BLOCK[1]):
        return word
    stem = _strip_article(word)
    if stem == word and word.startswith(WAW) and len(word) >= 4:
        rest = _strip_suffixes(word)
        if rest not in waw_initial_stems():
            return _strip_suffixes(word[1:])
        return rest
    return _strip_suffixes(stem)


# Larkey, Ballesteros & Connell's light10 (2002), the usual baseline for Arabic
# light stemming; the benchmarks compare the project's stemmer against it.
LIGHT10_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")


@lru_cache(maxsize=200_000)
def light10_stem(word: str) -> str:
    """Stem a normalised word with light10 as published: و, one article, then suffixes."""
    if not word or not (ARABIC_BLOCK[0] <= word[0] <= ARABIC_BLOCK[1]):
        return word
    if word.startswith(WAW) and len(word) >= 4:
        word = word[1:]
    for prefix in LIGHT10_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            word = word[len(prefix) :]
            break
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)]
    return word


# --- Words as written -> search forms, memoised ------------------------------------

# News vocabulary is Zipfian: most words of an article were seen in the last
# thousand articles. Each written form's search forms are kept, up to a bound
# (then the table starts afresh), shared by the index, the query and the highlighter.
# Only words of up to MAX_MEMO_CHARS are kept: longer ones are rare (URLs, junk),
# and keeping them would let one hostile text fill the table with long strings.
MAX_MEMO_WORDS = 100_000
MAX_MEMO_CHARS = 40
_SURFACES: dict[str, tuple[str, ...]] = {}


def surface_forms(surface: str) -> tuple[str, ...]:
    """The search forms of one written word: normalised (one word may fold to two, as
    a lam-alef ligature does), each cut to MAX_TERM_CHARS."""
    text = normalise(surface)
    forms = tuple(part[:MAX_TERM_CHARS] for part in (text.split() if " " in text else (text,)) if part)
    if len(surface) <= MAX_MEMO_CHARS:
        if len(_SURFACES) >= MAX_MEMO_WORDS:
            _SURFACES.clear()
        _SURFACES[surface] = forms
    return forms


def forms_met() -> Iterable[tuple[str, ...]]:
    """The search forms of the written words this process has memoised (each word's tuple)."""
    return _SURFACES.values()


def memoised_forms(surface: str) -> tuple[str, ...]:
    """``surface_forms``, from the table when the word was seen before."""
    found = _SURFACES.get(surface)
    return surface_forms(surface) if found is None else found


# --- Whoosh pieces -----------------------------------------------------------


class ArabicTokenizer(Tokenizer):
    """Find words in the original text and yield their normalised forms.

    ``startchar``/``endchar`` are offsets into the original text and span the
    whole word as written: its diacritics, tatweel, clitics and a leading '#'.
    """

    # The same text is indexed into a stemmed and an exact field: remember the
    # last text's words so the second field does not find them again. A class
    # default, so that a tokenizer unpickled from an index's schema has it too.
    _last: tuple[str, list[tuple[str, int, int, str]]] | None = None

    def __getstate__(self) -> dict[str, object]:
        return {}  # Whoosh pickles the schema into the index: leave the cache out

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def words(self, value: str) -> list[tuple[str, int, int, str]]:
        """(normalised word, start, end, original) for each word of ``value``."""
        last = self._last
        if last is not None and last[0] is value:
            return last[1]
        found = []
        append = found.append
        for match in WORD_PATTERN.finditer(value):
            surface = match.group(0)
            forms = _SURFACES.get(surface)
            if forms is None:
                forms = surface_forms(surface)
            start, end = match.span()
            for form in forms:
                append((form, start, end, surface))
        self._last = (value, found)
        return found

    def __call__(  # noqa: PLR0913 - Whoosh's tokenizer protocol
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, (text, start, end, original) in enumerate(self.words(value), start=start_pos):
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = original
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class ArabicStopFilter(Filter):
    """Remove stopwords (a token keeps its position, so phrases stay exact)."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stops = stopwords()
        for t in tokens:
            if t.text in stops or (len(t.text) == 1 and not t.text.isdigit()):
                if t.removestops:
                    continue
                t.stopped = True
            yield t


class ArabicStemFilter(Filter):
    """Replace each token's text with its light stem."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = light_stem(t.text)
            yield t


class Light10StemFilter(Filter):
    """Replace each token's text with its light10 stem (a benchmark baseline, not used by the engine)."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = light10_stem(t.text)
            yield t


# One tokenizer shared by both analysers, so its one-text cache serves both fields.
TOKENIZER = ArabicTokenizer()


class ArabicAnalyzer(Analyzer):
    """``TOKENIZER | ArabicStopFilter()`` (and ``| ArabicStemFilter()`` with ``stem``) in one pass.

    The same tokens as the chain of pieces above (tests compare them), a few
    times faster: one generator instead of three, and each search form's stop
    flag and stem looked up once per form (news vocabulary is Zipfian).
    """

    def __init__(self, stem: bool) -> None:
        self.stem = stem

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and other.stem == self.stem  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"ArabicAnalyzer(stem={self.stem})"

    def __call__(  # noqa: PLR0913 - Whoosh's analyzer protocol
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.boost = 1.0
        if removestops and not chars and not keeporiginal:
            # The common case (indexing, queries): no offsets, stopwords dropped. Each
            # written word's kept forms and the positions it takes are looked up once;
            # the words themselves come from one C-level findall.
            yield from self._fast(value, t, positions, start_pos)
            return
        memo = _SURFACE_TERMS
        stem = self.stem
        pos = start_pos - 1
        for match in WORD_PATTERN.finditer(value):
            surface = match.group(0)
            terms = memo.get(surface)
            if terms is None:
                terms = _terms_of(surface)
            for form, stopped, stemmed in terms:
                pos += 1
                if stopped:
                    if removestops:
                        continue
                    t.stopped = True
                else:
                    t.stopped = False
                t.text = stemmed if stem else form
                if keeporiginal:
                    t.original = surface
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + match.start(), start_char + match.end()
                yield t


    def _fast(self, value: str, t: Token, positions: bool, start_pos: int) -> Iterator[Token]:
        memo = _KEPT[self.stem]
        t.stopped = False
        pos = start_pos
        for surface in WORD_PATTERN.findall(value):
            kept = memo.get(surface)
            if kept is None:
                kept = _kept(surface, self.stem)
            if kept.__class__ is str:  # most words: one form, kept
                t.text = kept
                if positions:
                    t.pos = pos
                yield t
                pos += 1
            elif kept.__class__ is int:  # a stopword: its positions, no form
                pos += kept
            else:
                width, forms = kept
                for offset, text in forms:
                    t.text = text
                    if positions:
                        t.pos = pos + offset
                    yield t
                pos += width


# A written word -> each of its search forms with (is a stopword, its light stem).
_SURFACE_TERMS: dict[str, tuple[tuple[str, bool, str], ...]] = {}
# For the fast path, per analyser kind (stemmed or not): a written word -> its one kept form
# (most words), the positions it takes when it keeps none (a stopword), or (positions, its
# kept forms as (offset, text)).
Kept = str | int | tuple[int, tuple[tuple[int, str], ...]]
_KEPT: dict[bool, dict[str, Kept]] = {True: {}, False: {}}


def _kept(surface: str, stem: bool) -> Kept:
    terms = _SURFACE_TERMS.get(surface) or _terms_of(surface)
    forms = tuple((i, stemmed if stem else form) for i, (form, stopped, stemmed) in enumerate(terms) if not stopped)
    found: Kept
    if len(terms) == 1 and len(forms) == 1:
        found = forms[0][1]
    elif not forms:
        found = len(terms)
    else:
        found = (len(terms), forms)
    if len(surface) <= MAX_MEMO_CHARS:
        table = _KEPT[stem]
        if len(table) >= MAX_MEMO_WORDS:
            table.clear()
        table[surface] = found
    return found


def _terms_of(surface: str) -> tuple[tuple[str, bool, str], ...]:
    stops = stopwords()
    found = tuple(
        (form, form in stops or (len(form) == 1 and not form.isdigit()), light_stem(form))
        for form in surface_forms(surface)
    )
    if len(surface) <= MAX_MEMO_CHARS:
        if len(_SURFACE_TERMS) >= MAX_MEMO_WORDS:
            _SURFACE_TERMS.clear()
        _SURFACE_TERMS[surface] = found
    return found


class _TermsOfWord(dict):
    """A written word -> its kept terms in order, ``None`` where a stopword takes a position.

    Filled on first sight (from ``_kept``) and bounded like the other tables, so that
    a text's terms come from one ``map`` over its words at C speed.
    """

    def __init__(self, stem: bool, positions: bool) -> None:
        super().__init__()
        self.stem = stem
        self.positions = positions

    def __missing__(self, surface: str) -> tuple[str | None, ...]:
        kept = _kept(surface, self.stem)
        if kept.__class__ is str:
            found: tuple[str | None, ...] = (kept,)  # type: ignore[assignment]
        elif kept.__class__ is int:
            found = (None,) * kept if self.positions else ()  # type: ignore[operator]
        else:
            width, forms = kept  # type: ignore[misc]
            if self.positions:
                slots: list[str | None] = [None] * width
                for offset, text in forms:
                    slots[offset] = text
                found = tuple(slots)
            else:
                found = tuple(text for _offset, text in forms)
        if len(surface) <= MAX_MEMO_CHARS:
            if len(self) >= MAX_MEMO_WORDS:
                self.clear()
            self[surface] = found
        return found


_TERMS_OF_WORD = {
    (stem, positions): _TermsOfWord(stem, positions) for stem in (True, False) for positions in (True, False)
}


def written_words(text: str) -> list[str]:
    """A text's written words, as the analyser finds them."""
    return WORD_PATTERN.findall(text)


def index_terms(words: list[str], stem: bool) -> list[str]:
    """The terms the index keeps of a text's written words, in order: what the analyser yields
    when indexing."""
    return list(chain.from_iterable(map(_TERMS_OF_WORD[stem, False].__getitem__, words)))


def index_slots(words: list[str], stem: bool) -> list[str | None]:
    """The terms of a text's written words by position: ``None`` where a stopword is (positions
    count it)."""
    return list(chain.from_iterable(map(_TERMS_OF_WORD[stem, True].__getitem__, words)))


def stem_analyzer() -> Analyzer:
    """The main analyser: normalised, stopwords removed, light-stemmed."""
    return ArabicAnalyzer(stem=True)


def exact_analyzer() -> Analyzer:
    """Normalised surface forms, stopwords removed: for exact-form boosts and phrases."""
    return ArabicAnalyzer(stem=False)


def terms(text: str, stem: bool = True) -> list[str]:
    """The terms of a text, as the index sees them."""
    analyzer = stem_analyzer() if stem else exact_analyzer()
    return [t.text for t in analyzer(text)]



_WORD_TABLES: list[WordTable] = []  # every WordTable made (module-level tables): widen_memo widens them


class WordTable(dict):  # type: ignore[type-arg]
    """A written word -> what ``compute`` makes of it: filled on first sight and bounded like the
    other tables (at most ``limit`` words, none longer than MAX_MEMO_CHARS kept), so that a text's
    values come from one ``map`` over its words at C speed."""

    def __init__(self, compute, limit: int = MAX_MEMO_WORDS) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.compute = compute
        self.limit = limit
        _WORD_TABLES.append(self)

    def __missing__(self, surface: str):  # type: ignore[no-untyped-def]
        found = self.compute(surface)
        if len(surface) <= MAX_MEMO_CHARS:
            if len(self) >= self.limit:
                self.clear()
            self[surface] = found
        return found


# The words every table keeps in a process whose life is one reindex (a forked index writer): each
# of two shares of ANT's 31,525 articles meets some 190,000 distinct written words, and a table
# starting afresh at the usual bound computed most of them again (reindex 4% slower).
WRITER_MEMO_WORDS = 300_000


def widen_memo(words: int = WRITER_MEMO_WORDS) -> None:
    """Let every table of words hold up to ``words`` words, in a process that only writes an
    index (its life ends with its share of the collection). A server keeps the usual bound."""
    global MAX_MEMO_WORDS, MAX_ROOTS
    MAX_MEMO_WORDS = max(MAX_MEMO_WORDS, words)
    MAX_ROOTS = max(MAX_ROOTS, words)
    for table in _WORD_TABLES:
        table.limit = max(table.limit, words)


def content_forms(surface: str) -> tuple[str, ...]:
    """A written word's normalised forms that say something: the exact field's terms (stopwords
    left out) without one-letter forms."""
    return tuple(f for f in index_terms([surface], stem=False) if len(f) > 1)


# --- Roots ---------------------------------------------------------------------
# ISRI's root stemmer (NLTK, Apache-2.0): a third reduction of a word, coarser than the light
# stem; only the ranking's roots rerank uses it (search/roots.py).

_ROOT_LOCK = threading.Lock()
_ROOT_STEMMER = None
_ROOTS: dict[str, str] = {}
MAX_ROOTS = 200_000  # the memo of roots, bounded


def _isri():  # type: ignore[no-untyped-def]
    global _ROOT_STEMMER
    if _ROOT_STEMMER is None:
        with _ROOT_LOCK:
            if _ROOT_STEMMER is None:
                _ROOT_STEMMER = _fast_isri(_isri_module().ISRIStemmer)()
    return _ROOT_STEMMER


def _fast_isri(base):  # type: ignore[no-untyped-def]
    """NLTK's ISRIStemmer, giving the same roots twice as fast (4.8 against 9.6 us a form, the same
    root for each of ANT's 205,558 normalised forms; tests/test_roots.py compares them): its
    stopword list and its affix lists become sets (the affixes of one list are all of one length, so
    the first that matches is the only one), and ``stem`` does the prefix, suffix and normalisation
    steps inline. The pattern steps are NLTK's own. A reindex looks up the root of every distinct
    form it meets."""

    class FastISRIStemmer(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            for affixes, length in ((self.p3, 3), (self.s3, 3), (self.p2, 2), (self.s2, 2), (self.p1, 1), (self.s1, 1)):
                if any(len(a) != length for a in affixes):  # a future list with mixed lengths: NLTK's own code
                    raise TypeError("ISRI's affix lists changed; the fast path no longer applies")
            self._stop = frozenset(self.stop_words)
            self._p3, self._p2, self._p1 = frozenset(self.p3), frozenset(self.p2), frozenset(self.p1)
            self._s3, self._s2, self._s1 = frozenset(self.s3), frozenset(self.s2), frozenset(self.s1)

        def stem(self, token: str) -> str:
            if self.re_short_vowels.search(token):
                token = self.re_short_vowels.sub("", token)
            if token in self._stop:
                return token
            n = len(token)
            if n >= 6 and token[:3] in self._p3:
                token = token[3:]
            elif n >= 5 and token[:2] in self._p2:
                token = token[2:]
            n = len(token)
            if n >= 6 and token[-3:] in self._s3:
                token = token[:-3]
            elif n >= 5 and token[-2:] in self._s2:
                token = token[:-2]
            if len(token) >= 4 and token[:2] == "\u0648\u0648":  # waw: a connective و before و
                token = token[1:]
            if token[:1] in ("\u0622", "\u0623", "\u0625"):  # norm(2): initial hamza to bare alif
                token = "\u0627" + token[1:]
            n = len(token)
            if n == 4:
                return self.pro_w4(token)
            if n == 5:
                return self.end_w5(self.pro_w53(token))
            if n == 6:
                return self.end_w6(self.pro_w6(token))
            if n == 7:
                token = self.suf1(token)
                if len(token) == 7:
                    token = self.pre1(token)
                if len(token) == 6:
                    token = self.end_w6(self.pro_w6(token))
            return token

        def suf1(self, word: str) -> str:
            return word[:-1] if word[-1:] in self._s1 else word

        def pre1(self, word: str) -> str:
            return word[1:] if word[:1] in self._p1 else word

    return FastISRIStemmer


def _isri_module():  # type: ignore[no-untyped-def]
    """nltk.stem.isri, without nltk's package initialisation: that imports most of nltk and
    scipy.stats (81 MB of memory and 0.85 s per process, measured) for a module that needs two
    small ones (nltk.redos, nltk.stem.api: 1.3 MB, 9 ms). The package is stood in for while they
    load, then left to a later ``import nltk`` to initialise as usual."""
    import importlib
    import importlib.util
    import os
    import sys
    import types

    if "nltk" in sys.modules:
        return importlib.import_module("nltk.stem.isri")
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nltk is not installed (pip install nltk): the roots rerank needs its ISRI stemmer")
    base = list(spec.submodule_search_locations)[0]
    standing_in = []
    for name, path in (("nltk", base), ("nltk.stem", os.path.join(base, "stem"))):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package
        standing_in.append(name)
    try:
        return importlib.import_module("nltk.stem.isri")
    finally:
        for name in standing_in:
            sys.modules.pop(name, None)


def load_root_stemmer() -> None:
    """Load the root stemmer now (a server does, before its first search)."""
    _isri()


def root(form: str) -> str:
    """The root of a normalised word form (the form itself when ISRI finds none shorter)."""
    found = _ROOTS.get(form)
    if found is None:
        found = _isri().stem(form) or form
        if len(_ROOTS) >= MAX_ROOTS:
            _ROOTS.clear()
        _ROOTS[form] = found
    return found
