//! SLICE: `begin` and `size` (INT32 or INT64, one value per dimension);
//! a size of -1 takes the rest of the dimension. Out-of-range requests are
//! errors, as in LiteRT.

use super::strided::{strides, Dim, Views};
use super::util::{self, check_data_op, check_index_dtype, one, to_usize, values};
use crate::api::*;

struct Slice;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(3..=3, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    check_index_dtype(spec, 2, &[DType::Int32, DType::Int64])?;
    if spec.input(1)?.dtype != spec.input(2)?.dtype {
        return invalid("SLICE begin and size dtypes differ");
    }
    Ok(Box::new(Slice))
}

/// Begin and extent per dimension, or `None` while unknown.
fn plan(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<(usize, usize)>>> {
    let shape = shape_input(inputs, 0)?.shape;
    let (Some(begin), Some(size)) = (values(inputs, 1)?, values(inputs, 2)?) else {
        return Ok(None);
    };
    if begin.len() != shape.len() || size.len() != shape.len() {
        return invalid(format!(
            "SLICE begin {begin:?} and size {size:?} do not match rank {}",
            shape.len()
        ));
    }
    let mut out = Vec::with_capacity(shape.len());
    for ((&d, &b), &s) in shape.iter().zip(&begin).zip(&size) {
        let b = to_usize(b, "SLICE begin")?;
        if b > d {
            return invalid(format!("SLICE begin {b} beyond dimension {d}"));
        }
        let s = if s == -1 {
            d - b
        } else {
            to_usize(s, "SLICE size")?
        };
        if s > d - b {
            return invalid(format!("SLICE {b}+{s} beyond dimension {d}"));
        }
        out.push((b, s));
    }
    Ok(Some(out))
}

impl Kernel for Slice {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let Some(p) = plan(inputs)? else {
            return Ok(None);
        };
        one(p.iter().map(|&(_, s)| s).collect())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let p = plan(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("begin/size unknown".into()))?;
        let st = strides(x.shape);
        let offset: usize = p.iter().zip(&st).map(|(&(b, _), &s)| b * s).sum();
        let dims = p
            .iter()
            .zip(&st)
            .map(|(&(_, n), &s)| Dim::new(n, s as isize))
            .collect();
        util::run(&Views::one(offset as isize, dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn slices_with_sizes_and_minus_one() {
        // np.arange(24).reshape(2,3,4)[1:2, 0:2, 1:]
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let got = run_op(
            build,
            "SLICE",
            BuiltinOptions::None,
            &[
                Some(T::f32(&[2, 3, 4], &x)),
                Some(T::i32(&[3], &[1, 0, 1])),
                Some(T::i32(&[3], &[1, 2, -1])),
            ],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![1, 2, 3]);
        assert_eq!(got[0].as_f32(), vec![13., 14., 15., 17., 18., 19.]);
        let s = T::strs(&[4], &["w", "x", "y", "z"]);
        let got = run_op(
            build,
            "SLICE",
            BuiltinOptions::None,
            &[Some(s), Some(T::i64(&[1], &[1])), Some(T::i64(&[1], &[2]))],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(got[0].as_strs(), vec!["x", "y"]);
        for (b, s) in [
            ([0, 0, 0], [3, 1, 1]),
            ([0, 0, -1], [1, 1, 1]),
            ([0, 0, 2], [1, 1, 3]),
            ([0, 0, 0], [1, 1, -2]),
        ] {
            let r = run_op(
                build,
                "SLICE",
                BuiltinOptions::None,
                &[
                    Some(T::f32(&[2, 3, 4], &x)),
                    Some(T::i32(&[3], &b)),
                    Some(T::i32(&[3], &s)),
                ],
                &[T::out(DType::Float32)],
            );
            assert!(r.is_err(), "{b:?} {s:?}");
        }
    }
}
