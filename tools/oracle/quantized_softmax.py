"""Oracle tables for quantized SOFTMAX: int8/uint8 inputs for
crates/ferrite-kernels/src/activation/quantized_softmax_tests.rs, then
(after the "int16 table" marker) int16 inputs for
quantized_softmax_int16_tests.rs.

Run: python tools/oracle/quantized_softmax.py and paste each part's rows
into that file's CASES; parameter sets LiteRT rejects print as comments."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, s, shape  # noqa: E402

RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}
rng = np.random.default_rng(11)


def case(note, di, do, shp, beta, qi, qo, x=None):
    lo, hi = RANGES[di]
    if x is None:
        x = rng.integers(lo, hi + 1, shp)
    x = np.asarray(x).reshape(shp)
    o = s.SoftmaxOptionsT()
    o.beta = beta
    m = model("SOFTMAX", [dict(dtype=di, shape=shp, scale=qi[0], zp=qi[1])],
                  [dict(dtype=do, shape=shp, scale=qo[0], zp=qo[1])],
                  ("SoftmaxOptions", o), version=2)
    y = run1(m, [x])
    assert not isinstance(y, str), (note, y)
    print(f"    // {note}")
    print(f'    ("{di}", "{do}", {shape(shp)}, {f32(beta)}, '
          f"({f32(qi[0])}, {qi[1]}), ({f32(qo[0])}, {qo[1]}), {ints(x)}, "
          f"{ints(y)}),")


I8 = (1 / 256, -128)
case("int8 rows of 10 (a classifier head)", "i8", "i8", [3, 10], 1.0,
     (0.1, -5), I8)
case("int8 beta 0.5, 3-D", "i8", "i8", [2, 3, 7], 0.5, (0.05, 10), I8)
case("int8 wide scale: one entry takes everything", "i8", "i8", [4, 5], 1.0,
     (0.9, 0), I8)
case("int8 equal entries", "i8", "i8", [2, 4], 1.0, (0.2, 0), I8,
     [7, 7, 7, 7, -128, -128, -128, -128])
case("int8 a full range row (distances up to 255)", "i8", "i8", [1, 6], 1.0,
     (0.01, 0), I8, [-128, 127, 0, -1, 126, -127])
case("int8 tiny scale: all near uniform", "i8", "i8", [2, 9], 1.0,
     (1e-5, 0), I8)
case("int8 a single column is 1 (saturates at 127)", "i8", "i8", [5, 1], 1.0,
     (0.1, 0), I8)
case("uint8 rows of 7", "u8", "u8", [3, 7], 1.0, (0.08, 128), (1 / 256, 0))
case("uint8 with an output zero point LiteRT ignores", "u8", "u8", [2, 5],
     1.0, (0.1, 3), (1 / 256, 10))
case("uint8 beta 2.5 and a coarse output scale", "u8", "u8", [4, 6], 2.5,
     (0.03, 0), (0.01, 0))
case("int8 to int16", "i8", "i16", [3, 8], 1.0, (0.07, 3), (1 / 32768, 0))
case("uint8 to int16", "u8", "i16", [2, 9], 0.8, (0.05, 100),
     (1 / 32768, 0))
case("int8 to int16 with an output zero point", "i8", "i16", [2, 4], 1.0,
     (0.1, 0), (1 / 65536, -32768))
case("int8 beta 0: uniform", "i8", "i8", [2, 3], 0.0, (0.1, 0), I8)


# int16 -> int16 (crates/ferrite-kernels/src/activation/
# quantized_softmax_int16_tests.rs): rows of
# (shape, beta, input scale, output (scale, zero point), input, expected).
print("\n    // ---- int16 table ----")


def case16(note, shp, beta, si, qo=(1 / 32768, 0), x=None, lo=-32768,
           hi=32767, zi=0):
    if x is None:
        x = rng.integers(lo, hi + 1, shp)
    x = np.asarray(x).reshape(shp)
    o = s.SoftmaxOptionsT()
    o.beta = beta
    m = model("SOFTMAX", [dict(dtype="i16", shape=shp, scale=si, zp=zi)],
                  [dict(dtype="i16", shape=shp, scale=qo[0], zp=qo[1])],
                  ("SoftmaxOptions", o), version=3)
    y = run1(m, [x])
    if isinstance(y, str):
        print(f"    // {note}: LiteRT rejects: {y.splitlines()[0][:100]}")
        return
    print(f"    // {note}")
    print(f"    ({shape(shp)}, {f32(beta)}, {f32(si)}, ({f32(qo[0])}, "
          f"{qo[1]}), {ints(x)}, {ints(y)}),")


case16("rows of 10, real inputs within +-4", [3, 10], 1.0, 1 / 8192,
       lo=-32768, hi=32767)
case16("odd rows of 7, 3-D", [2, 3, 7], 1.0, 3e-4)
case16("rows of 13, beta 0.5", [2, 13], 0.5, 2e-4)
case16("beta 2.5", [3, 5], 2.5, 1e-4)
case16("large scale: distances past -10 read the table's floor", [3, 6],
       1.0, 0.01)
case16("small scale: nearly uniform", [2, 9], 1.0, 1e-6)
case16("tiny scale: the multiplier flushes to zero", [1, 5], 1.0, 1e-14)
case16("all-equal rows", [3, 4], 1.0, 1e-3,
       x=[5, 5, 5, 5, -32768, -32768, -32768, -32768, 32767, 32767, 32767,
          32767])
case16("one column saturates at 32767", [4, 1], 1.0, 1e-3)
case16("one entry takes everything", [2, 4], 1.0, 1e-3,
       x=[32767, -32768, -32768, 0, -100, 30000, -32768, 29000])
case16("full-range row", [1, 8], 1.0, 1e-4,
       x=[-32768, 32767, 0, -1, 32766, -32767, 16384, -16384])
case16("beta 0: uniform", [2, 3], 0.0, 1e-3)
case16("a 1000-way classifier row", [1, 1000], 1.0, 4e-4)
case16("the int16x8 MobileNetV2's head: its input scale, 1000 classes",
       [1, 1000], 1.0, 0.0010331050725653768, lo=-6000, hi=9000)
case16("huge scale, small distances", [2, 4], 1.0, 50.0, lo=-3, hi=3)
case16("output scale 1/65536 (LiteRT writes Q0.15 anyway)", [1, 6], 1.0,
       1e-3, qo=(1 / 65536, 0))
# Parameter sets LiteRT refuses (printed as comments).
case16("input zero point 1", [1, 3], 1.0, 1e-3, zi=1)
case16("output zero point -32768", [1, 3], 1.0, 1e-3, qo=(1 / 65536, -32768))
