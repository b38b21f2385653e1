"""Spec resolution and the runtime choice are pure functions: options + defaults + facts in, fields out."""
import pytest

from vecdb.embed import EmbedderOptions, Pooling
from vecdb.embed.device import choose_runtime
from vecdb.embed.resolution import ModelFacts, resolve_options
from vecdb.errors import InvalidArgument

ENCODER = ModelFacts(is_decoder=False, model_max_length=512, has_eos=False, n_layers=6)
DECODER = ModelFacts(is_decoder=True, model_max_length=8192, has_eos=True, n_layers=30)


def test_encoder_defaults():
    r = resolve_options(EmbedderOptions(), {}, ENCODER)
    assert (r.pooling, r.padding_side, r.max_length, r.append_eos, r.layer) == (Pooling.MEAN, "right", 512, False, -1)
    assert (r.query_template, r.document_template) == ("{query}", "{text}")


def test_decoder_defaults_read_the_appended_eos():
    r = resolve_options(EmbedderOptions(), {}, DECODER)
    assert (r.pooling.value, r.padding_side, r.append_eos) == ("last-token", "left", True)
    assert r.max_length == 512  # the tokenizer's 8192, capped
    assert not resolve_options(EmbedderOptions(pooling="mean"), {}, DECODER).append_eos
    # PromptEOL reads the prompt's own last token
    assert not resolve_options(EmbedderOptions(document_template="prompteol"), {}, DECODER).append_eos


def test_options_over_defaults_over_facts():
    defaults = {"pooling": "cls", "max_length": 128, "query_template": "q: {query}"}
    r = resolve_options(EmbedderOptions(max_length=64), defaults, ENCODER)
    assert (r.pooling.value, r.max_length, r.query_template) == ("cls", 64, "q: {query}")
    # append_eos comes from the folder's own defaults, never a preset's
    assert resolve_options(EmbedderOptions(), {"append_eos": True}, DECODER, {"append_eos": False}).append_eos is False


@pytest.mark.parametrize("options,facts,argument", [
    (EmbedderOptions(padding_side="left"), ENCODER, "padding_side"),
    (EmbedderOptions(padding_side="up"), DECODER, "padding_side"),
    (EmbedderOptions(max_length=1), ENCODER, "max_length"),
    (EmbedderOptions(layer=9), ENCODER, "layer"),
    (EmbedderOptions(pooling="median"), ENCODER, "pooling"),
    (EmbedderOptions(query_template="no field"), ENCODER, "query_template"),
    (EmbedderOptions(append_eos=True), ENCODER, "append_eos"),
])
def test_invalid_options_name_their_argument(options, facts, argument):
    with pytest.raises(InvalidArgument) as e:
        resolve_options(options, {}, facts)
    assert e.value.argument == argument


def test_auto_runtime_follows_the_cpu():
    assert choose_runtime("auto", "auto", "cpu", native_bf16=True, onnx_ok=True) == ("torch", "bfloat16")
    assert choose_runtime("auto", "auto", "cpu", native_bf16=False, onnx_ok=True) == ("onnx", "float32")
    assert choose_runtime("auto", "auto", "cpu", native_bf16=False, onnx_ok=False) == ("torch", "float32")
    assert choose_runtime("float32", None, "cpu", native_bf16=True, onnx_ok=True) == ("onnx", "float32")
    assert choose_runtime("auto", "auto", "cuda", native_bf16=False, cuda_bf16=True) == ("torch", "bfloat16")
    assert choose_runtime("auto", "auto", "cuda", native_bf16=False, cuda_bf16=False) == ("torch", "float16")


def test_auto_picks_int8_only_for_a_checked_model_without_native_bf16():
    assert choose_runtime("auto", "auto", "cpu", native_bf16=False, onnx_ok=True, int8_ok=True) == ("onnx", "int8")
    assert choose_runtime("auto", "auto", "cpu", native_bf16=True, onnx_ok=True, int8_ok=True) == ("torch", "bfloat16")
    assert choose_runtime("auto", "onnx", "cpu", native_bf16=True, onnx_ok=True, int8_ok=True) == ("onnx", "int8")
    assert choose_runtime("auto", "auto", "cpu", native_bf16=False, onnx_ok=False, int8_ok=True) == ("torch", "float32")
    assert choose_runtime("auto", "torch", "cpu", native_bf16=False, onnx_ok=True, int8_ok=True) == ("torch", "float32")
    assert choose_runtime("float32", "auto", "cpu", native_bf16=False, onnx_ok=True, int8_ok=True) == ("onnx", "float32")
    assert choose_runtime("auto", "auto", "cuda", native_bf16=False, cuda_bf16=True, int8_ok=True) == ("torch", "bfloat16")


def test_int8_by_hand_needs_the_onnx_runtime():
    # By hand int8 runs on any encoder that exports, measured or not.
    assert choose_runtime("int8", "auto", "cpu", native_bf16=True, onnx_ok=True) == ("onnx", "int8")
    assert choose_runtime("int8", "onnx", "cpu", native_bf16=False, onnx_ok=True) == ("onnx", "int8")
    for args, kwargs, argument in [(("int8", "torch", "cpu"), {"onnx_ok": True}, "dtype"),
                                   (("int8", "auto", "cpu"), {}, "dtype"),
                                   (("int8", "auto", "cuda"), {"onnx_ok": True}, "dtype"),
                                   (("int8", "onnx", "cpu"), {}, "runtime")]:
        with pytest.raises(InvalidArgument) as e:
            choose_runtime(*args, native_bf16=False, **kwargs)
        assert e.value.argument == argument, args


def test_runtime_by_hand():
    assert choose_runtime("bf16", "torch", "cpu", native_bf16=False) == ("torch", "bfloat16")
    assert choose_runtime("auto", "onnx", "cpu", native_bf16=True, onnx_ok=True) == ("onnx", "float32")
    assert choose_runtime("fp32", "torch", "cpu", native_bf16=False, onnx_ok=True) == ("torch", "float32")
    for args, kwargs in [(("bfloat16", "onnx", "cpu"), {"onnx_ok": True}), (("auto", "onnx", "cpu"), {}),
                         (("auto", "onnx", "cuda"), {"onnx_ok": True}), (("auto", "tpu", "cpu"), {}),
                         (("int3", "auto", "cpu"), {})]:
        with pytest.raises(InvalidArgument):
            choose_runtime(*args, native_bf16=False, **kwargs)


def test_onnx_sessions_share_the_cores_exactly():
    from vecdb.embed.ort import MAX_SESSIONS, session_threads

    for cores in range(1, 33):
        split = session_threads(cores)
        assert sum(split) == cores and len(split) == min(cores, MAX_SESSIONS) and max(split) - min(split) <= 1
    assert session_threads(2) == [1, 1] and session_threads(6) == [2, 2, 1, 1]
