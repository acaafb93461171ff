"""Property-based tests: random Unicode, operators and lengths never break the parser or the API."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.query import tokenize_query
from webapp import create_app

OPERATOR_BITS = ['"', "“", "”", "«", "»", "-", "*", "OR", "أو", ":", "title:", "مصدر:", "source:", " ", "\t", "\n"]
ARABIC = st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
QUERY_TEXT = st.lists(
    st.one_of(st.text(max_size=8), st.text(alphabet=ARABIC, max_size=8), st.sampled_from(OPERATOR_BITS)),
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
def test_engine_never_raises(engine, text: str) -> None:
    result = engine.search(text)
    assert result.total >= 0 and len(result.hits) <= result.per_page


@FAST
@given(
    q=st.one_of(QUERY_TEXT, st.text(max_size=3000)),
    page=st.one_of(st.none(), st.integers(-5, 2000).map(str), st.text(max_size=5)),
    per_page=st.one_of(st.none(), st.integers(-5, 500).map(str), st.text(max_size=5)),
    sort=st.one_of(st.none(), st.sampled_from(["relevance", "newest", "x", ""])),
    date=st.one_of(st.none(), st.dates().map(str), st.text(max_size=12)),
)
def test_api_answers_200_or_400_never_500(client, q, page, per_page, sort, date) -> None:  # type: ignore[no-untyped-def]
    params = {k: v for k, v in {"q": q, "page": page, "per_page": per_page, "sort": sort, "from": date}.items() if v is not None}
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
