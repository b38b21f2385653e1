"""From what the caller chose to the spec's text-handling fields: a pure function of the options, the
folder's or preset's defaults and a few facts about the model (no torch, no files)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidArgument
from .options import EmbedderOptions, template
from .registry import Pooling, PoolingMode

MAX_LENGTH_CAP = 512


@dataclass(frozen=True)
class ModelFacts:
    is_decoder: bool
    model_max_length: int | None = None   # the tokenizer's
    has_eos: bool = True
    n_layers: int | None = None


@dataclass(frozen=True)
class Resolved:
    pooling: PoolingMode
    padding_side: str
    max_length: int
    query_template: str
    document_template: str
    append_eos: bool
    layer: int


def resolve_options(options: EmbedderOptions, defaults: dict, facts: ModelFacts,
                    folder_defaults: dict | None = None) -> Resolved:
    """`defaults`: the preset's and the folder's option defaults; `folder_defaults`: the folder's own
    vecdb_spec.json only (append_eos is taken from there, never from a preset)."""
    pooling = Pooling.parse(options.pooling or defaults.get("pooling") or
                            ("last-token" if facts.is_decoder else "mean"))
    padding = (options.padding_side or defaults.get("padding_side") or
               ("left" if facts.is_decoder else "right")).lower()
    if padding not in ("left", "right"):
        raise InvalidArgument(f"padding_side: must be left or right, got {padding!r}", argument="padding_side")
    if not facts.is_decoder and padding == "left":
        raise InvalidArgument("padding_side: encoder models pad on the right", argument="padding_side")
    model_max = min(int(facts.model_max_length or MAX_LENGTH_CAP), MAX_LENGTH_CAP)
    max_length = options.max_length or defaults.get("max_length") or model_max
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise InvalidArgument(f"max_length: must be an integer >= 2, got {max_length!r}", argument="max_length")
    query_template = template(options.query_template or defaults.get("query_template") or "{query}", "query",
                              "{query}")
    document_template = template(options.document_template or defaults.get("document_template") or "{text}",
                                 "document", "{text}")
    append_eos = options.append_eos
    if append_eos is None:
        # A decoder has read the whole text only at its last token, so last-token pooling appends EOS;
        # not after a prompt such as PromptEOL's, whose own last token is the one to read.
        prompt_after_text = not document_template.rstrip().endswith("{text}")
        append_eos = (folder_defaults or {}).get(
            "append_eos", facts.is_decoder and pooling.reads_last and not prompt_after_text)
    if append_eos and not facts.has_eos:
        raise InvalidArgument("append_eos: the tokenizer has no EOS token", argument="append_eos")
    n = facts.n_layers
    if options.layer != -1 and (n is None or not -n - 1 <= options.layer <= n):
        raise InvalidArgument(f"layer: must be between {-(n or 0) - 1} and {n}, got {options.layer}",
                              argument="layer")
    return Resolved(pooling, padding, max_length, query_template, document_template, bool(append_eos),
                    options.layer)
