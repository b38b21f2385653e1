"""Schemathesis over the app's OpenAPI schema: the engine `st run --checks all` drives (every phase,
every check), in-process over ASGI, on every operation; zero failures.

The app serves the fake `hash` model (embedding quality is not the subject) behind an API key.
Two hooks state rules JSON Schema cannot express, so generated "valid" requests follow them:
  * the documents of one add have distinct ids (the schema says so in words; a duplicate is a 400);
  * a /context or /ask budget (max_tokens) is at least the model's max_length, the most tokens a
    passage can have (a smaller budget may fit no passage here: a 400 that depends on the data).
Everything else a valid request can be refused for is in the schema (patterns, ranges, uniqueItems,
the `where` grammar) or is a declared 404/409."""
import collections
import os
import time

import pytest

import schemathesis
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from tests.chat_server import ChatServer
from vecdb.rag.generate import OpenAIGenerator
from vecdb.server import Settings, create_app

pytestmark = pytest.mark.slow
KEY = "schema-key"
EXAMPLES = int(os.environ.get("VECDB_SCHEMA_EXAMPLES", "50"))
HASH_MAX_LENGTH = 512  # the hash model's max_length: no passage has more tokens


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("schema") / "db", api_key=KEY, models=("hash",),
                              max_batch=8, max_text_chars=500, max_k=100, max_queries=4))
    coll = app.state.db.create_collection("docs", model="hash")
    coll.add(["The Eiffel Tower is in Paris", "Bananas are yellow"], ids=["a", "b"],
             metadata=[{"y": 1, "tag": "x"}, None])
    with ChatServer(["Paris [1]."]) as chat:  # /ask answers from a local endpoint, not a local model
        app.state.chat_generator = OpenAIGenerator(chat.url)
        yield app
    app.state.batcher.close()
    app.state.db.close()


def load(app):
    config = SchemathesisConfig.from_dict({
        "headers": {"Authorization": f"Bearer {KEY}"},
        "seed": 15,
        # Hypothesis' health checks time generation, which a busy 2-core machine slows: not the API's fault.
        "suppress-health-check": ["too_slow", "filter_too_much"],
        "checks": {"enabled": True},
        "generation": {"max-examples": EXAMPLES, "database": "none"},
    })
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config,
                                            headers={"Authorization": f"Bearer {KEY}"})

    @schema.hook
    def filter_body(context, body):
        path = context.operation.path
        if path == "/v1/collections/{name}/documents" and isinstance(body, dict) and \
                isinstance(body.get("documents"), list):
            # negative cases may carry ids of any JSON type: only strings can collide
            ids = [d["id"] for d in body["documents"] if isinstance(d, dict) and isinstance(d.get("id"), str)]
            return len(ids) == len(set(ids))
        if path.endswith(("/context", "/ask")) and isinstance(body, dict):
            budget = body.get("max_tokens", 1024)
            return not isinstance(budget, (int, float)) or isinstance(budget, bool) or budget >= HASH_MAX_LENGTH
        return True

    return schema


def run(schema) -> tuple[collections.Counter, dict, dict, set]:
    cases, failures, examples, operations = collections.Counter(), collections.Counter(), {}, set()
    for ev in engine.from_schema(schema).execute():
        if isinstance(ev, events.NonFatalError):
            failures[(ev.label, "error")] += 1
            examples[(ev.label, "error")] = ev.info.format()[:3000]
        if isinstance(ev, events.FatalError):
            failures[("engine", "fatal")] += 1
            examples[("engine", "fatal")] = repr(ev.exception)[:3000]
        if not isinstance(ev, events.ScenarioFinished):
            continue
        rec = ev.recorder
        cases[ev.phase.value] += len(rec.cases)
        if ev.label and rec.cases:
            operations.add(ev.label)
        for case_id, checks in rec.checks.items():
            for check in checks:
                if check.status.name == "FAILURE":
                    key = (ev.label, check.name)
                    failures[key] += 1
                    case = rec.cases[case_id].value if case_id in rec.cases else None
                    info = check.failure_info
                    examples.setdefault(key, f"{info.failure.title if info else ''}: "
                                             f"{info.failure.message if info else ''}\n"
                                             f"body={getattr(case, 'body', None)!r} "
                                             f"path={getattr(case, 'path_parameters', None)!r}")
    return cases, failures, examples, operations


def test_schemathesis_every_check_every_operation(app):
    schema = load(app)
    declared = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())}
    start = time.perf_counter()
    cases, failures, examples, operations = run(schema)
    elapsed = time.perf_counter() - start
    print(f"\nschemathesis: {sum(cases.values())} cases ({dict(cases)}) over {len(operations)} operations in "
          f"{elapsed:.0f} s; {sum(failures.values())} failures")
    report = "\n\n".join(f"{k} x{n}\n{examples[k]}" for k, n in failures.items())
    assert not failures, report
    assert operations == declared and len(declared) >= 15, declared - operations
    assert set(cases) >= {"coverage", "fuzzing", "stateful"}, cases  # every phase ran (examples: none given)
    assert sum(cases.values()) > 30 * len(declared)
