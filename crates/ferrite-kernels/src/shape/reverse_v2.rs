//! REVERSE_V2: reverses the listed axes (1-D INT32, negative from the end)
//! by reading them with negative strides. Unlike LiteRT, non-adjacent axes
//! are accepted too; repeated axes are an error.

use super::strided::{strides, Dim, Views};
use super::util::{self, check_data_op, check_index_dtype, one, values};
use crate::api::*;
use crate::common::normalize_axis;

struct ReverseV2;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    Ok(Box::new(ReverseV2))
}

fn reversed(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<bool>>> {
    let rank = shape_input(inputs, 0)?.shape.len();
    if shape_input(inputs, 1)?.shape.len() != 1 {
        return invalid("REVERSE_V2 axes must be 1-D");
    }
    let Some(axes) = values(inputs, 1)? else {
        return Ok(None);
    };
    let mut flip = vec![false; rank];
    for &a in &axes {
        let a = normalize_axis(a, rank)?;
        if rank == 0 || std::mem::replace(&mut flip[a], true) {
            return invalid(format!(
                "REVERSE_V2 axes {axes:?} are invalid for rank {rank}"
            ));
        }
    }
    Ok(Some(flip))
}

impl Kernel for ReverseV2 {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        reversed(inputs)?;
        one(shape_input(inputs, 0)?.shape.to_vec())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let flip = reversed(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("axes unknown".into()))?;
        let st = strides(x.shape);
        let mut offset = 0isize;
        let mut dims = Vec::with_capacity(x.shape.len());
        for ((&n, &s), &f) in x.shape.iter().zip(&st).zip(&flip) {
            if f && n > 0 {
                offset += ((n - 1) * s) as isize;
                dims.push(Dim::new(n, -(s as isize)));
            } else {
                dims.push(Dim::new(n, s as isize));
            }
        }
        util::run(&Views::one(offset, dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn reverses_one_or_more_axes() {
        let x = T::i32(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let cases: &[(&[i32], &[i32])] = &[
            (&[1], &[3, 2, 1, 6, 5, 4]),
            (&[0], &[4, 5, 6, 1, 2, 3]),
            (&[-1, 0], &[6, 5, 4, 3, 2, 1]),
            (&[], &[1, 2, 3, 4, 5, 6]),
        ];
        for &(axes, expect) in cases {
            let got = run_op(
                build,
                "REVERSE_V2",
                BuiltinOptions::None,
                &[Some(x.clone()), Some(T::i32(&[axes.len()], axes))],
                &[T::out(DType::Int32)],
            )
            .unwrap();
            assert_eq!(got[0].as_i32(), expect.to_vec(), "{axes:?}");
        }
        for axes in [&[2][..], &[1, -1]] {
            let r = run_op(
                build,
                "REVERSE_V2",
                BuiltinOptions::None,
                &[Some(x.clone()), Some(T::i32(&[axes.len()], axes))],
                &[T::out(DType::Int32)],
            );
            assert!(r.is_err(), "{axes:?}");
        }
    }
}
