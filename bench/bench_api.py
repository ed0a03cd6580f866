"""HTTP benchmark with wrk (Debian package `wrk`): one uvicorn worker, keep-alive, load generator
on the same machine, the embedded SQLite store.

Prints POST /v1/predict latency at concurrency 1 (and the bare endpoint's, the machine's floor
for one round trip), throughput at concurrency 8 next to a bare FastAPI endpoint that validates
the same request model (same run, same server settings; both servers up, measured in
alternating rounds, the median ratio), batch throughput, and the server's RSS.

    .venv/bin/python bench/bench_api.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-intake-key-0123456789"
TICKET = {
    "subject": "Website geeft HTTP 500",
    "body": "Sinds vanochtend geeft onze webshop op schoenen-maes.be een HTTP 500 op elke pagina. "
    "Ik heb de cache al geleegd en de plugins uitgeschakeld.\n\nMet vriendelijke groeten,\nEls",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app} did not start: {process.stderr.read().decode()[-2000:]}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url: str, body: dict, connections: int, seconds: int, lua_dir: Path) -> dict[str, float]:
    script = lua_dir / f"post-{connections}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {KEY}"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(connections, 2)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": float(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating c=8 rounds")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="tc-bench-"))
    env = {"CLASSIFIER_API_KEYS": f"intake:{KEY}", "CLASSIFIER_DATA_DIR": str(work)}
    port = free_port()
    server = start("classifier.api:create_app", port, env)
    bare_port = free_port()
    bare = start("bench.bare_app:create_app", bare_port, env)
    try:
        url = f"http://127.0.0.1:{port}/v1/predict"
        bare_url = f"http://127.0.0.1:{bare_port}/v1/predict"
        wrk(url, TICKET, 1, 2, work)  # warm up
        wrk(bare_url, TICKET, 8, 2, work)
        single = wrk(url, TICKET, 1, args.seconds, work)
        bare_single = wrk(bare_url, TICKET, 1, args.seconds, work)
        # concurrency 8 against the bare endpoint in alternating rounds: the machine's speed
        # drifts between runs, and each ratio compares runs seconds apart
        rounds = []
        for _ in range(args.rounds):
            rounds.append(
                (
                    wrk(url, TICKET, 8, args.seconds, work),
                    wrk(bare_url, TICKET, 8, args.seconds, work),
                )
            )
        batch = wrk(f"{url}/batch", {"tickets": [TICKET] * 100}, 2, args.seconds, work)
        memory = rss_mb(server.pid)
    finally:
        for process in (server, bare):
            process.terminate()
            process.wait()
    shutil.rmtree(work, ignore_errors=True)
    ratios = [ours["rps"] / theirs["rps"] for ours, theirs in rounds]
    print("ticket-classifier HTTP API (1 uvicorn worker, wrk on the same machine)")
    print(
        f"  POST /v1/predict, concurrency 1: p50 {single['p50']:.2f} ms, p99 {single['p99']:.2f} ms"
        "  (targets 3 ms, 10 ms)"
    )
    print(
        f"  bare endpoint, concurrency 1: p50 {bare_single['p50']:.2f} ms, "
        f"p99 {bare_single['p99']:.2f} ms  (the machine's round trip with validation)"
    )
    for i, ((ours, theirs), ratio) in enumerate(zip(rounds, ratios, strict=True), 1):
        print(
            f"  round {i}, concurrency 8: {ours['rps']:.0f} req/s (p99 {ours['p99']:.1f} ms), "
            f"bare endpoint {theirs['rps']:.0f} req/s: {ratio:.0%}"
        )
    print(
        f"  ratio to the bare endpoint (same request model validation), median of "
        f"{len(ratios)} rounds: {statistics.median(ratios):.0%}  (target ≥ 40%)"
    )
    print(
        f"  POST /v1/predict/batch (100 tickets), concurrency 2: "
        f"{batch['rps'] * 100:.0f} tickets/s  (target ≥ 1,000)"
    )
    print(f"  server RSS after the run: {memory:.0f} MB  (target ≤ 400 MB)")
    failed = sum(r["errors"] for r in (single, bare_single, batch)) + sum(
        o["errors"] for o, _ in rounds
    )
    if failed:
        print(f"  WARNING: {failed:.0f} non-2xx responses")


if __name__ == "__main__":
    main()
