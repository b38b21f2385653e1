"""One contract for every index type and storage dtype, on small clustered random vectors."""
import numpy as np
import pytest

from vecdb.errors import InvalidArgument
from vecdb.index import INDEX_TYPES, create_index, parse_config

DIM = 32
# small training thresholds so that the trained (approximate) paths run on a few thousand vectors
CONFIGS = [
    {"type": "flat"}, {"type": "flat", "dtype": "float16"}, {"type": "flat", "dtype": "int8"},
    {"type": "hnsw", "M": 16}, {"type": "hnsw", "dtype": "float16", "ef_search": 16},
    {"type": "hnsw", "dtype": "int8", "rebuild_deleted": 0.3},
    {"type": "ivf", "nlist": 16, "nprobe": 4, "min_train": 1000},
    {"type": "ivf", "nlist": 16, "dtype": "int8", "min_train": 1000},
    {"type": "ivf", "nlist": 16, "pq": 16, "pq_bits": 4, "min_train": 1000},
]
IDS = [f"{c['type']}-{c.get('dtype', 'float32')}" + ("-pq" if c.get("pq") else "") for c in CONFIGS]


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((20, DIM))
    x = centers[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def exact(x, ids, q, k):
    sims = q @ x.T
    return ids[np.argsort(-sims, axis=1)[:, :k]]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # OpenMP spinning is slow on a shared box; these inputs are tiny
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(params=CONFIGS, ids=IDS)
def config(request):
    return request.param


@pytest.fixture
def built(config, request):
    """A built index shared by the read-only tests of one config."""
    key = repr(config)
    if key not in _BUILT:
        _BUILT.clear()
        _BUILT[key] = build(config)
    return _BUILT[key]


_BUILT: dict = {}


def build(config, n=3000, seed=0):
    ix = create_index(config, DIM)
    x = data(n, seed)
    ids = np.arange(n, dtype=np.int64) * 7 + 3  # sparse, non-positional ids
    for s in range(0, n, 700):  # several batches, like a collection's catch-up
        ix.add(ids[s:s + 700], x[s:s + 700])
    return ix, x, ids


def test_every_type_is_covered():
    assert {c["type"] for c in CONFIGS} == set(INDEX_TYPES)


def test_empty_and_tiny(config):
    ix = create_index(config, DIM)
    s, i = ix.search(data(2), 5)
    assert (i == -1).all() and len(ix) == 0 and len(ix.ids()) == 0
    x = data(3, seed=1)
    ix.add(np.array([10, 11, 12]), x)  # below any training threshold: exact
    s, i = ix.search(x, 5)
    assert i[:, 0].tolist() == [10, 11, 12] and (i[:, 3:] == -1).all()
    assert np.allclose(s[:, 0], 1.0, atol=1e-3)


def test_recall_against_exact(config, built):
    ix, x, ids = built
    q = data(100, seed=9)
    _, got = ix.search(q, 10)
    want = exact(x, ids, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)])
    floor = 0.99 if config["type"] == "flat" and config.get("dtype", "float32") != "int8" else 0.6
    assert recall >= (0.45 if config.get("pq") else floor), recall  # PQ16x4: a lossy 8-byte code
    assert len(ix) == 3000 and sorted(ix.ids().tolist()) == ids.tolist()
    st = ix.stats()
    assert st["type"] == config["type"] and st["vectors"] == 3000 and st["trained"] is True
    assert st["memory_bytes"] > 0 and st["deleted_share"] == 0.0


def test_remove_never_returns_removed(config):
    ix, x, ids = build(config)
    gone = ids[::3]
    ix.remove(gone)
    ix.remove(np.array([999_999]))  # unknown ids are ignored
    assert len(ix) == 3000 - len(gone)
    assert set(ix.ids().tolist()) == set(ids.tolist()) - set(gone.tolist())
    _, got = ix.search(x[:50], 10)
    assert not set(got.ravel().tolist()) & set(gone.tolist())
    assert (got >= 0).all()  # still k hits
    if config["type"] == "hnsw":
        assert ix.deleted_share() == pytest.approx(len(gone) / 3000)
        assert ix.needs_rebuild() == (len(gone) / 3000 > ix.p["rebuild_deleted"])


@pytest.mark.parametrize("n_allowed", [1, 5, 10, 40, 600])
def test_filtered_search_returns_k_when_k_match(config, built, n_allowed):
    ix, x, ids = built
    rng = np.random.default_rng(n_allowed)
    allowed = np.sort(rng.choice(ids, n_allowed, replace=False))
    q = data(20, seed=3)
    s, got = ix.search(q, 10, allowed)
    want = min(10, n_allowed)
    assert ((got >= 0).sum(1) == want).all()
    assert set(got[got >= 0].tolist()) <= set(allowed.tolist())
    assert (np.diff(s[:, :want], axis=1) <= 1e-6).all()  # best first
    _, none = ix.search(q, 10, np.zeros(0, np.int64))
    assert (none == -1).all()


def test_serialise_roundtrip(config):
    ix, x, ids = build(config)
    ix.remove(ids[:100])
    q = data(30, seed=5)
    before = ix.search(q, 10)
    again = type(ix).from_bytes(ix.to_bytes(), DIM, **{k: v for k, v in config.items() if k != "type"})
    after = again.search(q, 10)
    assert len(again) == len(ix) and np.array_equal(before[1], after[1])
    assert np.allclose(before[0], after[0], atol=1e-5)


def test_parse_config_and_errors():
    assert parse_config("hnsw,M=48,ef_search=100,dtype=int8") == {"type": "hnsw", "M": 48, "ef_search": 100,
                                                                 "dtype": "int8"}
    assert parse_config({"type": "ivf", "pq": 8}) == {"type": "ivf", "pq": 8}
    for bad in ["nope", "hnsw,M", "hnsw,efs=3", "flat,dtype=int4", "hnsw,M=big", "ivf,nprobe=-1"]:
        with pytest.raises(InvalidArgument) as e:
            parse_config(bad)
        assert e.value.argument == "index"
    with pytest.raises(InvalidArgument, match="divide"):
        create_index({"type": "ivf", "pq": 7}, DIM)


def test_ivf_trains_lazily_then_asks_to_retrain():
    ix = create_index({"type": "ivf", "nlist": 8, "min_train": 500, "retrain_growth": 2.0}, DIM)
    x = data(2000)
    ix.add(np.arange(600), x[:600])
    assert ix.stats()["trained"] is False  # waits for the first search or save
    ix.search(x[:1], 3)
    assert ix.stats()["trained"] is True and ix.trained_count == 600 and not ix.needs_rebuild()
    ix.add(np.arange(600, 1200), x[600:1200])
    assert ix.needs_rebuild()  # doubled since training


def test_allowed_ids_missing_from_the_index_are_harmless(config, built):
    ix, x, ids = built
    allowed = np.concatenate([ids[:3], np.array([10**9, 10**9 + 1])])
    _, got = ix.search(x[:2], 10, allowed)
    assert set(got[got >= 0].tolist()) == set(ids[:3].tolist())
