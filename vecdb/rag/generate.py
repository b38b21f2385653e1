"""Chat generators that stream text: the packaged local instruct model, or an OpenAI-compatible endpoint."""
from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from typing import Iterator

from ..errors import InvalidArgument, UpstreamError

Messages = list[dict]  # [{"role": "system"|"user"|"assistant", "content": str}]
LOCAL_MODEL = "smollm2-135m"
STOP = ["\n\n"]  # the end of the answer: a small model goes on with unrelated paragraphs
# Torch threads while a CPU generates. One sequence of a 135M model makes small matrix products: with two
# threads on a 2-core machine that also runs other work, each step waits for the slower thread (measured
# 5-10x slower than one thread at load 9; about even when idle). torch's setting is process-wide, so it is
# set for the generation and put back after.
CPU_THREADS = 1


class Generator(ABC):
    name: str
    # Written as the start of the reply when a prompt ends with an assistant message; a small local model then
    # names a passage before anything else (it rarely cites when only asked to). Endpoints get no prefix.
    answer_prefix: str = ""

    @abstractmethod
    def stream(self, messages: Messages, max_new_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        """Yield pieces of the reply as they are produced."""


_loaded: dict[str, tuple] = {}
_load_lock = threading.Lock()


class LocalGenerator(Generator):
    """A causal LM with a chat template, run through transformers generate + TextIteratorStreamer."""

    name = "local"
    answer_prefix = "According to passage ["

    def __init__(self, model: str | None = None, device: str | None = None, timeout: float = 300.0):
        from ..embed.device import resolve_device

        self.model_name = model or LOCAL_MODEL
        self.device = resolve_device(device)
        self.timeout = timeout

    def _load(self):
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from ..embed.presets import resolve

        key = f"{self.model_name}@{self.device}"
        with _load_lock:
            if key not in _loaded:
                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()
                path = resolve(self.model_name).weights_path
                tok = AutoTokenizer.from_pretrained(str(path))
                if not getattr(tok, "chat_template", None):
                    raise InvalidArgument(f"model: {self.model_name!r} has no chat template", argument="model")
                model = AutoModelForCausalLM.from_pretrained(str(path)).to(self.device).eval()
                _loaded[key] = (tok, model)
        return _loaded[key]

    def stream(self, messages: Messages, max_new_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        tok, model = self._load()
        go_on = bool(messages) and messages[-1]["role"] == "assistant"  # continue a started reply
        ids = tok.apply_chat_template(messages, add_generation_prompt=not go_on, continue_final_message=go_on,
                                      return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=self.timeout)
        kwargs = dict(**{k: v.to(self.device) for k, v in ids.items()}, streamer=streamer,
                      max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id or tok.eos_token_id,
                      repetition_penalty=1.1, stop_strings=STOP, tokenizer=tok)
        kwargs.update(do_sample=True, temperature=temperature) if temperature > 0 else kwargs.update(do_sample=False)
        failure: list[BaseException] = []

        def run():
            before = torch.get_num_threads()
            try:
                if self.device.type == "cpu":
                    torch.set_num_threads(min(before, CPU_THREADS))
                with torch.inference_mode():
                    model.generate(**kwargs)
            except BaseException as e:  # surfaced to the reader below
                failure.append(e)
                streamer.end()
            finally:
                torch.set_num_threads(before)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if failure:
            raise UpstreamError(f"model: local generation failed ({type(failure[0]).__name__}: {failure[0]})",
                                argument="model")


class OpenAIGenerator(Generator):
    """Any OpenAI-compatible /chat/completions endpoint, read as a server-sent event stream."""

    name = "openai"

    def __init__(self, api_base: str | None = None, api_key: str | None = None, model: str | None = None,
                 timeout: float = 30.0):
        api_base = api_base or os.environ.get("VECDB_API_BASE") or os.environ.get("OPENAI_BASE_URL")
        if not isinstance(api_base, str) or not api_base.startswith(("http://", "https://")):
            raise InvalidArgument(f"api_base: must be an http(s) URL such as http://localhost:8000/v1, got {api_base!r}",
                                  argument="api_base")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidArgument(f"timeout: must be a positive number of seconds, got {timeout!r}", argument="timeout")
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else (os.environ.get("VECDB_API_KEY")
                                                            or os.environ.get("OPENAI_API_KEY"))
        self.model = model or os.environ.get("VECDB_CHAT_MODEL") or "default"
        self.timeout = float(timeout)

    def stream(self, messages: Messages, max_new_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        import httpx

        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": self.model, "messages": messages, "stream": True, "max_tokens": max_new_tokens,
                "temperature": temperature}
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0))
        try:
            with httpx.Client(timeout=timeout) as client, client.stream("POST", self.url, json=body,
                                                                        headers=headers) as r:
                if r.status_code >= 400:
                    detail = r.read().decode("utf-8", "replace")[:300]
                    raise UpstreamError(f"api_base: {self.url} answered HTTP {r.status_code}: {detail}",
                                        argument="api_base")
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    piece = _delta(data, self.url)
                    if piece:
                        yield piece
        except httpx.TimeoutException as e:
            raise UpstreamError(f"api_base: {self.url} did not answer within {self.timeout:g}s "
                                f"({type(e).__name__})", argument="api_base") from None
        except httpx.HTTPError as e:
            raise UpstreamError(f"api_base: cannot reach {self.url} ({type(e).__name__}: {e})",
                                argument="api_base") from None


def _delta(data: str, url: str) -> str | None:
    try:
        obj = json.loads(data)
    except ValueError:
        raise UpstreamError(f"api_base: {url} sent an event that is not JSON: {data[:100]!r}",
                            argument="api_base") from None
    if isinstance(obj, dict) and obj.get("error"):
        raise UpstreamError(f"api_base: {url} reported an error: {obj['error']}", argument="api_base")
    try:
        return obj["choices"][0].get("delta", {}).get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


GENERATORS: dict[str, type[Generator]] = {"local": LocalGenerator, "openai": OpenAIGenerator}


def generator_for(api_base: str | None = None, api_key: str | None = None, model: str | None = None,
                  timeout: float = 30.0, device: str | None = None) -> Generator:
    """An endpoint generator when api_base is given, else the packaged local model."""
    if api_base:
        return OpenAIGenerator(api_base, api_key, model, timeout)
    return LocalGenerator(model, device)
