#!/usr/bin/env python3
"""Throughput and latency of `ferrite serve` for MobileNetV2 over the v2
REST API with binary tensors, at 1, 8 and 64 concurrent clients, and the
server's overhead over a bare invoke (`ferrite bench`) at p50.

Loopback only; every run is bounded by --requests and --seconds.
Needs only numpy (and the ferrite binary):

    cargo build --release -p ferrite-cli
    python3 tools/bench/serve_bench.py [--model M.tflite] [--requests 200]
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("FERRITE_BIN") or str(ROOT / "target/release/ferrite"))
    ap.add_argument("--model", default=str(ROOT.parent / "shared/corpus/mobilenetv2_float32/model.tflite"))
    ap.add_argument("--instances", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads", type=int, default=1, help="kernel threads per interpreter")
    ap.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    ap.add_argument("--seconds", type=float, default=30, help="time cap per concurrency level")
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not Path(a.model).exists():
        sys.exit(f"no model at {a.model}")

    bench = subprocess.run([a.bin, "bench", a.model, "--threads", str(a.threads), "--warmup", "3",
                            "--runs", "30", "--json"], check=True, capture_output=True, text=True)
    bare = json.loads(bench.stdout)

    repo = Path(tempfile.mkdtemp(prefix="ferrite-serve-bench-"))
    (repo / "mobilenetv2" / "1").mkdir(parents=True)
    shutil.copy(a.model, repo / "mobilenetv2" / "1" / "model.tflite")
    (repo / "mobilenetv2" / "config.toml").write_text(
        f"instances = {a.instances}\nmax_queue = 256\nthreads = {a.threads}\n")
    port = free_port()
    proc = subprocess.Popen([a.bin, "serve", "--model-repository", str(repo), "--host", "127.0.0.1",
                             "--http-port", str(port), "--no-grpc", "--log-level", "warn"])
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/mobilenetv2/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        meta = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/mobilenetv2"))
        inp = meta["inputs"][0]
        shape = [abs(d) for d in inp["shape"]]
        x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32).tobytes()
        header = json.dumps({
            "inputs": [{"name": inp["name"], "datatype": "FP32", "shape": shape,
                        "parameters": {"binary_data_size": len(x)}}],
            "parameters": {"binary_data_output": True},
        }).encode()
        body = header + x
        headers = {"Inference-Header-Content-Length": str(len(header)),
                   "Content-Type": "application/octet-stream"}

        results = []
        for c in [int(v) for v in a.concurrency.split(",")]:
            lat, errors, lock = [], [], threading.Lock()
            left = [a.requests]
            stop_at = time.time() + a.seconds

            def client():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                while True:
                    with lock:
                        if left[0] <= 0 or time.time() > stop_at:
                            break
                        left[0] -= 1
                    t = time.perf_counter()
                    conn.request("POST", "/v2/models/mobilenetv2/infer", body, headers)
                    r = conn.getresponse()
                    r.read()
                    dt = time.perf_counter() - t
                    with lock:
                        (lat if r.status == 200 else errors).append(dt if r.status == 200 else r.status)
                conn.close()

            # warm every instance first
            warm = [threading.Thread(target=client) for _ in range(min(c, a.instances))]
            left[0] = 2 * a.instances
            [t.start() for t in warm]
            [t.join() for t in warm]
            lat.clear()
            left[0] = a.requests
            stop_at = time.time() + a.seconds
            t0 = time.perf_counter()
            ts = [threading.Thread(target=client) for _ in range(c)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            wall = time.perf_counter() - t0
            results.append({
                "clients": c, "ok": len(lat), "errors": len(errors),
                "throughput_rps": len(lat) / wall,
                "p50_ms": 1e3 * percentile(lat, 50), "p99_ms": 1e3 * percentile(lat, 99),
            })
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(repo, ignore_errors=True)

    bare_p50 = bare.get("median_ms")
    overhead = results[0]["p50_ms"] - bare_p50 if bare_p50 is not None and results[0]["clients"] == 1 else None
    report = {"model": a.model, "instances": a.instances, "threads": a.threads,
              "bare_invoke_p50_ms": bare_p50, "server_overhead_p50_ms": overhead, "levels": results}
    if a.json:
        print(json.dumps(report, indent=1))
        return
    print(f"model {Path(a.model).parent.name}: {a.instances} instances x {a.threads} thread(s); "
          f"bare invoke p50 {bare_p50:.2f} ms")
    print(f"{'clients':>8} {'ok':>5} {'err':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['clients']:>8} {r['ok']:>5} {r['errors']:>4} {r['throughput_rps']:>8.1f} "
              f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    if overhead is not None:
        print(f"server overhead over a bare invoke at p50 (1 client): {overhead:.2f} ms")


if __name__ == "__main__":
    main()
