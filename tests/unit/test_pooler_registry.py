"""The pooling registry is the one list of modes: a mode registered in a fixture is accepted by the CLI,
the spec and the trainer, and every mode is one pooler object."""
import numpy as np
import pytest
import torch

import vecdb
from tests.tiny_models import tiny_bert
from vecdb.cli.main import main
from vecdb.embed import PRESETS, Pooling, load_embedder
from vecdb.embed.pooling import cls, last_token
from vecdb.embed.trainable import TrainablePooler
from vecdb.errors import InvalidArgument
from vecdb.train.data import Example
from vecdb.train.trainer import TrainConfig, Trainer, train

TEXTS = ["the cat sat on the mat", "a gene and a protein in the cell", "river"]


def first_last(h, mask):
    """The mean of the first and the last real token."""
    return (cls(h, mask) + last_token(h, mask)) / 2


class HalfLinear(TrainablePooler):
    """A projection to half the width over the last token."""
    feature = "last"

    def __init__(self, dim, out_dim=None):
        super().__init__(dim, out_dim or dim // 2)


@pytest.fixture
def new_modes():
    fixed = Pooling.register("first-last", first_last, sees_instruction=True, trains_as="half-linear")
    trained = Pooling.register("half-linear", HalfLinear, trainable=True, reads_last=True, sees_instruction=True)
    yield fixed, trained
    Pooling.unregister("first-last")
    Pooling.unregister("half-linear")


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return str(tiny_bert(tmp_path_factory.mktemp("tiny") / "bert", PRESETS["minilm"].local_path()))


def test_registered_modes_are_listed_and_parsed(new_modes):
    fixed, trained = new_modes
    assert "first-last" in Pooling and Pooling.parse("FIRST-LAST") is fixed
    assert [m.value for m in Pooling if m.trainable][-1] == "half-linear"
    assert "half-linear" in Pooling.names(trainable=True) and "first-last" not in Pooling.names(trainable=True)
    with pytest.raises(ValueError):
        Pooling.register("mean", first_last)


def test_unregistered_mode_is_gone(new_modes):
    Pooling.unregister("first-last")
    try:
        with pytest.raises(InvalidArgument, match="first-last") as e:
            Pooling.parse("first-last")
        assert "half-linear" in str(e.value)
    finally:
        Pooling.register("first-last", first_last, sees_instruction=True)


def test_every_mode_is_a_pooler_object():
    h, mask = torch.randn(2, 5, 8), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    for mode in Pooling:
        pooler = mode.build(8)
        assert pooler(h, mask).shape == (2, pooler.out_dim)
        assert pooler.sees_instruction == mode.sees_instruction


def test_spec_and_vectors_of_a_new_fixed_mode(new_modes, bert):
    emb = load_embedder(model=bert, pooling="first-last", dtype="float32", runtime="torch")
    assert emb.spec.pooling == "first-last" and emb.spec.dim == 64
    batch = emb.tokenize_batch(TEXTS[:1])
    with torch.no_grad():
        h = emb.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    by_hand = torch.nn.functional.normalize((h[0, 0] + h[0, -1]) / 2, dim=-1).numpy()
    assert np.allclose(emb.embed_documents(TEXTS[:1])[0], by_hand, atol=1e-5)


def test_cli_add_accepts_a_new_mode(new_modes, bert, tmp_path):
    db_path = str(tmp_path / "db")
    assert main(["add", "--db", db_path, "--collection", "c", "--model", bert, "--pooling", "first-last",
                 "--dtype", "float32", *TEXTS]) == 0
    with vecdb.open(db_path) as db:
        coll = db.get_collection("c")
        assert coll.spec.pooling == "first-last" and coll.count() == 3
        assert coll.search("the cat sat on the mat", k=1)[0].text == TEXTS[0]
    with pytest.raises(SystemExit):
        main(["add", "--db", db_path, "--collection", "d", "--model", bert, "--pooling", "no-such-mode", "x"])


def test_trainer_accepts_new_modes(new_modes, bert, tmp_path):
    data = [Example(f"{t} query", t, [TEXTS[(i + 1) % 3]], positive_id=t, positive_ids={t})
            for i, t in enumerate(TEXTS)]
    full = Trainer(TrainConfig(model=bert, mode="full", pooling="first-last"), tmp_path / "full")
    assert full.emb.spec.pooling == "first-last" and full.loss(data).requires_grad
    # pooling-only training trains the fixed mode's registered counterpart, a new trainable mode
    out = tmp_path / "pool"
    train(data, TrainConfig(model=bert, mode="pooling", pooling="half-linear", epochs=1, batch_size=3,
                            dtype="float32"), out)
    emb = load_embedder(model=str(out), dtype="float32")
    assert emb.spec.pooling == "half-linear" and emb.spec.dim == 32 and emb.spec.pooling_weights_hash
    with pytest.raises(InvalidArgument, match="pooling"):
        Trainer(TrainConfig(model=bert, mode="pooling", pooling="first-last"), tmp_path / "bad")
