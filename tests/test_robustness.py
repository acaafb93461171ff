"""Property-based tests: random Unicode, operators and lengths never break the parser or the API."""

from __future__ import annotations

import json
import urllib.parse

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.analysis import MAX_TERM_CHARS, TOKENIZER, terms
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
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate()
