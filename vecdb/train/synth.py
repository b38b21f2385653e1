"""Synthetic training triples from a collection's own documents, with an instruct LLM.

The recipe: (1) the LLM writes a task definition for the collection from a few sample documents, (2) for
each document it writes a query that the document answers, (3) it writes a misleading hard negative: a
passage that shares the query's words but does not answer it. Malformed generations are dropped and
counted, never written. Generators: the packaged SmolLM2-135M-Instruct through transformers `generate`
(offline), or any OpenAI-compatible chat endpoint."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from ..errors import InvalidArgument, VecdbError
from ..spec import DEFAULT_TASK

Messages = list[dict]


class Generator(Protocol):
    def chat(self, messages: Messages, max_new_tokens: int) -> str: ...


class LocalGenerator:
    """A local instruct model (default: the packaged SmolLM2-135M-Instruct), greedy decoding."""

    def __init__(self, model: str = "smollm2-135m", device: str | None = None):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..embed import resolve
        from ..embed.device import resolve_device

        from ..embed.device import DTYPES, resolve_dtype

        path = resolve(model).weights_path
        self.device = resolve_device(device)
        dtype = DTYPES[resolve_dtype("auto", self.device)]
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        if self.tokenizer.chat_template is None:
            raise InvalidArgument(f"model: {model!r} has no chat template; use an instruct model", argument="model")
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype).to(self.device).eval()

    def chat(self, messages: Messages, max_new_tokens: int) -> str:
        import torch

        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)
        ids = {k: v.to(self.device) for k, v in ids.items()}
        with torch.inference_mode():
            out = self.model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                      repetition_penalty=1.2, pad_token_id=self.tokenizer.eos_token_id)
        return self.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


class ChatEndpoint:
    """An OpenAI-compatible /chat/completions endpoint."""

    def __init__(self, api_base: str, api_key: str | None, model: str, timeout: float = 120.0):
        import httpx

        if not api_base.startswith(("http://", "https://")):
            raise InvalidArgument(f"api_base: must be an http(s) URL, got {api_base!r}", argument="api_base")
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=timeout)

    def chat(self, messages: Messages, max_new_tokens: int) -> str:
        import httpx

        try:
            r = self.client.post(self.url, json={"model": self.model, "messages": messages,
                                                 "max_tokens": max_new_tokens, "temperature": 0})
        except httpx.HTTPError as e:
            raise VecdbError(f"api_base: request to {self.url} failed ({type(e).__name__})", argument="api_base") from None
        if r.status_code != 200:
            raise VecdbError(f"api_base: {self.url} answered HTTP {r.status_code}", argument="api_base")
        try:
            content = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return ""  # a malformed answer counts as a malformed generation
        return content if isinstance(content, str) else ""


# ---- prompts and checks --------------------------------------------------
def task_prompt(samples: list[str]) -> Messages:
    shown = "\n".join(f"- {s[:300]}" for s in samples)
    return [{"role": "system", "content": "You write retrieval task definitions."},
            {"role": "user", "content": "Here are documents from a collection:\n" + shown + "\n\nWrite one sentence "
             "that defines a search task for this collection, starting with 'Given a'. Example: Given a web search "
             "query, retrieve relevant passages that answer the query. Reply with the sentence only."}]


def query_prompt(task: str, doc: str) -> Messages:
    return [{"role": "system", "content": "You write search queries."},
            {"role": "user", "content": f"Task: {task}\nDocument: {doc[:1200]}\n\nWrite one short search query "
             "(under 25 words) that this document answers. Reply with the query only."}]


def negative_prompt(query: str, doc: str) -> Messages:
    return [{"role": "system", "content": "You write passages for a search test."},
            {"role": "user", "content": f"Query: {query}\nRelevant passage: {doc[:600]}\n\nWrite a different short "
             "passage (2 or 3 sentences) that uses the same topic words as the query but does NOT answer it. "
             "Reply with the passage only."}]


_PREFIX = re.compile(r"^\s*(?:query|search query|question|passage|answer|task|sentence)\s*[:\-]\s*", re.I)


def clean(text: str) -> str:
    text = (text or "").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    text = lines[0].strip() if lines else ""
    text = _PREFIX.sub("", text).strip().strip('"“”\'').strip()
    return text


def check_task(text: str) -> str | None:
    t = clean(text)
    return t if t.lower().startswith("given") and 5 <= len(t.split()) <= 40 else None


def check_query(text: str, doc: str) -> str | None:
    q = clean(text)
    words = q.split()
    if not 3 <= len(words) <= 40 or len(q) > 300:
        return None
    if doc.strip().lower().startswith(q.lower()) or q.lower() in ("query", "search query"):
        return None  # a copy of the document's opening, or a label
    return q


def check_negative(text: str, query: str, doc: str) -> str | None:
    n = " ".join((text or "").split())
    n = _PREFIX.sub("", n).strip().strip('"“”').strip()
    words = n.split()
    if not 8 <= len(words) <= 200:
        return None
    if n.lower() == query.lower() or n.lower() in doc.lower():
        return None
    return n


@dataclass
class SynthStats:
    docs: int = 0
    written: int = 0
    with_negative: int = 0
    dropped: dict = field(default_factory=lambda: {"task": 0, "query": 0, "negative": 0})
    task: str = ""

    def to_dict(self) -> dict:
        return {"docs": self.docs, "written": self.written, "with_negative": self.with_negative,
                "dropped": dict(self.dropped), "task": self.task}


def synthesize(gen: Generator, docs: Iterable[tuple[str, str]], write: Callable[[dict], None],
               samples: list[str], negatives: bool = True, max_new_tokens: int = 64,
               progress: Callable[[int], None] | None = None) -> SynthStats:
    """For each (id, text): write {"query", "positive", "negative"?, "instruction", "doc_id"}."""
    stats = SynthStats()
    task = check_task(gen.chat(task_prompt(samples[:3]), max_new_tokens))
    if task is None:
        stats.dropped["task"] += 1
        task = DEFAULT_TASK
    stats.task = task
    for doc_id, text in docs:
        stats.docs += 1
        query = check_query(gen.chat(query_prompt(task, text), max_new_tokens), text)
        if query is None:
            stats.dropped["query"] += 1
        else:
            row = {"query": query, "positive": text, "instruction": task, "doc_id": doc_id}
            if negatives:
                neg = check_negative(gen.chat(negative_prompt(query, text), 2 * max_new_tokens), query, text)
                if neg is None:
                    stats.dropped["negative"] += 1
                else:
                    row["negative"] = neg
                    stats.with_negative += 1
            write(row)
            stats.written += 1
        if progress:
            progress(1)
    return stats


def collection_docs(collection, limit: int | None = None) -> list[tuple[str, str]]:
    out = []
    for chunk in collection.store.iter_documents(collection.id, chunk=1000, with_vectors=False):
        for row in chunk:
            out.append((row[0], row[1]))
            if limit is not None and len(out) >= limit:
                return out
    return out


def dumps(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False)
