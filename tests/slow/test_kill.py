"""SIGKILL during ingest loses nothing acknowledged and leaves index and SQLite in agreement."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import vecdb

WORKER = r"""
import sys, vecdb
path, start = sys.argv[1], int(sys.argv[2])
db = vecdb.open(path)
c = db.get_or_create_collection("k")
i = start
while True:
    ids = [f"doc-{j}" for j in range(i, i + 8)]
    texts = [f"Document {j} talks about subject {j % 13} and detail {j * 7 % 11}" for j in range(i, i + 8)]
    c.add(texts, ids=ids, batch_size=4)
    print("COMMITTED", i + 8, flush=True)
    i += 8
    if i - start >= 64:
        db.close()  # also exercise a kill while the index file is being written
        db = vecdb.open(path)
        c = db.get_collection("k")
        start = i
"""


@pytest.mark.slow
def test_sigkill_during_add(tmp_path):
    path = tmp_path / "db"
    rng = random.Random(7)
    acked = 0
    for round_no in range(5):
        p = subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(acked)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, TOKENIZERS_PARALLELISM="false"))
        target = rng.randint(1, 12)  # commits to wait for before killing, then a random extra delay
        seen = 0
        deadline = time.time() + 120
        while seen < target and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            if line.startswith("COMMITTED"):
                acked = int(line.split()[1])
                seen += 1
        time.sleep(rng.random() * 0.3)
        p.send_signal(signal.SIGKILL)
        p.wait()
        for line in p.stdout.read().splitlines():  # acknowledgements printed before the kill landed
            if line.startswith("COMMITTED"):
                acked = int(line.split()[1])
        assert seen > 0, p.stderr.read()[-2000:]
        with vecdb.open(path) as d:
            c = d.get_collection("k")
            got = {doc.id for doc in c.get([f"doc-{j}" for j in range(acked)])}
            assert len(got) == acked, f"round {round_no}: lost {acked - len(got)} acknowledged documents"
            check = c.check()
            assert check["ok"], check
            assert c.count() == check["index"]
            hit = c.search(f"Document {acked - 1} talks about subject", k=1)
            assert hit and hit[0].id.startswith("doc-")
