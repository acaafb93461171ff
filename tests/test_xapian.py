"""The Xapian backend on real shards served by real xapian-tcpsrv processes on loopback.

Parity with the embedded backend (same ids, order, totals, facets and scores),
the command contract (reindex --backend xapian, shards start/stop, --shards),
and the faults Xapian leaves to its client: a shard down, a replica, a
restarted server, a reindex switching the shards under concurrent readers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from conftest import FIXTURES, SEED_ID, SEEDS, SMALL_SOURCES, cli, free_port, xapian_shards
from search.engine import Engine, Filters, SearchResult
from search.settings import defaults
from webapp import create_app

QUERIES = [
    ("الانترنت", {}),
    ("الأمم المتحدة الإرهاب الانترنت وزارة", {}),
    ('"الأمم المتحدة"', {}),
    ('مسؤولون "الأمم المتحدة" التطرف', {}),
    ("لبنان OR سوريا", {}),
    ("الانترنت -مكافحة", {}),
    ("title:لبنان", {}),
    ("source:BBC", {}),
    ("مصدر:bbc الانترنت", {}),
    ("category:technology الحسابات", {}),
    ("وزارة OR الحسابات OR المنتخب", {"per_page": 2, "page": 2}),
    ("وزارة OR الحسابات OR المنتخب", {"sort": "newest"}),
    ("وزارة OR الحسابات OR المنتخب", {"sort": "oldest"}),
    # Later pages of a date-sorted search: Xapian's MSet.fetch() crashed the process there.
    ("وزارة OR الحسابات OR المنتخب", {"sort": "newest", "per_page": 1, "page": 3}),
    ("وزارة OR الحسابات OR المنتخب", {"sort": "oldest", "per_page": 1, "page": 2}),
    ("", {"filters": Filters(source=["CNN", "BBC"]), "per_page": 2, "page": 2}),
    ("", {"filters": Filters(source=["CNN", "BBC"]), "sort": "oldest"}),
    ("الانترنت", {"filters": Filters(date_from=date(2018, 1, 1), date_to=date(2018, 12, 31))}),
    ("", {"filters": Filters(source=["CNN", "BBC"])}),
    ("الإِنْتَرْنِت", {}),
    ("في من على", {}),
    ("-الانترنت", {}),
    # A word and its forms after a proclitic as one term (Term.also: OP_SYNONYM, the union's df):
    # the seed writes «بوزارة الخارجية», undated, so newest first shows it last.
    ("وزارة", {}),
    ("بوزارة الخارجية", {}),
    ("وزارة OR الحسابات OR المنتخب", {"sort": "newest", "per_page": 1, "page": 5}),
    ("وزارة OR الحسابات OR المنتخب", {"sort": "oldest", "per_page": 1, "page": 5}),
]


@pytest.mark.parametrize(("query", "options"), QUERIES)
def test_the_same_results_as_the_embedded_backend(engine: Engine, xapian_engine: Engine, query: str, options: dict) -> None:
    whoosh, xapian = engine.search(query, **options), xapian_engine.search(query, **options)
    assert [h.id for h in xapian.hits] == [h.id for h in whoosh.hits]
    assert xapian.total == whoosh.total
    assert xapian.facets == whoosh.facets
    if options.get("sort") not in ("newest", "oldest"):
        assert [round(h.score, 6) for h in xapian.hits] == [round(h.score, 6) for h in whoosh.hits]
    assert [h.snippet for h in xapian.hits] == [h.snippet for h in whoosh.hits]


def test_documents_and_health(engine: Engine, xapian_engine: Engine) -> None:
    mine, theirs = xapian_engine.document(SEED_ID, "الانترنت"), engine.document(SEED_ID, "الانترنت")
    assert mine is not None and theirs is not None
    assert (mine.title, mine.body_html, mine.date) == (theirs.title, theirs.body_html, theirs.date)
    assert xapian_engine.document("no-such-id") is None
    health = xapian_engine.health()
    assert health["status"] == "ok" and health["shards"] == {"total": 2, "answered": 2}
    assert health["documents"] == engine.health()["documents"]


def test_the_web_app_on_shards(xapian_index) -> None:  # type: ignore[no-untyped-def]
    root, shards = xapian_index
    client = create_app({"INDEX": str(root), "TESTING": True, "backend": "xapian", "shards": shards}).test_client()
    data = client.get("/api/search?q=الانترنت").get_json()
    assert data["total"] >= 2 and data["results"][0]["id"] == SEED_ID
    assert client.get("/?q=الانترنت").status_code == 200
    assert client.get(f"/doc/{SEED_ID}?q=الانترنت").status_code == 200
    assert client.get("/api/health").get_json()["shards"] == {"total": 2, "answered": 2}


def test_the_command_line_reads_shards(xapian_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, shards = xapian_index
    found = cli("search", "الانترنت", "--backend", "xapian", "--shards", shards)
    assert found.returncode == 0 and SEED_ID in found.stdout
    from_env = cli("search", "لبنان", env={**os.environ, "BAHETH_BACKEND": "xapian", "BAHETH_SHARDS": shards})
    assert from_env.returncode == 0 and "FX-intl-2" in from_env.stdout
    local = cli("search", "لبنان", "--backend", "xapian", "--index", root)  # the servers `shards start` recorded
    assert local.returncode == 0 and "FX-intl-2" in local.stdout
    topics = tmp_path / "t.tsv"
    topics.write_text("q1\tالانترنت\n", encoding="utf-8")
    ran = cli("batch", topics, "-o", tmp_path / "run", "--backend", "xapian", "--shards", shards)
    assert ran.returncode == 0 and (tmp_path / "run").read_text().split()[2] == SEED_ID
    bad = cli("search", "x", "--backend", "xapian", "--shards", "nowhere")
    assert bad.returncode == 1 and "host:port" in bad.stderr and "Traceback" not in bad.stderr


# -- writes and faults, each on its own index ---------------------------------------------


@pytest.fixture()
def own_shards(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "index"
    shards = xapian_shards(root, SMALL_SOURCES)
    yield root, shards
    cli("shards", "stop", "--index", root)


def _engine(shards: str, **settings: object) -> Engine:
    return Engine(config=defaults().replace(backend="xapian", shards=shards, shard_timeout=2.0, **settings))


def test_shards_start_and_stop(own_shards) -> None:  # type: ignore[no-untyped-def]
    root, shards = own_shards
    assert len(shards.split(",")) == 2
    again = cli("shards", "start", "--index", root)  # already running: the same servers
    assert ",".join(again.stdout.split()) == shards
    stopped = cli("shards", "stop", "--index", root)
    assert stopped.returncode == 0 and "stopped 2" in stopped.stderr
    down = cli("search", "x", "--backend", "xapian", "--shards", shards)
    assert down.returncode == 1 and "no shard server answers" in down.stderr


def test_add_and_delete_route_by_id_and_readers_follow(own_shards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, shards = own_shards
    engine = _engine(shards)
    assert engine.search("المريخ").total == 1
    extra = tmp_path / "more.jsonl"
    extra.write_text(
        '{"id": "new-1", "title": "مسبار جديد إلى المريخ", "body": "أطلقت وكالة الفضاء مسبارا إلى المريخ"}\n'
        '{"id": "new-2", "title": "المريخ مرة أخرى", "body": "رحلة أخرى إلى كوكب المريخ"}\n',
        encoding="utf-8",
    )
    assert cli("add", extra, "--backend", "xapian", "--index", root).returncode == 0
    again = cli("add", extra, "--backend", "xapian", "--index", root)  # replayed: replaced, not doubled
    assert again.returncode == 0 and "replaced 2" in again.stdout
    time.sleep(1.2)  # readers check their shards once a second
    assert {"new-1", "new-2"} <= {h.id for h in engine.search("المريخ").hits}
    assert engine.search("المريخ").total == 3
    assert cli("delete", "new-1", "--backend", "xapian", "--index", root).returncode == 0
    time.sleep(1.2)
    assert "new-1" not in {h.id for h in engine.search("المريخ").hits}


def _kill_shard(root: Path, shard: int) -> None:
    import json

    servers = json.loads((root / "shards.json").read_text())
    os.killpg(servers[shard]["pid"], signal.SIGKILL)
    time.sleep(0.2)


def test_a_shard_down_answers_from_the_others_with_a_notice(own_shards) -> None:  # type: ignore[no-untyped-def]
    root, shards = own_shards
    whole = _engine(shards).search("الانترنت OR وزارة OR لبنان", per_page=50)
    _kill_shard(root, 1)
    engine = _engine(shards)
    partial = engine.search("الانترنت OR وزارة OR لبنان", per_page=50)
    assert 0 < partial.total < whole.total
    assert any("only 1 of 2 shards answered" in n for n in map(str, partial.notices))
    assert engine.health()["status"] == "degraded"
    client = create_app({"INDEX": str(root), "TESTING": True, "backend": "xapian", "shards": shards}).test_client()
    response = client.get("/api/search?q=الانترنت OR وزارة OR لبنان")
    notices = response.get_json()["notices"]
    assert response.status_code == 200 and any(n["code"] == "partial" and "shards answered" in n["message"] for n in notices)
    health = client.get("/api/health")
    assert health.status_code == 200 and health.get_json()["status"] == "degraded"


def test_a_replica_answers_for_a_shard_that_is_down(own_shards) -> None:  # type: ignore[no-untyped-def]
    root, shards = own_shards
    first, second = shards.split(",")
    dead = f"127.0.0.1:{free_port()}"
    engine = _engine(f"{dead}|{first},{second}")  # shard 0's first replica does not answer
    result = engine.search("الانترنت OR وزارة OR لبنان", per_page=50)
    assert result.total == _engine(shards).search("الانترنت OR وزارة OR لبنان", per_page=50).total
    assert not any("shards answered" in n for n in map(str, result.notices))
    assert engine.health()["status"] == "ok"


def test_a_restarted_shard_server_is_reconnected(own_shards) -> None:  # type: ignore[no-untyped-def]
    root, _shards = own_shards
    cli("shards", "stop", "--index", root)
    ports = [free_port(), free_port()]
    servers = [_serve(root, k, port) for k, port in enumerate(ports)]
    try:
        engine = _engine(",".join(f"127.0.0.1:{p}" for p in ports))
        before = engine.search("الانترنت").total
        os.killpg(servers[0].pid, signal.SIGKILL)
        servers[0].wait()
        servers[0] = _serve(root, 0, ports[0])  # the same address, a new process
        time.sleep(0.3)
        after = engine.search("الانترنت")
        assert after.total == before and not any("shards answered" in n for n in map(str, after.notices))
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_an_idle_timed_out_connection_is_reconnected(own_shards) -> None:  # type: ignore[no-untyped-def]
    """xapian-tcpsrv closes a connection idle for --idle-timeout (60 s by default): the next
    search after a pause longer than that is answered in full, without a notice."""
    root, _shards = own_shards
    cli("shards", "stop", "--index", root)
    ports = [free_port(), free_port()]
    servers = [_serve(root, k, port, idle_ms=300) for k, port in enumerate(ports)]
    try:
        import xapian

        raw = xapian.remote_open("127.0.0.1", ports[0], 2000, 2000)
        raw.get_doccount()
        time.sleep(0.8)
        with pytest.raises(xapian.NetworkError):  # the servers do close idle connections
            raw.reopen()
            raw.get_doccount()
        engine = _engine(",".join(f"127.0.0.1:{p}" for p in ports))
        before = engine.search("الانترنت OR وزارة")
        for _pause in range(3):
            time.sleep(0.8)  # every connection is now closed by its server
            after = engine.search("الانترنت OR وزارة")
            assert after.total == before.total and [h.id for h in after.hits] == [h.id for h in before.hits]
            assert after.notices == before.notices and engine.health()["status"] == "ok"  # no shard notice
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _serve(root: Path, shard: int, port: int, idle_ms: int | None = None) -> subprocess.Popen:
    timeout = ["--idle-timeout", str(idle_ms)] if idle_ms else []
    process = subprocess.Popen(
        [shutil.which("xapian-tcpsrv") or "xapian-tcpsrv", "--interface", "127.0.0.1", "--port", str(port), "--quiet",
         *timeout, str(root / f"shard-{shard}.stub")],
        start_new_session=True,
    )
    import xapian

    deadline = time.monotonic() + 10
    while True:
        try:
            xapian.remote_open("127.0.0.1", port, 1000, 1000).close()
            return process
        except xapian.Error:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)


def test_a_reindex_switch_under_eight_clients_fails_no_request(own_shards) -> None:  # type: ignore[no-untyped-def]
    root, shards = own_shards
    engine = _engine(shards)
    failures: list[str] = []
    generations: set[str] = set()
    done = threading.Event()

    def client() -> None:
        while not done.is_set():
            try:
                result = engine.search("الانترنت OR المريخ")
                generations.add(str(engine.health()["generation"]))
                if result.total == 0:
                    failures.append("no results")
            except Exception as exc:  # noqa: BLE001 - any failure is what this test counts
                failures.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for sources in ([SEEDS, FIXTURES / "extra.jsonl"], SMALL_SOURCES):
            built = cli("reindex", *sources, "--backend", "xapian", "--shard-count", 2, "--index", root)
            assert built.returncode == 0, built.stderr
            time.sleep(1.5)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(generations) >= 2  # the readers moved to the new generations


def test_a_killed_reindex_leaves_the_old_generation_served(own_shards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from test_reliability import many_docs

    root, shards = own_shards
    engine = _engine(shards)
    before = engine.health()["generation"]
    big = many_docs(tmp_path / "big.jsonl", 4000)
    writer = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "reindex", str(big), "--backend", "xapian", "--index", str(root)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    deadline = time.monotonic() + 30
    while not list(root.glob(".build-*/shard-*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the shard processes have started writing
    assert writer.poll() is None, "the reindex ended before it could be killed"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    time.sleep(1.2)
    assert engine.health()["generation"] == before
    assert engine.search("الانترنت").total > 0


@pytest.mark.parametrize(
    ("stage", "message"),
    [("writing", "failed (exit code -9)"), ("grouping", "a process grouping copies of articles died")],
)
def test_a_shard_writer_killed_during_a_reindex_leaves_the_old_generation(  # type: ignore[no-untyped-def]
    own_shards, tmp_path: Path, stage: str, message: str
) -> None:
    """kill -9 one of the processes writing a shard (or, before, grouping copies): the reindex
    fails naming it, nothing is switched."""
    from test_reliability import many_docs

    root, shards = own_shards
    engine = _engine(shards)
    before = engine.health()["generation"]
    stubs = {p.name: p.read_text() for p in root.glob("shard-*.stub")}
    big = many_docs(tmp_path / "big.jsonl", 4000)
    writer = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "reindex", str(big), "--backend", "xapian", "--index", str(root)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    children: list[int] = []
    deadline = time.monotonic() + 60
    while not children and time.monotonic() < deadline and writer.poll() is None:
        writing = any(root.glob(".build-*/shard-*"))  # the shard processes create their folders
        if writing == (stage == "writing"):
            tasks = Path(f"/proc/{writer.pid}/task").glob("*/children")
            children = [int(pid) for task in tasks for pid in task.read_text().split()]
        time.sleep(0.02)
    assert children, f"no {stage} process was seen"
    os.kill(children[0], signal.SIGKILL)
    _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 1 and message in err and "Traceback" not in err, err
    assert {p.name: p.read_text() for p in root.glob("shard-*.stub")} == stubs
    time.sleep(1.2)
    assert engine.health()["generation"] == before and engine.search("الانترنت").total > 0
    assert not list(root.glob(".build-*"))


@pytest.mark.parametrize(
    ("counts", "lookups"),
    [
        ({"مصر": 3, "الانترنت": 1, "مصري": 2}, {"مصر": 3, "مصري": 2, "الانترنت": 1, "مص": None, "ر": None}),
        ({"a": 10, "ab": 2}, {"a": 10, "ab": 2, "b": None}),
        ({}, {"مصر": None}),
    ],
)
def test_packed_frequencies_read_like_a_dictionary(counts: dict[str, int], lookups: dict[str, int | None]) -> None:
    from search.backends.xapian.fields import Packed, pack

    packed = Packed(pack(counts))
    assert {word: packed.get(word) for word in lookups} == lookups
    assert dict(packed) == counts and len(packed) == len(counts)


def test_an_index_written_before_the_rerank_slot_still_reranks() -> None:
    """Older documents keep tf, lengths and the ordinal in their data: read from there."""
    import json as json_module

    from search.backends.xapian.backend import _candidate_of, _fields

    class OldDocument:
        def get_value(self, slot: int) -> bytes:
            return b""

        def get_data(self) -> bytes:
            data = {"id": "x1", "title": "t", "body": "b", "n": 7, "len": {"body": 3}, "tf": {"body": {"مصر": 2}}}
            return json_module.dumps(data, ensure_ascii=False).encode()

    row = _candidate_of(OldDocument(), 5)
    assert (row.docid, row.ordinal, row.doc_id) == (5, 7, "x1")
    assert row.candidate.frequencies["body"]["مصر"] == 2 and row.candidate.lengths == {"body": 3}
    assert _fields(OldDocument()) == {"id": "x1", "title": "t", "body": "b"}


def test_paging_past_the_rerank_depth_repeats_and_skips_nothing(tmp_path: Path) -> None:
    """The first rerank_depth candidates are reranked, deeper ones keep Xapian's order, on every
    page alike: reranking a deeper set for a deeper page used to move results between pages."""
    import json
    import random

    from conftest import cli, xapian_shards

    rng = random.Random(5)
    words = ["الحكومة", "الانتخابات", "البرلمان", "الاقتصاد", "الوزير", "المعارضة", "تونس", "القانون"]
    source = tmp_path / "many.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"m{i}", "title": " ".join(rng.choices(words, k=3)),
                        "body": " ".join(rng.choices(words, k=rng.randint(5, 40)))}, ensure_ascii=False) + "\n"
            for i in range(60)
        ),
        encoding="utf-8",
    )
    root = tmp_path / "index"
    shards = xapian_shards(root, [source])
    try:
        config = defaults().replace(index=str(root), backend="xapian", shards=shards, rerank_depth=10)
        engine = Engine(config=config)
        query = "الحكومة OR الانتخابات OR البرلمان"
        total = engine.search(query, per_page=1, facets=False, suggest=False).total
        assert total > 30
        for per_page in (3, 7, 10):
            seen: list[str] = []
            for page in range(1, total // per_page + 2):
                seen += [h.id for h in engine.search(query, page=page, per_page=per_page, facets=False, suggest=False).hits]
            assert len(seen) == len(set(seen)) == total, per_page
        first = [h.id for h in engine.search(query, per_page=10, facets=False, suggest=False).hits]
        assert first == seen[:10]  # the reranked head is the same whatever the page size
    finally:
        cli("shards", "stop", "--index", root)


def test_the_lexicon_reads_at_most_what_is_asked_and_its_frequencies_are_exact(engine: Engine, xapian_engine: Engine) -> None:
    ours, theirs = xapian_engine.backend.snapshot(), engine.backend.snapshot()
    for field, prefix in (("body_exact", "ال"), ("body", ""), ("title_exact", "ال")):
        every = list(ours.words(field, prefix))
        assert every == list(theirs.words(field, prefix)) and len(every) > 3
        assert list(ours.words(field, prefix, 3)) == every[:3]
        for word in every[:3]:  # from the term list just read, and asked afresh: the same counts
            assert ours.doc_frequency(field, word) == theirs.doc_frequency(field, word)
        ours._frequencies = {}
        assert [ours.doc_frequency(field, w) for w in every[:3]] == [theirs.doc_frequency(field, w) for w in every[:3]]


# -- which shard is which: each shard's metadata says its number, the shard count and generation --


def _partial(result: SearchResult) -> str:
    return " ".join(str(n) for n in result.notices if n.code == "partial")


def test_the_shard_list_is_read_in_shard_order_as_written_or_not(own_shards: tuple[Path, str]) -> None:
    """The vocabulary («هل تقصد») and the update time live on shard 0: listed second, it is still found."""
    _root, shards = own_shards
    first, second = shards.split(",")
    in_order, reversed_ = _engine(f"{first},{second}"), _engine(f"{second},{first}")
    assert reversed_.backend.snapshot().vocabulary() == in_order.backend.snapshot().vocabulary() is not None
    query = "الانترنت OR وزارة OR لبنان"
    assert [h.id for h in reversed_.search(query).hits] == [h.id for h in in_order.search(query).hits]
    assert reversed_.health()["status"] == "ok"


def test_a_server_named_twice_is_refused_naming_it(own_shards: tuple[Path, str]) -> None:
    _root, shards = own_shards
    first, second = shards.split(",")
    for written in (f"{first},{first}", f"{first},{second}|{first}"):
        refused = cli("search", "الانترنت", "--backend", "xapian", "--shards", written)
        assert refused.returncode == 1 and "named twice" in refused.stderr and first in refused.stderr
        assert "--shards or BAHETH_SHARDS" in refused.stderr and "Traceback" not in refused.stderr


def test_two_servers_of_one_shard_listed_as_two_shards_are_refused(own_shards: tuple[Path, str]) -> None:
    """Two servers of shard 0 listed as shards 1 and 2 (or «a|b» where «a,b» was meant, once a is
    down) would count shard 0 twice and leave shard 1 out."""
    root, shards = own_shards
    first, _second = shards.split(",")
    port = free_port()
    copy = _serve(root, 0, port)
    try:
        refused = cli("search", "الانترنت", "--backend", "xapian", "--shards", f"{first},127.0.0.1:{port}")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "entries 1" in refused.stderr and "and 2" in refused.stderr and "both serve shard 0" in refused.stderr
    finally:
        os.killpg(copy.pid, signal.SIGKILL)
        copy.wait()


def test_a_shard_left_out_of_the_list_is_reported_not_silently_missing(own_shards: tuple[Path, str]) -> None:
    _root, shards = own_shards
    engine = _engine(shards.split(",")[0])
    assert "only 1 of 2 shards answered" in _partial(engine.search("الانترنت OR وزارة OR لبنان"))
    health = engine.health()
    assert health["status"] == "degraded" and health["shards"]["total"] == 2  # type: ignore[index]
    assert any("names 1" in p for p in health["shards"]["problems"])  # type: ignore[index]


def test_a_reindex_to_more_shards_than_servers_is_reported_to_fewer_not(own_shards: tuple[Path, str]) -> None:
    root, shards = own_shards
    engine = _engine(shards)
    more = cli("reindex", *SMALL_SOURCES, "--backend", "xapian", "--shard-count", 3, "--index", root)
    assert more.returncode == 0 and "baheth shards start" in more.stderr  # 2 servers run for 3 shards
    time.sleep(1.2)  # readers check their shards once a second
    assert "only 2 of 3 shards answered" in _partial(engine.search("الانترنت OR وزارة OR لبنان"))
    health = engine.health()
    problems = health["shards"]["problems"]  # type: ignore[index]
    assert health["status"] == "degraded" and any("baheth shards start" in p for p in problems)
    found = cli("search", "الانترنت", "--backend", "xapian", "--index", root)  # the 2 servers shards.json records
    assert found.returncode == 0 and "baheth shards start" in found.stderr
    assert "only 2 of 3" in found.stdout + found.stderr
    three = ",".join(cli("shards", "start", "--index", root).stdout.split())  # restarts all three
    assert len(three.split(",")) == 3
    engine = _engine(three)
    whole = engine.search("الانترنت OR وزارة OR لبنان")
    assert not _partial(whole) and engine.health()["status"] == "ok"
    assert cli("reindex", *SMALL_SOURCES, "--backend", "xapian", "--shard-count", 2, "--index", root).returncode == 0
    time.sleep(1.2)  # the third server now serves a stub that is gone: the index is whole without it
    fewer = engine.search("الانترنت OR وزارة OR لبنان")
    assert fewer.total == whole.total and not _partial(fewer)
    assert engine.health()["status"] == "ok"


def test_a_server_left_on_an_older_generation_is_reported(own_shards: tuple[Path, str], tmp_path: Path) -> None:
    root, shards = own_shards
    old = tmp_path / "old-copy"
    shutil.copytree(root, old, ignore=shutil.ignore_patterns("*.log", "shards.json", "*.lock"))
    assert cli("reindex", *SMALL_SOURCES, "--backend", "xapian", "--shard-count", 2, "--index", root).returncode == 0
    port = free_port()
    stale = _serve(old, 1, port)  # shard 1 of the copy: the generation before the reindex
    try:
        engine = _engine(f"{shards.split(',')[0]},127.0.0.1:{port}")
        assert "only 1 of 2 shards answered" in _partial(engine.search("الانترنت OR وزارة OR لبنان"))
        health = engine.health()
        assert health["status"] == "degraded"
        assert any("another generation" in p for p in health["shards"]["problems"])  # type: ignore[index]
    finally:
        os.killpg(stale.pid, signal.SIGKILL)
        stale.wait()


# -- the servers `baheth shards start` records: one dead, all restarted on new ports ------------


def test_one_dead_recorded_server_leaves_the_others_answering(own_shards: tuple[Path, str], tmp_path: Path) -> None:
    root, _shards = own_shards
    _kill_shard(root, 1)
    found = cli("search", "الانترنت OR وزارة OR لبنان", "--backend", "xapian", "--index", root)
    assert found.returncode == 0 and "only 1 of 2 shards answered" in found.stdout + found.stderr
    assert "shard 1 (pid" in found.stderr and "baheth shards start" in found.stderr
    topics = tmp_path / "t.tsv"
    topics.write_text("q1\tالانترنت\n", encoding="utf-8")
    ran = cli("batch", topics, "-o", tmp_path / "run", "--backend", "xapian", "--index", root)
    assert ran.returncode == 0, ran.stderr
    client = create_app({"INDEX": str(root), "TESTING": True, "backend": "xapian"}).test_client()
    response = client.get("/api/search?q=الانترنت OR وزارة OR لبنان")
    assert response.status_code == 200 and any(n["code"] == "partial" for n in response.get_json()["notices"])


def test_a_running_web_app_follows_the_servers_shards_start_restarts(own_shards: tuple[Path, str]) -> None:
    root, _shards = own_shards
    client = create_app({"INDEX": str(root), "TESTING": True, "backend": "xapian"}).test_client()
    before = client.get("/api/search?q=الانترنت OR وزارة").get_json()
    _kill_shard(root, 1)
    assert cli("shards", "start", "--index", root).returncode == 0  # every server again, on new ports
    time.sleep(1.2)
    after = client.get("/api/search?q=الانترنت OR وزارة")
    assert after.status_code == 200 and after.get_json()["total"] == before["total"]
    assert after.get_json()["notices"] == before["notices"]  # no shard notice
    cli("shards", "stop", "--index", root)
    time.sleep(1.2)
    down = client.get("/api/search?q=الانترنت")
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "index_unavailable"
    assert "إعادة بنائه" not in down.get_json()["error"]["message_ar"]  # a server down is no index to rebuild


# -- the time a search may take, stalled servers, facet counts --------------------------------


def test_the_search_time_limit_holds_on_shards(own_shards: tuple[Path, str]) -> None:
    _root, shards = own_shards
    stopped = _engine(shards, search_time_limit=0.0).search("الانترنت OR وزارة OR لبنان")
    assert stopped.timed_out and any(n.code == "time_limit" for n in stopped.notices)
    assert stopped.total == 0  # as the embedded backend: nothing found in no time
    whole = _engine(shards).search("الانترنت OR وزارة OR لبنان")
    assert not whole.timed_out and whole.total > 0


def test_a_stalled_first_replica_is_skipped_a_while_and_its_wait_counted(own_shards: tuple[Path, str]) -> None:
    """SIGSTOP a replica (the server and its connections): each try waits shard_timeout. It is tried
    once, then skipped; the request that waited says so in took_ms."""
    root, shards = own_shards
    first, second = shards.split(",")
    port = free_port()
    replica = _serve(root, 0, port)
    try:
        config = {"INDEX": str(root), "TESTING": True, "backend": "xapian", "shard_timeout": 0.5,
                  "shards": f"127.0.0.1:{port}|{first},{second}"}
        client = create_app(config).test_client()
        whole = client.get("/api/search?q=الانترنت OR وزارة").get_json()
        os.killpg(replica.pid, signal.SIGSTOP)
        time.sleep(1.2)
        waited = client.get("/api/search?q=الانترنت OR وزارة").get_json()
        assert waited["total"] == whole["total"] and waited["notices"] == whole["notices"]  # no shard notice
        assert waited["took_ms"] >= 500  # the wait for the stalled replica, counted
        for _request in range(3):
            time.sleep(1.2)  # past the readers' once-a-second check each time
            started = time.monotonic()
            answer = client.get("/api/search?q=الانترنت OR وزارة").get_json()
            assert time.monotonic() - started < 0.4 and answer["total"] == whole["total"]
        assert client.get("/api/health").get_json()["status"] == "ok"
    finally:
        os.killpg(replica.pid, signal.SIGKILL)
        replica.wait()


def test_facet_and_day_counts_of_uncollapsed_searches_equal_the_embedded_backend(tmp_path: Path) -> None:
    """Sorted by relevance then the rerank value, Xapian's match spies counted some matches of remote
    shards twice: 562 sources for 554 results."""
    import json
    import random

    rng = random.Random(3)
    words = ["الحكومة", "الانتخابات", "البرلمان", "الاقتصاد", "الوزير", "المعارضة", "تونس", "القانون", "مصر", "لبنان"]
    source = tmp_path / "many.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "title": " ".join(rng.choices(words, k=3)),
                        "body": " ".join(rng.choices(words, k=rng.randint(5, 60))),
                        "source": rng.choice(["BBC", "CNN", "SKY", "F24", "ARB"]), "category": rng.choice("abc"),
                        "date": f"2018-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"}, ensure_ascii=False) + "\n"
            for i in range(600)
        ),
        encoding="utf-8",
    )
    assert cli("reindex", source, "--index", tmp_path / "wh").returncode == 0
    root = tmp_path / "xa"
    shards = xapian_shards(root, [source], shards=3)
    try:
        whoosh = Engine(config=defaults().replace(index=str(tmp_path / "wh")))
        xapian = _engine(shards)
        for query in ("مصر", "الحكومة OR تونس", "لبنان الوزير"):
            theirs, ours = whoosh.search(query, collapse=False), xapian.search(query, collapse=False)
            assert ours.total == theirs.total
            assert ours.facets == theirs.facets and ours.timeline == theirs.timeline and ours.undated == theirs.undated
            assert sum(ours.facets["source"].values()) == ours.total
    finally:
        cli("shards", "stop", "--index", root)


def test_a_collapsed_story_group_is_shown_by_its_best_member_as_embedded(tmp_path: Path) -> None:
    """Xapian collapses on its first-stage BM25; the member shown is the group's best by BM25F."""
    import json
    import random

    rng = random.Random(11)
    words = ["الحكومة", "الانتخابات", "البرلمان", "الاقتصاد", "الوزير", "المعارضة", "تونس", "القانون", "مصر",
             "لبنان", "الرئيس", "المجلس", "الشعب", "الأزمة", "المفاوضات", "الجيش", "الاتفاق", "العاصمة", "الشرطة"]
    lines = []
    for group in range(80):  # stories of one to three copies: a few words changed, cut or added
        body, title = rng.choices(words, k=rng.randint(30, 80)), " ".join(rng.choices(words, k=5))
        for copy in range(rng.randint(1, 3)):
            text = list(body)
            if copy:
                for _ in range(rng.randint(0, 4)):
                    text[rng.randrange(len(text))] = rng.choice(words)
                text = text[: len(text) - rng.randint(0, 10)] + rng.choices(words, k=rng.randint(0, 10))
            shown = title if rng.random() < 0.6 else " ".join(rng.choices(words, k=5))
            lines.append(json.dumps({"id": f"g{group}-{copy}", "title": shown, "body": " ".join(text),
                                     "date": f"2018-03-0{rng.randint(1, 3)}"}, ensure_ascii=False) + "\n")
    source = tmp_path / "copies.jsonl"
    source.write_text("".join(lines), encoding="utf-8")
    assert cli("reindex", source, "--index", tmp_path / "wh").returncode == 0
    root = tmp_path / "xa"
    shards = xapian_shards(root, [source])
    try:
        whoosh, xapian = Engine(config=defaults().replace(index=str(tmp_path / "wh"))), _engine(shards)
        for query in ("لبنان الوزير", "الجيش", "تونس الأزمة", "الشرطة العاصمة", "المفاوضات الاتفاق"):
            theirs = whoosh.search(query, collapse=True, per_page=20)
            ours = xapian.search(query, collapse=True, per_page=20)
            assert (ours.total, ours.articles) == (theirs.total, theirs.articles)
            assert [h.id for h in ours.hits] == [h.id for h in theirs.hits], query
            assert [round(h.score, 6) for h in ours.hits] == [round(h.score, 6) for h in theirs.hits], query
    finally:
        cli("shards", "stop", "--index", root)
