"""Embedding options shared by create, add, reembed (and eval)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

InstructionOpt = Annotated[Optional[str], typer.Option(
    "--instruction", help="Query template: 'instruct' (Instruct: {task}\\nQuery: {query}), 'prompteol', or a "
                          "string with {query} (and optionally {task})")]
DocTemplateOpt = Annotated[Optional[str], typer.Option(
    "--document-template", help="Document template: 'prompteol' or a string with {text}")]
MaxLengthOpt = Annotated[Optional[int], typer.Option("--max-length", help="Truncate texts to this many tokens")]
LayerOpt = Annotated[Optional[int], typer.Option("--layer", help="Hidden-state layer to pool (default: last)")]
DtypeOpt = Annotated[Optional[str], typer.Option("--dtype", help="auto, float32, bfloat16, float16 or int8 (onnx runtime)")]
RuntimeOpt = Annotated[Optional[str], typer.Option(
    "--runtime", help="auto, torch or onnx (ONNX Runtime on the CPU, float32 or int8); auto: bf16 on torch where "
                      "the CPU has it, else onnx for encoder models (int8 for models checked in int8)")]
PaddingOpt = Annotated[Optional[str], typer.Option("--padding-side", help="left or right (decoders only)")]
ExcludeOpt = Annotated[bool, typer.Option("--exclude-instruction", help="Leave instruction tokens out of mean pooling")]


def options(instruction=None, document_template=None, max_length=None, layer=None, dtype=None,
            padding_side=None, exclude_instruction=False, runtime=None) -> dict:
    """Only what the user gave, so that an existing collection's spec is checked against just that."""
    out = {"query_template": instruction, "document_template": document_template, "max_length": max_length,
           "layer": layer, "dtype": dtype, "padding_side": padding_side,
           "exclude_instruction": True if exclude_instruction else None, "runtime": runtime}
    return {k: v for k, v in out.items() if v is not None}
