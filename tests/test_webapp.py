"""The Flask app through its test client: the page, the JSON contract, every error path, escaping."""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from pathlib import Path

import jsonschema
import pytest

from conftest import SEED_ID
from search.backends.whoosh.store import build
from search.ingest import load_text
from search.labels import source_label
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
    assert re.search(r"(نتيجة واحدة|نتيجتان|[٠-٩٬]+ (نتائج|نتيجة)) *\n? *في [٠-٩]+ ملّي ثانية", page)  # count and time
    assert "أصداء الخليج" in page  # the source facet


def test_dates_are_readable_in_arabic(client) -> None:
    page = client.get("/?q=لبنان").get_data(as_text=True)
    assert "٢١ مارس ٢٠١٨" in page


def test_facet_links_filter(client) -> None:
    page = client.get("/?q=وزارة&source=BBC").get_data(as_text=True)
    assert "FX-culture-5" in page and "FX-intl-2" not in page
    assert "✕ بي بي سي عربي" in page  # the chosen filter can be removed, named as the outlet publishes


def test_paging_and_sort(client) -> None:
    page = client.get("/?q=وزارة OR الحسابات OR المنتخب&per_page=2&sort=newest").get_data(as_text=True)
    assert 'rel="next"' in page and "page=2" in page and "sort=newest" in page


def test_empty_state_and_suggestion(client) -> None:
    page = client.get("/?q=الانترنيت&respell=0").get_data(as_text=True)  # as typed: nothing
    assert "لا توجد نتائج" in page
    assert "هل تقصد" in page and "الإنترنت" in page  # as the articles write it
    page = client.get("/?q=الانترنيت").get_data(as_text=True)  # by default: the respelling's results
    assert "لا توجد نتائج" not in page and "عرض نتائج" in page and "<mark>" in page


def test_article_view_highlights_and_relates(client) -> None:
    page = client.get(f"/doc/{SEED_ID}?q=الانترنت").get_data(as_text=True)
    assert '<mark title="يطابق كلمة البحث: الانترنت">للإنترنت</mark>' in page
    assert '<mark title="يطابق كلمة البحث: الانترنت">#الانترنت</mark>' in page
    assert "مقالات ذات صلة" in page


def test_the_article_page_says_in_words_why_it_matched(client) -> None:  # type: ignore[no-untyped-def]
    """A mark's title does not show on a touch screen: a line above the text names each query word
    and the forms that matched it in this article, in the order they appear."""
    page = client.get(f"/doc/{SEED_ID}?q=" + urllib.parse.quote("الانترنت مؤتمر")).get_data(as_text=True)
    line = re.search(r'<p class="why">(.*?)</p>', page, re.S).group(1)
    words = re.findall(r'«<bdi dir="rtl">([^<]+)</bdi>» في', line)
    assert set(words) == {"الانترنت", "مؤتمر"}
    forms = re.findall(r'<mark><bdi dir="rtl">([^<]+)</bdi></mark>', line)
    assert "#الانترنت" in forms and "للإنترنت" in forms and len(forms) == len(set(forms))
    assert '<p class="why">' not in client.get(f"/doc/{SEED_ID}").get_data(as_text=True), "no search, no line"


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
    sources = data["facets"]["source"]
    assert [row["count"] for row in sources] == sorted((row["count"] for row in sources), reverse=True)
    assert any(row["value"] == "أصداء الخليج" and row["count"] >= 1 and not row["selected"] for row in sources)


def test_facets_are_ordered_lists_with_labels_and_selection(client) -> None:
    data = client.get("/api/search?q=وزارة&category=culture&category=رياضة").get_json()
    validate(data, "SearchResult")
    rows = {row["value"]: row for row in data["facets"]["category"]}
    assert rows["culture"]["label"] == "ثقافة" and rows["culture"]["selected"]


def test_paging_links_in_the_api(client) -> None:
    first = client.get("/api/search?q=وزارة OR الحسابات OR المنتخب&per_page=2&sort=newest").get_json()
    assert first["pages"] >= 2 and first["prev"] is None and "page=2" in first["next"]
    assert "sort=newest" in first["next"] and "per_page=2" not in first["next"] or "per_page" in first["next"]
    second = client.get(first["next"]).get_json()
    assert second["page"] == 2 and second["prev"] is not None
    last = client.get(f"/api/search?q=وزارة OR الحسابات OR المنتخب&per_page=2&page={first['pages']}").get_json()
    assert last["next"] is None


def test_api_answers_revalidate_with_an_etag(client) -> None:
    response = client.get("/api/search?q=الانترنت")
    tag = response.headers["ETag"]
    assert tag and "no-cache" in response.headers["Cache-Control"]
    again = client.get("/api/search?q=الانترنت", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == tag
    other = client.get("/api/search?q=مصر", headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["ETag"] != tag
    doc = client.get(f"/api/doc/{SEED_ID}")
    assert client.get(f"/api/doc/{SEED_ID}", headers={"If-None-Match": doc.headers["ETag"]}).status_code == 304


def test_a_change_to_the_index_changes_the_etag(fresh_index: Path) -> None:
    from search.backends.whoosh.store import add
    from search.ingest import Document, LoadResult

    client = create_app({"INDEX": str(fresh_index), "TESTING": True}).test_client()
    tag = client.get("/api/search?q=الكويكبات").headers["ETag"]
    add(fresh_index, LoadResult(documents=[Document(id="rocks-1", title="الكويكبات", body="خبر عن الكويكبات")]))
    after = client.get("/api/search?q=الكويكبات", headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.get_json()["total"] == 1 and after.headers["ETag"] != tag


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [("*", "https://any.example", "*"), ("https://a.example,https://b.example", "https://b.example", "https://b.example"),
     ("https://a.example", "https://evil.example", None), ("", "https://a.example", None)],
)
def test_cors_for_the_read_only_api(small_index, origins: str, origin: str, allowed: str | None) -> None:  # type: ignore[no-untyped-def]
    client = create_app({"INDEX": str(small_index), "TESTING": True, "cors_origins": origins}).test_client()
    response = client.get("/api/search?q=x", headers={"Origin": origin})
    assert response.headers.get("Access-Control-Allow-Origin") == allowed
    preflight = client.open("/api/search", method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match"})
    if allowed:
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET"
        assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/?q=x", headers={"Origin": origin}).headers


def test_openapi_example_is_valid_against_its_schema() -> None:
    for example in SPEC["components"]["schemas"]["SearchResult"]["examples"]:
        validate(example, "SearchResult")


def test_search_filters_and_dates(client) -> None:
    data = client.get("/api/search?q=الحسابات OR المنتخب&from=2018-01-01&to=2018-12-31").get_json()
    assert [r["id"] for r in data["results"]] == ["FX-tech-1"]
    assert data["results"][0]["date"] == "2018-02-20T01:44:01+00:00"
    data = client.get("/api/search?q=وزارة&source=bbc,cnn&category=culture").get_json()
    assert [r["id"] for r in data["results"]] == ["FX-culture-5"]


def test_doc_and_health_contract(client) -> None:
    data = client.get(f"/api/doc/{SEED_ID}?q=انترنت").get_json()
    validate(data, "Document")
    assert "<mark" in data["body_html"]
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
        ("sort=earliest", "invalid_sort"),
        ("from=2018-13-01", "invalid_from"),
        ("to=yesterday", "invalid_to"),
        ("source=" + "x" * 300, "invalid_source"),
        ("&".join(["category=x"] * 21), "invalid_category"),
        ("&".join(["source="] * 21), "invalid_source"),  # empty values count too: nothing sent is dropped unsaid
        ("category=" + "ب" * 201, "invalid_category"),
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


@pytest.mark.parametrize(("sent", "says"), [("2018-02-30", "no day of the calendar"), ("2018-13-01", "no day"),
                                             ("30-02-2018", "YYYY-MM-DD"), ("٢٠١٨-٠٢-٣٠", "no day of the calendar")])
def test_a_date_error_names_what_is_wrong_with_it(client, sent: str, says: str) -> None:  # type: ignore[no-untyped-def]
    """2018-02-30 is in the form asked for: the message says the day does not exist, not the form."""
    error = client.get("/api/search", query_string={"q": "مصر", "from": sent}).get_json()["error"]
    assert error["code"] == "invalid_from" and says in error["message"] and "«" in error["message_ar"]
    if says != "YYYY-MM-DD":
        assert "YYYY-MM-DD" not in error["message"] and "التقويم" in error["message_ar"]


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


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "لا نتائج"),
        (1, "نتيجة واحدة"),
        (2, "نتيجتان"),
        (3, "٣ نتائج"),
        (10, "١٠ نتائج"),
        (11, "١١ نتيجة"),
        (99, "٩٩ نتيجة"),
        (100, "١٠٠ نتيجة"),
        (103, "١٠٣ نتائج"),
        (111, "١١١ نتيجة"),
        (1000, "١٬٠٠٠ نتيجة"),
        (2510, "٢٬٥١٠ نتائج"),
    ],
)
def test_counts_take_the_arabic_plural_forms(n: int, expected: str) -> None:
    from webapp.arabic import RESULTS, counted

    assert counted(n, RESULTS, "eastern") == expected


@pytest.mark.parametrize(
    ("first", "last", "total", "style", "expected"),
    [
        (11, 20, 95, "eastern", "١١–٢٠ من ٩٥ نتيجة"),
        (1, 10, 95, "eastern", "١–١٠ من ٩٥ نتيجة"),
        (1, 10, 1003, "western", "1–10 من 1,003 نتائج"),
        (1, 7, 7, "eastern", "٧ نتائج"),  # everything on one page: just the count
        (1, 0, 0, "eastern", "لا نتائج"),
    ],
)
def test_result_ranges(first: int, last: int, total: int, style: str, expected: str) -> None:
    from webapp.arabic import result_range

    assert result_range(first, last, total, style) == expected


def test_results_page_structure(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=وزارة OR الحسابات OR المنتخب&per_page=2&page=2").get_data(as_text=True)
    assert re.search(r'<h1 id="results-title"[^>]*>نتائج البحث عن «<bdi dir="rtl">', page)
    assert '<a class="skip" href="#main">' in page and '<main id="main"' in page
    assert "autofocus" not in page  # only the home page takes the focus
    assert re.search(r"٣–٤ من [٠-٩]+ (نتائج|نتيجة)", page)
    assert "autofocus" in client.get("/").get_data(as_text=True)


def test_the_digits_setting_applies_to_the_whole_page(small_index) -> None:  # type: ignore[no-untyped-def]
    from webapp import create_app

    western = create_app({"INDEX": str(small_index), "TESTING": True, "digits": "western"}).test_client()
    page = western.get("/?q=لبنان").get_data(as_text=True)
    main = page.split('<main id="main"', 1)[1]
    assert not re.search("[٠-٩]", main) and re.search("[0-9]", main)
    eastern = create_app({"INDEX": str(small_index), "TESTING": True}).test_client().get("/?q=لبنان")
    assert re.search("[٠-٩]", eastern.get_data(as_text=True).split('<main id="main"', 1)[1])


@pytest.mark.parametrize(
    ("query", "code", "arabic"),
    [
        ("per_page=abc", "invalid_per_page", "عدد النتائج في الصفحة"),
        ("page=0", "invalid_page", "رقم الصفحة"),
        ("from=2020-13-01", "invalid_from", "تاريخ البداية"),
        ("sort=earliest", "invalid_sort", "الترتيب"),
    ],
)
def test_errors_have_a_code_and_an_arabic_message(client, query: str, code: str, arabic: str) -> None:  # type: ignore[no-untyped-def]
    api = client.get(f"/api/search?q=x&{query}")
    error = api.get_json()["error"]
    assert api.status_code == 400 and error["code"] == code and arabic in error["message_ar"] and error["message"]
    page = client.get(f"/?q=x&{query}").get_data(as_text=True)
    assert arabic in page and "<bdi" in page and " must be " not in page  # no English on the Arabic page


@pytest.mark.parametrize("route", ["/", "/export.csv", "/feed.atom"])
@pytest.mark.parametrize(("style", "bounds"), [("eastern", "بين ١ و١٠٠"), ("western", "بين 1 و100")])
def test_an_error_page_writes_its_numbers_in_the_pages_digits_and_the_sent_value_as_sent(  # type: ignore[no-untyped-def]
    small_index, route: str, style: str, bounds: str
) -> None:
    """The page wrote «بين 1 و100» among Arabic-Indic numbers; what the reader sent is shown as sent."""
    from webapp import create_app

    client = create_app({"INDEX": str(small_index), "TESTING": True, "digits": style}).test_client()
    page = client.get(route + "?q=x&per_page=0").get_data(as_text=True)
    assert bounds in page and "<bdi>0</bdi>" in page
    api = client.get("/api/search?q=x&per_page=0").get_json()["error"]
    assert "بين 1 و100" in api["message_ar"]  # the API's message is data: ASCII digits whatever the page's


@pytest.mark.parametrize(("path", "method", "status"), [("/no/such/page", "get", 404), ("/", "post", 405)])
def test_http_errors_speak_arabic_on_pages_and_both_in_the_api(client, path: str, method: str, status: int) -> None:  # type: ignore[no-untyped-def]
    page = getattr(client, method)(path)
    text = page.get_data(as_text=True)
    assert page.status_code == status and re.search("[\u0600-\u06ff]{3}", text.split("<main", 1)[1])
    assert "The requested URL" not in text and "not allowed" not in text
    api = getattr(client, method)("/api" + ("/search" if method == "post" else path))
    error = api.get_json()["error"]
    assert api.status_code == status and error["message"] and re.search("[\u0600-\u06ff]", error["message_ar"])


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("q=مصر&from=2020-05-01&to=2019-01-01", "dates_reversed"),
        ("q=مصر&source=no-such-source", "unknown_source"),
        ("q=مصر&category=no-such-category", "unknown_category"),
        ("q=مصر&undated=1&from=2019-01-01", "undated_with_range"),
        ("q=انترن*&per_page=1", None),
    ],
)
def test_contradicting_or_empty_filters_say_so(client, query: str, code: str | None) -> None:  # type: ignore[no-untyped-def]
    data = client.get(f"/api/search?{query}").get_json()
    codes = [n["code"] for n in data["notices"]]
    if code is None:
        assert codes == []
        return
    assert code in codes and data["total"] == 0
    notice = next(n for n in data["notices"] if n["code"] == code)
    assert re.search("[\u0600-\u06ff]", notice["message_ar"]) and notice["message"]
    page = client.get(f"/?{query}").get_data(as_text=True)
    assert f'data-code="{code}"' in page


def test_no_middle_dot_sits_beside_a_number_where_it_reads_as_a_zero(client) -> None:  # type: ignore[no-untyped-def]
    """«·» beside an Arabic-Indic digit reads as the zero «٠»: «BBC · ١٢ مارس» was read «١٢٠ مارس»."""
    pages = ["/", "/?q=الانترنت", "/?q=الانترنت&collapse=0", f"/doc/{SEED_ID}?q=الانترنت", "/about", "/?category=sport"]
    for path in pages:
        text = re.sub(r"<[^>]+>", "", client.get(path).get_data(as_text=True)).replace("&nbsp;", " ")
        assert not re.search(r"\d\s*·|·\s*\d", text), (path, re.search(r".{20}(\d\s*·|·\s*\d).{20}", text))


def test_a_page_past_the_last_says_so_and_links_the_last(client) -> None:  # type: ignore[no-untyped-def]
    """Page 999 of a search with results: not «لا توجد نتائج» under a count of results."""
    data = client.get("/api/search?q=الانترنت&per_page=1&page=999").get_json()
    notice = next(n for n in data["notices"] if n["code"] == "page_past_last")
    assert data["total"] > 0 and data["results"] == [] and str(data["pages"]) in notice["message"]
    page = client.get("/?q=الانترنت&per_page=1&page=999").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", page)
    assert "لا توجد نتائج" not in page and text.count("بعد آخر صفحة") == 1, "said once, by the notice"
    assert re.search(rf'<h2><a href="[^"]*page={data["pages"]}[^"]*">إلى الصفحة الأخيرة', page)


def test_a_browsing_page_is_titled_by_what_it_browses(client) -> None:  # type: ignore[no-untyped-def]
    """/?category=sport, the link from /about, names its category in the tab's title."""
    page = client.get("/?category=sport").get_data(as_text=True)
    assert re.search(r"<title>رياضة - باحث</title>", page)


def test_an_empty_filtered_search_says_the_filter_emptied_it(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=الانترنت&from=1990-01-01&to=1990-12-31").get_data(as_text=True)
    assert "ضمن عوامل التصفية" in page and "بلا قيد التاريخ</a>" in page  # the dates alone emptied it
    assert "تأكد من الإملاء" not in page  # the words are spelt as the archive spells them
    bare = client.get("/?q=زززززززز").get_data(as_text=True)
    assert "لا توجد نتائج" in bare and "أزل عوامل التصفية" not in bare  # no filter to remove
    assert 'class="export"' not in bare and 'class="feed"' in bare  # nothing to download; a feed to follow


def test_the_heading_shows_a_long_query_clipped_and_a_respelled_query_as_searched(client) -> None:  # type: ignore[no-untyped-def]
    long_query = "الانترنت وزارة الخارجية " * 40
    page = client.get("/", query_string={"q": long_query}).get_data(as_text=True)
    heading = re.search(r'<h1 id="results-title"[^>]*>(.*?)</h1>', page, re.S).group(1)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert len(heading) < 200 and "…" in heading and len(title) < 120
    respelled = client.get("/?q=الانترنيت").get_data(as_text=True)
    heading = re.search(r'<h1 id="results-title"[^>]*>(.*?)</h1>', respelled, re.S).group(1)
    assert "عرض نتائج" in respelled and "الانترنيت" not in heading


@pytest.mark.parametrize("q", ["المريخ -الإمارات", "-الإمارات المريخ", "المريخ -(الإمارات)"])
def test_an_excluded_word_is_not_marked_as_why_an_article_matched(client, q: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/doc/FX-json-1", query_string={"q": q}).get_data(as_text=True)
    marked = re.findall(r"<mark[^>]*>([^<]*)</mark>", page)
    assert marked and all("المريخ" in m for m in marked), marked
    data = client.get("/api/doc/FX-json-1", query_string={"q": q}).get_data(as_text=True)
    assert "<mark" in data and "الإمارات</mark>" not in data


@pytest.mark.parametrize("sent", ["source=SkyNews,no-such-source", "source=SkyNews&source=no-such-source"])
def test_a_source_that_names_nothing_is_named_in_a_list_or_repeated(client, sent: str) -> None:  # type: ignore[no-untyped-def]
    """«SkyNews,CNNN» filters by SkyNews and says CNNN is no source, as two parameters do: a value
    misspelt in a list is never dropped in silence."""
    data = client.get(f"/api/search?{sent}").get_json()
    alone = client.get("/api/search?source=SkyNews").get_json()
    assert data["total"] == alone["total"] > 0
    unknown = [n for n in data["notices"] if n["code"] == "unknown_source"]
    assert len(unknown) == 1 and "no-such-source" in unknown[0]["message"]


def test_a_notice_isolates_the_users_text(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=ا*").get_data(as_text=True)
    assert re.search(r'data-code="prefix_too_short">[^<]*«<bdi dir="rtl">ا</bdi>\*»', page)


def test_api_page_is_static_html(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<script" not in text and "/api/search" in text and "dates_reversed" in text


def test_the_undated_bucket_on_the_page_and_in_the_api(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=الانترنت").get_data(as_text=True)
    link = re.search(r'<a href="(/\?[^"]*undated=1[^"]*)">بدون تاريخ</a>', page)
    assert link is not None
    chosen = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "✕ بدون تاريخ" in chosen and "<time" not in chosen.split('class="hits"', 1)[1].split("</ol>", 1)[0]
    data = client.get("/api/search?q=الانترنت&undated=1").get_json()
    assert data["total"] >= 1 and all(r["date"] is None for r in data["results"])
    assert client.get("/api/health").get_json()["undated"] == 2


def test_latin_articles_read_left_to_right_and_an_arabic_headline_opening_in_latin_right_to_left(
    tmp_path: Path,
) -> None:
    """Titles, snippets and paragraphs read right to left when they hold an Arabic letter, left to right
    when they hold none. «Files Go تطبيق …» is an Arabic headline: dir="auto" (the first strong letter)
    laid it out left to right."""
    from search.ingest import Document, LoadResult

    docs = [Document(id="en-1", title="Internet in Egypt", body="The internet in Egypt grew."),
            Document(id="ar-1", title="Files Go تطبيق من غوغل لإدارة الملفات",
                     body="Files Go تطبيق جديد أطلقته غوغل لإدارة الملفات على الهواتف.")]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    page = client.get("/?q=internet").get_data(as_text=True)
    assert '<h2 dir="ltr">' in page and '<p class="snippet" dir="ltr">' in page
    assert '<p dir="ltr">' in client.get("/doc/en-1").get_data(as_text=True)
    page = client.get("/?q=غوغل").get_data(as_text=True)
    assert '<h2 dir="rtl">' in page and '<p class="snippet" dir="rtl">' in page and 'dir="ltr"><a' not in page
    doc = client.get("/doc/ar-1").get_data(as_text=True)
    assert '<h1 dir="rtl">' in doc and '<p dir="rtl">' in doc


@pytest.mark.parametrize("query", ["الانترنت", "لبنان", "مصر"])
def test_the_timeline_counts_every_dated_result_once_and_each_bar_narrows_to_its_period(client, query: str) -> None:  # type: ignore[no-untyped-def]
    data = client.get(f"/api/search?q={query}").get_json()
    bars = data["histogram"]
    assert bars and sum(b["count"] for b in bars) + data["undated"] == data["total"]
    assert bars == sorted(bars, key=lambda b: b["from"]) and len({b["unit"] for b in bars}) == 1
    for bar in bars:
        if bar["count"]:
            narrowed = client.get(f"/api/search?q={query}&from={bar['from']}&to={bar['to']}").get_json()
            assert narrowed["total"] == bar["count"], bar
            assert all(bar["from"] <= r["date"][:10] <= bar["to"] for r in narrowed["results"])
    page = client.get(f"/?q={query}").get_data(as_text=True)
    svg = page.split('<svg class="timeline"', 1)[1].split("</svg>", 1)[0]
    links = re.findall(r'<a href="([^"]+)" aria-label="([^"]+)"', svg)
    assert len(links) == sum(1 for b in bars if b["count"])  # an empty period is drawn, not linked
    first_href, first_label = links[0]
    assert f"from={bars[0]['from']}&to={bars[0]['to']}" in first_href.replace("&amp;", "&")
    assert bars[0]["count"] and re.search("مقال", first_label)  # the first bar holds the oldest result


def test_no_timeline_without_dated_results_and_presets_are_links(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/search?q=الانترنت&undated=1").get_json()
    assert data["histogram"] == []
    page = client.get("/?q=الانترنت&undated=1").get_data(as_text=True)
    assert '<svg class="timeline"' not in page
    every = client.get("/?from=2018-01-01&to=2018-12-31").get_data(as_text=True)  # dates alone: shown, uncounted
    presets = re.findall(r'<ul class="presets">(.*?)</ul>', every, re.S)[0]
    assert "آخر أسبوع" in presets and "from=" in presets


def test_the_presets_of_an_archive_that_ended_count_back_from_its_last_day(client) -> None:  # type: ignore[no-untyped-def]
    """The fixtures end years before today: «آخر سنة» counted from today selected nothing. The presets
    end on the archive's last day, the page says so, and each finds articles."""
    last = client.get("/api/health").get_json()["collection"]["last"]
    page = client.get("/?q=الإمارات").get_data(as_text=True)  # an article of the archive's last day
    assert "حتى آخر يوم في الأرشيف" in page
    presets = re.findall(r'<ul class="presets">(.*?)</ul>', page, re.S)[0]
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', presets)]
    assert len(links) == 3 and all(f"to={last}" in h for h in links)  # the year before it holds none: left out
    start = re.search(r"from=([0-9-]+)", links[2]).group(1)
    year = client.get(f"/api/search?from={start}&to={last}").get_json()
    assert year["total"] > 0, "the archive's last year holds articles"


def test_oldest_first_in_the_api_and_on_the_page(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/search?q=وزارة OR الحسابات OR المنتخب&sort=oldest").get_json()
    validate(data, "SearchResult")
    dates = [hit["date"] for hit in data["results"]]
    # The undated seed matches too («بوزارة الخارجية»): after every dated result, which go oldest first.
    dated = [d for d in dates if d is not None]
    assert dates == [*dated, None] and data["results"][-1]["id"] == SEED_ID
    assert data["sort"] == "oldest" and dated == sorted(dated) and len(set(dated)) > 1
    page = client.get("/?q=وزارة OR الحسابات OR المنتخب&sort=oldest&per_page=2").get_data(as_text=True)
    assert '<option value="oldest" selected>الأقدم</option>' in page and "sort=oldest" in page  # kept in the page links
    wrong = client.get("/api/search?q=x&sort=earliest")
    assert wrong.status_code == 400 and "oldest" in wrong.get_json()["error"]["message"]


def test_every_link_to_a_search_keeps_its_per_page(client) -> None:  # type: ignore[no-untyped-def]
    """Paging with per_page=1 shows each result once: next, prev, the pager, the feed's own link."""
    import urllib.parse

    q = "وزارة OR الحسابات OR المنتخب"
    every = [r["id"] for r in client.get("/api/search", query_string={"q": q, "per_page": 100}).get_json()["results"]]
    assert len(every) >= 3
    seen, url = [], "/api/search?" + urllib.parse.urlencode({"q": q, "per_page": 1})
    while url:
        body = client.get(url).get_json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
        assert url is None or "per_page=1" in url
    assert seen == every
    last = client.get("/api/search", query_string={"q": q, "per_page": 1, "page": 2}).get_json()
    assert "per_page=1" in last["prev"]
    page = client.get("/", query_string={"q": q, "per_page": 1, "page": 2}).get_data(as_text=True)
    pager = page.split('class="pages"', 1)[1].split("</nav>", 1)[0]
    assert pager.count("per_page=1") == pager.count("href=") >= 3
    form = page.split('class="filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="per_page" value="1"' in form
    feed = client.get("/feed.atom", query_string={"q": q, "per_page": 1}).get_data(as_text=True)
    assert "per_page=1" in feed.split('rel="self"', 1)[1].split("/>", 1)[0]


def test_the_pager_never_links_a_page_that_answers_400_or_nothing(client) -> None:  # type: ignore[no-untyped-def]
    from webapp.params import MAX_PAGE

    q = "وزارة OR الحسابات OR المنتخب"
    total = client.get("/api/search", query_string={"q": q, "per_page": 1}).get_json()["total"]
    past = client.get("/", query_string={"q": q, "per_page": 1, "page": total + 5}).get_data(as_text=True)
    prev = past.split('rel="prev" href="', 1)[1].split('"', 1)[0]
    assert f"page={total}" in prev.replace("&amp;", "&")  # the last page with results, not the empty one before
    for href in past.split('class="pages"', 1)[1].split("</nav>", 1)[0].split('href="')[1:]:
        target = href.split('"', 1)[0].replace("&amp;", "&")
        assert client.get(target).status_code == 200
        number = int(target.split("page=")[1].split("&")[0])
        assert 1 <= number <= min(total, MAX_PAGE)


def test_a_date_range_alone_is_searched_on_the_page_as_in_the_api(client) -> None:  # type: ignore[no-untyped-def]
    query = {"from": "2018-01-01", "to": "2018-12-31"}
    api = client.get("/api/search", query_string=query).get_json()
    assert api["total"] >= 1
    page = client.get("/", query_string=query).get_data(as_text=True)
    assert page.count('<li class="hit">') == min(api["total"], 10) and 'value="2018-01-01"' in page
    for path in ("/feed.atom", "/export.csv", "/export.jsonl"):
        response = client.get(path, query_string=query)
        assert response.status_code == 200, path
        response.get_data()


@pytest.mark.parametrize("name", ["q", "page", "per_page", "sort", "match", "from", "to", "collapse", "respell"])
def test_a_parameter_sent_twice_is_refused_by_name(client, name: str) -> None:  # type: ignore[no-untyped-def]
    values = {"q": ["لبنان", "مصر"], "page": ["1", "abc"], "per_page": ["5", "0"], "sort": ["newest", "oldest"],
              "match": ["all", "any"], "from": ["2018-01-01", "2018-02-01"], "to": ["2018-01-01", "2018-02-01"],
              "collapse": ["1", "0"], "respell": ["1", "0"]}[name]
    query = [("q", "وزارة")] * (name != "q") + [(name, v) for v in values]
    for path in ("/api/search", "/export.csv", "/feed.atom", "/"):
        response = client.get(path, query_string=query)
        assert response.status_code == 400, path
        if path == "/api/search":
            assert response.get_json()["error"]["code"] == f"invalid_{name}"


def test_conditional_requests_compare_weakly_and_never_invent_an_article(client) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/api/search", query_string={"q": "وزارة"})
    tag = first.headers["ETag"]
    weak = client.get("/api/search", query_string={"q": "وزارة"}, headers={"If-None-Match": "W/" + tag})
    assert weak.status_code == 304
    assert client.get("/api/doc/no-such-article", headers={"If-None-Match": "*"}).status_code == 404
    spec = client.get("/api/openapi.json")
    assert spec.headers["ETag"] and "no-cache" in spec.headers["Cache-Control"]
    assert client.get("/api/openapi.json", headers={"If-None-Match": spec.headers["ETag"]}).status_code == 304
    assert client.get("/api/health").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("most", [5, 300])
def test_the_openapi_document_states_the_server_s_own_per_page_limit(small_index, most: int) -> None:  # type: ignore[no-untyped-def]
    from webapp import create_app

    client = create_app({"INDEX": str(small_index), "TESTING": True, "max_per_page": most, "per_page": 5}).test_client()
    spec = client.get("/api/openapi.json").get_json()
    per_page = next(p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "per_page")
    assert most in [branch.get("maximum") for branch in per_page["schema"].get("anyOf", [per_page["schema"]])]
    assert client.get("/api/search", query_string={"q": "وزارة", "per_page": most}).status_code == 200
    assert client.get("/api/search", query_string={"q": "وزارة", "per_page": most + 1}).status_code == 400


def test_an_article_page_refuses_q_sent_twice_and_the_form_shows_undated(client) -> None:  # type: ignore[no-untyped-def]
    from conftest import SEED_ID

    for path in (f"/doc/{SEED_ID}", f"/api/doc/{SEED_ID}"):
        assert client.get(path, query_string=[("q", "الانترنت"), ("q", "مصر")]).status_code == 400, path
        assert client.get(path, query_string={"q": "الانترنت"}).status_code == 200, path
    page = client.get("/", query_string={"q": "وزارة", "undated": "1"}).get_data(as_text=True)
    form = page.split('class="filters"', 1)[1].split("</form>", 1)[0]
    assert 'type="checkbox" name="undated" value="1" checked' in form  # visible: the reader can uncheck it
    assert 'type="hidden" name="undated"' not in form


@pytest.mark.parametrize(
    ("written", "ascii"),
    [
        ("per_page=٢", "per_page=2"),  # Arabic-Indic digits, as the page writes its numbers
        ("per_page=۲", "per_page=2"),  # Persian digits
        ("page=٢&per_page=١", "page=2&per_page=1"),
        ("from=٢٠١٨-٠١-٠١&to=٢٠٢٠-١٢-٣١", "from=2018-01-01&to=2020-12-31"),
        ("from=۲۰۱۸-۰۱-۰۱", "from=2018-01-01"),
    ],
)
def test_numbers_and_dates_in_arabic_digits_are_read(  # type: ignore[no-untyped-def]
    client, written: str, ascii: str
) -> None:
    """As settings and queries read them: «٢٠» is twenty, not an error, on every route."""
    q = "q=" + urllib.parse.quote("وزارة OR الحسابات OR المنتخب OR الانترنت") + "&"
    data = client.get(f"/api/search?{q}{written}").get_json()
    expected = client.get(f"/api/search?{q}{ascii}").get_json()
    assert "error" not in data and {k: data[k] for k in ("total", "page", "per_page")} == {
        k: expected[k] for k in ("total", "page", "per_page")
    }
    assert [r["id"] for r in data["results"]] == [r["id"] for r in expected["results"]]
    for route in ("/", "/feed.atom", "/export.csv"):
        assert client.get(f"{route}?{q}{written}").status_code == 200, route


def test_a_bad_number_in_arabic_digits_is_still_named(client) -> None:  # type: ignore[no-untyped-def]
    error = client.get("/api/search?q=x&per_page=" + urllib.parse.quote("٥٠٠")).get_json()["error"]
    assert error["code"] == "invalid_per_page" and "500" in error["message"]


@pytest.mark.parametrize("route", ["/", "/feed.atom", "/export.csv"])
@pytest.mark.parametrize("bad", ["per_page=500", "page=0", "from=2018-13-01", "sort=earliest", "group=g1"])
def test_a_400_page_keeps_the_readers_words(client, route: str, bad: str) -> None:  # type: ignore[no-untyped-def]
    """The error says what is wrong; the search box keeps ترامب, and a link searches it again
    without the bad parameter."""
    response = client.get(f"{route}?q={urllib.parse.quote('ترامب')}&source=BBC&{bad}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<input type="search" name="q" value="ترامب"', page), page
    name = bad.split("=")[0]
    retry = re.search(r'<a href="([^"]*)">البحث نفسه بدون', page)
    assert retry is not None
    assert client.get(retry[1].replace("&amp;", "&")).status_code == 200
    assert f"{name}=" not in retry[1] and "source=BBC" in retry[1]


def test_controls_in_an_added_record_never_reach_the_html(fresh_index: Path) -> None:
    """`baheth add` of a record with C0 controls and noncharacters in its title, source, author,
    category and url: the search page, the article's page and /about hold none of them."""
    from conftest import cli

    record = {
        "id": "CTRL-1",
        "title": "عنوان فيه تحكم \u0001\u000b\u001f\u007f\ufffe\uffff نهاية",
        "body": "خبر عن مكافحة التصحر\u000cفي الجنوب\u0001",
        "source": "ctrl\u000bsrc",
        "author": "كاتب\u0001",
        "category": "بيئة\u001f",
        "url": "https://example.org/\u0001x",
    }
    source = fresh_index.parent / "ctrl.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    added = cli("add", source, "--index", fresh_index)
    assert added.returncode == 0 and "control characters or noncharacters left out of" in added.stdout + added.stderr
    client = create_app({"INDEX": str(fresh_index), "TESTING": True}).test_client()
    not_text = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
    pages = {
        route: client.get(route).get_data(as_text=True)
        for route in ("/?q=" + urllib.parse.quote("التصحر"), "/doc/CTRL-1", "/about", "/api/doc/CTRL-1")
    }
    assert "CTRL-1" in pages["/?q=" + urllib.parse.quote("التصحر")] and "ctrl src" in pages["/about"]
    for route, page in pages.items():
        assert not not_text.search(page), (route, not_text.findall(page))


def test_the_active_filters_are_named_under_the_heading_each_with_a_way_out(client) -> None:  # type: ignore[no-untyped-def]
    """On a phone the filters' panel is below the results: the line under the heading says what the
    list is limited to (source, category, dates, «undated»), each with a link that lifts it."""
    page = client.get("/?q=الانترنت&source=SkyNews&from=2018-01-01&to=2020-12-31").get_data(as_text=True)
    line = re.search(r'<p class="active-filters">(.*?)</p>', page, re.S).group(1)
    assert "SkyNews" in line and "من" in line and "إلى" in line
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', line)]
    assert len(links) == 2
    assert "source=" not in links[0] and "from=2018-01-01" in links[0]
    assert "from=" not in links[1] and "source=SkyNews" in links[1]
    assert '<p class="active-filters">' not in client.get("/?q=الانترنت").get_data(as_text=True)


def test_a_later_page_links_back_to_the_first(tmp_path: Path) -> None:
    from search.ingest import Document, LoadResult

    docs = [Document(id=f"p-{i}", title=f"خبر رقم {i} عن الانتخابات", body=f"تقرير {i} عن الانتخابات البلدية في تونس")
            for i in range(12)]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    page = client.get("/?q=الانتخابات&per_page=1&page=8").get_data(as_text=True)
    pager = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', page, re.S).group(1)
    first = re.search(r'<a href="([^"]+)" aria-label="الصفحة الأولى">', pager)
    assert first and "&page=" not in first.group(1).replace("&amp;", "&") and "…" in pager
    early = client.get("/?q=الانتخابات&per_page=1&page=2").get_data(as_text=True)
    assert "الصفحة الأولى" not in re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', early, re.S).group(1)


def test_a_parameter_no_search_reads_is_named_not_ignored_in_silence(client) -> None:  # type: ignore[no-untyped-def]
    """?Q=… (a capital), perpage, limit: the search runs as if they were not sent, and says so."""
    data = client.get("/api/search?Q=الانترنت&perpage=5").get_json()
    named = sorted(n["message"] for n in data["notices"] if n["code"] == "unknown_parameter")
    assert len(named) == 2 and "Q" in named[0] + named[1] and "perpage" in named[0] + named[1]
    page = client.get("/?q=الانترنت&limit=3").get_data(as_text=True)
    assert 'data-code="unknown_parameter"' in page and "limit" in page
    many = client.get("/api/search?q=x&" + "&".join(f"p{i}=1" for i in range(30))).get_json()
    assert sum(n["code"] == "unknown_parameter" for n in many["notices"]) == 5
    assert not [n for n in client.get("/api/search?q=الانترنت&page=1").get_json()["notices"]
                if n["code"] == "unknown_parameter"]


def test_an_archive_ending_in_year_one_still_has_a_results_page(tmp_path: Path) -> None:
    """A missing date written 0001-01-01 (a .NET export) made the presets overflow: every page was a 500."""
    from datetime import UTC, datetime

    from search.ingest import Document, LoadResult

    docs = [Document("y1", "خبر قديم", "نص عن الانتخابات", date=datetime(1, 1, 5, tzinfo=UTC))]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    assert client.get("/?q=الانتخابات").status_code == 200


def test_an_english_paragraph_with_a_marked_word_stays_left_to_right(tmp_path: Path) -> None:
    """The direction is the text's, not its markup's: a mark's Arabic title made it rtl."""
    from search.ingest import Document, LoadResult

    build(tmp_path, LoadResult(documents=[Document("en1", "Privacy rules", "New privacy rules in Europe.")]), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    page = client.get("/doc/en1?q=privacy").get_data(as_text=True)
    assert "<mark" in page and '<p dir="ltr">' in page and '<h1 dir="ltr">' in page


@pytest.mark.parametrize("sent", ["source=,", "source=%20,%20", "category=،"])
def test_a_list_of_nothing_is_named_not_an_empty_page_without_a_word(client, sent: str) -> None:  # type: ignore[no-untyped-def]
    data = client.get(f"/api/search?q=الانترنت&{sent}").get_json()
    assert data["total"] == 0 and any(n["code"].startswith("unknown_") for n in data["notices"])


def test_an_arabic_comma_separates_a_list_of_sources(client) -> None:  # type: ignore[no-untyped-def]
    both = client.get("/api/search?source=SkyNews،BBC").get_json()
    assert both["total"] == (client.get("/api/search?source=SkyNews").get_json()["total"]
                             + client.get("/api/search?source=BBC").get_json()["total"]) > 0
    assert not [n for n in both["notices"] if n["code"] == "unknown_source"]


def test_each_active_filter_link_lifts_only_its_own_value(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=الانترنت&source=SkyNews&source=BBC").get_data(as_text=True)
    line = re.search(r'<p class="active-filters">(.*?)</p>', page, re.S).group(1)
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', line)]
    assert len(links) == 2
    assert "source=BBC" in links[0] and "SkyNews" not in links[0]
    assert "source=SkyNews" in links[1] and "BBC" not in links[1]


def test_a_page_past_the_last_of_a_respelled_search_says_so_once(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/search?q=الانترنيت&page=999").get_json()
    assert [n["code"] for n in data["notices"]].count("page_past_last") == 1


def test_a_story_groups_page_has_a_title_and_a_feed_title_of_its_own(client) -> None:  # type: ignore[no-untyped-def]
    """The tab and the feed link said only «باحث» and «باحث: » on the page of one story's copies."""
    data = client.get("/api/search?q=الانترنت&collapse=0").get_json()
    group = next((r["group"]["id"] for r in data["results"] if r.get("group")), None)
    assert group is not None
    page = client.get(f"/?group={group}&sort=oldest").get_data(as_text=True)
    assert re.search(r"<title>نسخ الخبر نفسه - باحث</title>", page)
    assert re.search(r'rel="alternate"[^>]*title="باحث: نسخ الخبر نفسه"', page)


def test_a_chosen_value_s_cross_in_the_filters_lifts_that_value_only(client) -> None:  # type: ignore[no-untyped-def]
    """The ✕ beside a chosen source in the filters' panel does what the ✕ of its line under the
    heading does: lifts that source, keeps the other, and says so to a screen reader."""
    facets = client.get("/api/search?q=وزارة&collapse=0").get_json()["facets"]["source"]
    values = [item["value"] for item in facets]
    first = next(v for v in values if v.lower() != v)  # typed in lower case below: chosen all the same
    second = next(v for v in values if v != first)
    page = client.get(f"/?q=وزارة&source={first.lower()}&source={second}").get_data(as_text=True)
    chosen = re.findall(r'<li class="chosen">\s*<a href="([^"]+)" aria-label="([^"]+)">✕', page)
    assert len(chosen) == 2, chosen
    for (href, label), (lifted, kept) in zip(chosen, [(first, second), (second, first)], strict=False):
        href = urllib.parse.unquote(href.replace("&amp;", "&"))
        assert f"source={kept}" in href.replace(f"source={first.lower()}", f"source={first}")
        assert f"source={lifted}" not in href and f"source={lifted.lower()}" not in href
        assert label.startswith("إزالة المصدر") and source_label(lifted) in label  # named as it publishes


@pytest.mark.parametrize(("query", "direction"), [("Facebook تونس", "rtl"), ("الانترنت", "rtl"), ("Facebook", "ltr")])
def test_the_query_is_laid_out_as_the_search_box_lays_it_out(client, query: str, direction: str) -> None:  # type: ignore[no-untyped-def]
    """A query opening with a Latin word is still an Arabic line: the heading and the empty state
    show it right to left, as the box does (not reversed by the first strong letter)."""
    page = client.get("/?q=" + urllib.parse.quote(query)).get_data(as_text=True)
    assert f'«<bdi dir="{direction}">{query}</bdi>»' in page


def test_a_respelling_comes_right_under_the_heading_and_says_what_its_link_does(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=" + urllib.parse.quote("الانترنتت")).get_data(as_text=True)
    assert 'class="suggestion"' in page
    assert page.index('class="suggestion"') < page.index('class="stats"') < page.index('class="export"')
    as_typed = r'<a class="as-typed"\s+href="[^"]*respell=0[^"]*">\s*ابحث عن «<bdi dir="rtl">الانترنتت</bdi>» كما كُتبت'
    assert re.search(as_typed, page)


def test_a_notice_names_days_as_the_filter_line_does(client) -> None:  # type: ignore[no-untyped-def]
    """«from after to»: the days in the words of the line under the heading, not as ISO digits."""
    page = client.get("/?q=مصر&from=2020-05-01&to=2019-01-01").get_data(as_text=True)
    notice = re.search(r'data-code="dates_reversed">(.*?)</p>', page, re.S).group(1)
    assert "١ مايو ٢٠٢٠" in notice and "١ يناير ٢٠١٩" in notice and "٢٠٢٠-٠٥-٠١" not in notice


def test_the_line_under_the_heading_names_the_order_and_the_words_asked_for(client) -> None:  # type: ignore[no-untyped-def]
    """On a phone the order and the words' setting are in the panel below the results: the line under
    the heading names them when they are not the default, each with a way back to it."""
    page = client.get("/?q=" + urllib.parse.quote("الانترنت وزارة") + "&sort=newest&match=all").get_data(as_text=True)
    line = re.search(r'<p class="active-filters">(.*?)</p>', page, re.S).group(1)
    assert "الأحدث أولًا" in line and "بكل الكلمات" in line and "مقيّد" not in line
    links = [urllib.parse.unquote(h.replace("&amp;", "&")) for h in re.findall(r'href="([^"]+)"', line)]
    assert len(links) == 2 and "sort=" not in links[0] and "match=all" in links[0]
    assert "match=" not in links[1] and "sort=newest" in links[1]
    plain = client.get("/?q=" + urllib.parse.quote("الانترنت")).get_data(as_text=True)
    assert '<p class="active-filters">' not in plain


def test_the_home_page_says_what_the_archive_holds(client) -> None:  # type: ignore[no-untyped-def]
    """A newcomer sees what is searched (how many articles, from which sources, over which days) and
    a source tip that this archive has, not a fixed example that may find nothing."""
    overview = client.get("/api/health").get_json()["collection"]
    page = client.get("/").get_data(as_text=True)
    scope = re.search(r'<p class="scope">(.*?)</p>', page, re.S).group(1)
    assert f"{overview['documents']:,}".translate(str.maketrans("0123456789,", "٠١٢٣٤٥٦٧٨٩٬")) in scope
    assert 'href="/about"' in scope
    largest = overview["sources"][0]["label"]  # as the page names it (بي بي سي عربي)
    tip = largest  # a name of several words needs no quotes (مصدر:بي بي سي عربي)
    assert f"<code>مصدر:{html.escape(tip)}</code>" in page
    found = client.get("/api/search?q=" + urllib.parse.quote(f"مصدر:{tip}")).get_json()
    assert found["total"] > 0 and not [n for n in found["notices"] if n["code"] == "unknown_source"]


# -- browser review 18, on a real index of real ANT articles (conftest.ant_sample: those naming «تونس») --------


def _in(page: str, start: str, end: str = "</p>") -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


def test_a_preset_is_offered_with_its_count_and_only_when_it_finds_articles(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    """«سنة ٢٠١٧» led to an empty page beside a timeline saying 2017 held nothing: a preset now says how many
    articles it finds, and one that finds none is not offered."""
    page = ant_client.get("/?q=تونس").get_data(as_text=True)
    presets = _in(page, '<ul class="presets">', "</ul>")
    assert "سنة ٢٠١٧" not in presets
    items = re.findall(r'<a href="([^"]+)">([^<]+)</a> <span class="count">([٠-٩٬]+)</span>', presets)
    assert {label for _, label, _ in items} == {"آخر أسبوع", "آخر شهر", "آخر سنة"}
    for href, _, shown in items:
        dates = dict(re.findall(r"(from|to)=([0-9-]+)", href.replace("&amp;", "&")))
        api = ant_client.get("/api/search", query_string={"q": "تونس", **dates}).get_json()
        assert shown.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")).replace("٬", "") == str(api["articles"])


def test_when_the_dates_alone_empty_the_page_it_says_so_with_the_count_without_them(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    page = ant_client.get("/?q=تونس&from=2017-01-01&to=2017-12-31").get_data(as_text=True)
    empty = _in(page, '<div class="empty">', "</div>")
    total = ant_client.get("/api/search?q=تونس").get_json()["total"]
    assert f"{total:,}".translate(str.maketrans("0123456789,", "٠١٢٣٤٥٦٧٨٩٬")) + " نتيجة بلا قيد التاريخ</a>" in empty
    assert "تأكد من الإملاء" not in empty and "كلمات أقل" not in empty  # the words are not the cause
    by_source = ant_client.get("/?q=تونس&source=CNN&category=technology").get_data(as_text=True)
    assert "بلا عوامل التصفية</a>" in _in(by_source, '<div class="empty">', "</div>")
    nothing = ant_client.get("/?q=زززززز&source=BBC").get_data(as_text=True)
    assert "تأكد من الإملاء" in nothing  # the words find nothing anywhere: the tips stay


def test_browsing_without_words_says_newest_first_which_is_the_order_used(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    data = ant_client.get("/api/search?source=BBC").get_json()
    assert data["sort"] == "newest"
    dates = [r["date"] for r in data["results"]]
    assert dates == sorted(dates, reverse=True)
    page = ant_client.get("/?source=BBC").get_data(as_text=True)
    assert '<option value="newest" selected>الأحدث</option>' in page and "الأكثر صلة" not in page
    assert "الأحدث أولًا ✕" not in page  # the order a browsing page has anyway: no chip to lift
    assert "sort=newest" not in page  # nor a parameter in its links
    oldest = ant_client.get("/?source=BBC&sort=oldest").get_data(as_text=True)
    assert "الأقدم أولًا ✕" in oldest and '<option value="oldest" selected>' in oldest
    assert '<option value="relevance" selected>' in ant_client.get("/?q=تونس").get_data(as_text=True)


def test_group_and_article_links_carry_the_search_and_lead_back_to_it(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    results = "/?q=تونس&source=skynews&page=2"
    page = ant_client.get(results).get_data(as_text=True)
    group_href = html.unescape(re.search(r'<a href="([^"]+)">كل النسخ</a>', page).group(1))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(group_href).query)
    assert query["q"] == ["تونس"] and "source" not in query  # every copy, the words marked
    assert urllib.parse.parse_qs(query["back"][0]) == {"q": ["تونس"], "source": ["skynews"], "page": ["2"]}
    group = ant_client.get(group_href).get_data(as_text=True)
    assert "<mark" in group and "نسخ الخبر نفسه" in group
    back = html.unescape(re.search(r'<p class="back"><a href="([^"]+)">العودة إلى النتائج</a>', group).group(1))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(back).query) == urllib.parse.parse_qs(results[2:])
    doc_href = html.unescape(re.search(r'<h2 dir="rtl"><a href="(/doc/[^"]+)">', page).group(1))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(doc_href).query) == urllib.parse.parse_qs(results[2:])
    doc = ant_client.get(doc_href).get_data(as_text=True)
    back = html.unescape(re.search(r'<p class="back"><a href="([^"]+)">العودة إلى النتائج</a>', doc).group(1))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(back).query) == urllib.parse.parse_qs(results[2:])
    for href in re.findall(r'<li><a dir="rtl" href="(/doc/[^"]+)"', doc):  # copies and related articles
        assert "q=%D8%AA%D9%88%D9%86%D8%B3" in href
    assert ant_client.get("/?group=g734baf72b807662c&back=page%3Dabc").status_code == 400  # checked, never echoed


def test_a_story_group_that_is_not_in_the_index_is_404_with_one_sentence(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    response = ant_client.get("/?group=g0123456789abcdef")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "لا توجد في الفهرس مجموعة أخبار بهذا المعرّف" in page
    assert 'name="q"' in page and "تأكد من الإملاء" not in page and "قارئ الخلاصات" not in page
    api = ant_client.get("/api/search?group=g0123456789abcdef")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "unknown_group"
    validate(api.get_json(), "Error")
    assert "404" in SPEC["paths"]["/api/search"]["get"]["responses"]
    for path in ("/feed.atom", "/export.csv", "/export.jsonl"):  # were 200 with nothing in them (red team)
        gone = ant_client.get(f"{path}?group=g0123456789abcdef")
        assert gone.status_code == 404 and "مجموعة أخبار" in gone.get_data(as_text=True), path


def test_no_space_before_the_arabic_comma_of_the_group_line(ant_client) -> None:  # type: ignore[no-untyped-def]
    page = ant_client.get("/?q=تونس&per_page=50").get_data(as_text=True)
    lines = [re.sub(r"<[^>]+>", "", line) for line in re.findall(r'<p class="group">(.*?)</p>', page, re.S)]
    assert any("، أول نشر" in line for line in lines) and not any(re.search(r"\s،", line) for line in lines)


@pytest.mark.parametrize(("page", "phone"), [(35, ["١", "…", "٣٤", "٣٥", "٣٦", "…", "٧٠"]), (1, ["١", "٢", "…", "٧٠"])])
def test_the_pager_always_reaches_the_last_page_and_a_phone_sees_five_numbers(  # type: ignore[no-untyped-def]
    ant_client, page: int, phone: list[str]
) -> None:
    pages = ant_client.get("/api/search?q=تونس").get_json()["pages"]
    assert pages == 70
    html_page = ant_client.get(f"/?q=تونس&page={page}").get_data(as_text=True)
    pager = _in(html_page, '<nav class="pages"', "</nav>")
    items = re.findall(r'<(a|span)([^>]*)>([^<]*)</\1>', pager)
    shown = [text.strip() for tag, attrs, text in items
             if "wide-only" not in attrs and "break" not in attrs and text.strip() not in ("السابق", "التالي")]
    assert shown == phone
    assert re.search(r'href="[^"]*page=70"[^>]*>٧٠</a>', pager)


@pytest.mark.parametrize("comma", [",", "،"])
def test_sources_listed_with_either_comma_are_shown_chosen(client, comma: str) -> None:  # type: ignore[no-untyped-def]
    """source=BBC،CNN filtered both, yet neither facet showed as chosen (the check split on «,» only)."""
    values = [f["value"] for f in client.get("/api/search?q=وزارة&collapse=0").get_json()["facets"]["source"]][:2]
    assert len(values) == 2
    listed = urllib.parse.quote(comma.join(values))
    found = client.get(f"/api/search?q=وزارة&collapse=0&source={listed}").get_json()
    assert {f["value"] for f in found["facets"]["source"] if f["selected"]} == set(values)
    page = client.get(f"/?q=وزارة&source={listed}").get_data(as_text=True)
    assert len(re.findall(r'<li class="chosen">', page)) == 2
