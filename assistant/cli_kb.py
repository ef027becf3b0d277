"""`assistant kb …`: ingest, sync, search, show, delete, stats, export, history, rollback, eval.

Every command takes ``--kb NAME`` and ``--json``. When the app is running, changes go through its
admin API so shoppers see them at once; otherwise the command opens the knowledge base itself.
Exit codes: 0 done, 1 invalid knowledge (nothing written), 2 bad usage (unknown knowledge base,
record or version), 3 the app or the store failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.config import Settings, load_settings

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_FAILED = 3

kb_app = typer.Typer(
    help="Work with the knowledge base: files in, search, versions, rollback, evaluation.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

KbOption = typer.Option(None, "--kb", help="Knowledge base name (default: from assistant.yml).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")


# ---------------------------------------------------------------------------- plumbing
def _fail(code: int, message: str, as_json: bool, **details: Any) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": message, **details}, ensure_ascii=False, indent=2))
    else:
        err.print(f"[red]error:[/red] {message}", highlight=False)
        for problem in details.get("problems", []):
            err.print(f"  - {problem}", highlight=False, markup=False)
    raise typer.Exit(code)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class _Target:
    """Where a command acts: the running app (admin API) or the knowledge base on disk."""

    def __init__(self, settings: Settings, kb: str | None, as_json: bool) -> None:
        from assistant.cli_remote import running_app

        self.settings = settings
        self.kb = kb or settings.knowledge.name
        self.as_json = as_json
        self.remote = running_app(settings)
        self._library: Any = None

    def library(self) -> Any:
        """The local library (opened once, without syncing files behind the user's back)."""
        if self._library is None:
            from transformers.utils import logging as transformers_logging

            from assistant.bootstrap import open_library

            transformers_logging.disable_progress_bar()  # our own spinner says what happens
            with _spinner("loading the embedding model and the knowledge base", self.as_json):
                library = open_library(self.settings)
                library.start(actor="cli", sync_files=False)
            self._library = library
        if self.kb not in self._library.names():
            _fail(
                EXIT_USAGE,
                f"unknown knowledge base {self.kb!r}; "
                f"configured: {', '.join(self._library.names())}",
                self.as_json,
            )
        return self._library

    def api(self, suffix: str = "") -> str:
        return f"/api/admin/kbs/{self.kb}{suffix}"


@contextmanager
def _errors(target: _Target) -> Iterator[None]:
    """Turn the library's and the API's failures into a message and an exit code."""
    from assistant.cli_remote import RemoteError
    from assistant.knowledge.library import (
        RecordValidationError,
        UnknownKnowledgeBase,
        UnknownVersion,
    )
    from assistant.knowledge.loader import KnowledgeFileError

    try:
        yield
    except KnowledgeFileError as problem:
        _fail(
            EXIT_INVALID,
            f"{len(problem.problems)} problem(s) in {len(problem.files)} file(s); nothing changed",
            target.as_json,
            problems=[str(p) for p in problem.problems],
        )
    except RecordValidationError as problem:
        _fail(
            EXIT_INVALID,
            "invalid records; nothing changed",
            target.as_json,
            problems=[str(p) for p in problem.problems],
        )
    except (UnknownKnowledgeBase, UnknownVersion) as problem:
        _fail(EXIT_USAGE, str(problem), target.as_json)
    except RemoteError as problem:
        code = {422: EXIT_INVALID, 404: EXIT_USAGE, 400: EXIT_USAGE}.get(
            problem.status, EXIT_FAILED
        )
        problems = problem.body.get("problems") or problem.body.get("fields") or []
        _fail(
            code,
            f"the app refused: {problem} (HTTP {problem.status})",
            target.as_json,
            problems=[p.get("text") or json.dumps(p, ensure_ascii=False) for p in problems],
        )


@contextmanager
def _spinner(label: str, quiet: bool) -> Iterator[None]:
    if quiet or not sys.stderr.isatty():
        yield
        return
    with err.status(label):
        yield


@contextmanager
def _embedding_progress(index: Any, quiet: bool) -> Iterator[None]:
    """Show a progress bar while ``index`` embeds passages (long for big catalogues)."""
    if quiet:
        yield
        return
    original = index.embedder
    progress = Progress(
        TextColumn("embedding passages"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    index.embedder = _ProgressEmbedder(original, progress)
    try:
        with progress:
            yield
    finally:
        index.embedder = original


class _ProgressEmbedder:
    """The index's embedder, fed in batches so a progress bar can advance."""

    BATCH = 64

    def __init__(self, inner: Any, progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> Any:
        import numpy as np

        task = self.progress.add_task("embed", total=len(texts))
        parts = []
        for start in range(0, len(texts), self.BATCH):
            batch = list(texts[start : start + self.BATCH])
            parts.append(self.inner.embed_passages(batch))
            self.progress.advance(task, len(batch))
        if not parts:
            return self.inner.embed_passages([])
        return np.concatenate(parts)


def _print_change(change: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(change)
        return
    version = change.get("version")
    head = f"version {version}" if version else "no change"
    out.print(
        f"{change.get('kb')}: {head} — added {len(change.get('added', []))}, "
        f"updated {len(change.get('updated', []))}, deleted {len(change.get('deleted', []))}, "
        f"unchanged {change.get('unchanged', 0)}, embedded {change.get('embedded', 0)} "
        f"in {change.get('seconds', 0)} s",
        highlight=False,
    )
    for key in ("added", "updated", "deleted"):
        ids = change.get(key) or []
        if ids:
            shown = ", ".join(ids[:20]) + (f" … (+{len(ids) - 20})" if len(ids) > 20 else "")
            out.print(f"  {key}: {shown}", highlight=False)


def _write(target: _Target, remote: Callable[[], Any], local: Callable[[Any], Any]) -> None:
    with _errors(target):
        if target.remote is not None:
            with _spinner("the running app is applying the change", target.as_json):
                change = remote()
        else:
            library = target.library()
            with _embedding_progress(library.base(target.kb), target.as_json):
                change = local(library).as_dict()
    _print_change(change, target.as_json)


# ---------------------------------------------------------------------------- commands
@kb_app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files (csv, xlsx, yaml, json, jsonl, md)."),
    kb: str = KbOption,
    as_json: bool = JsonOption,
) -> None:
    """Add or replace the records of files; records gone from those files are deleted."""
    missing = [str(p) for p in paths if not p.is_file()]
    target = _Target(load_settings(), kb, as_json)
    if missing:
        _fail(EXIT_USAGE, f"no such file: {', '.join(missing)}", as_json)
    _write(
        target,
        lambda: target.remote.upload(target.api("/upload"), paths),
        lambda lib: lib.ingest(target.kb, paths, actor="cli"),
    )


@kb_app.command()
def sync(
    kb: str = KbOption,
    as_json: bool = JsonOption,
    watch: bool = typer.Option(False, help="Keep running and sync on every save."),
) -> None:
    """Bring the knowledge base in line with its directory (only changed records)."""
    target = _Target(load_settings(), kb, as_json)
    _write(
        target,
        lambda: target.remote.post(target.api("/sync")),
        lambda lib: lib.sync_directory(target.kb, actor="cli"),
    )
    if watch:
        _watch(target)


def _watch(target: _Target) -> None:
    import asyncio

    from assistant.knowledge.watcher import watch_directories

    if target.remote is not None:
        _fail(EXIT_USAGE, "the running app already watches its knowledge directories", False)
    library = target.library()
    out.print("watching for changes; Ctrl-C to stop")
    with suppress(KeyboardInterrupt):
        asyncio.run(watch_directories(library, [target.kb], on_change=_print_change_quiet))


def _print_change_quiet(change: Any) -> None:
    _print_change(change.as_dict(), False)


@kb_app.command()
def search(
    query: str = typer.Argument(..., help="What a shopper would ask."),
    k: int = typer.Option(5, "-k", help="Number of hits."),
    kind: list[str] = typer.Option(None, "--kind", help="Only these kinds (product, faq, ...)."),
    filters: list[str] = typer.Option(
        None,
        "--filter",
        help="key=value, e.g. category=serum, skin_type=oily, price_max=200, in_stock=true.",
    ),
    kb: str = KbOption,
    as_json: bool = JsonOption,
) -> None:
    """Search the way the assistant does (hybrid: dense + BM25)."""
    from assistant.knowledge.library import hit_as_dict

    target = _Target(load_settings(), kb, as_json)
    parsed = _parse_filters(filters or [], as_json)
    with _errors(target):
        if target.remote is not None:
            body = {"query": query, "k": k, "filters": parsed or None, "kinds": kind or None}
            hits = target.remote.post(target.api("/search"), body).get("hits", [])
        else:
            try:
                found = target.library().search(target.kb, query, k, parsed or None, kind or None)
            except ValueError as problem:
                _fail(EXIT_USAGE, str(problem), as_json)
            hits = [hit_as_dict(h) for h in found]
    if as_json:
        _print_json(hits)
        return
    table = Table("similarity", "id", "kind", "title")
    for hit in hits:
        table.add_row(f"{hit['similarity']:.3f}", hit["id"], hit["kind"], hit["title"])
    out.print(table)


def _parse_filters(items: list[str], as_json: bool) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(EXIT_USAGE, f"a filter is key=value, got {item!r}", as_json)
        parsed[key.strip()] = _filter_value(value.strip())
    return parsed


def _filter_value(value: str) -> Any:
    """Command-line text to the filter's type: true/false, numbers, comma-separated lists."""
    if value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    try:
        return float(value)
    except ValueError:
        pass
    return [v.strip() for v in value.split(",")] if "," in value else value


@kb_app.command()
def show(
    record_id: str = typer.Argument(..., metavar="ID", help="Record id."),
    kb: str = KbOption,
    as_json: bool = JsonOption,
) -> None:
    """Show one record with its source, version and last editor."""
    target = _Target(load_settings(), kb, as_json)
    with _errors(target):
        if target.remote is not None:
            info = target.remote.get(target.api(f"/records/{record_id}"))
        else:
            found = target.library().get(target.kb, record_id)
            if found is None:
                _fail(EXIT_USAGE, f"no record {record_id!r} in {target.kb}", as_json)
            info = found.as_dict()
    if as_json:
        _print_json(info)
        return
    import yaml

    out.print(
        f"# {info.get('source')} · version {info.get('version')} · "
        f"{info.get('updated_by')} · {info.get('updated_at')}",
        highlight=False,
        markup=False,
    )
    typer.echo(yaml.safe_dump(info.get("record"), allow_unicode=True, sort_keys=False))


@kb_app.command()
def delete(
    record_ids: list[str] = typer.Argument(..., metavar="ID...", help="Record ids."),
    kb: str = KbOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete records (a new version; `rollback` brings them back)."""
    target = _Target(load_settings(), kb, as_json)

    def remote() -> Any:
        from assistant.cli_remote import RemoteError

        deleted: list[str] = []
        last: dict[str, Any] = {"kb": target.kb, "version": None}
        for rid in record_ids:
            try:
                last = target.remote.delete(target.api(f"/records/{rid}"))
            except RemoteError as problem:
                if problem.status != 404:  # unknown ids are ignored, as without the app
                    raise
                continue
            deleted += last.get("deleted", [])
        return {**last, "deleted": deleted}

    _write(target, remote, lambda lib: lib.delete(target.kb, record_ids, actor="cli"))


@kb_app.command()
def stats(kb: str = KbOption, as_json: bool = JsonOption) -> None:
    """Records by kind, passages, model, latest version and the last sync's status."""
    target = _Target(load_settings(), kb, as_json)
    with _errors(target):
        if target.remote is not None:
            data = target.remote.get(target.api("/stats"))
            status = target.remote.get(target.api("/status"))
        else:
            library = target.library()
            data = library.stats(target.kb)
            status = library.status(target.kb).as_dict()
    data = {**data, "last_sync": status}
    if as_json:
        _print_json(data)
        return
    by_kind = ", ".join(f"{k} {n}" for k, n in data.get("by_kind", {}).items())
    out.print(
        f"{data.get('name')}: {data.get('records')} records ({by_kind}), "
        f"{data.get('passages')} passages, version {data.get('version')}\n"
        f"model {data.get('embedding_model')} ({data.get('dimension')} dims), "
        f"{data.get('sparse_terms')} BM25 terms",
        highlight=False,
    )
    state = "ok" if status.get("ok") else "FAILED"
    out.print(
        f"last sync: {state} {status.get('at') or 'never'} {status.get('summary', '')}",
        highlight=False,
        markup=False,
    )
    for problem in status.get("errors", []):
        out.print(f"  - {problem.get('text')}", highlight=False, markup=False)


@kb_app.command()
def export(
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
    fmt: str = typer.Option(
        None, "--format", help="yaml, json, jsonl or csv (default: from the file name, else yaml)."
    ),
    kind: str = typer.Option(None, "--kind", help="Only this kind (product, faq, policy, ...)."),
    kb: str = KbOption,
) -> None:
    """Write every record to a file that `ingest` reads back unchanged."""
    from assistant.knowledge.export import export_records
    from assistant.knowledge.schema import parse_record

    fmt = fmt or (output.suffix.lstrip(".") if output else "yaml")
    target = _Target(load_settings(), kb, False)
    with _errors(target):
        if target.remote is not None:
            rows = target.remote.get(target.api("/records"), kind=kind, limit=1_000_000)
            items = rows.get("records", rows) if isinstance(rows, dict) else rows
            records = [parse_record(i.get("record", i)) for i in items]
        else:
            records = [info.record for info in target.library().records(target.kb, kind)]
    try:
        if output is None:
            export_records(records, sys.stdout, fmt)
        else:
            export_records(records, output, fmt)
    except ValueError as problem:
        _fail(EXIT_USAGE, str(problem), False)
    if output is not None:
        err.print(f"wrote {len(records)} records to {output}", highlight=False)


@kb_app.command()
def history(
    limit: int = typer.Option(20, help="How many versions, newest first."),
    kb: str = KbOption,
    as_json: bool = JsonOption,
) -> None:
    """Versions of the knowledge base: who changed what, when."""
    target = _Target(load_settings(), kb, as_json)
    with _errors(target):
        if target.remote is not None:
            data = target.remote.get(target.api("/history"), limit=limit)
            versions = data.get("versions", data) if isinstance(data, dict) else data
        else:
            versions = [v.as_dict() for v in target.library().history(target.kb, limit)]
    if as_json:
        _print_json(versions)
        return
    table = Table("version", "when", "who", "action", "added", "updated", "deleted", "note")
    for v in versions:
        table.add_row(
            str(v["version"]),
            str(v["created_at"])[:19],
            v["actor"],
            v["action"],
            str(len(v["added"])),
            str(len(v["updated"])),
            str(len(v["deleted"])),
            v.get("note", ""),
        )
    out.print(table)


@kb_app.command()
def rollback(
    version: int = typer.Argument(..., help="The version to return to (see `history`)."),
    kb: str = KbOption,
    as_json: bool = JsonOption,
) -> None:
    """Make the knowledge base hold what it held at VERSION (recorded as a new version)."""
    target = _Target(load_settings(), kb, as_json)
    _write(
        target,
        lambda: target.remote.post(target.api("/rollback"), {"version": version}),
        lambda lib: lib.rollback(target.kb, version, actor="cli"),
    )


@kb_app.command()
def validate(
    paths: list[Path] = typer.Argument(..., help="Files or directories to check."),
    as_json: bool = JsonOption,
) -> None:
    """Check knowledge files without writing anything."""
    from assistant.knowledge.loader import KnowledgeFileError, load_sources

    try:
        sources = [s for p in paths for s in load_sources(p)]
    except KnowledgeFileError as problem:
        _fail(
            EXIT_INVALID,
            f"{len(problem.problems)} problem(s) in {len(problem.files)} file(s)",
            as_json,
            problems=[str(p) for p in problem.problems],
        )
    except OSError as problem:
        _fail(EXIT_USAGE, str(problem), as_json)
    summary = {str(s.path): len(s.records) for s in sources}
    if as_json:
        _print_json({"ok": True, "files": summary})
        return
    for path, count in summary.items():
        out.print(f"ok  {path}: {count} records", highlight=False)


def _register_eval() -> None:
    from assistant.knowledge.eval_cli import kb_eval

    kb_app.command("eval")(kb_eval)


_register_eval()
