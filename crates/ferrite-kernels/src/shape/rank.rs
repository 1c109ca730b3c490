//! RANK: the input's number of dimensions as an INT32 scalar.

use super::util::one;
use crate::api::*;

struct Rank;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    match spec.output(0)?.dtype {
        DType::Int32 => Ok(Box::new(Rank)),
        d => spec.unsupported(format!("output dtype {d}")),
    }
}

impl Kernel for Rank {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        shape_input(inputs, 0)?;
        one(Vec::new())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let rank = io.input(0)?.shape.len() as i32;
        io.outputs[0].typed::<i32>()?.fill(rank);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn counts_dimensions() {
        let got = run_op(
            build,
            "RANK",
            BuiltinOptions::None,
            &[Some(T::f32(&[2, 1, 3], &[0.; 6]))],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert!(got[0].shape.is_empty());
        assert_eq!(got[0].as_i32(), vec![3]);
    }
}
