"""The Flask app through its test client: the page, the JSON contract, every error path, escaping."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import SEED_ID
from search.backends.whoosh.store import build
from search.ingest import load_text
from webapp import create_app
from webapp.openapi import openapi_document

SPEC = openapi_document()


def validate(data: object, schema_name: str) -> None:
    """Validate against a component schema of the served OpenAPI document."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": SPEC["components"]}
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


# -- the page -------------------------------------------------------------------


def test_home_page_is_arabic_rtl_with_a_plain_form(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert '<form class="search" action="/" method="get"' in page
    assert 'name="q"' in page
    assert "<script" not in page  # the search works without JavaScript


def test_results_page(client) -> None:
    response = client.get("/?q=انترنت")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="انترنت"' in page  # the query stays in the box
    assert "<mark>#الانترنت</mark>" in page  # the title's hashtag, marked whole
    assert "<mark>الإنترنت</mark>" in page or "<mark>للإنترنت</mark>" in page
    assert f'href="/doc/{SEED_ID}?q=' in page
    assert "نتيجة في" in page  # the count and the time taken
    assert "أصداء الخليج" in page  # the source facet


def test_dates_are_readable_in_arabic(client) -> None:
    page = client.get("/?q=لبنان").get_data(as_text=True)
    assert "٢١ مارس ٢٠١٨" in page


def test_facet_links_filter(client) -> None:
    page = client.get("/?q=وزارة&source=BBC").get_data(as_text=True)
    assert "FX-culture-5" in page and "FX-intl-2" not in page
    assert "✕ BBC" in page  # the chosen filter can be removed


def test_paging_and_sort(client) -> None:
    page = client.get("/?q=وزارة OR الحسابات OR المنتخب&per_page=2&sort=newest").get_data(as_text=True)
    assert 'rel="next"' in page and "page=2" in page and "sort=newest" in page


def test_empty_state_and_suggestion(client) -> None:
    page = client.get("/?q=الانترنيت").get_data(as_text=True)
    assert "لا توجد نتائج" in page
    assert "هل تقصد" in page and "الانترنت" in page


def test_article_view_highlights_and_relates(client) -> None:
    page = client.get(f"/doc/{SEED_ID}?q=الانترنت").get_data(as_text=True)
    assert "<mark>للإنترنت</mark>" in page and "<mark>#الانترنت</mark>" in page
    assert "مقالات ذات صلة" in page


def test_opensearch(client) -> None:
    response = client.get("/opensearch.xml")
    assert response.mimetype == "application/opensearchdescription+xml"
    assert "{searchTerms}" in response.get_data(as_text=True)
    assert 'rel="search"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/?q=انترنت", "/api/search?q=x", "/nope", "/api/nope"])
def test_security_headers(client, path: str) -> None:
    response = client.get(path)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


# -- the JSON contract --------------------------------------------------------------


def test_search_contract(client) -> None:
    response = client.get("/api/search?q=الانترنت&per_page=5")
    assert response.status_code == 200
    data = response.get_json()
    validate(data, "SearchResult")
    assert data["query"] == "الانترنت" and data["page"] == 1 and data["per_page"] == 5
    first = data["results"][0]
    assert first["id"] == SEED_ID
    assert "<mark>" in first["snippet"] and "<mark>" not in first["snippet_text"]
    assert data["facets"]["source"]["أصداء الخليج"] >= 1


def test_search_filters_and_dates(client) -> None:
    data = client.get("/api/search?q=الحسابات OR المنتخب&from=2018-01-01&to=2018-12-31").get_json()
    assert [r["id"] for r in data["results"]] == ["FX-tech-1"]
    assert data["results"][0]["date"] == "2018-02-20T01:44:01+00:00"
    data = client.get("/api/search?q=وزارة&source=bbc,cnn&category=culture").get_json()
    assert [r["id"] for r in data["results"]] == ["FX-culture-5"]


def test_doc_and_health_contract(client) -> None:
    data = client.get(f"/api/doc/{SEED_ID}?q=انترنت").get_json()
    validate(data, "Document")
    assert "<mark>" in data["body_html"]
    health = client.get("/api/health")
    assert health.status_code == 200
    validate(health.get_json(), "Health")
    assert health.get_json()["documents"] == 9


def test_openapi_is_served_and_valid(client) -> None:
    from openapi_spec_validator import validate as validate_spec

    data = client.get("/api/openapi.json").get_json()
    validate_spec(data)
    assert set(data["paths"]) == {"/api/search", "/api/doc/{id}", "/api/health"}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("page=0", "invalid_page"),
        ("page=abc", "invalid_page"),
        ("page=99999", "invalid_page"),
        ("per_page=0", "invalid_per_page"),
        ("per_page=1000", "invalid_per_page"),
        ("per_page=1.5", "invalid_per_page"),
        ("sort=oldest", "invalid_sort"),
        ("from=2018-13-01", "invalid_from"),
        ("to=yesterday", "invalid_to"),
        ("source=" + "x" * 300, "invalid_source"),
    ],
)
def test_invalid_parameters_are_400_with_the_error_shape(client, query: str, code: str) -> None:
    response = client.get(f"/api/search?q=مصر&{query}")
    assert response.status_code == 400
    data = response.get_json()
    validate(data, "Error")
    assert data["error"]["code"] == code
    page = client.get(f"/?q=مصر&{query}")
    assert page.status_code == 400 and "<html" in page.get_data(as_text=True)


def test_an_empty_date_range_finds_nothing(client) -> None:
    data = client.get("/api/search?q=لبنان&from=2019-01-01&to=2018-01-01").get_json()
    assert data["total"] == 0


def test_unknown_id_and_route_and_method(client) -> None:
    response = client.get("/api/doc/no-such-id")
    assert response.status_code == 404
    validate(response.get_json(), "Error")
    assert client.get("/api/nothing").get_json()["error"]["code"] == "not_found"
    assert client.post("/api/search").status_code == 405
    assert client.post("/api/search").get_json()["error"]["code"] == "method_not_allowed"
    assert client.get("/doc/no-such-id").status_code == 404


@pytest.mark.parametrize(
    "q",
    ['"', "«الأمم", "OR", "أو", "-", "*", "في من على", "😀🔥👍", "\x00\x1b[31m", "ن" * 2000, "a:b:c", "title:", "((", "\u202e"],
)
def test_odd_queries_are_friendly(client, q: str) -> None:
    assert client.get("/api/search", query_string={"q": q}).status_code == 200
    assert client.get("/", query_string={"q": q}).status_code == 200


# -- escaping ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("hostile")
    record = {
        "id": "evil\"'<1>",
        "title": "<script>alert('عنوان')</script> خبر عاجل",
        "body": "نص <img src=x onerror=alert(1)> خبر عاجل & <b>عريض</b>",
        "source": "<i>مصدر</i>",
        "url": "javascript:alert(1)",
    }
    build(root, load_text(json.dumps(record, ensure_ascii=False), "hostile.jsonl"), ["test"])
    return create_app({"INDEX": str(root), "TESTING": True}).test_client()


def test_stored_fields_and_queries_are_shown_as_text(hostile_client) -> None:
    page = hostile_client.get("/", query_string={"q": "خبر <b>x</b>"}).get_data(as_text=True)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    assert "<mark>خبر</mark>" in page
    doc_page = hostile_client.get("/doc/evil\"'<1>").get_data(as_text=True)
    assert "<script>" not in doc_page and "<img" not in doc_page
    assert "javascript:" not in doc_page  # only http(s) links are rendered
    data = hostile_client.get("/api/search?q=خبر").get_json()
    assert "&lt;img" in data["results"][0]["snippet"] and "<img" in data["results"][0]["snippet_text"]


# -- a missing index ---------------------------------------------------------------


def test_missing_index_still_serves_and_says_so(tmp_path: Path) -> None:
    client = create_app({"INDEX": str(tmp_path / "none"), "TESTING": True}).test_client()
    health = client.get("/api/health")
    assert health.status_code == 503
    validate(health.get_json(), "Health")
    assert health.get_json()["status"] == "unavailable"
    page = client.get("/?q=مصر")
    assert page.status_code == 503 and "baheth reindex" in page.get_data(as_text=True)
    assert client.get("/").status_code == 503
    api = client.get("/api/search?q=مصر")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "index_unavailable"
