//! MEAN on int8, uint8 and int16 as LiteRT's builtin (optimized) kernel
//! computes it. Two paths, chosen as LiteRT chooses them:
//!
//! - int8/uint8, rank 4, keep_dims, axes {1, 2} (a global average pool):
//!   the raw values are summed, scaled by `in_scale / (H·W·out_scale)` and
//!   offset by a bias rounded in float32. Channels in whole blocks of 16
//!   are requantized by the vector loop, whose final shift rounds ties
//!   upward; the remaining channels by the scalar loop, which rounds them
//!   away from zero. (LiteRT splits channels across threads when asked for
//!   more than one; its default single-threaded split is the one kept.)
//! - otherwise (QuantizedMeanOrSum): the sum minus `count · in_zp` is
//!   requantized with the `in_scale / out_scale` multiplier divided by the
//!   count in fixed point.
//!
//! SUM (int8, uint8, int16) takes LiteRT's optimized QuantizedMeanOrSum in
//! float32: `round(sum · s + bias)` plus the output zero point, with
//! `s = in_scale / out_scale` and `bias = (-in_zp · s) · count`.
//!
//! Sums are int32 and wrap, as LiteRT's do; an empty input gives zeros.

use super::axes::{axis_values, reduced_shape, resolve_axes, Plan};
use crate::api::*;
use crate::quant::fixedpoint::{
    multiply_by_quantized_multiplier as mul_away,
    multiply_by_quantized_multiplier_upward as mul_up, quantize_multiplier,
};
use crate::quant::params::{f32_to_i32_x86, per_tensor, qrange, Affine, QElem};

struct QuantMean {
    /// SUM rather than MEAN.
    sum: bool,
    dtype: DType,
    keep_dims: bool,
    qx: Affine,
    qy: Affine,
    /// `in_scale / out_scale` as a fixed-point multiplier and shift.
    mult: i32,
    shift: i32,
}

/// MEAN (`sum` false) or SUM on int8, uint8 or int16.
pub fn build(spec: &OpSpec<'_>, keep_dims: bool, sum: bool) -> KResult<Box<dyn Kernel>> {
    let (x, y) = (spec.input(0)?, spec.output(0)?);
    if x.dtype != y.dtype || qrange(x.dtype).is_none() {
        return spec.unsupported(format!("quantized dtype {} to {}", x.dtype, y.dtype));
    }
    let qx = per_tensor(spec, x, "input")?;
    let qy = per_tensor(spec, y, "output")?;
    if x.dtype == DType::Int16 && (qx.zero_point != 0 || qy.zero_point != 0) {
        return invalid(format!(
            "{}: int16 zero points must be 0 (got {} and {})",
            spec.name, qx.zero_point, qy.zero_point
        ));
    }
    let (mult, shift) = quantize_multiplier(qx.scale as f64 / qy.scale as f64);
    Ok(Box::new(QuantMean {
        sum,
        dtype: x.dtype,
        keep_dims,
        qx,
        qy,
        mult,
        shift,
    }))
}

impl QuantMean {
    /// The fast path's multiplier, shift and output bias for `count`
    /// summed pixels, in float32 as LiteRT computes them.
    fn pool_params(&self, count: usize) -> (i32, i32, i32) {
        let (si, so) = (self.qx.scale, self.qy.scale);
        let t = self.qx.zero_point as f32 * si / so;
        let t = if t > 0.0 { t + 0.5 } else { t - 0.5 };
        let bias = self.qy.zero_point.wrapping_sub(f32_to_i32_x86(t));
        let real = si / (count as f32 * so);
        let (m, s) = quantize_multiplier(real as f64);
        (m, s, bias)
    }

    fn run<T: QElem>(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let axes = io.input(1)?;
        let Some(axes) = axis_values(&axes.as_shape_arg())? else {
            return invalid("axis values missing");
        };
        let axes = resolve_axes(&axes, x.shape.len())?;
        let input = x.typed::<T>()?;
        let plan = Plan::new(x.shape, &axes);
        let out = io.outputs[0].typed::<T>()?;
        let kept: usize = reduced_shape(x.shape, &axes, false).iter().product();
        if out.len() != kept || input.len() != x.shape.iter().product::<usize>() {
            return invalid("MEAN buffers do not match their shapes");
        }
        let (lo, hi) = qrange(self.dtype).unwrap_or((0, 0));
        if plan.empty {
            out.fill(T::from_i32(0));
            return Ok(());
        }
        let mut acc = vec![0i32; out.len()];
        plan.fold(io.par, input, &mut acc, |a, v| a.wrapping_add(v.to_i32()));
        if self.sum {
            let scale = self.qx.scale / self.qy.scale;
            let bias = (-self.qx.zero_point) as f32 * scale * plan.reduced as f32;
            for (o, &a) in out.iter_mut().zip(&acc) {
                let v = f32_to_i32_x86((a as f32 * scale + bias).round());
                *o = T::from_i32(v.wrapping_add(self.qy.zero_point).clamp(lo, hi));
            }
            return Ok(());
        }
        let pool =
            x.shape.len() == 4 && self.keep_dims && axes == [1, 2] && self.dtype != DType::Int16;
        if pool {
            let depth = x.shape[3];
            let (m, s, bias) = self.pool_params(x.shape[1] * x.shape[2]);
            let vector_end = depth / 16 * 16;
            for (i, (o, &a)) in out.iter_mut().zip(&acc).enumerate() {
                let v = if i % depth < vector_end {
                    mul_up(a, m, s)
                } else {
                    mul_away(a, m, s)
                };
                *o = T::from_i32(v.wrapping_add(bias).clamp(lo, hi));
            }
            return Ok(());
        }
        // Fold 1/count into the multiplier: shift it left by log2(count)
        // (at most 32, and no further than the shift range allows), then
        // divide by the count.
        let n = plan.reduced as i64;
        let log2 = 63 - (n as u64).leading_zeros() as i32;
        let extra = log2.min(32).min(31 + self.shift).max(0);
        let m = (((self.mult as i64) << extra) / n) as i32;
        let s = self.shift - extra;
        let offset = self.qx.zero_point as i64 * n;
        for (o, &a) in out.iter_mut().zip(&acc) {
            let centred = (a as i64 - offset) as i32;
            let v = mul_away(centred, m, s).wrapping_add(self.qy.zero_point);
            *o = T::from_i32(v.clamp(lo, hi));
        }
        Ok(())
    }
}

impl Kernel for QuantMean {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        let Some(axes) = axis_values(shape_input(inputs, 1)?)? else {
            return Ok(None);
        };
        let axes = resolve_axes(&axes, x.shape.len())?;
        Ok(Some(vec![reduced_shape(x.shape, &axes, self.keep_dims)]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        match self.dtype {
            DType::Int8 => self.run::<i8>(io),
            DType::Uint8 => self.run::<u8>(io),
            DType::Int16 => self.run::<i16>(io),
            other => unsupported(format!("quantized MEAN/SUM on {other}")),
        }
    }
}

#[cfg(test)]
#[path = "quantized_mean_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "quantized_sum_tests.rs"]
mod sum_tests;
