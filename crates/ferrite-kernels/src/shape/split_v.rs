//! SPLIT_V: input 0 is the tensor, input 1 the 1-D part sizes (one may be
//! -1, taking the remainder), input 2 the axis.

use super::split::{axis_value, split_views};
use super::util::{self, check_index_dtype, check_movable, check_same_quant, to_usize, values};
use crate::api::*;

struct SplitV {
    num: usize,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let num = spec.outputs.len();
    if let BuiltinOptions::SplitVOptions(o) = spec.options {
        if o.num_splits as usize != num {
            return invalid(format!(
                "SPLIT_V num_splits {} with {num} outputs",
                o.num_splits
            ));
        }
    }
    spec.expect_arity(3..=3, num)?;
    check_movable(spec, spec.input(0)?, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    check_index_dtype(spec, 2, &[DType::Int32, DType::Int64])?;
    for o in spec.outputs {
        check_same_quant(spec, spec.input(0)?, o)?;
    }
    Ok(Box::new(SplitV { num }))
}

impl SplitV {
    fn plan(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<(usize, Vec<usize>)>> {
        let shape = shape_input(inputs, 0)?.shape;
        let Some(axis) = axis_value(inputs, 2, shape.len())? else {
            return Ok(None);
        };
        let Some(raw) = values(inputs, 1)? else {
            return Ok(None);
        };
        if raw.len() != self.num {
            return invalid(format!(
                "SPLIT_V has {} sizes for {} outputs",
                raw.len(),
                self.num
            ));
        }
        let mut fill = None;
        let mut known = 0usize;
        for (i, &s) in raw.iter().enumerate() {
            if s == -1 && fill.is_none() {
                fill = Some(i);
            } else {
                known = known
                    .checked_add(to_usize(s, "SPLIT_V size")?)
                    .ok_or_else(|| KernelError::InvalidInput("SPLIT_V sizes overflow".into()))?;
            }
        }
        let dim = shape[axis];
        let mut sizes: Vec<usize> = raw.iter().map(|&s| s.max(0) as usize).collect();
        match fill {
            Some(i) if known <= dim => sizes[i] = dim - known,
            None if known == dim => {}
            _ => return invalid(format!("SPLIT_V sizes {raw:?} do not add up to {dim}")),
        }
        Ok(Some((axis, sizes)))
    }
}

impl Kernel for SplitV {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        let Some((axis, sizes)) = self.plan(inputs)? else {
            return Ok(None);
        };
        Ok(Some(
            sizes
                .iter()
                .map(|&s| {
                    let mut o = shape.to_vec();
                    o[axis] = s;
                    o
                })
                .collect(),
        ))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let (axis, sizes) = self
            .plan(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("sizes unknown".into()))?;
        util::run(
            &split_views(x.shape, axis, &sizes)?,
            &[x],
            io.outputs,
            io.par,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn splits_by_sizes_with_one_inferred() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let outs = [
            T::out(DType::Float32),
            T::out(DType::Float32),
            T::out(DType::Float32),
        ];
        let got = run_op(
            build,
            "SPLIT_V",
            BuiltinOptions::None,
            &[
                Some(T::f32(&[2, 6], &x)),
                Some(T::i32(&[3], &[1, -1, 3])),
                Some(T::i32(&[], &[1])),
            ],
            &outs,
        )
        .unwrap();
        assert_eq!(got[1].shape, vec![2, 2]);
        assert_eq!(got[0].as_f32(), vec![0., 6.]);
        assert_eq!(got[1].as_f32(), vec![1., 2., 7., 8.]);
        assert_eq!(got[2].as_f32(), vec![3., 4., 5., 9., 10., 11.]);
        for sizes in [&[1, 1, 1][..], &[-1, -1, 6], &[4, 4, -1], &[-2, 4, 4]] {
            let r = run_op(
                build,
                "SPLIT_V",
                BuiltinOptions::None,
                &[
                    Some(T::f32(&[2, 6], &x)),
                    Some(T::i32(&[3], sizes)),
                    Some(T::i32(&[], &[1])),
                ],
                &outs,
            );
            assert!(r.is_err(), "{sizes:?}");
        }
    }
}
