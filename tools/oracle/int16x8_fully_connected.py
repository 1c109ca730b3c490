"""Expected outputs for int16x8 FULLY_CONNECTED with an int32 bias or no
bias, LiteRT's optimized int32 path
(crates/ferrite-kernels/src/linalg/fully_connected_int16_tests.rs).

Prints the Rust `CASES` rows: (batch, units, depth, input scale, weight
scales, output scale, activation, bias or None, x, w, LiteRT's output).

Run: python tools/oracle/int16x8_fully_connected.py > /tmp/rows.txt
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, floats, ints, model, run1, s, tensor  # noqa: E402

rng = np.random.default_rng(31)


def case(batch, units, depth, si, sw, so, act=0, bias=True, big=False, qbt=0):
    x = rng.integers(-32768, 32768, (batch, depth)) if big else rng.integers(-3000, 3000, (batch, depth))
    w = rng.integers(-127, 128, (units, depth))
    b = rng.integers(-200000, 200000, units) if bias else None
    sw = np.atleast_1d(np.asarray(sw, np.float32))
    o = s.FullyConnectedOptionsT()
    o.fusedActivationFunction = act
    o.quantizedBiasType = qbt
    ins = [tensor("i16", [batch, depth], si),
           tensor("i8", [units, depth], sw if len(sw) > 1 else sw[0], const=w)]
    if bias:
        ins.append(tensor("i32", [units], (si * sw).astype(np.float32) if len(sw) > 1 else si * sw[0],
                          const=b))
    m = model("FULLY_CONNECTED", ins, [tensor("i16", [batch, units], so)],
              ("FullyConnectedOptions", o), version=11)
    y = run1(m, [x])
    assert not isinstance(y, str), y
    bs = f"Some({ints(b)})" if bias else "None"
    print(f"    ({batch}, {units}, {depth}, {f32(si)}, {floats(sw)}, {f32(so)}, {act}, {bs}, {qbt},\n"
          f"     {ints(x)},\n     {ints(w)},\n     {ints(y)}),")


case(3, 5, 17, 1 / 4096, 0.01, 1 / 2048)
case(2, 7, 40, 0.0003, [0.01 * (1 + i / 7) for i in range(7)], 0.0011)
case(4, 3, 9, 0.001, 0.02, 0.0005, bias=False)
case(2, 6, 33, 0.0005, 0.004, 0.0009, act=1)
case(2, 4, 700, 1 / 32768, 0.01, 1 / 64, big=True)
case(1, 8, 64, 0.0002, 0.003, 0.00004, act=3)
case(2, 5, 12, 0.001, 0.02, 0.0005, bias=False, qbt=2)
