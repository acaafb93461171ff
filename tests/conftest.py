"""Shared fixtures: a small real index built once per session, the corpus location."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from search.backends.whoosh.store import build
from search.engine import Engine
from search.ingest import load_sources

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
SEEDS = ROOT / "seeds"
SHARED = Path(__file__).resolve().parents[2] / "shared"
ANT = SHARED / "corpus" / "ant-multisource-v2.1.tar.gz"
JAWHARA = SHARED / "corpus" / "ant-jawharafm-v1.1.tar.gz"
SEED_ID = "000_a9563e54c2c4a4f9"
# The second line of extra.jsonl has no id; the loader names it by its content.
JSON2_ID = load_sources([FIXTURES / "extra.jsonl"]).documents[1].id


def require_corpus(path: Path = ANT) -> Path:
    """Fail loudly (not skip) when the shared corpus is missing: these tests must run."""
    if not path.exists():
        pytest.fail(f"the shared corpus is absent: {path} not found (tests expect ../shared beside the repo)")
    return path


def jawhara_articles(directory: Path, count: int, word: str = "", names: tuple[str, ...] = ()) -> list[Path]:
    """Real JawharaFM articles copied out of the corpus, one file each as the corpus holds them: those
    named (DOCNO), else the first ``count`` whose text has ``word``."""
    import tarfile

    directory.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    with tarfile.open(require_corpus(JAWHARA)) as tar:
        for member in tar:
            name = Path(member.name).name
            if not member.isfile() or not name.endswith(".txt") or (names and name[:-4] not in names):
                continue
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if word and word not in data.decode("utf-8", "replace"):
                continue
            (directory / name).write_bytes(data)
            found.append(directory / name)
            if len(found) == (len(names) or count):
                break
    return found


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Whoosh index on disk: the seed plus the fixture documents."""
    root = tmp_path_factory.mktemp("index")
    load = load_sources([SEEDS, FIXTURES / "news.sgml", FIXTURES / "extra.jsonl"])
    build(root, load, ["fixtures"])
    return root


@pytest.fixture(scope="session")
def engine(small_index: Path) -> Engine:
    return Engine(small_index)


@pytest.fixture()
def fresh_index(tmp_path: Path, small_index: Path) -> Path:
    """A private copy of the small index, for tests that change it."""
    root = tmp_path / "index"
    shutil.copytree(small_index, root)
    return root


@pytest.fixture(scope="session")
def app(small_index: Path):  # type: ignore[no-untyped-def]
    from webapp import create_app

    return create_app({"INDEX": str(small_index), "TESTING": True})


@pytest.fixture(params=["whoosh", "xapian"])
def client(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The web app on each backend, over the same documents: every page and API test runs on both."""
    if request.param == "whoosh":
        return request.getfixturevalue("app").test_client()
    from webapp import create_app

    root, shards = request.getfixturevalue("xapian_index")
    return create_app({"INDEX": str(root), "TESTING": True, "backend": "xapian", "shards": shards}).test_client()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(index: Path, threads: int = 8):  # type: ignore[no-untyped-def]
    """Start a real `baheth serve` on a loopback port; return (process, base URL)."""
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    port = free_port()
    env = {**os.environ, "BAHETH_INDEX": str(index)}
    log = index.parent / f"serve-{port}.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "search.cli", "serve", "--port", str(port), "--threads", str(threads)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2):
                return process, url
        except urllib.error.HTTPError:
            return process, url  # it answered (503 when the index is unusable)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"baheth serve exited: {log.read_text(errors='replace')}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("baheth serve did not answer within 20 s")


@pytest.fixture()
def live_server(fresh_index: Path):  # type: ignore[no-untyped-def]
    process, url = start_server(fresh_index)
    yield url, fresh_index
    process.terminate()
    process.wait(timeout=10)


def cli(*args: object, **kwargs):  # type: ignore[no-untyped-def]
    """Run `baheth ARGS` as a separate process, as a user would."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "search.cli", *map(str, args)], capture_output=True, text=True, cwd=ROOT, **kwargs
    )


def get_json(url: str) -> tuple[int, dict]:
    """GET a JSON URL; (status, body) for errors too."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- the Xapian backend: real shards, real xapian-tcpsrv servers on loopback ----------------

SMALL_SOURCES = [SEEDS, FIXTURES / "news.sgml", FIXTURES / "extra.jsonl"]


def xapian_shards(root: Path, sources: list[Path], shards: int = 2) -> str:
    """Build a Xapian index of ``shards`` shards under ``root`` and start its servers; returns host:port,…"""
    built = cli("reindex", *sources, "--backend", "xapian", "--shard-count", shards, "--index", root)
    if built.returncode != 0:
        raise RuntimeError(f"the Xapian reindex failed: {built.stderr}")
    started = cli("shards", "start", "--index", root)
    if started.returncode != 0:
        raise RuntimeError(f"the shard servers did not start: {started.stderr}")
    return ",".join(started.stdout.split())


def embedded_engine(tmp_path_factory: pytest.TempPathFactory, name: str, docs) -> Engine:  # type: ignore[no-untyped-def]
    """An engine over ``docs`` (Documents) on a fresh embedded index: a module fixture's body."""
    from search.ingest import LoadResult

    root = tmp_path_factory.mktemp(name)
    build(root, LoadResult(documents=list(docs)), [name])
    return Engine(root)


def write_articles(directory: Path, articles: dict[str, str]) -> Path:
    """Untitled articles (id -> body) as a JSON Lines collection in ``directory``."""
    import json

    path = directory / "articles.jsonl"
    lines = [json.dumps({"id": key, "title": "", "body": body}, ensure_ascii=False) for key, body in articles.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def engine_on(backend: str, collection: Path, root: Path, name: str):  # type: ignore[no-untyped-def]
    """An engine over ``collection`` on the embedded index or two Xapian shards (stopped after): a generator
    for a fixture parametrised by backend."""
    from search.settings import defaults

    if backend == "whoosh":
        build(root, load_sources([collection]), [name])
        yield Engine(root)
        return
    shards = xapian_shards(root, [collection])
    yield Engine(config=defaults().replace(index=str(root), backend="xapian", shards=shards))
    cli("shards", "stop", "--index", root)


@pytest.fixture(scope="session")
def xapian_index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The small index's documents in two Xapian shards, served by two xapian-tcpsrv processes."""
    root = tmp_path_factory.mktemp("xapian") / "index"
    shards = xapian_shards(root, SMALL_SOURCES)
    yield root, shards
    cli("shards", "stop", "--index", root)


@pytest.fixture(scope="session")
def xapian_engine(xapian_index) -> Engine:  # type: ignore[no-untyped-def]
    from search.settings import defaults

    root, shards = xapian_index
    return Engine(config=defaults().replace(index=str(root), backend="xapian", shards=shards))


ANT_WORD = "تونس"  # the ANT sample: every article that names Tunisia (774 of 31,525; 6 of them from 2012-2014)


@pytest.fixture(scope="session")
def ant_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index of real ANT articles: those of the multi-source archive that hold ANT_WORD, five
    sources, story groups, and the few old opinion pieces that stretch the archive's span to 2012."""
    import tarfile

    from search.ingest import LoadResult, read_bytes_source

    corpus = require_corpus(ANT)
    docs = []
    with tarfile.open(corpus) as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".txt")):
                continue
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if ANT_WORD.encode() in data:
                docs.extend(read_bytes_source(data, member.name).documents)
    root = tmp_path_factory.mktemp("ant-sample")
    build(root, LoadResult(documents=docs), ["ant-sample"])
    return root


@pytest.fixture(scope="session")
def ant_client(ant_sample: Path):  # type: ignore[no-untyped-def]
    from webapp import create_app

    return create_app({"INDEX": str(ant_sample), "TESTING": True}).test_client()
