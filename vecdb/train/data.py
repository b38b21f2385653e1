"""Training data: JSONL triples / pairs / labelled examples, or a BEIR folder with qrels/<split>.tsv.

JSONL, one object per line:
  {"query": ..., "positive": ..., "negative": str | [str, ...] (optional), "instruction": ... (optional)}
  {"input": ..., "label": ..., "negative_label": str | [str, ...] (optional)}   labelled data
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import InvalidArgument


@dataclass
class Example:
    query: str
    positive: str
    negatives: list[str] = field(default_factory=list)
    instruction: str | None = None
    positive_id: str | None = None          # document id, when known (BEIR, mining)
    positive_ids: set = field(default_factory=set)  # every labelled positive of this query (ids or texts)
    negative_ids: list = field(default_factory=list)  # ids of mined negatives (given ones are known by text)

    def negative_keys(self) -> list[str]:
        ids = self.negative_ids + [None] * (len(self.negatives) - len(self.negative_ids))
        return [i if i is not None else t for i, t in zip(ids, self.negatives)]

    def key(self) -> str:
        return self.positive_id if self.positive_id is not None else self.positive


def _bad(where: str, name: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"data: {where}: field {name!r}: {problem}", argument="data")


def _text(obj: dict, name: str, where: str, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None and not required:
        return None
    if value is None:
        raise _bad(where, name, "is missing")
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, name, "must be a non-empty string")
    return value


def _texts(obj: dict, name: str, where: str) -> list[str]:
    value = obj.get(name)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
        raise _bad(where, name, "must be a non-empty string or a list of non-empty strings")
    return list(items)


def parse_example(obj, where: str) -> Example:
    if not isinstance(obj, dict):
        raise InvalidArgument(f"data: {where}: must be a JSON object", argument="data")
    if "input" in obj or "label" in obj:
        ex = Example(_text(obj, "input", where), _text(obj, "label", where), _texts(obj, "negative_label", where),
                     _text(obj, "instruction", where, required=False))
    else:
        ex = Example(_text(obj, "query", where), _text(obj, "positive", where), _texts(obj, "negative", where),
                     _text(obj, "instruction", where, required=False))
    ex.positive_ids = {ex.positive}
    return ex


def read_jsonl(lines: Iterable[str], name: str = "data") -> list[Example]:
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise InvalidArgument(f"data: {name} line {n}: not valid JSON ({e.msg})", argument="data") from None
        out.append(parse_example(obj, f"{name} line {n}"))
    # labelled data: an input's every label counts as a positive for it, never as its negative
    by_query: dict[str, set] = {}
    for ex in out:
        by_query.setdefault(ex.query, set()).add(ex.positive)
    for ex in out:
        ex.positive_ids = by_query[ex.query]
    return out


def read_beir(folder: str | Path, split: str = "train") -> list[Example]:
    """One example per (query, relevant document) of qrels/<split>.tsv; documents carry their ids."""
    from ..evaluate import iter_corpus, load_qrels, load_queries

    qrels = load_qrels(folder, split)
    queries = load_queries(folder)
    corpus = {d: t for chunk in iter_corpus(folder) for d, t, _ in chunk}
    out = []
    for qid, docs in qrels.items():
        if qid not in queries:
            raise InvalidArgument(f"data: qrels/{split}.tsv: query {qid!r} is not in queries.jsonl", argument="data")
        positives = {d for d, s in docs.items() if s > 0 and d in corpus}
        for doc in sorted(positives):
            out.append(Example(queries[qid], corpus[doc], positive_id=doc, positive_ids=positives))
    return out


def load(source: str | Path, split: str = "train") -> list[Example]:
    """Examples from a JSONL file, '-' (stdin) or a BEIR folder."""
    if str(source) == "-":
        examples = read_jsonl(sys.stdin, "stdin")
    else:
        p = Path(source).expanduser()
        if p.is_dir():
            examples = read_beir(p, split)
        elif p.is_file():
            with open(p, encoding="utf-8") as f:
                examples = read_jsonl(f, p.name)
        else:
            raise InvalidArgument(f"data: {str(source)!r} is neither a JSONL file nor a BEIR folder", argument="data")
    if not examples:
        raise InvalidArgument(f"data: {str(source)!r} holds no training examples", argument="data")
    return examples
