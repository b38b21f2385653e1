"""Clients nobody here wrote, against a real `vecdb serve`: the official `openai` client through every
input form and error, LangChain's OpenAIEmbeddings as the README configures it, and token-id input
posted the way LangChain's default path posts it. Vectors must equal the library's."""
import base64

import httpx
import numpy as np
import openai
import pytest
from langchain_openai import OpenAIEmbeddings

from .conftest import KEY

pytestmark = pytest.mark.slow
TEXTS = ["The Eiffel Tower is in Paris", "Bananas are yellow", "a third, longer text about rivers and oceans"]
LONG = " ".join(f"word{i} river mountain" for i in range(200))  # ~800 minilm tokens, over its 256


@pytest.fixture(scope="module")
def server(servers):
    _, a, _ = servers
    with a.client() as c:
        r = c.post("/v1/collections", json={"name": "notes", "exist_ok": True})
        assert r.status_code == 201, r.text
    return a


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


def vectors(res) -> np.ndarray:
    rows = [d.embedding for d in sorted(res.data, key=lambda d: d.index)]
    if rows and isinstance(rows[0], str):  # encoding_format="base64" asked for explicitly: left as base64
        return np.stack([np.frombuffer(base64.b64decode(r), dtype="<f4") for r in rows])
    return np.array(rows, dtype=np.float32)


def ids_of(minilm, texts):
    return [minilm.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def test_every_input_form(client, minilm):
    direct = minilm.embed_documents(TEXTS)
    ids = ids_of(minilm, TEXTS)
    forms = [(TEXTS[0], direct[:1]), (TEXTS, direct), (ids[0], direct[:1]), (ids, direct)]
    for inp, want in forms:
        for fmt in (openai.NOT_GIVEN, "float", "base64"):  # not given: the client asks for base64, decodes it
            res = client.embeddings.create(model="minilm", input=inp, encoding_format=fmt)
            assert np.allclose(vectors(res), want, atol=1e-6), (inp, fmt)
            assert res.usage.prompt_tokens == res.usage.total_tokens == sum(minilm.count_tokens(
                [inp] if isinstance(inp, str) else TEXTS[:len(want)]))
            assert res.model == "minilm" and res.truncated == 0
    res = client.embeddings.create(model="notes", input=TEXTS)  # a collection's name: its embedder
    assert np.allclose(vectors(res), direct, atol=1e-6)
    one = client.embeddings.create(model="minilm", input=TEXTS[0], encoding_format="float", dimensions=32)
    v = np.array(one.data[0].embedding)
    assert v.shape == (32,) and np.isclose(np.linalg.norm(v), 1, atol=1e-5)
    assert np.allclose(v, direct[0, :32] / np.linalg.norm(direct[0, :32]), atol=1e-5)
    short = client.embeddings.create(model="minilm", input=ids, dimensions=64)
    assert vectors(short).shape == (3, 64)


def test_errors_raise_the_matching_class_with_the_message(client, server, minilm):
    with pytest.raises(openai.NotFoundError) as e:
        client.embeddings.create(model="no-such-model", input="x")
    assert (e.value.type, e.value.code, e.value.param) == ("not_found_error", "model_not_found", "model")
    assert "'no-such-model' is neither a model served here" in e.value.message
    with pytest.raises(openai.AuthenticationError) as e:
        openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0).embeddings.create(
            model="minilm", input="x")
    assert (e.value.type, e.value.code) == ("authentication_error", "invalid_api_key")
    assert "invalid API key" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input=["fine", LONG])
    assert (e.value.type, e.value.code, e.value.param) == ("invalid_request_error", "context_length_exceeded", "input")
    assert "input[1]: " in e.value.message and "limit of model 'minilm' (256 tokens)" in e.value.message
    res = client.embeddings.create(model="minilm", input=["fine", LONG], extra_body={"truncate": True})
    assert res.truncated == 1 and res.usage.prompt_tokens == minilm.count_tokens(["fine"])[0] + 256
    assert np.allclose(vectors(res), minilm.embed_documents(["fine", LONG]), atol=1e-6)
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input=[[101, 40000]])
    assert "token id 40000 is outside the vocabulary of model 'minilm' (ids 0 to 30521)" in e.value.message
    with pytest.raises(openai.UnprocessableEntityError) as e:
        client.embeddings.create(model="minilm", input="x", dimensions=385)
    assert e.value.param == "dimensions" and e.value.code == "invalid_request_body"
    assert [m.id for m in client.models.list()][:1] == ["minilm"] and "notes" in [m.id for m in client.models.list()]
    assert client.models.retrieve("minilm").owned_by == "vecdb"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_langchain_as_the_readme_configures_it(server, minilm):
    emb = OpenAIEmbeddings(model="minilm", base_url=server.url + "/v1", api_key=KEY,
                           check_embedding_ctx_length=False, chunk_size=2, max_retries=0)
    texts = TEXTS + ["mountains are tall", "the sea is blue"]
    got = np.array(emb.embed_documents(texts), dtype=np.float32)  # three requests of at most 2 texts
    assert np.allclose(got, minilm.embed_documents(texts), atol=1e-6)
    assert np.allclose(emb.embed_query("where is the tower?"), minilm.embed_documents(["where is the tower?"])[0],
                       atol=1e-6)


def test_token_ids_batched_like_langchains_default_path(server, minilm):
    """LangChain (check_embedding_ctx_length=True) cuts each text's tokens into pieces of at most
    embedding_ctx_length ids and posts `chunk_size` pieces per request as lists of ints. Same here
    with minilm's own tokenizer (its ctx: 256 minus [CLS] and [SEP])."""
    ctx, chunk_size = minilm.spec.max_length - 2, 3
    pieces = [t[j:j + ctx] for t in ids_of(minilm, TEXTS + [LONG, "mountains are tall"])
              for j in range(0, len(t), ctx)]
    assert len(pieces) > 2 * chunk_size
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as c:
        for i in range(0, len(pieces), chunk_size):
            batch = pieces[i:i + chunk_size]
            r = c.post("/v1/embeddings", json={"input": batch, "model": "minilm"})
            assert r.status_code == 200, r.text
            got = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
            # the same batch through the library (a batch's padding moves bf16 results in the 4th digit)
            assert np.allclose(got, minilm.embed_token_ids(batch), atol=1e-6)
            assert r.json()["usage"]["prompt_tokens"] == sum(len(p) + 2 for p in batch)
