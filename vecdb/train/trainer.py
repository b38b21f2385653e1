"""Contrastive fine-tuning with InfoNCE: the full model, LoRA adapters, or only a trainable pooling layer.

Queries get the embedder's query template (with the example's instruction as the task); documents stay
raw. Each epoch ends with a checkpoint in OUT/checkpoint; running the same training again resumes after
the last finished epoch. The result is a model folder that `load_embedder(model=OUT)`, `vecdb create
--model OUT` and `vecdb reembed --model OUT` accept."""
from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..errors import InvalidArgument
from ..embed import EmbedderOptions, HFEmbedder, resolve
from ..embed.presets import SPEC_FILE
from .data import Example
from .loss import false_negative_mask, info_nce
from .strategies import STRATEGIES, Strategy, feature_cache

MODES = tuple(STRATEGIES)
CHECKPOINT = "checkpoint"


@dataclass
class TrainConfig:
    model: str = "minilm"
    mode: str = "pooling"
    pooling: str | None = None       # a registered mode (a trainable one in pooling mode); None: the model's
    epochs: int = 1
    batch_size: int = 32
    lr: float | None = None
    tau: float = 0.05
    max_length: int | None = None
    max_negatives: int = 7           # hard negatives per query used in a step
    gradient_checkpointing: bool = False
    cache_chunk: int | None = None   # GradCache: encode in chunks of this size, the loss sees the whole batch
    lora_r: int = 8
    lora_alpha: int = 16
    weight_decay: float = 0.0
    seed: int = 0
    device: str | None = None
    dtype: str | None = None         # None: the strategy's (auto for the frozen pooling mode, else float32)
    bf16: bool | None = None         # bf16 autocast of the trained model's forward pass; None: on CUDA only
    init: str = "identity"           # pooling mode, linear kinds: "standardize" starts from z-scored features

    def check(self) -> None:
        if self.mode not in MODES:
            raise InvalidArgument(f"mode: must be one of {', '.join(MODES)}, got {self.mode!r}", argument="mode")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name}: must be >= 1, got {getattr(self, name)}", argument=name)
        if self.tau <= 0:
            raise InvalidArgument(f"tau: must be > 0, got {self.tau}", argument="tau")
        if self.init not in ("identity", "standardize"):
            raise InvalidArgument(f"init: must be identity or standardize, got {self.init!r}", argument="init")
        if self.lr is not None and self.lr <= 0:
            raise InvalidArgument(f"lr: must be > 0, got {self.lr}", argument="lr")
        if self.cache_chunk is not None and self.cache_chunk < 1:
            raise InvalidArgument(f"cache_chunk: must be >= 1, got {self.cache_chunk}", argument="cache_chunk")

    @property
    def strategy(self) -> Strategy:
        return STRATEGIES[self.mode]


def load_for_training(config: TrainConfig) -> HFEmbedder:
    """The embedder to train: float32 weights (bf16 autocast on GPU, or where config.bf16), the pooling the
    strategy trains with."""
    resolved, strategy = resolve(config.model), config.strategy
    options = EmbedderOptions(model=config.model, max_length=config.max_length,
                              dtype=config.dtype or strategy.dtype, runtime=strategy.runtime)
    base = HFEmbedder(resolved, options, device=config.device)
    pooling = strategy.pooling(config, base.spec.pooling)
    if pooling and pooling != base.spec.pooling:
        base = HFEmbedder(resolved, options.merged(pooling=pooling), device=config.device)
    return base


class _Batches:
    """Deterministic shuffled batches per epoch (so a resumed run sees the same order)."""

    def __init__(self, examples: Sequence[Example], batch_size: int, seed: int):
        self.examples, self.batch_size, self.seed = list(examples), batch_size, seed

    def epoch(self, e: int) -> list[list[Example]]:
        order = list(range(len(self.examples)))
        random.Random(self.seed * 1000 + e).shuffle(order)
        return [[self.examples[i] for i in order[s:s + self.batch_size]]
                for s in range(0, len(order), self.batch_size)]


def batch_mask(batch: Sequence[Example], max_negatives: int) -> tuple[list[str], torch.Tensor]:
    """The batch's hard negatives (flattened) and the false-negative mask over [positives; negatives]."""
    neg_texts, neg_keys = [], []
    for ex in batch:
        neg_texts += ex.negatives[:max_negatives]
        neg_keys += ex.negative_keys()[:max_negatives]
    pos_keys = [ex.key() for ex in batch]
    mask = false_negative_mask(pos_keys, pos_keys + neg_keys, [ex.positive for ex in batch],
                               [ex.positive for ex in batch] + neg_texts, [ex.positive_ids for ex in batch])
    return neg_texts, mask


class Trainer:
    def __init__(self, config: TrainConfig, out: str | Path, log: Callable[[str], None] | None = None):
        config.check()
        self.config, self.out, self.strategy = config, Path(out), config.strategy
        self.log = log or (lambda msg: None)
        torch.manual_seed(config.seed)
        self.emb = load_for_training(config)
        self.params = self.strategy.setup(self)
        lr = config.lr or self.strategy.lr
        self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=config.weight_decay)
        self.autocast = config.bf16 if config.bf16 is not None else self.emb.device.type == "cuda"
        self.features: dict | None = None

    def modules(self) -> list[torch.nn.Module]:
        return [m for m in self.strategy.modules(self.emb) if m is not None]

    # ---- encoding ------------------------------------------------------
    def _format_queries(self, batch: Sequence[Example]) -> list[str]:
        return [self.emb.spec.format_query(ex.query, ex.instruction) for ex in batch]

    def encode(self, texts: Sequence[str], kind: str) -> torch.Tensor:
        """Differentiable vectors; kind 'query' texts are already formatted."""
        return self.strategy.encode(self, texts, kind)

    def use_features(self, queries: dict, documents: dict) -> None:
        """Pooling mode: frozen features computed elsewhere ({formatted query: tensor}, {document: tensor})."""
        self.features = {"query": queries, "document": documents}

    def prepare_features(self, examples: Sequence[Example]) -> None:
        """Pooling mode: run the frozen model once over every query and document of the data."""
        if self.features is not None:
            return
        cache = self.out / CHECKPOINT / "features.pt"
        if cache.exists():
            self.features = torch.load(cache, weights_only=False)
            return
        queries = sorted({q for ex in examples for q in self._format_queries([ex])})
        docs = sorted({t for ex in examples for t in [ex.positive, *ex.negatives[:self.config.max_negatives]]})
        self.log(f"caching frozen features of {len(queries)} queries and {len(docs)} documents")
        self.features = feature_cache(self, queries, docs)
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.features, cache)

    def standardize(self) -> None:
        """Start the projection as a z-score of the frozen document features: raw LLM hidden states are
        dominated by a few huge dimensions, which cosine similarity then mostly measures."""
        pooler = self.emb.pooler
        if pooler.feature == "tokens" or pooler.out_dim != pooler.dim:
            raise InvalidArgument("init: standardize needs a pooling with a linear head over one vector per text, "
                                  "of equal width", argument="init")
        x = torch.stack(list(self.features["document"].values())).float()
        mu, sd = x.mean(0), x.std(0).clamp(min=1e-6)
        scale = sd.mean() / sd  # cosine ignores the overall scale: keep weights near 1 so the lr means the same
        with torch.no_grad():
            pooler.proj.weight.copy_(torch.diag(scale).to(pooler.proj.weight.device))
            pooler.proj.bias.copy_((-mu * scale).to(pooler.proj.bias.device))

    # ---- one step ------------------------------------------------------
    def loss(self, batch: Sequence[Example]) -> torch.Tensor:
        negs, mask = batch_mask(batch, self.config.max_negatives)
        q = self.encode(self._format_queries(batch), "query")
        d = self.encode([ex.positive for ex in batch] + negs, "document")
        return info_nce(q, d[:len(batch)], d[len(batch):], tau=self.config.tau, mask=mask)

    def step(self, batch: Sequence[Example]) -> float:
        self.opt.zero_grad(set_to_none=True)
        if self.config.cache_chunk and self.strategy.gradcache:
            value = self._gradcache_backward(batch)
        else:
            loss = self.loss(batch)
            loss.backward()
            value = loss.item()
        self.opt.step()
        return value

    def _gradcache_backward(self, batch: Sequence[Example]) -> float:
        """GradCache: embed without a graph, take the loss gradient w.r.t. the embeddings, then re-encode
        chunk by chunk with a graph and backpropagate those gradients (same gradient, bounded memory)."""
        size = self.config.cache_chunk
        negs, mask = batch_mask(batch, self.config.max_negatives)
        groups = [(self._format_queries(batch), "query"), ([ex.positive for ex in batch] + negs, "document")]
        reps, states = [], []
        with torch.no_grad():
            for texts, kind in groups:
                parts = []
                for s in range(0, len(texts), size):
                    states.append(torch.get_rng_state())
                    parts.append(self.encode(texts[s:s + size], kind))
                reps.append(torch.cat(parts).detach().requires_grad_())
        q, d = reps
        loss = info_nce(q, d[:len(batch)], d[len(batch):], tau=self.config.tau, mask=mask)
        loss.backward()
        n = 0
        for (texts, kind), rep in zip(groups, reps):
            for s in range(0, len(texts), size):
                torch.set_rng_state(states[n])
                n += 1
                part = self.encode(texts[s:s + size], kind)
                part.backward(rep.grad[s:s + size])
        return loss.item()

    # ---- checkpoints ---------------------------------------------------
    def _trainable_state(self) -> dict:
        return {k: v.detach().cpu().clone() for m_name, m in (("model", self.emb.model), ("pooler", self.emb.pooler))
                if m is not None for k, v in _prefixed(m_name, m) if v.requires_grad}

    def save_checkpoint(self, epoch: int) -> None:
        folder = self.out / CHECKPOINT
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"state.tmp{os.getpid()}"
        torch.save({"epoch": epoch, "config": asdict(self.config), "params": self._trainable_state(),
                    "optimizer": self.opt.state_dict()}, tmp)
        os.replace(tmp, folder / "state.ckpt")

    def load_checkpoint(self) -> int:
        """The number of finished epochs of an earlier run of the same training (0 if none)."""
        path = self.out / CHECKPOINT / "state.ckpt"
        if not path.exists():
            return 0
        state = torch.load(path, weights_only=False)
        free = ("epochs", "device", "dtype", "bf16")
        same = {k: v for k, v in state["config"].items() if k not in free}
        mine = {k: v for k, v in asdict(self.config).items() if k not in free}
        if same != mine:
            raise InvalidArgument(f"out: {str(self.out)!r} holds a checkpoint of a different training; "
                                  "use another --out or delete it", argument="out")
        params = state["params"]
        for m_name, m in (("model", self.emb.model), ("pooler", self.emb.pooler)):
            if m is None:
                continue
            with torch.no_grad():
                for k, v in _prefixed(m_name, m):
                    if k in params:
                        v.copy_(params[k])
        self.opt.load_state_dict(state["optimizer"])
        return int(state["epoch"])

    # ---- the loop ------------------------------------------------------
    def fit(self, examples: Sequence[Example], progress: bool = False,
            on_epoch: Callable[[int, float], None] | None = None) -> dict:
        from tqdm.auto import tqdm

        if not examples:
            raise InvalidArgument("data: no training examples", argument="data")
        start = self.load_checkpoint()
        if start:
            self.log(f"resuming after epoch {start} from {self.out / CHECKPOINT}")
        self.strategy.prepare(self, examples)
        if not start:
            self.strategy.start(self)
        batches = _Batches(examples, self.config.batch_size, self.config.seed)
        history, t0 = [], time.perf_counter()
        for epoch in range(start, self.config.epochs):
            for m in self.modules():
                m.train()
            total, n = 0.0, 0
            bar = tqdm(batches.epoch(epoch), desc=f"epoch {epoch + 1}/{self.config.epochs}", disable=not progress,
                       leave=False)
            for batch in bar:
                total += self.step(batch)
                n += 1
                bar.set_postfix(loss=f"{total / n:.4f}")
            history.append(round(total / max(n, 1), 5))
            self.save_checkpoint(epoch + 1)
            self.log(f"epoch {epoch + 1}/{self.config.epochs}: mean loss {history[-1]:.4f}")
            if on_epoch:
                on_epoch(epoch + 1, history[-1])
        for m in self.modules():
            m.eval()
        return {"epochs": self.config.epochs, "resumed_after": start, "loss": history,
                "seconds": round(time.perf_counter() - t0, 1), "examples": len(examples)}

    def save(self, summary: dict | None = None) -> Path:
        """Write the model folder: weights or adapters, pooler, tokenizer, vecdb_spec.json (+ vecdb_model.json)."""
        out, c, emb = self.out, self.config, self.emb
        out.mkdir(parents=True, exist_ok=True)
        resolved = resolve(c.model)
        base_name = str(Path(c.model).resolve()) if Path(c.model).expanduser().is_dir() else c.model
        self.strategy.save(self, out, base_name)
        if emb.pooler.weights_hash():  # a trainable pooling layer
            emb.pooler.save(out)
        emb.tokenizer.save_pretrained(str(out))
        s = emb.spec
        (out / SPEC_FILE).write_text(json.dumps({
            "pooling": s.pooling, "max_length": s.max_length, "padding_side": s.padding_side,
            "append_eos": s.append_eos, "query_template": s.query_template, "document_template": s.document_template,
            "layer": s.layer}, indent=2))
        (out / "vecdb_train.json").write_text(json.dumps({"config": asdict(c), "base_model": base_name,
                                                          "base_weights_hash": _base_hash(resolved),
                                                          **(summary or {})}, indent=2))
        shutil.rmtree(out / CHECKPOINT, ignore_errors=True)
        return out


def train(examples: Sequence[Example], config: TrainConfig, out: str | Path, progress: bool = False,
          log: Callable[[str], None] | None = None) -> dict:
    """Train and write the model folder; resumes an interrupted run of the same training in `out`."""
    trainer = Trainer(config, out, log)
    summary = trainer.fit(examples, progress=progress)
    trainer.save(summary)
    return {**summary, "out": str(out)}


def _prefixed(name: str, module: torch.nn.Module):
    for k, v in module.named_parameters():
        yield f"{name}.{k}", v


def _base_hash(resolved) -> str:
    from ..embed.weights import weights_hash

    return weights_hash(resolved.weights_path)
