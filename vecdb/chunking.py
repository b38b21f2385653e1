"""Split long texts into token-bounded chunks with exact character spans.

A chunk holds at most `size` tokens of the collection's own tokenizer (special tokens included) and
ends, by preference, at a paragraph break, else a sentence end, else between words. The next chunk
starts `overlap` tokens before the previous one ended, at a word start.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidArgument

PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
SENTENCE = re.compile(r"[.!?][\"')\]]*\s+")
SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int   # text[start:end] is the chunk, exactly
    end: int
    text: str


def check_sizes(size, overlap, max_length: int | None = None) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise InvalidArgument(f"chunk_size: must be an integer >= 8 tokens, got {size!r}", argument="chunk_size")
    if max_length is not None and size > max_length:
        raise InvalidArgument(f"chunk_size: {size} exceeds the collection's max_length of {max_length} tokens",
                              argument="chunk_size")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < size // 2:
        raise InvalidArgument(f"chunk_overlap: must be an integer from 0 to {size // 2 - 1} (under half of "
                              f"chunk_size), got {overlap!r}", argument="chunk_overlap")


class Chunker:
    def __init__(self, tokenizer, size: int = 256, overlap: int = 32, max_length: int | None = None):
        check_sizes(size, overlap, max_length)
        self.tok = tokenizer
        self.size, self.overlap = size, overlap
        self.special = len(tokenizer("", add_special_tokens=True)["input_ids"])
        self.budget = size - self.special

    def _offsets(self, text: str) -> list[tuple[int, int]]:
        enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                       verbose=False)
        return [(s, e) for s, e in enc["offset_mapping"] if e > s]

    def count(self, text: str) -> int:
        return len(self.tok(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def split(self, text: str) -> list[Chunk]:
        offs = self._offsets(text)
        if not offs:
            return [Chunk(0, 0, len(text), text)] if text.strip() else []
        chunks: list[Chunk] = []
        i, n = 0, len(offs)
        while i < n:
            start = offs[i][0]
            j = min(i + self.budget, n)  # tokens i .. j-1 fit
            end = offs[n - 1][1] if j == n else self._break(text, start, offs[i + (j - i) // 4][1], offs[j - 1][1],
                                                             offs[j][0])
            while self.count(text[start:end]) > self.size and end > offs[i][1]:  # re-tokenised substring
                end = max(e for s, e in offs[i:j] if e < end) if any(e < end for s, e in offs[i:j]) else offs[i][1]
            chunks.append(Chunk(len(chunks), start, end, text[start:end]))
            k = next((t for t in range(i, n) if offs[t][1] > end), n)  # first token not fully inside
            if k >= n:
                break
            i = self._next_start(text, offs, max(i + 1, k - self.overlap), k) if self.overlap else k
        return chunks

    @staticmethod
    def _break(text: str, start: int, floor: int, limit: int, next_start: int) -> int:
        """Best end in (floor, limit]: paragraph, then sentence, then word; else the token boundary."""
        window = text[start:next_start]
        for pattern in (PARAGRAPH, SENTENCE, SPACE):
            best = None
            for m in pattern.finditer(window):
                if pattern is SENTENCE:  # keep the full stop (and a closing quote) in the chunk
                    cut = start + m.start() + len(m.group().rstrip())
                else:
                    cut = start + len(text[start:start + m.start()].rstrip())
                if floor < cut <= limit:
                    best = cut
            if best is not None:
                return best
        return limit

    @staticmethod
    def _next_start(text: str, offs: list[tuple[int, int]], lo: int, k: int) -> int:
        """The first token in [lo, k] that starts a word (so overlaps do not begin mid-word)."""
        for t in range(lo, k + 1):
            s = offs[t][0]
            if s == 0 or text[s - 1].isspace():
                return t
        return k


def chunk_text(tokenizer, text: str, size: int = 256, overlap: int = 32) -> list[Chunk]:
    return Chunker(tokenizer, size, overlap).split(text)


def check_sources(sources, n: int) -> list[str | None]:
    """One source label (a file path, say) or None per text."""
    if sources is None:
        return [None] * n
    if isinstance(sources, str) or not isinstance(sources, (list, tuple)) or len(sources) != n or \
            not all(s is None or (isinstance(s, str) and s) for s in sources):
        raise InvalidArgument(f"sources: expected {n} non-empty strings or None", argument="sources")
    return list(sources)


def parent_hash(text: str, metadata_json: str | None, source: str | None, settings: str) -> str:
    """A chunked document's hash: unchanged text, metadata, source and settings mean nothing to redo."""
    from .records import content_hash

    return content_hash("\0".join([text, metadata_json or "", source or "", settings]))
