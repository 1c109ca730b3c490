"""Expected outputs of MediaPipe's custom ops for crates/ferrite/tests/mediapipe_ops.rs.

LiteRT does not register these ops, so the references follow MediaPipe's
published definitions (mediapipe/util/tflite/operations/*.cc):
- Convolution2DTransposeBias: TensorFlow's tf.nn.conv2d_transpose plus the
  bias (MediaPipe's output size and padding agree with TF's SAME/VALID);
- MaxPoolingWithArgmax2D: max values checked against tf.nn.max_pool2d, the
  index is the window position y * filter_width + x + 0.1 of the first maximum;
- MaxUnpooling2D: each value written at the window position its index names.
Prints Rust constants; run with the fixture venv's Python.
"""
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(14)


def arr(name, a):
    flat = ", ".join(str(v) for v in np.asarray(a, np.float32).ravel())
    print(f"const {name}: &[f32] = &[{flat}];")


def conv_transpose(x, w, b, stride, padding):
    # OHWI -> TF's [h, w, out, in].
    f = np.transpose(w, (1, 2, 0, 3))
    n, h, wd, _ = x.shape
    o, fh, fw, _ = w.shape
    if padding == "SAME":
        th = max(0, fh - (h - 1) % stride - 1)
        tw = max(0, fw - (wd - 1) % stride - 1)
    else:
        th = tw = 0
    out = (n, stride * (h - 1) + fh - th, stride * (wd - 1) + fw - tw, o)
    y = tf.nn.conv2d_transpose(x, f, out, stride, padding).numpy() + b
    return y


def pool_argmax(x, fh, fw, s):
    n, h, w, c = x.shape
    oh, ow = -(-h // s), -(-w // s)
    ph = max(((oh - 1) * s + fh - h) // 2, 0)
    pw = max(((ow - 1) * s + fw - w) // 2, 0)
    out = np.zeros((n, oh, ow, c), np.float32)
    idx = np.zeros_like(out)
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    best, by, bx = -np.inf, 0, 0
                    for fy in range(fh):
                        for fx in range(fw):
                            y, xx = oy * s - ph + fy, ox * s - pw + fx
                            if 0 <= y < h and 0 <= xx < w and x[b, y, xx, ch] > best:
                                best, by, bx = x[b, y, xx, ch], fy, fx
                    out[b, oy, ox, ch] = best
                    idx[b, oy, ox, ch] = np.float32(by * fw + bx) + np.float32(0.1)
    tf_max = tf.nn.max_pool2d(x, (fh, fw), s, "SAME").numpy()
    assert np.array_equal(tf_max, out)
    return out, idx


def unpool(x, idx, fh, fw, s):
    n, h, w, c = x.shape
    oh, ow = h * fh, w * fw
    ph = max(((h - 1) * s + fh - oh) // 2, 0)
    pw = max(((w - 1) * s + fw - ow) // 2, 0)
    out = np.zeros((n, oh, ow, c), np.float32)
    for b in range(n):
        for y in range(h):
            for xx in range(w):
                for ch in range(c):
                    k = int(idx[b, y, xx, ch])
                    oy, ox = y * s - ph + k // fw, xx * s - pw + k % fw
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[b, oy, ox, ch] = x[b, y, xx, ch]
    return out


x = rng.standard_normal((1, 3, 3, 2)).astype(np.float32)
w = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
b = rng.standard_normal(3).astype(np.float32)
print("// Convolution2DTransposeBias: x [1, 3, 3, 2], weights OHWI [3, 3, 3, 2], bias [3], stride 2.")
arr("CT_X", x)
arr("CT_W", w)
arr("CT_B", b)
arr("CT_SAME", conv_transpose(x, w, b, 2, "SAME"))  # [1, 5, 5, 3]
arr("CT_VALID", conv_transpose(x, w, b, 2, "VALID"))  # [1, 7, 7, 3]

p = rng.standard_normal((1, 4, 5, 2)).astype(np.float32)
p[0, 0, 0, 0] = p[0, 0, 1, 0]  # a tie: the first maximum wins
out, idx = pool_argmax(p, 2, 2, 2)
print("// MaxPoolingWithArgmax2D: x [1, 4, 5, 2], filter 2x2, stride 2, SAME -> [1, 2, 3, 2].")
arr("MP_X", p)
arr("MP_OUT", out)
arr("MP_IDX", idx)
print("// MaxUnpooling2D of MP_OUT by MP_IDX, filter 2x2, stride 2 -> [1, 4, 6, 2].")
arr("MU_OUT", unpool(out, idx, 2, 2, 2))
