"""Oracle tables for quantized CONCATENATION (uint8 requantization):
crates/ferrite-kernels/src/shape/concatenation.rs (quant_tests).

Run: python tools/oracle/quantized_concat.py and paste the printed rows
into CASES."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, s, shape  # noqa: E402

RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}
rng = np.random.default_rng(13)


def case(note, dt, shapes, axis, qs, qo, xs=None):
    lo, hi = RANGES[dt]
    if xs is None:
        xs = [rng.integers(lo, hi + 1, sh) for sh in shapes]
    a = axis % len(shapes[0])
    oshape = list(shapes[0])
    oshape[a] = sum(sh[a] for sh in shapes)
    o = s.ConcatenationOptionsT()
    o.axis = axis
    m = model(
        "CONCATENATION",
        [dict(dtype=dt, shape=sh, scale=q[0], zp=q[1])
         for sh, q in zip(shapes, qs)],
        [dict(dtype=dt, shape=oshape, scale=qo[0], zp=qo[1])],
        ("ConcatenationOptions", o))
    y = run1(m, xs)
    assert not isinstance(y, str), (note, y)
    ins = ", ".join(f"({shape(sh)}, ({f32(q[0])}, {q[1]}), {ints(x)})"
                    for sh, q, x in zip(shapes, qs, xs))
    print(f"    // {note}")
    print(f'    ("{dt}", {axis}, &[{ins}], ({f32(qo[0])}, {qo[1]}), '
          f"{ints(y)}),")


case("uint8, one input shared, two requantized, inner axis", "u8",
     [[2, 3, 2], [2, 3, 1], [2, 3, 3]], -1,
     [(0.05, 128), (0.1, 0), (0.02, 255)], (0.05, 128))
case("uint8 outer axis, saturating at 0 and 255", "u8", [[1, 4], [2, 4]], 0,
     [(0.5, 10), (0.01, 200)], (0.05, 100))
case("uint8 ties: scale ratio 0.5 rounds half away from zero", "u8",
     [[6], [6]], 0, [(0.1, 0), (0.2, 3)], (0.2, 3),
     [np.array([1, 3, 5, 7, 9, 255]), np.array([0, 1, 2, 3, 4, 5])])
case("uint8 middle axis, three inputs all requantized", "u8",
     [[2, 1, 3], [2, 2, 3], [2, 1, 3]], 1,
     [(0.3, 7), (0.07, 90), (0.011, 33)], (0.04, 60))
case("int16 inputs with other scales are copied", "i16", [[2, 2], [2, 3]], 1,
     [(0.001, 0), (0.004, 0)], (0.002, 0))
case("int8 shared quantization: a copy", "i8", [[3, 1], [3, 2]], 1,
     [(0.1, -3), (0.1, -3)], (0.1, -3))
