"""Dynamic batching: requests queued together share one model call; results match direct embedding."""
import numpy as np
import pytest

from vecdb.embed.batcher import Batcher


def recorder():
    calls = []
    return calls, lambda n_texts, n_requests: calls.append((n_texts, n_requests))


def test_queued_requests_share_one_batch(minilm):
    calls, on_batch = recorder()
    b = Batcher(max_wait_ms=1, on_batch=on_batch, autostart=False)  # all three queued before the worker runs
    texts = [["the cat sat on the mat"], ["rivers flow to the ocean", "a red mountain"], ["blue"]]
    futures = [b.submit(minilm, t) for t in texts]
    b.start()
    got = [f.result(timeout=60) for f in futures]
    b.close()
    assert calls == [(4, 3)]
    direct = minilm.embed_documents([t for ts in texts for t in ts])
    assert np.allclose(np.concatenate(got), direct, atol=1e-5)
    assert [g.shape[0] for g in got] == [1, 2, 1]


def test_kinds_and_budget_split_batches(minilm):
    calls, on_batch = recorder()
    b = Batcher(max_wait_ms=1, token_budget=12, on_batch=on_batch, autostart=False)
    q = b.submit(minilm, ["where is the cat"], kind="query")
    d1 = b.submit(minilm, ["the cat sat on the mat"])              # ~7 approx tokens
    d2 = b.submit(minilm, ["a dog sat on the mat too"])            # would pass the budget with d1
    b.start()
    for f in (q, d1, d2):
        f.result(timeout=60)
    b.close()
    assert sorted(calls) == [(1, 1), (1, 1), (1, 1)]
    assert np.allclose(q.result(), minilm.embed_queries(["where is the cat"]), atol=1e-5)


def test_concurrent_submitters_get_their_own_rows(minilm):
    import threading

    b = Batcher(max_wait_ms=5)
    texts = [f"document number {i} about {w}" for i, w in enumerate("cats dogs rivers blue red green".split())]
    out = {}

    def work(i):
        out[i] = b.embed(minilm, [texts[i]])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b.close()
    direct = minilm.embed_documents(texts)
    for i in range(len(texts)):
        assert np.allclose(out[i][0], direct[i], atol=1e-3)


def test_closed_batcher_refuses(minilm):
    b = Batcher()
    b.close()
    with pytest.raises(RuntimeError):
        b.submit(minilm, ["x"])


def test_counting_untruncated_while_the_batcher_tokenises(minilm):
    """The server counts an input's full tokens on the event loop while the batcher's thread tokenises
    (cut to max_length) for the model: neither may see the other's truncation setting."""
    import threading

    long = ["word " * 600] * 32
    full, cut = minilm.count_tokens(long[:1], truncate=False)[0], minilm.spec.max_length
    wrong: list = []

    def count(truncate: bool, want: int):
        for _ in range(20):
            got = set(minilm.count_tokens(long, truncate=truncate))
            if got != {want}:
                wrong.append((truncate, got))

    threads = [threading.Thread(target=count, args=(t, full if not t else cut)) for t in (False, True, False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert full > cut and not wrong, wrong[:3]
