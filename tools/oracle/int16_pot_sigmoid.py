"""Expected outputs for int16 LOGISTIC and TANH on LiteRT's gemmlowp
fixed-point path: power-of-two input scales (2^-12; TANH also 2^-11) and
scales whose table multiplier truncates to 0 or overflows
(crates/ferrite-kernels/src/activation/quantized_pot16_tests.rs).

Prints the Rust `CASES` rows: (op, input scale, x, LiteRT's output); the
output scale is 2^-15. The inputs are every 97th int16 value plus the edges,
and the array is long enough that LiteRT's 8-lane SIMD and its scalar tail
both contribute.

Run: python tools/oracle/int16_pot_sigmoid.py > /tmp/rows.txt
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, ints, model, run1, tensor  # noqa: E402

xs = np.concatenate([np.arange(-32768, 32768, 97), [-32768, -32767, -2, -1, 0, 1, 2, 32766, 32767]])
for op, scale in [("LOGISTIC", 2.0**-12), ("TANH", 2.0**-12), ("TANH", 2.0**-11),
                  ("LOGISTIC", 1e-12), ("TANH", 1e-12), ("LOGISTIC", 1e6), ("TANH", 1e6)]:
    m = model(op, [tensor("i16", [len(xs)], scale)], [tensor("i16", [len(xs)], 2.0**-15)])
    y = run1(m, [xs])
    assert not isinstance(y, str), y
    print(f'    ("{op}", {f32(scale)},\n     {ints(y)}),')
