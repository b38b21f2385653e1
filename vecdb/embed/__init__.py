"""Embedders: interface, HF implementation, pooling, presets."""
from __future__ import annotations

import threading

from ..spec import EmbeddingSpec
from .base import Embedder
from .options import EmbedderOptions, Pooling
from .presets import DEFAULT_MODEL, PRESETS, Preset, resolve

_cache: dict[tuple, Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(options: EmbedderOptions | None = None, *, device: str | None = None, **kwargs) -> Embedder:
    """An embedder for these options; loaded once per process and shared."""
    options = (options or EmbedderOptions()).merged(**kwargs)
    key = (options, device)
    with _cache_lock:
        emb = _cache.get(key)
        if emb is None and options.model == "hash":
            from .hashed import HashEmbedder

            emb = HashEmbedder(options.max_length or 512)
            _cache[key] = emb
        if emb is None:
            from .hf import HFEmbedder  # torch and transformers load here, on first use

            emb = HFEmbedder(resolve(options.model), options, device=device)
            _cache[key] = emb
        return emb


def known_dim(model: str) -> int | None:
    """The vector dimension of a preset or of the fake model `hash`, known without loading it; None otherwise."""
    if model == "hash":
        from .hashed import DIM

        return DIM
    preset = PRESETS.get(model)
    return preset.dim if preset is not None else None


def embedder_for_spec(spec: EmbeddingSpec, device: str | None = None, pooler_path: str | None = None) -> Embedder:
    return load_embedder(EmbedderOptions.from_spec(spec, pooler_path), device=device)


def __getattr__(name: str):
    if name == "HFEmbedder":
        from .hf import HFEmbedder

        return HFEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Embedder", "EmbedderOptions", "HFEmbedder", "Pooling", "PRESETS", "Preset", "DEFAULT_MODEL",
           "load_embedder", "embedder_for_spec", "known_dim", "resolve"]
