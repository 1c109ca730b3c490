//! EXPAND_DIMS: inserts a size-1 dimension at the axis given by input 1
//! (one INT32/INT64 value in [-rank-1, rank]).

use super::util::{check_data_op, check_index_dtype, copy_through, one, values};
use crate::api::*;

struct ExpandDims;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    Ok(Box::new(ExpandDims))
}

impl Kernel for ExpandDims {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        let Some(axis) = values(inputs, 1)? else {
            return Ok(None);
        };
        let [axis] = axis[..] else {
            return invalid(format!(
                "EXPAND_DIMS axis must hold one value, has {}",
                axis.len()
            ));
        };
        let rank = shape.len() as i64;
        let a = if axis < 0 { axis + rank + 1 } else { axis };
        if a < 0 || a > rank {
            return invalid(format!(
                "EXPAND_DIMS axis {axis} out of range for rank {rank}"
            ));
        }
        let mut out = shape.to_vec();
        out.insert(a as usize, 1);
        one(out)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        copy_through(&x, &mut io.outputs[0])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{plan_shapes, run_op, T};
    use super::*;

    #[test]
    fn inserts_axis_with_negative_counting_from_the_end() {
        let x = T::f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let cases: &[(i32, Option<&[usize]>)] = &[
            (0, Some(&[1, 2, 3])),
            (2, Some(&[2, 3, 1])),
            (-1, Some(&[2, 3, 1])),
            (-3, Some(&[1, 2, 3])),
            (3, None),
            (-4, None),
        ];
        for &(axis, expect) in cases {
            let got = run_op(
                build,
                "EXPAND_DIMS",
                BuiltinOptions::None,
                &[Some(x.clone()), Some(T::i32(&[1], &[axis]))],
                &[T::out(DType::Float32)],
            );
            match expect {
                Some(s) => {
                    let got = got.unwrap();
                    assert_eq!(got[0].shape, s.to_vec());
                    assert_eq!(got[0].as_f32(), x.as_f32());
                }
                None => assert!(got.is_err(), "axis {axis}"),
            }
        }
        let deferred = plan_shapes(
            build,
            "EXPAND_DIMS",
            BuiltinOptions::None,
            &[Some(x), Some(T::i64(&[], &[0]))],
            &[T::out(DType::Float32)],
        );
        assert!(deferred.unwrap().is_none());
    }
}
