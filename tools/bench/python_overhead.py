"""Per-invoke latency through Python: ferrite.Interpreter against LiteRT.

usage: python tools/bench/python_overhead.py MODEL [RUNS]
Prints the median set_tensor+invoke+get_tensor time of each package.
"""

import statistics
import sys
import time

import numpy as np


def median_us(cls, path, runs, **kw):
    interp = cls(model_path=path, **kw)
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    ins = [(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]))
           for d in interp.get_input_details()]
    outs = [d["index"] for d in interp.get_output_details()]
    times = []
    for i in range(runs + 5):
        t = time.perf_counter()
        for idx, v in ins:
            interp.set_tensor(idx, v)
        interp.invoke()
        for idx in outs:
            interp.get_tensor(idx)
        if i >= 5:
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    import ferrite
    from ai_edge_litert.interpreter import Interpreter as Lite
    print("ferrite  %10.1f us" % median_us(ferrite.Interpreter, path, runs))
    print("litert   %10.1f us" % median_us(Lite, path, runs))


if __name__ == "__main__":
    main()
