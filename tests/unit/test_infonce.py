import math

import pytest
import torch

from vecdb.errors import InvalidArgument
from vecdb.train.loss import false_negative_mask, info_nce


def _unit(*angles):
    return torch.tensor([[math.cos(a), math.sin(a)] for a in angles])


def test_two_queries_in_batch_negatives_by_hand():
    q = _unit(0.0, math.pi / 2)
    d = _unit(0.0, math.pi / 3)        # cos(q0,d0)=1, cos(q0,d1)=0.5, cos(q1,d0)=0, cos(q1,d1)=cos(pi/6)
    tau = 0.5
    c = math.cos(math.pi / 6)
    l0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0.5 / tau)))
    l1 = -math.log(math.exp(c / tau) / (math.exp(c / tau) + math.exp(0 / tau)))
    assert info_nce(q, d, tau=tau).item() == pytest.approx((l0 + l1) / 2, rel=1e-5)


def test_hard_negatives_add_to_the_denominator():
    q = _unit(0.0)
    d = _unit(0.0)
    n = _unit(math.pi / 2, math.pi)    # cos 0 and -1
    tau = 0.5
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(0) + math.exp(-2)))
    assert info_nce(q, d, n, tau=tau).item() == pytest.approx(expected, rel=1e-5)
    # (B, K, D) hard negatives are the same as flattened ones
    assert info_nce(q, d, n.unsqueeze(0), tau=tau).item() == pytest.approx(expected, rel=1e-5)


def test_scale_does_not_matter_cosine():
    q = _unit(0.3, 1.2)
    d = _unit(0.1, 1.0)
    assert info_nce(q * 7, d * 0.2).item() == pytest.approx(info_nce(q, d).item(), rel=1e-5)


def test_default_tau_is_005():
    q = _unit(0.0)
    d = _unit(0.0)
    n = _unit(0.1)                     # cos 0.1 = 0.995: a close hard negative keeps the loss well above 0
    c = math.cos(0.1)
    expected = -math.log(math.exp(20) / (math.exp(20) + math.exp(c / 0.05)))
    assert info_nce(q, d, n).item() == pytest.approx(expected, rel=1e-4)


def test_false_negatives_are_masked_by_id_and_by_text():
    # query 1's positive is the same document as query 0's: without the mask it is a negative for both
    q = _unit(0.0, 0.1)
    d = _unit(0.0, 0.0)
    mask = false_negative_mask(["d7", "d7"], ["d7", "d7"])
    assert mask.tolist() == [[False, True], [True, False]]
    assert info_nce(q, d, mask=mask).item() == pytest.approx(0.0, abs=1e-6)
    assert info_nce(q, d).item() > 0.5
    by_text = false_negative_mask(["a", "b"], ["a", "b", "c"], ["same", "same"], ["same", "same", "other"])
    assert by_text.tolist() == [[False, True, False], [True, False, False]]


def test_mask_hand_computed_with_hard_negative_that_is_a_known_positive():
    q = _unit(0.0)
    d = _unit(0.0)
    n = _unit(0.0, 0.2)                # the first "negative" is another labelled positive of the query
    mask = false_negative_mask(["p"], ["p", "p2", "x"], positive_ids=[{"p", "p2"}])
    assert mask.tolist() == [[False, True, False]]
    c = math.cos(0.2)
    expected = -math.log(math.exp(20) / (math.exp(20) + math.exp(c / 0.05)))
    assert info_nce(q, d, n, mask=mask).item() == pytest.approx(expected, rel=1e-5)


def test_gradient_pulls_positive_closer():
    q = _unit(0.0).requires_grad_()
    d = _unit(1.0)
    n = _unit(0.5)
    info_nce(q, d, n, tau=0.1).backward()
    step = q.detach() - 0.1 * q.grad
    assert torch.cosine_similarity(step, d).item() > torch.cosine_similarity(q.detach(), d).item()


def test_bad_arguments():
    q = _unit(0.0)
    with pytest.raises(InvalidArgument, match="tau"):
        info_nce(q, q, tau=0)
    with pytest.raises(InvalidArgument, match="positives"):
        info_nce(q, _unit(0.0, 1.0))
    with pytest.raises(InvalidArgument, match="mask"):
        info_nce(q, q, mask=torch.zeros(1, 3, dtype=torch.bool))
