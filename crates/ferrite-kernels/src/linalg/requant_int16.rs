//! Plan-time parameters shared by the int16x8 kernels (int16 activations
//! with zero point 0, symmetric int8 weights, int64 bias): per-channel
//! fixed-point multipliers as LiteRT's Prepare functions compute them, the
//! quantized activation range, and the int64 requantization of
//! `reference_integer_ops` (`MultiplyByQuantizedMultiplier(int64_t, ...)`).

use crate::api::*;
use crate::common::Activation;
use crate::quant::fixedpoint::{
    multiply_by_quantized_multiplier_i64, multiply_by_quantized_multiplier_i64_single,
    multiply_by_quantized_multiplier_upward, quantize_multiplier,
};

/// Per-output-channel requantization and the output clamp.
#[derive(Debug, Clone)]
pub struct Requant {
    rounding: Rounding,
    mult: Vec<i32>,
    shift: Vec<i32>,
    lo: i32,
    hi: i32,
}

/// How the int64 accumulator is rescaled. Measured against LiteRT 2.3
/// (thousands of random outputs each): its int16x8 convolutions use the
/// 16-bit reduced multiplier of `MultiplyByQuantizedMultiplier(int64_t)`,
/// its FULLY_CONNECTED one exact single rounding with the full multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Reduced,
    Single,
    /// LiteRT's optimized path for int32 or missing biases (ruy): the
    /// accumulator wraps to int32, then the full multiplier with the final
    /// shift rounding ties upward.
    Int32Upward,
}

/// How the effective scale `in * w / out` is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// All in double (`PopulateConvolutionQuantizationParams`, and per-unit
    /// FULLY_CONNECTED).
    Double,
    /// `in * w` in float, then the division in double
    /// (`GetQuantizedConvolutionMultipler`, per-tensor FULLY_CONNECTED).
    FloatProduct,
}

impl Requant {
    /// `acc` (bias included) scaled for channel `j` and clamped.
    #[inline]
    pub fn apply(&self, acc: i64, j: usize) -> i16 {
        let v = match self.rounding {
            Rounding::Reduced => {
                multiply_by_quantized_multiplier_i64(acc, self.mult[j], self.shift[j])
            }
            Rounding::Single => {
                multiply_by_quantized_multiplier_i64_single(acc, self.mult[j], self.shift[j])
            }
            // Wrapping the exact sum equals accumulating in wrapping int32.
            Rounding::Int32Upward => {
                multiply_by_quantized_multiplier_upward(acc as i32, self.mult[j], self.shift[j])
            }
        };
        v.clamp(self.lo, self.hi) as i16
    }

    pub fn set_rounding(&mut self, rounding: Rounding) {
        self.rounding = rounding;
    }

    pub fn channels(&self) -> usize {
        self.mult.len()
    }
}

/// The scale of an int16 activation tensor, which must be quantized per
/// tensor with zero point 0.
pub fn int16_scale(spec: &OpSpec<'_>, t: &TensorSpec<'_>) -> KResult<f32> {
    if t.dtype != DType::Int16 {
        return spec.unsupported(format!("{} with an int16 input", t.dtype));
    }
    let Some(q) = t.quant else {
        return spec.unsupported("int16 tensor without quantization parameters");
    };
    if q.scale.len() != 1 || q.zero_point.len() != 1 {
        return spec.unsupported("per-axis quantized int16 activations");
    }
    if !(q.scale[0].is_finite() && q.scale[0] > 0.0) {
        return invalid(format!(
            "{}: scale {} must be finite and > 0",
            spec.name, q.scale[0]
        ));
    }
    if q.zero_point[0] != 0 {
        return spec.unsupported("int16 activations with a non-zero zero point");
    }
    Ok(q.scale[0])
}

/// Multipliers for `channels` outputs from the int8 `filter` (per tensor,
/// or per channel along `axis`), and the clamp for `act` on the output.
pub fn requant(
    spec: &OpSpec<'_>,
    in_scale: f32,
    filter: &TensorSpec<'_>,
    axis: usize,
    channels: usize,
    (out_scale, act): (f32, Activation),
    (product, rounding): (Product, Rounding),
) -> KResult<Requant> {
    if filter.dtype != DType::Int8 {
        return spec.unsupported(format!("{} weights with int16 activations", filter.dtype));
    }
    let Some(q) = filter.quant else {
        return spec.unsupported("int8 weights without quantization parameters");
    };
    if q.scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return invalid(format!(
            "{}: weight scales must be finite and > 0",
            spec.name
        ));
    }
    if q.zero_point.iter().any(|&z| z != 0) {
        return spec.unsupported("int8 weights with a non-zero zero point");
    }
    let per_channel = match q.scale.len() {
        1 => false,
        n if n == channels && q.axis == axis => true,
        n => {
            return spec.unsupported(format!(
                "{n} weight scales on axis {} for {channels} channels on axis {axis}",
                q.axis
            ))
        }
    };
    let mut mult = Vec::with_capacity(channels);
    let mut shift = Vec::with_capacity(channels);
    for j in 0..channels {
        let ws = q.scale[if per_channel { j } else { 0 }];
        let real = match product {
            Product::Double => in_scale as f64 * ws as f64 / out_scale as f64,
            Product::FloatProduct => (in_scale * ws) as f64 / out_scale as f64,
        };
        let (m, s) = quantize_multiplier(real);
        // LiteRT's int64 rescale assumes shift in [-31, 7].
        if s > 7 {
            return spec.unsupported(format!("requantization scale {real} above 2^7"));
        }
        mult.push(m);
        shift.push(s);
    }
    let (lo, hi) = act_range(spec, act, out_scale)?;
    Ok(Requant {
        rounding,
        mult,
        shift,
        lo,
        hi,
    })
}

/// LiteRT's `CalculateActivationRangeQuantized` for int16, zero point 0.
fn act_range(spec: &OpSpec<'_>, act: Activation, scale: f32) -> KResult<(i32, i32)> {
    let q = |f: f32| (f / scale).round() as i32;
    let (qmin, qmax) = (i16::MIN as i32, i16::MAX as i32);
    Ok(match act {
        Activation::None => (qmin, qmax),
        Activation::Relu => (qmin.max(q(0.0)), qmax),
        Activation::Relu6 => (qmin.max(q(0.0)), qmax.min(q(6.0))),
        Activation::ReluN1To1 => (qmin.max(q(-1.0)), qmax.min(q(1.0))),
        other => return spec.unsupported(format!("fused activation {other:?} on int16")),
    })
}

/// A constant int64 bias of `n` values: `Some(Some(v))`; absent:
/// `Some(None)`; non-constant: `None`. Other bias types are Unsupported
/// (LiteRT sends int32 or missing biases to its int32-accumulating ruy
/// path, which this kernel does not reproduce) unless `absent_ok`.
pub fn bias_i64(
    spec: &OpSpec<'_>,
    i: usize,
    n: usize,
    absent_ok: bool,
) -> KResult<Option<Option<Vec<i64>>>> {
    let Some(b) = spec.inputs.get(i).copied().flatten() else {
        if absent_ok {
            return Ok(Some(None));
        }
        return spec.unsupported("int16x8 without an int64 bias");
    };
    if b.dtype != DType::Int64 {
        return spec.unsupported(format!("int16x8 with a {} bias", b.dtype));
    }
    match b.data {
        Some(d) => {
            let v: Vec<i64> = d
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect();
            if v.len() != n || d.len() != 8 * n {
                return invalid(format!(
                    "{} bias has {} values, expected {n}",
                    spec.name,
                    v.len()
                ));
            }
            Ok(Some(Some(v)))
        }
        None => Ok(None),
    }
}

/// A bias as [`bias_i64`] returns it: constant values, absent, or read at
/// eval.
pub type PlanBias = Option<Option<Vec<i64>>>;

/// A constant int64 or int32 bias (widened to int64), with its dtype
/// (`None` when absent); see [`bias_i64`] for the outer Option.
pub fn bias_i64_or_i32(
    spec: &OpSpec<'_>,
    i: usize,
    n: usize,
) -> KResult<(PlanBias, Option<DType>)> {
    let Some(b) = spec.inputs.get(i).copied().flatten() else {
        return Ok((Some(None), None));
    };
    if b.dtype == DType::Int64 {
        return Ok((bias_i64(spec, i, n, false)?, Some(DType::Int64)));
    }
    if b.dtype != DType::Int32 {
        return spec.unsupported(format!("int16x8 with a {} bias", b.dtype));
    }
    let Some(d) = b.data else {
        return spec.unsupported("int16x8 with a non-constant int32 bias");
    };
    if d.len() != 4 * n {
        return invalid(format!(
            "{} bias has {} bytes, expected {n} int32 values",
            spec.name,
            d.len()
        ));
    }
    let v = d
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
        .collect();
    Ok((Some(Some(v)), Some(DType::Int32)))
}

/// The bias for one eval: the constant one, the input's values, or zeros.
pub fn eval_bias<'a>(
    constant: &'a Option<Option<Vec<i64>>>,
    input: Option<TensorRef<'a>>,
    n: usize,
) -> KResult<std::borrow::Cow<'a, [i64]>> {
    Ok(match (constant, input) {
        (Some(Some(v)), _) => std::borrow::Cow::Borrowed(v),
        (Some(None), _) | (None, None) => std::borrow::Cow::Owned(vec![0; n]),
        (None, Some(t)) => {
            t.expect(DType::Int64)?;
            let v = t.typed::<i64>()?;
            if v.len() != n {
                return invalid(format!("bias has {} values, expected {n}", v.len()));
            }
            std::borrow::Cow::Borrowed(v)
        }
    })
}
