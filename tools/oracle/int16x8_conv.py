"""Expected outputs for int16x8 CONV_2D with an int32 bias
(quantized_bias_type INT32: LiteRT's optimized int32 GEMM), and the LiteRT
outcomes that ferrite mirrors as refusals: CONV_2D without a bias or with an
int32 bias but no quantized_bias_type, DEPTHWISE_CONV_2D with an int32 bias
(crates/ferrite-kernels/src/conv/conv2d_int16_tests.rs).

Prints the Rust `CASES` rows: (input shape, filter shape, padding, stride h,
stride w, dilation, activation, input scale, weight scales, output scale,
bias, x, w, LiteRT's output shape and output), then asserts the refusals.

Run: python tools/oracle/int16x8_conv.py > /tmp/rows.txt
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from oneop import f32, floats, ints, model, run1, s, shape, tensor  # noqa: E402

rng = np.random.default_rng(47)
INT32, INT64 = 2, 4


def out_hw(n, k, stride, dil, pad):
    ek = (k - 1) * dil + 1
    return -(-n // stride) if pad == 0 else (n - ek) // stride + 1


def conv_model(ishape, fshape, pad, sh, sw_, dil, act, si, ws, so, bias, w, qbt, bias_dtype="i32"):
    n, h, wd, _ = ishape
    cout, kh, kw, _ = fshape
    oshape = [n, out_hw(h, kh, sh, dil, pad), out_hw(wd, kw, sw_, dil, pad), cout]
    o = s.Conv2DOptionsT()
    o.padding, o.strideH, o.strideW = pad, sh, sw_
    o.dilationHFactor = o.dilationWFactor = dil
    o.fusedActivationFunction = act
    o.quantizedBiasType = qbt
    ws = np.atleast_1d(np.asarray(ws, np.float32))
    ins = [tensor("i16", ishape, si), tensor("i8", fshape, ws if len(ws) > 1 else ws[0], const=w)]
    if bias is not None:
        ins.append(tensor(bias_dtype, [cout], (ws * np.float32(si)).astype(np.float32), const=bias))
    else:
        ins.append(None)
    return model("CONV_2D", ins, [tensor("i16", oshape, so)], ("Conv2DOptions", o), version=8)


def case(ishape, fshape, pad=0, sh=1, sw_=1, dil=1, act=0, si=1e-4, so=2e-3, pc=True, big=True):
    cout = fshape[0]
    x = rng.integers(-32768, 32768, ishape) if big else rng.integers(-3000, 3000, ishape)
    w = rng.integers(-127, 128, fshape)
    ws = [0.01 * (1 + i / cout) for i in range(cout)] if pc else 0.012
    b = rng.integers(-300000, 300000, cout)
    m = conv_model(ishape, fshape, pad, sh, sw_, dil, act, si, ws, so, b, w, INT32)
    y = run1(m, [x])
    assert not isinstance(y, str), y
    print(f"    ({shape(ishape)}, {shape(fshape)}, {pad}, {sh}, {sw_}, {dil}, {act}, {f32(si)}, "
          f"{floats(np.atleast_1d(np.asarray(ws, np.float32)))}, {f32(so)}, {ints(b)},\n"
          f"     {ints(x)},\n     {ints(w)},\n     {shape(y.shape)}, {ints(y)}),")


case([2, 5, 6, 3], [4, 3, 3, 3])
case([1, 7, 7, 5], [6, 3, 3, 5], pad=1, sh=2, sw_=2, act=3, so=1e-3)
case([1, 6, 8, 4], [3, 3, 2, 4], dil=2, act=1, pc=False)
case([2, 4, 4, 8], [5, 1, 1, 8], so=5e-4, big=False)
case([1, 5, 5, 3], [2, 3, 3, 3], pad=1, sh=1, sw_=2, act=2, si=3e-4, so=1e-4)
case([1, 3, 3, 64], [4, 3, 3, 64], si=1 / 32768, so=1 / 16)

# What LiteRT refuses (ferrite refuses the same models).
x = rng.integers(-3000, 3000, [1, 4, 4, 2])
w = rng.integers(-127, 128, [2, 3, 3, 2])
b = rng.integers(-1000, 1000, 2)
for bias, qbt, dt in [(None, 0, "i32"), (None, INT32, "i32"), (b, 0, "i32"), (b, INT64, "i32"), (b, INT32, "i64")]:
    y = run1(conv_model([1, 4, 4, 2], [2, 3, 3, 2], 0, 1, 1, 1, 0, 1e-4, 0.01, 2e-3, bias, w, qbt, dt), [x])
    if bias is not None and qbt == 0:
        # LiteRT runs, reading the int32 buffer as int64 values.
        assert not isinstance(y, str), y
        print("// CONV_2D bias i32, quantized_bias_type 0: runs, reading the bias as int64")
    else:
        assert isinstance(y, str), y
        print(f"// CONV_2D bias {dt if bias is not None else None}, quantized_bias_type {qbt}: {y}")
o = s.DepthwiseConv2DOptionsT()
o.padding, o.strideH, o.strideW, o.depthMultiplier = 0, 1, 1, 1
o.dilationHFactor = o.dilationWFactor = 1
m = model("DEPTHWISE_CONV_2D",
          [tensor("i16", [1, 4, 4, 2], 1e-4), tensor("i8", [1, 3, 3, 2], [0.01, 0.02], const=w[0].reshape(1, 3, 3, 2), axis=3),
           tensor("i32", [2], [1e-6, 2e-6], const=b)],
          [tensor("i16", [1, 4, 4, 2], 2e-3)], ("DepthwiseConv2DOptions", o), version=6)
y = run1(m, [x])
assert isinstance(y, str), y
print(f"// DEPTHWISE_CONV_2D int32 bias: {y}")
