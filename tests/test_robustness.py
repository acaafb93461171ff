"""Property-based tests: random Unicode, operators and lengths never break the parser or the API."""

from __future__ import annotations

import json
import urllib.parse
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from search.analysis import MAX_TERM_CHARS, TOKENIZER, ascii_digits, terms
from search.api import result_json
from search.query import tokenize_query
from webapp import create_app

OPERATOR_BITS = ['"', "“", "”", "«", "»", "-", "*", "OR", "أو", ":", "title:", "مصدر:", "source:", " ", "\t", "\n"]
ARABIC = st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
# The whole of Unicode: lone surrogates, format and bidi controls, combining marks, private use.
ANY_CHAR = st.characters(exclude_categories=[])
INVISIBLE = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u202b", "\u2067", "\u00ad", "\u2060", "\ufeff"]
)
LONG_WORD = st.builds(lambda letter, n: letter * n, st.sampled_from(["ب", "x", "٣", "\u064e"]), st.integers(90, 6000))
QUERY_TEXT = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.text(alphabet=ARABIC, max_size=8),
        st.text(alphabet=ANY_CHAR, max_size=8),
        st.sampled_from(OPERATOR_BITS),
        INVISIBLE,
        LONG_WORD,
    ),
    max_size=40,
).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(QUERY_TEXT)
def test_tokenizer_never_raises(text: str) -> None:
    for clause in tokenize_query(text):
        assert clause.kind in {"word", "phrase", "prefix"}


@FAST
@given(QUERY_TEXT)
def test_analyser_offsets_stay_inside_the_text_and_terms_are_bounded(text: str) -> None:
    for form, start, end, original in TOKENIZER.words(text):
        assert 0 <= start < end <= len(text) and text[start:end] == original
        assert 0 < len(form) <= MAX_TERM_CHARS
    for term in terms(text) + terms(text, stem=False):
        assert len(term) <= MAX_TERM_CHARS


ARABIC_WORD = st.text(alphabet=st.characters(min_codepoint=0x0621, max_codepoint=0x064A), min_size=2, max_size=12)


@FAST
@given(ARABIC_WORD, st.lists(st.tuples(st.integers(1, 11), INVISIBLE), min_size=1, max_size=3))
def test_invisible_marks_inside_a_word_change_no_term(word: str, inserts: list[tuple[int, str]]) -> None:
    marked = word
    for at, mark in sorted(inserts, reverse=True):
        at = min(at, len(marked) - 1)
        marked = marked[:at] + mark + marked[at:]
    assert terms(marked) == terms(word) and terms(marked, stem=False) == terms(word, stem=False)


@FAST
@given(QUERY_TEXT)
def test_engine_never_raises(engine, text: str) -> None:
    result = engine.search(text)
    assert result.total >= 0 and len(result.hits) <= result.per_page
    json.dumps(result_json(result), ensure_ascii=False).encode("utf-8")  # what the API sends


@FAST
@given(
    q=st.one_of(QUERY_TEXT, st.text(max_size=3000), st.text(alphabet=ANY_CHAR, max_size=300)),
    page=st.one_of(st.none(), st.integers(-5, 2000).map(str), st.text(max_size=5)),
    per_page=st.one_of(st.none(), st.integers(-5, 500).map(str), st.text(max_size=5)),
    sort=st.one_of(st.none(), st.sampled_from(["relevance", "newest", "x", ""])),
    date=st.one_of(st.none(), st.dates().map(str), st.text(max_size=12)),
)
def test_api_answers_200_or_400_never_500(client, q, page, per_page, sort, date) -> None:  # type: ignore[no-untyped-def]
    params = {k: v for k, v in {"q": q, "page": page, "per_page": per_page, "sort": sort, "from": date}.items() if v is not None}
    # Encoded as a client may send it: lone surrogates as their (invalid) UTF-8 bytes.
    params = "&".join(f"{k}={urllib.parse.quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params.items())
    response = client.get("/api/search", query_string=params)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert ("results" in body) if response.status_code == 200 else ("error" in body)
    page_response = client.get("/", query_string=params)
    assert page_response.status_code in (200, 400)


@pytest.fixture(scope="module")
def api_schema(small_index):  # type: ignore[no-untyped-def]
    app = create_app({"INDEX": str(small_index), "TESTING": True})
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # Requests the document allows, every check on the answers. Schemathesis's own invalid
    # requests are not used: a query string carries only text, and many of the values it
    # generates as invalid (null, false, an empty list) reach the server as valid text
    # ("null", "", none at all). Invalid wire values are the next test's, class by class.
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE])
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate()


def _not(allowed: set[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(sorted(allowed)).map(lambda v: v.upper()),
        st.sampled_from(sorted(allowed)).flatmap(lambda v: st.sampled_from([f" {v}", f"{v} ", f"{v}\x1d", f"\t{v}"])),
        st.text(alphabet=ANY_CHAR, min_size=1, max_size=12),
    ).filter(lambda v: v not in allowed)


NOT_WHOLE = st.one_of(
    st.sampled_from(["-1", "+3", " 3", "3 ", "1e3", "3_0", "3.5", "3.", "٣.٥", "0x10", "inf", "nan", "\x1d2"]),
    st.text(alphabet=ANY_CHAR, min_size=1, max_size=8),
).filter(lambda v: not (w := ascii_digits(v)).isascii() or not w.replace(".0", "").isdigit())  # ٣ is 3
NOT_A_DATE = st.one_of(
    st.sampled_from(["20180101", "2018-W01-1", " 2018-01-01", "2018-01-01 ", "2018-13-01", "2018-02-30", "٢٠١٨-٠٢-٣٠"]),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.text(alphabet=ANY_CHAR, min_size=1, max_size=12),
).filter(
    lambda v: not (len(w := ascii_digits(v)) == 10 and w.isascii() and w[4] == "-" and _is_date(w))  # ٢٠١٨-… too
)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


INVALID_WIRE_VALUES = st.one_of(
    st.tuples(st.sampled_from(["page", "per_page"]), NOT_WHOLE.map(lambda v: [v])),
    st.tuples(st.sampled_from(["page", "per_page"]), st.sampled_from(["0", "1001", "99999999999999999999"]).map(lambda v: [v])),
    st.tuples(st.just("sort"), _not({"relevance", "newest"}).map(lambda v: [v])),
    st.tuples(st.just("match"), _not({"auto", "all", "any"}).map(lambda v: [v])),
    st.tuples(st.sampled_from(["undated", "respell"]), _not({"1", "0", "true", "false", "yes", "no"}).map(lambda v: [v])),
    st.tuples(st.sampled_from(["from", "to"]), NOT_A_DATE.map(lambda v: [v])),
    st.tuples(st.sampled_from(["source", "category"]), st.lists(st.text(max_size=5), min_size=21, max_size=40)),
    st.tuples(st.sampled_from(["source", "category"]), st.text(alphabet=ANY_CHAR, min_size=201, max_size=400).map(lambda v: [v])),
)


@FAST
@given(INVALID_WIRE_VALUES)
def test_a_value_outside_the_openapi_document_is_a_400_naming_its_parameter(client, invalid: tuple[str, list[str]]) -> None:  # type: ignore[no-untyped-def]
    """What the document does not allow is refused with the parameter named, never read
    as something else (a blank trimmed away, "1e3" as 1000, the 21st source dropped)."""
    name, values = invalid
    query = "&".join(f"{name}={urllib.parse.quote(v.encode('utf-8', 'surrogatepass'))}" for v in values)
    response = client.get("/api/search", query_string=f"q=x&{query}")
    assert response.status_code == 400, (name, values[:3])
    assert response.get_json()["error"]["code"] == f"invalid_{name}"
