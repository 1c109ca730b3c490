"""Expected outputs for quantized ELU and GELU
(crates/ferrite-kernels/src/activation/quantized_extra_tests.rs).

Prints the Rust `CASES` rows: (op, GELU approximate, dtype, input
(scale, zp), output (scale, zp), input, LiteRT's output or None where LiteRT
refuses the parameters). Every case is one single-op model run on
ai_edge_litert's BUILTIN_WITHOUT_DEFAULT_DELEGATES kernels.

Run: python tools/oracle/activations_quant_extra.py > /tmp/rows.txt
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, s  # noqa: E402

LO = {"i8": -128, "u8": 0}
HI = {"i8": 127, "u8": 255}


def case(op, dt, inq, outq, approximate=False):
    x = np.arange(LO[dt], HI[dt] + 1)
    opts = None
    if op == "GELU":
        o = s.GeluOptionsT()
        o.approximate = approximate
        opts = ("GeluOptions", o)
    m = model(op, [dict(dtype=dt, shape=[len(x)], scale=inq[0], zp=inq[1])],
              [dict(dtype=dt, shape=[len(x)], scale=outq[0], zp=outq[1])], opts,
              version=2 if op == "GELU" else 1)
    got = run1(m, [x])
    exp = "None" if isinstance(got, str) else f"Some({ints(got)})"
    print(f'    ("{op}", {str(approximate).lower()}, "{dt}", ({f32(inq[0])}, {inq[1]}), '
          f'({f32(outq[0])}, {outq[1]}), {ints(x)}, {exp}),')


def main():
    for inq, outq in [((0.05, 0), (0.05, 0)), ((0.1, 20), (0.04, -60)),
                      ((0.02, -100), (0.01, 50)), ((0.003, 5), (0.002, -3)),
                      ((0.5, -1), (0.03, 90)), ((1e-30, 0), (1e-30, 0))]:
        case("ELU", "i8", inq, outq)
    case("ELU", "u8", (0.05, 128), (0.05, 128))
    for approximate in (False, True):
        for dt, inq, outq in [("i8", (0.05, 0), (0.05, 0)), ("i8", (0.1, 20), (0.04, -60)),
                              ("i8", (0.03, -128), (0.02, -128)), ("i8", (0.002, 3), (0.001, -7)),
                              ("i8", (0.4, -5), (0.3, -100)),
                              ("u8", (0.05, 128), (0.03, 40)), ("u8", (0.02, 10), (0.02, 0))]:
            case("GELU", dt, inq, outq, approximate)


if __name__ == "__main__":
    main()
