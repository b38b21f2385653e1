"""ask(): retrieve a cited context, prompt a chat model, stream its answer, check its citations."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..errors import InvalidArgument
from .context import Context, build_context, check_question
from .generate import Generator, generator_for

SYSTEM = ("Answer the question in one or two short sentences, using only the numbered passages. Cite the "
          "passage you use by its number in square brackets, like [1]. If the passages do not answer the "
          "question, say that you do not know.")
TEMPLATE = "Passages:\n{context}\n\nQuestion: {question}"
K = 3                # passages: few and short, so a small model on a CPU answers in seconds
MAX_NEW_TOKENS = 96  # generation also stops at the end of the answer (see generate.STOP)
CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def load_template(value: str | None) -> str:
    """A template string, or the path of a file holding one; it must contain {context} and {question}."""
    if value is None:
        return TEMPLATE
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument("template: must be a non-empty string or file path", argument="template")
    if "{" not in value and len(value) < 4096 and Path(value).expanduser().is_file():
        value = Path(value).expanduser().read_text(encoding="utf-8")
    missing = [f for f in ("{context}", "{question}") if f not in value]
    if missing:
        raise InvalidArgument(f"template: must contain {' and '.join(missing)}", argument="template")
    return value


def render_prompt(template: str, context: Context) -> str:
    # replace, not format: passages may hold braces
    return template.replace("{context}", context.render()).replace("{question}", context.question.strip())


def check_citations(answer: str, n_passages: int) -> tuple[list[int], list[int], str]:
    """(valid numbers in order of first use, invalid numbers, answer with invalid numbers removed)."""
    valid: list[int] = []
    invalid: list[int] = []

    def fix(m: re.Match) -> str:
        nums = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        good = [x for x in nums if 1 <= x <= n_passages]
        for x in nums:
            (valid if x in good else invalid).append(x)
        return f"[{', '.join(map(str, good))}]" if good else ""

    cleaned = CITATION.sub(fix, answer)
    return list(dict.fromkeys(valid)), list(dict.fromkeys(invalid)), cleaned


class Answer:
    """A streaming answer. Iterate events() once: a context event, token events, then done."""

    def __init__(self, context: Context, messages: list[dict], generator: Generator, max_new_tokens: int,
                 temperature: float, prefix: str = ""):
        self.context = context
        self.prefix = prefix  # the start of the answer, written into the prompt (see Generator.answer_prefix)
        self.messages = messages
        self.generator = generator
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.result: dict | None = None
        self._started = False

    def events(self) -> Iterator[dict]:
        """{"event": "context", "passages"}, then {"event": "token", "text"} per piece, then
        {"event": "done", "answer", "raw_answer", "citations", "invalid_citations", "cited"}; `cited` is False
        when the answer names no passage that exists."""
        if self._started:
            raise InvalidArgument("answer: events() can be iterated only once; use .result", argument="answer")
        self._started = True
        yield {"event": "context", "question": self.context.question,
               "passages": [p.to_dict() for p in self.context.passages]}
        pieces = [self.prefix] if self.prefix else []
        if self.prefix:
            yield {"event": "token", "text": self.prefix}
        for piece in self.generator.stream(self.messages, self.max_new_tokens, self.temperature):
            pieces.append(piece)
            yield {"event": "token", "text": piece}
        raw = "".join(pieces).strip()
        valid, invalid, cleaned = check_citations(raw, len(self.context.passages))
        by_number = {p.citation: p for p in self.context.passages}
        self.result = {
            "event": "done", "answer": cleaned, "raw_answer": raw,
            "citations": [{"citation": n, "id": by_number[n].id, "document_id": by_number[n].document_id,
                           "source": by_number[n].source, "span": list(by_number[n].span) if by_number[n].span
                           else None} for n in valid],
            "invalid_citations": invalid, "cited": bool(valid)}
        yield self.result

    def complete(self) -> dict:
        """Run to the end and return the done event."""
        if self.result is None:
            for _ in self.events():
                pass
        return self.result


def ask(coll, question: str, *, k: int = K, max_tokens: int = 1024, mmr: float | None = None,
        hybrid: bool = False, dedupe: bool = True, where: dict | None = None, template: str | None = None,
        generator: Generator | None = None, api_base: str | None = None, api_key: str | None = None,
        model: str | None = None, max_new_tokens: int = MAX_NEW_TOKENS, temperature: float = 0.0,
        timeout: float = 30.0) -> Answer:
    """Retrieve now (bad input fails here); generation runs as Answer.events() is read."""
    check_question(question)
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens <= 0:
        raise InvalidArgument(f"max_new_tokens: must be a positive integer, got {max_new_tokens!r}",
                              argument="max_new_tokens")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature < 0:
        raise InvalidArgument(f"temperature: must be a number >= 0, got {temperature!r}", argument="temperature")
    tmpl = load_template(template)
    gen = generator or generator_for(api_base, api_key, model, timeout)
    ctx = build_context(coll, question, k=k, max_tokens=max_tokens, mmr=mmr, hybrid=hybrid, dedupe=dedupe,
                        where=where)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": render_prompt(tmpl, ctx)}]
    if gen.answer_prefix:
        messages.append({"role": "assistant", "content": gen.answer_prefix})
    return Answer(ctx, messages, gen, max_new_tokens, float(temperature), gen.answer_prefix)
