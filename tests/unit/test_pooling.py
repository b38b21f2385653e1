import pytest
import torch

from vecdb.embed.registry import Pooling, pool
from vecdb.errors import InvalidArgument


def _padded(h, n_real, width, left):
    """Place h[:n_real] into a (1, width, d) tensor with padding on one side."""
    d = h.shape[-1]
    out = torch.full((1, width, d), 99.0)
    mask = torch.zeros(1, width, dtype=torch.long)
    start = width - n_real if left else 0
    out[0, start:start + n_real] = h[:n_real]
    mask[0, start:start + n_real] = 1
    return out, mask


@pytest.mark.parametrize("mode", [p for p in Pooling if not p.trainable])
@pytest.mark.parametrize("left", [False, True])
def test_padding_does_not_change_the_result(mode, left):
    torch.manual_seed(0)
    h = torch.randn(5, 8)
    ref = pool(mode, h.unsqueeze(0), torch.ones(1, 5, dtype=torch.long))
    padded, mask = _padded(h, 5, 9, left)
    assert torch.allclose(pool(mode, padded, mask), ref, atol=1e-6)


def test_values_on_a_small_example():
    h = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [5.0, -4.0], [0.0, 0.0]]])
    mask = torch.tensor([[1, 1, 1, 0]])
    assert torch.allclose(pool("mean", h, mask), torch.tensor([[3.0, -2 / 3]]))
    assert torch.allclose(pool("cls", h, mask), torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(pool("last-token", h, mask), torch.tensor([[5.0, -4.0]]))
    assert torch.allclose(pool("max", h, mask), torch.tensor([[5.0, 2.0]]))
    # SGPT weights 1/6, 2/6, 3/6
    assert torch.allclose(pool("weighted-mean", h, mask), torch.tensor([[(1 + 6 + 15) / 6, (0 + 4 - 12) / 6]]))


def test_invalid_pooling_lists_valid_values():
    with pytest.raises(InvalidArgument) as e:
        Pooling.parse("median")
    msg = str(e.value)
    assert "pooling" in msg and "mean" in msg and "last-token" in msg and "weighted-mean" in msg


def test_aliases():
    assert Pooling.parse("eos") is Pooling.LAST_TOKEN
    assert Pooling.parse("CLS") is Pooling.CLS


def test_trainable_modes_are_not_pure_functions():
    h, mask = torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.long)
    for mode in (Pooling.ATTENTION, Pooling.LINEAR):
        assert mode.trainable
        with pytest.raises(InvalidArgument):
            pool(mode, h, mask)
