"""Training time and peak memory at several corpus sizes (the train split replicated with light
perturbation: words dropped and swapped, ids renumbered), each size in a fresh process.

    .venv/bin/python bench/bench_train.py --sizes 2000,10000,100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import json, random, resource, sys, time
import pandas as pd
from training.config import load_config
from training.dataset import load_tickets, split_tickets
from training.fit import fit_model

size = int(sys.argv[1])
train, _ = split_tickets(load_tickets())
rng = random.Random(7)

def perturb(text):
    words = text.split(" ")
    if len(words) > 6:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        del words[rng.randrange(len(words))]
    return " ".join(words)

rows = []
for n in range(size):
    row = dict(train.iloc[n % len(train)])
    if n >= len(train):
        row["id"] = f"x-{n}"
        row["body"] = perturb(row["body"])
    rows.append(row)
frame = pd.DataFrame(rows)
start = time.perf_counter()
fit_model(frame, load_config(), "bench", progress=lambda m: None)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"size": size, "seconds": seconds, "peak_mb": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,10000,100000")
    args = parser.parse_args()
    print(
        "training time and peak memory (fit + cross-validated thresholds; no MLflow, no ablation)"
    )
    print(
        f"  {'tickets':>8} {'seconds':>9} {'s/1k':>7} {'peak MB':>8}"
        "   targets: 10k ≤ 60 s, 100k ≤ 600 s"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, "-c", RUN, str(size)], cwd=ROOT, capture_output=True, text=True
        )
        if out.returncode != 0:
            print(f"  {size:>8} failed: {out.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  {r['size']:>8} {r['seconds']:>9.1f} {r['seconds'] / r['size'] * 1000:>7.2f} "
            f"{r['peak_mb']:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
