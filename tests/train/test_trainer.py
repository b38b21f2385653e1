"""vecdb.train on tiny random-weight models: every mode learns, GradCache matches, checkpoints resume."""
import json

import numpy as np
import pytest
import torch

import vecdb
from tests.tiny_models import tiny_bert, tiny_decoder
from vecdb.embed import PRESETS, load_embedder
from vecdb.errors import InvalidArgument
from vecdb.train.data import Example
from vecdb.train.trainer import TrainConfig, Trainer, train

COLORS = ("red", "green", "blue", "one", "two", "three")
NOUNS = ("cat", "dog", "river", "ocean", "brain", "gene", "cancer", "drug")


def examples():
    """A query names a noun; its document mentions that noun among others."""
    out = []
    for i, n in enumerate(NOUNS):
        for c in COLORS[:3]:
            doc = f"the {n} is {c} and {NOUNS[(i + 3) % len(NOUNS)]}"
            out.append(Example(f"{c} {n}", doc, [f"the {NOUNS[(i + 1) % len(NOUNS)]} is {c}"], positive_id=doc,
                               positive_ids={doc}))
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny")
    return {"llama": str(tiny_decoder(base / "llama")),
            "bert": str(tiny_bert(base / "bert", PRESETS["minilm"].local_path()))}


def _accuracy(model_path, data):
    emb = load_embedder(model=model_path, dtype="float32")
    q = emb.embed_queries([e.query for e in data])
    d = emb.embed_documents([e.positive for e in data])
    return float(np.mean((q @ d.T).argmax(1) == np.arange(len(data))))


@pytest.mark.slow
@pytest.mark.parametrize("mode,model,pooling", [("pooling", "llama", "last-linear"), ("pooling", "bert", "linear"),
                                                ("pooling", "llama", "attention"), ("lora", "llama", None),
                                                ("full", "bert", None)])
def test_training_lowers_the_loss_and_writes_a_loadable_model(tmp_path, models, mode, model, pooling):
    data = examples()
    out = tmp_path / "out"
    before = _accuracy(models[model], data)
    config = TrainConfig(model=models[model], mode=mode, pooling=pooling, epochs=6, batch_size=8, tau=0.1,
                         lr={"pooling": 5e-3, "lora": 2e-3, "full": 1e-3}[mode])
    summary = train(data, config, out)
    assert summary["loss"][-1] < summary["loss"][0]
    assert not (out / "checkpoint").exists()
    files = {p.name for p in out.iterdir()}
    assert {"vecdb_spec.json", "vecdb_train.json", "tokenizer.json"} <= files
    if mode == "pooling":
        assert {"vecdb_pooler.safetensors", "vecdb_model.json"} <= files
        assert json.loads((out / "vecdb_model.json").read_text())["adapter"] is None
    if mode == "lora":
        assert "adapter_model.safetensors" in files
        assert json.loads((out / "vecdb_model.json").read_text())["adapter"] == "lora"
    if mode == "full":
        assert "model.safetensors" in files and "vecdb_model.json" not in files
    after = _accuracy(str(out), data)
    assert after >= before and after > 0.3
    emb = load_embedder(model=str(out), dtype="float32")
    if mode == "pooling":
        assert emb.spec.pooling == pooling and emb.spec.pooling_weights_hash
        assert emb.spec.append_eos == (pooling == "last-linear")


def test_pooling_mode_features_match_the_saved_embedder(tmp_path, models):
    """The cached-feature path used in training computes exactly what the saved model embeds."""
    data = examples()
    trainer = Trainer(TrainConfig(model=models["llama"], mode="pooling", pooling="last-linear", epochs=2,
                                  batch_size=8, dtype="float32"), tmp_path / "o")
    trainer.fit(data)
    with torch.no_grad():
        cached = trainer.encode([e.positive for e in data[:4]], "document").numpy()
        q = trainer.encode(trainer._format_queries(data[:4]), "query").numpy()
    trainer.save()
    emb = load_embedder(model=str(tmp_path / "o"), dtype="float32")
    assert np.allclose(cached, emb.embed_documents([e.positive for e in data[:4]]), atol=1e-5)
    assert np.allclose(q, emb.embed_queries([e.query for e in data[:4]]), atol=1e-5)


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_gradcache_gives_the_same_gradient(models, tmp_path, mode):
    data = examples()[:8]
    grads = []
    for chunk in (None, 3):
        torch.manual_seed(0)
        t = Trainer(TrainConfig(model=models["bert"], mode=mode, cache_chunk=chunk, batch_size=8), tmp_path / "g")
        t.opt.zero_grad()
        if chunk:
            t._gradcache_backward(data)
        else:
            t.loss(data).backward()
        grads.append(torch.cat([p.grad.flatten() for p in t.params if p.grad is not None]))
    assert grads[0].abs().sum() > 0
    assert torch.allclose(grads[0], grads[1], atol=1e-5, rtol=1e-3)


def test_gradient_checkpointing_runs(models, tmp_path):
    t = Trainer(TrainConfig(model=models["llama"], mode="lora", gradient_checkpointing=True, batch_size=4),
                tmp_path / "c")
    assert t.step(examples()[:4]) > 0


def test_bf16_autocast_on_cpu_trains_lora(models, tmp_path):
    """--bf16 runs the forward pass in bf16 on CPU too; vectors stay float32 and the loss still falls."""
    t = Trainer(TrainConfig(model=models["llama"], mode="lora", bf16=True, batch_size=8, lr=2e-3, tau=0.1),
                tmp_path / "b")
    assert t.autocast and t.emb.device.type == "cpu"
    data = examples()[:8]
    with torch.no_grad():
        assert t.encode(t._format_queries(data), "query").dtype == torch.float32
    losses = [t.step(data) for _ in range(8)]
    assert losses[-1] < losses[0]
    assert Trainer(TrainConfig(model=models["llama"], mode="lora"), tmp_path / "c").autocast is False


def test_kill_and_resume_gives_the_uninterrupted_result(tmp_path, models):
    data = examples()
    config = dict(model=models["llama"], mode="pooling", pooling="last-linear", epochs=4, batch_size=8, lr=5e-3)
    whole = train(data, TrainConfig(**config), tmp_path / "whole")

    class Killed(Exception):
        pass

    def kill(epoch, loss):
        if epoch == 2:
            raise Killed

    t = Trainer(TrainConfig(**config), tmp_path / "cut")
    with pytest.raises(Killed):
        t.fit(data, on_epoch=kill)
    assert (tmp_path / "cut" / "checkpoint" / "state.ckpt").exists()
    resumed = train(data, TrainConfig(**config), tmp_path / "cut")
    assert resumed["resumed_after"] == 2 and len(resumed["loss"]) == 2
    assert resumed["loss"] == whole["loss"][2:]
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "whole" / "vecdb_pooler.safetensors"))
    b = load_file(str(tmp_path / "cut" / "vecdb_pooler.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(InvalidArgument, match="different training"):
        t2 = Trainer(TrainConfig(**{**config, "lr": 1e-2}), tmp_path / "cut2")
        t2.save_checkpoint(1)
        Trainer(TrainConfig(**config), tmp_path / "cut2").load_checkpoint()


def test_trained_model_in_a_collection_and_reembed(tmp_path, models):
    out = tmp_path / "out"
    train(examples(), TrainConfig(model=models["llama"], mode="pooling", pooling="last-linear", epochs=2,
                                  batch_size=8), out)
    docs = [e.positive for e in examples()]
    with vecdb.open(tmp_path / "db") as db:
        c = db.create_collection("c", model=models["llama"], pooling="mean", dtype="float32")
        c.add(docs)
        new = db.reembed("c", str(out), dtype="float32")
        assert new.spec.model == str(out) and new.spec.pooling == "last-linear" and new.count() == len(set(docs))
        fresh = db.create_collection("d", model=str(out), dtype="float32")
        fresh.add(docs[:3])
        assert fresh.search(docs[0], k=1)[0].text == docs[0]


def test_training_on_top_of_a_lora_folder_keeps_both_adapters(tmp_path, models):
    """LoRA over a LoRA folder, and a pooler over a LoRA folder: loading merges every adapter in order."""
    data = examples()
    first, second, pooled = tmp_path / "first", tmp_path / "second", tmp_path / "pooled"
    kw = dict(epochs=2, batch_size=8, lr=5e-3, tau=0.1)
    train(data, TrainConfig(model=models["llama"], mode="lora", **kw), first)
    trainer = Trainer(TrainConfig(model=str(first), mode="lora", **kw), second)
    trainer.fit(data)
    with torch.no_grad():
        expected = trainer.encode([e.positive for e in data[:4]], "document").numpy()
    trainer.save()
    texts = [e.positive for e in data[:4]]
    got = load_embedder(model=str(second), dtype="float32").embed_documents(texts)
    assert np.allclose(got, expected, atol=1e-5)
    only_first = load_embedder(model=str(first), dtype="float32").embed_documents(texts)
    assert not np.allclose(got, only_first, atol=1e-3)
    p = Trainer(TrainConfig(model=str(first), mode="pooling", pooling="last-linear", dtype="float32", **kw), pooled)
    p.fit(data)
    with torch.no_grad():
        expected = p.encode([e.positive for e in data[:4]], "document").numpy()
    p.save()
    assert np.allclose(load_embedder(model=str(pooled), dtype="float32").embed_documents(texts), expected, atol=1e-5)


def test_bad_config():
    with pytest.raises(InvalidArgument, match="mode"):
        TrainConfig(mode="half").check()
    with pytest.raises(InvalidArgument, match="tau"):
        TrainConfig(tau=0).check()


def test_standardize_init_centres_and_equalises_the_features(tmp_path, models):
    t = Trainer(TrainConfig(model=models["llama"], mode="pooling", pooling="linear", init="standardize",
                            dtype="float32"), tmp_path / "s")
    t.prepare_features(examples())
    t.standardize()
    x = torch.stack(list(t.features["document"].values()))
    with torch.no_grad():
        y = t.emb.pooler.proj(x)
    assert y.mean(0).abs().max() < 1e-4
    sd = y.std(0)
    assert torch.allclose(sd, sd.mean().expand_as(sd), rtol=1e-3)
    with pytest.raises(InvalidArgument, match="init"):
        TrainConfig(init="zero").check()
