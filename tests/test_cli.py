"""The `baheth` command line, on real indexes in temp folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, SEED_ID, SEEDS
from search.cli import main


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> click.testing.Result:
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_reindex_search_add_delete_batch(runner: CliRunner, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    result = run(runner, "reindex", SEEDS, FIXTURES / "news.sgml", "--index", index)
    assert result.exit_code == 0, result.output
    assert "reindex: read 7, indexed 6, skipped 1 (empty body: 1), replaced 0, undated 1" in result.output
    assert "skipped: " in result.output and "FX-empty-6" in result.output

    result = run(runner, "search", "الانترنت", "--index", index)
    assert result.exit_code == 0
    assert "[[#الانترنت]]" in result.output and "[[الإنترنت]]" in result.output and "[[للإنترنت]]" in result.output

    result = run(runner, "search", "لبنان", "--json", "--index", index)
    data = json.loads(result.output)
    assert data["total"] == 1 and data["results"][0]["id"] == "FX-intl-2"
    assert data["results"][0]["date"] == "2018-03-21T10:00:00+00:00"

    result = run(runner, "add", FIXTURES / "extra.jsonl", "--index", index)
    assert result.exit_code == 0
    assert "add: read 5, indexed 3, skipped 2 (empty body: 1, not valid JSON: 1), replaced 0" in result.output

    result = run(runner, "delete", "FX-json-1", "nope", "--index", index)
    assert result.exit_code == 0 and "deleted 1, not found 1" in result.output
    assert "not found: nope" in result.output

    topics = tmp_path / "topics.tsv"
    topics.write_text("q1\tالانترنت\nq2\tلبنان واشنطن\n\nq3\tفي من\n", encoding="utf-8")
    out = tmp_path / "run.trec"
    result = run(runner, "batch", topics, "--output", out, "--index", index)
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0][:4] == ["q1", "Q0", SEED_ID, "1"] and lines[0][5] == "baheth"
    assert ["q2", "Q0", "FX-intl-2", "1"] == lines[[l[0] for l in lines].index("q2")][:4]
    assert "q3" not in {l[0] for l in lines}
    assert "warning: topic q3: no results, its query has no searchable words" in result.output


def test_batch_names_every_topic_it_writes_no_line_for(runner: CliRunner, tmp_path: Path, small_index: Path) -> None:
    """An empty query, punctuation only, a word no article has: each topic left out of the run gets a
    warning line saying why; a topic with results gets none."""
    topics = tmp_path / "t.tsv"
    topics.write_text("1\tالانترنت\n2\t\n7\t!!!\n4\tزززززززز\n5\tالانترنت source:nowhere\n", encoding="utf-8")
    result = run(runner, "batch", topics, "-o", tmp_path / "r", "--index", small_index)
    assert result.exit_code == 0, result.output
    assert {line.split()[0] for line in (tmp_path / "r").read_text().splitlines()} == {"1"}
    assert "topic 2: no results, its query is empty" in result.output
    assert "topic 7: no results, its query has no searchable words" in result.output
    assert "topic 4: no results, no article matches" in result.output
    assert "topic 5: no results, no source called «nowhere»" in result.output  # the notice that explains it
    assert "topic 1:" not in result.output


def test_batch_ranks_exactly_as_search(runner: CliRunner, tmp_path: Path, small_index: Path) -> None:
    topics = tmp_path / "t.tsv"
    query = "الأمم المتحدة الإرهاب الانترنت"
    topics.write_text(f"x\t{query}\n", encoding="utf-8")
    run(runner, "batch", topics, "-o", tmp_path / "r", "--index", small_index)
    batch_ids = [line.split()[2] for line in (tmp_path / "r").read_text().splitlines()]
    data = json.loads(run(runner, "search", query, "--json", "--limit", "100", "--index", small_index).output)
    assert batch_ids == [r["id"] for r in data["results"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x", "--index", "{tmp}/none"], "no index at"),
        (["reindex", "{tmp}/missing-folder", "--index", "{tmp}/ix"], "no such file or folder"),
        (["delete", "zzz", "--index", "{tmp}/none"], "no index at"),
        (["batch", "{tmp}/bad.tsv", "-o", "{tmp}/o", "--index", "{small}"], "expected `qid<TAB>query`"),
    ],
)
def test_user_errors_are_one_line_not_tracebacks(
    runner: CliRunner, tmp_path: Path, small_index: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad.tsv").write_text("no tab here\n", encoding="utf-8")
    args = [a.format(tmp=tmp_path, small=small_index) for a in args]
    result = runner.invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_index_comes_from_the_environment(runner: CliRunner, small_index: Path) -> None:
    result = runner.invoke(main, ["search", "لبنان"], env={"BAHETH_INDEX": str(small_index)})
    assert result.exit_code == 0 and "FX-intl-2" in result.output


@pytest.mark.parametrize("query", ["-سوريا لبنان", "-\"الأمم المتحدة\" لبنان"])
def test_a_query_that_begins_with_an_exclusion_is_searched(runner: CliRunner, small_index: Path, query: str) -> None:
    """The query language is the same in the CLI: a query opening with an excluded word was refused as an
    unknown option («No such option '-س'»)."""
    result = runner.invoke(main, ["search", query, "--index", str(small_index)])
    assert result.exit_code == 0, result.output
    assert "FX-intl-2" in result.output and "No such option" not in result.output


def test_every_command_has_help_and_is_in_the_readme(runner: CliRunner) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and (command.help or "").strip(), name
        assert f"baheth {name}" in readme, f"`baheth {name}` is not documented in the README"


def test_the_installed_script_runs(tmp_path: Path) -> None:
    env = {**os.environ, "BAHETH_INDEX": str(tmp_path / "ix")}
    built = subprocess.run(
        [sys.executable, "-m", "search.cli", "reindex", str(SEEDS)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert built.returncode == 0, built.stderr
    found = subprocess.run(
        [sys.executable, "-m", "search.cli", "search", "مسئولون"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert found.returncode == 0 and SEED_ID in found.stdout


def test_deleting_one_id_named_twice_counts_it_once(runner: CliRunner, fresh_index: Path) -> None:
    result = runner.invoke(main, ["delete", SEED_ID, SEED_ID, "--index", str(fresh_index), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deleted"] == 1


def test_add_or_delete_at_a_mistyped_index_creates_nothing(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-index"
    for args in (["add", str(SEEDS), "--index", str(missing)], ["delete", "x", "--index", str(missing)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 1 and "no index at" in result.output, result.output
        assert not missing.exists()


def test_an_id_that_begins_with_a_dash_is_told_how_to_pass_it(runner: CliRunner, tmp_path: Path) -> None:
    """`baheth delete -abc` said only «No such option '-a'»; the way to pass such an id is said with it, and
    the id is deleted when passed after «--». A mistyped long option is told only what it is."""
    root = tmp_path / "ix"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"id": "-abc", "title": "خبر", "body": "نص الخبر عن تونس"}\n', encoding="utf-8")
    assert runner.invoke(main, ["reindex", str(docs), "--index", str(root)]).exit_code == 0
    refused = runner.invoke(main, ["delete", "-abc", "--index", str(root)])
    assert refused.exit_code == 2 and "baheth delete -- -abc" in refused.output, refused.output
    mistyped = runner.invoke(main, ["delete", "--indx", str(root), "x"])
    assert mistyped.exit_code == 2 and "--indx" in mistyped.output and "goes after" not in mistyped.output
    done = runner.invoke(main, ["delete", "--index", str(root), "--", "-abc"])
    assert done.exit_code == 0 and "deleted 1" in done.output, done.output


def test_batch_topics_end_at_newlines_only(runner: CliRunner, tmp_path: Path, small_index: Path) -> None:
    """U+2028, U+0085 or a form feed inside a query is part of it, as the loaders read lines."""
    topics = tmp_path / "topics.tsv"
    topics.write_text("q1\tالانترنت\u2028وزارة\r\nq2\tلبنان\x0cسوريا\nq3\tمصر\u0085\rq4\tلبنان\r", encoding="utf-8")
    out = tmp_path / "run.txt"
    result = runner.invoke(main, ["batch", str(topics), "-o", str(out), "--index", str(small_index)])
    assert result.exit_code == 0, result.output
    assert {line.split()[0] for line in out.read_text(encoding="utf-8").splitlines()} == {"q1", "q2", "q3", "q4"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("q\x01\tمصر\n", encoding="utf-8")
    refused = runner.invoke(main, ["batch", str(bad), "-o", str(out), "--index", str(small_index)])
    assert refused.exit_code != 0 and "line 1" in refused.output


@pytest.mark.parametrize("servers", ["a:7001/b:7001", "127.0.0.1:7001,h st:7002", "x:7001|a/b:7002", "[::1]:7001"])
def test_a_shard_server_that_is_no_host_is_refused(servers: str) -> None:
    from search.backends.xapian.backend import parse_shards

    with pytest.raises(ValueError, match="host"):
        parse_shards(servers)
    assert parse_shards("a:7001|a2:7001,10.0.0.2:7002,shard_3.example.org:7003") == [
        [("a", 7001), ("a2", 7001)], [("10.0.0.2", 7002)], [("shard_3.example.org", 7003)]]


def test_an_sgml_date_that_cannot_be_read_says_the_docno_dates_it(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "d.sgml"
    source.write_text("<DOC>\n<DOCNO>X-1-20170223</DOCNO>\n<TITLE>عنوان</TITLE>\n<TIME>yesterday</TIME>\n"
                      "<TEXT>نص</TEXT>\n</DOC>\n", encoding="utf-8")
    result = runner.invoke(main, ["reindex", str(source), "--index", str(tmp_path / "ix"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert any("dated by its DOCNO" in w for w in report["warnings"]), report["warnings"]
    assert not any("kept without date" in w for w in report["warnings"])
