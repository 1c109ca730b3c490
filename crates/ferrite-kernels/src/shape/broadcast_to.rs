//! BROADCAST_TO: NumPy-style broadcast of the input to the shape given by
//! input 1 (INT32/INT64). Broadcast dimensions read with stride 0.

use super::strided::{strides, Dim, Views};
use super::util::{self, check_data_op, check_index_dtype, one, to_usize, values};
use crate::api::*;

struct BroadcastTo;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    Ok(Box::new(BroadcastTo))
}

fn target(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<usize>>> {
    let shape = shape_input(inputs, 0)?.shape;
    if shape_input(inputs, 1)?.shape.len() != 1 {
        return invalid("BROADCAST_TO shape must be 1-D");
    }
    let Some(t) = values(inputs, 1)? else {
        return Ok(None);
    };
    let t: Vec<usize> = t
        .iter()
        .map(|&v| to_usize(v, "BROADCAST_TO dimension"))
        .collect::<KResult<_>>()?;
    if shape.len() > t.len() {
        return invalid(format!("cannot broadcast {shape:?} to {t:?}"));
    }
    let ext = t.len() - shape.len();
    if shape.iter().zip(&t[ext..]).any(|(&d, &o)| d != 1 && d != o) {
        return invalid(format!("cannot broadcast {shape:?} to {t:?}"));
    }
    Ok(Some(t))
}

impl Kernel for BroadcastTo {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        match target(inputs)? {
            Some(t) => one(t),
            None => Ok(None),
        }
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let t = target(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("shape unknown".into()))?;
        let st = strides(x.shape);
        let ext = t.len() - x.shape.len();
        let dims = t
            .iter()
            .enumerate()
            .map(|(j, &o)| match j.checked_sub(ext) {
                Some(d) if x.shape[d] == o => Dim::new(o, st[d] as isize),
                _ => Dim::new(o, 0),
            })
            .collect();
        util::run(&Views::one(0, dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn broadcasts_like_numpy() {
        let x = T::f32(&[3, 1], &[1., 2., 3.]);
        let got = run_op(
            build,
            "BROADCAST_TO",
            BuiltinOptions::None,
            &[Some(x.clone()), Some(T::i32(&[3], &[2, 3, 2]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 3, 2]);
        assert_eq!(
            got[0].as_f32(),
            vec![1., 1., 2., 2., 3., 3., 1., 1., 2., 2., 3., 3.]
        );
        assert!(run_op(
            build,
            "BROADCAST_TO",
            BuiltinOptions::None,
            &[Some(x.clone()), Some(T::i64(&[2], &[2, 2]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
        assert!(run_op(
            build,
            "BROADCAST_TO",
            BuiltinOptions::None,
            &[Some(x), Some(T::i32(&[1], &[3]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
        let got = run_op(
            build,
            "BROADCAST_TO",
            BuiltinOptions::None,
            &[Some(T::i32(&[], &[7])), Some(T::i32(&[2], &[2, 0]))],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 0]);
    }
}
