//! FILL: a tensor of shape `dims` (input 0) holding the scalar `value`
//! (input 1) everywhere; the output takes the value's dtype, STRING too.

use bytemuck::Pod;

use super::util::{
    self, check_index_dtype, check_movable, check_same_quant, one, to_usize, values, Movement,
};
use crate::api::*;
use crate::parallel::Parallel;

struct Fill;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_index_dtype(spec, 0, &[DType::Int32, DType::Int64])?;
    check_movable(spec, spec.input(1)?, true)?;
    check_same_quant(spec, spec.input(1)?, spec.output(0)?)?;
    Ok(Box::new(Fill))
}

/// Repeats the first input element over the output.
struct Repeat;

impl Movement for Repeat {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        _: &Parallel,
    ) -> KResult<()> {
        match ins.first().and_then(|v| v.first()) {
            Some(&v) => outs[0].fill(v),
            None if outs[0].is_empty() => {}
            None => return invalid("FILL value is empty"),
        }
        Ok(())
    }
}

impl Kernel for Fill {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        if !shape_input(inputs, 1)?.shape.is_empty() {
            return invalid("FILL value must be a scalar");
        }
        if shape_input(inputs, 0)?.shape.len() != 1 {
            return invalid("FILL dims must be 1-D");
        }
        let Some(dims) = values(inputs, 0)? else {
            return Ok(None);
        };
        one(dims
            .iter()
            .map(|&d| to_usize(d, "FILL dimension"))
            .collect::<KResult<_>>()?)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let v = io.input(1)?;
        util::run(&Repeat, &[v], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{plan_shapes, run_op, T};
    use super::*;

    #[test]
    fn fills_numbers_and_strings() {
        let got = run_op(
            build,
            "FILL",
            BuiltinOptions::None,
            &[Some(T::i32(&[2], &[2, 3])), Some(T::f32(&[], &[1.5]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 3]);
        assert_eq!(got[0].as_f32(), vec![1.5; 6]);
        let got = run_op(
            build,
            "FILL",
            BuiltinOptions::None,
            &[Some(T::i64(&[1], &[3])), Some(T::strs(&[], &["ab"]))],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(got[0].as_strs(), vec!["ab", "ab", "ab"]);
        assert!(run_op(
            build,
            "FILL",
            BuiltinOptions::None,
            &[Some(T::i32(&[1], &[-1])), Some(T::f32(&[], &[0.]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
        assert!(run_op(
            build,
            "FILL",
            BuiltinOptions::None,
            &[Some(T::i32(&[1], &[2])), Some(T::f32(&[1], &[0.]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
        let deferred = plan_shapes(
            build,
            "FILL",
            BuiltinOptions::None,
            &[Some(T::i32(&[1], &[2])), Some(T::f32(&[], &[0.]))],
            &[T::out(DType::Float32)],
        );
        assert!(deferred.unwrap().is_none());
    }
}
