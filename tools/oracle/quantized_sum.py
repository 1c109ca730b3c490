"""Expected outputs for quantized SUM
(crates/ferrite-kernels/src/reduce/quantized_sum_tests.rs).

Prints the Rust `CASES` rows (the same layout as quantized_mean.py's):
single-op models run on ai_edge_litert's BUILTIN_WITHOUT_DEFAULT_DELEGATES
kernels.

Run: python tools/oracle/quantized_sum.py > /tmp/sum_rows.rs
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, s, shape  # noqa: E402

RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}
rng = np.random.default_rng(23)


def out_shape(shp, axes, keep):
    ax = {a % len(shp) for a in axes} if shp else set()
    return [1 if i in ax else d for i, d in enumerate(shp) if keep or i not in ax]


def case(note, dt, shp, axes, keep, qi, qo, x=None):
    lo, hi = RANGES[dt]
    if x is None:
        x = rng.integers(lo, hi + 1, shp)
    x = np.asarray(x).reshape(shp)
    o = s.ReducerOptionsT()
    o.keepDims = keep
    m = model(
        "SUM",
        [dict(dtype=dt, shape=shp, scale=qi[0], zp=qi[1]),
         dict(dtype="i32", shape=[len(axes)], const=axes)],
        [dict(dtype=dt, shape=out_shape(shp, axes, keep), scale=qo[0],
              zp=qo[1])],
        ("ReducerOptions", o), version=2)
    y = run1(m, [x])
    assert not isinstance(y, str), (note, y)
    print(f"    // {note}")
    print(f'    ("{dt}", {shape(shp)}, {ints(axes)}, {str(keep).lower()}, '
          f"({f32(qi[0])}, {qi[1]}), ({f32(qo[0])}, {qo[1]}), {ints(x)}, "
          f"{ints(y)}),")


case("int8 last axis, shared quantization (saturates)", "i8", [3, 5, 7], [-1], False,
     (0.07, -1), (0.07, -1))
case("int8 last axis, output scale for the sum", "i8", [3, 5, 7], [-1], True,
     (0.02, 5), (0.15, -3))
case("int8 4-D spatial axes", "i8", [1, 3, 3, 20], [1, 2], True, (0.0235, -7),
     (0.2, 12))
case("int8 outer and inner axes", "i8", [4, 3, 5], [0, 2], False, (0.013, 20),
     (0.1, -30))
case("uint8 every axis", "u8", [3, 4, 5], [0, 1, 2], False, (0.01, 120),
     (0.3, 130))
case("uint8 middle axis, negative and repeated", "u8", [2, 7, 3], [-2, 1], True,
     (0.02, 0), (0.1, 10))
case("int16 middle axis", "i16", [2, 6, 5], [1], False, (0.0004, 0),
     (0.0021, 0))
case("int16 saturating", "i16", [4, 4], [0], False, (1.0, 0), (0.01, 0))
case("int8 no axes: a requantizing copy", "i8", [2, 3], [], False,
     (0.05, 0), (0.1, -4))
case("int8 ties: sums of halves", "i8", [4, 6], [1], False, (0.5, 0),
     (1.0, 0), np.tile(np.array([1, 2, 3, -1, -2, 0]), 4))
case("int8 tiny ratio flushes to the output zero point", "i8", [2, 8], [1],
     False, (1e-9, 0), (1.0, 9))
case("int8 huge ratio saturates", "i8", [2, 8], [1], False, (1000.0, 0),
     (0.001, 0))
case("uint8 large reduction", "u8", [1, 600], [1], False, (0.004, 128), (0.5, 3))
case("int8 empty input: LiteRT writes zeros", "i8", [2, 0, 3], [1], False,
     (0.1, 5), (0.1, 5), np.zeros([2, 0, 3], np.int64))
