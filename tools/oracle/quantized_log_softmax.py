"""Expected outputs for quantized LOG_SOFTMAX
(crates/ferrite-kernels/src/activation/quantized_log_softmax_tests.rs).

Prints the Rust `CASES` rows: (dtype, shape, input (scale, zp), output
(scale, zp), input, LiteRT's output or None where LiteRT refuses). Every
case is one single-op model run on ai_edge_litert's
BUILTIN_WITHOUT_DEFAULT_DELEGATES kernels.

Run: python tools/oracle/quantized_log_softmax.py > /tmp/rows.txt
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, shape  # noqa: E402

RANGES = {"i8": (-128, 127), "u8": (0, 255)}
rng = np.random.default_rng(17)
OUT = {"i8": (16 / 256, 127), "u8": (16 / 256, 255)}


def case(dt, shp, qi, qo=None, x=None):
    qo = qo or OUT[dt]
    lo, hi = RANGES[dt]
    n = int(np.prod(shp))
    x = rng.integers(lo, hi + 1, n) if x is None else np.asarray(x)
    m = model("LOG_SOFTMAX", [dict(dtype=dt, shape=shp, scale=qi[0], zp=qi[1])],
              [dict(dtype=dt, shape=shp, scale=qo[0], zp=qo[1])])
    y = run1(m, [x.reshape(shp)])
    exp = "None" if isinstance(y, str) else f"Some({ints(y)})"
    print(f'    ("{dt}", {shape(shp)}, ({f32(qi[0])}, {qi[1]}), ({f32(qo[0])}, {qo[1]}), '
          f'{ints(x)}, {exp}),')


def main():
    for dt in ("i8", "u8"):
        case(dt, [2, 7], (0.1, 3))
        case(dt, [3, 4, 5], (0.05, -20 if dt == "i8" else 120))
        case(dt, [1, 300], (0.02, 0))
        case(dt, [4, 1], (0.3, 7))
        case(dt, [2, 16], (1.5, 0))
        case(dt, [5, 9], (1e-3, 1))
        case(dt, [3, 6], (0.25, 2), x=np.full(18, RANGES[dt][1]))
        case(dt, [2, 8], (0.5, 0), qo=(0.1, OUT[dt][1]))
        case(dt, [2, 8], (0.5, 0), qo=(16 / 256, 0))
    case("i8", [2, 4, 3], (0.07, -1), x=np.repeat(np.arange(-128, 128, 11)[:8], 3))


if __name__ == "__main__":
    main()
