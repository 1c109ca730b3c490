//! Elementwise math of one input: ABS, NEG, EXP, LOG, SQRT, RSQRT, SQUARE,
//! SIN, COS, FLOOR, CEIL, ROUND and SIGN.
//!
//! All accept float32. ABS also takes int32 and unquantized int16, NEG
//! int32 and int64, SIGN int32 and float64 (integer overflow wraps, as in
//! LiteRT). ROUND rounds half to even through LiteRT's own formula, which
//! turns -0.5 into +0. SIGN of NaN is NaN and of -0 is +0.

use super::broadcast::map;
use super::math::{exp, map_f32};
use crate::api::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Abs,
    Neg,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Square,
    Sin,
    Cos,
    Floor,
    Ceil,
    Round,
    Sign,
}

struct Unary {
    op: Op,
    dtype: DType,
}

fn build(spec: &OpSpec<'_>, op: Op) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    let (x, out) = (spec.input(0)?, spec.output(0)?);
    if out.dtype != x.dtype {
        return spec.unsupported("output dtype differs from input");
    }
    let ok = match x.dtype {
        DType::Float32 => true,
        DType::Int32 => matches!(op, Op::Abs | Op::Neg | Op::Sign),
        DType::Int64 => op == Op::Neg,
        DType::Int16 => op == Op::Abs,
        DType::Float64 => op == Op::Sign,
        _ => false,
    };
    if !ok {
        return spec.unsupported(format!("dtype {}", x.dtype));
    }
    if x.dtype != DType::Float32 && (x.quant.is_some() || out.quant.is_some()) {
        return spec.unsupported(format!("quantized {}", x.dtype));
    }
    Ok(Box::new(Unary { op, dtype: x.dtype }))
}

macro_rules! builders {
    ($($name:ident => $op:ident),* $(,)?) => {$(
        pub fn $name(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
            build(spec, Op::$op)
        }
    )*};
}

builders! {
    build_abs => Abs, build_neg => Neg, build_exp => Exp, build_log => Log, build_sqrt => Sqrt,
    build_rsqrt => Rsqrt, build_square => Square, build_sin => Sin, build_cos => Cos,
    build_floor => Floor, build_ceil => Ceil, build_round => Round, build_sign => Sign,
}

/// LiteRT's RoundToNearest: ties go to the even neighbour.
#[inline(always)]
pub fn round_half_even(v: f32) -> f32 {
    let f = v.floor();
    let d = v - f;
    let half = f * 0.5;
    if d < 0.5 || (d == 0.5 && half.floor() == half) {
        f
    } else {
        f + 1.0
    }
}

#[inline(always)]
fn sign_f32(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else if v.is_nan() {
        v
    } else {
        0.0
    }
}

impl Kernel for Unary {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let par = io.par;
        let out = &mut io.outputs[0];
        match self.dtype {
            DType::Float32 => {
                let (x, o) = (x.f32()?, out.f32()?);
                match self.op {
                    Op::Abs => map(par, x, o, f32::abs),
                    Op::Neg => map(par, x, o, |v| -v),
                    Op::Exp => map_f32(par, x, o, exp),
                    Op::Log => map(par, x, o, f32::ln),
                    Op::Sqrt => map_f32(par, x, o, f32::sqrt),
                    Op::Rsqrt => map_f32(par, x, o, |v| 1.0 / v.sqrt()),
                    Op::Square => map(par, x, o, |v| v * v),
                    Op::Sin => map(par, x, o, f32::sin),
                    Op::Cos => map(par, x, o, f32::cos),
                    Op::Floor => map_f32(par, x, o, f32::floor),
                    Op::Ceil => map_f32(par, x, o, f32::ceil),
                    Op::Round => map_f32(par, x, o, round_half_even),
                    Op::Sign => map_f32(par, x, o, sign_f32),
                }
            }
            DType::Int32 => {
                let (x, o) = (x.typed::<i32>()?, out.typed::<i32>()?);
                match self.op {
                    Op::Abs => map(par, x, o, i32::wrapping_abs),
                    Op::Neg => map(par, x, o, i32::wrapping_neg),
                    _ => map(par, x, o, i32::signum),
                }
            }
            DType::Int64 => map(
                par,
                x.typed::<i64>()?,
                out.typed::<i64>()?,
                i64::wrapping_neg,
            ),
            DType::Int16 => map(
                par,
                x.typed::<i16>()?,
                out.typed::<i16>()?,
                i16::wrapping_abs,
            ),
            DType::Float64 => map(par, x.typed::<f64>()?, out.typed::<f64>()?, |v| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else if v.is_nan() {
                    v
                } else {
                    0.0
                }
            }),
            other => return unsupported(format!("dtype {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision, clippy::approx_constant)] // reference values as printed
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{
        bytes_f32, f32_bytes, from_bytes, run_kernel, spec_build,
    };

    fn run_f32(build: Builder, x: &[f32]) -> Vec<f32> {
        let k = spec_build(
            build,
            "UNARY",
            BuiltinOptions::None,
            &[(DType::Float32, &[x.len()])],
            DType::Float32,
        )
        .unwrap();
        bytes_f32(
            &run_kernel(
                k.as_ref(),
                &[(DType::Float32, &[x.len()], f32_bytes(x))],
                DType::Float32,
            )
            .unwrap()
            .1,
        )
    }

    fn same(got: &[f32], want: &[f32], rel: f32) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= rel * w.abs();
            assert!(ok, "got {got:?}\nwant {want:?}");
        }
    }

    const X: [f32; 9] = [
        f32::NAN,
        f32::NEG_INFINITY,
        -2.5,
        -0.5,
        -0.0,
        0.0,
        0.5,
        1.5,
        3.0,
    ];

    #[test]
    fn float_unary_ops_match_litert() {
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        // Reference values: numpy float32 / ai_edge_litert on the same inputs.
        same(
            &run_f32(build_abs, &X),
            &[nan, inf, 2.5, 0.5, 0.0, 0.0, 0.5, 1.5, 3.0],
            0.0,
        );
        same(
            &run_f32(build_neg, &X),
            &[nan, inf, 2.5, 0.5, 0.0, -0.0, -0.5, -1.5, -3.0],
            0.0,
        );
        same(
            &run_f32(build_exp, &X),
            &[
                nan, 0.0, 0.082085, 0.60653067, 1.0, 1.0, 1.6487212, 4.481689, 20.085537,
            ],
            3e-7,
        );
        same(
            &run_f32(build_log, &X),
            &[
                nan, nan, nan, nan, -inf, -inf, -0.6931472, 0.4054651, 1.0986123,
            ],
            1e-7,
        );
        same(
            &run_f32(build_sqrt, &X),
            &[
                nan, nan, nan, nan, -0.0, 0.0, 0.70710677, 1.2247449, 1.7320508,
            ],
            0.0,
        );
        same(
            &run_f32(build_rsqrt, &X),
            &[
                nan, nan, nan, nan, -inf, inf, 1.4142135, 0.8164966, 0.57735026,
            ],
            1e-7,
        );
        same(
            &run_f32(build_square, &X),
            &[nan, inf, 6.25, 0.25, 0.0, 0.0, 0.25, 2.25, 9.0],
            0.0,
        );
        same(
            &run_f32(build_sin, &X),
            &[
                nan,
                nan,
                -0.5984721,
                -0.47942555,
                -0.0,
                0.0,
                0.47942555,
                0.997495,
                0.14112,
            ],
            1e-6,
        );
        same(
            &run_f32(build_cos, &X),
            &[
                nan, nan, -0.8011436, 0.87758255, 1.0, 1.0, 0.87758255, 0.0707372, -0.9899925,
            ],
            1e-6,
        );
        same(
            &run_f32(build_floor, &X),
            &[nan, -inf, -3.0, -1.0, -0.0, 0.0, 0.0, 1.0, 3.0],
            0.0,
        );
        same(
            &run_f32(build_ceil, &X),
            &[nan, -inf, -2.0, -0.0, -0.0, 0.0, 1.0, 2.0, 3.0],
            0.0,
        );
        same(
            &run_f32(build_round, &X),
            &[nan, -inf, -2.0, 0.0, -0.0, 0.0, 0.0, 2.0, 3.0],
            0.0,
        );
        same(
            &run_f32(build_sign, &X),
            &[nan, -1.0, -1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            0.0,
        );
        // ROUND of -0.5 is +0 in LiteRT; SIGN of -0 is +0.
        assert_eq!(
            run_f32(build_round, &[-0.5, 2.5, -3.5, 1e9 + 0.5])[..3],
            [0.0, 2.0, -4.0]
        );
        assert!(run_f32(build_round, &[-0.5])[0].is_sign_positive());
        assert!(run_f32(build_sign, &[-0.0])[0].is_sign_positive());
    }

    #[test]
    fn integer_unary_ops_wrap() {
        let k = spec_build(
            build_abs,
            "ABS",
            BuiltinOptions::None,
            &[(DType::Int32, &[3])],
            DType::Int32,
        )
        .unwrap();
        let x: Vec<u8> = bytemuck::cast_slice(&[-5i32, 7, i32::MIN]).to_vec();
        let (_, o) =
            run_kernel(k.as_ref(), &[(DType::Int32, &[3], x.clone())], DType::Int32).unwrap();
        assert_eq!(from_bytes::<i32>(&o), [5, 7, i32::MIN]);
        let k = spec_build(
            build_sign,
            "SIGN",
            BuiltinOptions::None,
            &[(DType::Int32, &[3])],
            DType::Int32,
        )
        .unwrap();
        let (_, o) = run_kernel(k.as_ref(), &[(DType::Int32, &[3], x)], DType::Int32).unwrap();
        assert_eq!(from_bytes::<i32>(&o), [-1, 1, -1]);
        let k = spec_build(
            build_neg,
            "NEG",
            BuiltinOptions::None,
            &[(DType::Int64, &[2])],
            DType::Int64,
        )
        .unwrap();
        let x: Vec<u8> = bytemuck::cast_slice(&[3i64, i64::MIN]).to_vec();
        let (_, o) = run_kernel(k.as_ref(), &[(DType::Int64, &[2], x)], DType::Int64).unwrap();
        assert_eq!(from_bytes::<i64>(&o), [-3, i64::MIN]);
        for (build, dtype) in [
            (build_exp as Builder, DType::Int32),
            (build_sqrt, DType::Int8),
            (build_neg, DType::Int16),
        ] {
            let r = spec_build(build, "U", BuiltinOptions::None, &[(dtype, &[1])], dtype);
            assert!(matches!(r, Err(KernelError::Unsupported(_))));
        }
    }
}
