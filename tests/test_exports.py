"""Exports of every match of a search: CSV a spreadsheet opens as Arabic, JSON Lines, capped by a setting."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from pathlib import Path

import pytest

from webapp import create_app
from webapp.arabic import number


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
    assert list(rows[0]) == ["id", "date", "source", "source_name", "category", "category_name", "title", "url",
                             "snippet", "group_id", "group_size"]
    assert [r["id"] for r in rows] == _all_ids(client, q)
    assert int(response.headers["X-Total-Count"]) == len(rows)
    assert "attachment" in response.headers["Content-Disposition"]


def test_jsonl_is_one_object_per_match(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/export.jsonl?q=" + urllib.parse.quote("مصر") + "&sort=newest")
    lines = [json.loads(line) for line in response.get_data(as_text=True).split("\n") if line]
    assert [r["id"] for r in lines] == [r["id"] for r in client.get(
        "/api/search?q=" + urllib.parse.quote("مصر") + "&sort=newest&per_page=100").get_json()["results"]][: len(lines)]
    columns = {"id", "date", "source", "source_name", "category", "category_name", "title", "url", "snippet",
               "group_id", "group_size"}
    assert all(set(r) == columns for r in lines)
    # the names the page shows beside the codes (a code such as internationalNews means nothing to a reader)
    assert all(r["category_name"] != r["category"] for r in lines if r["category"] in ("politic", "sport"))


def test_the_cap_is_a_setting_and_is_stated(small_index) -> None:  # type: ignore[no-untyped-def]
    client = create_app({"INDEX": str(small_index), "TESTING": True, "export_max_rows": 1}).test_client()
    response = client.get("/export.jsonl?q=" + urllib.parse.quote("وزير"))
    lines = response.get_data(as_text=True).splitlines()
    assert response.headers["X-Export-Limit"] == "1" and int(response.headers["X-Total-Count"]) == 2
    # one row, then the line that says the file was cut (read far from the page, the file says it itself)
    assert len(lines) == 2 and "#incomplete" not in json.loads(lines[0])
    assert json.loads(lines[1])["#incomplete"] == ("incomplete: 1 of 2 rows; the download holds at most 1 rows "
                                                   "(export_max_rows); narrow the search for the rest")
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv?q=" + urllib.parse.quote("وزير")).get_data()
                                           .decode("utf-8-sig"), newline="")))
    assert len(rows) == 2 and rows[-1]["id"] == "#incomplete" and "export_max_rows" in rows[-1]["title"]
    whole = create_app({"INDEX": str(small_index), "TESTING": True, "export_max_rows": 2}).test_client()
    assert "#incomplete" not in whole.get("/export.csv?q=" + urllib.parse.quote("وزير")).get_data(as_text=True)
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
    in_feed = f"({number(data['total'], 'eastern')} في الأرشيف)"  # the feed counts in the page's digits
    assert in_feed in client.get(f"/feed.atom?q={q}").get_data(as_text=True)


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


def _tunisia_articles(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    """Fourteen real JawharaFM articles about تونس: the twelve oldest to index, the two newest to add
    while a download runs (they are then the first results by «الأحدث»)."""
    from conftest import jawhara_articles
    from search.ingest import load_sources

    paths = jawhara_articles(tmp_path / "jawhara", 14, word="تونس")
    dated = sorted(paths, key=lambda p: (load_sources([p]).documents[0].date.isoformat(), p.name))
    (tmp_path / "later").mkdir()
    later = [p.rename(tmp_path / "later" / p.name) for p in dated[12:]]
    return dated[:12], later


EXPORT = "/export.jsonl?q=" + urllib.parse.quote("تونس") + "&sort=newest&collapse=0"


def _first_pass_then(client, change) -> list[dict]:  # type: ignore[no-untyped-def]
    """A streamed download of passes of three rows: its first pass read, ``change`` made to the index,
    then the rest of it read."""
    response = client.get(EXPORT, buffered=False)
    lines = iter(response.response)
    rows = [json.loads(next(lines)) for _ in range(3)]  # the first pass: the next row runs the second
    change()
    rows += [json.loads(line) for line in lines]
    response.close()
    return rows


def test_a_download_is_one_state_of_the_index_while_add_and_delete_change_it(tmp_path: Path) -> None:
    """Each pass used to search the live index again: two articles added between passes pushed a row
    of the first pass into the second (repeated), and a deletion skipped one. A download is the result
    set of one search over one state of the index: the state its first pass read."""
    from search.backends.whoosh.store import add, build, delete
    from search.ingest import load_sources

    indexed, later = _tunisia_articles(tmp_path)
    root = tmp_path / "index"
    build(root, load_sources(indexed), ["jawhara"])
    client = create_app({"INDEX": str(root), "TESTING": True, "export_page_rows": 3}).test_client()
    expected = [r["id"] for r in client.get(EXPORT.replace("/export.jsonl", "/api/search") + "&per_page=100")
                .get_json()["results"]]
    assert len(expected) == 12

    def add_and_delete() -> None:
        add(root, load_sources(later))
        delete(root, [expected[7]])  # one a later pass reads

    rows = _first_pass_then(client, add_and_delete)
    assert [r["id"] for r in rows] == expected  # nothing repeated, nothing lost, no #incomplete line
    now = [json.loads(line)["id"] for line in client.get(EXPORT).get_data(as_text=True).splitlines()]
    assert now[:2] == [p.stem for p in reversed(later)] and expected[7] not in now  # the next download: the new state


def test_a_download_from_shards_that_changed_between_passes_ends_saying_so(tmp_path: Path) -> None:
    """Remote Xapian shards follow every commit, so a download cannot keep its first state: when the
    index changed between two passes it stops there, with the #incomplete line saying why, rather
    than repeat or lose rows."""
    import time

    from conftest import cli, xapian_shards

    indexed, later = _tunisia_articles(tmp_path)
    root = tmp_path / "index"
    shards = xapian_shards(root, [indexed[0].parent])
    try:
        settings = {"INDEX": str(root), "TESTING": True, "backend": "xapian", "shards": shards, "export_page_rows": 3}
        client = create_app(settings).test_client()
        expected = [r["id"] for r in client.get(EXPORT.replace("/export.jsonl", "/api/search") + "&per_page=100")
                    .get_json()["results"]]
        assert len(expected) == 12
        unchanged = [json.loads(line)["id"] for line in client.get(EXPORT).get_data(as_text=True).splitlines()]
        assert unchanged == expected  # passes over an unchanged index: the whole file

        def add() -> None:
            assert cli("add", later[0].parent, "--backend", "xapian", "--index", root).returncode == 0
            time.sleep(1.2)  # readers check their shards once a second

        rows = _first_pass_then(client, add)
        assert [r["id"] for r in rows[:-1]] == expected[:3]
        assert list(rows[-1]) == ["#incomplete"] and rows[-1]["#incomplete"].startswith("incomplete: 3 of 12 rows")
        assert "the index changed during the download" in rows[-1]["#incomplete"]
    finally:
        cli("shards", "stop", "--index", root)


def test_the_download_link_says_it_holds_one_row_per_story_and_offers_every_article(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    """Browser review 18: «تنزيل النتائج كلها» gave 693 rows (story groups) against 773 matching articles, said
    nowhere. The link says so with both counts, a second link gives every article, and each row names its group."""
    api = ant_client.get("/api/search?q=" + urllib.parse.quote("تونس")).get_json()
    assert api["articles"] > api["total"]
    eastern = str.maketrans("0123456789,", "٠١٢٣٤٥٦٧٨٩٬")
    page = ant_client.get("/?q=" + urllib.parse.quote("تونس")).get_data(as_text=True)
    export = page.split('<p class="export">', 1)[1].split("</section>", 1)[0]
    assert f"({api['total']:,} نتيجة، نسخة واحدة من كل خبر)".translate(eastern) in export
    assert f"كل المقالات مع النسخ المكرّرة ({api['articles']:,} مقالة)".translate(eastern) in export
    assert "collapse=0" in export
    grouped = ant_client.get("/export.csv?q=" + urllib.parse.quote("تونس"))
    rows = list(csv.DictReader(io.StringIO(grouped.get_data().decode("utf-8-sig"))))
    assert len(rows) == api["total"] and any(int(r["group_size"]) > 1 and r["group_id"] for r in rows)
    every = ant_client.get("/export.csv?collapse=0&q=" + urllib.parse.quote("تونس"))
    assert len(list(csv.DictReader(io.StringIO(every.get_data().decode("utf-8-sig"))))) == api["articles"]
    lines = ant_client.get("/export.jsonl?q=" + urllib.parse.quote("تونس")).get_data(as_text=True).splitlines()
    assert {"group_id", "group_size"} <= set(json.loads(lines[0]))


@pytest.mark.parametrize(("query", "ascii_name", "utf8_name"), [
    ("q=تونس", "baheth-search-{day}.csv", "baheth-تونس-{day}.csv"),
    ("q=Google غوغل", "baheth-Google-{day}.csv", "baheth-Google-غوغل-{day}.csv"),
    ("source=BBC", "baheth-BBC-{day}.csv", "baheth-BBC-{day}.csv"),
    # every article, copies too: a file named apart from the one row per story group (browser review)
    ("q=تونس&collapse=0", "baheth-search-all-{day}.csv", "baheth-تونس-all-{day}.csv"),
])
def test_a_download_is_named_after_the_search_and_the_day(  # type: ignore[no-untyped-def]
    ant_client, query: str, ascii_name: str, utf8_name: str
) -> None:
    from datetime import date

    day = date.today().isoformat()
    response = ant_client.get("/export.csv?" + query)
    disposition = response.headers["Content-Disposition"]
    disposition.encode("ascii")  # a header holds ASCII only
    assert f'filename="{ascii_name.format(day=day)}"' in disposition
    assert urllib.parse.unquote(disposition.split("filename*=UTF-8''", 1)[1]) == utf8_name.format(day=day)
