//! SPLIT: input 0 is the axis (one INT32 value), input 1 the tensor, cut
//! into `num_splits` equal parts along the axis.

use super::strided::{Dim, Views};
use super::util::{self, check_index_dtype, check_movable, check_same_quant, elements, values};
use crate::api::*;
use crate::common::normalize_axis;

struct Split {
    num: usize,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let num = match spec.options {
        BuiltinOptions::SplitOptions(o) => o.num_splits,
        _ => spec.outputs.len() as i32,
    };
    if num < 1 || num as usize != spec.outputs.len() {
        return invalid(format!(
            "SPLIT num_splits {num} with {} outputs",
            spec.outputs.len()
        ));
    }
    spec.expect_arity(2..=2, num as usize)?;
    check_index_dtype(spec, 0, &[DType::Int32, DType::Int64])?;
    check_movable(spec, spec.input(1)?, true)?;
    for o in spec.outputs {
        check_same_quant(spec, spec.input(1)?, o)?;
    }
    Ok(Box::new(Split { num: num as usize }))
}

/// Reads a one-value axis input and normalises it against `rank`.
pub fn axis_value(
    inputs: &[Option<ShapeArg<'_>>],
    i: usize,
    rank: usize,
) -> KResult<Option<usize>> {
    let Some(v) = values(inputs, i)? else {
        return Ok(None);
    };
    let [a] = v[..] else {
        return invalid(format!("axis input must hold one value, has {}", v.len()));
    };
    normalize_axis(a, rank).map(Some)
}

/// One view per output for cutting `shape` along `axis` into `sizes`.
pub fn split_views(shape: &[usize], axis: usize, sizes: &[usize]) -> KResult<Views> {
    let outer = elements(&shape[..axis])?;
    let inner = elements(&shape[axis + 1..])?;
    let row = shape[axis] * inner;
    let mut at = 0;
    let mut views = Vec::with_capacity(sizes.len());
    for &s in sizes {
        views.push((
            at as isize,
            vec![Dim::new(outer, row as isize), Dim::new(s * inner, 1)],
        ));
        at += s * inner;
    }
    Ok(Views(views))
}

impl Split {
    fn plan(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<(usize, Vec<usize>)>> {
        let shape = shape_input(inputs, 1)?.shape;
        let Some(axis) = axis_value(inputs, 0, shape.len())? else {
            return Ok(None);
        };
        if shape[axis] % self.num != 0 {
            return invalid(format!(
                "SPLIT cannot cut dimension {} into {} parts",
                shape[axis], self.num
            ));
        }
        Ok(Some((axis, vec![shape[axis] / self.num; self.num])))
    }
}

impl Kernel for Split {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 1)?.shape;
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
        let x = io.input(1)?;
        let (axis, sizes) = self
            .plan(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("axis unknown".into()))?;
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
    use ferrite_format::options::SplitOptions;

    #[test]
    fn splits_evenly_along_the_axis() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let opts = BuiltinOptions::SplitOptions(SplitOptions { num_splits: 2 });
        let outs = [T::out(DType::Float32), T::out(DType::Float32)];
        let got = run_op(
            build,
            "SPLIT",
            opts.clone(),
            &[Some(T::i32(&[], &[-1])), Some(T::f32(&[3, 4], &x))],
            &outs,
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![3, 2]);
        assert_eq!(got[0].as_f32(), vec![0., 1., 4., 5., 8., 9.]);
        assert_eq!(got[1].as_f32(), vec![2., 3., 6., 7., 10., 11.]);
        assert!(run_op(
            build,
            "SPLIT",
            opts.clone(),
            &[Some(T::i32(&[], &[0])), Some(T::f32(&[3, 4], &x))],
            &outs
        )
        .is_err());
        assert!(run_op(
            build,
            "SPLIT",
            opts,
            &[Some(T::i32(&[], &[2])), Some(T::f32(&[3, 4], &x))],
            &outs
        )
        .is_err());
    }
}
