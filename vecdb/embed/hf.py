"""Transformer embedder: any HF encoder or decoder, pooled into one vector per text."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InvalidArgument
from ..spec import EmbeddingSpec
from .base import Embedder, Progress
from .device import DTYPES, resolve_device, resolve_dtype
from .pooling import Pooling, pool
from .presets import ResolvedModel
from .weights import weights_hash

ENCODER_TYPES = {"bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "deberta", "deberta-v2",
                 "electra", "albert", "camembert", "nomic_bert", "modernbert", "new", "e5"}


@dataclass(frozen=True)
class EmbedderOptions:
    """What a caller may choose. None means the preset's (or the model's) default."""
    model: str = "minilm"
    pooling: str | None = None
    max_length: int | None = None
    padding_side: str | None = None
    append_eos: bool | None = None
    layer: int = -1
    query_template: str | None = None
    document_template: str | None = None
    dtype: str | None = "auto"
    normalize: bool = True
    exclude_instruction: bool = False

    @classmethod
    def from_spec(cls, spec: EmbeddingSpec) -> "EmbedderOptions":
        return cls(model=spec.model, pooling=spec.pooling, max_length=spec.max_length,
                   padding_side=spec.padding_side, append_eos=spec.append_eos, layer=spec.layer,
                   query_template=spec.query_template, document_template=spec.document_template,
                   dtype=spec.dtype, normalize=spec.normalize, exclude_instruction=spec.exclude_instruction)

    def merged(self, **explicit) -> "EmbedderOptions":
        return replace(self, **{k: v for k, v in explicit.items() if v is not None})


def _check_template(value: str, field: str, required: str) -> str:
    if required not in value:
        raise InvalidArgument(f"{field}: template must contain {required}", argument=field)
    try:
        value.format(query="q", text="t", task="x")
    except (KeyError, IndexError, ValueError) as e:
        raise InvalidArgument(f"{field}: invalid template ({e}); allowed fields: {{task}}, {{query}}, {{text}}",
                              argument=field) from None
    return value


class HFEmbedder(Embedder):
    """Loads AutoTokenizer + AutoModel from a local folder and pools hidden states."""

    def __init__(self, resolved: ResolvedModel, options: EmbedderOptions, device: str | None = None,
                 token_budget: int | None = None):
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        preset = resolved.preset
        self.device = resolve_device(device)
        config = AutoConfig.from_pretrained(str(resolved.path))
        archs = getattr(config, "architectures", None) or []
        self.is_decoder = config.model_type not in ENCODER_TYPES and (
            any(a.endswith("ForCausalLM") for a in archs) or bool(getattr(config, "is_decoder", False))
            or config.model_type in {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "gpt2"})

        pooling = Pooling.parse(options.pooling or (preset.pooling if preset else
                                                   (Pooling.LAST_TOKEN if self.is_decoder else Pooling.MEAN)))
        padding = (options.padding_side or (preset.padding_side if preset else
                                            ("left" if self.is_decoder else "right"))).lower()
        if padding not in ("left", "right"):
            raise InvalidArgument(f"padding_side: must be left or right, got {padding!r}", argument="padding_side")
        if not self.is_decoder and padding == "left":
            raise InvalidArgument("padding_side: encoder models pad on the right", argument="padding_side")
        dtype = resolve_dtype(options.dtype, self.device)

        self.tokenizer = AutoTokenizer.from_pretrained(str(resolved.path))
        self.tokenizer.padding_side = padding
        model_max = getattr(self.tokenizer, "model_max_length", 512) or 512
        max_length = options.max_length or (preset.max_length if preset else min(int(model_max), 512))
        if not isinstance(max_length, int) or max_length < 2:
            raise InvalidArgument(f"max_length: must be an integer >= 2, got {max_length!r}", argument="max_length")
        append_eos = options.append_eos if options.append_eos is not None else (
            preset.append_eos if preset else (self.is_decoder and pooling == Pooling.LAST_TOKEN))
        self.eos_id = self.tokenizer.eos_token_id
        if append_eos and self.eos_id is None:
            raise InvalidArgument("append_eos: the tokenizer has no EOS token", argument="append_eos")
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.eos_id if self.eos_id is not None else 0)
        query_template = _check_template(options.query_template or (preset.query_template if preset else "{query}"),
                                         "query_template", "{query}")
        document_template = _check_template(options.document_template or "{text}", "document_template", "{text}")

        model = AutoModel.from_pretrained(str(resolved.path), dtype=DTYPES[dtype])
        self.model = model.to(self.device).eval()
        n_layers = getattr(config, "num_hidden_layers", None)
        if options.layer != -1 and (n_layers is None or not -n_layers - 1 <= options.layer <= n_layers):
            raise InvalidArgument(f"layer: must be between {-(n_layers or 0) - 1} and {n_layers}, got {options.layer}",
                                  argument="layer")
        dim = int(getattr(config, "hidden_size", 0) or model.get_input_embeddings().embedding_dim)
        self.spec = EmbeddingSpec(
            model=resolved.name, weights_hash=weights_hash(resolved.path), pooling=pooling.value, dim=dim,
            normalize=options.normalize, max_length=max_length, padding_side=padding, append_eos=bool(append_eos),
            layer=options.layer, query_template=query_template, document_template=document_template, dtype=dtype,
            exclude_instruction=options.exclude_instruction)
        self.pooling = pooling
        self.path = resolved.path
        self.token_budget = token_budget or (65536 if self.device.type == "cuda" else 8192)
        self.max_batch = 512 if self.device.type == "cuda" else 128
        self._lock = threading.Lock()

    # ---- tokenisation -------------------------------------------------
    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        limit = self.spec.max_length - (1 if self.spec.append_eos else 0)
        ids = self.tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=limit,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        if self.spec.append_eos:
            ids = [x if x and x[-1] == self.eos_id else x + [self.eos_id] for x in ids]
        return ids

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(x) for x in self._tokenize(texts)]

    def _prefix_tokens(self, formatted: Sequence[str], prefix_chars: Sequence[int]) -> list[int]:
        """How many leading tokens of each text fall inside its instruction prefix."""
        enc = self.tokenizer(list(formatted), add_special_tokens=True, truncation=True,
                             max_length=self.spec.max_length, return_offsets_mapping=True)
        out = []
        for offsets, n in zip(enc["offset_mapping"], prefix_chars):
            out.append(sum(1 for (_, e) in offsets if e <= n) if n > 0 else 0)
        return out

    def _batches(self, ids: list[list[int]], skip: list[int] | None) -> Iterator[tuple[np.ndarray, dict]]:
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        i = 0
        left = self.spec.padding_side == "left"
        while i < len(order):
            longest = len(ids[order[i]])
            size = max(1, min(self.max_batch, self.token_budget // max(longest, 1)))
            idx = order[i:i + size]
            i += size
            width = max(len(ids[j]) for j in idx)
            input_ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            pool_mask = None
            if skip is not None:
                pool_mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, j in enumerate(idx):
                seq = ids[j]
                start = width - len(seq) if left else 0
                input_ids[r, start:start + len(seq)] = torch.tensor(seq, dtype=torch.long)
                mask[r, start:start + len(seq)] = 1
                if pool_mask is not None:
                    pool_mask[r, start + min(skip[j], len(seq) - 1):start + len(seq)] = 1
            yield np.asarray(idx), {"input_ids": input_ids, "attention_mask": mask, "pool_mask": pool_mask}

    # ---- model --------------------------------------------------------
    def _forward(self, batch: dict) -> torch.Tensor:
        mask = batch["attention_mask"].to(self.device)
        kwargs = {"input_ids": batch["input_ids"].to(self.device), "attention_mask": mask}
        if self.is_decoder:
            kwargs["position_ids"] = (mask.cumsum(1) - 1).clamp(min=0)
            kwargs["use_cache"] = False
        layer = self.spec.layer
        if layer != -1:
            kwargs["output_hidden_states"] = True
        out = self.model(**kwargs)
        if layer == -1:
            h = out.last_hidden_state.float()
        else:
            h = out.hidden_states[layer].float()
            h = F.layer_norm(h, h.shape[-1:])
        pm = batch["pool_mask"]
        v = pool(self.pooling, h, pm.to(self.device) if pm is not None else mask)
        if self.spec.normalize:
            v = F.normalize(v, p=2, dim=-1)
        return v

    def _embed(self, formatted: list[str], prefix_chars: list[int] | None, progress: Progress | None) -> np.ndarray:
        out = np.zeros((len(formatted), self.spec.dim), dtype=np.float32)
        if not formatted:
            return out
        window = 4096
        chunks = [formatted[s:s + window] for s in range(0, len(formatted), window)]

        def produce() -> Iterator[tuple[int, np.ndarray, dict]]:
            for c, chunk in enumerate(chunks):
                ids = self._tokenize(chunk)
                skip = None
                if prefix_chars is not None:
                    skip = self._prefix_tokens(chunk, prefix_chars[c * window:(c + 1) * window])
                for idx, batch in self._batches(ids, skip):
                    yield c * window, idx, batch

        with self._lock, torch.inference_mode():
            for base, idx, batch in _prefetch(produce(), depth=2):
                out[base + idx] = self._forward(batch).cpu().numpy()
                if progress:
                    progress(len(idx))
        return out

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self._embed([self.spec.format_document(t) for t in texts], None, progress)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> np.ndarray:
        formatted = [self.spec.format_query(q, task) for q in queries]
        prefix = None
        if self.spec.exclude_instruction and self.pooling in (Pooling.MEAN, Pooling.WEIGHTED_MEAN, Pooling.MAX):
            prefix = [len(f) - len(q) - _suffix_len(self.spec.query_template) for f, q in zip(formatted, queries)]
        return self._embed(formatted, prefix, None)


def _suffix_len(template: str) -> int:
    return len(template.split("{query}", 1)[1])


_END = object()


def _prefetch(gen: Iterator, depth: int = 2) -> Iterator:
    """Run a generator in a thread, `depth` items ahead (tokenise while the model runs)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    err: list[BaseException] = []
    stop = threading.Event()

    def worker():
        try:
            for item in gen:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # re-raised in the consumer
            err.append(e)
        finally:
            while not stop.is_set():
                try:
                    q.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                break
            yield item
    finally:
        stop.set()
    if err:
        raise err[0]
