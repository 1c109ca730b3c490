#!/usr/bin/env python3
"""Times ferrite and LiteRT (XNNPACK on, same thread count) on the same
models in one run, alternating rounds, and prints ferrite/LiteRT ratios.

ferrite is timed by `ferrite bench --json` (its median over the round's
runs); LiteRT by ai_edge_litert's Interpreter with its default delegates
(XNNPACK). Each round runs both back to back so machine noise hits both;
the reported figure is the median over rounds.

Usage:
  tools/bench/side_by_side.py [--ferrite target/release/ferrite]
      [--threads 1 2] [--rounds 5] [--runs 30] [--warmup 5] [--json OUT]
      [--no-sweep] [MODEL ...]

With no MODEL it prints two sections:
  table  the corpus's MobileNetV2 (float32, int8, dynamic-range) and
         EfficientNet-B0 float32, plus ResNet50 float32, EfficientNet-B0
         int8 and MobileNetV2 int16x8 from tools/bench/make_models.py;
  sweep  MobileNetV2 float32 and int8 at 96, 160 and 224 pixels (batch 1),
         and at 224 pixels with batch 4 and 16 (the input resized in both
         runtimes), so that the growth of the cost is visible.
A model make_models.py has not built yet is listed as missing, not skipped
silently. LiteRT runs with its default delegates (XNNPACK); ops XNNPACK does
not take (int16x8, hybrid) fall back to LiteRT's builtin kernels, as they
would for a user. Needs the virtualenv of tools/fixtures/requirements.txt.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared/corpus"
BENCH = ROOT / "tools/bench/models"
TABLE = [
    CORPUS / "mobilenetv2_float32/model.tflite",
    CORPUS / "efficientnetb0_float32/model.tflite",
    BENCH / "resnet50_float32.tflite",
    CORPUS / "mobilenetv2_int8/model.tflite",
    BENCH / "efficientnetb0_int8.tflite",
    CORPUS / "mobilenetv2_dynamic_range/model.tflite",
    BENCH / "mobilenetv2_int16x8.tflite",
]


def sweep_cases():
    """(model, batch) pairs: resolution at batch 1, then batch at 224."""
    cases = []
    for kind in ("float32", "int8"):
        cases += [(BENCH / f"mobilenetv2_{kind}_{size}.tflite", 1) for size in (96, 160, 224)]
        cases += [(BENCH / f"mobilenetv2_{kind}_224.tflite", batch) for batch in (4, 16)]
    return cases


def input_details(model):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(model)).get_input_details()


def litert_median(model, batch, threads, warmup, runs):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(model), num_threads=threads)
    if batch != 1:
        for d in interp.get_input_details():
            interp.resize_tensor_input(d["index"], [batch, *d["shape"][1:]])
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in interp.get_input_details():
        shape, dtype = d["shape"], d["dtype"]
        if np.issubdtype(dtype, np.floating):
            data = rng.uniform(-1, 1, shape).astype(dtype)
        elif np.issubdtype(dtype, np.integer) and np.iinfo(dtype).bits <= 16:
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        else:
            data = rng.integers(0, 10, shape).astype(dtype)
        interp.set_tensor(d["index"], data)
    for _ in range(warmup):
        interp.invoke()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def ferrite_median(binary, model, batch, threads, warmup, runs):
    cmd = [str(binary), "bench", str(model), "--threads", str(threads),
           "--warmup", str(warmup), "--runs", str(runs), "--json"]
    if batch != 1:
        for d in input_details(model):
            dims = ",".join(str(x) for x in [batch, *d["shape"][1:]])
            cmd += ["--input-shape", f"{d['name']}={dims}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["median_ms"]


def run_section(title, cases, args, results):
    print(f"\n{title}")
    print(f"{'model':<36} {'batch':>5} {'thr':>3} {'ferrite ms':>11} {'LiteRT ms':>10} {'ratio':>6}")
    for model, batch in cases:
        name = model.parent.name if model.name == "model.tflite" else model.stem
        if not model.exists():
            print(f"{name:<36} missing: build it with tools/bench/make_models.py {name}")
            continue
        for threads in args.threads:
            f_meds, l_meds = [], []
            for r in range(args.rounds):
                f_meds.append(ferrite_median(args.ferrite, model, batch, threads, args.warmup, args.runs))
                l_meds.append(litert_median(model, batch, threads, args.warmup, args.runs))
                print(f"  round {r + 1}/{args.rounds}: ferrite {f_meds[-1]:.2f} ms, LiteRT {l_meds[-1]:.2f} ms",
                      file=sys.stderr)
            f, l = statistics.median(f_meds), statistics.median(l_meds)
            results.append({"section": title, "model": name, "batch": batch, "threads": threads,
                             "ferrite_ms": f, "litert_xnnpack_ms": l, "ratio": f / l,
                             "rounds": args.rounds, "runs": args.runs})
            print(f"{name:<36} {batch:>5} {threads:>3} {f:>11.2f} {l:>10.2f} {f / l:>6.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path, help="time only these models (batch 1)")
    ap.add_argument("--ferrite", type=Path, default=ROOT / "target/release/ferrite")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-sweep", action="store_true", help="skip the resolution and batch sweep")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if not args.ferrite.exists():
        sys.exit(f"{args.ferrite} not found: build it with `cargo build --release -p ferrite-cli`")
    results = []
    if args.models:
        run_section("models", [(m, 1) for m in args.models], args, results)
    else:
        if not CORPUS.exists():
            sys.exit(f"the shared corpus is not at {CORPUS}")
        run_section("table", [(m, 1) for m in TABLE], args, results)
        if not args.no_sweep:
            run_section("sweep", sweep_cases(), args, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
