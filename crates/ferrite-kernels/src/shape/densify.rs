//! DENSIFY. The graph layer already expands sparse constants to dense
//! data, so this copies its (dense) input after checking that it holds
//! every element of its shape.

use super::util::{check_data_op, copy_through, elements, one};
use crate::api::*;

struct Densify;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    check_data_op(spec, 0, false)?;
    let x = spec.input(0)?;
    if let (Some(data), Some(size)) = (x.data, x.dtype.element_size()) {
        let want = elements(x.shape)?.checked_mul(size);
        if want != Some(data.len()) {
            return invalid(format!(
                "DENSIFY input holds {} bytes, its shape {:?} needs {want:?}",
                data.len(),
                x.shape
            ));
        }
    }
    Ok(Box::new(Densify))
}

impl Kernel for Densify {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(shape_input(inputs, 0)?.shape.to_vec())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        copy_through(&x, &mut io.outputs[0])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn copies_dense_data_and_rejects_short_constants() {
        let x = T::f32(&[2, 2], &[1.0, 0.0, 0.0, 4.0]).konst();
        let out = run_op(
            build,
            "DENSIFY",
            BuiltinOptions::None,
            &[Some(x.clone())],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![2, 2]);
        assert_eq!(out[0].as_f32(), x.as_f32());
        let short = T::f32(&[2, 3], &[1.0, 2.0]).konst();
        assert!(run_op(
            build,
            "DENSIFY",
            BuiltinOptions::None,
            &[Some(short)],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }
}
