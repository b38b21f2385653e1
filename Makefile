VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= .demo-db
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv demo test test-fast bench bench-server clean

venv:
	@bash .ci/setup-venv

demo: venv
	@rm -rf $(DEMO_DB)
	$(BIN)/vecdb add --db $(DEMO_DB) --collection demo --jsonl vecdb/data/demo.jsonl
	$(BIN)/vecdb search --db $(DEMO_DB) --collection demo "How do plants make food from sunlight?" -k 3
	$(BIN)/vecdb search --db $(DEMO_DB) --collection demo "Which is the tallest peak on Earth?" -k 3
	$(BIN)/vecdb search --db $(DEMO_DB) --collection demo "making coffee" -k 2 --where '{"topic": "cooking"}' --format json

test: venv
	$(BIN)/python -m pytest -q --durations=10

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow"

# Benchmarks (not timed tests): each prints a table and writes bench/results/<name>.{json,md,png}.
bench: venv
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/scale.py
bench-server: venv
	$(BIN)/python bench/server_bench.py

clean:
	rm -rf $(DEMO_DB) .pytest_cache
