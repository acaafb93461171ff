"""Shared fixtures: a small real index built once per session, the corpus location."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from search.documents import load_sources
from search.index import build
from search.searching import Engine

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
