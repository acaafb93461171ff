"""Exports of every match of a search: CSV a spreadsheet opens as Arabic, JSON Lines, capped by a setting."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse

import pytest

from webapp import create_app


def _all_ids(client, q: str) -> list[str]:  # type: ignore[no-untyped-def]
    ids, page = [], 1
    while True:
        data = client.get(f"/api/search?q={urllib.parse.quote(q)}&per_page=100&page={page}").get_json()
        ids += [r["id"] for r in data["results"]]
        if not data["next"]:
            return ids
        page += 1


@pytest.mark.parametrize("q", ["الانترنت", "لبنان"])
def test_csv_holds_every_match_in_order_with_a_bom(client, q: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/export.csv?q=" + urllib.parse.quote(q))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # spreadsheet software then reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == ["id", "date", "source", "category", "title", "url", "snippet"]
    assert [r["id"] for r in rows] == _all_ids(client, q)
    assert int(response.headers["X-Total-Count"]) == len(rows)
    assert "attachment" in response.headers["Content-Disposition"]


def test_jsonl_is_one_object_per_match(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/export.jsonl?q=" + urllib.parse.quote("مصر") + "&sort=newest")
    lines = [json.loads(line) for line in response.get_data(as_text=True).split("\n") if line]
    assert [r["id"] for r in lines] == [r["id"] for r in client.get(
        "/api/search?q=" + urllib.parse.quote("مصر") + "&sort=newest&per_page=100").get_json()["results"]][: len(lines)]
    assert all(set(r) == {"id", "date", "source", "category", "title", "url", "snippet"} for r in lines)


def test_the_cap_is_a_setting_and_is_stated(small_index) -> None:  # type: ignore[no-untyped-def]
    client = create_app({"INDEX": str(small_index), "TESTING": True, "export_max_rows": 1}).test_client()
    response = client.get("/export.jsonl?q=" + urllib.parse.quote("وزير"))
    assert len(response.get_data(as_text=True).split("\n")) == 2  # one line and the final newline
    assert response.headers["X-Export-Limit"] == "1" and int(response.headers["X-Total-Count"]) == 2
    page = client.get("/?q=" + urllib.parse.quote("وزير")).get_data(as_text=True)
    assert "أول" in page.split('class="export"', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize("query", ["", "q=x&per_page=0", "q=x&sort=earliest"])
def test_bad_exports_are_400(client, query: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/export.csv?" + query).status_code == 400


def test_a_line_separator_inside_a_title_stays_inside_its_record(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult

    docs = [Document(id=f"d{i}", title=f"عنوان\u2028مقسوم\u2029{i}\x85", body="خبر عن الانتخابات البلدية") for i in range(3)]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    text = client.get("/export.jsonl?q=" + urllib.parse.quote("الانتخابات")).get_data(as_text=True)
    records = [json.loads(line) for line in text.splitlines()]  # splitlines breaks at U+2028 too
    assert sorted(r["id"] for r in records) == ["d0", "d1", "d2"] and "\u2028" in records[0]["title"]
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv?q=" + urllib.parse.quote("الانتخابات")).get_data().decode("utf-8-sig"), newline="")))
    assert len(rows) == 3


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_download_cut_short_says_so_in_its_last_line(small_index, monkeypatch, kind: str) -> None:  # type: ignore[no-untyped-def]
    """export_time_limit bounds a whole download, its passes over the index included: past it, the
    download ends with a line saying how many rows it holds and why, never a silently short file.
    The clock is moved on by a day once the first pass (one row) is read."""
    from webapp import exports

    client = create_app({"INDEX": str(small_index), "TESTING": True, "export_page_rows": 1}).test_client()
    real = exports._clock
    calls = {"n": 0}

    def later() -> float:
        calls["n"] += 1
        return real() + (86_400 if calls["n"] > 2 else 0)

    monkeypatch.setattr(exports, "_clock", later)
    response = client.get(f"/export.{kind}?q=" + urllib.parse.quote("وزير"))
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "2"
    text = response.get_data().decode("utf-8-sig")
    if kind == "jsonl":
        lines = text.splitlines()
        last = json.loads(lines[-1])
        assert len(lines) == 2 and list(last) == ["#incomplete"]
        assert last["#incomplete"].startswith("incomplete: 1 of 2 rows") and "export_time_limit" in last["#incomplete"]
    else:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert len(rows) == 2 and rows[-1]["id"] == "#incomplete" and "export_time_limit" in rows[-1]["title"]


def test_the_search_time_limit_of_a_page_does_not_cut_a_download(small_index) -> None:  # type: ignore[no-untyped-def]
    """A download has its own time limit (export_time_limit): the page's search_time_limit, meant
    for a reader waiting for ten results, does not empty it."""
    client = create_app({"INDEX": str(small_index), "TESTING": True, "search_time_limit": 0.0}).test_client()
    lines = client.get("/export.jsonl?q=" + urllib.parse.quote("وزير")).get_data(as_text=True).splitlines()
    assert len(lines) == 2 and all("#incomplete" not in json.loads(line) for line in lines)


def test_a_download_ranks_the_search_once_per_pass(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each pass ranks the whole search again: a download of up to export_page_rows rows is one
    ranking (it used to be one per max_per_page rows, and one more for the count)."""
    from search.backends.whoosh.store import build
    from search.engine import Engine
    from search.ingest import Document, LoadResult

    towns = ["القاهرة", "تونس", "بيروت", "عمان", "الرباط", "الجزائر", "بغداد"]
    docs = [Document(f"d{n}", f"الانتخابات البلدية في {town}", f"جرت الانتخابات البلدية في {town} أمس")
            for n, town in enumerate(towns)]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    passes = []
    real = Engine._run

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        passes.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "_run", counted)
    q = urllib.parse.quote("الانتخابات") + "&collapse=0"
    client = create_app({"INDEX": str(tmp_path), "TESTING": True, "max_per_page": 1, "per_page": 1}).test_client()
    lines = client.get(f"/export.jsonl?q={q}").get_data(as_text=True).splitlines()
    assert len(lines) == len(towns) and len(passes) == 1
    paged = create_app({"INDEX": str(tmp_path), "TESTING": True, "export_page_rows": 2}).test_client()
    passes.clear()
    lines = paged.get(f"/export.jsonl?q={q}").get_data(as_text=True).splitlines()
    assert len(lines) == len(towns) and len(passes) == 4  # 2 + 2 + 2 + 1
    expected = [r["id"] for r in paged.get(f"/api/search?q={q}&per_page=100").get_json()["results"]]
    assert [json.loads(line)["id"] for line in lines] == expected


@pytest.mark.parametrize("respell", ["", "&respell=0"])
def test_a_download_holds_what_the_page_counts_the_respelling_too(client, respell: str) -> None:  # type: ignore[no-untyped-def]
    """موتمر is in no article: the page, the API and the feed show the results of مؤتمر, and so
    does a download (not an empty file beside «٢ نتيجة»); with respell=0, none anywhere."""
    q = urllib.parse.quote("موتمر") + respell
    data = client.get(f"/api/search?q={q}&per_page=100").get_json()
    assert (data["respelled_from"] == "موتمر" and data["total"] > 0) if not respell else data["total"] == 0
    csv_response = client.get(f"/export.csv?q={q}")
    rows = list(csv.DictReader(io.StringIO(csv_response.get_data().decode("utf-8-sig"), newline="")))
    lines = client.get(f"/export.jsonl?q={q}").get_data(as_text=True).splitlines()
    ids = [r["id"] for r in data["results"]]
    assert [r["id"] for r in rows] == ids == [json.loads(line)["id"] for line in lines]
    assert int(csv_response.headers["X-Total-Count"]) == data["total"]
    assert f"({data['total']} في الأرشيف)" in client.get(f"/feed.atom?q={q}").get_data(as_text=True)


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult

    titles = ['=HYPERLINK("http://example.com","اضغط") الحكومة', "+1 الحكومة", "-2+3 الحكومة", "@SUM(1) الحكومة",
              "\tالحكومة", "الحكومة = الشعب"]
    docs = [Document(f"d{n}", title, "خبر عن الحكومة", source="=cmd|' /C calc'!A0") for n, title in enumerate(titles)]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    raw = client.get("/export.csv?q=" + urllib.parse.quote("الحكومة")).get_data().decode("utf-8-sig")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(raw, newline=""))}
    assert len(rows) == len(titles)
    for n, title in enumerate(titles):
        cell = rows[f"d{n}"]["title"]
        assert cell == (title if n == len(titles) - 1 else "'" + title), cell  # shown as written, never run
        assert rows[f"d{n}"]["source"] == "'=cmd|' /C calc'!A0"
    lines = client.get("/export.jsonl?q=" + urllib.parse.quote("الحكومة")).get_data(as_text=True).splitlines()
    assert sorted(json.loads(line)["title"] for line in lines) == sorted(titles)  # JSON keeps the values as they are
