//! CONV_2D dynamic-range (hybrid): float32 input and output, constant int8
//! filter (symmetric), float bias. As LiteRT's `conv.cc`:
//! - one filter scale (or per-channel scales that are all equal, which
//!   LiteRT also treats as per tensor, but through a legacy scale we do not
//!   trust: Unsupported): `EvalHybrid` quantizes each batch image
//!   symmetrically and `out = clamp((float)acc * (in_scale * f_scale) +
//!   bias)`;
//! - per-channel scales: `EvalHybridPerChannel` quantizes each image
//!   asymmetrically (whatever `asymmetric_quantize_inputs` says), pads with
//!   the zero point, and `out = clamp((float)(acc - row_sum * zp) *
//!   (f_scale[c] * in_scale) + bias[c])`.
//!
//! One group only (LiteRT's grouped hybrid path is the reference kernel).

use crate::api::*;
use crate::common::Activation;
use crate::conv::geometry::{Axis, Padding};
use crate::conv::window_i16::Window;
use crate::linalg::fully_connected_hybrid::{const_bias, weight_scales};
use crate::linalg::gemm::activation_range;
use crate::linalg::gemm_i16::{gemm, PackedW, Plan};
use crate::linalg::quantize_hybrid;

struct Conv2dHybrid {
    padding: Padding,
    h: Axis,
    w: Axis,
    range: (f32, f32),
    filter_shape: Vec<usize>,
    weights: PackedW,
    tensor_scale: Option<f32>,
    channel_scales: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=3, 1)?;
    let BuiltinOptions::Conv2DOptions(o) = spec.options else {
        return invalid("CONV_2D without Conv2DOptions");
    };
    let filter = spec.input(1)?;
    if filter.dtype != DType::Int8 || spec.output(0)?.dtype != DType::Float32 {
        return spec.unsupported(format!(
            "hybrid filter {} with output {}",
            filter.dtype,
            spec.output(0)?.dtype
        ));
    }
    let (Some(data), &[cout, kh, kw, cin]) = (filter.data, filter.shape) else {
        return spec.unsupported("hybrid filter that is not a constant 4-D tensor");
    };
    let act = Activation::from_code(o.fused_activation_function)?;
    let Some(range) = activation_range(act) else {
        return spec.unsupported(format!("fused activation {act:?}"));
    };
    let (tensor_scale, channel_scales) = weight_scales(spec, filter, 0, cout)?;
    if let Some(s) = &channel_scales {
        if s.iter().all(|&x| x == s[0]) {
            return spec.unsupported("per-channel hybrid filter whose scales are all equal");
        }
    }
    let bias = const_bias(spec, 2, cout)?;
    Ok(Box::new(Conv2dHybrid {
        padding: Padding::from_code(o.padding)?,
        h: Axis::new(o.stride_h, o.dilation_h_factor)?,
        w: Axis::new(o.stride_w, o.dilation_w_factor)?,
        range,
        filter_shape: filter.shape.to_vec(),
        weights: PackedW::pack_int8(cast::<i8>(data)?, cout, kh * kw * cin)?,
        tensor_scale,
        channel_scales,
        bias: bias.map(|b| b.unwrap_or_else(|| vec![0.0; cout])),
    }))
}

impl Conv2dHybrid {
    fn window(&self, input: &[usize], bias: Option<&[usize]>) -> KResult<Window> {
        Window::new(
            "CONV_2D",
            input,
            &self.filter_shape,
            bias,
            self.padding,
            (self.h, self.w),
        )
    }
}

impl Kernel for Conv2dHybrid {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.dtype != DType::Float32 {
            return invalid(format!(
                "hybrid CONV_2D input must be FLOAT32, got {}",
                x.dtype
            ));
        }
        if let (Some(&c), Some(&fc)) = (x.shape.last(), self.filter_shape.last()) {
            if c != fc && fc > 0 && c % fc == 0 {
                return unsupported("CONV_2D: grouped hybrid convolution");
            }
        }
        let b = inputs.get(2).copied().flatten();
        Ok(Some(vec![self
            .window(x.shape, b.map(|b| b.shape))?
            .out_shape()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let b = io.optional_input(2);
        let win = self.window(x.shape, b.map(|b| b.shape))?;
        let dynamic_b;
        let bias: &[f32] = match (&self.bias, b) {
            (Some(v), _) => v,
            (None, Some(t)) => {
                dynamic_b = t.f32()?;
                dynamic_b
            }
            (None, None) => return invalid("CONV_2D bias is missing"),
        };
        let input = x.f32()?;
        let per_image = win.in_h * win.in_w * win.cin;
        let per_channel = self.channel_scales.is_some();
        let q = quantize_hybrid::rows(input, win.batch, per_image, per_channel);
        let row_scale: Vec<f32> = match self.tensor_scale {
            Some(s) => q.scale.iter().map(|&r| r * s).collect(),
            None => q.scale.clone(),
        };
        let sums = self.weights.row_sums();
        let (lo, hi) = self.range;
        let fill = |i: usize, dst: &mut [i16]| {
            let zp = q.zp[win.image_of(i)];
            win.gather(&q.q, i, zp as i16, dst);
        };
        let epi = |i: usize, j0: usize, acc: &[i64], o: &mut [f32]| {
            let n = win.image_of(i);
            let zp = q.zp[n];
            for (c, (o, &a)) in o.iter_mut().zip(acc).enumerate() {
                let j = j0 + c;
                let dot = (a as i32).wrapping_sub(sums[j].wrapping_mul(zp));
                let v = match &self.channel_scales {
                    Some(s) => dot as f32 * (s[j] * row_scale[n]) + bias[j],
                    None => dot as f32 * row_scale[n] + bias[j],
                };
                *o = v.min(hi).max(lo);
            }
        };
        let out = io.outputs[0].f32()?;
        let plan = Plan::int8();
        gemm(
            plan,
            io.par,
            win.rows(),
            &self.weights,
            out,
            win.cout,
            &fill,
            &epi,
        )
    }
}

#[cfg(test)]
#[path = "conv2d_hybrid_tests.rs"]
mod tests;
