VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= .demo-db
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv demo test test-fast bench bench-deps bench-quality bench-server bench-train bench-cli clean

venv:
	@bash .ci/setup-venv

demo: venv
	@rm -rf $(DEMO_DB)
	$(BIN)/vecdb add --db $(DEMO_DB) --collection demo --jsonl vecdb/data/demo.jsonl
	$(BIN)/vecdb search --db $(DEMO_DB) --collection demo "How do plants make food from sunlight?" -k 3
	$(BIN)/vecdb search --db $(DEMO_DB) --collection demo "Which is the tallest peak on Earth?" -k 3
	$(BIN)/vecdb search --db $(DEMO_DB) --collection demo "making coffee" -k 2 --where '{"topic": "cooking"}' --format json

# The whole suite (CI runs this), on $(WORKERS) pytest-xdist workers (tests/conftest.py groups the files).
# Tests use the warm worker only where they test it. WORKERS=0 runs it in one process.
WORKERS ?= 2
test: venv
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadgroup --durations=10

# The fast tier: storage, filters, CLI, server and RAG on the fake `hash` model; real models only where
# embedding is what is tested. Everything marked slow (SciFact, kill/resume, Ray, real-model CLI) is left out.
test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow" --durations=5

# Benchmarks (not timed tests): each prints a table and writes bench/results/<name>.{json,md,png}.
bench-deps: venv
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[bench]"

bench: bench-deps
	$(BIN)/python bench/embed_throughput.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/scale.py

# SciFact nDCG@10 per preset and pooling (the README's quality table; smollm2 passes take ~20 min each here).
bench-quality: bench-deps
	$(BIN)/python bench/quality.py --configs minilm:mean,minilm:cls,minilm:weighted-mean
	$(BIN)/python bench/quality.py --configs minilm:mean --dtype float32
	$(BIN)/python bench/quality.py --configs "" --multi "smollm2-135m:last-token+mean+weighted-mean"
	$(BIN)/python bench/quality.py --configs smollm2-135m:last-token+prompteol

bench-server: bench-deps
	$(BIN)/python bench/server_bench.py

# vecdb --help / collections / search (first, warm worker, no worker) / ask wall clock: bench/results/cli_latency.md
bench-cli: venv
	$(BIN)/python bench/cli_latency.py

clean:
	rm -rf $(DEMO_DB) .pytest_cache

# The fine-tuning table (bench/results/train.md): frozen features once, pooling-mode runs, LoRA run.
# Builds land in $(BENCH_CACHE); smollm2 feature pass ~5 min, LoRA run ~25 min on 2 cores.
BENCH_CACHE ?= bench/out/cache
bench-train: bench-deps
	test -f $(BENCH_CACHE)/train-feats/smollm2.npz || VECDB_BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python bench/train_features.py smollm2-135m $(BENCH_CACHE)/train-feats/smollm2.npz --bases mean,last --max-length 128
	test -f $(BENCH_CACHE)/train-feats/minilm.npz || VECDB_BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python bench/train_features.py minilm $(BENCH_CACHE)/train-feats/minilm.npz --bases mean
	VECDB_BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python bench/train_scifact.py --runs smollm2-135m:last:standardize,smollm2-135m:last:identity,smollm2-135m:mean:standardize,smollm2-135m:mean:identity,minilm:mean:identity,minilm:mean:standardize
	VECDB_BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python bench/train_unseen.py
	VECDB_BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python bench/train_lora.py --lr 1e-3 --tag=-lr1e-3
	VECDB_BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python bench/train_lora.py --model minilm --pooling mean --mode full --lr 3e-5 --epochs 1 --batch-size 32 --max-length 256
