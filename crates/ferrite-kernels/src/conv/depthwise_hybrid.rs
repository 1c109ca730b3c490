//! DEPTHWISE_CONV_2D dynamic-range (hybrid): float32 input and output,
//! constant int8 filter `[1, kh, kw, cout]` with per-channel scales, float
//! bias. As LiteRT's `EvalHybridPerChannel` (depthwise_conv.cc), which x86
//! builds run as `DepthwiseConvHybridGeneral` with its NEON block through
//! NEON_2_SSE: each batch image is quantized asymmetrically, `acc = sum
//! w * (q - zp)` over the taps inside the image, then channels in the
//! leading multiple of 4 get `(acc * f_scale[c]) * in_scale` and the rest
//! `(acc * in_scale) * f_scale[c]` (the scalar tail's order), `+ bias`,
//! clamped. Also home of the depthwise window loop the int16x8 kernel
//! shares.

use std::ops::AddAssign;
use std::sync::Mutex;

use crate::api::*;
use crate::common::Activation;
use crate::conv::geometry::{valid_taps, Axis, Padding};
use crate::linalg::fully_connected_hybrid::{const_bias, weight_scales};
use crate::linalg::gemm::activation_range;
use crate::linalg::quantize_hybrid;
use crate::parallel::Parallel;

/// Handles one output row: `(row index, accumulator scratch, output row)`.
pub type RowFn<'a, A, O> = dyn Fn(usize, &mut [A], &mut [O]) + Sync + 'a;

/// Shapes of one depthwise convolution (`cout = cin * mult`).
#[derive(Debug, Clone, Copy)]
pub struct DwWindow {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub cin: usize,
    pub kh: usize,
    pub kw: usize,
    pub cout: usize,
    pub mult: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub h: Axis,
    pub w: Axis,
    pub pad_t: usize,
    pub pad_l: usize,
}

impl DwWindow {
    pub fn new(
        input: &[usize],
        filter: &[usize],
        bias: Option<&[usize]>,
        padding: Padding,
        (h, w): (Axis, Axis),
    ) -> KResult<Self> {
        let (&[batch, in_h, in_w, cin], &[1, kh, kw, cout]) = (input, filter) else {
            return invalid(format!(
                "DEPTHWISE_CONV_2D needs a 4-D input and a [1, kh, kw, c] filter, got {input:?} and {filter:?}"
            ));
        };
        if cin == 0 || cout % cin != 0 {
            return invalid(format!(
                "DEPTHWISE_CONV_2D filter channels {cout} are not a multiple of {cin}"
            ));
        }
        if let Some(b) = bias {
            if b.iter().product::<usize>() != cout {
                return invalid(format!(
                    "DEPTHWISE_CONV_2D bias {b:?} does not match {cout} channels"
                ));
            }
        }
        let (out_h, pad_t) = h.out_and_pad(padding, in_h, kh)?;
        let (out_w, pad_l) = w.out_and_pad(padding, in_w, kw)?;
        Ok(DwWindow {
            batch,
            in_h,
            in_w,
            cin,
            kh,
            kw,
            cout,
            mult: cout / cin,
            out_h,
            out_w,
            h,
            w,
            pad_t,
            pad_l,
        })
    }

    pub fn out_shape(&self) -> Vec<usize> {
        vec![self.batch, self.out_h, self.out_w, self.cout]
    }

    /// Sums of output row `r` (image `r / out_h`, row `r % out_h`):
    /// `acc[ox * cout + oc] = sum w[tap][oc] * (x[iy][ix][oc / mult] - zp)`
    /// over the taps inside the image. `w` is `[kh * kw][cout]`.
    pub fn row<A: Copy + Default + AddAssign + From<i32>>(
        &self,
        img: &[i16],
        w: &[i16],
        zp: i32,
        r: usize,
        acc: &mut [A],
    ) {
        // The crate builds for baseline x86-64, whose SSE2 lacks a 32-bit
        // lane multiply: the same loop compiled for AVX2 vectorizes.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked above); the body is safe code.
            return unsafe { self.row_avx2(img, w, zp, r, acc) };
        }
        self.row_portable(img, w, zp, r, acc)
    }

    /// [`DwWindow::row`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn row_avx2<A: Copy + Default + AddAssign + From<i32>>(
        &self,
        img: &[i16],
        w: &[i16],
        zp: i32,
        r: usize,
        acc: &mut [A],
    ) {
        self.row_portable(img, w, zp, r, acc)
    }

    /// [`DwWindow::row`] for any CPU.
    #[inline(always)]
    pub(crate) fn row_portable<A: Copy + Default + AddAssign + From<i32>>(
        &self,
        img: &[i16],
        w: &[i16],
        zp: i32,
        r: usize,
        acc: &mut [A],
    ) {
        let (n, oy) = (r / self.out_h.max(1), r % self.out_h.max(1));
        let (c, m) = (self.cout, self.mult);
        acc.fill(A::default());
        let (ky0, ky1) = valid_taps(oy, self.h, self.pad_t, self.kh, self.in_h);
        let base = n * self.in_h * self.in_w * self.cin;
        for (ox, a) in acc.chunks_exact_mut(c.max(1)).enumerate() {
            let (kx0, kx1) = valid_taps(ox, self.w, self.pad_l, self.kw, self.in_w);
            for ky in ky0..ky1 {
                let iy = oy * self.h.stride + ky * self.h.dilation - self.pad_t;
                for kx in kx0..kx1 {
                    let ix = ox * self.w.stride + kx * self.w.dilation - self.pad_l;
                    let at = base + (iy * self.in_w + ix) * self.cin;
                    let x = &img[at..at + self.cin];
                    let wt = &w[(ky * self.kw + kx) * c..][..c];
                    if m == 1 {
                        for ((a, &wv), &xv) in a.iter_mut().zip(wt).zip(x) {
                            *a += A::from(wv as i32 * (xv as i32 - zp));
                        }
                    } else {
                        for (oc, (a, &wv)) in a.iter_mut().zip(wt).enumerate() {
                            *a += A::from(wv as i32 * (x[oc / m] as i32 - zp));
                        }
                    }
                }
            }
        }
    }

    /// Runs `f(r, acc, out_row)` for every output row, split over `par`;
    /// `acc` is scratch of `out_w * cout` accumulators.
    pub fn for_rows<A: Copy + Default + Send, O: Send>(
        &self,
        par: &Parallel,
        out: &mut [O],
        f: &RowFn<'_, A, O>,
    ) {
        let row = self.out_w * self.cout;
        let rows = self.batch * self.out_h;
        if row == 0 || rows == 0 {
            return;
        }
        let tasks = if par.threads() > 1 && rows * row * self.kh * self.kw >= 1 << 16 {
            rows.min(par.threads() * 4)
        } else {
            1
        };
        let per = rows.div_ceil(tasks);
        let chunks: Vec<Mutex<&mut [O]>> = out.chunks_mut(per * row).map(Mutex::new).collect();
        par.for_each(chunks.len(), |t| {
            let mut acc = vec![A::default(); row];
            if let Ok(mut c) = chunks[t].lock() {
                for (k, o) in c.chunks_exact_mut(row).enumerate() {
                    f(t * per + k, &mut acc, o);
                }
            }
        });
    }
}

struct DepthwiseHybrid {
    padding: Padding,
    h: Axis,
    w: Axis,
    range: (f32, f32),
    filter_shape: Vec<usize>,
    /// `[kh * kw][cout]`, widened.
    weights: Vec<i16>,
    scales: Vec<f32>,
    bias: Option<Vec<f32>>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=3, 1)?;
    let BuiltinOptions::DepthwiseConv2DOptions(o) = spec.options else {
        return invalid("DEPTHWISE_CONV_2D without DepthwiseConv2DOptions");
    };
    let filter = spec.input(1)?;
    if filter.dtype != DType::Int8 || spec.output(0)?.dtype != DType::Float32 {
        return spec.unsupported(format!(
            "hybrid filter {} with output {}",
            filter.dtype,
            spec.output(0)?.dtype
        ));
    }
    let (Some(data), &[1, _, _, cout]) = (filter.data, filter.shape) else {
        return spec.unsupported("hybrid filter that is not a constant [1, kh, kw, c] tensor");
    };
    let act = Activation::from_code(o.fused_activation_function)?;
    let Some(range) = activation_range(act) else {
        return spec.unsupported(format!("fused activation {act:?}"));
    };
    // LiteRT's hybrid depthwise kernel is per-channel only.
    let scales = match weight_scales(spec, filter, 3, cout)? {
        (_, Some(s)) => s,
        (Some(s), None) if cout == 1 => vec![s],
        _ => return spec.unsupported("per-tensor hybrid depthwise filter"),
    };
    let bias = const_bias(spec, 2, cout)?;
    Ok(Box::new(DepthwiseHybrid {
        padding: Padding::from_code(o.padding)?,
        h: Axis::new(o.stride_h, o.dilation_h_factor)?,
        w: Axis::new(o.stride_w, o.dilation_w_factor)?,
        range,
        filter_shape: filter.shape.to_vec(),
        weights: cast::<i8>(data)?.iter().map(|&v| v as i16).collect(),
        scales,
        bias: bias.map(|b| b.unwrap_or_else(|| vec![0.0; cout])),
    }))
}

impl Kernel for DepthwiseHybrid {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.dtype != DType::Float32 {
            return invalid(format!(
                "hybrid DEPTHWISE_CONV_2D input must be FLOAT32, got {}",
                x.dtype
            ));
        }
        let b = inputs.get(2).copied().flatten();
        let win = DwWindow::new(
            x.shape,
            &self.filter_shape,
            b.map(|b| b.shape),
            self.padding,
            (self.h, self.w),
        )?;
        Ok(Some(vec![win.out_shape()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let b = io.optional_input(2);
        let win = DwWindow::new(
            x.shape,
            &self.filter_shape,
            b.map(|b| b.shape),
            self.padding,
            (self.h, self.w),
        )?;
        let dynamic_b;
        let bias: &[f32] = match (&self.bias, b) {
            (Some(v), _) => v,
            (None, Some(t)) => {
                dynamic_b = t.f32()?;
                dynamic_b
            }
            (None, None) => return invalid("DEPTHWISE_CONV_2D bias is missing"),
        };
        let per_image = win.in_h * win.in_w * win.cin;
        let q = quantize_hybrid::rows(x.f32()?, win.batch, per_image, true);
        let (lo, hi) = self.range;
        // Channels the NEON block handles (4 at a time); the rest are the tail.
        let vec_c = win.cout & !3;
        let f = |r: usize, acc: &mut [i32], o: &mut [f32]| {
            let n = r / win.out_h.max(1);
            win.row(&q.q, &self.weights, q.zp[n], r, acc);
            let is = q.scale[n];
            for (os, accs) in o.chunks_exact_mut(win.cout).zip(acc.chunks_exact(win.cout)) {
                for (c, (o, &a)) in os.iter_mut().zip(accs).enumerate() {
                    let v = if c < vec_c {
                        a as f32 * self.scales[c] * is
                    } else {
                        a as f32 * is * self.scales[c]
                    };
                    *o = (v + bias[c]).max(lo).min(hi);
                }
            }
        };
        win.for_rows(io.par, io.outputs[0].f32()?, &f);
        Ok(())
    }
}

#[cfg(test)]
#[path = "depthwise_hybrid_tests.rs"]
mod tests;
