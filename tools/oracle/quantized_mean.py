"""Oracle tables for quantized MEAN (int8, uint8, int16):
crates/ferrite-kernels/src/reduce/quantized_mean_tests.rs.

Run: python tools/oracle/quantized_mean.py > /tmp/mean_cases.rs
and paste the printed rows into CASES."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, s, shape  # noqa: E402

RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}
rng = np.random.default_rng(7)


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
        "MEAN",
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


# The 4-D [1, 2] keep_dims fast path (int8, uint8).
case("int8 fast path, shared quantization, 37 channels (two 16-blocks "
     "round ties upward, the tail away from zero), 2x2: exact ties",
     "i8", [2, 2, 2, 37], [1, 2], True, (0.05, 3), (0.05, 3))
case("int8 fast path, requantized, 3x3", "i8", [1, 3, 3, 20], [1, 2], True,
     (0.0235, -7), (0.011, 12))
case("int8 fast path, negative and repeated axes", "i8", [1, 2, 4, 18],
     [-2, -3, 2], True, (0.04, -128), (0.02, 5))
case("uint8 fast path, requantized", "u8", [1, 5, 3, 17], [2, 1], True,
     (0.031, 128), (0.017, 100))
case("uint8 fast path, saturating at both ends", "u8", [1, 2, 2, 33], [1, 2],
     True, (0.1, 0), (0.01, 200))
case("int8 fast path, all -128 and 127 columns saturate", "i8",
     [1, 3, 2, 16], [1, 2], True, (0.2, 0), (0.05, 0),
     np.tile(np.array([-128, 127] * 8), 6))
# The general path (QuantizedMeanOrSum with a per-count multiplier).
case("int8 [1, 2] without keep_dims takes the general path", "i8",
     [1, 2, 2, 37], [1, 2], False, (0.05, 3), (0.05, 3))
case("int8 last axis, shared quantization", "i8", [3, 5, 7], [-1], False,
     (0.07, -1), (0.07, -1))
case("int8 outer and inner axes, requantized", "i8", [4, 3, 5], [0, 2], True,
     (0.013, 20), (0.004, -30))
case("uint8 every axis", "u8", [3, 4, 5], [0, 1, 2], False, (0.5, 120),
     (0.25, 130))
case("uint8 middle axis, odd count", "u8", [2, 7, 3], [1], True, (0.02, 0),
     (0.03, 255))
case("int16 middle axis", "i16", [2, 6, 5], [1], False, (0.0004, 0),
     (0.00031, 0))
case("int16 4-D [1, 2] keep_dims (no int16 fast path)", "i16", [1, 3, 3, 6],
     [1, 2], True, (0.0002, 0), (0.0001, 0))
case("int16 saturating", "i16", [4, 4], [0], False, (1.0, 0), (0.01, 0))
case("int8 no axes: a requantizing copy", "i8", [2, 3], [], False,
     (0.05, 0), (0.1, -4))
case("int8 tiny ratio flushes to the output zero point", "i8", [2, 8], [1],
     False, (1e-9, 0), (1.0, 9))
case("int8 huge ratio saturates", "i8", [2, 8], [1], False, (1000.0, 0),
     (0.001, 0))
case("int8 a 1x1 spatial fast path", "i8", [3, 1, 1, 5], [1, 2], True,
     (0.3, 4), (0.1, -4))
case("int8 empty input: LiteRT writes zeros", "i8", [2, 0, 3], [1], False,
     (0.1, 5), (0.1, 5), np.zeros([2, 0, 3], np.int64))
