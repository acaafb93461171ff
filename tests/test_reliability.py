"""Faults and hostile input: keep serving, lose nothing, let nothing in."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, SEEDS, cli, get_json, start_server
from search.backends.generations import CURRENT_FILE
from search.engine import Engine
from search.ingest import MAX_BODY_CHARS
from search.settings import defaults

SENTENCES = [
    "أعلنت وزارة الخارجية عن زيارة رسمية إلى القاهرة لبحث التعاون الاقتصادي",
    "ارتفعت أسعار النفط في الأسواق العالمية بعد قرار أوبك خفض الإنتاج",
    "فاز المنتخب الوطني على نظيره في مباراة ودية استعدادا لكأس العالم",
    "أطلقت الشركة هاتفا ذكيا جديدا يعمل بتقنية الذكاء الاصطناعي",
]


def many_docs(path: Path, n: int) -> Path:
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            body = " ".join(rng.choice(SENTENCES) for _ in range(30))
            out.write(json.dumps({"id": f"gen-{i}", "title": rng.choice(SENTENCES), "body": body}, ensure_ascii=False))
            out.write("\n")
    return path


# -- the index under faults -------------------------------------------------------


def test_reindex_while_eight_clients_search(live_server, tmp_path: Path) -> None:
    url, index = live_server
    statuses: list[int] = []
    generations: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()

    def client(n: int) -> None:
        queries = ["الانترنت", "وزارة", "لبنان OR المريخ", '"الأمم المتحدة"']
        i = 0
        while not done.is_set():
            status, data = get_json(f"{url}/api/search?q={urllib.parse.quote(queries[(n + i) % 4])}")
            _, health = get_json(f"{url}/api/health")
            with lock:
                statuses.append(status)
                generations.add(str(health.get("generation")))
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    try:
        for source in (SEEDS, FIXTURES, SEEDS):
            result = cli("reindex", source, "--index", index, "--wait")
            assert result.returncode == 0, result.stderr
    finally:
        done.set()
        for t in threads:
            t.join()
    assert statuses and set(statuses) == {200}
    assert len(generations) >= 2  # the answers moved to the new indexes


def test_kill_9_during_reindex_keeps_the_old_index(tmp_path: Path, fresh_index: Path) -> None:
    big = many_docs(tmp_path / "big.jsonl", 20000)  # large enough that the kill lands mid-build
    killed = finished_trials = 0
    process, url = start_server(fresh_index)
    rng = random.Random(11)
    try:
        _, before = get_json(f"{url}/api/health")
        for _trial in range(3):
            writer = subprocess.Popen(
                [sys.executable, "-m", "search.cli", "reindex", str(big), "--index", str(fresh_index)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(1.0, 4.0))
            finished = writer.poll() is not None
            if not finished:
                os.kill(writer.pid, signal.SIGKILL)
                killed += 1
            else:
                finished_trials += 1
            writer.wait()
            status, health = get_json(f"{url}/api/health")
            assert status == 200
            if not finished:
                assert health["generation"] == before["generation"]
                assert health["documents"] == before["documents"]
            assert get_json(f"{url}/api/search?q=" + urllib.parse.quote("الانترنت"))[0] == 200
        # The next reindex succeeds and removes what the killed ones left behind.
        result = cli("reindex", SEEDS, "--index", fresh_index, "--wait")
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)
        assert not list(fresh_index.glob(".build-*"))
        # The live and the previous generation stay; so does any replaced less than RETIRE_AFTER ago
        # (a trial that finished before its kill made one).
        assert killed >= 1 and len(list(fresh_index.glob("gen-*"))) <= 2 + finished_trials
        status, health = get_json(f"{url}/api/health")
        assert status == 200 and health["documents"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_writers_at_once(fresh_index: Path, tmp_path: Path) -> None:
    big = many_docs(tmp_path / "big.jsonl", 8000)
    first = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "reindex", str(big), "--index", str(fresh_index)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(fresh_index.glob(".build-*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first writer holds the lock once its build folder exists
    second = cli("add", FIXTURES / "extra.jsonl", "--index", fresh_index)
    assert second.returncode == 1
    assert "another writer (pid" in second.stderr and "--wait" in second.stderr
    assert "Traceback" not in second.stderr
    waiting = cli("add", FIXTURES / "extra.jsonl", "--index", fresh_index, "--wait")
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert waiting.returncode == 0, waiting.stderr
    assert Engine(fresh_index).snapshot().doc_count() == 8000 + 3


def test_damaged_index_is_reported_everywhere(fresh_index: Path) -> None:
    gen = fresh_index / (fresh_index / CURRENT_FILE).read_text().strip()
    for toc in gen.glob("_MAIN_*.toc"):
        toc.write_bytes(b"garbage")
    process, url = start_server(fresh_index)
    try:
        status, health = get_json(f"{url}/api/health")
        assert status == 503 and health["status"] == "unavailable" and "damaged" in health["error"]
        with pytest.raises(urllib.error.HTTPError) as page:
            urllib.request.urlopen(f"{url}/?q=" + urllib.parse.quote("مصر"), timeout=10)
        assert page.value.code == 503
        assert "baheth reindex" in page.value.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)
    result = cli("search", "مصر", "--index", fresh_index)
    assert result.returncode == 1 and "damaged" in result.stderr and "Traceback" not in result.stderr
    # Rebuilding repairs it.
    assert cli("reindex", SEEDS, "--index", fresh_index).returncode == 0
    assert cli("search", "مسؤولون", "--index", fresh_index).returncode == 0


@pytest.mark.parametrize("damage", ["text-field", "length-field"])
def test_a_segment_overwritten_inside_is_a_message_in_every_command(fresh_index: Path, tmp_path: Path, damage: str) -> None:
    """Bytes overwritten inside a segment's stored fields (not its table of contents): add, delete
    and search each say the index could not be read, in one line, never a traceback."""
    gen = fresh_index / (fresh_index / CURRENT_FILE).read_text().strip()
    [segment] = list(gen.glob("*.seg"))[:1]
    data = bytearray(segment.read_bytes())
    at = int.from_bytes(data[:8], "big")
    junk = b"\x80\x05\x8c\x02\xff\xfe." if damage == "text-field" else b"\x80\x05\x8e" + (2**60).to_bytes(8, "little")
    data[at : at + len(junk)] = junk
    segment.write_bytes(bytes(data))
    added = tmp_path / "added.jsonl"
    added.write_text(json.dumps({"id": "new-1", "title": "خبر جديد", "body": "نص خبر جديد عن مصر"}, ensure_ascii=False))
    for args in (("add", added), ("delete", "FX-intl-2"), ("search", "مصر"), ("search", "مصر", "--json")):
        result = cli(*args, "--index", fresh_index)
        assert "Traceback" not in result.stderr, (args, result.stderr[-800:])
        if result.returncode:
            assert result.returncode == 1 and "reindex" in result.stderr, (args, result.stderr)


def test_a_failure_after_an_add_is_committed_does_not_say_the_index_is_unchanged(
    fresh_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full while the spelling vocabulary is rewritten after an add: the added article is in,
    and the message says so; the old vocabulary stays, with no half-written file beside it."""
    from search.backends.whoosh import store
    from search.errors import IndexProblem
    from search.ingest import Document, LoadResult

    gen = fresh_index / (fresh_index / CURRENT_FILE).read_text().strip()
    real_replace = os.replace

    def full(src, dst):  # type: ignore[no-untyped-def]
        if "vocabulary" in str(dst):
            raise OSError(28, "No space left on device", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(IndexProblem) as raised:
        store.add(fresh_index, LoadResult(documents=[Document("new-1", "خبر جديد", "نص خبر جديد عن الفضاء")]))
    message = str(raised.value)
    assert "was written" in message and "searches see it" in message and "unchanged" not in message
    monkeypatch.setattr(os, "replace", real_replace)
    assert Engine(fresh_index).document("new-1") is not None
    assert not [p.name for p in gen.iterdir() if p.name.startswith(".vocabulary")], "no half-written vocabulary"


# -- bad input ------------------------------------------------------------------------


def test_hostile_and_broken_inputs_are_all_accounted_for(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    sgml = "<DOC><DOCNO>{id}</DOCNO><TITLE>{title}</TITLE><TEXT>{text}</TEXT></DOC>"
    (src / "utf8.txt").write_text(sgml.format(id="u8", title="خبر", text="نص سليم"), encoding="utf-8")
    (src / "bad-utf8.txt").write_bytes(sgml.format(id="bad8", title="خبر", text="نص").encode() + b"\xff\xfe\xc3")
    (src / "cp1256.txt").write_bytes(sgml.format(id="win", title="خبر عربي", text="نص بترميز ويندوز").encode("cp1256"))
    (src / "utf16.txt").write_bytes(sgml.format(id="u16", title="خبر", text="نص").encode("utf-16"))
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.dat").write_bytes(os.urandom(4096) + b"\x00" * 100)
    (src / "malformed.sgml").write_text(
        "<DOC><DOCNO>m1</DOCNO><TITLE>عنوان < غريب & عجيب<TEXT>نص بلا إغلاق\n<DOC><DOCNO></DOCNO><TEXT>بلا رقم</TEXT></DOC>",
        encoding="utf-8",
    )
    huge_body = ("كلمة عربية طويلة " * 1_800_000)[:30_000_000]  # about 55 MB of UTF-8
    (src / "huge.txt").write_text(sgml.format(id="huge", title="ملف ضخم", text=huge_body), encoding="utf-8")
    assert (src / "huge.txt").stat().st_size >= 50 * 1024 * 1024
    with zipfile.ZipFile(src / "many.zip", "w") as archive:
        for i in range(3000):
            archive.writestr(f"d/{i}.json", json.dumps({"id": f"z{i}", "body": SENTENCES[i % 4]}, ensure_ascii=False))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("../../etc/x", "/etc/y", "ok/fine.txt"):
            data = sgml.format(id=name.replace("/", "_"), title="خبر", text="نص").encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("ok/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    (src / "evil.tar.gz").write_bytes(buf.getvalue())

    index = tmp_path / "ix"
    before = {p for p in tmp_path.rglob("*")}
    result = cli("reindex", src, "--index", index, "--json", timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    skipped = sum(report["skipped"].values())
    assert report["read"] == report["indexed"] + skipped + report["replaced"]
    assert report["skipped"] == {
        "binary file, not text": 1,
        "empty file": 1,
        "missing DOCNO": 1,
        "unsafe path in archive, skipped": 2,
    }
    assert report["indexed"] == 3000 + 7  # u8, bad8, win, u16, m1, huge, ok/fine
    warnings = "\n".join(report["warnings"])
    assert "read as Windows-1256" in warnings and "invalid UTF-8" in warnings and "body too long" in warnings
    # Nothing was written outside the index folder.
    written = {p for p in tmp_path.rglob("*")} - before
    assert all(index in p.parents or p == index for p in written)
    engine = Engine(index)
    assert [h.id for h in engine.search("بترميز ويندوز").hits] == ["win"]
    assert len(engine.document("huge").body) == MAX_BODY_CHARS  # type: ignore[union-attr]


# -- cost limits ----------------------------------------------------------------------


def test_cost_limits_have_clear_messages(engine: Engine, small_index: Path) -> None:
    long = engine.search("مصر " * 1000)
    assert any("cut to its first 2000 characters" in n for n in map(str, long.notices))
    many = engine.search(" ".join(f"كلمة{i}" for i in range(100)))
    assert any("first 64 words" in n for n in map(str, many.notices))
    short_prefix = engine.search("م*")
    assert any("at least 2 letters" in n for n in map(str, short_prefix.notices))
    broad = Engine(small_index, config=defaults().replace(max_prefix_terms=3)).search("ال*")
    assert any("only the 3 most frequent" in n for n in map(str, broad.notices))
    timed = Engine(small_index, config=defaults().replace(search_time_limit=0)).search("الانترنت OR وزارة OR الحسابات")
    assert timed.timed_out and any("took too long" in n for n in map(str, timed.notices))


def test_per_page_is_capped(client) -> None:
    response = client.get("/api/search?q=مصر&per_page=101")
    assert response.status_code == 400 and "between 1 and 100" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "path", ["/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml", "/static/..%2fpyproject.toml", "/doc/../../etc/passwd"]
)
def test_no_route_reads_a_file_by_a_user_path(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"[project]" not in response.data and b"root:" not in response.data


def test_a_killed_reindex_leaves_no_analysing_processes(tmp_path: Path, fresh_index: Path) -> None:
    big = many_docs(tmp_path / "big.jsonl", 6000)
    writer = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "reindex", str(big), "--index", str(fresh_index), "--procs", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children) < 2 and writer.poll() is None:
        for task in Path(f"/proc/{writer.pid}/task").glob("*"):
            text = (task / "children").read_text() if (task / "children").exists() else ""
            children.update(int(pid) for pid in text.split())
        time.sleep(0.2)
    assert children, "the reindex started no analysing processes"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    time.sleep(2.0)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)]
    assert alive == [], f"analysing processes outlived the killed writer: {alive}"


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"
    return next((line for line in status.splitlines() if line.startswith("State:")), "").lower()
