"""vecdb context / vecdb ask."""
from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from .common import CollectionOpt, DbOpt, Format, FormatOpt, emit, info, open_db, parse_json_object

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
    with open_db(db, create=False) as database:
        ctx = database.get_collection(collection).context(question, k=k, max_tokens=max_tokens, mmr=mmr,
                                                          hybrid=hybrid, dedupe=dedupe, where=filt)
    rows = [p.to_dict() for p in ctx.passages]
    emit(rows, fmt, ["citation", "document_id", "source", "span", "score", "tokens", "text"], as_object=ctx.to_dict())


def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    k: KOpt = 5,
    max_tokens: MaxTokensOpt = 1024,
    mmr: MmrOpt = None,
    hybrid: HybridOpt = False,
    dedupe: DedupeOpt = True,
    where: WhereOpt = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", envvar="VECDB_API_BASE", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (default: the packaged local model)")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="VECDB_API_KEY", show_default=False, help="Bearer key for --api-base")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", envvar="VECDB_CHAT_MODEL", help="Chat model: a name for --api-base, else a local model (default smollm2-135m)")] = None,
    template: Annotated[Optional[str], typer.Option("--template", help="Prompt template (string or file) with {context} and {question}")] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Longest answer, in tokens")] = 256,
    temperature: Annotated[float, typer.Option("--temperature", help="0 = greedy")] = 0.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the endpoint (connect and each read)")] = 30.0,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Answer a question from the collection, with bracketed citations; the answer streams as it is generated."""
    filt = parse_json_object(where, "--where")
    with open_db(db, create=False) as database:
        answer = database.get_collection(collection).ask(
            question, k=k, max_tokens=max_tokens, mmr=mmr, hybrid=hybrid, dedupe=dedupe, where=filt,
            template=template, api_base=api_base, api_key=api_key, model=model, max_new_tokens=max_new_tokens,
            temperature=temperature, timeout=timeout)
        streaming = fmt == Format.table
        for event in answer.events():
            if event["event"] == "token" and streaming:
                sys.stdout.write(event["text"])
                sys.stdout.flush()
            elif event["event"] == "token" and fmt == Format.jsonl:
                sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
            elif fmt == Format.jsonl:
                sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    done = answer.result
    if fmt == Format.json:
        out = {"question": question, "answer": done["answer"], "raw_answer": done["raw_answer"],
               "citations": done["citations"], "invalid_citations": done["invalid_citations"],
               "passages": [p.to_dict() for p in answer.context.passages]}
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    elif fmt == Format.csv:
        emit([{"answer": done["answer"], "citations": [c["citation"] for c in done["citations"]]}], fmt,
             ["answer", "citations"])
    elif fmt == Format.table:
        sys.stdout.write("\n\nSources:\n")
        for p in answer.context.passages:
            sys.stdout.write(f"[{p.citation}] {p.label()}\n")
    if done["invalid_citations"]:
        info("warning: the answer cited passages that do not exist and were removed: "
             + ", ".join(f"[{n}]" for n in done["invalid_citations"]))
