//! ZEROS_LIKE: zeros of the input's shape and dtype.

use super::util::{check_data_op, one};
use crate::api::*;

struct ZerosLike;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    check_data_op(spec, 0, false)?;
    Ok(Box::new(ZerosLike))
}

impl Kernel for ZerosLike {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(shape_input(inputs, 0)?.shape.to_vec())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        io.outputs[0].bytes_mut().fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn zeros_of_the_input_shape() {
        let got = run_op(
            build,
            "ZEROS_LIKE",
            BuiltinOptions::None,
            &[Some(T::i64(&[2, 1], &[5, -3]))],
            &[T::out(DType::Int64)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 1]);
        assert_eq!(got[0].as_i64(), vec![0, 0]);
        assert!(run_op(
            build,
            "ZEROS_LIKE",
            BuiltinOptions::None,
            &[Some(T::strs(&[1], &["a"]))],
            &[T::out(DType::String)]
        )
        .is_err());
    }
}
