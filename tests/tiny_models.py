"""Tiny random-weight models built locally from configs (nothing is downloaded)."""
from __future__ import annotations

from pathlib import Path

WORDS = ("the a of and to in is was for on that with as by at from this it be are or an which not have "
         "cell protein gene cancer patients study results effect risk blood brain drug treatment disease "
         "data model network query document search vector index cat dog sat mat river ocean mountain "
         "red green blue big small fast slow one two three four five six seven eight nine ten").split()


def word_tokenizer(folder: Path, eos: str = "</s>"):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<unk>": 1, eos: 2, "<s>": 3}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<s>")
    fast.save_pretrained(str(folder))
    return fast


def tiny_decoder(folder: Path, arch: str = "llama", seed: int = 0) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen3Config

    folder.mkdir(parents=True, exist_ok=True)
    tok = word_tokenizer(folder)
    common = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    config = LlamaConfig(**common) if arch == "llama" else Qwen3Config(head_dim=16, **common)
    config.architectures = ["LlamaForCausalLM" if arch == "llama" else "Qwen3ForCausalLM"]
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).save_pretrained(str(folder))
    return folder


def tiny_bert(folder: Path, tokenizer_from: Path, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(str(tokenizer_from))
    tok.save_pretrained(str(folder))
    config = BertConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=256)
    config.architectures = ["BertModel"]
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(str(folder))
    return folder
