//! SHAPE of a tensor whose shape is only known at run time (the planner
//! folds the static case), as INT32 or INT64 per the output dtype.

use super::util::one;
use crate::api::*;

struct Shape {
    dtype: DType,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    // ShapeOptions.out_type and the output tensor's dtype agree in valid
    // models; the tensor's dtype is what the buffer holds.
    let dtype = spec.output(0)?.dtype;
    match dtype {
        DType::Int32 | DType::Int64 => Ok(Box::new(Shape { dtype })),
        d => spec.unsupported(format!("output dtype {d}")),
    }
}

impl Kernel for Shape {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(vec![shape_input(inputs, 0)?.shape.len()])
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let shape = io.input(0)?.shape;
        let out = &mut io.outputs[0];
        match self.dtype {
            DType::Int32 => {
                for (o, &d) in out.typed::<i32>()?.iter_mut().zip(shape) {
                    *o = i32::try_from(d).map_err(|_| {
                        KernelError::InvalidInput(format!("dimension {d} exceeds INT32"))
                    })?;
                }
            }
            _ => {
                for (o, &d) in out.typed::<i64>()?.iter_mut().zip(shape) {
                    *o = d as i64;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn reports_the_runtime_shape() {
        let x = T::f32(&[4, 3], &[0.; 12]);
        let got = run_op(
            build,
            "SHAPE",
            BuiltinOptions::None,
            &[Some(x.clone())],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2]);
        assert_eq!(got[0].as_i32(), vec![4, 3]);
        let got = run_op(
            build,
            "SHAPE",
            BuiltinOptions::None,
            &[Some(x.clone())],
            &[T::out(DType::Int64)],
        )
        .unwrap();
        assert_eq!(got[0].as_i64(), vec![4, 3]);
        assert!(run_op(
            build,
            "SHAPE",
            BuiltinOptions::None,
            &[Some(x)],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }
}
