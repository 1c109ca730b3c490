//! UNPACK: splits a tensor into `num` slices along `axis`, dropping it.

use super::split::split_views;
use super::util::{self, check_data_op};
use crate::api::*;
use crate::common::normalize_axis;

struct Unpack {
    num: usize,
    axis: i32,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let (num, axis) = match spec.options {
        BuiltinOptions::UnpackOptions(o) => (o.num, o.axis),
        _ => (spec.outputs.len() as i32, 0),
    };
    if num as usize != spec.outputs.len() {
        return invalid(format!(
            "UNPACK num {num} with {} outputs",
            spec.outputs.len()
        ));
    }
    spec.expect_arity(1..=1, num as usize)?;
    check_data_op(spec, 0, true)?;
    Ok(Box::new(Unpack {
        num: num as usize,
        axis,
    }))
}

impl Unpack {
    fn plan(&self, shape: &[usize]) -> KResult<usize> {
        let a = normalize_axis(self.axis as i64, shape.len())?;
        if shape.is_empty() || shape[a] != self.num {
            return invalid(format!(
                "UNPACK of {} along axis {a} of {shape:?}",
                self.num
            ));
        }
        Ok(a)
    }
}

impl Kernel for Unpack {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        let a = self.plan(shape)?;
        let mut out = shape.to_vec();
        out.remove(a);
        Ok(Some(vec![out; self.num]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let a = self.plan(x.shape)?;
        util::run(
            &split_views(x.shape, a, &vec![1; self.num])?,
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
    use ferrite_format::options::UnpackOptions;

    #[test]
    fn unstacks_along_an_axis() {
        let x = T::f32(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let opts = BuiltinOptions::UnpackOptions(UnpackOptions { num: 3, axis: -1 });
        let outs = vec![T::out(DType::Float32); 3];
        let got = run_op(build, "UNPACK", opts, &[Some(x.clone())], &outs).unwrap();
        assert_eq!(got[0].shape, vec![2]);
        assert_eq!(got[0].as_f32(), vec![1., 4.]);
        assert_eq!(got[2].as_f32(), vec![3., 6.]);
        let opts = BuiltinOptions::UnpackOptions(UnpackOptions { num: 3, axis: 0 });
        assert!(run_op(build, "UNPACK", opts, &[Some(x)], &outs).is_err());
    }
}
