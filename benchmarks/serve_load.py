"""Benchmark: the answer page's API under a class's load.

Run:  python benchmarks/serve_load.py [--clients 20] [--answers 200] [--seed 26]

Starts ``dlverify serve scalar_rnn lae --port 0`` as a user would (the derivation cache warmed
first, ``dlverify cache --warm``), times how long it takes to serve its page, then sends
``--answers`` POST /api/check requests from ``--clients`` concurrent clients: expression and
matrix items, right and wrong answers in several spellings, some repeated (a class submits the
same common answers) and a few hostile ones (a billion-term triple sum, a power tower), each with
the verdict expected by hand.  Prints whether any request was lost or got another verdict, and
the latency (p50, p90, p99, max) overall and for first-seen, repeated and hostile answers; then
the same for /api/read (the preview).  Traffic goes to 127.0.0.1 only, and the run ends by itself.
Not a test: nothing fails because the machine is slow.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["scalar_rnn", "lae"]
REQUEST_TIMEOUT = 60.0

# (id, answer, the verdict expected by hand)
RIGHT_DY_DW = ["3w^2 u_1 + 2 w u_2 + u_3", "3 w^2 u1 + 2w u2 + u3", r"3 w^{2} u_{1} + 2 w u_{2} + u_{3}"]
WRONG_DY_DW = ["w^3 u_1 + w^2 u_2 + w u_3", "3w^2 u_1 + 2 w u_2", "3w^2 u_1 + w u_2 + u_3", "2w u_1 + u_2"]
RIGHT_GENERAL = [r"\sum_{t=1}^{T} (T-t+1) w^{T-t} u_t", "sum((T - t + 1) w^(T - t) u_t, t, 1, T)"]
WRONG_GENERAL = [r"\sum_{t=1}^{T} (T-t) w^{T-t-1} u_t", r"\sum_{t=1}^{T} w^{T-t} u_t"]
RIGHT_W1 = [
    r"-\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T",
    "-2/n * W_2.T (X - W_2 W_1 X) X.T",
    r"\frac{2}{n} W_2^\top (W_2 W_1 X - X) X^\top",
    r"-\frac{2}{n} (W_2^T X X^T - W_2^T W_2 W_1 X X^T)",
]
WRONG_W1 = [
    r"-\frac{1}{n} W_2^T (X - W_2 W_1 X) X^T",  # half
    r"\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T",  # sign
    r"-\frac{2}{n} W_2 (X - W_2 W_1 X) X^T",  # a transpose missing: the shapes do not fit
    r"-\frac{2}{n} W_2^T (X - W_2 W_1 X)",  # a factor dropped
]
RIGHT_W2 = [r"-\frac{2}{n} (X - W_2 W_1 X) X^T W_1^T", "-2/n (X - W_2 W_1 X) X.T W_1.T"]
WRONG_W2 = [r"-\frac{2}{n} (X - W_2 W_1 X) X^T W_1", r"-\frac{2}{n} W_1^T (X - W_2 W_1 X) X^T"]
HOSTILE = [
    ("scalar_rnn.dy_dw_general", r"\sum_{a=1}^{1000} \sum_{b=1}^{1000} \sum_{c=1}^{1000} u_a", "timeout"),
    ("scalar_rnn.dy_dw", r"((3^{999})^{999})^{999}", "timeout"),
]


def distinct_answers() -> list[tuple[str, str, str]]:
    out = []
    for pid, right, wrong in (
        ("scalar_rnn.dy_dw", RIGHT_DY_DW, WRONG_DY_DW),
        ("scalar_rnn.dy_dw_general", RIGHT_GENERAL, WRONG_GENERAL),
        ("lae.grad_W1", RIGHT_W1, WRONG_W1),
        ("lae.grad_W2", RIGHT_W2, WRONG_W2),
    ):
        out += [(pid, a, "correct") for a in right] + [(pid, a, "incorrect") for a in wrong]
    # more distinct texts of the same answers: a zero term written differently each time
    for k in range(1, 9):
        out.append(("scalar_rnn.dy_dw", f"3w^2 u_1 + 2 w u_2 + u_3 + {k} w - {k} w", "correct"))
        out.append(("scalar_rnn.dy_dw", f"3w^2 u_1 + 2 w u_2 + {k} u_3", "correct" if k == 1 else "incorrect"))
        out.append(("lae.grad_W1", rf"-\frac{{{2 * k}}}{{{k} n}} W_2^T (X - W_2 W_1 X) X^T", "correct"))
    return out + HOSTILE


def workload(n: int, seed: int) -> list[tuple[str, str, str]]:
    """``n`` requests: every distinct answer once, then repeats of the common ones (never a hostile
    one twice, so each costs its full time limit once), shuffled."""
    rng = random.Random(seed)
    base = distinct_answers()
    common = [a for a in base if a[2] != "timeout"]
    requests = list(base)
    while len(requests) < n:
        requests.append(rng.choice(common))
    rng.shuffle(requests)
    return requests[:n]


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def percentiles(times: list[float]) -> str:
    if not times:
        return "none"
    ordered = sorted(times)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (
        f"n={len(times):3d}  p50 {statistics.median(ordered) * 1000:7.1f} ms  p90 {at(0.90):7.1f} ms"
        f"  p99 {at(0.99):7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    )


def start_server() -> tuple[subprocess.Popen, str, float]:
    start = time.perf_counter()
    command = [sys.executable, "-m", "dlverify", "serve", *TOPICS, "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = process.stdout.readline()
    found = re.search(r"http://\S+/", line)
    if not found:
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    url = found.group(0)
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
        response.read()
    return process, url, time.perf_counter() - start


def run_load(url: str, requests: list[tuple[str, str, str]], clients: int, path: str) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def one(task: tuple[str, str, str]) -> dict:
        pid, answer, expected = task
        with lock:
            first = (pid, answer) not in seen
            seen.add((pid, answer))
        begun = time.perf_counter()
        try:
            status, data = post(url + path, {"id": pid, "answer": answer})
        except Exception as exc:  # noqa: BLE001 - a lost request is what this measures
            status, data = 0, {"error": repr(exc)}
        return {"pid": pid, "expected": expected, "status": status, "data": data, "first": first,
                "seconds": time.perf_counter() - begun}  # fmt: skip

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=26)
    args = parser.parse_args()

    subprocess.run([sys.executable, "-m", "dlverify", "cache", "--warm", *TOPICS], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    process, url, up = start_server()
    try:
        print(f"dlverify serve {' '.join(TOPICS)}: page served {up:.2f} s after the command started (cache warm)")
        post(url + "api/check", {"id": "scalar_rnn.dy_dw", "answer": "w"})  # the workers started
        requests = workload(args.answers, args.seed)
        start = time.perf_counter()
        results = run_load(url, requests, args.clients, "api/check")
        wall = time.perf_counter() - start
        lost = [r for r in results if r["status"] != 200 or "verdict" not in r["data"]]
        wrong = [r for r in results if r not in lost and r["data"]["verdict"] != r["expected"]]
        rate = len(results) / wall
        print(
            f"\n/api/check: {len(results)} answers from {args.clients} clients in {wall:.1f} s ({rate:.0f} answers/s)"
        )
        print(f"  lost {len(lost)}, another verdict than expected {len(wrong)}")
        for r in (lost + wrong)[:5]:
            print(f"  {r['pid']}: {r['status']} {json.dumps(r['data'])[:200]}")
        print("  all       " + percentiles([r["seconds"] for r in results]))
        print(
            "  first     " + percentiles([r["seconds"] for r in results if r["first"] and r["expected"] != "timeout"])
        )
        print("  repeated  " + percentiles([r["seconds"] for r in results if not r["first"]]))
        print("  hostile   " + percentiles([r["seconds"] for r in results if r["expected"] == "timeout"]))
        print("  not hostile " + percentiles([r["seconds"] for r in results if r["expected"] != "timeout"]))

        previews = [(pid, answer, "") for pid, answer, _ in workload(args.answers, args.seed + 1)]
        start = time.perf_counter()
        read = run_load(url, previews, args.clients, "api/read")
        wall = time.perf_counter() - start
        lost = [r for r in read if r["status"] != 200 or not ("parts" in r["data"] or "failed" in r["data"])]
        print(f"\n/api/read: {len(read)} previews in {wall:.1f} s; lost {len(lost)}")
        print("  all       " + percentiles([r["seconds"] for r in read]))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
