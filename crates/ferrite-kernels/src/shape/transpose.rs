//! TRANSPOSE: output dimension `i` is input dimension `perm[i]` (negative
//! entries count from the end; duplicates are rejected). The strided copy
//! merges dimensions that stay adjacent, so the common NHWC permutations
//! become a contiguous-run copy (e.g. [0, 2, 1, 3]) or a blocked batched
//! 2-D transpose (e.g. [0, 3, 1, 2] and [0, 2, 3, 1]).

use super::strided::{strides, Dim, Views};
use super::util::{self, check_data_op, check_index_dtype, one, values};
use crate::api::*;

struct Transpose;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    Ok(Box::new(Transpose))
}

/// The normalised permutation, or `None` while the perm input is unknown.
fn permutation(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<usize>>> {
    let rank = shape_input(inputs, 0)?.shape.len();
    let perm_arg = shape_input(inputs, 1)?;
    if perm_arg.shape.len() != 1 {
        return invalid(format!(
            "TRANSPOSE perm must be 1-D, has shape {:?}",
            perm_arg.shape
        ));
    }
    let Some(raw) = values(inputs, 1)? else {
        return Ok(None);
    };
    if raw.len() != rank {
        return invalid(format!("TRANSPOSE perm {raw:?} does not match rank {rank}"));
    }
    let mut seen = vec![false; rank];
    let mut perm = Vec::with_capacity(rank);
    for &p in &raw {
        let r = rank as i64;
        if p < -r || p >= r {
            return invalid(format!("TRANSPOSE perm {raw:?} is out of bounds"));
        }
        let p = if p < 0 { p + r } else { p } as usize;
        if std::mem::replace(&mut seen[p], true) {
            return invalid(format!("TRANSPOSE perm {raw:?} repeats {p}"));
        }
        perm.push(p);
    }
    Ok(Some(perm))
}

impl Kernel for Transpose {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        let Some(perm) = permutation(inputs)? else {
            return Ok(None);
        };
        one(perm.iter().map(|&p| shape[p]).collect())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let perm = permutation(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("perm unknown".into()))?;
        let st = strides(x.shape);
        let dims = perm
            .iter()
            .map(|&p| Dim::new(x.shape[p], st[p] as isize))
            .collect();
        util::run(&Views::one(0, dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, run_op_threads, T};
    use super::*;

    /// Reference transpose by index arithmetic.
    fn naive(x: &[f32], shape: &[usize], perm: &[usize]) -> Vec<f32> {
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let st = strides(shape);
        let n: usize = shape.iter().product();
        (0..n)
            .map(|mut i| {
                let mut src = 0;
                for d in (0..perm.len()).rev() {
                    src += (i % out_shape[d]) * st[perm[d]];
                    i /= out_shape[d];
                }
                x[src]
            })
            .collect()
    }

    #[test]
    fn matches_index_arithmetic_for_common_permutations() {
        let cases: &[(&[usize], &[i32])] = &[
            (&[2, 3, 4], &[2, 0, 1]),
            (&[2, 3, 4], &[1, 0, 2]),
            (&[1, 4, 5, 6], &[0, 3, 1, 2]),
            (&[2, 5, 6, 7], &[0, 2, 3, 1]),
            (&[2, 3, 4, 5], &[0, 2, 1, 3]),
            (&[2, 3, 4, 5], &[-1, -2, -3, -4]),
            (&[2, 3, 1, 2, 2, 3], &[5, 3, 1, 0, 2, 4]),
            (&[1, 40, 40, 64], &[0, 3, 1, 2]),
            (&[7], &[0]),
            (&[], &[]),
        ];
        for (shape, perm) in cases {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let x = T::f32(shape, &data);
            let p = T::i32(&[perm.len()], perm);
            let norm: Vec<usize> = perm
                .iter()
                .map(|&v| {
                    if v < 0 {
                        (v + shape.len() as i32) as usize
                    } else {
                        v as usize
                    }
                })
                .collect();
            for threads in [1, 2] {
                let out = run_op_threads(
                    build,
                    "TRANSPOSE",
                    BuiltinOptions::None,
                    &[Some(x.clone()), Some(p.clone())],
                    &[T::out(DType::Float32)],
                    threads,
                )
                .unwrap();
                let expect_shape: Vec<usize> = norm.iter().map(|&q| shape[q]).collect();
                assert_eq!(out[0].shape, expect_shape);
                assert_eq!(
                    out[0].as_f32(),
                    naive(&data, shape, &norm),
                    "{shape:?} {perm:?}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_permutations_and_moves_other_dtypes() {
        let x = T::f32(&[2, 3], &[0.0; 6]);
        for perm in [&[0, 0][..], &[0, 2], &[0], &[-3, 0]] {
            let p = T::i32(&[perm.len()], perm);
            assert!(run_op(
                build,
                "TRANSPOSE",
                BuiltinOptions::None,
                &[Some(x.clone()), Some(p)],
                &[T::out(DType::Float32)]
            )
            .is_err());
        }
        let b = T::i8(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let out = run_op(
            build,
            "TRANSPOSE",
            BuiltinOptions::None,
            &[Some(b), Some(T::i64(&[2], &[1, 0]))],
            &[T::out(DType::Int8)],
        )
        .unwrap();
        assert_eq!(out[0].data, vec![1, 4, 2, 5, 3, 6]);
        let s = T::strs(&[2, 2], &["a", "b", "c", "d"]);
        let out = run_op(
            build,
            "TRANSPOSE",
            BuiltinOptions::None,
            &[Some(s), Some(T::i32(&[2], &[1, 0]))],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(out[0].as_strs(), vec!["a", "c", "b", "d"]);
        let q = T::i8(&[2], &[1, 2]).quant(&[0.5], &[0], 0);
        let outq = T::out(DType::Int8).quant(&[0.25], &[0], 0);
        assert!(matches!(
            run_op(
                build,
                "TRANSPOSE",
                BuiltinOptions::None,
                &[Some(q), Some(T::i32(&[1], &[0]))],
                &[outq]
            ),
            Err(KernelError::Unsupported(_))
        ));
    }
}
