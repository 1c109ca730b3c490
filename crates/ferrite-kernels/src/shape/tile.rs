//! TILE: repeats the input `multiples[d]` times along each dimension. As a
//! strided view each dimension splits into (repeat, stride 0) and (extent,
//! input stride), so whole input rows are copied as runs.

use super::strided::{strides, Dim, Views};
use super::util::{self, check_data_op, check_index_dtype, one, to_usize, values};
use crate::api::*;

struct Tile;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    Ok(Box::new(Tile))
}

fn multiples(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<usize>>> {
    let rank = shape_input(inputs, 0)?.shape.len();
    let Some(m) = values(inputs, 1)? else {
        return Ok(None);
    };
    if m.len() != rank {
        return invalid(format!("TILE multiples {m:?} do not match rank {rank}"));
    }
    m.iter()
        .map(|&v| to_usize(v, "TILE multiple"))
        .collect::<KResult<_>>()
        .map(Some)
}

impl Kernel for Tile {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        let Some(m) = multiples(inputs)? else {
            return Ok(None);
        };
        let out: Option<Vec<usize>> = shape
            .iter()
            .zip(&m)
            .map(|(&d, &k)| d.checked_mul(k))
            .collect();
        match out {
            Some(o) => one(o),
            None => invalid("TILE output overflows"),
        }
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let m = multiples(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("multiples unknown".into()))?;
        let st = strides(x.shape);
        let dims = x
            .shape
            .iter()
            .zip(&m)
            .zip(&st)
            .flat_map(|((&d, &k), &s)| [Dim::new(k, 0), Dim::new(d, s as isize)])
            .collect();
        util::run(&Views::one(0, dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn tiles_like_numpy() {
        // np.tile([[1, 2], [3, 4]], (2, 3))
        let x = T::i32(&[2, 2], &[1, 2, 3, 4]);
        let got = run_op(
            build,
            "TILE",
            BuiltinOptions::None,
            &[Some(x.clone()), Some(T::i32(&[2], &[2, 3]))],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![4, 6]);
        #[rustfmt::skip]
        assert_eq!(got[0].as_i32(), vec![
            1, 2, 1, 2, 1, 2,
            3, 4, 3, 4, 3, 4,
            1, 2, 1, 2, 1, 2,
            3, 4, 3, 4, 3, 4,
        ]);
        let got = run_op(
            build,
            "TILE",
            BuiltinOptions::None,
            &[Some(x.clone()), Some(T::i64(&[2], &[0, 1]))],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![0, 2]);
        assert!(run_op(
            build,
            "TILE",
            BuiltinOptions::None,
            &[Some(x.clone()), Some(T::i32(&[2], &[-1, 1]))],
            &[T::out(DType::Int32)]
        )
        .is_err());
        assert!(run_op(
            build,
            "TILE",
            BuiltinOptions::None,
            &[Some(x), Some(T::i32(&[1], &[2]))],
            &[T::out(DType::Int32)]
        )
        .is_err());
        let s = T::strs(&[2], &["a", "b"]);
        let got = run_op(
            build,
            "TILE",
            BuiltinOptions::None,
            &[Some(s), Some(T::i32(&[1], &[2]))],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(got[0].as_strs(), vec!["a", "b", "a", "b"]);
    }
}
