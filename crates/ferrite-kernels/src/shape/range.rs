//! RANGE(start, limit, delta) over INT32, INT64 or FLOAT32 scalars. The
//! length is ceil(|limit - start| / |delta|) and values accumulate
//! `value += delta` as LiteRT does (so float rounding matches).

use super::util::one;
use crate::api::*;

struct Range {
    dtype: DType,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(3..=3, 1)?;
    let dtype = spec.input(0)?.dtype;
    for i in 1..3 {
        if spec.input(i)?.dtype != dtype {
            return invalid("RANGE inputs differ in dtype");
        }
    }
    if spec.output(0)?.dtype != dtype {
        return invalid("RANGE output dtype differs from its inputs");
    }
    match dtype {
        DType::Int32 | DType::Int64 | DType::Float32 => Ok(Box::new(Range { dtype })),
        d => spec.unsupported(format!("dtype {d}")),
    }
}

/// A scalar input as f64 (exact for the integer dtypes used here).
fn scalar(inputs: &[Option<ShapeArg<'_>>], i: usize) -> KResult<Option<f64>> {
    let a = shape_input(inputs, i)?;
    if !a.shape.is_empty() {
        return invalid("RANGE inputs must be scalars");
    }
    let Some(v) = a.value else { return Ok(None) };
    Ok(Some(
        match a.dtype {
            DType::Float32 => v
                .get(..4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            _ => super::util::ints(a.dtype, v)?.first().map(|&x| x as f64),
        }
        .ok_or_else(|| KernelError::InvalidInput("RANGE input is empty".into()))?,
    ))
}

impl Range {
    fn len(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<usize>> {
        let (Some(start), Some(limit), Some(delta)) =
            (scalar(inputs, 0)?, scalar(inputs, 1)?, scalar(inputs, 2)?)
        else {
            return Ok(None);
        };
        if delta == 0.0 || !((start >= limit && delta < 0.0) || (start <= limit && delta > 0.0)) {
            return invalid(format!(
                "RANGE({start}, {limit}, {delta}) is empty or endless"
            ));
        }
        let n = if self.dtype == DType::Float32 {
            let (s, l, d) = (start as f32, limit as f32, delta as f32);
            ((l - s) / d).abs().ceil() as f64
        } else {
            let (s, l, d) = (start as i128, limit as i128, delta as i128);
            ((l - s).abs() + d.abs() - 1).div_euclid(d.abs()) as f64
        };
        if !n.is_finite() || n > (i32::MAX as f64) {
            return invalid(format!("RANGE({start}, {limit}, {delta}) is too long"));
        }
        Ok(Some(n as usize))
    }
}

impl Kernel for Range {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        match self.len(inputs)? {
            Some(n) => one(vec![n]),
            None => Ok(None),
        }
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (start, delta) = (io.input(0)?, io.input(2)?);
        let out = &mut io.outputs[0];
        match self.dtype {
            DType::Float32 => {
                let (mut v, d) = (start.f32()?[0], delta.f32()?[0]);
                for o in out.f32()? {
                    *o = v;
                    v += d;
                }
            }
            DType::Int32 => {
                let (mut v, d) = (start.typed::<i32>()?[0], delta.typed::<i32>()?[0]);
                for o in out.typed::<i32>()? {
                    *o = v;
                    v = v.wrapping_add(d);
                }
            }
            _ => {
                let (mut v, d) = (start.typed::<i64>()?[0], delta.typed::<i64>()?[0]);
                for o in out.typed::<i64>()? {
                    *o = v;
                    v = v.wrapping_add(d);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn counts_and_accumulates_like_litert() {
        let got = run_op(
            build,
            "RANGE",
            BuiltinOptions::None,
            &[
                Some(T::i32(&[], &[3])),
                Some(T::i32(&[], &[-4])),
                Some(T::i32(&[], &[-3])),
            ],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(got[0].as_i32(), vec![3, 0, -3]);
        let got = run_op(
            build,
            "RANGE",
            BuiltinOptions::None,
            &[
                Some(T::f32(&[], &[0.0])),
                Some(T::f32(&[], &[1.0])),
                Some(T::f32(&[], &[0.1])),
            ],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        // ceil(1.0 / 0.1) in f32 is 10; the last value is ten f32 additions of 0.1 minus one.
        assert_eq!(got[0].shape, vec![10]);
        let mut acc = 0.0f32;
        for v in got[0].as_f32() {
            assert_eq!(v, acc);
            acc += 0.1;
        }
        let got = run_op(
            build,
            "RANGE",
            BuiltinOptions::None,
            &[
                Some(T::i64(&[], &[5])),
                Some(T::i64(&[], &[5])),
                Some(T::i64(&[], &[1])),
            ],
            &[T::out(DType::Int64)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![0]);
        for (s, l, d) in [(0, 5, 0), (0, 5, -1), (5, 0, 1)] {
            let r = run_op(
                build,
                "RANGE",
                BuiltinOptions::None,
                &[
                    Some(T::i32(&[], &[s])),
                    Some(T::i32(&[], &[l])),
                    Some(T::i32(&[], &[d])),
                ],
                &[T::out(DType::Int32)],
            );
            assert!(r.is_err(), "{s} {l} {d}");
        }
    }
}
