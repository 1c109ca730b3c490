//! MediaPipe's custom ops (mediapipe/util/tflite/operations): float32
//! only, as there. Their options are not a flexbuffer map but the raw C
//! structs MediaPipe's kernels cast them to: `TfLitePoolParams` (padding,
//! stride w/h, filter w/h, activation: six little-endian i32) and
//! `TfLiteTransposeConvParams` (padding, stride w/h).

use crate::custom::{CustomOp, EvalContext, OpError, OutputSpec, PrepareContext};
use crate::DType;

const PADDING_SAME: i32 = 1;

/// The leading i32 fields of a C options struct.
fn c_fields<const N: usize>(bytes: &[u8], what: &str) -> Result<[i32; N], OpError> {
    if bytes.len() < 4 * N {
        return Err(OpError::invalid(format!(
            "{what} options need {} bytes, have {}",
            4 * N,
            bytes.len()
        )));
    }
    Ok(std::array::from_fn(|i| {
        i32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    }))
}

fn positive(v: i32, what: &str) -> Result<usize, OpError> {
    usize::try_from(v)
        .ok()
        .filter(|&v| (1..=1 << 16).contains(&v))
        .ok_or_else(|| OpError::invalid(format!("{what} = {v} must be positive")))
}

/// `TfLitePoolParams` without the computed padding.
struct Pool {
    same: bool,
    stride: [usize; 2],
    filter: [usize; 2],
    act: (f32, f32),
}

impl Pool {
    fn read(bytes: &[u8]) -> Result<Pool, OpError> {
        let [padding, sw, sh, fw, fh, act] = c_fields::<6>(bytes, "TfLitePoolParams")?;
        Ok(Pool {
            same: padding == PADDING_SAME,
            stride: [
                positive(sh, "stride_height")?,
                positive(sw, "stride_width")?,
            ],
            filter: [
                positive(fh, "filter_height")?,
                positive(fw, "filter_width")?,
            ],
            act: activation_range(act)?,
        })
    }
}

/// LiteRT's `CalculateActivationRange` for float.
fn activation_range(act: i32) -> Result<(f32, f32), OpError> {
    Ok(match act {
        1 => (0.0, f32::MAX),
        2 => (-1.0, 1.0),
        3 => (0.0, 6.0),
        0 | 4..=6 => (f32::MIN, f32::MAX),
        other => {
            return Err(OpError::invalid(format!(
                "unknown fused activation {other}"
            )))
        }
    })
}

/// LiteRT's `ComputePadding` with dilation 1.
fn compute_padding(stride: usize, in_size: usize, filter: usize, out_size: usize) -> usize {
    let total = (out_size.saturating_sub(1) * stride + filter) as i64 - in_size as i64;
    (total / 2).max(0) as usize
}

fn float_nhwc(cx: &PrepareContext<'_>, i: usize) -> Result<[usize; 4], OpError> {
    let t = cx.input(i)?;
    if t.dtype() != DType::Float32 {
        return Err(OpError::unsupported(format!(
            "input {i} is {}, only FLOAT32 runs",
            t.dtype()
        )));
    }
    <[usize; 4]>::try_from(t.shape())
        .map_err(|_| OpError::invalid(format!("input {i} must be 4-D, is {:?}", t.shape())))
}

fn idx(shape: &[usize; 4], b: usize, y: usize, x: usize, c: usize) -> usize {
    ((b * shape[1] + y) * shape[2] + x) * shape[3] + c
}

/// Max pooling that also returns, per output, the window position of the
/// maximum as `y * filter_width + x + 0.1` (a float, as MediaPipe writes it).
pub struct MaxPoolingWithArgmax2D;

impl MaxPoolingWithArgmax2D {
    fn geometry(p: &Pool, s: &[usize; 4]) -> ([usize; 2], [usize; 2]) {
        let out = |size: usize, f: usize, st: usize| {
            if p.same {
                size.div_ceil(st)
            } else {
                (size + st).saturating_sub(f) / st
            }
        };
        let oh = out(s[1], p.filter[0], p.stride[0]);
        let ow = out(s[2], p.filter[1], p.stride[1]);
        let pads = [
            compute_padding(p.stride[0], s[1], p.filter[0], oh),
            compute_padding(p.stride[1], s[2], p.filter[1], ow),
        ];
        ([oh, ow], pads)
    }
}

impl CustomOp for MaxPoolingWithArgmax2D {
    fn name(&self) -> &str {
        "MaxPoolingWithArgmax2D"
    }

    fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
        let p = Pool::read(cx.custom_options())?;
        if cx.num_inputs() != 1 || cx.num_outputs() != 2 {
            return Err(OpError::invalid("expects 1 input and 2 outputs"));
        }
        let s = float_nhwc(cx, 0)?;
        let ([oh, ow], _) = Self::geometry(&p, &s);
        let shape = [s[0], oh, ow, s[3]];
        Ok(vec![
            OutputSpec::new(DType::Float32, &shape),
            OutputSpec::new(DType::Float32, &shape),
        ])
    }

    fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
        let p = Pool::read(cx.custom_options())?;
        let input = cx.input(0)?;
        let s: [usize; 4] = input
            .shape()
            .try_into()
            .map_err(|_| OpError::invalid("4-D input"))?;
        let x = input.as_slice::<f32>()?;
        let ([oh, ow], [ph, pw]) = Self::geometry(&p, &s);
        let os = [s[0], oh, ow, s[3]];
        let mut outs = cx.outputs();
        let [out, indices] = &mut outs[..] else {
            return Err(OpError::invalid("expects 2 outputs"));
        };
        let (out, indices) = (out.as_slice_mut::<f32>()?, indices.as_slice_mut::<f32>()?);
        let [fh, fw] = p.filter;
        for b in 0..s[0] {
            for oy in 0..oh {
                for ox in 0..ow {
                    // Window origin in input coordinates; may be negative.
                    let y0 = (oy * p.stride[0]) as i64 - ph as i64;
                    let x0 = (ox * p.stride[1]) as i64 - pw as i64;
                    let fy_range = (-y0).max(0)..(fh as i64).min(s[1] as i64 - y0);
                    let fx_range = (-x0).max(0)..(fw as i64).min(s[2] as i64 - x0);
                    for c in 0..s[3] {
                        let mut best = f32::MIN;
                        let (mut by, mut bx) = (0i64, 0i64);
                        for fy in fy_range.clone() {
                            for fx in fx_range.clone() {
                                let v = x[idx(&s, b, (y0 + fy) as usize, (x0 + fx) as usize, c)];
                                if v > best {
                                    best = v;
                                    (by, bx) = (fy, fx);
                                }
                            }
                        }
                        let o = idx(&os, b, oy, ox, c);
                        out[o] = best.max(p.act.0).min(p.act.1);
                        indices[o] = (by * fw as i64 + bx) as f32 + 0.1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Scatters each input value to the position its argmax index names inside
/// the `filter`-sized cell it came from; everything else is zero.
pub struct MaxUnpooling2D;

impl CustomOp for MaxUnpooling2D {
    fn name(&self) -> &str {
        "MaxUnpooling2D"
    }

    fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
        let p = Pool::read(cx.custom_options())?;
        if cx.num_inputs() != 2 || cx.num_outputs() != 1 {
            return Err(OpError::invalid("expects 2 inputs and 1 output"));
        }
        let s = float_nhwc(cx, 0)?;
        if float_nhwc(cx, 1)? != s {
            return Err(OpError::invalid("indices must have the input's shape"));
        }
        let shape = [s[0], s[1] * p.filter[0], s[2] * p.filter[1], s[3]];
        Ok(vec![OutputSpec::new(DType::Float32, &shape)])
    }

    fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
        let p = Pool::read(cx.custom_options())?;
        let input = cx.input(0)?;
        let s: [usize; 4] = input
            .shape()
            .try_into()
            .map_err(|_| OpError::invalid("4-D input"))?;
        let x = input.as_slice::<f32>()?;
        let indices = cx.input(1)?.as_slice::<f32>()?;
        if indices.len() != x.len() {
            return Err(OpError::invalid("indices must have the input's shape"));
        }
        let [fh, fw] = p.filter;
        let os = [s[0], s[1] * fh, s[2] * fw, s[3]];
        let ph = compute_padding(p.stride[0], os[1], fh, s[1]) as i64;
        let pw = compute_padding(p.stride[1], os[2], fw, s[2]) as i64;
        let mut out = cx.output(0)?;
        let out = out.as_slice_mut::<f32>()?;
        out.fill(0.0);
        for b in 0..s[0] {
            for iy in 0..s[1] {
                for ix in 0..s[2] {
                    for c in 0..s[3] {
                        let i = idx(&s, b, iy, ix, c);
                        // C++ float-to-int conversion and truncating division.
                        let k = indices[i] as i64;
                        let (my, mx) = (k / fw as i64, k % fw as i64);
                        let oy = (iy * p.stride[0]) as i64 - ph + my;
                        let ox = (ix * p.stride[1]) as i64 - pw + mx;
                        // Indices come from data: out-of-range ones are skipped.
                        if (0..os[1] as i64).contains(&oy) && (0..os[2] as i64).contains(&ox) {
                            out[idx(&os, b, oy as usize, ox as usize, c)] = x[i];
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// TRANSPOSE_CONV with a bias input: inputs (NHWC input, OHWI weights,
/// bias), output shape from the options' padding and strides.
pub struct Convolution2DTransposeBias;

struct TransposeGeometry {
    out: [usize; 4],
    pad: [usize; 2],
    stride: [usize; 2],
}

impl Convolution2DTransposeBias {
    fn geometry(
        bytes: &[u8],
        s: &[usize; 4],
        w: &[usize; 4],
    ) -> Result<TransposeGeometry, OpError> {
        let [padding, sw, sh] = c_fields::<3>(bytes, "TfLiteTransposeConvParams")?;
        let stride = [
            positive(sh, "stride_height")?,
            positive(sw, "stride_width")?,
        ];
        if s[1] == 0 || s[2] == 0 || w.contains(&0) {
            return Err(OpError::invalid("empty input or weights"));
        }
        let total = |f: usize, size: usize, st: usize| {
            if padding == PADDING_SAME {
                (f as i64 - ((size - 1) % st) as i64 - 1).max(0) as usize
            } else {
                0
            }
        };
        let (th, tw) = (total(w[1], s[1], stride[0]), total(w[2], s[2], stride[1]));
        let oh = (stride[0] * (s[1] - 1) + w[1]).saturating_sub(th);
        let ow = (stride[1] * (s[2] - 1) + w[2]).saturating_sub(tw);
        Ok(TransposeGeometry {
            out: [s[0], oh, ow, w[0]],
            pad: [th / 2, tw / 2],
            stride,
        })
    }
}

impl CustomOp for Convolution2DTransposeBias {
    fn name(&self) -> &str {
        "Convolution2DTransposeBias"
    }

    fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
        if cx.num_inputs() != 3 || cx.num_outputs() != 1 {
            return Err(OpError::invalid("expects 3 inputs and 1 output"));
        }
        let s = float_nhwc(cx, 0)?;
        let w = float_nhwc(cx, 1)?;
        let bias = cx.input(2)?;
        if bias.dtype() != DType::Float32 || bias.shape() != [w[0]] {
            return Err(OpError::invalid(format!("bias must be FLOAT32 [{}]", w[0])));
        }
        if w[3] != s[3] {
            return Err(OpError::invalid(format!(
                "weights have {} input channels, the input {}",
                w[3], s[3]
            )));
        }
        let g = Self::geometry(cx.custom_options(), &s, &w)?;
        Ok(vec![OutputSpec::new(DType::Float32, &g.out)])
    }

    fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
        let (input, weights) = (cx.input(0)?, cx.input(1)?);
        let shape4 = |t: &[usize]| -> Result<[usize; 4], OpError> {
            t.try_into().map_err(|_| OpError::invalid("4-D tensors"))
        };
        let (s, w) = (shape4(input.shape())?, shape4(weights.shape())?);
        let g = Self::geometry(cx.custom_options(), &s, &w)?;
        let (x, f) = (input.as_slice::<f32>()?, weights.as_slice::<f32>()?);
        let bias = cx.input(2)?.as_slice::<f32>()?;
        let os = g.out;
        let mut out = cx.output(0)?;
        let out = out.as_slice_mut::<f32>()?;
        for (o, v) in out.chunks_exact_mut(os[3]).zip(std::iter::repeat(bias)) {
            o.copy_from_slice(v);
        }
        // The loop order of MediaPipe's kernel, so sums round the same way.
        for b in 0..s[0] {
            for iy in 0..s[1] {
                for ix in 0..s[2] {
                    for ic in 0..s[3] {
                        let xv = x[idx(&s, b, iy, ix, ic)];
                        let y0 = (iy * g.stride[0]) as i64 - g.pad[0] as i64;
                        let x0 = (ix * g.stride[1]) as i64 - g.pad[1] as i64;
                        for fy in 0..w[1] {
                            let oy = y0 + fy as i64;
                            if !(0..os[1] as i64).contains(&oy) {
                                continue;
                            }
                            for fx in 0..w[2] {
                                let ox = x0 + fx as i64;
                                if !(0..os[2] as i64).contains(&ox) {
                                    continue;
                                }
                                let at = idx(&os, b, oy as usize, ox as usize, 0);
                                for oc in 0..w[0] {
                                    out[at + oc] += xv * f[idx(&w, oc, fy, fx, ic)];
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
