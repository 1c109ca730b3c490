//! Quantized pointwise activations (RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1,
//! LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH, ELU, GELU) as LiteRT's builtin kernels
//! compute them (activations.cc, generic optimized variant).
//!
//! Every 8-bit op is a function of the raw input byte alone, so the plan
//! evaluates LiteRT's per-element arithmetic once for each of the 256 input
//! values and the kernel is a table lookup. LOGISTIC and TANH fill that
//! (and ELU, GELU) table as LiteRT's `LUTPopulate` does (dequantize, float transform,
//! round, add the zero point in float); the others run LiteRT's integer
//! code. int16 RELU/RELU6/LEAKY_RELU requantize per element; int16
//! LOGISTIC/TANH interpolate LiteRT's 256-entry sigmoid table, or, for
//! power-of-two input scales (and degenerate ones), run gemmlowp's int16
//! fixed-point logistic/tanh as LiteRT's optimized kernel does.
//!
//! Where LiteRT relies on x86 behaviour for out-of-range conversions (a
//! float too large for int32 becomes `i32::MIN`, narrowing keeps the low
//! bits), the same results are produced here, so hostile scales give
//! LiteRT's answer rather than a panic.

use crate::api::*;
use crate::elementwise::broadcast::{map, par_chunks_mut, PAR_MIN};
use crate::quant::fixedpoint::{multiply_by_quantized_multiplier, quantize_multiplier};
use crate::quant::fixedpoint16::{
    logistic_q3, mul_pot16, rounding_divide_by_pot16, srdhm16, tanh_q3,
};
use crate::quant::lut8::lookup;
use crate::quant::params::{per_tensor, Affine};

/// The op a quantized pointwise kernel computes.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum QAct {
    Relu,
    Relu6,
    ReluN1To1,
    Relu0To1,
    LeakyRelu(f32),
    Logistic,
    Tanh,
    HardSwish,
    /// ELU, 8-bit only (int8 in LiteRT).
    Elu,
    /// GELU, erfc form (`approximate` false) or tanh form (true).
    Gelu {
        approximate: bool,
    },
}

/// LiteRT's `sigmoid_table_uint16`: sigmoid(i / 24) in unsigned 0.16 fixed
/// point for i in 0..256, shared by the int16 LOGISTIC and TANH kernels
/// (tanh(x) = 2 sigmoid(2x) - 1). Published data, not a formula: a few
/// entries differ by one from any single rounding of sigmoid(i / 24).
#[rustfmt::skip]
const SIGMOID_TABLE: [u16; 256] = [
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
];

/// Requantization with a clamp: `out_zp + x·m·2^s` for `x = v - in_zp`,
/// with separate multipliers for `x >= 0` and `x < 0` (equal except for
/// LEAKY_RELU), clamped to `[lo, hi]` in that order (`lo` first, so an
/// empty range yields `hi`, as in LiteRT).
#[derive(Clone, Copy, Debug)]
struct Requant {
    in_zp: i32,
    pos: (i32, i32),
    neg: (i32, i32),
    out_zp: i32,
    lo: i32,
    hi: i32,
    negate: bool,
}

impl Requant {
    #[inline(always)]
    fn apply(&self, v: i32) -> i32 {
        let x = v.wrapping_sub(self.in_zp);
        let (m, s) = if x >= 0 { self.pos } else { self.neg };
        let y = self.out_zp.wrapping_add(scale(x, m, s, self.negate));
        y.max(self.lo).min(self.hi)
    }
}

/// `x·m·2^(s-31)` with LiteRT's rounding. With `negate` a negative
/// multiplier (LEAKY_RELU with a negative alpha) scales by |m| and negates:
/// LiteRT 2.3's int8/uint8 kernel measurably rounds those ties toward zero
/// (its int16 kernel does not).
#[inline(always)]
fn scale(x: i32, m: i32, s: i32, negate: bool) -> i32 {
    if negate && m < 0 {
        multiply_by_quantized_multiplier(x, m.saturating_neg(), s).wrapping_neg()
    } else {
        multiply_by_quantized_multiplier(x, m, s)
    }
}

/// A requantization multiplier from a float ratio of scales. Ratios of
/// 2^30 and more overflow LiteRT's shifts (its results are then
/// compiler-specific), so they are refused.
pub(crate) fn multiplier(spec: &OpSpec<'_>, ratio: f32) -> KResult<(i32, i32)> {
    if ratio.is_finite() && ratio.abs() >= (1u32 << 30) as f32 {
        return spec.unsupported(format!("quantization scale ratio {ratio} (2^30 or more)"));
    }
    Ok(quantize_multiplier(ratio as f64))
}

/// The int16 LOGISTIC/TANH input rescaling: `(x·multiplier + round) >>
/// left_shift` brings the input to the table's scale.
#[derive(Clone, Copy, Debug)]
struct Sigmoid16 {
    tanh: bool,
    multiplier: i32,
    left_shift: i32,
}

impl Sigmoid16 {
    #[inline(always)]
    fn apply(&self, x: i16) -> i16 {
        let round = if self.left_shift > 0 {
            1i32 << (self.left_shift - 1)
        } else {
            0
        };
        let v = (x as i32).wrapping_mul(self.multiplier).wrapping_add(round) >> self.left_shift;
        let a = v.unsigned_abs();
        if self.tanh {
            // 8 fractional bits of interpolation; the result is 2s - 1.
            let uh = (a >> 8) as usize;
            let r = if uh >= 255 {
                0xFFFF << 8
            } else {
                let (ua, ub) = (SIGMOID_TABLE[uh] as u32, SIGMOID_TABLE[uh + 1] as u32);
                ((ua << 8) + (a & 0xFF) * (ub - ua)) as i32
            };
            let r = if v >= 0 {
                r - (1 << 23) + (1 << 7)
            } else {
                -r + (1 << 23) + (1 << 7) - 1
            };
            (r >> 8) as i16
        } else {
            // 9 fractional bits: the table's x/24 step is 3/4 of the
            // input's 2^-7 after the 3·4096 rescale.
            let uh = (a >> 9) as usize;
            let r: u32 = if uh >= 255 {
                0x7FFF << 10
            } else {
                let (ua, ub) = (SIGMOID_TABLE[uh] as u32, SIGMOID_TABLE[uh + 1] as u32);
                (ua << 9) + (a & 0x1FF) * (ub - ua)
            };
            let r = if v >= 0 {
                r + (1 << 9)
            } else {
                (1u32 << 25).wrapping_sub(r) + (1 << 9) - 1
            };
            (r >> 10) as i16
        }
    }
}

enum Plan {
    /// 8-bit: the output byte for each input byte.
    Table(Box<[u8; 256]>),
    /// int16 RELU, RELU6, LEAKY_RELU.
    Requant16(Requant),
    /// int16 LOGISTIC, TANH.
    Sigmoid16(Sigmoid16),
    /// int16 LOGISTIC, TANH on gemmlowp's fixed point: the input read as
    /// Q3.12 (first doubled, saturating, for TANH at scale 2^-11).
    FixedPoint16 { tanh: bool, double: bool },
}

struct QPointwise(Plan);

/// Float to int32 as x86's `cvttss2si` does it: truncation, and
/// `i32::MIN` for NaN and anything out of range (C++ leaves these
/// undefined; LiteRT's x86 builds produce this).
fn cvt_i32(f: f32) -> i32 {
    if (-2_147_483_648.0..2_147_483_648.0).contains(&f) {
        f as i32
    } else {
        i32::MIN
    }
}

/// C's `roundf` (half away from zero), then [`cvt_i32`].
fn round_i32(f: f32) -> i32 {
    cvt_i32(f.round())
}

/// LiteRT's `CheckedLog2`: log2(x) in float, rounded, and whether x is
/// within 1e-3 (in log2) of that power of two.
fn checked_log2(x: f32) -> (bool, i32) {
    let l = x.ln() * (1.0f32 / 2.0f32.ln());
    let r = l.round();
    ((l - r).abs() < 1e-3, cvt_i32(r))
}

/// Builds the kernel for quantized `x` (int8, uint8 or int16; the output of
/// the same type).
pub fn build(spec: &OpSpec<'_>, act: QAct) -> KResult<Box<dyn Kernel>> {
    let (x, y) = (spec.input(0)?, spec.output(0)?);
    if y.dtype != x.dtype {
        return spec.unsupported(format!(
            "quantized {} input with {} output",
            x.dtype, y.dtype
        ));
    }
    let (qx, qy) = (
        per_tensor(spec, x, "input")?,
        per_tensor(spec, y, "output")?,
    );
    let plan = match x.dtype {
        DType::Int8 | DType::Uint8 => Plan::Table(table(spec, act, x.dtype, qx, qy)?),
        DType::Int16 => int16_plan(spec, act, qx, qy)?,
        other => return spec.unsupported(format!("quantized {other}")),
    };
    Ok(Box::new(QPointwise(plan)))
}

/// The bounds LiteRT's QuantizedReluX clamps to: the float range quantized
/// with `roundf` in float, met with the type's range (an infinite upper
/// bound is the type maximum).
fn relu_bounds(q: Affine, lo: f32, hi: f32, tmin: i32, tmax: i32) -> (i32, i32) {
    let lo = tmin.max(q.zero_point.wrapping_add(round_i32(lo / q.scale)));
    let hi = if hi == f32::INFINITY {
        tmax
    } else {
        tmax.min(q.zero_point.wrapping_add(round_i32(hi / q.scale)))
    };
    (lo, hi)
}

/// RELU-family and LEAKY_RELU requantization. The multipliers are float
/// ratios of the float scales (LiteRT divides in float, then widens).
fn requant(
    spec: &OpSpec<'_>,
    act: QAct,
    qx: Affine,
    qy: Affine,
    tmin: i32,
    tmax: i32,
) -> KResult<Requant> {
    let identity = multiplier(spec, qx.scale / qy.scale)?;
    let (neg, (lo, hi)) = match act {
        QAct::LeakyRelu(alpha) => (multiplier(spec, qx.scale * alpha / qy.scale)?, (tmin, tmax)),
        QAct::Relu => (identity, relu_bounds(qy, 0.0, f32::INFINITY, tmin, tmax)),
        QAct::Relu6 => (identity, relu_bounds(qy, 0.0, 6.0, tmin, tmax)),
        QAct::ReluN1To1 => (identity, relu_bounds(qy, -1.0, 1.0, tmin, tmax)),
        _ => (identity, relu_bounds(qy, 0.0, 1.0, tmin, tmax)),
    };
    Ok(Requant {
        in_zp: qx.zero_point,
        pos: identity,
        neg,
        out_zp: qy.zero_point,
        lo,
        hi,
        negate: tmax <= 255,
    })
}

/// One entry of LiteRT's `LUTPopulate` for 8-bit types: dequantize in
/// float, transform, round the rescaled value, add the zero point in float,
/// clamp. (Float math functions are evaluated in f64 and rounded, which is
/// what a correctly rounded libm returns.)
fn lut(
    qx: Affine,
    qy: Affine,
    tmin: i32,
    tmax: i32,
    f: impl Fn(f32) -> f32 + 'static,
) -> Box<dyn Fn(i32) -> i32> {
    let inv = 1.0f32 / qy.scale;
    Box::new(move |v| {
        let d = qx.scale * (v - qx.zero_point) as f32;
        cvt_i32((f(d) * inv).round() + qy.zero_point as f32).clamp(tmin, tmax)
    })
}

/// The 8-bit lookup table: entry `b` is the output byte for input byte `b`
/// (an int8 value's two's-complement byte).
fn table(
    spec: &OpSpec<'_>,
    act: QAct,
    dtype: DType,
    qx: Affine,
    qy: Affine,
) -> KResult<Box<[u8; 256]>> {
    let (tmin, tmax) = if dtype == DType::Int8 {
        (-128, 127)
    } else {
        (0, 255)
    };
    let f: Box<dyn Fn(i32) -> i32> = match act {
        QAct::Logistic | QAct::Tanh => {
            if act == QAct::Logistic && qy.scale as f64 != 1.0 / 256.0 {
                return spec.unsupported(format!(
                    "{dtype} LOGISTIC output scale {} (LiteRT requires 1/256)",
                    qy.scale
                ));
            }
            if act == QAct::Tanh {
                lut(qx, qy, tmin, tmax, |d: f32| d.tanh())
            } else {
                lut(qx, qy, tmin, tmax, |d: f32| 1.0 / (1.0 + (-d).exp()))
            }
        }
        QAct::Elu => {
            if dtype != DType::Int8 {
                return spec
                    .unsupported(format!("quantized ELU on {dtype} (LiteRT supports int8)"));
            }
            // expm1f, correctly rounded through f64.
            lut(qx, qy, tmin, tmax, |d: f32| {
                if d < 0.0 {
                    (d as f64).exp_m1() as f32
                } else {
                    d
                }
            })
        }
        QAct::Gelu { approximate: false } => lut(qx, qy, tmin, tmax, |d: f32| {
            0.5 * d * (libm::erfc((d * -std::f32::consts::FRAC_1_SQRT_2) as f64) as f32)
        }),
        QAct::Gelu { approximate: true } => lut(qx, qy, tmin, tmax, |d: f32| {
            let k = (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
            let inner = k * (d + 0.044715 * d * d * d);
            0.5 * d * (1.0 + (inner as f64).tanh() as f32)
        }),
        QAct::HardSwish => {
            let hs = HardSwish::new(spec, qx, qy)?;
            Box::new(move |v| hs.apply(v, tmin, tmax))
        }
        _ => {
            let r = requant(spec, act, qx, qy, tmin, tmax)?;
            Box::new(move |v| r.apply(v))
        }
    };
    let mut t = Box::new([0u8; 256]);
    for v in tmin..=tmax {
        // Narrowing keeps the low byte, as LiteRT's static_cast does.
        t[(v as u8) as usize] = f(v) as u8;
    }
    Ok(t)
}

fn int16_plan(spec: &OpSpec<'_>, act: QAct, qx: Affine, qy: Affine) -> KResult<Plan> {
    let (tmin, tmax) = (i16::MIN as i32, i16::MAX as i32);
    let zero_points = || {
        if qx.zero_point != 0 || qy.zero_point != 0 {
            return spec.unsupported(format!(
                "int16 zero points {} and {} (LiteRT requires 0)",
                qx.zero_point, qy.zero_point
            ));
        }
        Ok(())
    };
    match act {
        QAct::Relu | QAct::Relu6 | QAct::LeakyRelu(_) => {
            zero_points()?;
            Ok(Plan::Requant16(requant(spec, act, qx, qy, tmin, tmax)?))
        }
        QAct::Logistic | QAct::Tanh => {
            let tanh = act == QAct::Tanh;
            if !tanh && qy.scale as f64 != 1.0 / 32768.0 {
                return spec.unsupported(format!(
                    "int16 LOGISTIC output scale {} (LiteRT requires 1/32768)",
                    qy.scale
                ));
            }
            zero_points()?;
            let (out_pot, out_log2) = checked_log2(qy.scale);
            if !out_pot || out_log2 != -15 {
                return spec.unsupported(format!(
                    "int16 TANH output scale {} (LiteRT requires 2^-15)",
                    qy.scale
                ));
            }
            let (pot, log2) = checked_log2(qx.scale);
            let shift = 12 + log2;
            if pot && (shift == 0 || (tanh && shift == 1)) {
                return Ok(Plan::FixedPoint16 {
                    tanh,
                    double: shift == 1,
                });
            }
            // Rescale to the table's 1/(3·4096) input step, keeping as many
            // bits as fit in 15.
            let mut m = qx.scale as f64 * 4096.0 * 3.0;
            let mut left_shift = 0;
            while m <= 32767.0 / 2.0 && left_shift <= 30 {
                left_shift += 1;
                m *= 2.0;
            }
            let multiplier = if m < 2_147_483_648.0 {
                m as i32
            } else {
                i32::MIN
            };
            if multiplier <= 0 {
                // A multiplier that truncates to 0 or overflows (x86: i32::MIN)
                // sends LiteRT to the fixed-point path too, where TANH doubles
                // its input for any nonzero shift.
                return Ok(Plan::FixedPoint16 {
                    tanh,
                    double: tanh && left_shift != 0,
                });
            }
            Ok(Plan::Sigmoid16(Sigmoid16 {
                tanh,
                multiplier,
                left_shift,
            }))
        }
        _ => spec.unsupported(format!("int16 {act:?}")),
    }
}

/// LiteRT's quantized HARD_SWISH: `x · relu6(x + 3) / 6` in 16-bit fixed
/// point. The input is moved to a high-resolution scale (x 2^7); the
/// "reluish" factor rescales it so that 3.0 is 2^15, saturates, and maps
/// [-1, 1] to [0, 1]; a truncating doubling high multiply combines the two.
#[derive(Clone, Copy, Debug)]
struct HardSwish {
    in_zp: i32,
    out_zp: i32,
    out_mult: i16,
    out_exp: i32,
    relu_mult: i16,
    relu_exp: i32,
}

/// LiteRT's DownScaleInt32ToInt16Multiplier: the high 16 bits, rounded.
fn downscale_multiplier(m: i32) -> i16 {
    if m >= i32::MAX - (1 << 15) {
        return i16::MAX;
    }
    ((m + (1 << 15)) >> 16) as i16
}

/// LiteRT's int16 SaturatingDoublingHighMul (truncating).
fn sdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

fn saturating_left_shift16(v: i16, amount: i32) -> i16 {
    ((v as i64) << amount.clamp(0, 31)).clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

impl HardSwish {
    fn new(spec: &OpSpec<'_>, qx: Affine, qy: Affine) -> KResult<Self> {
        // Float arithmetic throughout, as LiteRT's Prepare.
        let hires = (1.0f32 / 128.0) * qx.scale;
        let (out_m, out_exp) = quantize_multiplier((hires / qy.scale) as f64);
        if out_exp > 0 {
            return spec.unsupported(format!(
                "HARD_SWISH input scale {} over output scale {} (LiteRT requires a ratio below 128)",
                qx.scale, qy.scale
            ));
        }
        let (relu_m, relu_exp) = quantize_multiplier((hires / (3.0f32 / 32768.0)) as f64);
        Ok(HardSwish {
            in_zp: qx.zero_point,
            out_zp: qy.zero_point,
            out_mult: downscale_multiplier(out_m),
            out_exp,
            relu_mult: downscale_multiplier(relu_m),
            relu_exp,
        })
    }

    fn apply(&self, v: i32, tmin: i32, tmax: i32) -> i32 {
        let x = (v - self.in_zp) as i16;
        let hires = x.wrapping_mul(1 << 7);
        let preshift_out = srdhm16(hires, self.out_mult);
        let mut r = hires;
        if self.relu_exp > 0 {
            r = saturating_left_shift16(r, self.relu_exp - 1);
        }
        r = srdhm16(r, self.relu_mult);
        if self.relu_exp > 0 {
            r = saturating_left_shift16(r, 1);
        }
        if self.relu_exp < 0 {
            r = rounding_divide_by_pot16(r, -self.relu_exp);
        }
        // [-1, 1] -> [0, 1].
        let r = ((r as i32 + (1 << 15)) >> 1) as i16;
        let out = sdhm16(r, preshift_out);
        let out = rounding_divide_by_pot16(out, -self.out_exp);
        let out = out.wrapping_add(self.out_zp as i16);
        (out as i32).min(tmax).max(tmin)
    }
}

impl Kernel for QPointwise {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let par = io.par;
        let out = &mut io.outputs[0];
        if out.num_elements() != x.num_elements() {
            return invalid("activation output does not match its input");
        }
        match &self.0 {
            Plan::Table(t) => {
                let (xv, o) = (x.typed::<u8>()?, out.typed::<u8>()?);
                check_len(xv.len(), o.len())?;
                par_chunks_mut(par, o, 64, PAR_MIN, |start, chunk| {
                    lookup(t, &xv[start..start + chunk.len()], chunk)
                });
            }
            Plan::Requant16(r) => {
                let (xv, o) = (x.typed::<i16>()?, out.typed::<i16>()?);
                check_len(xv.len(), o.len())?;
                let r = *r;
                map(par, xv, o, move |v| r.apply(v as i32) as i16);
            }
            Plan::Sigmoid16(s) => {
                let (xv, o) = (x.typed::<i16>()?, out.typed::<i16>()?);
                check_len(xv.len(), o.len())?;
                let s = *s;
                map(par, xv, o, move |v| s.apply(v));
            }
            &Plan::FixedPoint16 { tanh, double } => {
                let (xv, o) = (x.typed::<i16>()?, out.typed::<i16>()?);
                check_len(xv.len(), o.len())?;
                let e = i32::from(double);
                if tanh {
                    map(par, xv, o, move |v| tanh_q3(mul_pot16(v, e)));
                } else {
                    map(par, xv, o, logistic_q3);
                }
            }
        }
        Ok(())
    }
}

fn check_len(a: usize, b: usize) -> KResult<()> {
    if a != b {
        return invalid(format!("activation buffers of {a} and {b} elements"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "quantized_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "quantized_extra_tests.rs"]
mod extra_tests;

#[cfg(test)]
#[path = "quantized_pot16_tests.rs"]
mod pot16_tests;
