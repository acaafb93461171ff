"""The loaders, on the seed, the fixtures, hostile files and samples of the real corpus."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import ANT, FIXTURES, SEED_ID, SEEDS, require_corpus
from search.ingest import decode, load_sources, load_text, parse_date


def test_seed_layout_is_parsed_into_fields() -> None:
    result = load_sources([SEEDS])
    assert result.problems == []
    [doc] = result.documents
    assert doc.id == SEED_ID
    assert doc.title.startswith("مسؤولون أمميون: منع استخدام #الانترنت")
    assert doc.source == "أصداء الخليج"
    assert doc.author == "احمد الجزار"
    assert doc.body.startswith("أكد فلاديمير فورونكوف")
    assert "تعليقات" not in doc.body  # the comment-count line is not body text


def test_sgml_several_docs_per_file_with_dirty_markup() -> None:
    result = load_sources([FIXTURES / "news.sgml"])
    ids = [d.id for d in result.documents]
    assert ids == ["FX-tech-1", "FX-intl-2", "FX-econ-3", "FX-sport-4", "FX-culture-5"]
    assert [(p.reason, p.detail) for p in result.problems] == [("empty body", "FX-empty-6")]
    assert "doc 6" in result.problems[0].where
    lebanon = result.documents[1]
    assert lebanon.source == "CNN" and lebanon.category == "internationalNews"
    assert lebanon.author == "سامي نور"
    assert "لبنان & المنطقة" in lebanon.body  # a stray & survives
    assert lebanon.body.startswith("وافقت الإدارة")  # the abstract leads the body
    assert lebanon.date == datetime(2018, 3, 21, 10, 0, tzinfo=UTC)
    assert result.documents[2].date is not None and result.documents[2].date.utcoffset().total_seconds() == 7200


def test_json_lines_report_every_bad_line() -> None:
    result = load_sources([FIXTURES / "extra.jsonl"])
    assert [d.id for d in result.documents] == ["FX-json-1", result.documents[1].id, "FX-json-3"]
    assert result.documents[0].body.startswith("أطلقت")  # "text" is a body
    assert result.documents[1].body.startswith("ناقش")  # so is "content"
    assert len(result.documents[1].id) == 16  # no id: one is made from the content
    assert load_sources([FIXTURES / "extra.jsonl"]).documents[1].id == result.documents[1].id
    reasons = sorted((p.where.rsplit(" ", 2)[-2:], p.reason) for p in result.problems)
    assert reasons == [(["line", "3"], "not valid JSON"), (["line", "5"], "empty body")]
    assert result.read == 5


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    docs = [{"id": "a", "title": "عنوان", "body": "نص الخبر"}, {"id": "b", "text": "نص آخر"}, 7]
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    result = load_sources([path])
    assert [d.id for d in result.documents] == ["a", "b"]
    assert [p.reason for p in result.problems] == ["not a JSON object"]


def test_broken_json_array_is_reported_with_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "a", "body": "نص"},\n {"id": ', encoding="utf-8")
    result = load_sources([path])
    assert result.documents == []
    assert result.problems[0].reason == "not valid JSON"
    assert "line 2" in result.problems[0].detail


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_folders_and_archives(tmp_path: Path) -> None:
    sgml = (FIXTURES / "news.sgml").read_bytes()
    seed = next(SEEDS.iterdir()).read_bytes()
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "news.txt").write_bytes(sgml)
    with zipfile.ZipFile(tmp_path / "a" / "more.zip", "w") as archive:
        archive.writestr("inner/seed.txt", seed)
    (tmp_path / "a" / "more.tar.gz").write_bytes(_tar_gz({"x/news.sgml": sgml}))
    result = load_sources([tmp_path / "a"])
    assert len(result.documents) == 5 + 1 + 5
    assert result.files == 3
    assert any("more.zip!inner/seed.txt" in d.origin for d in result.documents)


def test_archive_paths_climbing_out_are_refused(tmp_path: Path) -> None:
    (tmp_path / "evil.tar.gz").write_bytes(_tar_gz({"../../etc/x": b"<DOC><DOCNO>x</DOCNO><TEXT>t</TEXT></DOC>"}))
    result = load_sources([tmp_path / "evil.tar.gz"])
    assert result.documents == []
    assert result.problems[0].reason == "unsafe path in archive, skipped"
    assert not (tmp_path.parent / "etc" / "x").exists()


@pytest.mark.parametrize("at", [0, 1, 150, 199], ids=lambda n: f"record-{n}")
def test_a_stray_nul_byte_spoils_its_record_not_the_file(tmp_path: Path, at: int) -> None:
    """One NUL byte in a JSON Lines file (in its first 8 KB or later) is a fault of one record: every
    other record is read, the spoilt one is reported, none is lost in silence."""
    lines = [json.dumps({"id": f"n{i}", "title": f"خبر رقم {i}", "body": "نص الخبر عن الانتخابات في تونس"},
                        ensure_ascii=False).encode() for i in range(200)]
    lines[at] = lines[at].replace("نص".encode(), b"\x00" + "نص".encode())
    (tmp_path / "news.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = load_sources([tmp_path / "news.jsonl"])
    read = {d.id for d in result.documents}
    assert read >= {f"n{i}" for i in range(200) if i != at}
    if f"n{at}" not in read:
        assert [p.reason for p in result.problems if p.where.endswith(f"line {at + 1}")], result.problems
    assert not [p for p in result.problems if p.reason == "binary file, not text"]


@pytest.mark.parametrize(
    ("data", "expected", "warned"),
    [
        ("خبر عاجل".encode(), "خبر عاجل", False),
        (b"\xef\xbb\xbf" + "خبر عاجل".encode(), "خبر عاجل", False),
        ("خبر عاجل".encode("utf-16"), "خبر عاجل", False),
        ("خبر عاجل من القاهرة".encode("cp1256"), "خبر عاجل من القاهرة", True),
    ],
)
def test_decode(data: bytes, expected: str, warned: bool) -> None:
    text, warning = decode(data)
    assert text == expected
    assert (warning is not None) == warned


def test_bad_files_are_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"   \n\n")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "bad-utf8.txt").write_bytes("عنوان الخبر\nنص".encode() + b"\xff\xfe\xfa")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    result = load_sources([tmp_path, tmp_path / "missing.txt"])
    reasons = sorted(p.reason for p in result.problems)
    assert reasons == ["binary file, not text", "damaged archive", "empty file", "empty file", "no such file or folder"]
    assert [d.title for d in result.documents] == ["عنوان الخبر"]
    assert [w.reason for w in result.warnings] == ["invalid UTF-8, bad bytes replaced"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 20 Feb 2018 01:44:01 GMT", datetime(2018, 2, 20, 1, 44, 1, tzinfo=UTC)),
        ("2018-02-20T05:44:01+04:00", datetime(2018, 2, 20, 1, 44, 1, tzinfo=UTC)),
        ("2018-02-20", datetime(2018, 2, 20, tzinfo=UTC)),
        ("2018-02-20T01:44:01Z", datetime(2018, 2, 20, 1, 44, 1, tzinfo=UTC)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


def test_bad_date_keeps_the_document_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "x", "body": "نص الخبر", "date": "yesterday"}\n', encoding="utf-8")
    result = load_sources([path])
    assert [d.id for d in result.documents] == ["x"] and result.documents[0].date is None
    assert result.warnings[0].reason == "bad date, kept without date"


@pytest.mark.corpus
def test_real_ant_sample_files() -> None:
    """A few real ANT files, read straight from the archive: fields, dates, sources."""
    corpus = require_corpus(ANT)
    with tarfile.open(corpus) as tar:
        members = [m for m in tar if m.isfile() and m.name.endswith(".txt")][:300:50]
        sink_docs = []
        for member in members:
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            path_docs = load_sources_bytes(data, member.name)
            sink_docs.extend(path_docs)
    assert len(sink_docs) == len(members)
    for doc in sink_docs:
        assert doc.id and doc.title and doc.body and doc.source and doc.category
        assert doc.url.startswith("http")
        assert doc.date is not None and doc.date.tzinfo is not None


def load_sources_bytes(data: bytes, name: str) -> list:
    from search.ingest import read_bytes_source

    result = read_bytes_source(data, name)
    assert result.problems == [], result.problems
    return result.documents


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17/05/2015", "2015-05-17T00:00:00+00:00"),
        ("2/5/2016 14:30", "2016-05-02T14:30:00+00:00"),
        ("07-05-2015", "2015-05-07T00:00:00+00:00"),
        ("2015/05/17", "2015-05-17T00:00:00+00:00"),
        ("٠٢/٠٥/٢٠١٦", "2016-05-02T00:00:00+00:00"),
        ("05/17/2015", "2015-05-17T00:00:00+00:00"),  # a month over 12 cannot come first
        ("17 ماي 2015", "2015-05-17T00:00:00+00:00"),
        ("الأحد 7 جوان 2015", "2015-06-07T00:00:00+00:00"),
        ("7 يونيو 2015", "2015-06-07T00:00:00+00:00"),
        ("٧ حزيران ٢٠١٥", "2015-06-07T00:00:00+00:00"),
        ("3 كانون الثاني 2016", "2016-01-03T00:00:00+00:00"),
        ("3 جانفي 2016", "2016-01-03T00:00:00+00:00"),
        ("5 أغسطس 2018 - 10:30", "2018-08-05T10:30:00+00:00"),
        ("5 اغسطس 2018", "2018-08-05T00:00:00+00:00"),
        ("12 أوت 2018", "2018-08-12T00:00:00+00:00"),
        ("Sun, 18 Feb 2018 21:35:43 +0400", "2018-02-18T21:35:43+04:00"),
        ("2017-01-20T21:43:00+01:00", "2017-01-20T21:43:00+01:00"),
        ("17 فبراير 2015م", "2015-02-17T00:00:00+00:00"),  # the era written after the year (ميلادي)
        ("17 فبراير 2015 م", "2015-02-17T00:00:00+00:00"),
        ("١٧ فبراير ٢٠١٥مـ", "2015-02-17T00:00:00+00:00"),
        ("الأحد 17 مايو 2015م 10:30", "2015-05-17T10:30:00+00:00"),
        ("17/02/2015م", "2015-02-17T00:00:00+00:00"),
        ("17 يونيو، 2015", "2015-06-17T00:00:00+00:00"),  # a comma after the month
        # Two names of one month, as the pan-Arab press writes it (red team: each was kept undated)
        ("3 يونيو/حزيران 2018", "2018-06-03T00:00:00+00:00"),
        ("3 أكتوبر/تشرين الأول 2018", "2018-10-03T00:00:00+00:00"),
        ("3 أكتوبر/ تشرين أول 2018", "2018-10-03T00:00:00+00:00"),
        ("3 تشرين أول 2016", "2016-10-03T00:00:00+00:00"),  # Levantine names without the article
        ("3 كانون ثاني 2016", "2016-01-03T00:00:00+00:00"),
        ("15 غشت 2018", "2018-08-15T00:00:00+00:00"),  # the Moroccan press's names
        ("1 شتنبر 2018", "2018-09-01T00:00:00+00:00"),
        ("١٢ دجنبر ٢٠١٧", "2017-12-12T00:00:00+00:00"),
        ("3\u200f يونيو 2018", "2018-06-03T00:00:00+00:00"),  # a right-to-left mark anywhere
        ("\u20663 يونيو 2018\u2069", "2018-06-03T00:00:00+00:00"),
        ("2018-06-03\u200e", "2018-06-03T00:00:00+00:00"),
        ("03/06/2018 - 10:30", "2018-06-03T10:30:00+00:00"),  # a numeric date with « - time»
        ("2018/06/03 - 09:15", "2018-06-03T09:15:00+00:00"),
        ("20 فبراير 2018 01:44 م", "2018-02-20T13:44:00+00:00"),  # ص before noon, م after
        ("20 فبراير 2018 12:10 ص", "2018-02-20T00:10:00+00:00"),
        ("20 فبراير 2018 12:10 م", "2018-02-20T12:10:00+00:00"),
        ("الثلاثاء، 20 فبراير 2018 - 09:15 مساءً", "2018-02-20T21:15:00+00:00"),
        ("20/02/2018 08:05 صباحاً", "2018-02-20T08:05:00+00:00"),
        ("20/02/2018 08:05 PM", "2018-02-20T20:05:00+00:00"),
    ],
)
def test_dates_in_every_form_arabic_news_uses(text: str, expected: str) -> None:
    from search.ingest import parse_date

    assert parse_date(text).isoformat() == expected  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["31/02/2015", "13/13/2015", "17 Brumaire 2015", "yesterday", "99/99/9999",
                                  "17 فبراير 2015 مساء", "2015 محرم",
                                  "3 يونيو/أكتوبر 2018",  # two names of two months
                                  "20 فبراير 2018 14:30 م"])  # no 14 o'clock in the afternoon
def test_what_is_not_a_date_stays_an_error(text: str) -> None:
    from search.ingest import parse_date

    with pytest.raises(ValueError):
        parse_date(text)


def test_an_sgml_record_without_a_readable_time_takes_the_date_its_id_ends_with() -> None:
    text = "<DOC><DOCNO>JA-politic-148-20170223</DOCNO><TIME>?</TIME><TITLE>خبر</TITLE><TEXT>نص الخبر</TEXT></DOC>"
    doc = load_text(text).documents[0]
    assert doc.date is not None and doc.date.date().isoformat() == "2017-02-23"


@pytest.mark.parametrize(
    ("abstract", "text", "body"),
    [
        ("وافقت الإدارة على الخطة.", "وافقت الإدارة على الخطة.\nوقال الوزير إن التنفيذ يبدأ غدا.",
         "وافقت الإدارة على الخطة.\nوقال الوزير إن التنفيذ يبدأ غدا."),  # the text repeats it: once
        ("وافقت  الإدارة\nعلى الخطة.", "وافقت الإدارة على الخطة. وقال الوزير.", "وافقت الإدارة على الخطة. وقال الوزير."),
        ("ملخص مختلف.", "وقال الوزير إن التنفيذ يبدأ غدا.", "ملخص مختلف.\nوقال الوزير إن التنفيذ يبدأ غدا."),
        ("", "النص وحده.", "النص وحده."),
        ("الملخص وحده.", "", "الملخص وحده."),
        ("وافقت الإدارة على الخطة كلها.", "وافقت الإدارة على الخطة.", "وافقت الإدارة على الخطة كلها.\nوافقت الإدارة على الخطة."),
        # cut mid-sentence, sentences run together (ANT, 2,023 articles): the start of its text all the same
        ('وصف ترمب القمة بأنها "مهمة سلام".وقال ترمب: "أشعر بالثقة... لم',
         'وصف ترمب القمة بأنها "مهمة سلام".\nوقال ترمب: "أشعر بالثقة... لم يسبق لذلك مثيل".',
         'وصف ترمب القمة بأنها "مهمة سلام".\nوقال ترمب: "أشعر بالثقة... لم يسبق لذلك مثيل".'),
        ("وافقت الإدارة على الخطة ...", "وافقت الإدارة على الخطة وقال الوزير.", "وافقت الإدارة على الخطة وقال الوزير."),
        ("وافقت الإدارة على الخطة…", "وافقت الإدارة على الخطة وقال الوزير.", "وافقت الإدارة على الخطة وقال الوزير."),
    ],
)
def test_an_abstract_the_text_begins_with_is_read_once(abstract: str, text: str, body: str) -> None:
    record = f"<DOC>\n<DOCNO>AB-1</DOCNO>\n<TITLE>عنوان</TITLE>\n<ABSTRACT>{abstract}</ABSTRACT>\n<TEXT>{text}</TEXT>\n</DOC>\n"
    [doc] = load_text(record, "ab.sgml").documents
    assert doc.body == body


@pytest.mark.parametrize(
    ("body", "lead"),
    [
        ("", ""),
        ("كلمة", "كلمة"),
        (" ".join(f"ك{i}" for i in range(60)), " ".join(f"ك{i}" for i in range(40)) + " "),
        ("سطر أول\n\nسطر ثان", "سطر أول\n\nسطر ثان"),
        ("x" * 200_000, "x" * 200_000),  # one unbroken word: the whole of it, still bounded by the body's limit
    ],
    # short ids: pytest puts the id in PYTEST_CURRENT_TEST, and a 200,000-character one makes the
    # environment too long for any subprocess a fixture starts during the test ("Argument list too long")
    ids=["empty", "one-word", "sixty-words", "paragraphs", "one-huge-word"],
)
def test_the_lead_is_the_first_forty_words_of_the_body(body: str, lead: str) -> None:
    from search.ingest import LEAD_WORDS, Document

    assert LEAD_WORDS == 40
    assert Document(id="x", body=body).lead == lead


def test_id_less_copies_from_two_outlets_are_two_articles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One wire report without ids, carried by two outlets: two articles, each keeping its id when
    imported again; the same text with no source, url or date still has one id."""
    from search.ingest import load_sources

    report = {"title": "عاصفة تضرب الساحل", "body": "ضربت عاصفة قوية الساحل الشرقي صباح اليوم"}
    lines = [
        dict(report, source="outletA", url="http://a.example/1", date="2018-03-12T09:00:00Z"),
        dict(report, source="outletB", url="http://b.example/9", date="2018-03-12T11:00:00Z"),
    ]
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    first, again = load_sources([path]), load_sources([path])
    ids = [d.id for d in first.documents]
    assert len(set(ids)) == 2 and ids == [d.id for d in again.documents] and not first.problems
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    assert [d.id for d in load_sources([bare]).documents] == [d.id for d in load_sources([bare]).documents]
    assert load_sources([bare]).documents[0].id not in ids


def test_binaries_are_told_by_their_first_bytes_and_a_few_nuls_spoil_only_their_records(tmp_path: Path) -> None:
    """A PNG whose first 8 KB are mostly text (an XMP chunk) and a zip of uncompressed files renamed
    .jsonl are binary files; a small JSON Lines file with a few NULs in one record keeps its others."""
    import zipfile

    xmp = b"<x:xmpmeta>" + b"a" * 6000 + b"</x:xmpmeta>"
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + xmp + bytes(range(256)))
    with zipfile.ZipFile(tmp_path / "inner.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("a.jsonl", '{"id": "z1", "title": "خبر", "body": "نص الخبر"}\n')
    (tmp_path / "inner.zip").rename(tmp_path / "renamed.jsonl")
    lines = [json.dumps({"id": f"s{i}", "title": "خبر", "body": "نص الخبر عن تونس"}, ensure_ascii=False) for i in range(3)]
    lines[1] = lines[1].replace("تونس", "تو\x00\x00\x00\x00\x00\x00\x00\x00نس")
    (tmp_path / "small.jsonl").write_bytes("\n".join(lines).encode() + b"\n")
    result = load_sources([tmp_path / "photo.png", tmp_path / "renamed.jsonl", tmp_path / "small.jsonl"])
    binary = sorted(p.where.rsplit("/", 1)[-1] for p in result.problems if p.reason == "binary file, not text")
    assert binary == ["photo.png", "renamed.jsonl"]
    assert {d.id for d in result.documents} >= {"s0", "s2"}
