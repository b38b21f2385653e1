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
from .device import DTYPES, INT8, choose_runtime, cpu_has_native_bf16, dtype_name, resolve_device
from .options import EmbedderOptions
from .presets import ResolvedModel
from .registry import PoolingMode
from .resolution import ModelFacts, resolve_options
from .weights import weights_hash

ENCODER_TYPES = {"bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "deberta", "deberta-v2",
                 "electra", "albert", "camembert", "nomic_bert", "modernbert", "new", "e5"}
DECODER_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "gpt2"}


def is_decoder(config) -> bool:
    archs = getattr(config, "architectures", None) or []
    return config.model_type not in ENCODER_TYPES and (
        any(a.endswith("ForCausalLM") for a in archs) or bool(getattr(config, "is_decoder", False))
        or config.model_type in DECODER_TYPES)


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
PREFETCH_ABOVE = 128  # texts: more than this, and tokenising overlaps the model in a second thread


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


def _max_batch(device_type: str, runtime: str, dtype: str) -> int:
    """Most texts per forward pass. int8 quantises a matmul's input with one scale per call, so one document
    a call keeps its vector independent of its batch (and leaves no padding); ONNX Runtime's float32 runs
    fastest on small batches, several sessions at once (bench/results/embed_throughput.md)."""
    if device_type == "cuda":
        return 512
    if dtype == INT8:
        return 1
    return 8 if runtime == "onnx" else 128


class HFEmbedder(Embedder):
    """Loads AutoTokenizer + AutoModel from a local folder: hidden states, then the pooler."""

    def __init__(self, resolved: ResolvedModel, options: EmbedderOptions, device: str | None = None,
                 token_budget: int | None = None):
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.device = resolve_device(device)
        config = AutoConfig.from_pretrained(str(resolved.weights_path))
        self.is_decoder = is_decoder(config)
        self.tokenizer = AutoTokenizer.from_pretrained(str(resolved.tokenizer_path))
        self.eos_id = self.tokenizer.eos_token_id
        facts = ModelFacts(self.is_decoder, getattr(self.tokenizer, "model_max_length", None),
                           self.eos_id is not None, getattr(config, "num_hidden_layers", None))
        r = resolve_options(options, resolved.option_defaults(), facts, resolved.defaults)
        self.tokenizer.padding_side = r.padding_side
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.eos_id if self.eos_id is not None else 0)
        runtime, dtype = self._runtime(options, config.model_type, resolved.int8_checked)

        weights = _weights_hash(resolved)
        model = _load_model(resolved, DTYPES.get(dtype, torch.float32)).to(self.device).eval()
        hidden = int(getattr(config, "hidden_size", 0) or model.get_input_embeddings().embedding_dim)
        self.model, self.runner = model, None
        if runtime == "onnx":
            from . import ort

            path = ort.export(model, r.layer, weights)
            self.runner = ort.OnnxRunner(ort.quantize(path) if dtype == INT8 else path, torch.get_num_threads())
            self.model = None  # the session holds its own copy of the weights
        self.pooler = self._pooler(r.pooling, hidden, resolved, options)
        self.spec = EmbeddingSpec(
            model=resolved.name, weights_hash=weights, pooling=r.pooling.value, dim=self.pooler.out_dim,
            normalize=options.normalize, max_length=r.max_length, padding_side=r.padding_side,
            append_eos=r.append_eos, layer=r.layer, query_template=r.query_template,
            document_template=r.document_template, dtype=dtype, pooling_weights_hash=self.pooler.weights_hash(),
            exclude_instruction=options.exclude_instruction, runtime=runtime)
        self.pooling = r.pooling
        self.path = resolved.path
        self.token_budget = token_budget or (65536 if self.device.type == "cuda" else 8192)
        self.max_batch = _max_batch(self.device.type, runtime, dtype)
        self._lock = threading.Lock()
        self._around: tuple[list[int], list[int]] | None = None
        self._plain = None  # see _untruncating
        self._tok_lock = threading.Lock()

    def _runtime(self, options: EmbedderOptions, model_type: str, int8_checked: bool) -> tuple[str, str]:
        from . import ort

        cpu = self.device.type == "cpu"
        wants_auto = dtype_name(options.dtype) == "auto"
        return choose_runtime(options.dtype, options.runtime, self.device.type,
                              native_bf16=cpu and wants_auto and options.runtime != "onnx" and cpu_has_native_bf16(),
                              cuda_bf16=not cpu and torch.cuda.is_bf16_supported(),
                              onnx_ok=cpu and ort.available(model_type), int8_ok=int8_checked)

    def _pooler(self, pooling: PoolingMode, hidden: int, resolved: ResolvedModel, options: EmbedderOptions):
        if not pooling.trainable:
            return pooling.build(hidden).to(self.device)
        for folder in (options.pooler_path, resolved.path):
            if trainable.has_pooler(folder):
                pooler = trainable.load(folder)
                if pooler.kind != pooling.value or pooler.dim != hidden:
                    raise InvalidArgument(f"pooling: the pooler in {str(folder)!r} is {pooler.kind!r} over "
                                          f"{pooler.dim} dims, not {pooling.value!r} over {hidden}", argument="pooling")
                break
        else:
            pooler = trainable.create(pooling.value, hidden)  # untrained: starts as plain pooling
        return pooler.to(self.device).eval()

    # ---- tokenisation -------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the model sees them (special tokens, truncation and the EOS rule applied)."""
        limit = self.spec.max_length - (1 if self.spec.append_eos else 0)
        ids = self.tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=limit,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        if self.spec.append_eos:
            ids = [x if x and x[-1] == self.eos_id else x + [self.eos_id] for x in ids]
        return ids

    def count_tokens(self, texts: Sequence[str], *, truncate: bool = True) -> list[int]:
        if truncate:
            return [len(x) for x in self.tokenize(texts)]
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
        """Token ids as tokenize would give them for the text they spell: special tokens, cut, EOS."""
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

    def prefix_tokens(self, formatted: Sequence[str], prefix_chars: Sequence[int]) -> list[int]:
        """How many leading tokens of each text fall inside its instruction prefix."""
        enc = self.tokenizer(list(formatted), add_special_tokens=True, truncation=True,
                             max_length=self.spec.max_length, return_offsets_mapping=True)
        return [sum(1 for (_, e) in offs if e <= n) if n > 0 else 0
                for offs, n in zip(enc["offset_mapping"], prefix_chars)]

    def _format(self, texts: Sequence[str], kind: str, task: str | None) -> tuple[list[str], list[int] | None]:
        if kind == "document":
            return [self.spec.format_document(t) for t in texts], None
        formatted = [self.spec.format_query(q, task) for q in texts]
        if self.spec.exclude_instruction and not self.pooler.sees_instruction:
            tail = len(self.spec.query_template.split("{query}", 1)[1])
            return formatted, [len(f) - len(q) - tail for f, q in zip(formatted, texts)]
        return formatted, None

    def tokenize_batch(self, texts: Sequence[str], kind: str = "document", task: str | None = None) -> dict:
        """One padded batch (for training): input_ids, attention_mask, pool_mask."""
        formatted, prefix = self._format(texts, kind, task)
        skip = self.prefix_tokens(formatted, prefix) if prefix is not None else None
        return batching.pad(self.tokenize(formatted), self.pad_id, self.spec.padding_side == "left", skip)

    # ---- model --------------------------------------------------------
    def hidden_states(self, batch: dict) -> torch.Tensor:
        """Float32 hidden states (the spec's layer) of a padded batch; differentiable outside inference_mode
        on the torch runtime."""
        mask = batch["attention_mask"]
        layer = self.spec.layer
        if self.runner is not None:
            return self._layer_output(self.runner(batch["input_ids"], mask).to(self.device))
        mask = mask.to(self.device)
        kwargs = {"input_ids": batch["input_ids"].to(self.device), "attention_mask": mask}
        if self.is_decoder:
            kwargs["position_ids"] = (mask.cumsum(1) - 1).clamp(min=0)
            kwargs["use_cache"] = False
        if layer != -1:
            kwargs["output_hidden_states"] = True
        out = self.model(**kwargs)
        return self._layer_output((out.last_hidden_state if layer == -1 else out.hidden_states[layer]).float())

    def _layer_output(self, h: torch.Tensor) -> torch.Tensor:
        return h if self.spec.layer == -1 else F.layer_norm(h, h.shape[-1:])

    def forward(self, batch: dict, runner_output: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled (and normalised) vectors for a padded batch (`runner_output`: its hidden states from the
        onnx runner, already computed)."""
        pm = batch.get("pool_mask")
        pm = (pm if pm is not None else batch["attention_mask"]).to(self.device)
        h = self.hidden_states(batch) if runner_output is None else self._layer_output(runner_output)
        v = self.pooler(h, pm)
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
                ids = self.tokenize(formatted)
                skip = self.prefix_tokens(formatted, prefix) if prefix is not None else None
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
            if n > max(self.max_batch, PREFETCH_ABOVE):
                batches = batching.prefetch(produce(), depth=2)  # tokenise while the model runs
            else:  # few texts (a query): tokenise inline
                batches = list(produce())
                tokens = sum(b["input_ids"].numel() for _, b in batches)
                small = self.device.type == "cpu" and tokens <= SMALL_WORK_TOKENS
            if self.runner is not None and not small:  # several sessions at once; pooling here
                for idx, batch, hidden in self.runner.map(batches):
                    out[idx] = self.forward(batch, hidden).float().cpu().numpy()
                    if progress:
                        progress(len(idx))
                return out
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
