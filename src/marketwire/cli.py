"""The ``marketwire`` command line: subcommands by task, each a thin call into the facade."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from marketwire.errors import Ambiguous, InvalidInput, MarketwireError, MissingExtra, NotFound, SourceError
from marketwire.config import empty_hint, is_empty, resolve_home
from marketwire.errors import OutsideCoverage
from marketwire.output import is_terminal, price_header, render, to_json, to_json_line

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                      show_default=True, help="Output format.")
AS_OF = click.option("--as-of", "as_of", default=None, metavar="DATE", help="Point in time (YYYY-MM-DD).")

#: exit codes (documented in the README)
EXIT_ERROR, EXIT_AMBIGUOUS, EXIT_NOT_FOUND, EXIT_INVALID = 1, 2, 3, 4


def _exit_code(e: MarketwireError) -> int:
    if isinstance(e, Ambiguous):
        return EXIT_AMBIGUOUS
    if isinstance(e, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(e, InvalidInput):
        return EXIT_INVALID
    return EXIT_ERROR


def _run(ctx: click.Context, fn: Callable[[Any], Any], quick: Callable[[Any], Any] | None = None,
         **options: Any) -> Any:
    """``fn(platform)`` with errors said plainly; ``quick(home)`` first when given: an answer read without opening
    the platform, or None to open it."""
    try:
        if quick is not None:
            ans = quick(resolve_home(ctx.obj["home"]))
            if ans is not None:
                return ans
        import marketwire

        return _noting(lambda: fn(marketwire.open(ctx.obj["home"], scheduler=ctx.obj.get("scheduler"), **options)))
    except MarketwireError as e:
        if isinstance(e, Ambiguous) and ctx.obj.get("fmt") == "json":
            click.echo(to_json(e.fields.get("candidates", [])))
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        if isinstance(e, NotFound):
            _hint_if_empty(ctx)
        if isinstance(e, Ambiguous) and ctx.obj.get("fmt") != "json":
            for c in e.fields.get("candidates", []):
                click.echo(f"  candidate: {c.get('ticker')}@{c.get('mic')} {c.get('name')} "
                           f"listing={c.get('listing_id')} security={c.get('security_id')}", err=True)
        sys.exit(_exit_code(e))
    except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
        raise
    except Exception as e:  # a bug of ours: say so plainly, traceback only on request
        import os

        if os.environ.get("MARKETWIRE_DEBUG"):
            raise
        click.echo(f"error [internal]: {type(e).__name__}: {e} (set MARKETWIRE_DEBUG=1 for the traceback)",
                   err=True)
        sys.exit(EXIT_ERROR)


def _noting(call: Callable[[], Any]) -> Any:
    """Run ``call``; an answer outside what the lake covers (``OutsideCoverage``) is said on stderr as a note."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutsideCoverage)
        try:
            return call()
        finally:
            for w in caught:
                if isinstance(w.message, OutsideCoverage):
                    click.echo(f"note: {w.message.message}", err=True)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _hint_if_empty(ctx: click.Context) -> None:
    """After a "not found": say so when the lake is simply empty, and how to fill it."""
    home = resolve_home(ctx.obj.get("home"))
    if is_empty(home):
        click.echo(f"hint: {empty_hint(home)}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="MARKETWIRE_HOME", default=None, metavar="DIR",
              help="The lake folder (else $MARKETWIRE_HOME, else the nearest ./.marketwire folder here or above, "
                   "which `make run` builds, else a per-user folder).")
@click.option("--scheduler", envvar="MARKETWIRE_SCHEDULER", default=None, metavar="tcp://HOST:PORT",
              help="Run the partitioned work of bulk jobs (reading and parsing files, exports) on this Dask "
                   "scheduler's workers (else $MARKETWIRE_SCHEDULER, else threads in this process).")
@click.version_option(package_name="marketwire")
@click.pass_context
def main(ctx: click.Context, home: str | None, scheduler: str | None) -> None:
    """marketwire: point-in-time, verified market data on your own machine."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    ctx.obj["scheduler"] = scheduler


@main.command()
@click.argument("source")
@click.argument("paths", nargs=-1)
@click.option("--as-of", "as_of", default=None, metavar="T",
              help="Reference data: the snapshot date. Prices: the knowledge time (date or ISO timestamp; default now).")
@click.option("--no-rebuild", is_flag=True, help="Defer deriving the master to `marketwire rebuild`.")
@click.option("--preset", default=None, help="Price files: kaggle, zipline-csvdir, yfinance, quandl-wiki, stooq "
              "(default: recognised from the header).")
@click.option("--symbol", default=None, help="Price files: the listing of a single-listing file (SAN.PA, IBM@XNYS).")
@click.option("--basis", type=click.Choice(["raw", "split_adjusted", "adjusted"]), default=None,
              help="Price files: override the preset's price basis.")
@click.option("--mic", default=None, help="Price files: the venue (ISO 10383 MIC) of the file's listings.")
@click.option("--currency", default=None, help="Price files: the currency of the prices.")
@click.option("--allow-mass-delisting", "allow_mass_delisting", is_flag=True, default=None,
              help="Directories: apply a snapshot that would delist more than half of a venue's listings.")
@click.option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
              help="Price files: map a bar field (symbol, date, open, high, low, close, volume, adj_close, dividend, "
                   "split, capital_gain) to a header of the file; repeatable; with or without --preset.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Read and parse the files on this Dask scheduler's workers (overrides the global option).")
@FORMAT
@click.pass_context
def ingest(ctx: click.Context, source: str, paths: tuple[str, ...], as_of: str | None, no_rebuild: bool,
           preset: str | None, symbol: str | None, basis: str | None, mic: str | None, currency: str | None,
           columns: tuple[str, ...], scheduler: str | None, fmt: str, allow_mass_delisting: bool | None = None
           ) -> None:
    """Load files or folders through SOURCE (no PATH: the source's public URL).

    Prints accepted / flagged / quarantined counts. Re-running on the same files adds nothing.
    """
    bad = [c for c in columns if "=" not in c]
    if bad:
        raise click.UsageError(f"--column {bad[0]!r}: write FIELD=HEADER, e.g. --column close=Px")
    mapping = dict(c.split("=", 1) for c in columns) or None
    options = {k: v for k, v in {"preset": preset, "symbol": symbol, "basis": basis, "mic": mic,
                                 "currency": currency, "columns": mapping,
                                 "allow_mass_delisting": allow_mass_delisting or None}.items() if v is not None}
    from rich.progress import Progress

    ctx.obj["fmt"] = fmt
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"{source}", total=None)

        def progress(name: str, k: int, n: int) -> None:
            bar.update(task, total=n, completed=k, description=f"{source}: {name}")

        report = _run(ctx, lambda mw: mw.ingest(source, list(paths), as_of, progress, not no_rebuild,
                                                scheduler=scheduler, **options))
    d = report.to_dict()
    if fmt == "json":
        click.echo(to_json(d))
        return
    click.echo(f"{source}: {d['files']} file(s): accepted {d['accepted']}, flagged {d['flagged']}, "
               f"quarantined {d['quarantined']}, unchanged {d['unchanged']}"
               + (f", superseded {d['retracted']}" if d["retracted"] else "")
               + (f"; master flags {d['master_flags']}" if d["master_flags"] else ""))
    for o in report.outcomes():
        click.echo(f"  {o['outcome']} by {o['rule']}: {o['count']}")
    if d.get("disagreements"):
        click.echo(f"  disagreements with other sources recorded: {d['disagreements']}")
    if "review" in d:  # ESG sources: the entities the linker left for review
        click.echo(f"  linked {d['linked']}, waiting for review {d['review']} (marketwire esg review)")


@main.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Derive the master (issuers, securities, listings, identifiers, index membership)."""
    from rich.progress import Progress

    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("master", total=None)

        def progress(name: str, k: int, n: int) -> None:
            bar.update(task, total=n, completed=k, description=name)

        n = _run(ctx, lambda mw: mw.rebuild(progress), repair=False)  # opened as it is: the rebuild is the repair
    click.echo(f"master rebuilt; {n} flag record(s) added or retracted")


@main.command()
@click.option("--repair", is_flag=True, help="Remove duplicate records (as a new table version) and rebuild stale "
              "or damaged derived state.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_context
def check(ctx: click.Context, repair: bool, fmt: str) -> None:
    """Verify the home: tables readable, no duplicate keys, derived state (master, caches, search index) current
    with the lake. Exits 1 while a problem remains."""
    rep = _run(ctx, lambda mw: mw.check(repair=repair), repair=False)  # opened as it is, so that it can be seen
    if fmt == "json":
        click.echo(to_json(rep))
    else:
        for line in rep["repaired"]:
            click.echo(f"repaired: {line}")
        for line in rep["problems"]:
            click.echo(f"problem: {line}")
        m = rep["master"]
        click.echo(f"tables: {sum(t['error'] is None for t in rep['tables'])} readable of {len(rep['tables'])}, "
                   f"{sum(t['duplicates'] for t in rep['tables'])} duplicate record(s)")
        click.echo(f"master: {m['status']}" + (" (rebuild deferred)" if m["deferred"] else ""))
        click.echo("ok" if rep["ok"] else f"{len(rep['problems'])} problem(s)"
                   + ("" if repair else "; `marketwire check --repair` repairs what it can"))
    if not rep["ok"]:
        sys.exit(EXIT_ERROR)


_MATCH_COLS = ["listing_id", "security_id", "issuer_id", "ticker", "mic", "currency", "name", "type", "status",
               "flags"]


@main.command()
@click.argument("id")
@AS_OF
@FORMAT
@click.pass_context
def resolve(ctx: click.Context, id: str, as_of: str | None, fmt: str) -> None:
    """What ID named on a date: ticker, ticker@MIC, SAN.PA, ISIN, CUSIP, FIGI, CIK:n or our ids.

    Exit 0 for one match, 2 when ambiguous (candidates printed), 3 not found, 4 invalid identifier.
    """
    from marketwire.identity.point import quick_resolve  # a cold command reads the point index, if it is current

    ctx.obj["fmt"] = fmt
    render(_run(ctx, lambda mw: mw.resolve(id, as_of), quick=lambda home: quick_resolve(home, id, as_of)), fmt,
           None if fmt == "json" else _MATCH_COLS)


@main.command()
@click.argument("text")
@click.option("--limit", default=20, show_default=True)
@AS_OF
@FORMAT
@click.pass_context
def search(ctx: click.Context, text: str, limit: int, as_of: str | None, fmt: str) -> None:
    """Search by name (any name a listing ever had) or exact ticker."""
    render(_run(ctx, lambda mw: mw.search(text, limit, as_of)), fmt)


@main.command()
@click.argument("security_id")
@AS_OF
@FORMAT
@click.pass_context
def security(ctx: click.Context, security_id: str, as_of: str | None, fmt: str) -> None:
    """One security with its identifiers and listings: a security id or anything `resolve` takes (ISIN, ticker ...)."""
    render(_run(ctx, lambda mw: mw.security(security_id, as_of)), fmt)


@main.command()
@click.argument("listing_id")
@AS_OF
@FORMAT
@click.pass_context
def listing(ctx: click.Context, listing_id: str, as_of: str | None, fmt: str) -> None:
    """One listing with its security's identifiers: a listing id (a provisional one too) or anything `resolve`
    takes; a security's identifier gives its primary listing (the one on its home venue)."""
    render(_run(ctx, lambda mw: mw.listing(listing_id, as_of)), fmt)


@main.command()
@click.argument("index")
@AS_OF
@FORMAT
@click.pass_context
def members(ctx: click.Context, index: str, as_of: str | None, fmt: str) -> None:
    """Constituents of INDEX on a date, for example SP500."""
    render(_run(ctx, lambda mw: mw.members(index, as_of)), fmt,
           ["ticker", "listing_id", "name", "valid_from", "valid_to"])


@main.command()
@click.argument("id")
@FORMAT
@click.pass_context
def merges(ctx: click.Context, id: str, fmt: str) -> None:
    """Join decisions about a listing: provisional listings joined into it (or refused), with the evidence."""
    rows = _run(ctx, lambda mw: mw.merges(id))
    if fmt == "json":
        click.echo(to_json(rows))
    else:
        render([{**r, "evidence": None} for r in rows], fmt,
               ["old_id", "new_id", "action", "direction", "reason", "decided_at"])


@main.command()
@click.argument("listing_id")
@click.pass_context
def unmerge(ctx: click.Context, listing_id: str) -> None:
    """Reverse the join of LISTING_ID into another listing (it is not joined to that listing again)."""
    r = _run(ctx, lambda mw: mw.unmerge(listing_id))
    click.echo(f"{r['old_id']} no longer stands for {r['new_id']}")


@main.command()
@click.option("--source", default=None)
@click.option("--rule", default=None)
@click.option("--dataset", default=None, help="e.g. bars_daily, corporate_actions, ref_observations")
@click.option("--limit", default=None, type=int)
@FORMAT
@click.pass_context
def quarantine(ctx: click.Context, source: str | None, rule: str | None, dataset: str | None, limit: int | None,
               fmt: str) -> None:
    """Refused records with source, rule, field, raw value, file and line."""
    render(_run(ctx, lambda mw: mw.quarantine(source, rule, limit, dataset)), fmt,
           ["source", "dataset", "rule", "field", "value", "message", "file", "line", "raw"])


PRICE_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet", "arrow"]),
                            default="table", show_default=True,
                            help="Output format (parquet and arrow need --output).")


@main.command()
@click.argument("id")
@click.option("--start", default=None, metavar="DATE")
@click.option("--end", default=None, metavar="DATE")
@click.option("--adjust", type=click.Choice(["none", "splits", "total_return"]), default="none", show_default=True)
@click.option("--convention", type=click.Choice(["prev_close", "ex_close"]), default="prev_close", show_default=True,
              help="Dividend adjustment: CRSP (1 - D/previous close) or Quandl WIKI (ex close/(ex close + D)).")
@click.option("--as-of", "as_of", default=None, metavar="T", help="What was known then (date or ISO timestamp).")
@click.option("--currency", default=None, help="Convert with the ECB rate of each date (e.g. EUR).")
@click.option("--flags", "with_flags", is_flag=True, help="Add the flags column (rule codes).")
@click.option("--factors", is_flag=True, help="Add the price and volume adjustment factors.")
@click.option("--source", default=None, help="A source other than the listing's primary one.")
@click.option("--output", "-o", default=None, metavar="FILE", help="Write to FILE instead of stdout.")
@click.option("--provenance", is_flag=True, help="Add the source and basis columns (the series' source and the "
              "basis it is stored on). On a terminal a header line on stderr says the same.")
@PRICE_FORMAT
@click.pass_context
def prices(ctx: click.Context, id: str, start: str | None, end: str | None, adjust: str, convention: str,
           as_of: str | None, currency: str | None, with_flags: bool, factors: bool, source: str | None,
           output: str | None, provenance: bool, fmt: str) -> None:
    """Daily bars of one listing (ticker, ticker@MIC, SAN.PA, ISIN, MW id...), adjusted on read.

    On a terminal, a header line on stderr names the listing, the source and the basis the bars are stored on
    (Kaggle files are stored adjusted: --adjust none returns adjusted prices); --provenance adds them as columns."""
    import polars as pl

    t = _run(ctx, lambda mw: mw.prices(id, start=start, end=end, adjust=adjust, as_of=as_of, currency=currency,
                                       flags=with_flags, source=source, factors=factors, convention=convention,
                                       output="arrow"))
    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    df = pl.from_arrow(t.replace_schema_metadata(None))
    if provenance:
        df = df.with_columns(pl.lit(meta.get("source") or None, pl.Utf8).alias("source"),
                             pl.lit(meta.get("basis") or "raw").alias("basis"))
    if is_terminal(sys.stderr):
        click.echo(price_header(id, meta), err=True)
    _write_frame(df, fmt, output)


def _write_frame(df: Any, fmt: str, output: str | None) -> None:
    if fmt in ("parquet", "arrow") and not output:
        raise click.UsageError(f"--format {fmt} writes a file: add --output FILE")
    if fmt == "parquet":
        df.write_parquet(output)
    elif fmt == "arrow":
        df.write_ipc(output)
    elif fmt == "csv":
        text = df.write_csv()
        if output:
            with open(output, "w") as fh:
                fh.write(text)
        else:
            click.echo(text, nl=False)
    elif fmt == "json":
        text = to_json(df.to_dicts())
        if output:
            with open(output, "w") as fh:
                fh.write(text)
        else:
            click.echo(text)
    else:
        rows = df.to_dicts()
        if len(rows) > 40 and is_terminal():  # piped: every row (plain columns)
            render(rows[:20] + [{c: "..." for c in df.columns}] + rows[-20:], "table",
                   title=f"{len(rows)} rows (use --format csv for all)")
        else:
            render(rows, "table")


@main.command()
@click.argument("id")
@AS_OF
@FORMAT
@click.pass_context
def actions(ctx: click.Context, id: str, as_of: str | None, fmt: str) -> None:
    """The corporate-action ledger of one listing: splits, dividends, capital gains, with source and flags."""
    render(_run(ctx, lambda mw: mw.actions(id, as_of)), fmt,
           ["ex_date", "type", "value", "currency", "basis", "flags", "source", "file", "line"])


@main.command()
@click.argument("id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="json", show_default=True)
@click.pass_context
def quality(ctx: click.Context, id: str, fmt: str) -> None:
    """Quality report and score of one listing's daily series (per source)."""
    rep = _run(ctx, lambda mw: mw.quality(id))
    if fmt == "json":
        click.echo(to_json(rep))
    else:
        render(rep["sources"], "table", ["source", "basis", "rows", "first", "last", "sessions_missing", "flagged",
                                         "quarantined", "clean", "accepted", "coverage", "score"],
               title=f"{rep['listing_id']} score {rep['score']}")


@main.command("disagreements")
@click.argument("id")
@FORMAT
@click.pass_context
def disagreements_cmd(ctx: click.Context, id: str, fmt: str) -> None:
    """Dates where two sources disagree on one listing's close."""
    render(_run(ctx, lambda mw: mw.disagreements(id)), fmt,
           ["date", "field", "source_a", "value_a", "basis_a", "source_b", "value_b", "basis_b", "compared",
            "rel_diff"])


@main.command()
@click.argument("base")
@click.argument("quote")
@click.option("--start", default=None, metavar="DATE")
@click.option("--end", default=None, metavar="DATE")
@click.option("--output", "-o", default=None, metavar="FILE")
@PRICE_FORMAT
@click.pass_context
def fx(ctx: click.Context, base: str, quote: str, start: str | None, end: str | None, output: str | None,
       fmt: str) -> None:
    """Reference rate BASE/QUOTE per date (ECB rates, crossed through EUR): units of QUOTE per BASE."""
    _write_frame(_run(ctx, lambda mw: mw.fx(base, quote, start, end)), fmt, output)


@main.command("export")
@click.argument("ids", nargs=-1)
@click.option("--output", "-o", required=True, metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["parquet", "arrow"]), default="parquet", show_default=True)
@click.option("--adjust", type=click.Choice(["none", "splits", "total_return"]), default="none", show_default=True)
@click.option("--start", default=None, metavar="DATE")
@click.option("--end", default=None, metavar="DATE")
@click.pass_context
def export_cmd(ctx: click.Context, ids: tuple[str, ...], output: str, fmt: str, adjust: str, start: str | None,
               end: str | None) -> None:
    """Bulk bars of many listings (default: all with prices) into one Parquet or Arrow IPC file."""
    from rich.progress import Progress

    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:  # on a terminal only
        task = bar.add_task("export", total=None)

        def progress(name: str, k: int, n: int) -> None:
            bar.update(task, total=n, completed=k, description=f"{name}: {k}/{n} listings")

        rep = _run(ctx, lambda mw: mw.export_prices(list(ids) or None, output, fmt, adjust, start, end, progress))
    click.echo(f"wrote {rep['rows']} bars of {rep['listings']} listing(s) to {rep['path']} ({rep['format']})")


@main.command()
@click.option("--rule", default=None)
@click.option("--summary", is_flag=True, help="Counts per rule only.")
@FORMAT
@click.pass_context
def flags(ctx: click.Context, rule: str | None, summary: bool, fmt: str) -> None:
    """Records stored but flagged by a consistency rule."""
    if summary:
        counts = _run(ctx, lambda mw: mw.flag_counts())
        render([{"rule": k, "count": v} for k, v in counts.items()], fmt)
    else:
        render(_run(ctx, lambda mw: mw.flags(rule)), fmt)


@main.command()
@FORMAT
@click.pass_context
def rules(ctx: click.Context, fmt: str) -> None:
    """Every verification rule: code, severity, dataset, description."""
    render([r.__dict__ for r in _run(ctx, lambda mw: mw.rules())], fmt)


@main.command()
@FORMAT
@click.pass_context
def sources(ctx: click.Context, fmt: str) -> None:
    """Registered sources, with the error of any that fails to load."""
    render(_run(ctx, lambda mw: mw.sources()), fmt, ["name", "dataset", "url", "description", "error"])


@main.command()
@FORMAT
@click.pass_context
def plugins(ctx: click.Context, fmt: str) -> None:
    """Installed plugins (entry point group marketwire.plugins): what each added, or why it failed to load."""
    render(_run(ctx, lambda mw: mw.plugins()), fmt, ["name", "target", "added", "error"])


@main.command("datasets")
@FORMAT
@click.pass_context
def datasets_cmd(ctx: click.Context, fmt: str) -> None:
    """Every declared dataset: key, write mode, partitioning, description."""
    render(_run(ctx, lambda mw: mw.datasets()), fmt)


@main.command("dataset")
@click.argument("name")
@click.option("--as-of", "as_of", default=None, metavar="T", help="What was known then (date or ISO time).")
@click.option("--where", "where", multiple=True, metavar="COLUMN=VALUE", help="Equality filter; repeatable.")
@click.option("--limit", default=None, type=click.IntRange(min=1))
@FORMAT
@click.pass_context
def dataset_cmd(ctx: click.Context, name: str, as_of: str | None, where: tuple[str, ...], limit: int | None,
                fmt: str) -> None:
    """The records of any dataset (a plugin's too), latest version per key, as known at --as-of."""
    bad = [w for w in where if "=" not in w]
    if bad:
        raise click.UsageError(f"--where {bad[0]!r}: write COLUMN=VALUE")
    filters = dict(w.split("=", 1) for w in where)
    ctx.obj["fmt"] = fmt
    render(_run(ctx, lambda mw: mw.dataset(name, as_of=as_of, where=filters, limit=limit)), fmt)


@main.command()
@FORMAT
@click.pass_context
def health(ctx: click.Context, fmt: str) -> None:
    """Counts of what the lake holds."""
    render(_run(ctx, lambda mw: mw.health()), fmt)


@main.group()
def news() -> None:
    """The news wire: add articles, poll feeds, search articles and stories.

    \b
    add      put HTML pages, text files or folders of them through the pipeline
    feeds    register feeds (URLs, OPML files) and list them
    poll     poll the feeds that are due and read their new articles
    list     search articles: text, language, country, listing, entity, source, topic, time
    stories  the same filters, articles grouped by story
    show     one article as JSON
    story    one story as JSON
    export   every article, one JSON object a line

    Example: marketwire news add ./articles && marketwire news list --q "banque centrale" --lang fr
    """


@news.command("add")
@click.argument("targets", nargs=-1, required=True, metavar="PATH...")
@click.option("--source", default=None, help="The publisher or outlet (default: the file's folder name).")
@click.option("--published", default=None, metavar="T",
              help="Publication time, when the page does not state it (YYYY-MM-DD or an ISO 8601 time).")
@FORMAT
@click.pass_context
def news_add(ctx: click.Context, targets: tuple[str, ...], source: str | None, published: str | None,
             fmt: str) -> None:
    """Add articles from HTML pages, text files (first line the title, the rest the body) or folders of them;
    prints the id of each article.

    A folder is read recursively: its .html, .htm, .xhtml, .txt, .text and .md files; any other file is named on
    stderr as skipped. A file that gives no article (empty, not text, nothing left after extraction) is
    quarantined: it is named on stderr with the rule, and listed by `marketwire quarantine --dataset
    news_articles`. On a terminal a progress bar shows the files read.

    \b
    Example: marketwire news add story.txt page.html ./saved-pages --source "Le Monde"
    """
    ctx.obj["fmt"] = fmt
    rows = _news_add_by_server(ctx, targets, source, published)
    if rows is None:  # no server runs for this lake: the work is done here
        from rich.progress import Progress

        with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("news add", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, total=total, completed=done, description=f"news add: {done}/{total} files")

            added = _run(ctx, lambda mw: mw.news.add(list(targets), source=source, published=published,
                                                     progress=progress))
        rows = [{**a.to_dict(), "rule": a.rule, "reason": a.reason} for a in added]
    shown = [a for a in rows if a["status"] != "skipped"]
    if fmt == "table":
        for a in shown:
            if a["article_id"]:
                click.echo(a["article_id"])
    else:
        render([{k: a[k] for k in ("article_id", "url", "status", "duplicate_of", "language", "story_id")}
                for a in shown], fmt, ["article_id", "url", "status", "language", "duplicate_of"])
    for a in rows:
        if a["status"] == "quarantined":
            click.echo(f"quarantined [{a['rule']}]: {a['url']}: {a['reason']}", err=True)
        elif a["status"] == "skipped":
            click.echo(f"skipped: {a['url']}: {a['reason']}", err=True)


def _news_add_by_server(ctx: click.Context, targets: tuple[str, ...], source: str | None,
                        published: str | None) -> list[dict[str, Any]] | None:
    """``news add`` done by the server running for this lake (serve/local.py), which has the models loaded: its
    answer rows, or None when no server runs for it (or it cannot be reached)."""
    import os

    from marketwire.serve import local

    if os.environ.get("MARKETWIRE_NO_SERVER"):
        return None
    found = local.find(resolve_home(ctx.obj["home"]))
    if found is None:
        return None
    paths = [os.path.abspath(t) for t in targets]
    got = local.post(*found, "/v1/local/news/files", {"paths": paths, "source": source, "published": published})
    if got is None:
        return None
    status, answer = got
    if status == 200 and isinstance(answer, dict) and isinstance(answer.get("data"), list):
        return list(answer["data"])
    err = answer.get("error", {}) if isinstance(answer, dict) else {}
    if status == 403:  # not this run's token (the server was restarted meanwhile): do it here
        return None
    click.echo(f"error [{err.get('code', 'error')}]: {err.get('message', f'the server answered {status}')}", err=True)
    sys.exit({404: EXIT_NOT_FOUND, 400: EXIT_INVALID, 422: EXIT_INVALID}.get(status, EXIT_ERROR))


@news.command("show")
@click.argument("id")
@click.option("--as-of", "as_of", default=None, metavar="T", help="The version the wire knew at T.")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.pass_context
def news_show(ctx: click.Context, id: str, as_of: str | None, fmt: str) -> None:
    """One article as JSON: id, url, source, title, body, language, published, bullets, entities, topics,
    story_id, duplicate_of.

    \b
    Example: marketwire news show MWAOTORGKFH27IUGUQ3 --as-of 2025-06-01
    """
    click.echo(to_json(_run(ctx, lambda mw: mw.news.show(id, as_of=as_of).to_dict())))


@news.command("export")
@click.option("--as-of", "as_of", default=None, metavar="T", help="Every article as the wire knew it at T.")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.pass_context
def news_export(ctx: click.Context, as_of: str | None, fmt: str) -> None:
    """Every article, one JSON object a line (the fields of `news show`).

    \b
    Example: marketwire news export --as-of 2025-06-01 > wire.jsonl
    """
    import json as _json

    for a in _run(ctx, lambda mw: list(mw.news.export(as_of=as_of))):
        click.echo(_json.dumps(a.to_dict(), ensure_ascii=False))


def _news_filters(f: Any) -> Any:
    for opt in reversed([
        click.option("--q", "q", default=None, help='Words (or "quoted phrases") that must all occur, accents ignored.'),
        click.option("--lang", default=None, help="ISO 639-1 language code."),
        click.option("--country", default=None, help="ISO 3166 alpha-2 code of a linked country."),
        click.option("--listing", default=None,
                     help="Any id of an instrument (listing, security or issuer id, ticker, ISIN ...): articles linked "
                          "to its issuer, its security or any of its listings."),
        click.option("--entity", default=None, help="A link key (person:vladimir-putin) or words of an entity's name."),
        click.option("--source", default=None, help="The outlet."),
        click.option("--topic", default=None, help="A topic code (see docs/news.md)."),
        click.option("--since", default=None, metavar="T",
                     help="Published at or after T (YYYY-MM-DD: from the start of that day, UTC; or an ISO time)."),
        click.option("--until", default=None, metavar="T",
                     help="Published at or before T (YYYY-MM-DD: the whole day included; or an ISO time)."),
        click.option("--as-of", "as_of", default=None, metavar="T", help="What the wire knew at T."),
        click.option("--limit", default=None, type=int),
    ]):
        f = opt(f)
    return f


def _news_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    """The filters as the news service takes them (it parses the times and resolves --listing)."""
    return dict(kw)


@news.command("list")
@_news_filters
@click.option("--unique", is_flag=True, help="Leave out duplicates (copies of an earlier article).")
@FORMAT
@click.pass_context
def news_list(ctx: click.Context, fmt: str, **kw: Any) -> None:
    """Search articles, newest first (best match first with --q), filtered by text, language, country, listing,
    entity, source, topic and time.

    \b
    Example: marketwire news list --q "taux directeur" --lang fr --since 2025-01-01 --listing SAN.PA
    """
    render(_run(ctx, lambda mw: [a.to_dict() for a in mw.news.list(**_news_kwargs(kw))]), fmt,
           None if fmt == "json" else ["id", "published", "language", "source", "headline", "story_id", "duplicate_of"])


@news.command("stories")
@_news_filters
@FORMAT
@click.pass_context
def news_stories(ctx: click.Context, fmt: str, **kw: Any) -> None:
    """Stories: articles about one event grouped across outlets and languages, newest first; the same filters
    as `news list`.

    \b
    Example: marketwire news stories --country IR --since 2025-06-01
    """
    render(_run(ctx, lambda mw: [s.to_dict() for s in mw.news.stories(**_news_kwargs(kw))]), fmt,
           None if fmt == "json" else ["story_id", "last_published", "articles", "languages", "countries", "headline"])


@news.command("story")
@click.argument("id")
@click.option("--as-of", "as_of", default=None, metavar="T", help="The story as the wire knew it at T.")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.pass_context
def news_story(ctx: click.Context, id: str, as_of: str | None, fmt: str) -> None:
    """One story as JSON: its first report's headline and bullets, its articles, languages, sources and linked
    entities.

    \b
    Example: marketwire news story MWT5Q2K7ZP4M3XJ9A
    """
    click.echo(to_json(_run(ctx, lambda mw: mw.news.story(id, as_of=as_of).to_dict())))


@news.group("feeds")
def news_feeds() -> None:
    """The feeds registry: add feeds, list them with their polling state.

    \b
    Example: marketwire news feeds add https://www.lemonde.fr/rss/une.xml && marketwire news feeds list
    """


@news_feeds.command("add")
@click.argument("targets", nargs=-1, required=True)
@FORMAT
@click.pass_context
def news_feeds_add(ctx: click.Context, targets: tuple[str, ...], fmt: str) -> None:
    """Register feeds: URLs, or OPML files (every xmlUrl outline). Adding a feed twice changes nothing.

    \b
    Example: marketwire news feeds add https://www.lemonde.fr/rss/une.xml subscriptions.opml
    """
    ctx.obj["fmt"] = fmt
    render(_run(ctx, lambda mw: [f.to_dict() for f in mw.news.feeds_add(list(targets))]), fmt, ["feed_id", "from"])


@news_feeds.command("list")
@FORMAT
@click.pass_context
def news_feeds_list(ctx: click.Context, fmt: str) -> None:
    """Registered feeds with their polling state (last status, failures, next poll).

    \b
    Example: marketwire news feeds list --format json
    """
    render(_run(ctx, lambda mw: [f.__dict__ for f in mw.news.feeds()]), fmt)


@news.command("poll")
@click.option("--once", is_flag=True, help="One cycle over the feeds that are due, then exit. Without it the poller "
                                          "runs until interrupted, sleeping until the next feed falls due.")
@click.option("--cycles", default=None, type=click.IntRange(min=1),
              help="Without --once: stop after this many cycles.")
@click.option("--max-sleep", default=900.0, show_default=True, type=click.FloatRange(min=1.0),
              help="Without --once: the longest wait between cycles, in seconds.")
@click.option("--limit", default=None, type=int, help="At most this many feeds per cycle.")
@click.option("--articles/--no-articles", default=True, show_default=True,
              help="Also fetch the page of every new item and put it through the article pipeline.")
@click.option("--allow", "allow", multiple=True, metavar="NET|HOST[:PORT]",
              help="Let the fetcher reach this private network or host name (an intranet feed server, say): "
                   "10.0.0.0/8, feeds.intranet, 127.0.0.1:8080. Repeatable. Without it only public addresses.")
@FORMAT
@click.pass_context
def news_poll(ctx: click.Context, once: bool, cycles: int | None, max_sleep: float, limit: int | None,
              articles: bool, allow: tuple[str, ...], fmt: str) -> None:
    """Poll the feeds that are due: conditional GET, parse, store new items; then fetch, extract, link and
    summarise their articles. A status per feed and per article. With --once one cycle; otherwise one report per
    cycle (a JSON line each with --format json) until interrupted (Ctrl-C, SIGTERM) or --cycles.

    \b
    Example: marketwire news poll --once --limit 50
    """
    import signal
    import threading

    def show(rep: dict) -> None:
        if fmt == "json":
            click.echo(to_json(rep) if once else to_json_line(rep))
        else:
            render([rep], fmt)

    if once:
        show(_run(ctx, lambda mw: mw.news.poll_once(limit, articles=articles, allow=allow)))
        return
    stop = threading.Event()
    main_thread = threading.current_thread() is threading.main_thread()
    # the handler only starts a thread: Event.set() takes a lock the interrupted wait may hold
    previous = signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop.set).start()) \
        if main_thread else None
    try:
        _run(ctx, lambda mw: mw.news.poll_forever(limit, articles=articles, allow=allow, cycles=cycles, stop=stop,
                                                  on_cycle=show, max_sleep=max_sleep))
    except KeyboardInterrupt:
        stop.set()
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--require-keys", is_flag=True, help="Require an API key on loopback too (always required on any "
              "other address).")
@click.option("--insecure", is_flag=True, help="On a non-loopback address, serve without keys (prints what that "
              "exposes).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Also answer requests whose Host header is NAME (default: loopback names and --host); "
                   "repeatable; * for any.")
@click.option("--rate-limit", "rate_limit", default="600/60", show_default=True, metavar="N/SECONDS",
              help="Requests per key per window (a key's own limit wins); 0 for none.")
@click.option("--rate-store", "rate_store", default=None, metavar="redis://HOST:PORT/DB",
              help="Count rate limits in this Redis, shared by every server process using it (default: in this "
                   "process).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, require_keys: bool, insecure: bool,
          allowed_hosts: tuple[str, ...], rate_limit: str, rate_store: str | None) -> None:
    """Serve REST /v1 (OpenAPI at /docs) over the lake. See docs/security.md for keys and the serve modes."""
    try:
        import uvicorn

        from marketwire.serve.api import create_app
    except ImportError as e:  # pragma: no cover - depends on the install
        raise click.ClickException(MissingExtra("serve", e.name or "fastapi").message) from e
    from marketwire.serve.access import serve_policy
    from marketwire.serve.keys import parse_rate

    try:
        rate = None if rate_limit.strip() in ("0", "none") else parse_rate(rate_limit, "rate-limit")
        policy, notes = serve_policy(ctx.obj["home"], host, require_keys=require_keys,
                                     insecure=insecure, allowed_hosts=allowed_hosts, rate_limit=rate)
    except MarketwireError as e:
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        sys.exit(_exit_code(e))
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    import dataclasses

    import marketwire
    from marketwire.serve import local
    from marketwire.serve.access import is_loopback

    home = marketwire.open(ctx.obj["home"]).home
    # commands of this user on this machine hand their work to this server (serve/local.py); the run file goes when
    # the server shuts down (uvicorn ends a SIGTERM'd process right after its shutdown handlers)
    token = local.publish(home, f"http://127.0.0.1:{port}") if port and (is_loopback(host) or host == "0.0.0.0") \
        else None
    try:
        app = create_app(home, dataclasses.replace(policy, local_token=token, rate_store=rate_store))
    except MarketwireError as e:
        if token is not None:
            local.withdraw(home, token)
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        sys.exit(_exit_code(e))
    if token is not None:
        app.router.on_shutdown.append(lambda: local.withdraw(home, token))
    from marketwire.serve.api_stream import settle_heap

    app.router.on_startup.append(settle_heap)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if token is not None:
            local.withdraw(home, token)


@main.group()
def keys() -> None:
    """API keys of the REST server: create (shown once), list, revoke. See docs/security.md."""


@keys.command("create")
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE",
              help="read, ingest or admin (admin includes the others and sees local file paths); repeatable or "
                   "comma-separated; default read.")
@click.option("--datasets", "datasets", multiple=True, metavar="NAMES",
              help="Datasets the key may see: names (bars_daily,news_articles), groups (reference, prices, news) "
                   "or * (default: all); repeatable or comma-separated.")
@click.option("--expires", default=None, metavar="WHEN",
              help="30d, 12h, 90m, 2w from now; a date (valid through that day, UTC); an ISO time; default never.")
@click.option("--name", default=None, help="A label for the key (who or what uses it).")
@click.option("--rate-limit", "rate_limit", default=None, metavar="N/SECONDS",
              help="This key's own rate limit (default: the server's).")
@FORMAT
@click.pass_context
def keys_create(ctx: click.Context, scopes: tuple[str, ...], datasets: tuple[str, ...], expires: str | None,
                name: str | None, rate_limit: str | None, fmt: str) -> None:
    """Create a key and print it once: only its hash is kept."""
    from marketwire.serve.keys import KeyStore

    try:
        token, key = KeyStore(ctx.obj["home"]).create(scopes=scopes, datasets=datasets,
                                                                    expires=expires, name=name,
                                                                    rate_limit=rate_limit)
    except MarketwireError as e:
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        sys.exit(_exit_code(e))
    out = {"key": token, **key.to_dict()}
    if fmt == "json":
        click.echo(to_json(out))
        return
    out.update(scopes=",".join(key.scopes), datasets=",".join(key.datasets))
    render([out], fmt, ["id", "key", "scopes", "datasets", "expires", "rate_limit", "name"])
    if fmt == "table":
        click.echo("Store the key now: it is not shown again.", err=True)


@keys.command("list")
@FORMAT
@click.pass_context
def keys_list(ctx: click.Context, fmt: str) -> None:
    """Every key: id, name, scopes, datasets, created, expires, status (never the secret)."""
    from marketwire.serve.keys import KeyStore

    store = KeyStore(ctx.obj["home"])
    rows = [k.to_dict() for k in store.list()] if store.exists() else []
    if fmt != "json":
        rows = [{**r, "scopes": ",".join(r["scopes"]), "datasets": ",".join(r["datasets"])} for r in rows]
    render(rows, fmt, None if fmt == "json" else ["id", "name", "scopes", "datasets", "status", "created", "expires",
                                                  "rate_limit"])


@keys.command("revoke")
@click.argument("key_id", metavar="ID")
@FORMAT
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str, fmt: str) -> None:
    """Revoke key ID: every server refuses it from its next request on."""
    from marketwire.serve.keys import KeyStore

    try:
        key = KeyStore(ctx.obj["home"]).revoke(key_id)
    except MarketwireError as e:
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        sys.exit(_exit_code(e))
    if fmt == "json":
        click.echo(to_json(key.to_dict()))
    else:
        click.echo(f"revoked {key.id} at {key.revoked}")


@main.command()
@click.option("--key", "key_id", default=None, metavar="ID", help="One key only (local: requests without a key).")
@click.option("--since", default=None, metavar="DATE", help="From this UTC day.")
@click.option("--until", default=None, metavar="DATE", help="Through this UTC day.")
@click.option("--by-day", is_flag=True, help="One row per day.")
@FORMAT
@click.pass_context
def usage(ctx: click.Context, key_id: str | None, since: str | None, until: str | None, by_day: bool,
          fmt: str) -> None:
    """REST usage per key and dataset: requests, errors, rows and bytes answered (dataset - : none, e.g. health)."""
    from marketwire.serve.keys import KeyStore

    try:
        rows = KeyStore(ctx.obj["home"]).usage(key_id, since, until, by_day)
    except MarketwireError as e:
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        sys.exit(_exit_code(e))
    render(rows, fmt)


# -- fundamentals and estimates --
def _frame_rows(df: Any) -> list[dict[str, Any]]:
    """Rows of a frame for the renderers: dates as ISO text, whole floats as integers."""
    from datetime import date as _date

    out = []
    for r in df.to_dicts():
        for k, v in r.items():
            if isinstance(v, float) and v.is_integer() and abs(v) < 1e18:
                r[k] = int(v)
            elif isinstance(v, _date):
                r[k] = v.isoformat()
        out.append(r)
    return out


@main.group()
def fundamentals() -> None:
    """Company fundamentals from SEC filings: facts as reported (point in time), statements, ratios."""


@fundamentals.command("facts")
@click.argument("id")
@click.option("--tag", default=None, help="An XBRL tag, e.g. EarningsPerShareDiluted.")
@click.option("--fy", type=int, default=None, help="Fiscal year of the period (not of the filing).")
@AS_OF
@click.option("--all-versions", "all_versions", is_flag=True, help="Every version filed (restatements too).")
@click.option("--first-reported", "first_reported", is_flag=True, help="The first value reported, not the latest.")
@FORMAT
@click.pass_context
def fundamentals_facts(ctx: click.Context, id: str, tag: str | None, fy: int | None, as_of: str | None,
                       all_versions: bool, first_reported: bool, fmt: str) -> None:
    """Facts of ID as reported: per tag and period the latest value filed at or before --as-of (default now)."""
    ctx.obj["fmt"] = fmt
    df = _run(ctx, lambda mw: mw.fundamentals.facts(id, tag=tag, fy=fy, as_of=as_of, all_versions=all_versions,
                                                    first_reported=first_reported))
    render(_frame_rows(df), fmt, columns=df.columns)


@fundamentals.command("statement")
@click.argument("id")
@click.option("--statement", "statement", type=click.Choice(["income", "balance", "cash_flow"]), default="income",
              show_default=True)
@click.option("--period", type=click.Choice(["annual", "quarter", "ttm"]), default="annual", show_default=True)
@AS_OF
@click.option("--adjust", type=click.Choice(["none", "splits"]), default="none", show_default=True)
@FORMAT
@click.pass_context
def fundamentals_statement(ctx: click.Context, id: str, statement: str, period: str, as_of: str | None, adjust: str,
                           fmt: str) -> None:
    """A standardised statement of ID in long form (line_item, period_end, value, unit ...)."""
    ctx.obj["fmt"] = fmt
    df = _run(ctx, lambda mw: mw.fundamentals.statement(id, statement, period=period, as_of=as_of, adjust=adjust))
    df = df.drop("unit_kind")
    render(_frame_rows(df), fmt, columns=df.columns)


@fundamentals.command("ratios")
@click.argument("id")
@click.option("--date", "day", default=None, metavar="DATE", help="The date (default today).")
@FORMAT
@click.pass_context
def fundamentals_ratios(ctx: click.Context, id: str, day: str | None, fmt: str) -> None:
    """Market cap, P/E (TTM), P/B, EV/EBITDA and dividend yield of ID on a date, with no look-ahead."""
    ctx.obj["fmt"] = fmt
    render(_run(ctx, lambda mw: mw.fundamentals.ratios(id, day)), fmt)


@fundamentals.command("filings")
@click.argument("id")
@click.option("--form", default=None, help="e.g. 10-K, 10-Q, 10-K/A")
@AS_OF
@FORMAT
@click.pass_context
def fundamentals_filings(ctx: click.Context, id: str, form: str | None, as_of: str | None, fmt: str) -> None:
    """The filings index of ID (from sec-submissions), newest first."""
    ctx.obj["fmt"] = fmt
    df = _run(ctx, lambda mw: mw.fundamentals.filings(id, form=form, as_of=as_of))
    render(_frame_rows(df), fmt, columns=df.columns)


@fundamentals.command("crosscheck")
@click.argument("id")
@click.option("--accession", default=None, help="A filing whose Financial Statement Data Sets are stored.")
@click.option("--instance", default=None, metavar="PATH", help="An XBRL instance document of one of ID's filings.")
@FORMAT
@click.pass_context
def fundamentals_crosscheck(ctx: click.Context, id: str, accession: str | None, instance: str | None,
                            fmt: str) -> None:
    """Compare ID's company facts of one filing with its instance document and/or its Financial Statement Data Sets
    numbers: shared facts, agreements, and every disagreement."""
    ctx.obj["fmt"] = fmt
    out = _run(ctx, lambda mw: mw.fundamentals.crosscheck(id, accession=accession, instance=instance))
    if fmt == "json":
        render(out, fmt)
        return
    rows = []
    for c in out["checks"]:
        rows.append({k: v for k, v in c.items() if k != "disagreements"})
    render(rows, fmt)
    for c in out["checks"]:
        for d in c["disagreements"]:
            click.echo(f"disagreement ({c['other']}): " + ", ".join(f"{k}={v}" for k, v in d.items()), err=True)


@main.group()
def estimates() -> None:
    """Analyst consensus estimates and earnings surprises."""


@estimates.command("consensus")
@click.argument("id")
@AS_OF
@click.option("--metric", default=None, help="eps, revenue, ebitda, ebit, net_income, sga")
@FORMAT
@click.pass_context
def estimates_consensus(ctx: click.Context, id: str, as_of: str | None, metric: str | None, fmt: str) -> None:
    """The consensus known at --as-of (default now) by metric and fiscal period, up to ten years ahead."""
    ctx.obj["fmt"] = fmt
    df = _run(ctx, lambda mw: mw.estimates.consensus(id, as_of=as_of, metric=metric))
    render(_frame_rows(df), fmt, columns=df.columns)


@estimates.command("surprises")
@click.argument("id")
@click.option("--metric", default=None, help="eps or revenue")
@FORMAT
@click.pass_context
def estimates_surprises(ctx: click.Context, id: str, metric: str | None, fmt: str) -> None:
    """Reported actuals against the consensus known before each report."""
    ctx.obj["fmt"] = fmt
    df = _run(ctx, lambda mw: mw.estimates.surprises(id, metric=metric))
    render(_frame_rows(df), fmt, columns=df.columns)

# -- stream (replay, ticks, bars) --
@main.group()
def stream() -> None:
    """Realtime: replay feed files into the durable log, follow a listing, roll the log into the lake."""


@stream.command("replay")
@click.argument("paths", nargs=-1, required=True)
@click.option("--speed", default="max", show_default=True, metavar="max|X",
              help="max: as fast as possible; X: a factor of real time (1 = the exchange's pace).")
@click.option("--symbol", default=None, help="The instrument of the files (default: from each file's path).")
@click.option("--no-resume", "no_resume", is_flag=True,
              help="Replay files from their start even when an earlier replay acknowledged part of them.")
@click.option("--bus", default=None, metavar="nats://HOST:PORT",
              help="Also publish every acknowledged batch to NATS JetStream (one stream per event type, subjects "
                   "mw.<channel>.<listing>); the replay waits for JetStream's acknowledgement of each batch.")
@FORMAT
@click.pass_context
def stream_replay(ctx: click.Context, paths: tuple[str, ...], speed: str, symbol: str | None, no_resume: bool,
                  bus: str | None, fmt: str) -> None:
    """Replay Lean tick zips, Binance captures, cryptofeed captures or DBN files through the in-stream rules into
    the log. Prints events read, accepted, flagged and quarantined; on return every accepted event is acknowledged
    (fsynced) and queryable (marketwire ticks / bars)."""
    if speed != "max":
        try:
            if float(speed) <= 0:
                raise ValueError
        except ValueError:
            click.echo(f"error [invalid_input]: `--speed`: {speed!r} is not max or a positive number", err=True)
            sys.exit(EXIT_INVALID)

    def replay(mw: Any) -> Any:
        publisher = None
        if bus:
            from marketwire.stream.bus import BlockingPublisher

            try:
                publisher = BlockingPublisher(bus)
            except Exception as e:  # noqa: BLE001 - any connection failure of the client library
                raise SourceError(f"`--bus`: NATS at {bus} cannot be used ({type(e).__name__}: {e})",
                                  param="bus", transient=True) from e
            mw.stream.on_batch(publisher.publish_batch)
        try:
            return mw.stream.replay(list(paths), speed=speed, symbol=symbol, resume=not no_resume)
        finally:
            if publisher is not None:
                publisher.close()

    rep = _run(ctx, replay)
    d = rep.as_dict()
    row = {k: d[k] for k in ("files", "read", "accepted", "flagged", "quarantined", "skipped", "acknowledged_to")}
    row["seconds"] = round(d["seconds"], 3)
    row["flags"] = ",".join(f"{k}={v}" for k, v in sorted(d["flags"].items())) or None
    render(d if fmt == "json" else [row], fmt)


@stream.command("tail")
@click.argument("id")
@click.option("--type", "kind", type=click.Choice(["trades", "quotes"]), default="trades", show_default=True)
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=10, show_default=True,
              help="How many of the latest events.")
@FORMAT
@click.pass_context
def stream_tail(ctx: click.Context, id: str, kind: str, count: int, fmt: str) -> None:
    """The latest trades or quotes of a listing (from the log and the lake)."""
    df = _run(ctx, lambda mw: mw.ticks(id, type=kind, output="polars"))
    _write_frame(_tick_frame(df.tail(count)), fmt, None)


@stream.command("roll")
@click.option("--retain", is_flag=True, help="Delete log segments wholly rolled into the lake.")
@FORMAT
@click.pass_context
def stream_roll(ctx: click.Context, retain: bool, fmt: str) -> None:
    """End of day: roll the acknowledged log into the lake's trades, quotes and bars_intraday (idempotent)."""
    rep = _run(ctx, lambda mw: mw.stream.roll(retain=retain))
    rep["dates"] = ",".join(rep["dates"]) or None
    rep["written"] = ",".join(f"{k}={v}" for k, v in rep["written"].items()) or None
    render([rep] if fmt != "json" else rep, fmt)


def _tick_frame(df: Any) -> Any:
    """Ticks for output: ``time`` (ISO 8601, UTC) first, flag names spelt out."""
    import polars as pl

    from marketwire.stream.events import flag_names

    return df.with_columns(
        pl.from_epoch(pl.col("ts_event"), time_unit="ns").dt.replace_time_zone("UTC").alias("time"),
        pl.col("flags").map_elements(lambda v: ",".join(flag_names(int(v))) or None,
                                     return_dtype=pl.Utf8).alias("flag_names"),
    ).select(["time", *[c for c in df.columns if c != "time"], "flag_names"])


@main.command()
@click.argument("id")
@click.option("--interval", type=click.Choice(["1s", "1m"]), default="1m", show_default=True)
@click.option("--start", default=None, metavar="T", help="First bar (ISO 8601 date or instant; UTC unless stated).")
@click.option("--end", default=None, metavar="T", help="End (exclusive).")
@click.option("--as-of", "as_of", default=None, metavar="T", help="As known at this instant.")
@FORMAT
@click.pass_context
def bars(ctx: click.Context, id: str, interval: str, start: str | None, end: str | None, as_of: str | None,
         fmt: str) -> None:
    """Intraday OHLCV bars of a listing with VWAP and trade count, from its trades (log and lake alike).
    ``time`` is the bar's start, ISO 8601 with its UTC offset."""
    import polars as pl

    df = _run(ctx, lambda mw: mw.bars(id, interval, start, end, as_of=as_of, output="polars"))
    df = df.with_columns(pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%S%:z"))
    _write_frame(df, fmt, None)


@main.command()
@click.argument("id")
@click.option("--type", "kind", type=click.Choice(["trades", "quotes"]), default="trades", show_default=True)
@click.option("--start", default=None, metavar="T", help="From (ISO 8601 date or instant; UTC unless stated).")
@click.option("--end", default=None, metavar="T", help="Until (exclusive).")
@click.option("--as-of", "as_of", default=None, metavar="T", help="As known at this instant.")
@click.option("--flags", "only_flagged", is_flag=True, help="Only the events a rule flagged.")
@FORMAT
@click.pass_context
def ticks(ctx: click.Context, id: str, kind: str, start: str | None, end: str | None, as_of: str | None,
          only_flagged: bool, fmt: str) -> None:
    """Trades or quotes of a listing, every event kept (flagged ones with the rules that flagged them)."""
    import polars as pl

    df = _run(ctx, lambda mw: mw.ticks(id, kind, start, end, flags=only_flagged, as_of=as_of, output="polars"))
    df = _tick_frame(df).with_columns(pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%S.%f%:z"))
    _write_frame(df, fmt, None)


# -- stream (live) --
@stream.command("connect")
@click.argument("url")
@click.option("--venue", type=click.Choice(["binance", "coinbase", "kraken", "bitstamp"]), required=True)
@click.option("--subscribe", "subscriptions", multiple=True, required=True, metavar="NAME",
              help="Repeatable. Binance: a stream (btcusdt@trade, btcusdt@bookTicker, btcusdt@depth@100ms); "
                   "Coinbase: a product (BTC-USD); Kraken: a pair (XBT/USD); Bitstamp: a channel (live_trades_btcusd).")
@click.option("--market", type=click.Choice(["spot", "usdm", "cm"]), default="spot", show_default=True,
              help="Binance market (depth rules and instrument names differ).")
@click.option("--rest", default=None, metavar="URL", help="Binance REST base for depth snapshots "
              "(https://api.binance.com, https://fapi.binance.com, https://dapi.binance.com).")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this many seconds (default: run until interrupted).")
@FORMAT
@click.pass_context
def stream_connect(ctx: click.Context, url: str, venue: str, subscriptions: tuple[str, ...], market: str,
                   rest: str | None, seconds: float | None, fmt: str) -> None:
    """Read a venue's live WebSocket feed into the log: reconnect with backoff and resubscribe, record gaps, resync
    Binance books from snapshots, quarantine unparseable messages. Prints the feed's counters."""
    import asyncio

    from marketwire.stream.live import run_into

    def go(mw: Any) -> dict[str, Any]:
        try:
            return asyncio.run(run_into(mw.stream, url, venue, list(subscriptions), market=market, rest=rest,
                                        seconds=seconds))
        except KeyboardInterrupt:
            return {"interrupted": True}

    rep = _run(ctx, go)
    rep.pop("backoff_waits", None)
    render(rep if fmt == "json" else [rep], fmt)


@stream.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--replay", "replay", multiple=True, metavar="PATH",
              help="Repeatable. Play feed files to subscribers at --speed (the log is written by stream replay).")
@click.option("--speed", default="1", show_default=True, metavar="max|X", help="Replay pace: a factor of real time.")
@click.option("--loop", "loop_replay", is_flag=True, help="Start the replay again when it ends.")
@click.option("--bus", default=None, metavar="nats://HOST:PORT", help="Also serve the events of a NATS JetStream bus.")
@click.option("--connect", "connect_url", default=None, metavar="URL", help="Also serve a live feed (with "
              "--venue and --subscribe as for stream connect); its events go to the log too.")
@click.option("--venue", type=click.Choice(["binance", "coinbase", "kraken", "bitstamp"]), default=None)
@click.option("--subscribe", "subscriptions", multiple=True, metavar="NAME")
@click.option("--require-keys", is_flag=True, help="Require an API key on loopback too.")
@click.pass_context
def stream_serve(ctx: click.Context, host: str, port: int, replay: tuple[str, ...], speed: str, loop_replay: bool,
                 bus: str | None, connect_url: str | None, venue: str | None, subscriptions: tuple[str, ...],
                 require_keys: bool) -> None:
    """Serve REST, WebSocket /v1/stream, Server-Sent Events and the live pages /stream/{id}, fed by a replay, a live
    feed and/or a NATS bus."""
    import asyncio

    from marketwire.serve.access import serve_policy
    from marketwire.serve.api import create_app
    from marketwire.serve.api_stream import serve_stream

    try:
        pace = None if speed == "max" else float(speed)
        if pace is not None and pace <= 0:
            raise ValueError
    except ValueError:
        click.echo(f"error [invalid_input]: `--speed`: {speed!r} is not max or a positive number", err=True)
        sys.exit(EXIT_INVALID)
    if connect_url and (not venue or not subscriptions):
        click.echo("error [invalid_input]: `--connect` needs --venue and at least one --subscribe", err=True)
        sys.exit(EXIT_INVALID)
    try:
        policy, notes = serve_policy(ctx.obj["home"], host, require_keys=require_keys, insecure=False,
                                     allowed_hosts=(), rate_limit=None)
        for note in notes:
            click.echo(f"warning: {note}", err=True)
        import marketwire

        app = create_app(marketwire.open(ctx.obj["home"]).home, policy)
        connect = {"url": connect_url, "venue": venue, "subscriptions": list(subscriptions)} if connect_url else None
        asyncio.run(serve_stream(app, host, port, replay=list(replay), speed=pace, loop_replay=loop_replay, bus=bus,
                                 connect=connect))
    except MarketwireError as e:
        click.echo(f"error [{e.code}]: {e.message}", err=True)
        sys.exit(_exit_code(e))
    except KeyboardInterrupt:
        pass

# -- esg --
@main.group()
def esg() -> None:
    """ESG and climate: company metrics with units, method and provenance, linked to the master.

    \b
    metrics   one company's metrics (any id: ticker, ISIN, CIK, LEI, our ids), point in time
    coverage  per source: entities, linked, waiting for review, share linked, values
    review    source entities waiting for a link: raw name, evidence, best candidates
    link      confirm that a source entity (or source record) is the issuer an id names
    catalogue the metric codes

    Load with `marketwire ingest carbon-gap|eu-ets|net-zero-tracker|sbti|wa-ghg|esg-risk-ratings PATH...`.
    Example: marketwire esg metrics AAPL --metric scope1 --format csv
    """


_ESG_COLUMNS = ["metric", "value", "unit", "period", "source", "method", "confidence", "link_method", "issuer_id",
                "entity_id", "boundary", "citation", "flags"]


@esg.command("metrics")
@click.argument("id")
@click.option("--metric", "metric", multiple=True, metavar="CODE", help="Only these metric codes (repeatable).")
@click.option("--as-of", "as_of", default=None, metavar="T", help="What was known then (date or ISO time).")
@FORMAT
@click.pass_context
def esg_metrics(ctx: click.Context, id: str, metric: tuple[str, ...], as_of: str | None, fmt: str) -> None:
    """The ESG metrics of the company ID names, every source's value with unit, period, method and the link's
    confidence."""
    ctx.obj["fmt"] = fmt
    rows = _run(ctx, lambda mw: mw.esg.metrics(id, list(metric) or None, as_of))
    render([{c: r.get(c) for c in _ESG_COLUMNS} for r in rows], fmt, columns=_ESG_COLUMNS)


@esg.command("coverage")
@FORMAT
@click.pass_context
def esg_coverage(ctx: click.Context, fmt: str) -> None:
    """Per source: entities to link, linked, confirmed, waiting for review, share linked, values and rows."""
    render(_run(ctx, lambda mw: mw.esg.coverage()), fmt)


@esg.command("review")
@click.option("--source", default=None, help="Only this source's entities (carbon-gap, eu-ets ...).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many rows.")
@FORMAT
@click.pass_context
def esg_review(ctx: click.Context, source: str | None, limit: int | None, fmt: str) -> None:
    """Source entities waiting for review, with their raw names, the evidence and the best candidates; confirm one
    with `marketwire esg link ENTITY ID`."""
    render(_run(ctx, lambda mw: mw.esg.review(source, limit)), fmt)


@esg.command("link")
@click.argument("record")
@click.argument("id")
@FORMAT
@click.pass_context
def esg_link(ctx: click.Context, record: str, id: str, fmt: str) -> None:
    """Confirm that RECORD (an entity id from `esg review`, or a source record id) is the issuer ID names."""
    ctx.obj["fmt"] = fmt
    r = _run(ctx, lambda mw: mw.esg.link(record, id))
    if fmt == "table":
        click.echo(f"linked {r['entity_id']} -> {r['issuer_id']} {r['issuer_name'] or ''} (confirmed)")
    else:
        render([r], fmt)


@esg.command("catalogue")
@FORMAT
@click.pass_context
def esg_catalogue(ctx: click.Context, fmt: str) -> None:
    """The metric codes: name, kind, unit, description."""
    render(_run(ctx, lambda mw: mw.esg.catalogue()), fmt)


def run() -> None:  # pragma: no cover - the console script
    """Entry point of the ``marketwire`` command.

    Exits with ``os._exit`` after flushing: the Rust runtime of delta-rs can abort the interpreter's native
    teardown after a write (delta-io/delta-rs#2184), which would turn a finished command into exit 134.
    """
    import os

    code = 0
    try:
        main.main(standalone_mode=False)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = 130
    except click.ClickException as e:
        e.show()
        code = e.exit_code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
