"""`assistant kb eval`: retrieval quality of dense, BM25 and hybrid search on a BEIR-layout set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from assistant.knowledge.evaluation import EvalReport, ProgressCallback

# The command module is imported whenever the CLI starts: the knowledge stack (Chroma, torch)
# is imported only when the command runs.
METHODS = ("dense", "bm25", "hybrid")

__all__ = ["kb_eval", "print_report"]

_STAGES = {"embed": "embedding corpus passages", "search": "running queries"}


def kb_eval(
    corpus: Path = typer.Option(
        ..., help='corpus.jsonl: one {"_id", "title", "text", "metadata"?} per line.'
    ),
    queries: Path = typer.Option(..., help='queries.jsonl: one {"_id", "text"} per line.'),
    qrels: Path = typer.Option(
        ..., help="qrels TSV with the header 'query-id corpus-id score' (graded, > 0 relevant)."
    ),
    kb: str = typer.Option(
        "eval", help="Name of the throw-away knowledge base (a temporary folder, deleted after)."
    ),
    method: str | None = typer.Option(
        None, help="Only this method: dense, bm25 or hybrid (default: all three)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    k: int = typer.Option(
        100, "--k", "-k", min=1, help="Hits retrieved per query: the Recall@k cutoff."
    ),
    model: str | None = typer.Option(
        None,
        help="Embedding model (sentence-transformers folder or hub name); "
        "default: the one in assistant.yml, else the offline default.",
    ),
) -> None:
    """Measure retrieval quality on a labelled set in the BEIR layout.

    The corpus is indexed into a throw-away knowledge base (never the app's data), each query
    is searched with dense retrieval alone, BM25 alone and the hybrid the assistant uses, and
    nDCG@10, MRR@10 and Recall@k are averaged over the queries that have relevant judgements.
    Bad input exits with code 2 and names the file and line.
    """
    from assistant.knowledge.evaluation import EvalInputError, evaluate, load_beir
    from assistant.knowledge.store import collection_name

    methods = METHODS if method is None else (method.strip().lower(),)
    if methods[0] not in METHODS:
        _fail(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    try:
        collection_name(kb)
    except ValueError as error:
        _fail(f"--kb: {error}")
    try:
        beir = load_beir(corpus, queries, qrels)
    except EvalInputError as error:
        _fail(str(error))

    from assistant.knowledge.embedding import Embedder

    err = Console(stderr=True)
    try:
        embedder = Embedder(model or _configured_model())
    except (OSError, ValueError) as error:
        _fail(f"cannot load the embedding model: {error}")
    with _progress_bar(err, enabled=not as_json) as on_progress:
        report = evaluate(beir, embedder, methods=methods, k=k, kb_name=kb, on_progress=on_progress)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print_report(report, Console(), title=f"Retrieval quality: {corpus.parent.name or corpus}")


def _configured_model() -> str:
    from assistant.config import load_settings
    from assistant.knowledge.embedding import ensure_default_model

    return load_settings().knowledge.embedding_model or str(ensure_default_model())


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def _progress_bar(console: Console, *, enabled: bool) -> Iterator[ProgressCallback | None]:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update


def print_report(report: EvalReport, console: Console, title: str = "Retrieval quality") -> None:
    """The figures as a table: one row per method."""
    depth = report.methods[0].recall_depth if report.methods else 100
    table = Table(title=title)
    table.add_column("method")
    for name in ("nDCG@10", "MRR@10", f"Recall@{depth}", "queries", "ms/query"):
        table.add_column(name, justify="right")
    best = {
        "ndcg": max(m.ndcg_at_10 for m in report.methods),
        "mrr": max(m.mrr_at_10 for m in report.methods),
        "recall": max(m.recall for m in report.methods),
    }

    def cell(value: float, top: float) -> str:
        text = f"{value:.3f}"
        return f"[bold]{text}[/bold]" if len(report.methods) > 1 and value == top else text

    for m in report.methods:
        table.add_row(
            m.method,
            cell(m.ndcg_at_10, best["ndcg"]),
            cell(m.mrr_at_10, best["mrr"]),
            cell(m.recall, best["recall"]),
            str(m.queries),
            f"{m.ms_per_query:.1f}",
        )
    console.print(table)
    skipped = report.unjudged_queries
    console.print(
        f"{report.records} records ({report.passages} passages) indexed in "
        f"{report.index_seconds:.1f} s with {report.embedding_model}; query embedding "
        f"{report.query_embedding_ms:.1f} ms/query, not included in ms/query"
        + (
            f"; {skipped} {'query' if skipped == 1 else 'queries'} without relevant "
            "judgements skipped"
            if skipped
            else ""
        ),
        soft_wrap=True,
    )
