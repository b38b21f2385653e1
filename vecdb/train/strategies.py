"""What is trained, one object per mode: the full model, LoRA adapters, or only the pooling layer.

A strategy sets the embedder up for training, encodes texts into differentiable vectors, names the
modules that train, and writes its part of the model folder; the training loop only calls these."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch

from ..embed.presets import MODEL_FILE
from ..errors import InvalidArgument
from . import features as feats


class Strategy:
    name = ""
    lr = 1e-3
    dtype = "float32"        # the model's dtype when the config gives none
    runtime = "torch"        # gradients flow through the model
    gradcache = True         # GradCache (config.cache_chunk) applies
    adapter: str | None = None

    def pooling(self, config, base_pooling: str) -> str | None:
        """The pooling mode to train with (None: the model's own)."""
        return config.pooling

    def setup(self, trainer) -> list[torch.nn.Parameter]:
        """Make the trained parameters require gradients; return them."""
        emb = trainer.emb
        self.freeze(trainer)
        params = [p for p in emb.model.parameters() if p.requires_grad] if emb.model is not None else []
        for p in emb.pooler.parameters():
            p.requires_grad_(True)
            params.append(p)
        if not params:
            raise InvalidArgument(f"mode: nothing to train (the {self.name} mode with a "
                                  f"{emb.spec.pooling!r} pooling)", argument="mode")
        return params

    def freeze(self, trainer) -> None:
        for p in trainer.emb.model.parameters():
            p.requires_grad_(True)

    def modules(self, emb) -> list[torch.nn.Module]:
        return [emb.model, emb.pooler]

    def prepare(self, trainer, examples) -> None:
        """Work before the first step (pooling: the frozen features)."""

    def start(self, trainer) -> None:
        """Initialisation of a fresh run (not of a resumed one)."""

    def encode(self, trainer, texts: Sequence[str], kind: str) -> torch.Tensor:
        """Differentiable vectors; 'query' texts already carry their template."""
        from ..embed import batching

        emb = trainer.emb
        if kind != "query":
            texts = [emb.spec.format_document(t) for t in texts]
        b = batching.pad(emb.tokenize(list(texts)), emb.pad_id, emb.spec.padding_side == "left")
        with torch.autocast(emb.device.type, dtype=torch.bfloat16, enabled=trainer.autocast):
            return emb.forward(b).float()

    def save(self, trainer, out: Path, base_name: str) -> None:
        """Weights or adapters, and the reference to the base model where the folder holds no full model."""
        trainer.emb.model.save_pretrained(str(out))

    def write_model_file(self, trainer, out: Path, base_name: str) -> None:
        (out / MODEL_FILE).write_text(json.dumps({"base_model": base_name, "adapter": self.adapter,
                                                  "pooling": trainer.emb.spec.pooling}, indent=2))


class Full(Strategy):
    name, lr = "full", 2e-5

    def setup(self, trainer):
        if trainer.config.gradient_checkpointing:
            trainer.emb.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        return super().setup(trainer)


class Lora(Strategy):
    name, lr, adapter = "lora", 2e-4, "lora"

    def freeze(self, trainer) -> None:
        from peft import LoraConfig, get_peft_model

        c, emb = trainer.config, trainer.emb
        for p in emb.model.parameters():
            p.requires_grad_(False)
        emb.model = get_peft_model(emb.model, LoraConfig(r=c.lora_r, lora_alpha=c.lora_alpha, lora_dropout=0.0,
                                                         target_modules=lora_targets(emb.model)))
        if c.gradient_checkpointing:
            emb.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            emb.model.enable_input_require_grads()

    def save(self, trainer, out, base_name):
        super().save(trainer, out, base_name)
        self.write_model_file(trainer, out, base_name)


class PoolingOnly(Strategy):
    """The model stays frozen: it runs once over the data (features cached), the pooling head trains."""
    name, lr = "pooling", 1e-3
    dtype, runtime, gradcache = "auto", "auto", False  # a frozen model may run in bf16 or on ONNX Runtime

    def pooling(self, config, base_pooling):
        from ..embed import Pooling

        mode = Pooling.parse(config.pooling or Pooling.parse(base_pooling).trains_as)
        if not mode.trainable:
            raise InvalidArgument(f"pooling: the pooling mode trains one of {', '.join(Pooling.names(True))}, "
                                  f"got {mode.value!r}", argument="pooling")
        return mode.value

    def freeze(self, trainer):
        if trainer.emb.model is not None:
            for p in trainer.emb.model.parameters():
                p.requires_grad_(False)

    def modules(self, emb):
        return [emb.pooler]

    def prepare(self, trainer, examples):
        trainer.prepare_features(examples)

    def start(self, trainer):
        if trainer.config.init == "standardize":
            trainer.standardize()

    def encode(self, trainer, texts, kind):
        f = trainer.features[kind]
        return torch.nn.functional.normalize(trainer.emb.pooler.from_features([f[t] for t in texts]), dim=-1)

    def save(self, trainer, out, base_name):
        self.write_model_file(trainer, out, base_name)


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Full(), Lora(), PoolingOnly())}


def lora_targets(model) -> list[str]:
    names = {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    for group in (["q_proj", "k_proj", "v_proj", "o_proj"], ["query", "key", "value"], ["c_attn"]):
        found = [g for g in group if g in names]
        if found:
            return found
    raise InvalidArgument("mode: no attention projections found for LoRA in this model", argument="mode")


def feature_cache(trainer, queries: list[str], docs: list[str]) -> dict:
    """{"query": {text: feature}, "document": {text: feature}} from one frozen pass per side."""
    base = trainer.emb.pooler.feature
    q = feats.frozen_features(trainer.emb, queries, "query", (base,), formatted=True)[base]
    d = feats.frozen_features(trainer.emb, docs, "document", (base,))[base]
    conv = (lambda x: x) if base == "tokens" else torch.from_numpy
    return {"query": dict(zip(queries, map(conv, q))), "document": dict(zip(docs, map(conv, d)))}
