//! Quantized ADD, SUB and MUL (int8, uint8, int16) with NumPy broadcasting,
//! bit-exact with LiteRT's builtin kernels.
//!
//! ADD/SUB (add.cc / sub.cc Prepare): both inputs are rescaled to twice the
//! larger input scale after a left shift of 20 bits (15 for int16), summed
//! in int32, and the sum rescaled to the output; every multiplier comes from
//! a double-precision ratio of the float scales. int16 with
//! `pot_scale_int16` and power-of-two scales instead shifts one input
//! right and adds with int16 saturation (the LSTM path).
//! MUL (mul.cc): `(a - za)(b - zb)` rescaled by `sa*sb/so`, a ratio LiteRT
//! computes in *float* before widening to double.
//! The fused activation clamps in the output's integer domain.

use super::broadcast::binary;
use super::quantized_mul::{self, MulConsts};
use crate::api::*;
use crate::common::{broadcast_shapes, Activation};
use crate::quant::fixedpoint::{
    multiply_by_quantized_multiplier, quantize_multiplier, saturating_rounding_doubling_high_mul,
};
use crate::quant::params::{activation_range, per_tensor, qrange, Affine, QElem};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QOp {
    Add,
    Sub,
    Mul,
}

/// One input's rescaling in the ADD/SUB general path.
#[derive(Clone, Copy, Debug)]
struct InputScale {
    offset: i32,
    multiplier: i32,
    shift: i32,
}

impl InputScale {
    #[inline(always)]
    fn apply(&self, v: i32, left_shift: i32) -> i32 {
        let shifted = (v + self.offset).wrapping_mul(1 << left_shift);
        multiply_by_quantized_multiplier(shifted, self.multiplier, self.shift)
    }
}

#[derive(Clone, Debug)]
enum Scheme {
    General {
        left_shift: i32,
        in1: InputScale,
        in2: InputScale,
        out_multiplier: i32,
        out_shift: i32,
        out_zp: i32,
        /// For 8-bit types: each input's rescaled value per raw value
        /// (index `v - type min`), so the per-element work is one add and
        /// one multiply.
        tables: Option<Box<Tables>>,
    },
    /// int16 power-of-two scales, zero points 0: input `shifted` is divided
    /// by 2^`right_shift` (rounding) and combined with the other with int16
    /// saturation.
    Pot16 { shift1: i32, shift2: i32 },
    Mul {
        off1: i32,
        off2: i32,
        multiplier: i32,
        shift: i32,
        out_zp: i32,
    },
}

/// Rescaled inputs by raw value for 8-bit ADD/SUB.
#[derive(Clone, Debug)]
struct Tables {
    a: [i32; 256],
    b: [i32; 256],
    /// uint8 ADD only: LiteRT's vector loop (8 lanes at a time) rescales
    /// inputs with a truncating shift after the rounding multiply, and
    /// narrows the result to int16 without saturation before adding the
    /// output offset; its scalar tail matches the reference.
    neon: Option<([i32; 256], [i32; 256])>,
}

struct QuantArith {
    op: QOp,
    dtype: DType,
    scheme: Scheme,
    lo: i32,
    hi: i32,
    /// 8-bit types: the output for every pair of raw inputs, index
    /// `(a - min) << 8 | (b - min)`, as output bytes. Built from the scalar
    /// arithmetic below, so it is exact by construction; 64 KiB turns the
    /// fixed-point work per element into one load.
    pairs: Option<PairTables>,
}

struct PairTables {
    scalar: Vec<u8>,
    /// uint8 ADD: LiteRT's vector loop for the first `n - n % 8` elements.
    vector: Option<Vec<u8>>,
}

/// QuantizeMultiplierSmallerThanOneExp: LiteRT aborts outside [0, 1), so
/// such parameters are reported as unsupported.
fn smaller_than_one(spec: &OpSpec<'_>, real: f64, what: &str) -> KResult<(i32, i32)> {
    let (m, s) = quantize_multiplier(real);
    if !(0.0..1.0).contains(&real) || s > 0 {
        return spec.unsupported(format!("{what} multiplier {real} is not below 1"));
    }
    Ok((m, s))
}

/// log2 of a power-of-two scale as LiteRT's CheckedLog2 judges it (float
/// log, |fraction| < 1e-3).
fn checked_log2(x: f32) -> Option<i32> {
    if x <= 0.0 {
        return None;
    }
    let l = x.ln() * (1.0f32 / 2.0f32.ln());
    let r = l.round();
    ((l - r).abs() < 1e-3).then_some(r as i32)
}

pub fn build(spec: &OpSpec<'_>, op: QOp) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let (a, b, out) = (spec.input(0)?, spec.input(1)?, spec.output(0)?);
    let dtype = out.dtype;
    if a.dtype != dtype || b.dtype != dtype {
        return spec.unsupported(format!(
            "quantized {} x {} -> {}",
            a.dtype, b.dtype, out.dtype
        ));
    }
    let (act_code, pot_option) = match spec.options {
        BuiltinOptions::AddOptions(o) => (o.fused_activation_function, o.pot_scale_int16),
        BuiltinOptions::SubOptions(o) => (o.fused_activation_function, o.pot_scale_int16),
        BuiltinOptions::MulOptions(o) => (o.fused_activation_function, false),
        // A missing options table reads as zeros in LiteRT.
        _ => (0, false),
    };
    let act = Activation::from_code(act_code)?;
    let qa = per_tensor(spec, a, "input 0")?;
    let qb = per_tensor(spec, b, "input 1")?;
    let qo = per_tensor(spec, out, "output")?;
    let (lo, hi) = activation_range(act, qo, dtype)?;
    let int16 = dtype == DType::Int16;
    let scheme = match op {
        QOp::Mul => {
            if int16 && (qa.zero_point != 0 || qb.zero_point != 0 || qo.zero_point != 0) {
                return invalid("int16 MUL needs zero points of 0");
            }
            // float product and quotient, as mul.cc computes it.
            let real = (qa.scale * qb.scale / qo.scale) as f64;
            let (multiplier, shift) = quantize_multiplier(real);
            if dtype != DType::Int16 {
                let (min, max) = qrange(dtype).unwrap_or((0, 0));
                let span = |zp: i32| (min - zp).abs().max((max - zp).abs()) as i64;
                let product = span(qa.zero_point) * span(qb.zero_point);
                if product << shift.max(0) > i32::MAX as i64 {
                    return spec.unsupported(format!("MUL multiplier {real} overflows"));
                }
                fits_int16_lanes(spec, product as i32, multiplier, shift, qo.zero_point)?;
            }
            Scheme::Mul {
                off1: -qa.zero_point,
                off2: -qb.zero_point,
                multiplier,
                shift,
                out_zp: qo.zero_point,
            }
        }
        QOp::Add | QOp::Sub => {
            let zero_zps = qa.zero_point == 0 && qb.zero_point == 0 && qo.zero_point == 0;
            // LiteRT 2.3 requires symmetric int16 on both paths.
            if int16 && !zero_zps {
                return invalid(format!("int16 {op:?} needs zero points of 0"));
            }
            let pot = int16
                && pot_option
                && [qa.scale, qb.scale, qo.scale]
                    .iter()
                    .all(|&s| checked_log2(s).is_some());
            if pot {
                pot16(spec, op, qa, qb, qo, zero_zps)?
            } else {
                general(spec, op, dtype, qa, qb, qo)?
            }
        }
    };
    let mut kernel = QuantArith {
        op,
        dtype,
        scheme,
        lo,
        hi,
        pairs: None,
    };
    kernel.pairs = kernel.pair_tables();
    Ok(Box::new(kernel))
}

fn pot16(
    spec: &OpSpec<'_>,
    op: QOp,
    qa: Affine,
    qb: Affine,
    qo: Affine,
    zero_zps: bool,
) -> KResult<Scheme> {
    if !zero_zps {
        return invalid(format!(
            "{:?} int16 with power-of-two scales needs zero points of 0",
            op
        ));
    }
    let l = |s| checked_log2(s).unwrap_or(0);
    let shift1 = l(qa.scale) - l(qo.scale);
    let shift2 = l(qb.scale) - l(qo.scale);
    // LiteRT shifts at most one input, and only to the right.
    if !(shift1 == 0 || shift2 == 0) || shift1 > 0 || shift2 > 0 {
        return spec.unsupported(format!(
            "int16 power-of-two input shifts {shift1} and {shift2}"
        ));
    }
    Ok(Scheme::Pot16 { shift1, shift2 })
}

fn general(
    spec: &OpSpec<'_>,
    op: QOp,
    dtype: DType,
    qa: Affine,
    qb: Affine,
    qo: Affine,
) -> KResult<Scheme> {
    let left_shift = if dtype == DType::Int16 { 15 } else { 20 };
    let twice_max = 2.0 * qa.scale.max(qb.scale) as f64;
    let (m1, s1) = smaller_than_one(spec, qa.scale as f64 / twice_max, "input 0")?;
    let (m2, s2) = smaller_than_one(spec, qb.scale as f64 / twice_max, "input 1")?;
    let real_out = twice_max / ((1i64 << left_shift) as f64 * qo.scale as f64);
    // SUB takes multipliers above 1 through QuantizeMultiplierGreaterThanOne
    // but then applies them with the smaller-than-one helper, whose negative
    // shift LiteRT leaves undefined; we do not follow it there.
    let (out_multiplier, out_shift) = smaller_than_one(spec, real_out, "output")?;
    let in1 = InputScale {
        offset: -qa.zero_point,
        multiplier: m1,
        shift: s1,
    };
    let in2 = InputScale {
        offset: -qb.zero_point,
        multiplier: m2,
        shift: s2,
    };
    if dtype == DType::Int8 && op == QOp::Add {
        let (min, _) = qrange(dtype).unwrap_or((0, 0));
        let peak = |s: &InputScale| {
            (0..256)
                .map(|i| s.apply(min + i, left_shift).unsigned_abs())
                .max()
                .unwrap_or(0)
        };
        let sum = (peak(&in1) as i64 + peak(&in2) as i64).min(i32::MAX as i64) as i32;
        fits_int16_lanes(spec, sum, out_multiplier, out_shift, qo.zero_point)?;
    }
    let tables = (dtype != DType::Int16).then(|| {
        let (min, _) = qrange(dtype).unwrap_or((0, 0));
        let mut t = Box::new(Tables {
            a: [0; 256],
            b: [0; 256],
            neon: None,
        });
        for i in 0..256 {
            t.a[i] = in1.apply(min + i as i32, left_shift);
            t.b[i] = in2.apply(min + i as i32, left_shift);
        }
        if op == QOp::Add && dtype == DType::Uint8 {
            let lane = |s: &InputScale, v: i32| {
                let x = saturating_rounding_doubling_high_mul(
                    (v + s.offset) << left_shift,
                    s.multiplier,
                );
                x >> (-s.shift).clamp(0, 31)
            };
            t.neon = Some((
                std::array::from_fn(|v| lane(&in1, v as i32)),
                std::array::from_fn(|v| lane(&in2, v as i32)),
            ));
        }
        t
    });
    Ok(Scheme::General {
        left_shift,
        in1,
        in2,
        out_multiplier,
        out_shift,
        out_zp: qo.zero_point,
        tables,
    })
}

/// LiteRT's 8-bit vector loops narrow the rescaled result to int16 before
/// adding the output offset, wrapping where the scalar code does not; when
/// `|raw| <= peak` cannot reach that far both agree, otherwise we decline.
fn fits_int16_lanes(
    spec: &OpSpec<'_>,
    peak: i32,
    multiplier: i32,
    shift: i32,
    zero_point: i32,
) -> KResult<()> {
    let hi = multiply_by_quantized_multiplier(peak, multiplier, shift)
        .unsigned_abs()
        .max(multiply_by_quantized_multiplier(-peak, multiplier, shift).unsigned_abs());
    if hi as i64 + zero_point.unsigned_abs() as i64 > i16::MAX as i64 {
        return spec.unsupported("output scale so small that LiteRT's int16 lanes wrap");
    }
    Ok(())
}

impl QuantArith {
    /// One output from raw 8-bit inputs `p` and `q` (their integer values),
    /// before narrowing; `None` for schemes without 8-bit tables.
    fn scalar8(&self, p: i32, q: i32) -> Option<i32> {
        let min = qrange(self.dtype)?.0;
        let idx = |v: i32| (v - min) as usize & 0xff;
        let sub = self.op == QOp::Sub;
        let raw = match &self.scheme {
            Scheme::General {
                out_multiplier,
                out_shift,
                out_zp,
                tables: Some(t),
                ..
            } => {
                let (a, b) = (t.a[idx(p)], t.b[idx(q)]);
                let sum = if sub { a - b } else { a + b };
                multiply_by_quantized_multiplier(sum, *out_multiplier, *out_shift) + out_zp
            }
            _ => return None,
        };
        Some(raw.clamp(self.lo, self.hi))
    }

    /// uint8 ADD's vector-loop value for raw inputs `p`, `q`.
    fn vector8(&self, p: i32, q: i32) -> Option<i32> {
        let Scheme::General {
            out_multiplier,
            out_shift,
            out_zp,
            tables: Some(t),
            ..
        } = &self.scheme
        else {
            return None;
        };
        let (n1, n2) = t.neon.as_ref()?;
        let idx = |v: i32| v as usize & 0xff;
        let s = n1[idx(p)].wrapping_add(n2[idx(q)]);
        let s = multiply_by_quantized_multiplier(s, *out_multiplier, *out_shift);
        let s = (s as i16).wrapping_add(*out_zp as i16) as i32;
        Some(s.clamp(0, 255).clamp(self.lo, self.hi))
    }

    fn pair_tables(&self) -> Option<PairTables> {
        // MUL computes faster than a 64 KiB table can be read.
        if self.op == QOp::Mul {
            return None;
        }
        let min = qrange(self.dtype).filter(|_| self.dtype != DType::Int16)?.0;
        let table = |f: &dyn Fn(i32, i32) -> Option<i32>| -> Option<Vec<u8>> {
            let mut t = vec![0u8; 1 << 16];
            for (i, slot) in t.iter_mut().enumerate() {
                let (p, q) = (min + (i >> 8) as i32, min + (i & 0xff) as i32);
                // Bytes hold the output's bit pattern (i8 or u8).
                *slot = f(p, q)? as u8;
            }
            Some(t)
        };
        Some(PairTables {
            scalar: table(&|p, q| self.scalar8(p, q))?,
            vector: table(&|p, q| self.vector8(p, q)),
        })
    }

    /// 8-bit evaluation through the pair tables.
    fn run_pairs<T: QElem>(&self, io: &mut EvalIo<'_, '_>, pairs: &PairTables) -> KResult<()> {
        let a = io.input(0)?;
        let b = io.input(1)?;
        let (x, y) = (a.typed::<T>()?, b.typed::<T>()?);
        let par = io.par;
        let out = &mut io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.typed::<T>()?;
        let min = qrange(self.dtype).map_or(0, |r| r.0);
        let idx = move |p: T, q: T| {
            (((p.to_i32() - min) as usize & 0xff) << 8) | ((q.to_i32() - min) as usize & 0xff)
        };
        let scalar: &[T] = bytemuck::cast_slice(&pairs.scalar);
        if scalar.len() != 1 << 16 {
            return invalid("quantized arithmetic table of the wrong type");
        }
        binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
            scalar[idx(p, q)]
        });
        if let Some(vector) = &pairs.vector {
            // Same sizes (output_shapes insists): redo the vector part of
            // LiteRT's loop.
            let vector: &[T] = bytemuck::cast_slice(vector);
            let lanes = o.len() - o.len() % 8;
            for ((r, &p), &q) in o[..lanes].iter_mut().zip(x).zip(y) {
                *r = vector[idx(p, q)];
            }
        }
        Ok(())
    }

    fn run<T: QElem>(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        if let Some(pairs) = &self.pairs {
            return self.run_pairs::<T>(io, pairs);
        }
        let a = io.input(0)?;
        let b = io.input(1)?;
        let (x, y) = (a.typed::<T>()?, b.typed::<T>()?);
        let par = io.par;
        let out = &mut io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.typed::<T>()?;
        let (lo, hi) = (self.lo, self.hi);
        let sub = self.op == QOp::Sub;
        let finish = |v: i32| T::from_i32(v.clamp(lo, hi));
        match &self.scheme {
            Scheme::General {
                left_shift,
                in1,
                in2,
                out_multiplier: om,
                out_shift: os,
                out_zp,
                ..
            } => {
                // Only int16 gets here; 8-bit types use the pair tables.
                let (om, os, zp, ls) = (*om, *os, *out_zp, *left_shift);
                let combine = move |p: i32, q: i32| {
                    let raw = if sub { p - q } else { p + q };
                    finish(multiply_by_quantized_multiplier(raw, om, os) + zp)
                };
                binary(par, x, a.shape, y, b.shape, o, &shape, |p: T, q: T| {
                    combine(in1.apply(p.to_i32(), ls), in2.apply(q.to_i32(), ls))
                });
                if !sub && x.len() == y.len() {
                    // int16 ADD without broadcasting: LiteRT's vector
                    // loop (16 lanes at a time) folds the input shift
                    // into the left shift, one truncating shift
                    // before a single rounding multiply.
                    let lane = |s: &InputScale, v: i32| {
                        let v = v + s.offset;
                        let k = ls + s.shift;
                        let v = if k >= 0 { v << k } else { v >> (-k).min(31) };
                        saturating_rounding_doubling_high_mul(v, s.multiplier)
                    };
                    let lanes = o.len() - o.len() % 16;
                    for ((r, &p), &q) in o[..lanes].iter_mut().zip(x).zip(y) {
                        *r = combine(lane(in1, p.to_i32()), lane(in2, q.to_i32()));
                    }
                }
            }
            Scheme::Pot16 { shift1, shift2 } => {
                let (r1, r2) = (-shift1, -shift2);
                binary(par, x, a.shape, y, b.shape, o, &shape, |p: T, q: T| {
                    let p = rounding_shift(p.to_i32(), r1);
                    let q = rounding_shift(q.to_i32(), r2);
                    let raw = if sub { p - q } else { p + q };
                    // int16 saturation, then the activation clamp.
                    finish(raw.clamp(i16::MIN as i32, i16::MAX as i32))
                })
            }
            Scheme::Mul {
                off1,
                off2,
                multiplier,
                shift,
                out_zp,
            } => {
                let (o1, o2, m, s, zp) = (*off1, *off2, *multiplier, *shift, *out_zp);
                if let Some(k) = MulConsts::new((o1, o2), m, s, zp, (lo, hi)) {
                    quantized_mul::mul(par, x, a.shape, y, b.shape, o, &shape, &k);
                    return Ok(());
                }
                binary(par, x, a.shape, y, b.shape, o, &shape, |p: T, q: T| {
                    let prod = (p.to_i32() + o1).wrapping_mul(q.to_i32() + o2);
                    finish(multiply_by_quantized_multiplier(prod, m, s).wrapping_add(zp))
                })
            }
        }
        Ok(())
    }
}

/// gemmlowp's RoundingDivideByPOT for a non-negative exponent (0 = none).
#[inline(always)]
fn rounding_shift(v: i32, exponent: i32) -> i32 {
    if exponent == 0 {
        v
    } else {
        crate::quant::fixedpoint::rounding_divide_by_pot(v, exponent.min(31))
    }
}

impl Kernel for QuantArith {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let b = shape_input(inputs, 1)?;
        let flat = |s: &[usize]| s.iter().product::<usize>();
        if flat(a.shape) != flat(b.shape) {
            match &self.scheme {
                // LiteRT splits broadcasts into vector runs whose layout we
                // do not reproduce.
                Scheme::General {
                    tables: Some(t), ..
                } if t.neon.is_some() => return unsupported("uint8 ADD with broadcasting"),
                // LiteRT's power-of-two int16 ADD has no broadcasting.
                Scheme::Pot16 { .. } if self.op == QOp::Add => {
                    return unsupported("int16 power-of-two ADD with broadcasting")
                }
                _ => {}
            }
        }
        Ok(Some(vec![broadcast_shapes(a.shape, b.shape)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        match self.dtype {
            DType::Int8 => self.run::<i8>(io),
            DType::Uint8 => self.run::<u8>(io),
            DType::Int16 => self.run::<i16>(io),
            other => unsupported(format!("quantized arithmetic on {other}")),
        }
    }
}

// The scales are LiteRT's float32 values printed exactly as float64.
#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::super::binary::{build_add, build_mul, build_sub};
    use crate::api::*;
    use crate::quant::testutil::{dt, qout, qt, run_q};
    use ferrite_format::options::{AddOptions, MulOptions, SubOptions};

    type Operand = (&'static [usize], &'static [i32], f32, i64);

    /// (op, dtype, fused activation, pot_scale_int16, a, b, (out scale,
    /// out zero point), expected).
    type Case = (
        &'static str,
        &'static str,
        i8,
        bool,
        Operand,
        Operand,
        (f32, i64),
        &'static [i32],
    );

    // Expected outputs: ai_edge_litert 2.3.0, BUILTIN_WITHOUT_DEFAULT_DELEGATES.
    #[rustfmt::skip]
    const CASES: &[Case] = &[
    // int8 ADD, fixture parameters
    ("ADD", "i8", 0, true, (&[2, 3, 4], &[-94, -96, 76, -1, 23, 25, 54, -121, -4, -91, -26, 109, 12, -110, 10, -95, 65, 114, 122, 31, 94, -34, -91, 2], 0.023180153220891953, -4), (&[2, 3, 4], &[-15, 41, 126, -58, 91, -93, -39, 73, -65, 43, -11, 3, 112, 81, 86, 12, 123, 123, -94, -76, -50, 13, 82, -5], 0.07283207774162292, -8), (0.04269038513302803, -128), &[-128, -94, 127, -128, 56, -128, -128, -53, -128, -88, -128, -48, 85, -34, 40, -128, 127, 127, -128, -128, -128, -108, -22, -120]),
    // int8 ADD broadcast, RELU6
    ("ADD", "i8", 3, true, (&[2, 1, 3], &[123, -38, 109, 23, 56, -68], 0.031300000846385956, -23), (&[4, 1], &[23, 77, 98, 94], 0.002099999925121665, 60), (0.029999999329447746, 3), &[127, 3, 127, 127, 3, 127, 127, 3, 127, 127, 3, 127, 48, 83, 3, 52, 87, 3, 54, 88, 3, 53, 88, 3]),
    // int8 ADD saturating at both bounds
    ("ADD", "i8", 0, true, (&[19], &[-128, -128, -128, -128, -128, -128, -128, -128, -128, -128, 127, 127, 127, 127, 127, 127, 127, 127, 127], 0.019999999552965164, 0), (&[19], &[-128, -128, -128, -128, -128, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127], 0.019999999552965164, 0), (0.019999999552965164, 0), &[-128, -128, -128, -128, -128, -1, -1, -1, -1, -1, 127, 127, 127, 127, 127, 127, 127, 127, 127]),
    // int8 SUB broadcast, RELU
    ("SUB", "i8", 1, true, (&[3, 1, 5], &[119, -96, 71, -9, 47, -58, -125, -107, 121, 101, -51, -18, -67, -91, 91], 0.010999999940395355, 5), (&[1, 4, 1], &[44, -109, -77, 16], 0.09000000357627869, -20), (0.07000000029802322, -1), &[-1, -1, -1, -1, -1, 127, 98, 124, 111, 120, 90, 56, 83, 70, 79, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 104, 93, 96, 127, 127, 62, 52, 55, 91, 87, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 105, 110, 102, 98, 127, 63, 69, 61, 57, 86, -1, -1, -1, -1, -1]),
    // int8 SUB with a tiny output scale saturates
    ("SUB", "i8", 0, true, (&[7], &[102, 126, -73, 28, -120, -84, -77], 0.5, 0), (&[], &[-15], 0.25, 10), (0.0010000000474974513, 0), &[127, 127, -128, 127, -128, -128, -128]),
    // int8 MUL by a scalar, fixture parameters
    ("MUL", "i8", 0, true, (&[2, 3, 4], &[-40, 58, -8, -42, 103, 32, 50, 62, -42, 100, -124, -50, -88, -127, 127, -106, -11, 81, 48, 91, -115, -1, -120, -79], 0.07283207774162292, -8), (&[], &[88], 0.0019607844296842813, -128), (0.03641603887081146, -8), &[-35, 48, -8, -37, 86, 26, 41, 51, -37, 83, -106, -44, -76, -109, 106, -91, -11, 67, 39, 76, -99, -2, -103, -68]),
    // int8 MUL, RELU_N1_TO_1, 16 vector lanes + tail
    ("MUL", "i8", 2, true, (&[17], &[-110, 22, -123, -49, 110, -47, -49, -106, 70, -84, -1, -122, -123, 86, -126, -9, -19], 0.30000001192092896, 7), (&[17], &[-96, 37, 61, 124, -78, 108, -113, -92, 25, 94, 101, 61, -122, -22, 78, 7, -80], 0.20000000298023224, -3), (0.8999999761581421, 2), &[3, 3, 1, 1, 1, 1, 3, 3, 3, 1, 1, 1, 3, 1, 1, 1, 3]),
    // uint8 MUL broadcast
    ("MUL", "u8", 0, true, (&[2, 5], &[174, 23, 178, 4, 92, 75, 240, 186, 167, 126], 0.05000000074505806, 128), (&[5], &[73, 218, 242, 55, 62], 0.029999999329447746, 100), (0.019999999552965164, 120), &[27, 0, 255, 255, 223, 227, 255, 255, 0, 126]),
    // uint8 SUB RELU6
    ("SUB", "u8", 3, true, (&[9], &[80, 122, 66, 103, 250, 94, 240, 128, 87], 0.699999988079071, 200), (&[9], &[239, 111, 198, 80, 255, 191, 224, 10, 27], 0.009999999776482582, 3), (0.4000000059604645, 17), &[17, 17, 17, 17, 32, 17, 32, 17, 17]),
    // uint8 ADD: lanes 0..8 take LiteRT's vector rounding, 8..10 its scalar one
    ("ADD", "u8", 0, true, (&[10], &[6, 6, 6, 6, 6, 6, 6, 6, 6, 6], 0.004100000020116568, 50), (&[10], &[222, 222, 222, 222, 222, 222, 222, 222, 222, 222], 0.0017000000225380063, 249), (0.006200000178068876, 130), &[93, 93, 93, 93, 93, 93, 93, 93, 94, 94]),
    // uint8 ADD
    ("ADD", "u8", 0, true, (&[13], &[17, 136, 103, 250, 62, 43, 216, 77, 189, 74, 139, 20, 169], 0.009999999776482582, 0), (&[13], &[234, 177, 225, 199, 145, 237, 122, 38, 142, 160, 45, 36, 169], 0.009999999776482582, 255), (0.004000000189989805, 128), &[118, 255, 255, 255, 8, 190, 255, 0, 255, 75, 0, 0, 255]),
    // int16 ADD general scales
    ("ADD", "i16", 0, false, (&[37], &[-3727, -1232, 18761, 12147, 25866, -21804, 16988, 2656, -30448, -28147, -9214, 9163, -22082, 2923, 32689, -23413, -23330, 30546, -16757, 24548, -9358, 16792, -28778, 8702, 24273, -10606, 8936, -18680, -22299, -32736, -114, 1399, -27613, -17840, 7273, -8889, -17586], 0.006610667333006859, 0), (&[37], &[-32344, -30236, 9043, -25216, 22612, 3621, -16287, 8977, -22216, -11482, -223, 9401, -23740, -9695, -26746, -24206, -18101, -12111, 26744, -6864, -25603, 27042, 4554, -25189, -27363, -27122, 26916, 4030, 11806, 30368, -6470, 26689, -6352, 13123, 21408, -28394, 15351], 0.038846906274557114, 0), (0.04057608172297478, 0), &[-31573, -29148, 11714, -22162, 25862, -86, -12825, 9027, -26230, -15578, -1715, 10493, -26326, -8806, -20281, -26989, -21131, -6618, 22874, -2572, -26037, 28625, -329, -22698, -22242, -27694, 27225, 815, 7670, 23740, -6213, 25780, -10580, 9657, 21681, -28632, 11832]),
    // int16 ADD broadcast, RELU
    ("ADD", "i16", 1, false, (&[2, 3], &[20080, 30733, 12017, -774, -23336, 17559], 0.0010000000474974513, 0), (&[3], &[-2298, 20118, -29536], 0.0003000000142492354, 0), (0.0020000000949949026, 0), &[9695, 18384, 1578, 0, 0, 4349]),
    // int16 ADD power-of-two scales (saturating)
    ("ADD", "i16", 0, true, (&[20], &[-10093, 19783, 7224, 14328, 5941, 19964, 21662, 17066, 10681, -15254, -27798, 18988, -9743, -16439, -32565, -23731, -30433, -7184, -13366, -142], 0.0009765625, 0), (&[20], &[4802, -14037, 2291, 6932, 11297, 6717, -30554, -17052, 19274, 8032, -13385, -9356, 28129, 15380, -8220, -13736, -24308, 19581, 8497, -5564], 0.000244140625, 0), (0.0009765625, 0), &[-8892, 16274, 7797, 16061, 8765, 21643, 14023, 12803, 15500, -13246, -31144, 16649, -2711, -12594, -32768, -27165, -32768, -2289, -11242, -1533]),
    // int16 SUB power-of-two broadcast
    ("SUB", "i16", 0, true, (&[4, 3], &[12625, 3489, 2097, 11360, 17368, 1204, -5775, -15885, -12950, 31416, -20637, -26473], 0.000244140625, 0), (&[3], &[7647, -11474, -26512], 0.0009765625, 0), (0.0009765625, 0), &[-4491, 12346, 27036, -4807, 15816, 26813, -9091, 7503, 23274, 207, 6315, 19894]),
    // int16 SUB general scales
    ("SUB", "i16", 0, false, (&[18], &[3218, 16332, -30888, -808, -22616, 4864, 19612, 19874, 18600, -13456, 8976, 9785, 26332, 12797, 16745, -26319, -13187, -8623], 0.0020000000949949026, 0), (&[18], &[9493, 24192, -10481, -197, 16373, -20086, -7551, -19975, -22726, 12616, 24671, -22989, 12478, 12732, 16035, 13258, 3905, -25207], 0.003000000026077032, 0), (0.004000000189989805, 0), &[-5511, -9978, -7583, -256, -23588, 17496, 15469, 24918, 26344, -16190, -14015, 22134, 3808, -3150, -3654, -23103, -9522, 14594]),
    // int16 MUL broadcast, RELU6
    ("MUL", "i16", 3, true, (&[3, 4], &[18542, -19992, -3417, 29689, 4311, -13773, -28668, -15905, 3608, 22992, 20617, -18864], 0.00039999998989515007, 0), (&[4], &[13470, 9800, 19867, -157], 0.000699999975040555, 0), (0.0003000000142492354, 0), &[20000, 0, 0, 0, 20000, 0, 0, 2331, 20000, 20000, 20000, 2764]),
    // int16 ADD: 16 vector lanes round once, the tail twice
    ("ADD", "i16", 0, false, (&[17], &[-20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541, -20541], 0.006610667333006859, 0), (&[17], &[-4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483, -4483], 0.038846906274557114, 0), (0.04057608172297478, 0), &[-7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7638, -7639]),
    ];

    fn options(op: &str, act: i8, pot: bool) -> (Builder, BuiltinOptions) {
        match op {
            "ADD" => (
                build_add,
                BuiltinOptions::AddOptions(AddOptions {
                    fused_activation_function: act,
                    pot_scale_int16: pot,
                }),
            ),
            "SUB" => (
                build_sub,
                BuiltinOptions::SubOptions(SubOptions {
                    fused_activation_function: act,
                    pot_scale_int16: pot,
                }),
            ),
            _ => (
                build_mul,
                BuiltinOptions::MulOptions(MulOptions {
                    fused_activation_function: act,
                }),
            ),
        }
    }

    #[test]
    fn matches_litert() {
        for (i, &(op, d, act, pot, a, b, (os, oz), want)) in CASES.iter().enumerate() {
            let d = dt(d);
            let (build, opts) = options(op, act, pot);
            let inputs = [
                Some(qt(d, a.0, a.1, a.2, a.3)),
                Some(qt(d, b.0, b.1, b.2, b.3)),
            ];
            let (_, got) = run_q(build, op, opts, &inputs, qout(d, os, oz))
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(got, want, "case {i} ({op} {d})");
        }
    }

    #[test]
    fn unsupported_and_invalid_parameters() {
        let i8s = |s: f32, z: i64| Some(qt(DType::Int8, &[2], &[1, 2], s, z));
        let (add, opts) = options("ADD", 0, true);
        // An output scale so small that LiteRT's int16 lanes would wrap.
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[i8s(1.0, 0), i8s(1.0, 0)],
            qout(DType::Int8, 1e-6, 0),
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))), "{r:?}");
        // Output multiplier at or above 1: LiteRT aborts.
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[i8s(1.0, 0), i8s(1.0, 0)],
            qout(DType::Int8, 1e-7, 0),
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[i8s(0.0, 0), i8s(1.0, 0)],
            qout(DType::Int8, 1.0, 0),
        );
        assert!(matches!(r, Err(KernelError::InvalidInput(_))));
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[i8s(1.0, 200), i8s(1.0, 0)],
            qout(DType::Int8, 1.0, 0),
        );
        assert!(matches!(r, Err(KernelError::InvalidInput(_))));
        let per_axis = qt(DType::Int8, &[2], &[1, 2], 1.0, 0).quant(&[1.0, 2.0], &[0, 0], 0);
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[Some(per_axis), i8s(1.0, 0)],
            qout(DType::Int8, 1.0, 0),
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
        // uint8 ADD broadcasts and int16 power-of-two ADD broadcasts are
        // declined; int16 needs zero points of 0.
        let u8s = |n: usize| Some(qt(DType::Uint8, &[n], &vec![3; n], 0.1, 3));
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[u8s(2), u8s(1)],
            qout(DType::Uint8, 0.2, 0),
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
        let i16s = |n: usize, z: i64| Some(qt(DType::Int16, &[n], &vec![3; n], 0.25, z));
        let r = run_q(
            add,
            "ADD",
            opts.clone(),
            &[i16s(2, 0), i16s(1, 0)],
            qout(DType::Int16, 0.25, 0),
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
        let r = run_q(
            add,
            "ADD",
            opts,
            &[i16s(2, 1), i16s(2, 0)],
            qout(DType::Int16, 0.25, 0),
        );
        assert!(matches!(r, Err(KernelError::InvalidInput(_))));
    }
}
