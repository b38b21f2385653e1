"""Transformer embedder: any HF encoder or decoder, pooled into one vector per text."""
from __future__ import annotations

import copy
import hashlib
import threading
from contextlib import contextmanager

from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InvalidArgument, Unsupported
from ..spec import EmbeddingSpec
from . import batching, trainable
from .base import Embedder, Progress
from .device import DTYPES, resolve_device, resolve_dtype
from .options import EmbedderOptions, Pooling, template
from .pooling import pool
from .presets import ResolvedModel
from .weights import weights_hash

ENCODER_TYPES = {"bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "deberta", "deberta-v2",
                 "electra", "albert", "camembert", "nomic_bert", "modernbert", "new", "e5"}
DECODER_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "gpt2"}

def _load_model(resolved: ResolvedModel, dtype: torch.dtype):
    """Full weights of the root model, then every adapter on the way up merged in order (a LoRA trained
    on top of a LoRA folder keeps both)."""
    if resolved.base is None:
        from transformers import AutoModel

        return AutoModel.from_pretrained(str(resolved.path), dtype=dtype)
    model = _load_model(resolved.base, dtype)
    if (resolved.path / "adapter_config.json").exists():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(resolved.path)).merge_and_unload()
    return model


def _weights_hash(resolved: ResolvedModel) -> str:
    own = weights_hash(resolved.path)
    if resolved.base is None:
        return own
    return "sha256:" + hashlib.sha256((_weights_hash(resolved.base) + own).encode()).hexdigest()


# A CPU forward pass over at most this many (padded) tokens, such as one query, runs on one torch thread:
# it is barely slower alone, and on a busy machine two threads waiting on each other at every op's
# barrier turn ~10 ms into ~500 ms (measured here while another process used both cores). The torch setting
# is process-wide, so a pass running in another thread meanwhile also gets one thread for that moment.
SMALL_WORK_TOKENS = 1024


@contextmanager
def _one_thread_if(small: bool):
    if not small or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class HFEmbedder(Embedder):
    """Loads AutoTokenizer + AutoModel from a local folder and pools hidden states."""

    def __init__(self, resolved: ResolvedModel, options: EmbedderOptions, device: str | None = None,
                 token_budget: int | None = None):
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        d = resolved.option_defaults()
        self.device = resolve_device(device)
        config = AutoConfig.from_pretrained(str(resolved.weights_path))
        archs = getattr(config, "architectures", None) or []
        self.is_decoder = config.model_type not in ENCODER_TYPES and (
            any(a.endswith("ForCausalLM") for a in archs) or bool(getattr(config, "is_decoder", False))
            or config.model_type in DECODER_TYPES)

        pooling = Pooling.parse(options.pooling or d.get("pooling") or
                                (Pooling.LAST_TOKEN if self.is_decoder else Pooling.MEAN))
        padding = (options.padding_side or d.get("padding_side") or ("left" if self.is_decoder else "right")).lower()
        if padding not in ("left", "right"):
            raise InvalidArgument(f"padding_side: must be left or right, got {padding!r}", argument="padding_side")
        if not self.is_decoder and padding == "left":
            raise InvalidArgument("padding_side: encoder models pad on the right", argument="padding_side")
        dtype = resolve_dtype(options.dtype, self.device)

        self.tokenizer = AutoTokenizer.from_pretrained(str(resolved.tokenizer_path))
        self.tokenizer.padding_side = padding
        model_max = min(int(getattr(self.tokenizer, "model_max_length", 512) or 512), 512)
        max_length = options.max_length or d.get("max_length") or model_max
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise InvalidArgument(f"max_length: must be an integer >= 2, got {max_length!r}", argument="max_length")
        query_template = template(options.query_template or d.get("query_template") or "{query}", "query", "{query}")
        document_template = template(options.document_template or d.get("document_template") or "{text}",
                                      "document", "{text}")
        append_eos = options.append_eos
        if append_eos is None:
            # A decoder has read the whole text only at its last token, so last-token pooling appends EOS;
            # not after a prompt such as PromptEOL's, whose own last token is the one to read.
            prompt_after_text = not document_template.rstrip().endswith("{text}")
            append_eos = resolved.defaults.get(
                "append_eos", self.is_decoder and pooling in (Pooling.LAST_TOKEN, Pooling.LAST_LINEAR)
                and not prompt_after_text)
        self.eos_id = self.tokenizer.eos_token_id
        if append_eos and self.eos_id is None:
            raise InvalidArgument("append_eos: the tokenizer has no EOS token", argument="append_eos")
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.eos_id if self.eos_id is not None else 0)

        self.model = _load_model(resolved, DTYPES[dtype]).to(self.device).eval()
        n_layers = getattr(config, "num_hidden_layers", None)
        if options.layer != -1 and (n_layers is None or not -n_layers - 1 <= options.layer <= n_layers):
            raise InvalidArgument(f"layer: must be between {-(n_layers or 0) - 1} and {n_layers}, got {options.layer}",
                                  argument="layer")
        hidden = int(getattr(config, "hidden_size", 0) or self.model.get_input_embeddings().embedding_dim)
        self.pooler = self._pooler(pooling, hidden, resolved, options)
        self.spec = EmbeddingSpec(
            model=resolved.name, weights_hash=_weights_hash(resolved), pooling=pooling.value,
            dim=self.pooler.out_dim if self.pooler else hidden, normalize=options.normalize, max_length=max_length,
            padding_side=padding, append_eos=bool(append_eos), layer=options.layer, query_template=query_template,
            document_template=document_template, dtype=dtype,
            pooling_weights_hash=self.pooler.weights_hash() if self.pooler else None,
            exclude_instruction=options.exclude_instruction)
        self.pooling = pooling
        self.path = resolved.path
        self.token_budget = token_budget or (65536 if self.device.type == "cuda" else 8192)
        self.max_batch = 512 if self.device.type == "cuda" else 128
        self._lock = threading.Lock()
        self._around: tuple[list[int], list[int]] | None = None
        self._plain = None  # see _untruncating
        self._tok_lock = threading.Lock()

    def _pooler(self, pooling: Pooling, hidden: int, resolved: ResolvedModel, options: EmbedderOptions):
        if not pooling.trainable:
            return None
        for folder in (options.pooler_path, resolved.path):
            if trainable.has_pooler(folder):
                pooler = trainable.load(folder)
                if pooler.kind != pooling.value or pooler.dim != hidden:
                    raise InvalidArgument(f"pooling: the pooler in {str(folder)!r} is {pooler.kind!r} over "
                                          f"{pooler.dim} dims, not {pooling.value!r} over {hidden}", argument="pooling")
                break
        else:
            pooler = trainable.create(pooling.value, hidden)  # untrained: starts as mean pooling
        return pooler.to(self.device).eval()

    # ---- tokenisation -------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the model sees them (special tokens, truncation and the EOS rule applied)."""
        return self._tokenize(texts)

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        limit = self.spec.max_length - (1 if self.spec.append_eos else 0)
        ids = self.tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=limit,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        if self.spec.append_eos:
            ids = [x if x and x[-1] == self.eos_id else x + [self.eos_id] for x in ids]
        return ids

    def count_tokens(self, texts: Sequence[str], *, truncate: bool = True) -> list[int]:
        if truncate:
            return [len(x) for x in self._tokenize(texts)]
        ids = self._untruncating()(list(texts), add_special_tokens=True, truncation=False,
                                   return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        eos = 1 if self.spec.append_eos else 0
        return [len(x) + (eos if not x or x[-1] != self.eos_id else 0) for x in ids]

    def _untruncating(self):
        """A second tokenizer for calls without truncation. A fast tokenizer keeps its truncation setting
        between calls; switching it on the shared one would race with tokenisation in other threads."""
        with self._tok_lock:
            if self._plain is None:
                self._plain = copy.deepcopy(self.tokenizer)
        return self._plain

    # ---- token ids --------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def _special(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a text's own tokens (e.g. [CLS] ... [SEP])."""
        if self._around is None:
            bare = self._untruncating()("a", add_special_tokens=False)["input_ids"]
            full = self._untruncating()("a", add_special_tokens=True)["input_ids"]
            at = next((i for i in range(len(full) - len(bare) + 1) if full[i:i + len(bare)] == bare), 0)
            self._around = (full[:at], full[at + len(bare):])
        return self._around

    def _wrap_ids(self, ids: Sequence[int], cut: bool = True) -> list[int]:
        """Token ids as _tokenize would give them for the text they spell: special tokens, cut, EOS."""
        before, after = self._special()
        limit = self.spec.max_length - (1 if self.spec.append_eos else 0)
        body = list(ids)[:max(limit - len(before) - len(after), 0)] if cut else list(ids)
        out = before + body + after
        if self.spec.append_eos and (not out or out[-1] != self.eos_id):
            out.append(self.eos_id)
        return out

    def _check_ids(self, ids: Sequence[Sequence[int]], kind: str) -> None:
        template = self.spec.query_template if kind == "query" else self.spec.document_template
        if template not in ("{query}", "{text}"):
            raise Unsupported(f"input: model {self.spec.model!r} wraps each {kind} in a template ({template!r}), "
                              "which token ids cannot carry; send text", argument="input")
        vocab = self.vocab_size
        for i, row in enumerate(ids):
            for j, t in enumerate(row):
                if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < vocab:
                    raise InvalidArgument(f"input[{i}][{j}]: token id {t!r} is outside the vocabulary of model "
                                          f"{self.spec.model!r} (ids 0 to {vocab - 1})", argument="input")

    def count_token_ids(self, ids: Sequence[Sequence[int]], *, truncate: bool = True) -> list[int]:
        return [len(self._wrap_ids(x, cut=truncate)) for x in ids]

    def embed_token_ids(self, ids: Sequence[Sequence[int]], kind: str = "document") -> np.ndarray:
        self._check_ids(ids, kind)
        wrapped = [self._wrap_ids(x) for x in ids]

        def produce() -> Iterator[tuple[np.ndarray, dict]]:
            for idx in batching.plan([len(x) for x in wrapped], self.token_budget, self.max_batch):
                yield idx, batching.pad([wrapped[i] for i in idx], self.pad_id, self.spec.padding_side == "left")

        return self._run(len(wrapped), produce, None)

    def _prefix_tokens(self, formatted: Sequence[str], prefix_chars: Sequence[int]) -> list[int]:
        """How many leading tokens of each text fall inside its instruction prefix."""
        enc = self.tokenizer(list(formatted), add_special_tokens=True, truncation=True,
                             max_length=self.spec.max_length, return_offsets_mapping=True)
        return [sum(1 for (_, e) in offs if e <= n) if n > 0 else 0
                for offs, n in zip(enc["offset_mapping"], prefix_chars)]

    def _format(self, texts: Sequence[str], kind: str, task: str | None) -> tuple[list[str], list[int] | None]:
        if kind == "document":
            return [self.spec.format_document(t) for t in texts], None
        formatted = [self.spec.format_query(q, task) for q in texts]
        if self.spec.exclude_instruction and self.pooling in (Pooling.MEAN, Pooling.WEIGHTED_MEAN, Pooling.MAX,
                                                              Pooling.LINEAR, Pooling.ATTENTION):
            tail = len(self.spec.query_template.split("{query}", 1)[1])
            return formatted, [len(f) - len(q) - tail for f, q in zip(formatted, texts)]
        return formatted, None

    def tokenize_batch(self, texts: Sequence[str], kind: str = "document", task: str | None = None) -> dict:
        """One padded batch (for training): input_ids, attention_mask, pool_mask."""
        formatted, prefix = self._format(texts, kind, task)
        skip = self._prefix_tokens(formatted, prefix) if prefix is not None else None
        return batching.pad(self._tokenize(formatted), self.pad_id, self.spec.padding_side == "left", skip)

    # ---- model --------------------------------------------------------
    def forward(self, batch: dict) -> torch.Tensor:
        """Pooled (and normalised) vectors for a padded batch; differentiable outside inference_mode."""
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
        pm = batch.get("pool_mask")
        pm = pm.to(self.device) if pm is not None else mask
        v = self.pooler(h, pm) if self.pooler is not None else pool(self.pooling, h, pm)
        return F.normalize(v, p=2, dim=-1) if self.spec.normalize else v

    def _forward_safe(self, batch: dict) -> torch.Tensor:
        """On CUDA out-of-memory, halve the batch (and the token budget) and retry."""
        try:
            return self.forward(batch)
        except torch.OutOfMemoryError:
            if batch["input_ids"].shape[0] <= 1:
                raise
            torch.cuda.empty_cache()
            self.token_budget = max(self.token_budget // 2, self.spec.max_length)
            a, b = batching.split(batch)
            return torch.cat([self._forward_safe(a), self._forward_safe(b)])

    def _embed(self, texts: Sequence[str], kind: str, task: str | None, progress: Progress | None) -> np.ndarray:
        window = 4096

        def produce() -> Iterator[tuple[np.ndarray, dict]]:
            for base in range(0, len(texts), window):
                formatted, prefix = self._format(texts[base:base + window], kind, task)
                ids = self._tokenize(formatted)
                skip = self._prefix_tokens(formatted, prefix) if prefix is not None else None
                for idx in batching.plan([len(x) for x in ids], self.token_budget, self.max_batch):
                    yield base + idx, batching.pad([ids[i] for i in idx], self.pad_id,
                                                   self.spec.padding_side == "left",
                                                   [skip[i] for i in idx] if skip is not None else None)

        return self._run(len(texts), produce, progress)

    def _run(self, n: int, produce: Callable[[], Iterator[tuple[np.ndarray, dict]]],
             progress: Progress | None) -> np.ndarray:
        """Vectors for n inputs from the padded batches `produce` yields as (row indices, batch)."""
        out = np.zeros((n, self.spec.dim), dtype=np.float32)
        if not n:
            return out
        with self._lock, torch.inference_mode():
            small = False
            if n > self.max_batch:
                batches = batching.prefetch(produce(), depth=2)  # tokenise while the model runs
            else:  # few texts (a query): tokenise inline
                batches = list(produce())
                tokens = sum(b["input_ids"].numel() for _, b in batches)
                small = self.device.type == "cpu" and tokens <= SMALL_WORK_TOKENS
            with _one_thread_if(small):
                for idx, batch in batches:
                    out[idx] = self._forward_safe(batch).float().cpu().numpy()
                    if progress:
                        progress(len(idx))
        return out

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self._embed(list(texts), "document", None, progress)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> np.ndarray:
        return self._embed(list(queries), "query", task, None)
