"""Expected outputs for the quantized activation kernels
(crates/ferrite-kernels/src/activation/quantized_tests.rs).

Prints the Rust `CASES` and `PRELU_CASES` table rows: every case is one
single-op model run on ai_edge_litert's BUILTIN_WITHOUT_DEFAULT_DELEGATES
kernels; `None` marks parameters LiteRT refuses at prepare time.

Run: python tools/oracle/activations_quant.py > /tmp/rows.txt
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, s  # noqa: E402

RNG = np.random.default_rng(7)
LO = {"i8": -128, "u8": 0, "i16": -32768}
HI = {"i8": 127, "u8": 255, "i16": 32767}


def sweep(dt):
    """Every 8-bit value (plus one, for an odd length); for int16 a dense
    spread with the bounds and the values around zero."""
    if dt != "i16":
        v = np.arange(LO[dt], HI[dt] + 1)
        return np.append(v, v[100])
    v = np.concatenate([
        np.linspace(-32768, 32767, 331).round(),
        np.arange(-40, 41),
        RNG.integers(-32768, 32768, 60),
        [-32768, -32767, 32766, 32767],
    ])
    return v.astype(np.int64)


def rand(dt, n):
    return RNG.integers(LO[dt], HI[dt] + 1, n)


def options(op, alpha):
    if op == "LEAKY_RELU":
        o = s.LeakyReluOptionsT()
        o.alpha = alpha
        return ("LeakyReluOptions", o)
    return None


def unary(op, dt, inq, outq, alpha=0.0, x=None, shape=None):
    x = sweep(dt) if x is None else np.asarray(x)
    shape = shape or [len(x)]
    m = model(op, [dict(dtype=dt, shape=shape, scale=inq[0], zp=inq[1])],
              [dict(dtype=dt, shape=shape, scale=outq[0], zp=outq[1])], options(op, alpha))
    got = run1(m, [x])
    exp = "None" if isinstance(got, str) else f"Some({ints(got)})"
    print(f'    ("{op}", "{dt}", &{list(shape)}, ({f32(inq[0])}, {inq[1]}), '
          f'({f32(outq[0])}, {outq[1]}), {f32(alpha)}, {ints(x)}, {exp}),')


def prelu(dt, xshape, xq, ashape, aq, alpha, outq, x=None):
    n = int(np.prod(xshape))
    x = rand(dt, n) if x is None else np.asarray(x)
    m = model("PRELU", [
        dict(dtype=dt, shape=xshape, scale=xq[0], zp=xq[1]),
        dict(dtype=dt, shape=ashape, scale=aq[0], zp=aq[1], const=alpha),
    ], [dict(dtype=dt, shape=xshape, scale=outq[0], zp=outq[1])])
    got = run1(m, [x])
    exp = "None" if isinstance(got, str) else f"Some({ints(got)})"
    print(f'    ("{dt}", &{list(xshape)}, ({f32(xq[0])}, {xq[1]}), '
          f'&{list(ashape)}, ({f32(aq[0])}, {aq[1]}), {ints(alpha)}, '
          f'({f32(outq[0])}, {outq[1]}), {ints(x)}, {exp}),')


def main():
    S256, S128, S32768 = 1 / 256, 1 / 128, 1 / 32768
    print("// CASES")
    # LOGISTIC: 8-bit LUT; the output scale must be exactly 1/256.
    for inq in [(0.1, 3), (0.0625, -128), (1e-3, 0), (50.0, 10), (1e-30, 0), (1e30, -7)]:
        unary("LOGISTIC", "i8", inq, (S256, -128))
    unary("LOGISTIC", "i8", (0.1, 3), (S256, 0))
    unary("LOGISTIC", "i8", (0.1, 3), (S128, -128))
    unary("LOGISTIC", "i8", (0.1, 3), (0.0039, -128))
    for inq in [(0.05, 128), (0.2, 0), (0.01, 255)]:
        unary("LOGISTIC", "u8", inq, (S256, 0))
    unary("LOGISTIC", "u8", (0.05, 128), (0.01, 0))
    # LOGISTIC int16: LUT with interpolation; power-of-two input scale 2^-12
    # takes the fixed-point path.
    for sc in [0.001, 3.0 / 32768, 1e-5, 0.5, 8.0 / 32768, 2.0**-12, 2.0**-13, 1e-9, 4.0]:
        unary("LOGISTIC", "i16", (sc, 0), (S32768, 0))
    unary("LOGISTIC", "i16", (0.001, 0), (2.0**-14, 0))
    unary("LOGISTIC", "i16", (0.001, 1), (S32768, 0))
    # TANH
    for inq, outq in [((0.03, -5), (S128, 0)), ((0.1, 0), (S128, 0)),
                      ((0.004, 100), (S128, 0)), ((0.03, -5), (0.01, 10)),
                      ((1e-30, 0), (S128, 0)), ((1e30, 3), (S128, 0))]:
        unary("TANH", "i8", inq, outq)
    for inq, outq in [((0.05, 128), (S128, 128)), ((0.02, 0), (S128, 128)),
                      ((0.05, 128), (0.02, 3))]:
        unary("TANH", "u8", inq, outq)
    for sc in [0.0005, 3.0 / 32768, 1e-5, 1.0, 2.0**-12, 2.0**-11, 2.0**-10, 1e-9, 5.0]:
        unary("TANH", "i16", (sc, 0), (S32768, 0))
    unary("TANH", "i16", (0.001, 0), (2.0**-14, 0))
    # HARD_SWISH
    for inq, outq in [((0.03, -10), (0.02, -20)), ((0.1, 0), (0.05, 5)),
                      ((1e-4, 3), (1e-4, -3)), ((1.0, 0), (0.001, 0)),
                      ((0.2, -128), (0.0015625, 127)), ((0.05, 20), (0.06, -128)),
                      ((8.0, 0), (0.7, 0)), ((0.001, 0), (1.0, 0)),
                      ((0.002, 5), (0.5, -3))]:
        unary("HARD_SWISH", "i8", inq, outq)
    for inq, outq in [((0.05, 128), (0.03, 40)), ((0.02, 200), (0.01, 0)),
                      ((0.3, 0), (0.25, 255))]:
        unary("HARD_SWISH", "u8", inq, outq)
    # RELU family: requantize and clamp.
    for op in ["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1"]:
        for dt, inq, outq in [("i8", (0.05, -3), (0.04, -128)),
                              ("i8", (0.01, 20), (0.02, 0)),
                              ("i8", (0.1, 0), (1e-3, 0)),
                              ("u8", (0.05, 128), (0.03, 0)),
                              ("u8", (0.004, 5), (0.004, 200))]:
            unary(op, dt, inq, outq)
    for op in ["RELU", "RELU6"]:
        unary(op, "i16", (0.001, 0), (0.0008, 0))
        unary(op, "i16", (3e-4, 0), (2e-4, 0))
        unary(op, "i16", (0.001, 1), (0.001, 0))
    unary("RELU_N1_TO_1", "i16", (0.001, 0), (0.001, 0))
    unary("RELU", "i8", (1e30, 0), (1e-30, 0))
    unary("RELU", "i8", (1e-30, 0), (1e30, 0))
    # LEAKY_RELU
    for dt, inq, outq, alpha in [("i8", (0.05, -3), (0.04, -30), 0.2),
                                 ("i8", (0.1, 10), (0.1, 10), -0.5),
                                 ("i8", (0.02, 0), (0.05, 100), 3.0),
                                 ("u8", (0.05, 128), (0.03, 100), 0.1),
                                 ("u8", (0.01, 0), (0.01, 0), 0.0),
                                 ("i16", (0.001, 0), (0.0015, 0), 0.2),
                                 ("i16", (0.001, 0), (0.0007, 0), 0.01),
                                 ("i16", (3e-4, 0), (3e-4, 0), -1.5),
                                 ("i16", (0.001, 2), (0.001, 0), 0.2)]:
        unary("LEAKY_RELU", dt, inq, outq, alpha)
    # Odd shapes, random values.
    for op, dt, inq, outq, alpha in [("LOGISTIC", "i8", (0.07, -1), (S256, -128), 0),
                                     ("TANH", "u8", (0.03, 120), (S128, 128), 0),
                                     ("HARD_SWISH", "i8", (0.04, 7), (0.03, -9), 0),
                                     ("LEAKY_RELU", "i16", (0.002, 0), (0.002, 0), 0.3),
                                     ("RELU6", "u8", (0.05, 10), (0.03, 0), 0)]:
        shape = [3, 5, 7]
        unary(op, dt, inq, outq, alpha, x=rand(dt, 105), shape=shape)
    unary("LOGISTIC", "i16", (0.0007, 0), (S32768, 0), 0, x=rand("i16", 0), shape=[0, 3])
    print("// PRELU_CASES")
    prelu("i8", [1, 3, 4, 5], (0.05, -3), [5], (0.01, 0),
          rand("i8", 5), (0.04, 2))
    prelu("i8", [1, 3, 4, 5], (0.05, -3), [1, 1, 5], (0.004, -20),
          rand("i8", 5), (0.06, -100))
    prelu("i8", [2, 3, 4, 5], (0.02, 10), [3, 1, 5], (0.1, 5),
          rand("i8", 15), (0.03, 0))
    prelu("i8", [2, 7], (0.05, 0), [2, 7], (0.01, 3),
          rand("i8", 14), (0.05, 0))
    prelu("u8", [1, 2, 3, 4], (0.05, 128), [4], (0.02, 128),
          rand("u8", 4), (0.04, 100))
    prelu("u8", [1, 2, 3, 4], (0.01, 0), [1], (0.5, 10),
          rand("u8", 1), (0.2, 250))
    prelu("i8", [1, 2, 2, 3], (0.05, -3), [3], (0.01, 0),
          rand("i8", 3), (1e-30, 0))


if __name__ == "__main__":
    main()
