"""vecdb context / vecdb ask."""
from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from .common import CollectionOpt, DbOpt, Format, FormatOpt, emit, info, parse_json_object
from .runner import run

KOpt = Annotated[int, typer.Option("-k", "--k", help="Passages in the context")]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", help="Token budget of the whole context")]
MmrOpt = Annotated[Optional[float], typer.Option("--mmr", help="MMR lambda (1 = relevance only, 0 = diversity only)")]
HybridOpt = Annotated[bool, typer.Option("--hybrid", help="Fuse dense and BM25 (FTS5) retrieval by reciprocal rank fusion")]
DedupeOpt = Annotated[bool, typer.Option("--dedupe/--no-dedupe", help="Drop near-duplicate passages")]
WhereOpt = Annotated[Optional[str], typer.Option("--where", help="Metadata filter (JSON)")]


def context(
    question: Annotated[str, typer.Argument(help="The question")],
    k: KOpt = 5,
    max_tokens: MaxTokensOpt = 1024,
    mmr: MmrOpt = None,
    hybrid: HybridOpt = False,
    dedupe: DedupeOpt = True,
    where: WhereOpt = None,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Numbered passages for a prompt, with their sources and spans, within a token budget."""
    filt = parse_json_object(where, "--where")
    ctx = run("context", db, create=False, collection=collection, question=question, k=k, max_tokens=max_tokens,
              mmr=mmr, hybrid=hybrid, dedupe=dedupe, where=filt)
    emit(ctx["passages"], fmt, ["citation", "document_id", "source", "span", "score", "tokens", "text"], as_object=ctx)


def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    k: KOpt = 3,
    max_tokens: MaxTokensOpt = 1024,
    mmr: MmrOpt = None,
    hybrid: HybridOpt = False,
    dedupe: DedupeOpt = True,
    where: WhereOpt = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", envvar="VECDB_API_BASE", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (default: the packaged local model)")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="VECDB_API_KEY", show_default=False, help="Bearer key for --api-base")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", envvar="VECDB_CHAT_MODEL", help="Chat model: a name for --api-base, else a local model (default smollm2-135m)")] = None,
    template: Annotated[Optional[str], typer.Option("--template", help="Prompt template (string or file) with {context} and {question}")] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Longest answer, in tokens (it also stops at the answer's end)")] = 96,
    temperature: Annotated[float, typer.Option("--temperature", help="0 = greedy")] = 0.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the endpoint (connect and each read)")] = 30.0,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Answer a question from the collection, with bracketed citations; the answer streams as it is generated."""
    filt = parse_json_object(where, "--where")
    passages: list[dict] = []

    def on_event(event: dict) -> None:
        if event["event"] == "context":
            passages[:] = event["passages"]
        if fmt == Format.jsonl:
            sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        elif event["event"] == "token" and fmt == Format.table:
            sys.stdout.write(event["text"])
            sys.stdout.flush()

    done = run("ask", db, on_event, create=False, collection=collection, question=question, k=k,
               max_tokens=max_tokens, mmr=mmr, hybrid=hybrid, dedupe=dedupe, where=filt, template=template,
               api_base=api_base, api_key=api_key, model=model, max_new_tokens=max_new_tokens,
               temperature=temperature, timeout=timeout)
    if fmt == Format.json:
        out = {"question": question, "answer": done["answer"], "raw_answer": done["raw_answer"],
               "citations": done["citations"], "invalid_citations": done["invalid_citations"],
               "cited": done["cited"], "passages": passages}
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    elif fmt == Format.csv:
        emit([{"answer": done["answer"], "citations": [c["citation"] for c in done["citations"]]}], fmt,
             ["answer", "citations"])
    elif fmt == Format.table:
        sys.stdout.write("\n\nSources:\n")
        for p in passages:
            sys.stdout.write(f"[{p['citation']}] {label(p)}\n")
    if done["invalid_citations"]:
        info("warning: the answer cited passages that do not exist and were removed: "
             + ", ".join(f"[{n}]" for n in done["invalid_citations"]))
    if not done["cited"] and passages:
        info("warning: the answer cites no passage; check it against the sources")


def label(passage: dict) -> str:
    where = passage.get("source") or passage["document_id"]
    span = passage.get("span")
    return f"{where}:{span[0]}-{span[1]}" if span else where
