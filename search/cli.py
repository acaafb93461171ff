"""The `baheth` command line: a thin layer over the engine.

Errors a user can cause (a missing index, a bad file, a busy writer) are
printed as one plain line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from search.backends import open_writer
from search.backends.base import BuildReport
from search.engine import Engine
from search.errors import IndexProblem, NothingToIndex
from search.ingest import LoadLimits, load_sources
from search.settings import MB, SETTINGS, Config, Setting, SettingError, resolve


def _escaped(text: str) -> str:
    """A message naming what a user gave (a path, an id) for a terminal: control characters and
    invisible format characters (bidi controls, zero-width marks) written as \\uXXXX (\\UXXXXXXXX
    past U+FFFF), so that a name cannot reorder or hide the line it is printed in. ZWNJ and ZWJ, which
    Persian words are written with, stay."""
    return "".join(
        (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\t\u200c\u200d" else ch
        for ch in text
    )


class CliError(click.ClickException):
    """A command's error line (click prints «Error: …»), with what the user named escaped (``_escaped``)."""

    def __init__(self, message: str) -> None:
        super().__init__("\n".join(_escaped(line) for line in message.split("\n")))


class WholeNumber(click.ParamType):
    """A whole number from low to high, read as settings are (``Setting.check``): ASCII or Arabic-Indic
    digits; not «1_0» or other scripts' digits, which Python's int() (click's IntRange) takes."""

    name = "integer"

    def __init__(self, option: str, low: int, high: int) -> None:
        self.setting = Setting(option, low, "", low, high)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return int(self.setting.check(value))
        except SettingError as exc:
            self.fail(str(exc), param, ctx)


def _option(name: str, *flags: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A click option whose help comes from the settings table; its value is checked by the table too."""
    setting = SETTINGS[name]
    return click.option(
        *(flags or (f"--{name.replace('_', '-')}",)),
        name,
        default=None,
        type=kwargs.pop("type", str),
        help=f"{setting.help} [env {setting.env}; {setting.allowed()}; default {setting.default}]",
        **kwargs,
    )


index_option = _option("index", "--index")
wait_option = click.option("--wait", is_flag=True, help="Wait for another writer to finish instead of refusing.")
memory_option = _option("memory_mb", "--memory-mb")
backend_option = _option("backend", "--backend")
shards_option = _option("shards", "--shards")
shard_count_option = _option("shard_count", "--shard-count")


def settings_for(**options: Any) -> Config:
    """The settings read once at start (environment and defaults) with this command's options on top.

    A bad value, from an option or the environment, is one line naming it and what it allows.
    """
    ctx = click.get_current_context()
    base: Config = ctx.find_root().obj
    try:
        return base.replace(**{name: value for name, value in options.items() if value is not None})
    except SettingError as exc:
        raise CliError(f"bad setting: {exc}") from None


def limits(config: Config) -> LoadLimits:
    return LoadLimits(max_body_chars=config.max_body_chars, max_record_bytes=config.max_record_mb * MB)


class Progress:
    """A progress bar on a terminal, nothing otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.bar = None
        if sys.stderr.isatty() and total:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"


def print_report(report: BuildReport, verb: str, as_json: bool = False, max_lines: int = 50) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    for problem in report.problems[:max_lines]:
        click.echo(f"skipped: {_escaped(str(problem))}", err=True)
    if len(report.problems) > max_lines:
        click.echo(f"skipped: … and {len(report.problems) - max_lines} more (use --json for all)", err=True)
    for warning in report.warnings[:max_lines]:
        click.echo(f"warning: {_escaped(str(warning))}", err=True)
    if len(report.warnings) > max_lines:
        click.echo(f"warning: … and {len(report.warnings) - max_lines} more", err=True)
    skipped = sum(report.skipped.values())
    reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(report.skipped.items()))
    line = f"{verb}: read {report.read}, indexed {report.indexed}, skipped {skipped}"
    if reasons:
        line += f" ({reasons})"
    line += f", replaced {report.replaced}"
    if report.indexed:
        line += f", undated {report.undated}"
        if report.groups:
            line += f", {report.grouped} in {report.groups} story groups"
        elif report.grouped:
            line += f", {report.grouped} joined story groups"
    if report.deleted or report.not_found:
        line += f", deleted {report.deleted}, not found {len(report.not_found)}"
    line += (
        f"; {report.seconds:.1f} s, {report.docs_per_second:.0f} docs/s, "
        f"index {_human_size(report.size_bytes)} ({report.generation})"
    )
    click.echo(line)


@click.group()
@click.version_option(package_name="baheth")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Baheth (باحث): full-text search for Arabic news."""
    try:
        ctx.obj = resolve()  # every setting, read and validated once, before anything starts
    except SettingError as exc:
        raise CliError(f"bad setting: {exc}") from None


@main.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@index_option
@backend_option
@shard_count_option
@_option("procs", "--procs")
@memory_option
@wait_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reindex(
    sources: tuple[Path, ...],
    index: Path | None,
    backend: str | None,
    shard_count: str | None,
    procs: str | None,
    memory_mb: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Build a new index from SOURCES (files, folders, archives; default seeds/) and switch to it atomically.

    Example: baheth reindex --backend xapian --shard-count 4 --index /srv/baheth corpus/
    """
    config = settings_for(index=index, backend=backend, shard_count=shard_count, procs=procs, memory_mb=memory_mb)
    paths = [str(p) for p in sources] or ["seeds"]
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise CliError(f"no such file or folder: {', '.join(missing)}; the live index was not changed")
    click.echo(_escaped(f"reading {', '.join(paths)} …"), err=True)
    loaded = load_sources(paths, limits(config))
    progress = Progress(len(loaded.documents), "indexing")
    try:
        report = open_writer(config).build(loaded, paths, progress=progress, wait=wait)
    except NothingToIndex as exc:
        progress.close()
        for problem in loaded.problems[:50]:
            click.echo(f"skipped: {_escaped(str(problem))}", err=True)
        raise CliError(str(exc)) from None
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc
    except KeyboardInterrupt:
        progress.close()
        raise CliError("interrupted: the previous index is still live") from None
    finally:
        progress.close()
    print_report(report, "reindex", as_json)
    if config.backend == "xapian":
        from search.backends.xapian import servers

        recorded = servers.recorded(Path(config.index))
        if recorded and len(recorded) != config.shard_count:  # they serve the old shard count's stubs
            click.echo(f"warning: {len(recorded)} shard servers run for this index, which now has "
                       f"{config.shard_count} shards: run `baheth shards start --index {config.index}` again", err=True)


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@backend_option
@memory_option
@wait_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def add(
    sources: tuple[Path, ...], index: Path | None, backend: str | None, memory_mb: int | None, wait: bool, as_json: bool
) -> None:
    """Add the documents in SOURCES to the live index; a known id replaces its document."""
    config = settings_for(index=index, backend=backend, memory_mb=memory_mb)
    missing = [str(p) for p in sources if not os.path.lexists(p)]
    if missing:
        raise CliError(f"no such file or folder: {', '.join(missing)}; the index was not changed")
    loaded = load_sources([str(p) for p in sources], limits(config))
    if not loaded.read:  # as reindex: sources with no document are a mistake worth an exit code
        what = "hold no readable files" if not loaded.files else f"hold no documents ({loaded.files} file(s) read)"
        raise CliError(f"nothing to add: the sources {what}; the index was not changed")
    progress = Progress(len(loaded.documents), "adding")
    try:
        report = open_writer(config).add(loaded, progress=progress, wait=wait)
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc
    finally:
        progress.close()
    print_report(report, "add", as_json)
    if report.read and report.indexed == 0:
        raise CliError("nothing could be added")


class _IdsCommand(click.Command):
    """A command whose arguments are document ids: an id that begins with «-» (an id the loaders accept)
    read as an unknown option is refused with the way to pass it, after «--»."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            typed = next((a for a in given if a.startswith(exc.option_name)), exc.option_name)
            if not typed.startswith("--"):  # a mistyped long option (--indx) is told only what it is
                exc.message += f" An id that begins with '-' goes after '--': baheth {self.name} -- {typed}"
            raise


@main.command(cls=_IdsCommand)
@click.argument("ids", nargs=-1, required=True)
@index_option
@backend_option
@wait_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def delete(ids: tuple[str, ...], index: Path | None, backend: str | None, wait: bool, as_json: bool) -> None:
    """Delete the documents with these IDS from the live index."""
    try:
        report = open_writer(settings_for(index=index, backend=backend)).delete(list(ids), wait=wait)
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc
    for doc_id in report.not_found:
        click.echo(f"not found: {_escaped(doc_id)}", err=True)
    print_report(report, "delete", as_json)
    if report.deleted == 0:
        raise CliError("no document was deleted")


class _OneLine(logging.Handler):
    """A log record as one line on the standard error of the moment; a failure logged with its
    traceback is left out: the command's own `Error:` line says what failed and what to do."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            return
        try:
            click.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)
        except Exception:  # noqa: BLE001 - logging must never fail the command
            self.handleError(record)


def _quiet_tracebacks() -> None:
    """The engine logs a failure to read the index with its traceback (a server's log wants it);
    on the command line the command's own one-line error says it."""
    logger = logging.getLogger("search")
    if not any(isinstance(h, _OneLine) for h in logger.handlers):
        logger.addHandler(_OneLine(logging.WARNING))


def _engine(config: Config) -> Engine:
    _quiet_tracebacks()
    try:
        engine = Engine(config=config)
        engine.snapshot()
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc
    return engine


# A query may open with an excluded word (-سوريا لبنان): an argument, not an option to refuse.
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=WholeNumber("limit", 1, 1000), help="How many results.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (the API's shape).")
@click.option(
    "--collapse/--no-collapse", default=True, show_default=True, help="One result per story group (a report's copies)."
)
@index_option
@backend_option
@shards_option
def search(
    query: str,
    limit: int,
    as_json: bool,
    collapse: bool,
    index: Path | None,
    backend: str | None,
    shards: str | None,
) -> None:
    """Search the index with QUERY (see the README for the query language).

    Example: baheth search '"الأمم المتحدة" -سوريا' --backend xapian --shards 10.0.0.5:7001,10.0.0.6:7001
    """
    engine = _engine(settings_for(index=index, backend=backend, shards=shards))
    try:
        result = engine.search(query, per_page=limit, facets=as_json, collapse=collapse)
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        from search.api import result_json

        click.echo(json.dumps(result_json(result), ensure_ascii=False, indent=2))
        return
    for notice in result.notices:
        click.echo(f"note: {notice}", err=True)
    click.echo(f"{result.total} results in {result.took_ms:.0f} ms")
    if result.suggestion:
        click.echo(f"هل تقصد: {result.suggestion}")
    color = sys.stdout.isatty()
    for rank, hit in enumerate(result.hits, start=1):
        title = _terminal_marks(hit.title_html, color)
        click.echo(f"\n{rank}. {title}  [{_plain(hit.id)}]")
        meta = " · ".join(x for x in (hit.source, hit.category, (hit.date or "")[:10], f"{hit.score:.2f}") if x)
        click.echo(f"   {_plain(meta)}")
        click.echo(f"   {_terminal_marks(hit.snippet, color)}")
        if hit.group and hit.group.size > 1:
            also = ", ".join(dict.fromkeys(m.source or m.id for m in hit.group.members if m.id != hit.id))
            click.echo(f"   also published: {_plain(also)} ({hit.group.size - 1} copies, story group {hit.group.id})")


def _terminal_marks(html_text: str, color: bool) -> str:
    """Show <mark> as bold colour on a terminal, as [[…]] elsewhere; unescape the rest, whose
    control characters are shown as U+FFFD (a stored title must not drive the terminal)."""
    import html as html_module

    on, off = ("\x1b[1;33m", "\x1b[0m") if color else ("[[", "]]")
    pieces = html_text.replace("</mark>", "<mark>").split("<mark>")
    return "".join(_plain(html_module.unescape(p)) + (on if n % 2 == 0 else off) * (n < len(pieces) - 1)
                   for n, p in enumerate(pieces))


def _plain(text: str) -> str:
    """Stored text for a terminal: control characters (escape sequences, bells, carriage returns)
    as U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" and ch != "\t" else ch for ch in text)


@main.command()
@click.argument("topics", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The TREC run to write.")
@click.option("--limit", default=100, show_default=True, type=WholeNumber("limit", 1, 1000), help="Results per topic.")
@click.option("--tag", default="baheth", show_default=True, help="The run's tag (last column; no spaces).")
@index_option
@backend_option
@shards_option
def batch(
    topics: Path, output: Path, limit: int, tag: str, index: Path | None, backend: str | None, shards: str | None
) -> None:
    """Run every `qid<TAB>query` line of TOPICS and write a TREC run to --output.

    Every line has exactly six columns: a document id with white space in it is
    written with that white space (and `%`) percent-encoded.
    """
    from search.runs import check_tag, read_topics, run_topics

    try:
        check_tag(tag)
        parsed_topics = read_topics(topics)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not output.parent.is_dir():
        raise CliError(f"cannot write {output}: the folder {output.parent} does not exist")
    engine = _engine(settings_for(index=index, backend=backend, shards=shards))
    try:
        lines = run_topics(engine, parsed_topics, limit=limit, tag=tag,
                           warn=lambda m: click.echo(f"warning: {_escaped(m)}", err=True))
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text("".join(lines), encoding="utf-8")
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(_escaped(f"batch: {len(parsed_topics)} topics, {len(lines)} lines written to {output}"), err=True)


@main.command()
@_option("host", "--host")
@_option("port", "--port")
@_option("workers", "--workers")
@_option("threads", "--threads")
@_option("connection_limit", "--connection-limit")
@_option("channel_timeout", "--channel-timeout")
@_option("public_url", "--public-url")
@index_option
@backend_option
@shards_option
def serve(
    host: str | None,
    port: str | None,
    workers: str | None,
    threads: str | None,
    connection_limit: str | None,
    channel_timeout: str | None,
    public_url: str | None,
    index: Path | None,
    backend: str | None,
    shards: str | None,
) -> None:
    """Serve the search page and the JSON API on a production WSGI server (waitress).

    Example: baheth serve --host 0.0.0.0 --port 8080 --public-url https://search.example.org
    """
    from webapp import create_app
    from webapp.serve import ServeError
    from webapp.serve import serve as run_server

    config = settings_for(
        index=index,
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        connection_limit=connection_limit,
        channel_timeout=channel_timeout,
        public_url=public_url,
        backend=backend,
        shards=shards,
    )
    try:
        app = create_app(config)
    except SettingError as exc:
        raise CliError(f"bad setting: {exc}") from None
    except IndexProblem as exc:
        raise CliError(str(exc)) from None
    served = f"shards: {config.shards}" if config.backend == "xapian" and config.shards else f"index: {config.index}"
    click.echo(_escaped(served), err=True)
    try:
        run_server(app, config)
    except ServeError as exc:
        raise CliError(str(exc)) from None


@main.group()
def shards() -> None:
    """Start or stop loopback xapian-tcpsrv servers for the shards of a local Xapian index."""


@shards.command("start")
@index_option
def shards_start(index: Path | None) -> None:
    """Start one xapian-tcpsrv per shard on free loopback ports; print host:port per line.

    Returns once every server answers. Example: baheth shards start --index /srv/baheth
    """
    from search.backends.xapian import servers

    config = settings_for(index=index)
    try:
        for address in servers.start(Path(config.index)):
            click.echo(address)
    except IndexProblem as exc:
        raise CliError(str(exc)) from exc


@shards.command("stop")
@index_option
def shards_stop(index: Path | None) -> None:
    """Stop the shard servers `baheth shards start` started for the index."""
    from search.backends.xapian import servers

    stopped = servers.stop(Path(settings_for(index=index).index))
    click.echo(f"stopped {stopped} shard server(s)", err=True)


@main.command()
@click.option("--markdown", is_flag=True, help="Print the README's settings table (defaults, not values in force).")
def settings(markdown: bool) -> None:
    """List every setting: name, environment variable, value in force, allowed values, help.

    Example: BAHETH_PER_PAGE=20 baheth settings
    """
    if markdown:
        click.echo(SETTINGS.markdown())
        return
    config = settings_for()
    for setting in SETTINGS:
        click.echo(f"{setting.name}\t{setting.env}\t{config[setting.name]}\t{setting.allowed()}\t{setting.help}")



if __name__ == "__main__":
    main()
