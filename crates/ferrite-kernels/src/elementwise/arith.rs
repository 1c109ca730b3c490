//! MINIMUM, MAXIMUM, POW, SQUARED_DIFFERENCE, FLOOR_DIV and FLOOR_MOD with
//! NumPy broadcasting.
//!
//! LiteRT semantics: MAXIMUM is `a > b ? a : b` and MINIMUM `a < b ? a : b`
//! (so a NaN in `b` wins, a NaN in `a` loses); FLOOR_DIV is
//! `floor(double(a) / double(b))` and rejects any zero divisor, float or
//! integer; FLOOR_MOD is C's `fmod`/`%` moved to the divisor's sign and
//! rejects zero divisors only for integers; integer POW rejects negative
//! exponents. Integer overflow wraps.

use super::broadcast::binary;
use crate::api::*;
use crate::common::broadcast_shapes;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Minimum,
    Maximum,
    Pow,
    SquaredDifference,
    FloorDiv,
    FloorMod,
}

struct Arith {
    op: Op,
    dtype: DType,
}

fn build(spec: &OpSpec<'_>, op: Op) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let (a, b, out) = (spec.input(0)?, spec.input(1)?, spec.output(0)?);
    let dtype = a.dtype;
    if b.dtype != dtype || out.dtype != dtype {
        return spec.unsupported("mixed input/output dtypes");
    }
    use DType::*;
    let ok = match op {
        Op::Minimum | Op::Maximum => {
            matches!(dtype, Float32 | Int32 | Int64 | Int16 | Int8 | Uint8)
        }
        Op::Pow | Op::SquaredDifference => matches!(dtype, Float32 | Int32),
        Op::FloorDiv | Op::FloorMod => matches!(dtype, Float32 | Int32 | Int64),
    };
    if !ok {
        return spec.unsupported(format!("dtype {dtype}"));
    }
    if dtype != Float32 {
        let quantized = a.quant.is_some() || b.quant.is_some() || out.quant.is_some();
        // Min/max of quantized values is exact on the raw integers only when
        // all three tensors share one quantization.
        let raw_ok =
            matches!(op, Op::Minimum | Op::Maximum) && a.quant == b.quant && a.quant == out.quant;
        if quantized && !raw_ok {
            return spec.unsupported(format!("quantized {dtype} with requantization"));
        }
    }
    Ok(Box::new(Arith { op, dtype }))
}

pub fn build_minimum(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Op::Minimum)
}
pub fn build_maximum(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Op::Maximum)
}
pub fn build_pow(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Op::Pow)
}
pub fn build_squared_difference(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Op::SquaredDifference)
}
pub fn build_floor_div(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Op::FloorDiv)
}
pub fn build_floor_mod(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Op::FloorMod)
}

#[inline(always)]
fn float_floor_mod(p: f32, q: f32) -> f32 {
    let r = p % q;
    if r != 0.0 && ((q < 0.0) != (r < 0.0)) {
        r + q
    } else {
        r
    }
}

/// Evaluates `op` on one integer type.
macro_rules! int_eval {
    ($t:ty, $op:expr, $io:ident) => {{
        let a = $io.input(0)?;
        let b = $io.input(1)?;
        let (x, y) = (a.typed::<$t>()?, b.typed::<$t>()?);
        if matches!($op, Op::FloorDiv | Op::FloorMod) && y.contains(&0) {
            return invalid("division by zero");
        }
        if $op == Op::Pow && y.iter().any(|&e| e < 0) {
            return invalid(format!(
                "POW does not support negative exponents for {}",
                a.dtype
            ));
        }
        let out = &mut $io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.typed::<$t>()?;
        let par = $io.par;
        match $op {
            Op::Minimum => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                if p < q {
                    p
                } else {
                    q
                }
            }),
            Op::Maximum => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                if p > q {
                    p
                } else {
                    q
                }
            }),
            Op::SquaredDifference => {
                binary(par, x, a.shape, y, b.shape, o, &shape, |p: $t, q: $t| {
                    let d = p.wrapping_sub(q);
                    d.wrapping_mul(d)
                })
            }
            Op::Pow => binary(
                par,
                x,
                a.shape,
                y,
                b.shape,
                o,
                &shape,
                |base: $t, exp: $t| {
                    let (mut base, mut exp, mut acc) = (base, exp, 1 as $t);
                    while exp > 0 {
                        if exp & 1 == 1 {
                            acc = acc.wrapping_mul(base);
                        }
                        base = base.wrapping_mul(base);
                        exp >>= 1;
                    }
                    acc
                },
            ),
            Op::FloorDiv => binary(par, x, a.shape, y, b.shape, o, &shape, |p: $t, q: $t| {
                let d = p.wrapping_div(q);
                if p.wrapping_rem(q) != 0 && ((p < 0) != (q < 0)) {
                    d - 1
                } else {
                    d
                }
            }),
            Op::FloorMod => binary(par, x, a.shape, y, b.shape, o, &shape, |p: $t, q: $t| {
                let r = p.wrapping_rem(q);
                if r != 0 && ((q < 0) != (r < 0)) {
                    r.wrapping_add(q)
                } else {
                    r
                }
            }),
        }
    }};
}

impl Kernel for Arith {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let b = shape_input(inputs, 1)?;
        Ok(Some(vec![broadcast_shapes(a.shape, b.shape)?]))
    }

    // The integer macro is shared with uint8, where sign tests are moot.
    #[allow(unused_comparisons)]
    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        match self.dtype {
            DType::Float32 => {
                let a = io.input(0)?;
                let b = io.input(1)?;
                let (x, y) = (a.f32()?, b.f32()?);
                if self.op == Op::FloorDiv && y.contains(&0.0) {
                    return invalid("division by zero");
                }
                let out = &mut io.outputs[0];
                let shape = out.shape.to_vec();
                let o = out.f32()?;
                let par = io.par;
                match self.op {
                    Op::Minimum => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        if p < q {
                            p
                        } else {
                            q
                        }
                    }),
                    Op::Maximum => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        if p > q {
                            p
                        } else {
                            q
                        }
                    }),
                    Op::SquaredDifference => {
                        binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                            (p - q) * (p - q)
                        })
                    }
                    Op::Pow => binary(par, x, a.shape, y, b.shape, o, &shape, f32::powf),
                    Op::FloorDiv => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        ((p as f64) / (q as f64)).floor() as f32
                    }),
                    Op::FloorMod => binary(par, x, a.shape, y, b.shape, o, &shape, float_floor_mod),
                }
            }
            DType::Int32 => int_eval!(i32, self.op, io),
            DType::Int64 => int_eval!(i64, self.op, io),
            DType::Int16 => int_eval!(i16, self.op, io),
            DType::Int8 => int_eval!(i8, self.op, io),
            DType::Uint8 => int_eval!(u8, self.op, io),
            other => return unsupported(format!("dtype {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{from_bytes, run_kernel, spec_build};

    fn run<T: bytemuck::Pod>(
        build: Builder,
        dtype: DType,
        a: (&[usize], &[T]),
        b: (&[usize], &[T]),
    ) -> KResult<Vec<T>> {
        let k = spec_build(
            build,
            "ARITH",
            BuiltinOptions::None,
            &[(dtype, a.0), (dtype, b.0)],
            dtype,
        )?;
        let (_, o) = run_kernel(
            k.as_ref(),
            &[
                (dtype, a.0, bytemuck::cast_slice(a.1).to_vec()),
                (dtype, b.0, bytemuck::cast_slice(b.1).to_vec()),
            ],
            dtype,
        )?;
        Ok(from_bytes(&o))
    }

    #[test]
    fn floor_div_and_mod_follow_litert() {
        // Expected values from ai_edge_litert 2.3.0.
        let a = [7, -7, 7, -7, 0, i32::MIN];
        let b = [2, 2, -2, -2, 3, -1];
        assert_eq!(
            run(build_floor_div, DType::Int32, (&[6], &a), (&[6], &b)).unwrap(),
            [3, -4, -4, 3, 0, i32::MIN]
        );
        assert_eq!(
            run(build_floor_mod, DType::Int32, (&[6], &a), (&[6], &b)).unwrap(),
            [1, 1, -1, -1, 0, 0]
        );
        assert_eq!(
            run(
                build_floor_mod,
                DType::Int64,
                (&[2], &[7i64, -7]),
                (&[], &[-3i64])
            )
            .unwrap(),
            [-2, -1]
        );
        for build in [build_floor_div, build_floor_mod] {
            let err = run(build, DType::Int32, (&[2], &[1, 2]), (&[2], &[1, 0]));
            assert!(matches!(err, Err(KernelError::InvalidInput(_))));
        }
        assert!(run(
            build_floor_div,
            DType::Float32,
            (&[1], &[1.0f32]),
            (&[1], &[-0.0f32])
        )
        .is_err());

        let af = [7.0f32, -7.0, 5.5, f32::INFINITY, 1.0, -1.0, 7.5, -7.5];
        let bf = [
            2.0f32,
            2.0,
            -0.5,
            3.0,
            f32::INFINITY,
            f32::INFINITY,
            2.5,
            2.5,
        ];
        let d = run(build_floor_div, DType::Float32, (&[8], &af), (&[8], &bf)).unwrap();
        assert_eq!(d, [3.0, -4.0, -11.0, f32::INFINITY, 0.0, -0.0, 3.0, -3.0]);
        let m = run(build_floor_mod, DType::Float32, (&[8], &af), (&[8], &bf)).unwrap();
        let want = [1.0, 1.0, 0.0, f32::NAN, 1.0, f32::INFINITY, 0.0, -0.0];
        for (g, w) in m.iter().zip(want) {
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{m:?}"
            );
        }
        // A float zero divisor is allowed for FLOOR_MOD and gives NaN.
        assert!(run(
            build_floor_mod,
            DType::Float32,
            (&[1], &[1.0f32]),
            (&[1], &[0.0f32])
        )
        .unwrap()[0]
            .is_nan());
    }

    #[test]
    fn min_max_nan_order_and_broadcast() {
        let a = [f32::NAN, 1.0, 0.0, -0.0];
        let b = [1.0, f32::NAN, -0.0, 0.0];
        let mx = run(build_maximum, DType::Float32, (&[4], &a), (&[4], &b)).unwrap();
        assert_eq!(mx[0], 1.0);
        assert!(mx[1].is_nan());
        assert_eq!(
            (mx[2].to_bits(), mx[3].to_bits()),
            ((-0.0f32).to_bits(), 0.0f32.to_bits())
        );
        let mn = run(
            build_minimum,
            DType::Int32,
            (&[2, 2], &[1, 5, -3, 9]),
            (&[2], &[2, 4]),
        )
        .unwrap();
        assert_eq!(mn, [1, 4, -3, 4]);
        let mx = run(
            build_maximum,
            DType::Uint8,
            (&[3], &[1u8, 200, 7]),
            (&[], &[100u8]),
        )
        .unwrap();
        assert_eq!(mx, [100, 200, 100]);
    }

    #[test]
    fn pow_and_squared_difference() {
        let p = run(
            build_pow,
            DType::Int32,
            (&[5], &[2, -3, 0, 5, 2]),
            (&[5], &[3, 3, 0, 0, 31]),
        )
        .unwrap();
        assert_eq!(p, [8, -27, 1, 1, i32::MIN]);
        assert!(run(build_pow, DType::Int32, (&[1], &[2]), (&[1], &[-1])).is_err());
        let p = run(
            build_pow,
            DType::Float32,
            (&[3], &[2.0f32, -8.0, 0.0]),
            (&[3], &[0.5f32, 1.0 / 3.0, -1.0]),
        )
        .unwrap();
        assert_eq!(p[0], std::f32::consts::SQRT_2);
        assert!(p[1].is_nan());
        assert_eq!(p[2], f32::INFINITY);
        let s = run(
            build_squared_difference,
            DType::Int32,
            (&[3], &[5, -3, 0]),
            (&[3], &[1, 4, 0]),
        )
        .unwrap();
        assert_eq!(s, [16, 49, 0]);
        // No clamp: overflow stays infinite.
        let s = run(
            build_squared_difference,
            DType::Float32,
            (&[2], &[3e38f32, 1.0]),
            (&[], &[-3e38f32]),
        )
        .unwrap();
        assert_eq!(s, [f32::INFINITY; 2]);
    }

    #[test]
    fn unsupported_dtypes_are_reported() {
        let r = spec_build(
            build_pow,
            "POW",
            BuiltinOptions::None,
            &[(DType::Int64, &[1]), (DType::Int64, &[1])],
            DType::Int64,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
        let r = spec_build(
            build_floor_div,
            "FLOOR_DIV",
            BuiltinOptions::None,
            &[(DType::Int8, &[1]), (DType::Int8, &[1])],
            DType::Int8,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }
}
